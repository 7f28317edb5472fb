package memory

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// testBound bounds every wait in these tests.
const testBound = 10 * time.Second

// result runs f on another goroutine and returns its outcome channel.
func result(f func() (int, error)) <-chan error {
	ch := make(chan error, 1)
	go func() {
		_, err := f()
		ch <- err
	}()
	return ch
}

func awaitErr(t *testing.T, what string, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(testBound):
		t.Fatalf("%s did not return within %v", what, testBound)
		return nil
	}
}

// Moving a deadline again and again leaves one timer on the clock, not
// one per call: a runtime sets its write deadline on every write.
func TestDeadlineRearmKeepsOneTimer(t *testing.T) {
	clk := NewClock(time.Time{})
	a, b := Pipe(Config{Clock: clk})
	defer a.Close()
	defer b.Close()
	for i := range 1000 {
		_ = a.SetWriteDeadline(clk.Now().Add(time.Duration(i+1) * time.Second))
		_ = a.SetReadDeadline(clk.Now().Add(time.Hour))
	}
	if n := len(clk.timers); n != 2 {
		t.Fatalf("%d timers pending after 2000 deadline changes, want 2", n)
	}
	next, _ := clk.Next()
	if want := Epoch.Add(1000 * time.Second); !next.Equal(want) {
		t.Fatalf("next timer at %v, want the last write deadline %v", next, want)
	}
	_ = a.SetDeadline(time.Time{})
	if n := len(clk.timers); n != 0 {
		t.Fatalf("%d timers pending after clearing both deadlines", n)
	}
	_ = a.SetReadDeadline(clk.Now().Add(time.Second))
	_ = a.Close()
	if n := len(clk.timers); n != 0 {
		t.Fatalf("%d timers pending after Close", n)
	}
}

// A deadline timer that fires before the deadline by the clock's reading
// (a stepped wall clock) arms itself again instead of waking readers
// for nothing and leaving them blocked past the deadline.
func TestDeadlineEarlyFireRearms(t *testing.T) {
	clk := NewClock(time.Time{})
	a, b := Pipe(Config{Clock: clk})
	defer a.Close()
	defer b.Close()
	at := clk.Now().Add(time.Second)
	_ = b.SetReadDeadline(at)
	b.readDL.fire(at) // early: the clock still reads Epoch
	if n := len(clk.timers); n != 2 {
		t.Fatalf("%d timers pending after an early fire, want the original and the re-armed one", n)
	}
	done := result(func() (int, error) { return b.Read(make([]byte, 1)) })
	clk.Advance(time.Second)
	if err := awaitErr(t, "Read past its deadline", done); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read = %v, want os.ErrDeadlineExceeded", err)
	}
	// A superseded timer does nothing.
	_ = b.SetReadDeadline(time.Time{})
	b.readDL.fire(at)
	if n := len(clk.timers); n != 0 {
		t.Fatalf("%d timers pending after a stale fire", n)
	}
}

// Write copies: changing the caller's slice after Write does not change
// what the peer reads, with or without latency.
func TestWriteDoesNotRetain(t *testing.T) {
	clk := NewClock(time.Time{})
	for _, cfg := range []Config{{}, {Clock: clk, Latency: time.Millisecond}} {
		a, b := Pipe(cfg)
		p := []byte("original")
		if _, err := a.Write(p); err != nil {
			t.Fatal(err)
		}
		copy(p, "XXXXXXXX")
		clk.Advance(time.Millisecond)
		got := make([]byte, 8)
		if _, err := io.ReadFull(b, got); err != nil {
			t.Fatal(err)
		}
		if string(got) != "original" {
			t.Errorf("latency %v: peer read %q, want %q", cfg.Latency, got, "original")
		}
		_ = a.Close()
		_ = b.Close()
	}
}

// Concurrent Writes never interleave: each Write's bytes arrive
// contiguously, even when Writes block on a small buffer.
func TestConcurrentWritesDoNotInterleave(t *testing.T) {
	const writers, size = 4, 5000
	a, b := Pipe(Config{Buffer: 64, MaxChunk: 50, Seed: 3})
	defer b.Close()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = a.Write(bytes.Repeat([]byte{byte('a' + w)}, size))
		}()
	}
	readAll := make(chan []byte, 1)
	go func() {
		got, _ := io.ReadAll(b)
		readAll <- got
	}()
	wg.Wait()
	_ = a.Close()
	var got []byte
	select {
	case got = <-readAll:
	case <-time.After(testBound):
		t.Fatal("ReadAll did not finish")
	}
	if len(got) != writers*size {
		t.Fatalf("read %d bytes, want %d", len(got), writers*size)
	}
	for i := 0; i < len(got); i += size {
		run := got[i : i+size]
		if !bytes.Equal(run, bytes.Repeat(run[:1], size)) {
			t.Fatalf("bytes %d..%d mix writers", i, i+size)
		}
	}
}

// The end of file travels with Latency, after the bytes before it.
func TestCloseEOFTakesLatency(t *testing.T) {
	clk := NewClock(time.Time{})
	a, b := Pipe(Config{Clock: clk, Latency: 10 * time.Millisecond})
	defer b.Close()
	if _, err := a.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Millisecond)
	_ = a.Close() // FIN leaves at 5 ms, arrives at 15 ms
	clk.Advance(5 * time.Millisecond)
	buf := make([]byte, 4)
	if n, err := b.Read(buf); n != 1 || err != nil {
		t.Fatalf("Read at 10ms = %d, %v; want the byte", n, err)
	}
	_ = b.SetReadDeadline(clk.Now())
	if _, err := b.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read at 10ms after the byte = %v, want no EOF yet", err)
	}
	_ = b.SetReadDeadline(time.Time{})
	clk.Advance(5 * time.Millisecond)
	if _, err := b.Read(buf); err != io.EOF {
		t.Fatalf("Read at 15ms = %v, want io.EOF", err)
	}
}

// The errors of Write after each kind of close, returned unwrapped.
func TestWriteErrorsAfterClose(t *testing.T) {
	a, b := Pipe(Config{})
	_ = b.Close()
	if _, err := a.Write([]byte("x")); err != io.ErrClosedPipe {
		t.Errorf("Write after the peer's Close = %v, want io.ErrClosedPipe", err)
	}
	_ = a.CloseWrite()
	if _, err := a.Write([]byte("x")); err != net.ErrClosed {
		t.Errorf("Write after CloseWrite = %v, want net.ErrClosed", err)
	}
	_ = a.Close()
	if _, err := a.Write([]byte("x")); err != net.ErrClosed {
		t.Errorf("Write after Close = %v, want net.ErrClosed", err)
	}
	if err := a.CloseWrite(); err != nil {
		t.Errorf("CloseWrite after Close = %v, want nil", err)
	}
}

// A zero-length Read or Write does not block and does not draw from the
// chunking source.
func TestZeroLengthIO(t *testing.T) {
	a, b := Pipe(Config{MaxChunk: 5, Seed: 1})
	defer a.Close()
	defer b.Close()
	if n, err := a.Write(nil); n != 0 || err != nil {
		t.Fatalf("Write(nil) = %d, %v", n, err)
	}
	if n, err := b.Read(nil); n != 0 || err != nil {
		t.Fatalf("Read(nil) with nothing buffered = %d, %v", n, err)
	}
	_, ref := Pipe(Config{MaxChunk: 5, Seed: 1}) // the same direction as b
	_, _ = a.Write(make([]byte, 100))
	_, _ = ref.peerWrite(make([]byte, 100))
	for range 10 {
		_, _ = b.Read(nil)
		n1, _ := b.Read(make([]byte, 100))
		n2, _ := ref.Read(make([]byte, 100))
		if n1 != n2 {
			t.Fatalf("read sizes %d and %d differ after zero-length reads", n1, n2)
		}
	}
}

// peerWrite writes to c's peer (for tests that keep only one end).
func (c *Conn) peerWrite(p []byte) (int, error) {
	h := c.in
	h.mu.Lock()
	defer h.mu.Unlock()
	h.send(p)
	return len(p), nil
}

func TestByteCounters(t *testing.T) {
	a, b := Pipe(Config{MaxChunk: 7, Seed: 2})
	defer a.Close()
	defer b.Close()
	if _, err := a.Write(make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(b, make([]byte, 600)); err != nil {
		t.Fatal(err)
	}
	if a.BytesWritten() != 1000 || b.BytesRead() != 600 || a.BytesRead() != 0 || b.BytesWritten() != 0 {
		t.Fatalf("counters a w=%d r=%d, b w=%d r=%d; want a w=1000, b r=600",
			a.BytesWritten(), a.BytesRead(), b.BytesWritten(), b.BytesRead())
	}
}

// Stall holds back bytes that arrive by latency too, and resuming
// delivers them.
func TestStallWithLatency(t *testing.T) {
	clk := NewClock(time.Time{})
	a, b := Pipe(Config{Clock: clk, Latency: time.Millisecond})
	defer a.Close()
	defer b.Close()
	b.Stall(true)
	_, _ = a.Write([]byte("held"))
	clk.Advance(time.Second)
	_ = b.SetReadDeadline(clk.Now())
	if _, err := b.Read(make([]byte, 4)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read while stalled = %v, want a timeout", err)
	}
	_ = b.SetReadDeadline(time.Time{})
	b.Stall(false)
	got := make([]byte, 4)
	if _, err := io.ReadFull(b, got); err != nil || string(got) != "held" {
		t.Fatalf("Read after Stall(false) = %q, %v", got, err)
	}
}

// A timeout error is a net.Error with Timeout true.
func TestTimeoutIsNetError(t *testing.T) {
	a, b := Pipe(Config{})
	defer a.Close()
	defer b.Close()
	_ = a.SetReadDeadline(time.Now().Add(-time.Second))
	_, err := a.Read(make([]byte, 1))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read past the deadline = %v, want a net.Error with Timeout", err)
	}
}
