package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/transport/memory"
	"golang.org/x/net/http2/hpack"
)

// typicalRequest is the header set of the round-trip benchmarks.
var typicalRequest = []hpack.HeaderField{
	{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
	{Name: ":authority", Value: "example.com"}, {Name: ":path", Value: "/"},
	{Name: "user-agent", Value: "h2proto-bench"}, {Name: "accept", Value: "*/*"},
}

var helloBody = []byte("hello, world\n")

// BenchmarkRoundTripGET is one GET → 200 with a 13-byte body, in memory
// with no sockets: two h2proto cores driven by a minimal event loop (the
// loop an application runs, without coretest.Pair's chunking and
// bookkeeping), beside Go's net/http client and server speaking h2c over a
// transport/memory pipe. The net/http figure includes its goroutines and
// the pipe; the h2proto one is both cores' CPU, which is what a runtime
// adds its I/O to.
func BenchmarkRoundTripGET(b *testing.B) {
	b.Run("impl=h2proto", benchRoundTripCore)
	b.Run("impl=nethttp", benchRoundTripNetHTTP)
}

// coreLoop is a client and a server core wired back to back.
type coreLoop struct {
	client, server *core.Conn
	now            time.Time
	buf            []byte
	closed         int // client streams ended
	err            error
}

// pump moves bytes both ways, answering each request with helloBody,
// until neither side has anything to send.
func (l *coreLoop) pump() {
	for moved := true; moved && l.err == nil; {
		moved = l.flow(l.client, l.server) || l.flow(l.server, l.client)
	}
}

// flow hands src's output to dst and handles dst's events.
func (l *coreLoop) flow(src, dst *core.Conn) bool {
	l.buf = src.PollTransmit(l.buf[:0])
	if len(l.buf) == 0 {
		return false
	}
	if n, err := dst.Receive(l.now, l.buf); err != nil || n != len(l.buf) {
		l.err = fmt.Errorf("receive took %d of %d bytes: %v", n, len(l.buf), err)
		return false
	}
	for {
		e, ok := dst.PollEvent()
		if !ok {
			return true
		}
		switch {
		case e.Kind == core.EventRequest:
			if err := dst.Respond(e.StreamID, 200, nil, helloBody); err != nil {
				l.err = err
			}
		case e.Kind == core.EventStreamClosed && dst == l.client:
			l.closed++
		}
	}
}

func benchRoundTripCore(b *testing.B) {
	l := &coreLoop{now: coretest.Epoch}
	var err error
	if l.client, err = core.NewClient(l.now, core.Config{}); err != nil {
		b.Fatal(err)
	}
	if l.server, err = core.NewServer(l.now, core.Config{}); err != nil {
		b.Fatal(err)
	}
	l.pump()
	once := func() {
		before := l.closed
		if _, err := l.client.OpenStream(typicalRequest, core.StreamOptions{EndStream: true}); err != nil {
			b.Fatal(err)
		}
		l.pump()
		if l.err != nil || l.closed != before+1 {
			b.Fatalf("round trip failed: %v", l.err)
		}
	}
	for range 10 { // warm tables and buffers
		once()
	}
	b.ReportAllocs()
	for b.Loop() {
		once()
	}
}

func benchRoundTripNetHTTP(b *testing.B) {
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true) // h2c with prior knowledge
	l := memory.Listen(memory.Config{})
	srv := &http.Server{Protocols: &protos, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(helloBody)
	})}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	tr := &http.Transport{Protocols: &protos, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return l.Dial(ctx)
	}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	req, err := http.NewRequest("GET", "http://example.com/", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("user-agent", "h2proto-bench")
	req.Header.Set("accept", "*/*")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req = req.WithContext(ctx)
	once := func() {
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
			b.Fatalf("status %d over HTTP/%d", resp.StatusCode, resp.ProtoMajor)
		}
	}
	for range 10 {
		once()
	}
	b.ReportAllocs()
	for b.Loop() {
		once()
	}
}
