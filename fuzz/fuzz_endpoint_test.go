package fuzz

import (
	"testing"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
)

// Bounds of the endpoint harness.
const (
	fzOutSlack    = 8 << 10 // queued output allowed beyond 4× the input consumed
	fzSettleLimit = 1000    // event/output rounds after one input
	fzTimerLimit  = 100     // timer firings allowed before a silent peer is dropped
)

// fzEndpoint is one Conn opposite a fuzzed peer, with the application
// played by fzApp and every output checked.
type fzEndpoint struct {
	t       *testing.T
	c       *core.Conn
	cfg     core.Config // as filled by the Conn
	now     time.Time
	out     []byte
	wire    *fzWire
	in      *fzInput
	track   *fzTracker
	app     *fzApp
	maxInit int64 // the largest stream receive window we advertised
}

func newFzEndpoint(t *testing.T, role core.Role, cfgSel, appSel uint8) *fzEndpoint {
	cfg := fzConfig(cfgSel)
	newConn := core.NewClient
	if role == core.RoleServer {
		newConn = core.NewServer
	}
	c, err := newConn(coretest.Epoch, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg = fzFilled(cfg)
	ep := &fzEndpoint{
		t: t, c: c, cfg: cfg, now: coretest.Epoch,
		wire:    newFzWire(cfg.MaxSendFrameSize, role == core.RoleClient),
		in:      newFzInput(role == core.RoleServer),
		track:   newFzTracker(role),
		maxInit: max(65535, int64(cfg.InitialWindowSize)),
	}
	ep.app = newFzApp(ep, appSel)
	return ep
}

// run feeds data as plan says, then lets the timers run out.
func (ep *fzEndpoint) run(data []byte, plan fzPlan) {
	ep.settle()
	for len(data) > 0 {
		st := plan.next()
		ep.tick(st.clock)
		if st.action >= 0 {
			ep.app.act(st.action)
			ep.settle()
			continue
		}
		m := ep.feed(data, st.chunk)
		if m < 0 {
			break
		}
		data = data[m:]
	}
	ep.finish()
}

// feed offers the next chunk to Receive. It returns how much was consumed,
// or -1 once the Conn is closing.
func (ep *fzEndpoint) feed(data []byte, chunk int) int {
	n := len(data)
	if chunk > 0 {
		n = min(n, chunk)
	}
	wants := ep.c.WantsInput()
	m, err := ep.c.Receive(ep.now, data[:n])
	ep.in.consumed(data[:m])
	if q := ep.c.QueuedOutput(); q > 4*m+fzOutSlack {
		ep.t.Fatalf("%d bytes of output queued after consuming %d", q, m)
	}
	ep.settle() // before data[:m] goes: events may borrow it
	switch {
	case err != nil && err != ep.c.Err() && err != core.ErrClosed:
		ep.t.Fatalf("Receive error %v, Conn.Err %v", err, ep.c.Err())
	case ep.c.Phase() >= core.PhaseClosing:
		return -1
	case wants && m == 0:
		ep.t.Fatalf("WantsInput, yet Receive consumed none of %d bytes (err %v)", n, err)
	}
	return m
}

// tick moves the clock as a plan step says and fires due timers.
func (ep *fzEndpoint) tick(clock uint8) {
	d, ok := ep.c.PollTimeout()
	now := fzClock(ep.now, clock, d, ok)
	if now.Equal(ep.now) {
		return
	}
	ep.now = now
	ep.c.HandleTimeout(now)
	ep.settle()
}

// settle polls events (the application reacting to each) and output until
// neither has anything, then checks the Conn's state.
func (ep *fzEndpoint) settle() {
	for i := 0; ; i++ {
		if i == fzSettleLimit {
			ep.t.Fatalf("events and output still flowing after %d rounds", i)
		}
		moved := false
		for {
			e, ok := ep.c.PollEvent()
			if !ok {
				break
			}
			moved = true
			if err := ep.track.check(ep.c, &e); err != nil {
				ep.t.Fatal(err)
			}
			if int64(len(e.Data)) > ep.maxInit && e.Kind == core.EventData {
				// A stream's buffered data (a pending request's replay) is
				// bounded by the window we advertised.
				ep.t.Fatalf("stream %d: %d bytes delivered at once, above its window", e.StreamID, len(e.Data))
			}
			ep.app.on(&e)
		}
		wants := ep.c.WantsOutput()
		ep.out = ep.c.PollTransmit(ep.out[:0])
		if len(ep.out) > 0 && !wants {
			ep.t.Fatalf("WantsOutput was false, then PollTransmit gave %d bytes", len(ep.out))
		}
		if len(ep.out) > 0 {
			moved = true
			if err := ep.wire.write(ep.out); err != nil {
				ep.t.Fatalf("output: %v", err)
			}
			if ep.wire.pending() != 0 {
				ep.t.Fatalf("PollTransmit returned part of a frame")
			}
		}
		if !moved {
			break
		}
	}
	ep.checkState()
}

// checkState checks the invariants and the memory bounds the exported
// getters expose.
func (ep *fzEndpoint) checkState() {
	c, cfg := ep.c, &ep.cfg
	if err := c.CheckInvariants(); err != nil {
		ep.t.Fatal(err)
	}
	if err := ep.in.checkSent(ep.wire); err != nil {
		ep.t.Fatal(err)
	}
	held, pending := c.HeldStreams()
	local, peer := c.ActiveStreams()
	if c.Role() == core.RoleClient {
		local, peer = peer, local
	}
	switch {
	case c.Phase() < core.PhaseClosing && !c.WantsInput():
		ep.t.Fatalf("refuses input with nothing left to drain")
	case c.RecvWindow(0) > int64(cfg.ConnectionWindowSize):
		ep.t.Fatalf("connection receive window %d above %d", c.RecvWindow(0), cfg.ConnectionWindowSize)
	case held > int(cfg.MaxConcurrentStreams) || pending > cfg.Limits.MaxPendingStreams:
		ep.t.Fatalf("%d streams held, %d pending", held, pending)
	case local != 0 || (c.Role() == core.RoleServer && peer > int(cfg.MaxConcurrentStreams)):
		ep.t.Fatalf("active streams %d of ours, %d of the peer's", local, peer)
	case ep.app.owedTotal > int64(cfg.ConnectionWindowSize):
		ep.t.Fatalf("application holds %d unconsumed bytes, above the connection window", ep.app.owedTotal)
	}
	for _, id := range ep.track.live() {
		switch {
		case c.Buffered(id) > cfg.Limits.StreamSendBuffer:
			ep.t.Fatalf("stream %d buffers %d bytes", id, c.Buffered(id))
		case c.RecvWindow(id) > ep.maxInit:
			ep.t.Fatalf("stream %d receive window %d above %d", id, c.RecvWindow(id), ep.maxInit)
		case ep.app.owed[id] > ep.maxInit:
			ep.t.Fatalf("stream %d: %d unconsumed bytes above its window", id, ep.app.owed[id])
		}
	}
}

// finish plays a silent peer: timers alone must close the Conn.
func (ep *fzEndpoint) finish() {
	for i := 0; ep.c.Phase() != core.PhaseClosed; i++ {
		d, ok := ep.c.PollTimeout()
		if !ok || i == fzTimerLimit {
			ep.t.Fatalf("a silent peer is never dropped: phase %v, timer armed %v", ep.c.Phase(), ok)
		}
		if d.After(ep.now) {
			ep.now = d
		}
		ep.c.HandleTimeout(ep.now)
		ep.settle()
	}
	if !ep.track.closed {
		ep.t.Fatal("closed without EventClosed")
	}
	if err := fzCheckClosedWire(ep.c, ep.wire); err != nil {
		ep.t.Fatal(err)
	}
	if _, ok := ep.c.PollTimeout(); ok {
		ep.t.Fatal("a timer is armed after close")
	}
	if out := ep.c.PollTransmit(nil); len(out) > 0 {
		ep.t.Fatalf("%d bytes to send after close", len(out))
	}
	if n, err := ep.c.Receive(ep.now, []byte{0}); n != 0 || err == nil {
		ep.t.Fatalf("Receive after close: %d, %v", n, err)
	}
}
