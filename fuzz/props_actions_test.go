package fuzz

import (
	"encoding/binary"
	"math/bits"
	"strconv"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
	"pgregory.net/rapid"
)

// The actions of the state machine. Each logs one line describing what the
// applications do, so that a shrunk failure reads as a script. Rapid's
// Repeat would pick among them uniformly, whether they apply or not; Step
// draws among those that apply now, by weight, so that streams are opened
// and fed often and the connection is ended rarely.

// propAction is one kind of action.
type propAction struct {
	name   string
	weight int
	ready  func() bool // whether it applies now; nil: always
	run    func(t *rapid.T)
}

// propActions is the action table: an action that is ready is drawn in
// proportion to its weight.
func (m *propMachine) propActions() []propAction {
	has := func(ok func(coretest.Side, *modelStream) bool) func() bool {
		return func() bool { return len(m.targets(ok)) > 0 }
	}
	open := 32
	if m.openErr() != nil {
		open = 1 // only to see the error
	}
	return []propAction{
		{"Deliver", 48, func() bool { return !m.eager }, m.Deliver},
		{"Open", open, nil, m.Open},
		{"Respond", 32, has(m.responding), m.Respond},
		{"SendData", 48, has(m.sending), m.SendData},
		{"SendTrailers", 8, has(m.sending), m.SendTrailers},
		{"Reset", 12, has(m.resettable), m.Reset},
		{"Consume", 24, has(m.consumable), m.Consume},
		{"Release", 8, has(m.releasable), m.Release},
		{"Settings", 12, nil, m.Settings},
		{"Ping", 8, nil, m.Ping},
		{"Advance", 16, nil, m.Advance},
		{"GoAway", 2, nil, m.GoAway},
		{"Close", 1, nil, m.Close},
	}
}

// Step draws an applicable action, by weight, and runs it.
func (m *propMachine) Step(t *rapid.T) {
	var names []string
	run := make(map[string]func(*rapid.T))
	for _, a := range m.propActions() {
		if a.ready != nil && !a.ready() {
			continue
		}
		run[a.name] = a.run
		for range a.weight {
			names = append(names, a.name)
		}
	}
	run[propWeighted(names).Draw(t, "step")](t)
}

// propWeighted draws one of names all but uniformly (a power of two above
// len(names) wraps around), so that a name listed k times is k times as
// likely. Rapid's integer generators favour small values and the maximum,
// which would skew the weights; raw bits (Bool) do not. It shrinks towards
// the first name.
func propWeighted(names []string) *rapid.Generator[string] {
	return rapid.Custom(func(t *rapid.T) string {
		u := 0
		for range bits.Len(uint(len(names) - 1)) {
			u <<= 1
			if rapid.Bool().Draw(t, "bit") {
				u |= 1
			}
		}
		return names[u%len(names)]
	})
}

// propTarget is a stream as one side's application sees it.
type propTarget struct {
	side coretest.Side
	s    *modelStream
}

// targets lists the (side, stream) pairs ok accepts.
func (m *propMachine) targets(ok func(side coretest.Side, s *modelStream) bool) []propTarget {
	var targets []propTarget
	for _, s := range m.order {
		for _, side := range propSides() {
			if ok(side, s) {
				targets = append(targets, propTarget{side, s})
			}
		}
	}
	return targets
}

// pick draws one of the targets ok accepts; Step ran the action only if
// there is one.
func (m *propMachine) pick(t *rapid.T, ok func(side coretest.Side, s *modelStream) bool) propTarget {
	targets := m.targets(ok)
	return targets[rapid.IntRange(0, len(targets)-1).Draw(t, "target")]
}

// responding accepts a request the server application must still answer.
func (m *propMachine) responding(side coretest.Side, s *modelStream) bool {
	return side == coretest.Server && m.serverApp(s) && s.final == 0
}

// resettable accepts a stream side's application knows, even one ended
// (a no-op, or a release for a server stream it holds).
func (m *propMachine) resettable(side coretest.Side, s *modelStream) bool {
	return s.end[side].known && !s.end[side].released
}

// consumable accepts a stream with content delivered and not consumed.
func (m *propMachine) consumable(side coretest.Side, s *modelStream) bool {
	e := &s.end[side]
	return e.known && !e.released && e.terminal == 0 && s.flow[1-side].unconsumed > 0
}

// releasable accepts a server stream reset under its application, or
// still live.
func (m *propMachine) releasable(side coretest.Side, s *modelStream) bool {
	return side == coretest.Server && (s.end[side].held || m.serverApp(s))
}

// sending accepts a stream side's application may still send content on:
// the server's once it responded.
func (m *propMachine) sending(side coretest.Side, s *modelStream) bool {
	e := &s.end[side]
	return e.known && !e.released && e.terminal == 0 && !s.flow[side].ended &&
		(side == coretest.Client || s.final != 0)
}

// Open: the client opens a stream with a drawn request.
func (m *propMachine) Open(t *rapid.T) {
	method, fields := propDrawRequest(t)
	opts := core.StreamOptions{
		EndStream:         rapid.Bool().Draw(t, "no body"),
		ManualFlowControl: m.prof.allManual || rapid.Bool().Draw(t, "manual flow control"),
	}
	length := propDrawLength(t, m.prof.maxData, opts.EndStream)
	extra := len(fields) - 4
	body, flow := "body follows", "automatic"
	switch {
	case opts.EndStream:
		body = "no body"
	case length >= 0:
		body = "body of " + strconv.Itoa(length) + " bytes follows"
	}
	if length >= 0 {
		fields = append(fields, propLengthField(length))
	}
	if opts.ManualFlowControl {
		flow = "manual"
	}
	t.Logf("client opens stream %d: %s %s, %d extra fields, %s, %s flow control",
		m.nextID, method, fields[3].Value, extra, body, flow)
	m.openStream(method, fields, opts, length)
	m.settle()
}

// Respond: the server answers a request it holds with an informational
// response, final headers, or a whole response.
func (m *propMachine) Respond(t *rapid.T) {
	tg := m.pick(t, m.responding)
	r := propDrawResponse(t, m.prof.maxData)
	t.Logf("server answers stream %d with %v", tg.s.id, r)
	m.respond(tg.s, r)
	m.settle()
}

// SendData: either application sends content, perhaps ending its side.
func (m *propMachine) SendData(t *rapid.T) {
	tg := m.pick(t, m.sending)
	n := propDrawSize(t, m.prof.maxData, "size")
	end := rapid.Bool().Draw(t, "end stream")
	suffix := ""
	if end {
		suffix = " and ends its side"
	}
	t.Logf("%v sends %d bytes on stream %d%s", tg.side, n, tg.s.id, suffix)
	m.sendData(tg.side, tg.s, n, end)
	m.settle()
}

// SendTrailers: either application ends its side with trailers.
func (m *propMachine) SendTrailers(t *rapid.T) {
	tg := m.pick(t, m.sending)
	fields := propDrawFields(t, "trailer")
	t.Logf("%v sends %d trailer fields on stream %d", tg.side, len(fields), tg.s.id)
	m.sendTrailers(tg.side, tg.s, fields)
	m.settle()
}

// Reset: either application resets a stream it knows.
func (m *propMachine) Reset(t *rapid.T) {
	tg := m.pick(t, m.resettable)
	code := propDrawCode(t)
	t.Logf("%v resets stream %d with %v", tg.side, tg.s.id, code)
	m.reset(tg.side, tg.s, code)
	m.settle()
}

// Consume: an application in manual flow control returns some of the
// content it got.
func (m *propMachine) Consume(t *rapid.T) {
	tg := m.pick(t, m.consumable)
	left := tg.s.flow[1-tg.side].unconsumed
	n := rapid.IntRange(1, int(left)).Draw(t, "bytes")
	t.Logf("%v consumes %d of %d bytes on stream %d", tg.side, n, left, tg.s.id)
	m.consume(tg.side, tg.s, n)
	m.settle()
}

// Release: the server application lets go of a stream that was reset
// under it, or of one still live.
func (m *propMachine) Release(t *rapid.T) {
	tg := m.pick(t, m.releasable)
	what := "live"
	if tg.s.end[coretest.Server].held {
		what = "reset, held"
	}
	t.Logf("server releases stream %d (%s)", tg.s.id, what)
	m.release(tg.s)
	m.settle()
}

// Settings: either side advertises new settings.
func (m *propMachine) Settings(t *rapid.T) {
	side := m.drawSide(t)
	changes := propDrawSettings(t)
	t.Logf("%v updates settings %v", side, changes)
	m.updateSettings(side, changes)
	m.settle()
}

// Ping: either side sends a PING.
func (m *propMachine) Ping(t *rapid.T) {
	side := m.drawSide(t)
	var data [8]byte
	binary.BigEndian.PutUint64(data[:], rapid.Uint64().Draw(t, "ping data"))
	t.Logf("%v pings %x", side, data)
	m.ping(side, data)
	m.settle()
}

// GoAway: either side starts a graceful shutdown.
func (m *propMachine) GoAway(t *rapid.T) {
	side := m.drawSide(t)
	t.Logf("%v sends GOAWAY", side)
	m.goAway(side)
	m.settle()
}

// Close: the connection ends abruptly: one side closes it with a code, or
// the transport breaks under both. (A side whose peer closed loses its
// transport when the check finishes.)
func (m *propMachine) Close(t *rapid.T) {
	if rapid.Bool().Draw(t, "transport breaks") {
		t.Logf("the transport breaks")
		m.loseTransport(coretest.Client)
		m.loseTransport(coretest.Server)
		return
	}
	side := m.drawSide(t)
	code := rapid.SampledFrom([]core.ErrCode{frame.ErrCodeNo, frame.ErrCodeInternal, frame.ErrCodeEnhanceYourCalm, 0x1234}).Draw(t, "code")
	t.Logf("%v closes the connection with %v", side, code)
	m.closeConn(side, code)
	m.settle()
}

// Advance: the virtual clock jumps; timers fire. Bytes that would wait
// longer than propMaxLatency are delivered first.
func (m *propMachine) Advance(t *rapid.T) {
	d := propDrawAdvance(t)
	t.Logf("clock advances by %v", d)
	if m.p.Now.Add(d).Sub(m.quietAt) > propMaxLatency {
		m.drive()
	}
	m.p.Advance(d)
	m.settle()
}

// Deliver: one round of traffic, when bytes do not move after every
// action.
func (m *propMachine) Deliver(t *rapid.T) {
	t.Logf("bytes move one round")
	m.p.Step()
	m.pollEvents()
}

func (m *propMachine) drawSide(t *rapid.T) coretest.Side {
	return propSides()[rapid.IntRange(0, 1).Draw(t, "side")]
}
