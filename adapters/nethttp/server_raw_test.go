package nethttp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core/frame"
)

// srvRawClient dials the adapter at run with the h2proto client, which
// shows the fields exactly as sent.
func srvRawClient(t *testing.T, run *srvRunning) *h2.Conn {
	c, err := h2.Dial(testCtx(t), strings.TrimPrefix(run.base, "http://"), &h2.ClientOptions{H2C: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestServerConnectionSpecificFields: fields HTTP/2 forbids (RFC 9113
// §8.2.2), those the Connection field names, and invalid names and values
// (§8.2.1) are dropped from the response instead of breaking it.
func TestServerConnectionSpecificFields(t *testing.T) {
	run := srvStartAdapter(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Connection", "X-Private, close")
		h.Set("X-Private", "1")
		h.Set("Keep-Alive", "timeout=5")
		h.Set("Proxy-Connection", "keep-alive")
		h.Set("Transfer-Encoding", "chunked")
		h.Set("Upgrade", "websocket")
		h.Set("Te", "trailers")
		h["Bad Name"] = []string{"x"}
		h.Set("X-Bad-Value", "a\r\nb")
		h.Set("X-Ok", "1")
		h["x-lower"] = []string{"kept"}
		_, _ = io.WriteString(w, "ok")
	}))
	c := srvRawClient(t, run)
	ctx := testCtx(t)
	s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Response(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range resp.Header {
		got[f.Name] = f.Value
	}
	for _, name := range []string{"connection", "x-private", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "bad name", "x-bad-value"} {
		if v, ok := got[name]; ok {
			t.Errorf("sent %s: %q", name, v)
		}
	}
	if got["x-ok"] != "1" || got["x-lower"] != "kept" || got[":status"] != "200" || got["content-length"] != "2" {
		t.Errorf("fields %v", got)
	}
	if b, err := s.ReadAll(); err != nil || string(b) != "ok" {
		t.Errorf("body %q, %v", b, err)
	}
}

// TestServerConnectTunnel: a CONNECT request (RFC 9113 §8.5) reaches the
// handler with the authority as URL.Host; a 2xx opens a tunnel whose bytes
// flow both ways until each side ends its half.
func TestServerConnectTunnel(t *testing.T) {
	run := srvStartAdapter(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect || r.URL.Host != "example.test:443" || r.Host != "example.test:443" || r.RequestURI != "example.test:443" {
			w.WriteHeader(400)
			return
		}
		w.WriteHeader(200)
		rc := http.NewResponseController(w)
		_ = rc.Flush()
		buf := make([]byte, 1024)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				_, _ = w.Write(buf[:n])
				_ = rc.Flush()
			}
			if err != nil {
				return
			}
		}
	}))
	c := srvRawClient(t, run)
	ctx := testCtx(t)
	hs := []h2.HeaderField{{Name: ":method", Value: "CONNECT"}, {Name: ":authority", Value: "example.test:443"}}
	s, err := c.Request(ctx, hs, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Response(ctx)
	if err != nil || resp.Status != 200 || resp.Get("content-length") != "" {
		t.Fatalf("Response %+v, %v", resp, err)
	}
	for _, msg := range []string{"ping", "pong"} {
		if _, err := s.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(s, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %q, %v", buf, err)
		}
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if rest, err := s.ReadAll(); err != nil || len(rest) != 0 {
		t.Fatalf("after close: %q, %v", rest, err)
	}
}

// TestServerResetAndConnectionLoss: the request context ends, and a body
// Read fails, when the client resets the stream or the connection dies.
func TestServerResetAndConnectionLoss(t *testing.T) {
	type seen struct {
		ctxErr, readErr error
	}
	started := make(chan struct{}, 1)
	observed := make(chan seen, 1)
	run := srvStartAdapter(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		_, err := r.Body.Read(make([]byte, 10))
		select {
		case <-r.Context().Done():
		case <-time.After(srvTimeout):
		}
		observed <- seen{r.Context().Err(), err}
	}))
	for _, how := range []string{"reset", "close"} {
		c := srvRawClient(t, run)
		ctx := testCtx(t)
		s, err := c.Request(ctx, c.NewRequest("POST", "/"), nil)
		if err != nil {
			t.Fatal(err)
		}
		testWait(t, started, "handler start")
		if how == "reset" {
			_ = s.Reset(frame.ErrCodeCancel)
		} else {
			_ = c.NetConn().Close()
		}
		got := testWait(t, observed, "handler")
		if !errors.Is(got.ctxErr, context.Canceled) || got.readErr == nil || got.readErr == io.EOF {
			t.Errorf("%s: context %v, Read %v", how, got.ctxErr, got.readErr)
		}
	}
}

// TestServerInformationalAndDate: 1xx responses carry the header at the
// time of WriteHeader; a handler may suppress Date with a nil value.
func TestServerInformationalAndDate(t *testing.T) {
	run := srvStartAdapter(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.js>; rel=preload")
		w.WriteHeader(103)
		w.Header().Del("Link")
		w.Header()["Date"] = nil
		w.WriteHeader(200)
	}))
	c := srvRawClient(t, run)
	ctx := testCtx(t)
	s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Response(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Informational) != 1 || resp.Informational[0].Status != 103 ||
		fmt.Sprint(resp.Informational[0].Header) != fmt.Sprint([]h2.HeaderField{{Name: ":status", Value: "103"}, {Name: "link", Value: "</a.js>; rel=preload"}}) {
		t.Errorf("1xx %+v", resp.Informational)
	}
	if resp.Get("date") != "" || resp.Get("link") != "" || resp.Status != 200 {
		t.Errorf("final %+v", resp)
	}
}

// TestServerReadDeadlineRecovers: after a read deadline passed, the body is
// still readable once the deadline is lifted: content sent later arrives,
// then io.EOF and the trailers — also through a smaller buffer than the
// one the abandoned Read had.
func TestServerReadDeadlineRecovers(t *testing.T) {
	timedOut := make(chan struct{})
	run := srvStartAdapter(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		_, err1 := r.Body.Read(make([]byte, 64))
		close(timedOut)
		_ = rc.SetReadDeadline(time.Time{})
		var got []byte
		buf := make([]byte, 3)
		var err error
		for len(got) < 100 {
			var n int
			n, err = r.Body.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		fmt.Fprintf(w, "first=%v got=%q err=%v trailer=%q", errors.Is(err1, os.ErrDeadlineExceeded), got, err, r.Trailer.Get("X-T"))
	}))
	c := srvRawClient(t, run)
	ctx := testCtx(t)
	s, err := c.Request(ctx, c.NewRequest("POST", "/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	testWait(t, timedOut, "the deadline")
	if _, err := s.Write([]byte("late content")); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteTrailers([]h2.HeaderField{{Name: "x-t", Value: "v"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Response(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := s.ReadAll()
	if want := `first=true got="late content" err=EOF trailer="v"`; err != nil || string(b) != want {
		t.Errorf("%q, %v; want %q", b, err, want)
	}
}

// TestServerBadPath: a :path that url.ParseRequestURI rejects gets 400
// without reaching the handler; the connection goes on.
func TestServerBadPath(t *testing.T) {
	called := make(chan string, 2)
	run := srvStartAdapter(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called <- r.URL.Path
	}))
	c := srvRawClient(t, run)
	ctx := testCtx(t)
	for _, tc := range []struct {
		path   string
		status int
	}{{"/%zz", 400}, {"/ok", 200}} {
		s, err := c.Request(ctx, c.NewRequest("GET", tc.path), &h2.RequestOptions{EndStream: true})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := s.Response(ctx)
		if err != nil || resp.Status != tc.status {
			t.Fatalf("%s: %+v, %v", tc.path, resp, err)
		}
		_, _ = s.ReadAll()
	}
	if p := testWait(t, called, "handler"); p != "/ok" || len(called) != 0 {
		t.Errorf("handler called for %q", p)
	}
}
