package bench

import (
	"fmt"
	"net/http"
	"runtime"
	"testing"

	h2 "github.com/h2proto/h2"
)

// BenchmarkLoopbackGET is one GET → 200 with a 13-byte body over loopback
// TCP (127.0.0.1), requests one after another on one connection: h2proto's
// runtime on both ends (an inline handler answering with Respond) beside
// net/http's client and server speaking h2c with prior knowledge. Unlike
// BenchmarkRoundTripGET this includes the system calls, the goroutine
// wake-ups and the runtimes' locking, so it is the latency a user sees on
// an idle machine.
func BenchmarkLoopbackGET(b *testing.B) {
	b.Run("impl=h2proto", func(b *testing.B) {
		c, fields := startHelloH2proto(b)
		ctx, buf := benchCtx(b), make([]byte, 512)
		once := func() {
			status, n, err := getH2proto(ctx, c, fields, buf)
			if err != nil || status != 200 || n != int64(len(helloBody)) {
				b.Fatalf("GET: status %d, %d bytes, %v", status, n, err)
			}
		}
		benchLoop(b, once)
	})
	b.Run("impl=nethttp", func(b *testing.B) {
		client := startHelloNetHTTP(b)
		req, buf := newGET(b, benchCtx(b), "/"), make([]byte, 512)
		once := func() {
			status, n, err := getNetHTTP(client, req, buf)
			if err != nil || status != 200 || n != int64(len(helloBody)) {
				b.Fatalf("GET: status %d, %d bytes, %v", status, n, err)
			}
		}
		benchLoop(b, once)
	})
}

// BenchmarkLoopbackGETParallel is BenchmarkLoopbackGET with about 16
// requests in flight at once on the one connection (b.RunParallel with 16
// goroutines, or GOMAXPROCS if more): the multiplexing case, where the
// runtimes' locking and their coalescing of writes matter.
func BenchmarkLoopbackGETParallel(b *testing.B) {
	b.Run("impl=h2proto", func(b *testing.B) {
		c, fields := startHelloH2proto(b)
		ctx := benchCtx(b)
		benchParallel(b, func() func() error {
			buf := make([]byte, 512)
			return func() error {
				status, n, err := getH2proto(ctx, c, fields, buf)
				return checkHello(status, n, err)
			}
		})
	})
	b.Run("impl=nethttp", func(b *testing.B) {
		client := startHelloNetHTTP(b)
		req := newGET(b, benchCtx(b), "/")
		benchParallel(b, func() func() error {
			req, buf := req.Clone(req.Context()), make([]byte, 512)
			return func() error {
				status, n, err := getNetHTTP(client, req, buf)
				return checkHello(status, n, err)
			}
		})
	})
}

// startHelloH2proto starts an h2proto server answering every request with
// helloBody from an inline handler, and returns a client connection to it
// with the fields of a GET /.
func startHelloH2proto(b *testing.B) (*h2.Conn, []h2.HeaderField) {
	srv := &h2.Server{Inline: true, Handler: h2.HandlerFunc(func(s *h2.Stream) {
		_ = s.Respond(200, nil, helloBody)
	})}
	c := startH2proto(b, loopback, srv, h2.ClientOptions{H2C: true})
	fields := c.NewRequest("GET", "/",
		h2.HeaderField{Name: "user-agent", Value: "h2proto-bench"},
		h2.HeaderField{Name: "accept", Value: "*/*"})
	return c, fields
}

// startHelloNetHTTP starts a net/http server answering every request with
// helloBody, and returns a client for it.
func startHelloNetHTTP(b *testing.B) *http.Client {
	return startNetHTTP(b, loopback, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(helloBody)
	}), nil)
}

// benchLoop warms up with ten calls of once, then times it.
func benchLoop(b *testing.B, once func()) {
	for range 10 {
		once()
	}
	b.ReportAllocs()
	for b.Loop() {
		once()
	}
}

// parallelism is the number of goroutines of the parallel benchmarks.
const parallelism = 16

// benchParallel runs requests from parallelism goroutines, each with its
// own state made by setup; the first error fails the benchmark.
func benchParallel(b *testing.B, setup func() func() error) {
	b.SetParallelism(max(1, parallelism/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		once := setup()
		for pb.Next() {
			if err := once(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// checkHello checks a GET's answer.
func checkHello(status int, n int64, err error) error {
	if err == nil && (status != 200 || n != int64(len(helloBody))) {
		err = fmt.Errorf("GET: status %d, %d bytes", status, n)
	}
	return err
}
