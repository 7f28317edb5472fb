package h2_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// TestRuntimeServerHandlerReturnsUnfinished: a goroutine-mode handler that
// returns without ending its response has the stream reset with CANCEL
// (RFC 9113 §8.1): before any response, and after a partial one.
func TestRuntimeServerHandlerReturnsUnfinished(t *testing.T) {
	srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		if s.Request().Path == "/partial" {
			if s.WriteHeaders(200, nil) == nil {
				_, _ = s.Write([]byte("part"))
			}
		}
	})}
	env := rtStart(t, rtOverPipe, srv, nil)
	c := env.client
	ctx := rtCtx(t)

	s, err := c.Request(ctx, c.NewRequest("GET", "/nothing"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Response(ctx)
	rtStreamErr(t, "handler returned without a response", err, frame.ErrCodeCancel, true)

	s, err = c.Request(ctx, c.NewRequest("GET", "/partial"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := s.Response(ctx); err != nil || resp.Status != 200 {
		t.Fatalf("Response %v, %v", resp, err)
	}
	body, err := rtReadAll(t, ctx, s)
	if !bytes.Equal(body, []byte("part")) && len(body) != 0 {
		t.Errorf("partial body %q", body)
	}
	rtStreamErr(t, "handler returned mid-response", err, frame.ErrCodeCancel, true)
}

// TestRuntimeServerEarlyResponse: a handler answers in full without reading
// the request body and returns. The client gets the whole response and a
// clean io.EOF (a RST_STREAM(NO_ERROR) after a complete response must not
// discard it, RFC 9113 §8.1), and its body upload ends instead of hanging.
func TestRuntimeServerEarlyResponse(t *testing.T) {
	for _, kind := range rtTransports {
		t.Run(string(kind), func(t *testing.T) {
			srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
				_ = s.Respond(413, nil, []byte("too large, not reading it"))
			})}
			env := rtStart(t, kind, srv, nil)
			c := env.client
			ctx := rtCtx(t)
			s, err := c.Request(ctx, c.NewRequest("POST", "/upload"), nil)
			if err != nil {
				t.Fatal(err)
			}
			wrote := make(chan error, 1)
			go func() {
				_, err := s.WriteContext(ctx, rtPattern(16, 4<<20))
				if err == nil {
					err = s.CloseWrite()
				}
				wrote <- err
			}()
			resp, err := s.Response(ctx)
			if err != nil || resp.Status != 413 {
				t.Fatalf("Response %v, %v", resp, err)
			}
			body, err := rtReadAll(t, ctx, s)
			if err != nil || string(body) != "too large, not reading it" {
				t.Errorf("body %q, %v; want the whole response and io.EOF", body, err)
			}
			// The upload may end either way (the server discards it, or
			// resets the stream with NO_ERROR), but it must end.
			if werr := rtWait(t, ctx, wrote, "the upload to stop"); werr != nil {
				t.Logf("upload ended with %v", werr)
			}
			rtDone(t, ctx, s.Done(), "client stream")
			// The connection still works.
			s2, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
			if err != nil {
				t.Fatal(err)
			}
			if resp, err := s2.Response(ctx); err != nil || resp.Status != 413 {
				t.Errorf("next request: %v, %v", resp, err)
			}
		})
	}
}

// TestRuntimeServerWriteTimeout: a client that stops reading loses the
// connection after Options.WriteTimeout; ServeConn returns the timeout.
func TestRuntimeServerWriteTimeout(t *testing.T) {
	ctx := rtCtx(t)
	a, b := net.Pipe()
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	handled := make(chan error, 1)
	srv := &h2.Server{
		Options: h2.Options{WriteTimeout: 100 * time.Millisecond},
		Handler: h2.HandlerFunc(func(s *h2.Stream) {
			_, err := s.WriteContext(ctx, rtPattern(17, 1<<20))
			handled <- err
		}),
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeConn(b) }()
	// A client that writes its preface and a request, and reads nothing.
	fb := coretest.NewFrameBuilder()
	go func() {
		var out []byte
		out = append(out, coretest.ClientPreface...)
		out = append(out, fb.Settings()...)
		out = append(out, fb.GET(1, "/")...)
		_, _ = a.Write(out)
	}()
	err := rtWait(t, ctx, served, "ServeConn to give up on the silent client")
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("ServeConn: %v, want a write timeout (os.ErrDeadlineExceeded)", err)
	}
	select {
	case herr := <-handled:
		if herr == nil || errors.Is(herr, io.EOF) {
			t.Errorf("handler Write on the lost connection: %v, want an error", herr)
		}
	default: // the handler may not have started before the preface write timed out
	}
}

// TestRuntimeServerStreamAfterHandler: what a goroutine the handler left
// behind sees once the handler returned: Done closes in both cases; Err is
// nil after a complete response, and the CANCEL reset (RFC 9113 §8.1) when
// the handler returned without one (Err: "a *core.StreamError (a reset)").
func TestRuntimeServerStreamAfterHandler(t *testing.T) {
	type seen struct {
		path string
		err  error
	}
	out := make(chan seen, 2)
	srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		go func() {
			<-s.Done()
			out <- seen{s.Request().Path, s.Err()}
		}()
		if s.Request().Path == "/complete" {
			_ = s.Respond(200, nil, rtPattern(20, 300<<10)) // beyond the client's window
		}
	})}
	env := rtStart(t, rtOverPipe, srv, nil)
	c := env.client
	ctx := rtCtx(t)
	for _, path := range []string{"/complete", "/nothing"} {
		s, err := c.Request(ctx, c.NewRequest("GET", path), &h2.RequestOptions{EndStream: true})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = rtReadAll(t, ctx, s)
		got := rtWait(t, ctx, out, "the left-behind goroutine")
		switch got.path {
		case "/complete":
			if got.err != nil {
				t.Errorf("%s: Err %v, want nil after a complete response", got.path, got.err)
			}
		case "/nothing":
			rtStreamErr(t, got.path+": Err after the handler returned without answering", got.err, frame.ErrCodeCancel, false)
		}
	}
}
