package fuzz

import (
	"testing"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
	"pgregory.net/rapid"
)

// Rapid state-machine properties over a client core and a server core
// joined by coretest.Pair (DESIGN §7). Each check draws two Configs, a
// chunker seed and size, and a script of application actions
// (props_actions_test.go, commands in props_app_test.go); a model
// (props_model_test.go, props_check_test.go) follows every byte and event
// and fails the check on the first disagreement. When the script ends,
// every stream is driven to completion and the connection shut down, so
// that liveness — every stream the applications knew ends with exactly one
// terminal event — is checked too. Core bugs the properties found are
// reduced in props_regress_test.go.
//
// Scale up with -rapid.checks=N (scripts) and -rapid.steps=N (average
// actions per script); a failure prints the shrunk script, one line per
// action.

// TestPropPair runs the state machine with Configs near the defaults: large
// windows, automatic or manual flow control, bodies up to past the send
// buffer.
func TestPropPair(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) { propRun(t, propDefaultProfile(t)) })
}

// TestPropTight runs it with everything small: windows of a few bytes to a
// few KiB, send buffers that fill at once, a server concurrency limit of 1
// to 3 and manual flow control on every stream, so that flow control,
// ErrSendBufferFull and held streams are exercised on most actions.
func TestPropTight(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) { propRun(t, propTightProfile(t)) })
}

// propRun plays one script, then finishes the connection.
func propRun(t *rapid.T, prof propProfile) {
	m := newPropMachine(t, prof)
	t.Repeat(map[string]func(*rapid.T){"": m.Check, "step": m.Step})
	m.finish()
}

// propProfile is what a property fixes for a whole check.
type propProfile struct {
	client, server core.Config
	maxData        int  // largest body chunk an action sends
	allManual      bool // every client stream uses manual flow control
}

// propDefaultProfile draws Configs near the defaults.
func propDefaultProfile(t *rapid.T) propProfile {
	draw := func(side string, manual bool) core.Config {
		return core.Config{
			InitialWindowSize:    rapid.SampledFrom([]uint32{0, 65535, 16384, 1 << 20}).Draw(t, side+" initial window"),
			ConnectionWindowSize: rapid.SampledFrom([]uint32{0, 65535, 4 << 20}).Draw(t, side+" connection window"),
			MaxFrameSize:         rapid.SampledFrom([]uint32{0, 1 << 15, 1 << 20}).Draw(t, side+" max frame size"),
			MaxSendFrameSize:     rapid.SampledFrom([]uint32{0, 1 << 15, 1 << 20}).Draw(t, side+" max send frame size"),
			ManualFlowControl:    manual,
		}
	}
	return propProfile{
		client:  draw("client", false),
		server:  draw("server", rapid.Bool().Draw(t, "server manual flow control")),
		maxData: 70000,
	}
}

// propTightProfile draws Configs that keep every window and buffer small.
func propTightProfile(t *rapid.T) propProfile {
	conc := uint32(rapid.IntRange(1, 3).Draw(t, "server max concurrent streams"))
	draw := func(side string) core.Config {
		var c core.Config
		c.InitialWindowSize = rapid.SampledFrom([]uint32{1000, 1, 100, 4096}).Draw(t, side+" initial window")
		c.ConnectionWindowSize = 65535
		c.HeaderTableSize = rapid.SampledFrom([]uint32{1, 64, 4096}).Draw(t, side+" header table size")
		c.MaxSendFrameSize = 1 << 20
		c.Limits.StreamSendBuffer = rapid.SampledFrom([]int{2000, 1, 100, 8192}).Draw(t, side+" stream send buffer")
		c.Limits.ConnSendBuffer = rapid.SampledFrom([]int{5000, 1, 1000, 16384}).Draw(t, side+" connection send buffer")
		c.PeerMaxConcurrentStreams = conc
		c.MaxConcurrentStreams = conc
		c.ManualFlowControl = true
		return c
	}
	return propProfile{client: draw("client"), server: draw("server"), maxData: 6000, allManual: true}
}

// propConfig returns the Config of one side.
func propConfig(prof propProfile, side coretest.Side) core.Config {
	if side == coretest.Client {
		return prof.client
	}
	return prof.server
}

// propMaxSteps bounds every Drive: two correct cores fall silent long
// before.
const propMaxSteps = 200_000

// propMaxLatency bounds how long bytes may wait undelivered while the clock
// moves. A link that holds bytes for longer is a dead peer to the timers
// (keep-alive, SETTINGS ACK, Timeouts.ResetGrace), and closing on it is
// then correct; with the bound, only the idle timer may close a
// connection, and any other close is a bug.
const propMaxLatency = time.Second

// propMachine is the rapid state machine: the Pair, the applications'
// behaviour and the model of what they sent and received.
type propMachine struct {
	t    *rapid.T
	p    *coretest.Pair
	prof propProfile

	// eager drives traffic to quiescence after every action; otherwise
	// bytes move only with the Deliver action, so frames cross in flight.
	eager bool
	// quietAt is when traffic last came to rest (see propMaxLatency).
	quietAt time.Time
	// finishing is set for the end of a check: the applications then
	// respond, consume and release at once, so that every stream can end.
	finishing bool

	streams map[uint32]*modelStream
	order   []*modelStream // in opening order, for deterministic iteration
	nextID  uint32         // the identifier OpenStream must return next
	conn    [2]modelConn   // indexed by coretest.Side
}

// newPropMachine draws the chunker and the driving mode, then starts the
// machine (propMachineWith).
func newPropMachine(t *rapid.T, prof propProfile) *propMachine {
	seed := rapid.Uint64().Draw(t, "chunker seed")
	chunk := rapid.OneOf(rapid.Just(0), rapid.IntRange(1, 64), rapid.IntRange(64, 20000)).Draw(t, "max chunk")
	eager := rapid.Bool().Draw(t, "drive after every action")
	return propMachineWith(t, prof, seed, chunk, eager)
}

// propMachineWith starts a machine over a Pair whose chunker has seed and
// chunk (coretest.Pair.MaxChunk), its handshake settled; eager drives
// traffic after every action.
func propMachineWith(t *rapid.T, prof propProfile, seed uint64, chunk int, eager bool) *propMachine {
	p, err := coretest.NewPair(seed, prof.client, prof.server)
	if err != nil {
		t.Fatalf("NewPair: %v", err)
	}
	p.MaxChunk = chunk
	m := &propMachine{
		t: t, p: p, prof: prof,
		eager:   eager,
		streams: make(map[uint32]*modelStream),
		nextID:  1,
		quietAt: p.Now,
	}
	for _, side := range propSides() {
		c := &m.conn[side]
		c.want = propInitialSettings(propConfig(prof, side))
		c.minList = c.want.maxList
	}
	p.OnEvent = m.onEvent
	mode := "bytes move on Deliver only"
	if m.eager {
		mode = "traffic driven after every action"
	}
	t.Logf("pair: chunks of up to %d bytes, %s", chunk, mode)
	m.settle()
	return m
}

// Check is run by rapid after every action: core's invariants on both
// sides; the stream counts; when nothing is in flight, the windows and owed
// EventWritables; and once a side is closing, that its streams all ended.
func (m *propMachine) Check(t *rapid.T) {
	if err := m.p.CheckInvariants(); err != nil {
		t.Fatalf("invariants: %v", err)
	}
	m.checkCounts()
	if m.eager && m.running(coretest.Client) && m.running(coretest.Server) {
		m.checkWindows()
		m.checkWritable()
	}
	for _, side := range propSides() {
		if m.p.Conn(side).Phase() >= core.PhaseClosing {
			m.checkAllEnded(side, "the connection is closing")
		}
	}
}

// propSides lists both ends, client first.
func propSides() [2]coretest.Side { return [2]coretest.Side{coretest.Client, coretest.Server} }

// settle polls the events a command or timer left, as the Conn contract
// requires after every input and command, then drives traffic if eager.
func (m *propMachine) settle() {
	m.pollEvents()
	if m.eager {
		m.drive()
	}
}

// pollEvents hands every queued event of both sides to the Pair's OnEvent
// (onEvent), as Step does.
func (m *propMachine) pollEvents() {
	for _, side := range propSides() {
		c := m.p.Conn(side)
		for {
			e, ok := c.PollEvent()
			if !ok {
				break
			}
			m.p.OnEvent(side, &e)
		}
	}
}

// drive moves traffic until both sides fall silent.
func (m *propMachine) drive() {
	if err := m.p.DriveBounded(propMaxSteps); err != nil {
		m.t.Fatalf("drive: %v", err)
	}
	m.quietAt = m.p.Now
}

func (m *propMachine) running(side coretest.Side) bool {
	return m.p.Conn(side).Phase() < core.PhaseClosing
}

// finish ends a check. If both sides still run, every stream is completed:
// windows are reopened, content consumed, held streams released, requests
// answered and every open direction ended; every stream must then have
// ended on both sides. Then the connection is shut down gracefully (or, if
// one side is already gone, its transport closed under the other) and
// both sides must be closed with every stream ended.
func (m *propMachine) finish() {
	m.pollEvents()
	m.drive()
	m.finishing = true
	if m.running(coretest.Client) && m.running(coretest.Server) {
		m.completeStreams()
		m.drive()
		if m.running(coretest.Client) && m.running(coretest.Server) {
			m.checkWindows()
			m.checkQuiet()
		}
		for _, side := range propSides() {
			m.checkAllEnded(side, "every stream was completed")
		}
		m.shutdown()
	}
	for _, side := range propSides() {
		if m.p.Conn(side).Phase() != core.PhaseClosed {
			m.t.Logf("finish: %v loses its transport", side)
			m.loseTransport(side)
		}
	}
	for _, side := range propSides() {
		if !m.conn[side].closed {
			m.t.Fatalf("%v: closed without EventClosed", side)
		}
		m.checkAllEnded(side, "the connection closed")
	}
	m.Check(m.t)
}

// completeStreams makes every stream able to end: see finish.
func (m *propMachine) completeStreams() {
	for _, side := range propSides() {
		m.reopenSettings(side)
	}
	m.drive() // the peers learn the new settings before anything is sent
	// Everything delivered is consumed first, on every stream: content an
	// application holds on a later stream may fill the connection window
	// that an earlier stream needs to finish.
	for _, s := range m.order {
		for _, side := range propSides() {
			if f := &s.flow[1-side]; f.unconsumed > 0 && s.end[side].terminal == 0 {
				m.consume(side, s, int(f.unconsumed))
			}
		}
	}
	for _, s := range m.order {
		if s.end[coretest.Server].held {
			m.release(s)
		}
		if m.serverApp(s) {
			m.finishResponse(s)
		}
		m.finishFlow(coretest.Client, s)
	}
	m.t.Logf("finish: every stream completed by its applications")
	m.pollEvents()
}

// reopenSettings undoes what UpdateSettings may have closed down: a stream
// window under 64 KiB, a lowered concurrency limit or header list size.
func (m *propMachine) reopenSettings(side coretest.Side) {
	want, init := m.conn[side].want, propInitialSettings(propConfig(m.prof, side))
	var changes []frame.Setting
	if want.window < 65535 {
		changes = append(changes, frame.Setting{ID: frame.SettingInitialWindowSize, Val: 65535})
	}
	if want.maxConc < init.maxConc {
		changes = append(changes, frame.Setting{ID: frame.SettingMaxConcurrentStreams, Val: init.maxConc})
	}
	if want.maxList < init.maxList {
		changes = append(changes, frame.Setting{ID: frame.SettingMaxHeaderListSize, Val: init.maxList})
	}
	if len(changes) > 0 {
		m.t.Logf("finish: %v updates settings %v", side, changes)
		m.updateSettings(side, changes)
	}
}

// finishResponse ends the server's side of s: a response if none was
// sent (all an event handler needs: it must not drive traffic), else the
// rest of its content.
func (m *propMachine) finishResponse(s *modelStream) {
	if s.final == 0 {
		r := propResponse{status: 200, respond: true}
		m.t.Logf("finish: server answers stream %d with %v", s.id, r)
		m.respond(s, r)
		return
	}
	m.finishFlow(coretest.Server, s)
}

// finishFlow ends side's direction of s, first sending what its
// content-length still owes, as fast as the send buffers drain.
func (m *propMachine) finishFlow(side coretest.Side, s *modelStream) {
	f := &s.flow[side]
	if f.length > f.sent && m.sending(side, s) {
		m.t.Logf("finish: %v sends the last %d bytes of stream %d", side, f.length-f.sent, s.id)
	}
	stuck := 0 // rounds in a row in which the send buffers did not drain
	for f.length > f.sent && m.sending(side, s) {
		room := m.room(side, s)
		if room > 0 {
			stuck = 0
		} else if stuck++; stuck > 3 {
			m.t.Fatalf("%v: stream %d cannot send its last %d bytes", side, s.id, f.length-f.sent)
		}
		n := min(int(f.length-f.sent), room)
		m.sendData(side, s, n, f.sent+int64(n) == f.length)
		m.drive()
	}
	if m.sending(side, s) {
		m.t.Logf("finish: %v ends stream %d", side, s.id)
		m.sendData(side, s, 0, true)
	}
}

// shutdown closes the connection gracefully from a drawn side: with every
// stream ended, both sides must reach PhaseClosed with no error.
func (m *propMachine) shutdown() {
	side := propSides()[rapid.IntRange(0, 1).Draw(m.t, "side shutting down")]
	m.t.Logf("finish: %v sends GOAWAY", side)
	m.goAway(side)
	m.drive()
	for _, s := range propSides() {
		c := m.p.Conn(s)
		if ph := c.Phase(); ph != core.PhaseClosed || c.Err() != nil {
			m.t.Fatalf("%v after a graceful shutdown with no stream left: phase %v, Err %v", s, ph, c.Err())
		}
	}
}
