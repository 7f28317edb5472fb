package memory_test

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/h2proto/h2/transport/memory"
)

// A pipe on a virtual clock: the bytes written take Latency to arrive, and
// time moves only when the test advances it.
func Example() {
	clk := memory.NewClock(time.Time{})
	client, server := memory.Pipe(memory.Config{Clock: clk, Latency: 10 * time.Millisecond})
	defer client.Close()
	defer server.Close()

	if _, err := client.Write([]byte("PING")); err != nil {
		fmt.Println(err)
		return
	}

	// Nothing has arrived yet: a read with a deadline of now fails at once.
	buf := make([]byte, 16)
	_ = server.SetReadDeadline(clk.Now())
	_, err := server.Read(buf)
	fmt.Println("before:", errors.Is(err, os.ErrDeadlineExceeded))
	_ = server.SetReadDeadline(time.Time{})

	clk.Advance(10 * time.Millisecond)
	n, err := server.Read(buf)
	fmt.Printf("after %v: %q %v\n", clk.Now().Sub(memory.Epoch), buf[:n], err)

	// Output:
	// before: true
	// after 10ms: "PING" <nil>
}
