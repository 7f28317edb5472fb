package bench

import (
	"context"
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
// with no sockets: two h2proto cores driven by coretest.Pair, beside Go's
// net/http client and server speaking h2c over a transport/memory pipe. The
// net/http figure includes its goroutines and the pipe; the h2proto one is
// both cores' CPU, which is what a runtime adds its I/O to.
func BenchmarkRoundTripGET(b *testing.B) {
	b.Run("impl=h2proto", benchRoundTripCore)
	b.Run("impl=nethttp", benchRoundTripNetHTTP)
}

func benchRoundTripCore(b *testing.B) {
	p, err := coretest.NewPair(1, core.Config{}, core.Config{})
	if err != nil {
		b.Fatal(err)
	}
	done := 0
	var fail error
	p.OnEvent = func(side coretest.Side, e *core.Event) {
		switch {
		case side == coretest.Server && e.Kind == core.EventRequest:
			if err := p.Server.Respond(e.StreamID, 200, nil, helloBody); err != nil {
				fail = err
			}
		case side == coretest.Client && e.Kind == core.EventStreamClosed:
			done++
		}
	}
	p.Drive()
	once := func() {
		before := done
		if _, err := p.Client.OpenStream(typicalRequest, core.StreamOptions{EndStream: true}); err != nil {
			b.Fatal(err)
		}
		p.Drive()
		if fail != nil || done != before+1 {
			b.Fatalf("round trip failed: %v", fail)
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
