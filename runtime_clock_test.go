package h2_test

import (
	"context"
	"errors"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/transport/memory"
)

// TestClockKeepAliveClosesHalfOpenConnection: on a virtual clock, a server
// that stops reading (a half-open connection) is detected by the client's
// keep-alive PING (core.Timeouts.KeepAlive, 15 s): no frame for 15 s sends a
// PING, no answer for 15 s more closes the connection, and the open stream
// ends with an error. Time moves only when the test says so.
func TestClockKeepAliveClosesHalfOpenConnection(t *testing.T) {
	clk := memory.NewClock(time.Time{})
	a, b := memory.Pipe(memory.Config{Clock: clk, Seed: 7, MaxChunk: 100})
	started := make(chan struct{})
	// The server's own keep-alive would fire at the same virtual instant as
	// the client's (neither has heard from the other since the request) and
	// close first half the time: it waits longer, so the client's is tested.
	cfg := core.Config{Timeouts: core.Timeouts{KeepAlive: time.Hour}}
	srv := &h2.Server{Options: h2.Options{Clock: clk, Config: cfg}, Handler: h2.HandlerFunc(func(s *h2.Stream) {
		close(started)
		<-s.Done() // never answers
	})}
	go func() { _ = srv.ServeConn(b) }()
	c, err := h2.NewClientConn(a, &h2.ClientOptions{Options: h2.Options{Clock: clk}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	// Stall only once the request is in: stalled earlier, the server would
	// miss the client's SETTINGS ACK or the request, and close for its own
	// reasons (settings timeout, idle) before the keep-alive could act.
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("the request never reached the server")
	}
	b.Stall(true) // the server reads nothing more

	deadline := time.Now().Add(10 * time.Second)
	for step := 0; ; step++ {
		select {
		case <-c.Done():
			var ce *core.ConnError
			if err := c.Err(); err == nil || !errors.As(err, &ce) {
				t.Fatalf("connection ended with %v, want a *core.ConnError for the keep-alive timeout", err)
			}
			if _, err := s.Response(ctx); err == nil {
				t.Fatal("the open stream did not end with an error")
			}
			if now := clk.Now().Sub(memory.Epoch); now < 30*time.Second {
				t.Fatalf("closed after %v of virtual time, want at least 2 × 15 s", now)
			}
			return
		default:
		}
		if time.Now().After(deadline) || step > 10000 {
			t.Fatalf("connection still open after %v of virtual time", clk.Now().Sub(memory.Epoch))
		}
		if !clk.AdvanceToNext() {
			// Nothing armed yet: let the connection goroutines catch up.
			select {
			case <-c.Done():
			case <-time.After(time.Millisecond):
			}
		}
	}
}
