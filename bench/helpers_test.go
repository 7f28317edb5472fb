package bench

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/transport/memory"
	"github.com/h2proto/h2/transport/tcp"
)

// This file starts the servers and clients of the runtime benchmarks
// (loopback_test.go, body_test.go): h2proto's runtime and net/http, both
// speaking h2c with prior knowledge, over loopback TCP or a transport/memory
// pipe. Everything started is stopped by b.Cleanup, which waits for the
// servers' goroutines, so no benchmark leaves goroutines to the next one.

// benchTimeout bounds every exchange, so a stuck path fails instead of
// hanging the run.
const benchTimeout = time.Minute

// benchCtx is a context that ends with the benchmark, or after benchTimeout.
func benchCtx(b *testing.B) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
	b.Cleanup(cancel)
	return ctx
}

// A benchNet is where a benchmark's client and server meet.
type benchNet struct {
	listen func(b *testing.B) net.Listener
	dial   func(ctx context.Context, l net.Listener) (net.Conn, error)
}

// loopback is TCP on 127.0.0.1, with transport/tcp's socket options
// (TCP_NODELAY, as net's defaults also set).
var loopback = benchNet{
	listen: func(b *testing.B) net.Listener {
		l, err := tcp.Listen("127.0.0.1:0", tcp.Config{})
		if err != nil {
			b.Fatal(err)
		}
		return l
	},
	dial: func(ctx context.Context, l net.Listener) (net.Conn, error) {
		return tcp.Dial(ctx, l.Addr().String(), tcp.Config{})
	},
}

// inMemory is a transport/memory pipe: unchunked, no latency, 1 MiB in
// flight per direction.
var inMemory = benchNet{
	listen: func(*testing.B) net.Listener { return memory.Listen(memory.Config{}) },
	dial: func(ctx context.Context, l net.Listener) (net.Conn, error) {
		return l.(*memory.Listener).Dial(ctx)
	},
}

// startH2proto serves srv on a new listener of bn and returns a client
// connection to it, connected (SETTINGS exchanged).
func startH2proto(b *testing.B, bn benchNet, srv *h2.Server, copts h2.ClientOptions) *h2.Conn {
	l := bn.listen(b)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	ctx := benchCtx(b)
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			b.Errorf("server shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, h2.ErrServerClosed) {
			b.Errorf("Serve: %v", err)
		}
	}
	nc, err := bn.dial(ctx, l)
	if err != nil {
		stop()
		b.Fatal(err)
	}
	c, err := h2.NewClientConn(nc, &copts)
	if err != nil {
		_ = nc.Close()
		stop()
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = c.Close()
		<-c.Done()
		stop()
	})
	if err := c.WaitConnected(ctx); err != nil {
		b.Fatal(err)
	}
	return c
}

// startNetHTTP serves h with net/http on a new listener of bn and returns
// a client for it, with HTTP/2 settings h2cfg (nil: net/http's defaults)
// on both sides.
func startNetHTTP(b *testing.B, bn benchNet, h http.Handler, h2cfg *http.HTTP2Config) *http.Client {
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true) // h2c with prior knowledge
	l := bn.listen(b)
	srv := &http.Server{Protocols: &protos, Handler: h, HTTP2: h2cfg}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	tr := &http.Transport{Protocols: &protos, HTTP2: h2cfg,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return bn.dial(ctx, l) }}
	b.Cleanup(func() {
		tr.CloseIdleConnections()
		_ = srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			b.Errorf("Serve: %v", err)
		}
	})
	return &http.Client{Transport: tr}
}

// newGET returns a GET for path with the request fields of typicalRequest,
// bound to ctx. The host is not dialed: the transport's DialContext is.
func newGET(b *testing.B, ctx context.Context, path string) *http.Request {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://example.com"+path, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("user-agent", "h2proto-bench")
	req.Header.Set("accept", "*/*")
	return req
}

// drain reads r to its end into buf, discarding, and returns the count.
func drain(r io.Reader, buf []byte) (int64, error) {
	var n int64
	for {
		m, err := r.Read(buf)
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// getOptions sends a request without content.
var getOptions = h2.RequestOptions{EndStream: true}

// getH2proto makes one GET with fields on c and returns the status and
// the body length, read into buf.
func getH2proto(ctx context.Context, c *h2.Conn, fields []h2.HeaderField, buf []byte) (int, int64, error) {
	s, err := c.Request(ctx, fields, &getOptions)
	if err != nil {
		return 0, 0, err
	}
	resp, err := s.Response(ctx)
	if err != nil {
		return 0, 0, err
	}
	n, err := drain(s, buf)
	return resp.Status, n, err
}

// getNetHTTP makes req with client and returns the status and the body
// length, read into buf. It fails unless the exchange was HTTP/2.
func getNetHTTP(client *http.Client, req *http.Request, buf []byte) (int, int64, error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		return 0, 0, errors.New(resp.Proto + ", not HTTP/2")
	}
	n, err := drain(resp.Body, buf)
	return resp.StatusCode, n, err
}
