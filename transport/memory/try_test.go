package memory_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/h2proto/h2/transport/memory"
)

// TryRead and TryWrite never block: they report 0, nil where Read and
// Write would wait, and otherwise behave like them.
func TestTryReadTryWriteNeverBlock(t *testing.T) {
	clock := memory.NewClock(time.Time{})
	a, b := memory.Pipe(memory.Config{Clock: clock, Latency: time.Millisecond, Buffer: 8})
	buf := make([]byte, 16)

	if n, err := b.TryRead(buf); n != 0 || err != nil {
		t.Fatalf("TryRead on an empty pipe = %d, %v; want 0, nil", n, err)
	}
	if n, err := a.TryWrite([]byte("0123456789")); n != 8 || err != nil {
		t.Fatalf("TryWrite of 10 bytes into an 8-byte buffer = %d, %v; want 8, nil", n, err)
	}
	if n, err := a.TryWrite([]byte("x")); n != 0 || err != nil {
		t.Fatalf("TryWrite into a full buffer = %d, %v; want 0, nil", n, err)
	}
	if n, err := b.TryRead(buf); n != 0 || err != nil {
		t.Fatalf("TryRead before the latency passed = %d, %v; want 0, nil", n, err)
	}
	clock.Advance(time.Millisecond)
	if n, err := b.TryRead(buf); string(buf[:n]) != "01234567" || err != nil {
		t.Fatalf("TryRead after the latency = %q, %v; want %q, nil", buf[:n], err, "01234567")
	}
	if n, err := a.TryWrite([]byte("89")); n != 2 || err != nil {
		t.Fatalf("TryWrite after the reader drained = %d, %v; want 2, nil", n, err)
	}

	b.Stall(true)
	clock.Advance(time.Millisecond)
	if n, err := b.TryRead(buf); n != 0 || err != nil {
		t.Fatalf("TryRead while stalled = %d, %v; want 0, nil", n, err)
	}
	b.Stall(false)
	a.CloseWrite()
	clock.Advance(time.Millisecond)
	if n, err := b.TryRead(buf); string(buf[:n]) != "89" || err != nil {
		t.Fatalf("TryRead after unstalling = %q, %v; want %q, nil", buf[:n], err, "89")
	}
	if n, err := b.TryRead(buf); n != 0 || err != io.EOF {
		t.Fatalf("TryRead after the peer's CloseWrite = %d, %v; want 0, EOF", n, err)
	}
	if n, err := a.TryWrite([]byte("y")); n != 0 || err != net.ErrClosed {
		t.Fatalf("TryWrite after CloseWrite = %d, %v; want 0, net.ErrClosed", n, err)
	}
	b.Close()
	if _, err := b.TryRead(buf); err != net.ErrClosed {
		t.Fatalf("TryRead after Close = %v; want net.ErrClosed", err)
	}
}
