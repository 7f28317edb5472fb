package fuzz

import (
	"strconv"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"pgregory.net/rapid"
)

// Checks of the model against the Conns' getters, run between actions and
// at the end of a check.

// checkAllEnded requires every stream side's application knows to have
// had its terminal event (a server stream released while live is excused:
// its application gave up its events).
func (m *propMachine) checkAllEnded(side coretest.Side, why string) {
	for _, s := range m.order {
		if e := &s.end[side]; e.known && e.terminal == 0 && !e.released {
			m.t.Fatalf("%v: stream %d has no terminal event, yet %s", side, s.id, why)
		}
	}
}

// checkCounts compares the streams the client has open and the server
// application holds with the model's.
func (m *propMachine) checkCounts() {
	held := 0
	for _, s := range m.order {
		if e := &s.end[coretest.Server]; e.held || m.serverApp(s) {
			held++
		}
	}
	if !m.running(coretest.Server) {
		held = 0 // the core ends every hold when the connection ends
	}
	if local, _ := m.p.Client.ActiveStreams(); local != m.activeClient() {
		m.t.Fatalf("client: %d streams active, the application has %d without a terminal event", local, m.activeClient())
	}
	if got, _ := m.p.Server.HeldStreams(); got != held {
		m.t.Fatalf("server: %d streams held, the application holds %d", got, held)
	}
}

// checkQuiet checks a connection with nothing in flight: every PING and
// SETTINGS acknowledged, and both sides agreeing on the settings each
// advertised last.
func (m *propMachine) checkQuiet() {
	for _, side := range propSides() {
		c := &m.conn[side]
		switch {
		case len(c.pings) > 0:
			m.t.Fatalf("%v: %d PINGs never acknowledged", side, len(c.pings))
		case c.acks != 1+c.updates:
			m.t.Fatalf("%v: %d SETTINGS ACKs for %d SETTINGS", side, c.acks, 1+c.updates)
		}
		local := propSettingsOf(m.p.Conn(side).LocalSettings())
		seen := propSettingsOf(m.p.Conn(1 - side).PeerSettings())
		if local != c.want || seen != c.want {
			m.t.Fatalf("%v: advertised %+v; acknowledged %+v, peer applies %+v", side, c.want, local, seen)
		}
	}
}

// checkWindows checks the flow-control windows when nothing is in flight:
// what a sender may still send, on the connection and on every stream both
// sides track, is what its receiver allows; and a receiver has returned
// every byte its application consumed (or, in automatic mode, got), but
// for credit below the WINDOW_UPDATE batching threshold (a quarter of the
// window).
func (m *propMachine) checkWindows() {
	for _, side := range propSides() {
		snd, rcv := m.p.Conn(1-side), m.p.Conn(side)
		if a, b := snd.SendWindow(0), rcv.RecvWindow(0); a != b {
			m.t.Fatalf("%v may send %d bytes on the connection, %v allows %d", 1-side, a, side, b)
		}
		m.checkConnCredit(side)
		target := int64(rcv.LocalSettings().InitialWindowSize)
		for _, s := range m.order {
			st := rcv.StreamState(s.id)
			if !propTracked(st) || !propTracked(snd.StreamState(s.id)) {
				continue
			}
			if a, b := snd.SendWindow(s.id), rcv.RecvWindow(s.id); a != b {
				m.t.Fatalf("%v may send %d bytes on stream %d, %v allows %d", 1-side, a, s.id, side, b)
			}
			e := &s.end[side]
			if !e.known || e.released || (st != core.StateOpen && st != core.StateHalfClosedLocal) {
				continue
			}
			propCheckCredit(m.t, side, s.id, rcv.RecvWindow(s.id), target, s.flow[1-side].unconsumed)
		}
	}
}

// checkConnCredit checks side's connection receive window against the
// content its application has not consumed. Content waiting for a held
// stream to be released is unknown to the model: then it checks nothing.
func (m *propMachine) checkConnCredit(side coretest.Side) {
	c := m.p.Conn(side)
	if _, pending := c.HeldStreams(); pending > 0 {
		return
	}
	var owed int64
	for _, s := range m.order {
		e := &s.end[side]
		if e.known && e.terminal == 0 && !e.released {
			owed += s.flow[1-side].unconsumed
		}
	}
	target := int64(propConfig(m.prof, side).ConnectionWindowSize)
	if target == 0 {
		target = int64(core.DefaultConfig().ConnectionWindowSize)
	}
	propCheckCredit(m.t, side, 0, c.RecvWindow(0), target, owed)
}

// propCheckCredit checks a receive window w of size target (stream id, 0:
// the connection) with owed bytes delivered and not consumed: all the rest
// has been returned, but for less than the batching threshold.
func propCheckCredit(t *rapid.T, side coretest.Side, id uint32, w, target, owed int64) {
	open := target - owed
	if w > open || w <= open-max(1, target/4) {
		what := "stream " + strconv.Itoa(int(id))
		if id == 0 {
			what = "connection"
		}
		t.Fatalf("%v: %s receive window %d, of %d with %d bytes unconsumed", side, what, w, target, owed)
	}
}

// checkWritable checks, when nothing is in flight, that every stream
// SendData refused is told once its buffer and the connection's have
// drained to half their caps (unless its application has since ended it).
func (m *propMachine) checkWritable() {
	for _, side := range propSides() {
		c := m.p.Conn(side)
		perStream, perConn := m.sendBuffers(side)
		for _, s := range m.order {
			e := &s.end[side]
			if e.blocked && e.terminal == 0 && !e.released && !s.flow[side].ended &&
				c.Buffered(s.id) <= perStream/2 && c.Buffered(0) <= perConn/2 {
				m.t.Fatalf("%v: stream %d is owed EventWritable: %d bytes buffered, %d on the connection",
					side, s.id, c.Buffered(s.id), c.Buffered(0))
			}
		}
	}
}

// propTracked reports whether a stream in state st has flow-control windows.
func propTracked(st core.StreamState) bool {
	return st == core.StateOpen || st == core.StateHalfClosedLocal || st == core.StateHalfClosedRemote
}

// propSameFields requires two field lists to hold the same names and
// values in the same order.
func propSameFields(t *rapid.T, what string, id uint32, got, want []core.HeaderField) {
	same := len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		same = got[i].Name == want[i].Name && got[i].Value == want[i].Value
	}
	if !same {
		t.Fatalf("%s on stream %d: got fields %v, sent %v", what, id, got, want)
	}
}
