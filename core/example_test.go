package core_test

import (
	"fmt"
	"time"

	"github.com/h2proto/h2/core"
)

// Example drives a client and a server Conn against each other by hand,
// following the drain order of the package documentation: input, events,
// output, repeated until nothing moves.
func Example() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	client, _ := core.NewClient(now, core.Config{})
	server, _ := core.NewServer(now, core.Config{})

	_, _ = client.OpenStream([]core.HeaderField{
		{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: "example.com"}, {Name: ":path", Value: "/"},
	}, core.StreamOptions{EndStream: true})

	// step drains one side's events (acting on them) and output, and feeds
	// the output to the other side. It reports whether anything happened.
	step := func(name string, from, to *core.Conn) bool {
		busy := false
		for e, ok := from.PollEvent(); ok; e, ok = from.PollEvent() {
			busy = true
			switch e.Kind {
			case core.EventRequest:
				_ = from.Respond(e.StreamID, 200, nil, []byte("hello"))
			case core.EventResponse:
				fmt.Println("status", e.Status)
			case core.EventData:
				fmt.Printf("body %q end=%v\n", e.Data, e.EndStream)
			case core.EventStreamClosed:
				fmt.Println(name, "stream", e.StreamID, "closed")
			}
		}
		if out := from.PollTransmit(nil); len(out) > 0 {
			busy = true
			_, _ = to.Receive(now, out)
		}
		return busy
	}
	for step("client", client, server) || step("server", server, client) {
	}
	// Output:
	// status 200
	// body "hello" end=true
	// client stream 1 closed
	// server stream 1 closed
}
