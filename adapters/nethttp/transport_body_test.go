package nethttp_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/adapters/nethttp"
	"github.com/h2proto/h2/core"
)

// trBlockingBody is a request body whose Read blocks until Close.
type trBlockingBody struct {
	once   sync.Once
	closed chan struct{}
}

func (b *trBlockingBody) Read([]byte) (int, error) { <-b.closed; return 0, io.ErrClosedPipe }
func (b *trBlockingBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

// TestTransportBodyClosedWhenResponseEnds: a response that completes while
// the request body's Read blocks closes the body, as RoundTrip promises, so
// that its writer returns and the connection's stream slot is given back
// (the idle timer then closes the connection).
func TestTransportBodyClosedWhenResponseEnds(t *testing.T) {
	s := trH2CServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "done") }))
	tr := &nethttp.Transport{AllowHTTP: true, IdleConnTimeout: 10 * time.Millisecond,
		// Only the pool may close it: not the core's own idle timer.
		Options: &h2.ClientOptions{Options: h2.Options{Config: core.Config{Timeouts: core.Timeouts{Idle: time.Hour}}}}}
	defer tr.CloseIdleConnections()
	body := &trBlockingBody{closed: make(chan struct{})}
	defer body.Close()
	req, _ := http.NewRequestWithContext(testCtx(t), "POST", s.url, body)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(resp.Body); err != nil || string(b) != "done" {
		t.Fatalf("body %q, %v", b, err)
	}
	_ = resp.Body.Close()
	testWait(t, body.closed, "the request body to be closed")
	testWait(t, s.closed, "the connection, idle again, to close")
}

// TestTransportSendErrors: a failure on the sending side — a body shorter
// or longer than ContentLength, a trailer the core refuses, a body's Read
// error — is what RoundTrip returns, not the CANCEL reset it causes.
func TestTransportSendErrors(t *testing.T) {
	s := trH2CServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	tr := &nethttp.Transport{AllowHTTP: true}
	defer tr.CloseIdleConnections()
	for _, tc := range []struct {
		name    string
		body    io.Reader
		cl      int64
		trailer http.Header
		want    string
		is      error
	}{
		{"short", strings.NewReader("short"), 10, nil, "http: ContentLength=10 with Body length 5", core.ErrContentLength},
		{"long", strings.NewReader("longer than declared"), 4, nil, "http: ContentLength=4 with Body length 20 or more", core.ErrContentLength},
		{"bad_trailer", strings.NewReader("x"), -1, http.Header{"X-T": {"bad\nvalue"}}, "request trailers refused", nil},
		{"read_error", io.MultiReader(strings.NewReader("x"), iotestErrReader{}), -1, nil, "reading the request body: boom", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(testCtx(t), "POST", s.url, io.NopCloser(tc.body))
			req.ContentLength = tc.cl
			req.Trailer = tc.trailer
			resp, err := tr.RoundTrip(req)
			if err == nil {
				// The server may answer before the failure: the body tells.
				_, err = io.ReadAll(resp.Body)
				_ = resp.Body.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			var se *core.StreamError
			if errors.As(err, &se) {
				t.Errorf("error %v is a stream reset", err)
			}
		})
	}
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("boom") }

// TestTransportOpaquePath: a URL.Opaque of the form "//host/path" sends
// :path "/path", as Go's client does; an Opaque giving no valid :path is an
// error naming it.
func TestTransportOpaquePath(t *testing.T) {
	s := trH2CServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, r.RequestURI) }))
	u, _ := url.Parse(s.url)
	for _, c := range trClients(t, s) {
		req := &http.Request{Method: "GET", Header: http.Header{}, Host: u.Host,
			URL: &url.URL{Scheme: "http", Host: u.Host, Opaque: "//" + u.Host + "/a%2Fb"}}
		resp, err := c.client.Transport.RoundTrip(req.WithContext(testCtx(t)))
		if err != nil {
			t.Fatalf("%s: %v", c.impl, err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if string(b) != "/a%2Fb" {
			t.Errorf("%s: server saw RequestURI %q, want /a%%2Fb", c.impl, b)
		}
	}
	tr := &nethttp.Transport{AllowHTTP: true}
	req := &http.Request{Method: "GET", Header: http.Header{}, URL: &url.URL{Scheme: "http", Host: u.Host, Opaque: "no-slash"}}
	if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "URL.Opaque") {
		t.Errorf("RoundTrip: %v, want an error naming URL.Opaque", err)
	}
}
