package coretest_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
)

func newPair(t *testing.T, seed uint64, cfg core.Config) *coretest.Pair {
	t.Helper()
	p, err := coretest.NewPair(seed, cfg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// exchange runs a few requests through p and returns a transcript of every
// delivered chunk.
func exchange(t *testing.T, p *coretest.Pair) string {
	var trace bytes.Buffer
	p.Trace = func(from coretest.Side, b []byte) { fmt.Fprintf(&trace, "%v %x\n", from, b) }
	p.OnEvent = func(side coretest.Side, e *core.Event) {
		if side == coretest.Server && e.Kind == core.EventRequest {
			_ = p.Server.Respond(e.StreamID, 200, nil, []byte("hello"))
		}
	}
	for i := 0; i < 3; i++ {
		if _, err := p.Client.OpenStream([]core.HeaderField{
			{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
			{Name: ":authority", Value: "a"}, {Name: ":path", Value: "/"},
		}, core.StreamOptions{EndStream: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.DriveBounded(1000); err != nil {
		t.Fatal(err)
	}
	if err := p.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	return trace.String()
}

// TestPairDeterministic: one seed gives a byte-identical transcript, and
// the chunker really cuts differently for another seed.
func TestPairDeterministic(t *testing.T) {
	run := func(seed uint64) string {
		p := newPair(t, seed, core.Config{})
		p.MaxChunk = 11
		return exchange(t, p)
	}
	a, b, c := run(7), run(7), run(8)
	if a != b {
		t.Fatal("same seed, different transcripts")
	}
	if a == c {
		t.Fatal("different seeds cut the bytes identically")
	}
}

// TestPairLogsEventsWithoutHandler: with OnEvent unset, events are logged
// with copied slices and can be filtered by side and kind.
func TestPairLogsEventsWithoutHandler(t *testing.T) {
	p := newPair(t, 1, core.Config{})
	p.Drive()
	if got := p.Events(coretest.Client, core.EventConnected); len(got) != 1 {
		t.Fatalf("client connected events: %d, want 1", len(got))
	}
	if got := p.Events(coretest.Server); len(got) == 0 || got[len(got)-1].Kind != core.EventConnected {
		t.Fatalf("server events %v, want ending with connected", got)
	}
	if p.Conn(coretest.Server) != p.Server || p.Conn(coretest.Client) != p.Client {
		t.Fatal("Conn(side) does not map to the sides")
	}
	if coretest.Client.String() != "client" || coretest.Server.String() != "server" {
		t.Fatal("Side names")
	}
}

// TestPairAdvanceFiresTimers: virtual time drives the keep-alive PING, and
// RunUntil follows the deadlines until the idle timer closes both sides.
func TestPairAdvanceFiresTimers(t *testing.T) {
	var cfg core.Config
	cfg.Timeouts.KeepAlive = 5 * time.Second
	cfg.Timeouts.Idle = 12 * time.Second
	p := newPair(t, 3, cfg)
	p.Drive()
	p.Advance(5 * time.Second)
	if p.Client.QueuedOutput() == 0 {
		t.Fatal("no keep-alive PING queued after 5 s of silence")
	}
	start := p.Now
	closed := p.RunUntil(time.Minute, func() bool {
		return p.Client.Phase() == core.PhaseClosed && p.Server.Phase() == core.PhaseClosed
	})
	if !closed {
		t.Fatalf("not closed: client %v, server %v", p.Client.Phase(), p.Server.Phase())
	}
	if el := p.Now.Sub(start); el < 7*time.Second || el > 12*time.Second {
		t.Fatalf("closed after %v, want at the 12 s idle deadline", el)
	}
	if p.RunUntil(time.Minute, func() bool { return false }) {
		t.Fatal("RunUntil reported success for a false condition")
	}
}

// TestPairDriveBoundedReportsBusy: a bound too small for the exchange fails.
func TestPairDriveBoundedReportsBusy(t *testing.T) {
	p := newPair(t, 1, core.Config{})
	p.MaxChunk = 1
	if err := p.DriveBounded(1); err == nil {
		t.Fatal("one step delivered a whole handshake byte by byte")
	}
	if err := p.DriveBounded(100000); err != nil {
		t.Fatal(err)
	}
}

func TestNewPairRejectsBadConfig(t *testing.T) {
	if _, err := coretest.NewPair(1, core.Config{MaxFrameSize: 10}, core.Config{}); err == nil {
		t.Fatal("client config with MaxFrameSize 10 accepted")
	}
	if _, err := coretest.NewPair(1, core.Config{}, core.Config{MaxFrameSize: 10}); err == nil {
		t.Fatal("server config with MaxFrameSize 10 accepted")
	}
}
