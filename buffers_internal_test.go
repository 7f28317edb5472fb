package h2

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/transport/memory"
)

// TestReadBufferSwitches: a read that fills the small buffer borrows a
// large one; a read that would have fitted the small one gives it back.
func TestReadBufferSwitches(t *testing.T) {
	r := newReadBuffer(32 << 10)
	if len(r.next()) != idleReadSize {
		t.Fatalf("idle buffer %d bytes, want %d", len(r.next()), idleReadSize)
	}
	r.filled(idleReadSize - 1)
	if r.large != nil {
		t.Fatal("a read that did not fill the small buffer borrowed a large one")
	}
	r.filled(idleReadSize)
	if len(r.next()) != 32<<10 || r.large == nil {
		t.Fatalf("after a full read: buffer of %d bytes, want %d", len(r.next()), 32<<10)
	}
	r.filled(idleReadSize + 1)
	if r.large == nil {
		t.Fatal("a read too large for the small buffer gave the large one back")
	}
	r.filled(idleReadSize)
	if r.large != nil || len(r.next()) != idleReadSize {
		t.Fatal("a read that fits the small buffer kept the large one")
	}
	if small := newReadBuffer(100); len(small.next()) != 100 {
		t.Fatalf("ReadBufferSize 100: buffer of %d bytes", len(small.next()))
	}
}

// bufferPair is a server and a client connection over a memory pipe.
func bufferPair(t *testing.T, cfg core.Config, h HandlerFunc) *Conn {
	t.Helper()
	l := memory.Listen(memory.Config{})
	srv := &Server{Handler: h, Options: Options{Config: cfg}}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	nc, err := l.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClientConn(nc, &ClientOptions{Options: Options{Config: cfg}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestStreamReceiveBufferBounded: a reader that takes a long body a little
// at a time holds about a window of content, not the whole body (a partial
// read lets the buffer's front be reclaimed even though new DATA keeps
// joining the queue entry being read), and at the end its buffer goes back
// to the pool for the next stream.
func TestStreamReceiveBufferBounded(t *testing.T) {
	const window, body = 256 << 10, 8 << 20
	chunk := make([]byte, 64<<10)
	c := bufferPair(t, core.Config{InitialWindowSize: window, ConnectionWindowSize: 4 * window},
		func(s *Stream) {
			_ = s.WriteHeaders(200, nil)
			for sent := 0; sent < body; sent += len(chunk) {
				if _, err := s.Write(chunk); err != nil {
					return
				}
			}
			_ = s.CloseWrite()
		})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := c.Request(ctx, c.NewRequest("GET", "/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4<<10)
	total, most := 0, 0
	for {
		n, err := s.Read(buf)
		total += n
		c.mu.Lock()
		most = max(most, cap(s.rbuf))
		c.mu.Unlock()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes: %v", total, err)
		}
	}
	if total != body {
		t.Fatalf("read %d bytes, want %d", total, body)
	}
	if most > 4*window {
		t.Errorf("the receive buffer grew to %d bytes for a %d-byte window, want at most %d", most, window, 4*window)
	}
	c.mu.Lock()
	left := s.rbuf
	c.mu.Unlock()
	if left != nil {
		t.Errorf("after EOF the stream still holds a %d-byte buffer, want it recycled", cap(left))
	}
}

// TestWriterExitsWhenIdle: once everything is written, an idle connection
// has no writer goroutine; new output starts one.
func TestWriterExitsWhenIdle(t *testing.T) {
	c := bufferPair(t, core.Config{}, func(s *Stream) { _ = s.Respond(200, nil, []byte("ok")) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 3 {
		s, err := c.Request(ctx, c.NewRequest("GET", "/"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if b, err := s.ReadAll(); err != nil || string(b) != "ok" {
			t.Fatalf("request %d: %q, %v", i, b, err)
		}
		for {
			c.mu.Lock()
			writing := c.writing
			c.mu.Unlock()
			if !writing {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("request %d: the writer is still running on an idle connection", i)
			case <-time.After(time.Millisecond):
			}
		}
	}
}

// TestBufferPoolKeepsOnlyUpToMax: a buffer of exactly max bytes goes back
// to the pool; one a byte larger is let go. (sync.Pool may drop what it is
// given, and does so at random under the race detector, so the kept one
// is tried several times.)
func TestBufferPoolKeepsOnlyUpToMax(t *testing.T) {
	p := &bufferPool{max: 4096}
	reused := false
	for range 20 {
		keep := &buffer{b: make([]byte, 10, 4096)}
		p.put(keep)
		if got := p.get(0); got == keep && len(got.b) == 0 {
			reused = true
			break
		}
	}
	if !reused {
		t.Fatal("a buffer of exactly max bytes was never reused")
	}
	for range 20 {
		p.put(&buffer{b: make([]byte, 0, 4097)})
		if got := p.get(0); cap(got.b) == 4097 {
			t.Fatal("a buffer one byte past max was kept")
		}
	}
	if got := p.get(100); cap(got.b) < 100 {
		t.Fatalf("get(100) returned a %d-byte buffer", cap(got.b))
	}
}
