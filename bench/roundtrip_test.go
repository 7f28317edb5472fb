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
	"golang.org/x/net/http2"
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
// with no sockets: two h2proto cores driven by coretest.Pair, beside x/net's
// client and server (net/http's HTTP/2) over a net.Pipe. The x/net figure
// includes its goroutines and the pipe; the h2proto one is both cores' CPU,
// which is what a runtime adds its I/O to.
func BenchmarkRoundTripGET(b *testing.B) {
	b.Run("h2proto", benchRoundTripCore)
	b.Run("xnet", benchRoundTripXNet)
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

func benchRoundTripXNet(b *testing.B) {
	cn, sn := net.Pipe()
	srv := &http2.Server{}
	go srv.ServeConn(sn, &http2.ServeConnOpts{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(helloBody)
	})})
	tr := &http2.Transport{AllowHTTP: true}
	cc, err := tr.NewClientConn(cn)
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
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
		resp, err := cc.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
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
