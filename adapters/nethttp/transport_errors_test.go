package nethttp_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/h2proto/h2/adapters/nethttp"
)

// TestTransportMisuse: requests this Transport cannot send fail with an
// error naming the problem, and their body is closed.
func TestTransportMisuse(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		tr        *nethttp.Transport
		want      string
	}{
		{"http_without_AllowHTTP", "http://127.0.0.1:1/", &nethttp.Transport{}, "AllowHTTP"},
		{"unsupported_scheme", "ftp://127.0.0.1:1/", &nethttp.Transport{AllowHTTP: true}, "scheme"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := &trCloseRecorder{}
			req, _ := http.NewRequestWithContext(testCtx(t), "POST", tc.url, body)
			_, err := tc.tr.RoundTrip(req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("RoundTrip: %v, want an error mentioning %q", err, tc.want)
			}
			if !body.closed {
				t.Error("request body not closed")
			}
		})
	}
	t.Run("TLS_server_without_h2", func(t *testing.T) {
		ts := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		ts.Config.ErrorLog = log.New(io.Discard, "", 0)
		ts.StartTLS() // HTTP/1.1 only
		t.Cleanup(ts.Close)
		pool := x509.NewCertPool()
		pool.AddCert(ts.Certificate())
		tr := &nethttp.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
		req, _ := http.NewRequestWithContext(testCtx(t), "GET", ts.URL, nil)
		_, err := tr.RoundTrip(req)
		if err == nil || !strings.Contains(err.Error(), "ALPN h2") {
			t.Errorf("RoundTrip: %v, want an error naming ALPN h2", err)
		}
	})
	t.Run("no_URL", func(t *testing.T) {
		if _, err := new(nethttp.Transport).RoundTrip(&http.Request{Header: http.Header{}}); err == nil || !strings.Contains(err.Error(), "URL") {
			t.Errorf("RoundTrip: %v", err)
		}
	})
}

type trCloseRecorder struct{ closed bool }

func (b *trCloseRecorder) Read([]byte) (int, error) { return 0, nil }
func (b *trCloseRecorder) Close() error             { b.closed = true; return nil }
