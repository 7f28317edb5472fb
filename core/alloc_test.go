package core_test

import (
	"testing"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
)

var (
	getRequest = []core.HeaderField{
		{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: "example.com"}, {Name: ":path", Value: "/"},
		{Name: "user-agent", Value: "h2proto-test"},
	}
	helloHeaders = []core.HeaderField{{Name: "content-type", Value: "text/plain"}}
	helloBody    = []byte("hello, world\n")
)

// roundTripper drives GET → 200 round trips through a Pair whose event
// handler answers every request and counts finished responses.
type roundTripper struct {
	p    *coretest.Pair
	done int
	fail error
}

func newRoundTripper(tb testing.TB) *roundTripper {
	p, err := coretest.NewPair(1, core.Config{}, core.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	rt := &roundTripper{p: p}
	p.OnEvent = rt.onEvent
	p.Drive()
	return rt
}

func (rt *roundTripper) onEvent(side coretest.Side, e *core.Event) {
	switch {
	case side == coretest.Server && e.Kind == core.EventRequest:
		if err := rt.p.Server.Respond(e.StreamID, 200, helloHeaders, helloBody); err != nil {
			rt.fail = err
		}
	case side == coretest.Client && e.Kind == core.EventStreamClosed:
		rt.done++
	}
}

func (rt *roundTripper) roundTrip(tb testing.TB) {
	before := rt.done
	if _, err := rt.p.Client.OpenStream(getRequest, core.StreamOptions{EndStream: true}); err != nil {
		tb.Fatal(err)
	}
	rt.p.Drive()
	if rt.fail != nil || rt.done != before+1 {
		tb.Fatalf("round trip failed: %v (done %d)", rt.fail, rt.done-before)
	}
}

// TestRoundTripZeroAllocs: a steady-state GET → 200 with a small body, with
// warm HPACK tables, allocates nothing in either core (DESIGN §8).
func TestRoundTripZeroAllocs(t *testing.T) {
	rt := newRoundTripper(t)
	for i := 0; i < 10; i++ { // warm up tables, buffers and free lists
		rt.roundTrip(t)
	}
	if a := testing.AllocsPerRun(200, func() { rt.roundTrip(t) }); a != 0 {
		t.Fatalf("%v allocations per round trip, want 0", a)
	}
	if err := rt.p.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkRoundTripGET measures one GET → 200 round trip through a client
// and a server core in memory (both cores' CPU together).
func BenchmarkRoundTripGET(b *testing.B) {
	rt := newRoundTripper(b)
	for i := 0; i < 10; i++ {
		rt.roundTrip(b)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rt.roundTrip(b)
	}
}
