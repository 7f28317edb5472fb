package h2gnet

import (
	"testing"

	"github.com/h2proto/h2/core"
)

// BenchmarkGnetGet measures GET / over loopback against one event loop,
// 16 requests in flight on one connection. The client is a bare core
// driven by the benchmark goroutine, so allocs/op are the server's (and
// the client core's, which allocates nothing per request).
func BenchmarkGnetGet(b *testing.B) {
	addr := startServer(b, &Server{Handler: testHandler{}, Loops: 1})
	r := newRawClient(b, addr, core.Config{})
	req := []HeaderField{
		{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: "bench"}, {Name: ":path", Value: "/"},
	}
	const inflight = 16
	b.ReportAllocs()
	b.ResetTimer()
	opened, done, open, bytes := 0, 0, 0, 0
	for done < b.N {
		for open < inflight && opened < b.N {
			if _, err := r.c.OpenStream(req, core.StreamOptions{EndStream: true}); err != nil {
				b.Fatal(err)
			}
			opened++
			open++
		}
		r.flush()
		r.until(func(e *core.Event) bool {
			switch e.Kind {
			case core.EventData:
				bytes += len(e.Data)
			case core.EventStreamClosed:
				done++
				open--
				// Refill in batches, as a loaded client would.
				return open <= inflight/2 || done == b.N
			case core.EventStreamReset:
				b.Fatalf("stream %d reset: %v", e.StreamID, e.Code)
			}
			return false
		})
	}
	b.StopTimer()
	if bytes != b.N*len(testHello) {
		b.Fatalf("got %d body bytes for %d requests", bytes, b.N)
	}
}

// TestGetAllocs checks that the inline path allocates nothing per request
// (DESIGN §8): the whole process — adapter, both cores, gnet — is measured
// over batches of 16 pipelined GETs.
func TestGetAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts (sync.Pool drops)")
	}
	addr := startServer(t, &Server{Handler: testHandler{}, Loops: 1})
	r := newRawClient(t, addr, core.Config{})
	req := []HeaderField{
		{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: "allocs"}, {Name: ":path", Value: "/"},
	}
	const batch = 16
	round := func() {
		for range batch {
			if _, err := r.c.OpenStream(req, core.StreamOptions{EndStream: true}); err != nil {
				t.Fatal(err)
			}
		}
		r.flush()
		done := 0
		r.until(func(e *core.Event) bool {
			if e.Kind == core.EventStreamReset {
				t.Fatalf("stream %d reset", e.StreamID)
			}
			if e.Kind == core.EventStreamClosed {
				done++
			}
			return done == batch
		})
	}
	for range 20 { // warm up: buffers, maps, the loop's timer
		round()
	}
	perReq := testing.AllocsPerRun(200, round) / batch
	if perReq > 0.1 {
		t.Errorf("%.2f allocations per request, want 0", perReq)
	}
}
