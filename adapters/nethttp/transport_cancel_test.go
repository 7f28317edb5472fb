package nethttp_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
)

// TestTransportCancelMidBody: cancelling the request's context while the
// response body streams resets the stream — the server handler sees its
// request context cancelled — and Body.Read returns the context's error.
// Go's client is run too, as the reference for the server's view.
func TestTransportCancelMidBody(t *testing.T) {
	cancelled := make(chan string, 4)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first chunk\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		cancelled <- r.URL.Query().Get("impl")
	})
	for _, s := range trServers(t, h) {
		for _, c := range trClients(t, s) {
			t.Run(s.name+"/"+c.impl, func(t *testing.T) {
				ctx := testCtx(t)
				rctx, cancel := context.WithCancel(ctx)
				defer cancel()
				req, _ := http.NewRequestWithContext(rctx, "GET", s.url+"/?impl="+c.impl, nil)
				resp, err := c.client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				buf := make([]byte, len("first chunk\n"))
				if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first chunk\n" {
					t.Fatalf("first chunk: %q, %v", buf, err)
				}
				cancel()
				_, err = resp.Body.Read(buf)
				if c.impl == "adapter" && !errors.Is(err, context.Canceled) {
					t.Errorf("Read after cancel: %v, want context.Canceled", err)
				}
				if err == nil {
					t.Errorf("Read after cancel: nil error")
				}
				if got := testWait(t, cancelled, "the handler to see its context cancelled"); got != c.impl {
					t.Errorf("cancelled handler of %q, want %q", got, c.impl)
				}
			})
		}
	}
}

// TestTransportCancelBeforeResponse: a context cancelled while RoundTrip
// waits for the response head makes it return the context's error, and
// the server sees the stream reset.
func TestTransportCancelBeforeResponse(t *testing.T) {
	started := make(chan struct{}, 1)
	cancelled := make(chan struct{}, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
		cancelled <- struct{}{}
	})
	s := trH2CServer(t, h)
	c := trClients(t, s)[0]
	ctx := testCtx(t)
	rctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(rctx, "GET", s.url+"/", nil)
		resp, err := c.ours.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	testWait(t, started, "the handler to start")
	cancel()
	if err := testWait(t, errc, "RoundTrip to return"); !errors.Is(err, context.Canceled) {
		t.Errorf("RoundTrip: %v, want context.Canceled", err)
	}
	testWait(t, cancelled, "the handler to see the reset")
}

// TestTransportBodyCloseResets: closing a response body before EOF resets
// the stream (the handler's context ends), and later Reads fail.
func TestTransportBodyCloseResets(t *testing.T) {
	cancelled := make(chan struct{}, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "x")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		cancelled <- struct{}{}
	})
	s := trH2CServer(t, h)
	c := trClients(t, s)[0]
	ctx := testCtx(t)
	req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/", nil)
	resp, err := c.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	testWait(t, cancelled, "the handler to see the reset")
	if _, err := resp.Body.Read(make([]byte, 1)); err == nil {
		t.Error("Read after Close: nil error")
	}
	// The connection is still good for the next request.
	req, _ = http.NewRequestWithContext(ctx, "GET", s.url+"/", nil)
	rctx, cancel := context.WithCancel(ctx)
	req = req.WithContext(rctx)
	resp, err = c.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	testWait(t, cancelled, "the second handler to see the reset")
	if n := s.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}
