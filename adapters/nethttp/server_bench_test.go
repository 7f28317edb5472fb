package nethttp_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
)

// srvBenchImpls runs bench for each implementation as impl=NAME, with a
// started server and its client.
func srvBenchImpls(b *testing.B, h http.Handler, bench func(b *testing.B, run *srvRunning)) {
	for _, name := range []string{"adapter", "nethttp"} {
		b.Run("impl="+name, func(b *testing.B) {
			for _, si := range srvImpls {
				if si.name == name {
					bench(b, si.start(b, h))
				}
			}
		})
	}
}

// BenchmarkServerGet measures one small GET, request to drained response,
// over loopback h2c with the same net/http client, served by this adapter
// and by net/http's own HTTP/2 server. Allocations count both sides.
func BenchmarkServerGet(b *testing.B) {
	payload := []byte("hello, world\n")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(payload)
	})
	srvBenchImpls(b, h, func(b *testing.B, run *srvRunning) {
		req, err := http.NewRequestWithContext(context.Background(), "GET", run.base+"/", nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			resp, err := run.client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				b.Fatal(err)
			}
			_ = resp.Body.Close()
		}
	})
}

// BenchmarkServerEcho measures a 1 MiB POST echoed back (io.Copy in the
// handler), the same way.
func BenchmarkServerEcho(b *testing.B) {
	body := testPattern(1 << 20)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(w, r.Body)
	})
	srvBenchImpls(b, h, func(b *testing.B, run *srvRunning) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			req, err := http.NewRequestWithContext(context.Background(), "POST", run.base+"/", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			resp, err := run.client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, resp.Body)
			if err != nil || n != int64(len(body)) {
				b.Fatal(n, err)
			}
			_ = resp.Body.Close()
		}
	})
}
