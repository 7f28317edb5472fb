package nethttp_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/adapters/nethttp"
)

// TestServerListenAndServeBadTLSConfig: a TLSConfig that Serve refuses is
// refused before ListenAndServe listens, so that no listener is left
// behind: the address can be listened on again at once.
func TestServerListenAndServeBadTLSConfig(t *testing.T) {
	l := srvListen(t)
	addr := l.Addr().String()
	_ = l.Close()
	srv := &nethttp.Server{Handler: http.NotFoundHandler(), TLSConfig: &tls.Config{NextProtos: []string{"http/1.1"}}}
	if err := srv.ListenAndServe(addr); err == nil || !strings.Contains(err.Error(), "NextProtos") {
		t.Fatalf("ListenAndServe: %v, want an error naming NextProtos", err)
	}
	l2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the address is still taken: %v", err)
	}
	_ = l2.Close()
}

// TestServerRequestTrailerFields: as net/http's server, the request's
// Header keeps no Trailer field; Trailer holds the declared keys before
// the body is read, and after it the trailer values, without the fields
// no trailer may carry (httpguts.ValidTrailerHeader), declared or not.
func TestServerRequestTrailerFields(t *testing.T) {
	got := make(chan string, 1)
	run := srvStartAdapter(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		before := fmt.Sprintf("header=%q declared=%v", r.Header["Trailer"], r.Trailer)
		_, _ = io.Copy(io.Discard, r.Body)
		got <- before + fmt.Sprintf(" after=%v", r.Trailer)
	}))
	c := srvRawClient(t, run)
	ctx := testCtx(t)
	s, err := c.Request(ctx, c.NewRequest("POST", "/", h2.HeaderField{Name: "trailer", Value: "X-T, Content-Length, Host, Transfer-Encoding"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteTrailers([]h2.HeaderField{{Name: "x-t", Value: "v"}, {Name: "host", Value: "evil.example"}, {Name: "authorization", Value: "secret"}}); err != nil {
		t.Fatal(err)
	}
	want := `header=[] declared=map[X-T:[]] after=map[X-T:[v]]`
	if r := testWait(t, got, "the handler"); r != want {
		t.Errorf("handler saw\n%s\nwant\n%s", r, want)
	}
}

// TestServerShortContentLength: a handler that declares Content-Length 10,
// writes 5 bytes and returns: the head and the 5 bytes reach the client,
// then the stream is reset (it cannot end short, RFC 9113 §8.1.1) — rather
// than a reset before any head.
func TestServerShortContentLength(t *testing.T) {
	run := srvStartAdapter(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		if r.URL.Path == "/flushed" {
			w.(http.Flusher).Flush()
		}
		_, _ = io.WriteString(w, "hello")
	}))
	for _, path := range []string{"/held", "/flushed"} {
		req, _ := http.NewRequestWithContext(testCtx(t), "GET", run.base+path, nil)
		resp, err := run.client.Do(req)
		if err != nil {
			t.Fatalf("%s: no response head: %v", path, err)
		}
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 || resp.ContentLength != 10 || string(b) != "hello" || err == nil {
			t.Errorf("%s: %d, ContentLength %d, body %q, %v; want 200, 10, \"hello\" and an error", path, resp.StatusCode, resp.ContentLength, b, err)
		}
	}
}
