package h2gnet

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
)

// testHello is what the test handler's "/" answers.
const testHello = "hello from h2gnet\n"

var (
	helloBytes = []byte(testHello)
	textPlain  = []HeaderField{{Name: "content-type", Value: "text/plain"}}
	helloHead  = []HeaderField{{Name: "content-type", Value: "text/plain"}, {Name: "content-length", Value: strconv.Itoa(len(testHello))}}
)

// testHandler serves "/" (a short text), "/echo" (the body back, with its
// trailers, inline), "/big?n" style paths through Detach ("/detached"),
// and defers to extra for anything else.
type testHandler struct {
	extra func(s Stream, req *Request) bool
}

func (h testHandler) ServeH2(s Stream, req *Request) {
	if h.extra != nil && h.extra(s, req) {
		return
	}
	switch req.Path {
	case "/echo":
		echoInline(s)
	default:
		headers, body := textPlain, helloBytes
		if req.Method == "HEAD" {
			headers, body = helloHead, nil
		}
		respondAtEnd(s, req, 200, headers, body)
	}
}

// respondAtEnd answers once the request has been received in full (at
// once for a request without content), dropping its body. Answering
// before would be legal, but a peer that goes on to send a malformed frame
// on the stream then sees the answer before the stream error it provoked,
// which h2spec counts as a failure; headers and body must stay valid until
// then.
func respondAtEnd(s Stream, req *Request, status int, headers []HeaderField, body []byte) {
	if req.EndStream {
		_ = s.Respond(status, headers, body)
		return
	}
	_ = s.OnEvent(func(s Stream, e *Event) {
		if e.Kind == core.EventTrailers || (e.Kind == core.EventData && e.EndStream) {
			_ = s.Respond(status, headers, body)
		}
	})
}

// echoInline streams the request body back on the loop, with manual
// flow-control credit so that what cannot be sent yet holds the peer back.
func echoInline(s Stream) {
	if err := s.WriteHeaders(200, nil, false); err != nil {
		return
	}
	_ = s.SetManualConsume()
	var stash []byte
	var trailers []HeaderField
	ended := false
	finish := func(s Stream) {
		if len(trailers) > 0 {
			_ = s.WriteTrailers(trailers)
		} else {
			_ = s.CloseWrite()
		}
	}
	flush := func(s Stream) {
		n, _ := s.Write(stash)
		_ = s.Consume(n)
		stash = stash[n:]
		if len(stash) == 0 && ended {
			finish(s)
		}
	}
	_ = s.OnEvent(func(s Stream, e *Event) {
		switch e.Kind {
		case core.EventData:
			ended = e.EndStream
			if len(stash) > 0 {
				stash = append(stash, e.Data...)
				return
			}
			n, _ := s.Write(e.Data)
			_ = s.Consume(n)
			stash = append(stash, e.Data[n:]...)
			if len(stash) == 0 && ended {
				finish(s)
			}
		case core.EventTrailers:
			trailers, ended = cloneFields(e.Headers), true
			if len(stash) == 0 {
				finish(s)
			}
		case core.EventWritable:
			flush(s)
		}
	})
}

// startServer runs srv on 127.0.0.1 and stops it when the test ends.
func startServer(t testing.TB, srv *Server) string {
	t.Helper()
	ready := make(chan net.Addr, 1)
	srv.Ready = func(a net.Addr) { ready <- a }
	if srv.Loops == 0 {
		srv.Loops = 2
	}
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe("127.0.0.1:0") }()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("ListenAndServe: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server not ready after 10 s")
	}
	t.Cleanup(func() {
		_ = srv.Close()
		select {
		case err := <-done:
			if !errors.Is(err, ErrServerClosed) {
				t.Errorf("ListenAndServe returned %v, want ErrServerClosed", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("ListenAndServe did not return 10 s after Close")
		}
	})
	return addr.String()
}

func dial(t testing.TB, addr string) *h2.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := h2.Dial(ctx, addr, &h2.ClientOptions{H2C: true})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// get performs a GET and returns status and body.
func get(t testing.TB, c *h2.Conn, path string) (int, string) {
	t.Helper()
	ctx := testCtx(t)
	s, err := c.Request(ctx, c.NewRequest("GET", path), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	resp, err := s.Response(ctx)
	if err != nil {
		t.Fatalf("GET %s: response: %v", path, err)
	}
	body, err := s.ReadAll()
	if err != nil {
		t.Fatalf("GET %s: body: %v", path, err)
	}
	return resp.Status, string(body)
}
