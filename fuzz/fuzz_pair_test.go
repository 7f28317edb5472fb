package fuzz

import (
	"bytes"
	"testing"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// Pair script opcodes: the low nibble of an action byte; arguments follow.
const (
	fzOpOpen       = iota // flags: method (2 bits), END_STREAM, manual flow control
	fzOpClientData        // stream, size, end
	fzOpRespond           // stream, flags (end, Respond with a body, 1xx), size
	fzOpServerData        // stream, size, end
	fzOpEnd               // side, stream
	fzOpTrailers          // side, stream
	fzOpReset             // side, stream, code
	fzOpConsume           // side, stream, size
	fzOpSettings          // side, which, value
	fzOpPing              // side
	fzOpGoAway            // side
	fzOpAdvance           // amount (255: to the next deadline)
	fzOpStep              // nothing: only the drive of the high nibble
	fzOpRelease           // stream (server)
	fzOpChunk             // Pair.MaxChunk
	fzOpClose             // side, code
)

const (
	fzPairMaxOps  = 256     // script actions run at most
	fzPairContent = 1 << 18 // content bytes a script may ask for in all
	fzPairDrive   = 100_000 // steps for the Pair to fall quiet
)

// FuzzPair drives a client and a server Conn joined by coretest.Pair with
// a fuzzed script: each byte is an action (its low nibble, see fzOp*)
// followed by its arguments, and its high nibble says how far traffic moves
// afterwards (0-9: DriveBounded until quiet, 10-12: one Step, 13-15: none,
// leaving frames in flight for the next action). After every action both
// Conns pass CheckInvariants and the event contract (fzTracker); content
// arrives intact and in order (fzPattern), and complete when END_STREAM is
// reported; the bytes each side consumes pass the wire checks (fzWire);
// after every full drive, with nothing in flight, each side's
// send window equals the other's receive window, for the connection and
// every stream both sides hold open (RFC 9113 §6.9). At the end the Pair
// must fall quiet within a bounded number of steps.
func FuzzPair(f *testing.F) {
	for i, s := range fzPairScripts() {
		f.Add(s, uint64(i), uint8(i*41))
	}
	f.Fuzz(func(t *testing.T, script []byte, seed uint64, cfgSel uint8) {
		r := newFzPairRun(t, seed, cfgSel, script)
		for i := 0; i < fzPairMaxOps && len(r.script) > 0; i++ {
			b := r.arg()
			r.exec(b & 0x0f)
			r.move(b >> 4)
		}
		r.move(0)
	})
}

// fzKey names a stream at one side.
type fzKey struct {
	side coretest.Side
	id   uint32
}

// fzPairRun is the state of one FuzzPair run.
type fzPairRun struct {
	t      *testing.T
	p      *coretest.Pair
	script []byte
	track  [2]*fzTracker
	wire   [2]*fzWire      // what each side sent, as the other consumed it
	ids    [2][]uint32     // streams each side knows, in order
	manual map[fzKey]bool  // streams in manual flow control
	owed   map[fzKey]int   // delivered, not yet consumed
	sent   map[fzKey]int64 // content bytes accepted by SendData and Respond
	recv   map[fzKey]int64 // content bytes delivered

	serverManual bool // the server's Config.ManualFlowControl
	budget       int  // content bytes left to ask for
}

func newFzPairRun(t *testing.T, seed uint64, cfgSel uint8, script []byte) *fzPairRun {
	// The server takes the selected limits; the client the same bits
	// rotated, so that both sides vary independently.
	p, err := coretest.NewPair(seed, fzConfig(cfgSel<<4|cfgSel>>4), fzConfig(cfgSel))
	if err != nil {
		t.Fatal(err)
	}
	p.MaxChunk = int(seed % 64)
	r := &fzPairRun{t: t, p: p, script: script, manual: map[fzKey]bool{}, owed: map[fzKey]int{},
		sent: map[fzKey]int64{}, recv: map[fzKey]int64{}, serverManual: fzConfig(cfgSel).ManualFlowControl,
		budget: fzPairContent}
	r.track[coretest.Client] = newFzTracker(core.RoleClient)
	r.track[coretest.Server] = newFzTracker(core.RoleServer)
	r.wire[coretest.Client] = newFzWire(frame.MinMaxFrameSize, true)
	r.wire[coretest.Server] = newFzWire(frame.MinMaxFrameSize, false)
	p.OnEvent = r.onEvent
	p.Trace = func(from coretest.Side, b []byte) {
		if err := r.wire[from].write(b); err != nil {
			t.Fatalf("%v sent: %v", from, err)
		}
	}
	return r
}

// arg takes the next script byte, 0 once the script is used up.
func (r *fzPairRun) arg() byte {
	if len(r.script) == 0 {
		return 0
	}
	b := r.script[0]
	r.script = r.script[1:]
	return b
}

func (r *fzPairRun) side() coretest.Side { return coretest.Side(r.arg() & 1) }

// stream picks a stream known at side; one choice in 16 is an unknown ID,
// so that commands on bad streams are exercised too.
func (r *fzPairRun) stream(side coretest.Side) uint32 {
	a := r.arg()
	ids := r.ids[side]
	if len(ids) == 0 || a%16 == 15 {
		return uint32(a)
	}
	return ids[int(a)%len(ids)]
}

// size maps an argument to a content length up to about 64 KiB, within
// what is left of the run's budget: with a 7-byte window every byte can
// take a round trip, so content bounds the steps a drive needs.
func (r *fzPairRun) size() int {
	a := int(r.arg())
	n := min(a*a, r.budget)
	r.budget -= n
	return n
}

func (r *fzPairRun) exec(op byte) {
	s, now := r.p.Server, r.p.Now
	switch op {
	case fzOpOpen:
		r.open(r.arg())
	case fzOpClientData:
		id := r.stream(coretest.Client)
		r.send(coretest.Client, id, r.size(), r.arg()&1 != 0)
	case fzOpRespond:
		id, flags := r.stream(coretest.Server), r.arg()
		r.respond(id, flags, r.size())
	case fzOpServerData:
		id := r.stream(coretest.Server)
		r.send(coretest.Server, id, r.size(), r.arg()&1 != 0)
	case fzOpEnd:
		side := r.side()
		_, _ = r.p.Conn(side).SendData(r.stream(side), nil, true)
	case fzOpTrailers:
		side := r.side()
		_ = r.p.Conn(side).SendTrailers(r.stream(side), fzFields("x-trailer", "fz"))
	case fzOpReset:
		side := r.side()
		_ = r.p.Conn(side).ResetStream(r.stream(side), frame.ErrCode(r.arg()%14))
	case fzOpConsume:
		side := r.side()
		k := fzKey{side, r.stream(side)}
		n := min(r.size(), r.owed[k])
		if r.p.Conn(side).Consume(k.id, n) == nil {
			r.owed[k] -= n
		}
	case fzOpSettings:
		side := r.side()
		ids := [...]frame.SettingID{frame.SettingInitialWindowSize, frame.SettingHeaderTableSize,
			frame.SettingMaxFrameSize, frame.SettingMaxConcurrentStreams, frame.SettingMaxHeaderListSize}
		id, v := ids[int(r.arg())%len(ids)], [...]uint32{0, 7, 100, 16384, 65535, 1 << 20, 1<<31 - 1, 1 << 31}[r.arg()%8]
		_ = r.p.Conn(side).UpdateSettings(now, []frame.Setting{{ID: id, Val: v}})
	case fzOpPing:
		_ = r.p.Conn(r.side()).Ping(now, [8]byte{'p', byte(len(r.script))})
	case fzOpGoAway:
		_ = r.p.Conn(r.side()).GoAway(now)
	case fzOpAdvance:
		r.advance(r.arg())
	case fzOpRelease:
		id := r.stream(coretest.Server)
		if s.ReleaseStream(id) == nil {
			r.track[coretest.Server].released(id)
		}
	case fzOpChunk:
		r.p.MaxChunk = int(r.arg())
	case fzOpClose:
		side := r.side()
		r.p.Conn(side).Close(now, frame.ErrCode(r.arg()%14), "fz")
	}
}

func (r *fzPairRun) open(flags byte) {
	method := [...]string{"GET", "POST", "HEAD", "PUT"}[flags&3]
	opts := core.StreamOptions{EndStream: flags&4 != 0, ManualFlowControl: flags&8 != 0}
	id, err := r.p.Client.OpenStream(fzFields(coretest.Request(method, "/pair")...), opts)
	if err != nil {
		return
	}
	r.ids[coretest.Client] = append(r.ids[coretest.Client], id)
	r.track[coretest.Client].opened(id)
	r.manual[fzKey{coretest.Client, id}] = opts.ManualFlowControl
}

// send queues n content bytes, as much as the buffers take.
func (r *fzPairRun) send(side coretest.Side, id uint32, n int, end bool) {
	k := fzKey{side, id}
	m, _ := r.p.Conn(side).SendData(id, fzPattern(id, r.sent[k], n), end)
	r.sent[k] += int64(m)
}

// respond sends response headers on a server stream: 1xx, headers alone,
// or a whole response with a body.
func (r *fzPairRun) respond(id uint32, flags byte, n int) {
	s := r.p.Server
	switch {
	case flags&4 != 0:
		_ = s.SendHeaders(id, fzFields(":status", "103"), false)
	case flags&2 != 0:
		body := fzPattern(id, 0, n)
		if s.Respond(id, 200, nil, body) == nil {
			r.sent[fzKey{coretest.Server, id}] = int64(len(body))
		}
	default:
		_ = s.SendHeaders(id, fzFields(":status", "200"), flags&1 != 0)
	}
}

// advance moves the virtual clock: a*100 ms, or to the next deadline.
func (r *fzPairRun) advance(a byte) {
	d := time.Duration(a) * 100 * time.Millisecond
	if a == 255 {
		d = time.Hour
		for _, c := range []*core.Conn{r.p.Client, r.p.Server} {
			if t, ok := c.PollTimeout(); ok {
				d = max(min(d, t.Sub(r.p.Now)), 0)
			}
		}
	}
	r.p.Advance(d)
}

// move lets traffic flow as the high nibble of an action says, then checks
// both Conns.
func (r *fzPairRun) move(drive byte) {
	switch {
	case drive < 10:
		if err := r.p.DriveBounded(fzPairDrive); err != nil {
			r.t.Fatal(err)
		}
	case drive < 13:
		r.p.Step()
	}
	if err := r.p.CheckInvariants(); err != nil {
		r.t.Fatal(err)
	}
	if drive < 10 {
		r.checkWindows()
	}
}

// onEvent plays both applications: the server answers some requests at
// once and releases reset streams; content is checked as it arrives.
func (r *fzPairRun) onEvent(side coretest.Side, e *core.Event) {
	c := r.p.Conn(side)
	if err := r.track[side].check(c, e); err != nil {
		r.t.Fatalf("%v: %v", side, err)
	}
	k := fzKey{side, e.StreamID}
	switch e.Kind {
	case core.EventRequest:
		r.ids[side] = append(r.ids[side], e.StreamID)
		r.manual[k] = r.serverManual
		if e.StreamID%3 == 1 {
			n := min(int(e.StreamID*53)%3000, r.budget)
			r.budget -= n
			r.respond(e.StreamID, 2, n)
		}
	case core.EventData:
		r.data(k, e.Data)
	case core.EventStreamReset:
		if side == coretest.Server {
			_ = c.ReleaseStream(e.StreamID)
		}
	}
	if (e.Kind == core.EventData || e.Kind == core.EventTrailers) && e.EndStream {
		if peer := (fzKey{1 - side, e.StreamID}); r.recv[k] != r.sent[peer] {
			r.t.Fatalf("%v stream %d ended after %d content bytes, %d were sent", side, e.StreamID, r.recv[k], r.sent[peer])
		}
	}
}

// data checks delivered content against the pattern it was sent with, and
// consumes it on manual streams (every other stream only when the script
// says).
func (r *fzPairRun) data(k fzKey, p []byte) {
	if want := fzPattern(k.id, r.recv[k], len(p)); !bytes.Equal(p, want) {
		r.t.Fatalf("%v stream %d: content at offset %d corrupted", k.side, k.id, r.recv[k])
	}
	r.recv[k] += int64(len(p))
	if !r.manual[k] {
		return
	}
	if k.id%4 == 1 {
		_ = r.p.Conn(k.side).Consume(k.id, len(p))
		return
	}
	r.owed[k] += len(p)
}

// checkWindows compares each side's send windows with the other's receive
// windows; it runs only when nothing is in flight.
func (r *fzPairRun) checkWindows() {
	c, s := r.p.Client, r.p.Server
	if !fzUp(c) || !fzUp(s) {
		return
	}
	if c.SendWindow(0) != s.RecvWindow(0) || s.SendWindow(0) != c.RecvWindow(0) {
		r.t.Fatalf("connection windows: client send %d / server recv %d, server send %d / client recv %d",
			c.SendWindow(0), s.RecvWindow(0), s.SendWindow(0), c.RecvWindow(0))
	}
	for _, id := range r.ids[coretest.Client] {
		if !fzOpen(c.StreamState(id)) || !fzOpen(s.StreamState(id)) {
			continue
		}
		if c.SendWindow(id) != s.RecvWindow(id) || s.SendWindow(id) != c.RecvWindow(id) {
			r.t.Fatalf("stream %d windows: client send %d / server recv %d, server send %d / client recv %d",
				id, c.SendWindow(id), s.RecvWindow(id), s.SendWindow(id), c.RecvWindow(id))
		}
	}
}

// fzUp reports whether a Conn is connected and not closing.
func fzUp(c *core.Conn) bool {
	ph := c.Phase()
	return ph >= core.PhaseConnected && ph < core.PhaseClosing
}

func fzOpen(st core.StreamState) bool {
	return st == core.StateOpen || st == core.StateHalfClosedLocal || st == core.StateHalfClosedRemote
}

// fzPairScripts are hand-written scripts: exchanges with bodies, trailers
// and 1xx, resets, flow-control stalls and settings changes, pings,
// graceful and abrupt shutdowns, timers.
func fzPairScripts() [][]byte {
	return [][]byte{
		{fzOpOpen, 4},
		{fzOpOpen, 1, fzOpClientData, 0, 40, 0, fzOpClientData, 0, 200, 1, fzOpRespond, 0, 2, 30},
		{fzOpOpen, 3, fzOpClientData, 0, 255, 0, fzOpTrailers, 0, 0, fzOpRespond, 0, 4, 0, fzOpRespond, 0, 0, 0,
			fzOpServerData, 0, 100, 0, fzOpTrailers, 1, 0},
		{fzOpOpen, 8, fzOpOpen, 9, 0xd0 | fzOpClientData, 1, 250, 0, 0xd0 | fzOpReset, 0, 1, 8, fzOpReset, 1, 0, 7},
		{fzOpSettings, 1, 0, 0, fzOpOpen, 1, fzOpClientData, 0, 100, 1, fzOpSettings, 1, 0, 4, fzOpConsume, 1, 0, 200},
		{fzOpOpen, 12, fzOpRespond, 0, 0, 0, fzOpServerData, 0, 255, 0, fzOpServerData, 0, 255, 0, fzOpConsume, 0, 0, 255,
			fzOpServerData, 0, 255, 1},
		{fzOpOpen, 0, fzOpPing, 0, fzOpPing, 1, fzOpGoAway, 1, fzOpAdvance, 255, fzOpRespond, 0, 1, 0, fzOpAdvance, 255},
		{fzOpOpen, 1, fzOpOpen, 1, fzOpGoAway, 0, fzOpRelease, 0, fzOpClose, 1, 1},
		{fzOpChunk, 1, fzOpOpen, 5, fzOpSettings, 0, 1, 0, fzOpOpen, 2, fzOpAdvance, 255, fzOpAdvance, 255, fzOpAdvance, 255},
		{fzOpOpen, 1, 0xa0 | fzOpClientData, 0, 100, 0, 0xb0 | fzOpStep, 0xc0 | fzOpEnd, 0, 0, fzOpRespond, 0, 3, 9},
	}
}
