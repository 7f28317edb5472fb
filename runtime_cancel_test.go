package h2_test

import (
	"context"
	"errors"
	"io"
	"testing"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// rtCancelObserved is what a server handler saw when its stream was
// cancelled by the client.
type rtCancelObserved struct {
	ctxErr  error
	err     error
	readErr error
}

// rtCancelServer answers with headers, then waits for the stream's Context
// to end and reports what it saw.
func rtCancelServer(started chan<- struct{}, seen chan<- rtCancelObserved) *h2.Server {
	return &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		ctx := s.Context()
		if s.WriteHeaders(200, nil) != nil {
			return
		}
		started <- struct{}{}
		<-ctx.Done()
		_, rerr := io.ReadAll(s)
		seen <- rtCancelObserved{ctxErr: ctx.Err(), err: s.Err(), readErr: rerr}
	})}
}

// TestRuntimeCancelClientStream: Stream.Cancel resets the stream with
// CANCEL: the server's stream ends with a remote *core.StreamError CANCEL,
// its Context is cancelled and Read returns the reset; on the client, Err
// and Read report the local CANCEL.
func TestRuntimeCancelClientStream(t *testing.T) {
	for _, kind := range rtTransports {
		t.Run(string(kind), func(t *testing.T) {
			started := make(chan struct{}, 1)
			seen := make(chan rtCancelObserved, 1)
			env := rtStart(t, kind, rtCancelServer(started, seen), nil)
			c := env.client
			ctx := rtCtx(t)
			s, err := c.Request(ctx, c.NewRequest("POST", "/"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Response(ctx); err != nil {
				t.Fatal(err)
			}
			rtWait(t, ctx, started, "handler")
			if err := s.Cancel(); err != nil {
				t.Fatalf("Cancel: %v", err)
			}
			o := rtWait(t, ctx, seen, "the server to see the cancel")
			if !errors.Is(o.ctxErr, context.Canceled) {
				t.Errorf("server Context().Err() = %v, want context.Canceled", o.ctxErr)
			}
			rtStreamErr(t, "server Err", o.err, frame.ErrCodeCancel, true)
			rtStreamErr(t, "server Read", o.readErr, frame.ErrCodeCancel, true)

			rtDone(t, ctx, s.Done(), "client stream")
			rtStreamErr(t, "client Err", s.Err(), frame.ErrCodeCancel, false)
			_, err = rtRead(t, ctx, s, 10)
			rtStreamErr(t, "client Read", err, frame.ErrCodeCancel, false)
			if _, err := s.Write([]byte("x")); err == nil {
				t.Errorf("Write after Cancel succeeded")
			}
			if err := s.Cancel(); err != nil {
				t.Errorf("second Cancel: %v, want nil", err)
			}
			rtDone(t, ctx, s.Context().Done(), "client stream Context")
		})
	}
}

// TestRuntimeCancelRequestContext: cancelling the context given to Request
// resets the stream with CANCEL, as Cancel does.
func TestRuntimeCancelRequestContext(t *testing.T) {
	started := make(chan struct{}, 1)
	seen := make(chan rtCancelObserved, 1)
	env := rtStart(t, rtOverPipe, rtCancelServer(started, seen), nil)
	c := env.client
	ctx := rtCtx(t)
	reqCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := c.Request(reqCtx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Response(ctx); err != nil {
		t.Fatal(err)
	}
	rtWait(t, ctx, started, "handler")
	cancel()
	o := rtWait(t, ctx, seen, "the server to see the cancel")
	if !errors.Is(o.ctxErr, context.Canceled) {
		t.Errorf("server Context().Err() = %v, want context.Canceled", o.ctxErr)
	}
	rtStreamErr(t, "server Err", o.err, frame.ErrCodeCancel, true)
	rtDone(t, ctx, s.Done(), "client stream")
	_, err = rtRead(t, ctx, s, 10)
	rtStreamErr(t, "client Read", err, frame.ErrCodeCancel, false)

	// A context cancelled after the stream ended normally changes nothing.
	srv2 := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) { _ = s.Respond(200, nil, []byte("done")) })}
	env2 := rtStart(t, rtOverPipe, srv2, nil)
	c2 := env2.client
	reqCtx2, cancel2 := context.WithCancel(ctx)
	s2, err := c2.Request(reqCtx2, c2.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := rtReadAll(t, ctx, s2); err != nil || string(b) != "done" {
		t.Fatalf("body %q, %v", b, err)
	}
	rtDone(t, ctx, s2.Done(), "stream")
	cancel2()
	if err := s2.Err(); err != nil {
		t.Errorf("Err after a late cancel: %v, want nil", err)
	}
}

// TestRuntimeCancelServerReset: Stream.Reset(code) on the server reaches
// the client as a remote *core.StreamError with that code, from Response
// when no response was sent, from Read mid-body.
func TestRuntimeCancelServerReset(t *testing.T) {
	for _, kind := range rtTransports {
		t.Run(string(kind), func(t *testing.T) {
			resetErr := make(chan error, 2)
			srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
				switch s.Request().Path {
				case "/before":
					resetErr <- s.Reset(frame.ErrCodeEnhanceYourCalm)
				case "/after":
					if s.WriteHeaders(200, nil) != nil {
						return
					}
					if _, err := s.Write([]byte("partial")); err != nil {
						return
					}
					// Wait for the client to say it has the partial body.
					b := make([]byte, 1)
					if _, err := io.ReadFull(s, b); err != nil {
						return
					}
					resetErr <- s.Reset(frame.ErrCodeHTTP11Required)
				}
			})}
			env := rtStart(t, kind, srv, nil)
			c := env.client
			ctx := rtCtx(t)

			s, err := c.Request(ctx, c.NewRequest("GET", "/before"), &h2.RequestOptions{EndStream: true})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Response(ctx)
			rtStreamErr(t, "Response after a reset", err, frame.ErrCodeEnhanceYourCalm, true)
			rtStreamErr(t, "Err after a reset", s.Err(), frame.ErrCodeEnhanceYourCalm, true)
			if err := rtWait(t, ctx, resetErr, "server Reset"); err != nil {
				t.Errorf("server Reset: %v", err)
			}

			s, err = c.Request(ctx, c.NewRequest("POST", "/after"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp, err := s.Response(ctx); err != nil || resp.Status != 200 {
				t.Fatalf("Response: %v, %v", resp, err)
			}
			if b, err := rtReadFull(t, ctx, s, len("partial")); err != nil || string(b) != "partial" {
				t.Fatalf("partial body %q, %v", b, err)
			}
			if _, err := s.Write([]byte("!")); err != nil {
				t.Fatal(err)
			}
			_, err = rtRead(t, ctx, s, 10)
			rtStreamErr(t, "Read after a reset mid-body", err, frame.ErrCodeHTTP11Required, true)
			if err := rtWait(t, ctx, resetErr, "server Reset"); err != nil {
				t.Errorf("server Reset: %v", err)
			}
			// Write on the reset stream reports the reset.
			_, err = s.Write([]byte("more"))
			rtStreamErr(t, "Write after a reset", err, frame.ErrCodeHTTP11Required, true)
			var se *core.StreamError
			if errors.As(err, &se) && se.StreamID != s.ID() {
				t.Errorf("StreamError.StreamID %d, want %d", se.StreamID, s.ID())
			}
		})
	}
}

// TestRuntimeCancelUnblocksWriters: a Write blocked by flow control returns
// the reset when the peer resets the stream — on the client when the server
// resets, on the server when the client cancels.
func TestRuntimeCancelUnblocksWriters(t *testing.T) {
	for _, kind := range rtTransports {
		t.Run(string(kind), func(t *testing.T) {
			type written struct {
				n   int
				err error
			}
			serverWrite := make(chan written, 1)
			resetNow := make(chan struct{})
			readWindow := make(chan struct{}, 1)
			srv := &h2.Server{
				Options: h2.Options{Config: core.Config{InitialWindowSize: rtSmallWindow}},
				Handler: h2.HandlerFunc(func(s *h2.Stream) {
					switch s.Request().Path {
					case "/reset": // reads a window's worth, then resets on cue
						b := make([]byte, rtSmallWindow)
						if _, err := io.ReadFull(s, b); err != nil {
							return
						}
						readWindow <- struct{}{}
						select {
						case <-resetNow:
						case <-s.Context().Done():
							return
						}
						_ = s.Reset(frame.ErrCodeFlowControl)
					case "/download": // writes more than the client lets in
						if s.WriteHeaders(200, nil) != nil {
							return
						}
						n, err := s.Write(rtPattern(18, 4<<20))
						serverWrite <- written{n, err}
					}
				}),
			}
			copts := &h2.ClientOptions{Options: h2.Options{Config: core.Config{InitialWindowSize: rtSmallWindow}}}
			env := rtStart(t, kind, srv, copts)
			c := env.client
			ctx := rtCtx(t)

			// Client writer blocked, server resets.
			s, err := c.Request(ctx, c.NewRequest("POST", "/reset"), nil)
			if err != nil {
				t.Fatal(err)
			}
			clientWrite := make(chan written, 1)
			go func() {
				n, err := s.Write(rtPattern(19, 4<<20))
				clientWrite <- written{n, err}
			}()
			// The window and the send buffer fill long before 4 MiB; then
			// the server resets.
			rtWait(t, ctx, readWindow, "the server to read a window")
			close(resetNow)
			w := rtWait(t, ctx, clientWrite, "the blocked client Write")
			rtStreamErr(t, "client Write blocked when the server reset", w.err, frame.ErrCodeFlowControl, true)
			if w.n <= 0 || w.n >= 4<<20 {
				t.Errorf("client Write took %d bytes before the reset", w.n)
			}

			// Server writer blocked, client cancels.
			d, err := c.Request(ctx, c.NewRequest("GET", "/download"), &h2.RequestOptions{EndStream: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := rtReadFull(t, ctx, d, rtSmallWindow); err != nil {
				t.Fatal(err)
			}
			if err := d.Cancel(); err != nil {
				t.Fatal(err)
			}
			sw := rtWait(t, ctx, serverWrite, "the blocked server Write")
			rtStreamErr(t, "server Write blocked when the client cancelled", sw.err, frame.ErrCodeCancel, true)
		})
	}
}

// TestRuntimeCancelRequestWaitingForSlot: a Request waiting for a stream
// slot returns when the connection closes instead of waiting forever.
func TestRuntimeCancelRequestWaitingForSlot(t *testing.T) {
	srv := &h2.Server{
		Options: h2.Options{Config: core.Config{MaxConcurrentStreams: 1}},
		Handler: h2.HandlerFunc(func(s *h2.Stream) { <-s.Context().Done() }),
	}
	env := rtStart(t, rtOverPipe, srv, nil)
	c := env.client
	ctx := rtCtx(t)
	if _, err := c.Request(ctx, c.NewRequest("GET", "/1"), &h2.RequestOptions{EndStream: true}); err != nil {
		t.Fatal(err)
	}
	waiting := make(chan error, 1)
	go func() {
		_, err := c.Request(ctx, c.NewRequest("GET", "/2"), &h2.RequestOptions{EndStream: true})
		waiting <- err
	}()
	if _, err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	if err := rtWait(t, ctx, waiting, "the waiting Request"); err == nil {
		t.Errorf("Request waiting for a slot succeeded on a closed connection")
	}
}

// TestRuntimeCancelBlockedWriteReportsReset repeats the server half of
// TestRuntimeCancelUnblocksWriters many times: a Write blocked by flow
// control when the client cancels must return the *core.StreamError every
// time, never context.Canceled (the stream's Context ends with the stream,
// but the reason is the reset).
func TestRuntimeCancelBlockedWriteReportsReset(t *testing.T) {
	const rounds = 100
	results := make(chan error, 1)
	srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		if s.WriteHeaders(200, nil) != nil {
			results <- errors.New("WriteHeaders failed")
			return
		}
		_, err := s.Write(rtPattern(21, 1<<20))
		results <- err
	})}
	copts := &h2.ClientOptions{Options: h2.Options{Config: core.Config{InitialWindowSize: rtSmallWindow}}}
	env := rtStart(t, rtOverPipe, srv, copts)
	c := env.client
	ctx := rtCtx(t)
	bad := 0
	var last error
	for range rounds {
		s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rtReadFull(t, ctx, s, rtSmallWindow); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Ping(ctx); err != nil { // let the server's Write block
			t.Fatal(err)
		}
		if err := s.Cancel(); err != nil {
			t.Fatal(err)
		}
		err = rtWait(t, ctx, results, "the blocked server Write")
		var se *core.StreamError
		if !errors.As(err, &se) || se.Code != frame.ErrCodeCancel {
			bad++
			last = err
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d blocked Writes returned %v instead of the *core.StreamError CANCEL", bad, rounds, last)
	}
}
