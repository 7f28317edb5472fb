package nethttp_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"testing"
)

// trCompareHandler serves the comparison tests.
func trCompareHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		w.Header().Set("X-Proto", r.Proto)
		w.Header().Set("X-Host", r.Host)
		w.Header().Set("X-Path", r.URL.RequestURI())
		_, _ = io.WriteString(w, "hello, "+r.Method+"\n")
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Length", itoa64(r.ContentLength))
		_, _ = io.Copy(w, r.Body)
	})
	mux.HandleFunc("/status/404", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such thing", http.StatusNotFound)
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/trailers", func(w http.ResponseWriter, r *http.Request) {
		// Response trailers declared up front, and one request trailer
		// echoed back in one of them.
		w.Header().Set("Trailer", "X-Sum, X-Echo-Trailer")
		h := sha256.New()
		n, _ := io.Copy(io.MultiWriter(h, w), r.Body)
		w.Header().Set("X-Sum", hex.EncodeToString(h.Sum(nil)))
		w.Header().Set("X-Echo-Trailer", r.Trailer.Get("X-Client-Trailer")+"/"+itoa64(n))
		w.Header().Set(http.TrailerPrefix+"X-Undeclared", "late")
	})
	return mux
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// trTrailerBody is a request body that sets a request trailer once read to
// the end, as net/http's documentation describes.
type trTrailerBody struct {
	r   io.Reader
	req *http.Request
}

func (b *trTrailerBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		b.req.Trailer.Set("X-Client-Trailer", "from-client")
	}
	return n, err
}

func (b *trTrailerBody) Close() error { return nil }

// TestTransportCompare runs the same client code through Go's HTTP/2
// client and through this Transport, against the same net/http servers
// (h2c and TLS), and requires the same results.
func TestTransportCompare(t *testing.T) {
	big := testPattern(8 << 20)
	cases := []struct {
		name string
		req  func(ctx context.Context, base string) *http.Request
		want func(t *testing.T, r trResult)
	}{
		{"GET", func(ctx context.Context, base string) *http.Request {
			req, _ := http.NewRequestWithContext(ctx, "GET", base+"/hello?q=1&r=%2F", nil)
			req.Header.Set("X-Custom", "1")
			return req
		}, func(t *testing.T, r trResult) {
			if r.Status != 200 || r.Body != "hello, GET\n" || r.Header.Get("X-Proto") != "HTTP/2.0" || len(r.Header["X-Multi"]) != 2 {
				t.Errorf("GET: %+v", r)
			}
		}},
		{"HEAD", func(ctx context.Context, base string) *http.Request {
			req, _ := http.NewRequestWithContext(ctx, "HEAD", base+"/hello", nil)
			return req
		}, func(t *testing.T, r trResult) {
			if r.Status != 200 || r.Body != "" {
				t.Errorf("HEAD: %+v", r)
			}
		}},
		{"404", func(ctx context.Context, base string) *http.Request {
			req, _ := http.NewRequestWithContext(ctx, "GET", base+"/status/404", nil)
			return req
		}, func(t *testing.T, r trResult) {
			if r.Status != 404 {
				t.Errorf("404: %+v", r)
			}
		}},
		{"204", func(ctx context.Context, base string) *http.Request {
			req, _ := http.NewRequestWithContext(ctx, "GET", base+"/empty", nil)
			return req
		}, func(t *testing.T, r trResult) {
			if r.Status != 204 || r.Body != "" {
				t.Errorf("204: %+v", r)
			}
		}},
		{"Host_override", func(ctx context.Context, base string) *http.Request {
			req, _ := http.NewRequestWithContext(ctx, "GET", base+"/hello", nil)
			req.Host = "example.test"
			return req
		}, func(t *testing.T, r trResult) {
			if r.Header.Get("X-Host") != "example.test" {
				t.Errorf("Host override: %+v", r)
			}
		}},
		{"POST_8MiB_echo", func(ctx context.Context, base string) *http.Request {
			req, _ := http.NewRequestWithContext(ctx, "POST", base+"/echo", bytes.NewReader(big))
			return req
		}, func(t *testing.T, r trResult) {
			if r.Status != 200 || r.Body != trDigest(big) || r.Header.Get("X-Request-Length") != itoa64(int64(len(big))) {
				t.Errorf("POST echo: status %d, body %s, length %s", r.Status, r.Body, r.Header.Get("X-Request-Length"))
			}
		}},
		{"POST_unknown_length_echo", func(ctx context.Context, base string) *http.Request {
			req, _ := http.NewRequestWithContext(ctx, "POST", base+"/echo", io.NopCloser(bytes.NewReader(big[:300<<10])))
			return req
		}, func(t *testing.T, r trResult) {
			if r.Status != 200 || r.Body != trDigest(big[:300<<10]) || r.Header.Get("X-Request-Length") != "-1" {
				t.Errorf("POST echo (unknown length): status %d, body %s, length %s", r.Status, r.Body, r.Header.Get("X-Request-Length"))
			}
		}},
		{"POST_empty", func(ctx context.Context, base string) *http.Request {
			req, _ := http.NewRequestWithContext(ctx, "POST", base+"/echo", http.NoBody)
			return req
		}, func(t *testing.T, r trResult) {
			if r.Status != 200 || r.Body != "" || r.Header.Get("X-Request-Length") != "0" {
				t.Errorf("POST empty: %+v", r)
			}
		}},
		{"trailers_both_ways", func(ctx context.Context, base string) *http.Request {
			req, _ := http.NewRequestWithContext(ctx, "POST", base+"/trailers", nil)
			req.Body = &trTrailerBody{r: bytes.NewReader(big[:100<<10]), req: req}
			req.ContentLength = -1
			req.Trailer = http.Header{"X-Client-Trailer": nil}
			return req
		}, func(t *testing.T, r trResult) {
			sum := sha256.Sum256(big[:100<<10])
			if r.Trailer.Get("X-Sum") != hex.EncodeToString(sum[:]) || r.Trailer.Get("X-Echo-Trailer") != "from-client/102400" ||
				r.Trailer.Get("X-Undeclared") != "late" {
				t.Errorf("trailers: %+v", r.Trailer)
			}
		}},
	}
	for _, s := range trServers(t, trCompareHandler()) {
		clients := trClients(t, s)
		for _, tc := range cases {
			t.Run(s.name+"/"+tc.name, func(t *testing.T) {
				ctx := testCtx(t)
				got := map[string]trResult{}
				for _, c := range clients {
					r := trDo(t, c.client, tc.req(ctx, s.url))
					tc.want(t, r)
					got[c.impl] = r
				}
				trSame(t, tc.name, got)
			})
		}
	}
}
