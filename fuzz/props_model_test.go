package fuzz

import (
	"errors"
	"slices"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// The model of the state machine: what each application handed to its
// Conn and what it got back. Every event is checked against it as it is
// polled (onEvent).

// modelFlow is one direction of a stream, indexed by its sender.
type modelFlow struct {
	sent        int64              // content bytes the sender's Conn accepted
	length      int64              // the content-length declared, -1 if none
	ended       bool               // the sender queued the end: END_STREAM or trailers
	trailers    []core.HeaderField // the trailers sent
	hasTrailers bool               // the end is a trailer section
	recv        int64              // content bytes delivered to the receiver
	recvEnd     bool               // the receiver saw the end
	unconsumed  int64              // manual mode: delivered, not yet consumed
}

// modelEnd is one application's view of a stream.
type modelEnd struct {
	known    bool           // opened by it, or announced by EventRequest
	manual   bool           // its receive side uses manual flow control
	terminal core.EventKind // EventStreamClosed or EventStreamReset, once ended
	// resetCode is the code of its own ResetStream, awaiting the terminal
	// local reset.
	resetCode    core.ErrCode
	resetPending bool
	rstCodes     []core.ErrCode // RST_STREAM codes its Conn may have sent for it
	blocked      bool           // SendData returned ErrSendBufferFull; EventWritable is owed
	held         bool           // server: reset, not yet released
	released     bool           // server: released while live; no events follow
}

// modelStream is one stream, from the client's OpenStream on.
type modelStream struct {
	id      uint32
	method  string
	request []core.HeaderField
	flow    [2]modelFlow // by sender
	end     [2]modelEnd  // by side

	infos     []propResponse // informational responses sent, in order
	infosGot  int
	final     int                // final status sent, 0 before
	finalHdrs []core.HeaderField // its regular fields, as the client must get them
	gotFinal  bool
	refused   bool // the client was told GOAWAY did not cover it
	// dropped: the server's Conn reset it while it waited, unannounced
	// (waitingTrailersTooLarge).
	dropped bool
}

// noBody reports whether the response must have no content.
func (s *modelStream) noBody() bool {
	return s.method == "HEAD" || s.final == 204 || s.final == 304
}

// modelConn is what the model knows of one side's connection.
type modelConn struct {
	connected   bool
	closed      bool         // EventClosed seen
	lost        bool         // HandleTransportClosed was called
	goAwaySent  bool         // the application called GoAway
	closeCode   core.ErrCode // the code of the application's Close
	closedByApp bool         // the application called Close
	goAwayRecv  bool
	lastRecv    uint32    // lowest LastStreamID received
	pings       [][8]byte // sent, not yet acknowledged
	updates     int       // UpdateSettings accepted
	acks        int       // EventSettingsAck seen
	want        propSettings
	minList     uint32 // the lowest MAX_HEADER_LIST_SIZE advertised
}

// serverApp reports whether the server application holds s live: it got
// the request, has not seen it end and has not released it.
func (m *propMachine) serverApp(s *modelStream) bool {
	e := &s.end[coretest.Server]
	return e.known && e.terminal == 0 && !e.released
}

// onEvent checks one polled event against the model and plays the
// applications' part. The event's slices are borrowed: what is kept is
// copied.
func (m *propMachine) onEvent(side coretest.Side, e *core.Event) {
	if m.conn[side].closed {
		m.t.Fatalf("%v: %v event after EventClosed", side, e.Kind)
	}
	switch e.Kind {
	case core.EventConnected:
		if m.conn[side].connected {
			m.t.Fatalf("%v: second EventConnected", side)
		}
		m.conn[side].connected = true
	case core.EventSettings:
	case core.EventSettingsAck:
		if m.conn[side].acks++; m.conn[side].acks > 1+m.conn[side].updates {
			m.t.Fatalf("%v: %d SETTINGS ACKs for %d SETTINGS", side, m.conn[side].acks, 1+m.conn[side].updates)
		}
	case core.EventPingAck:
		m.onPingAck(side, e)
	case core.EventGoAway:
		m.onGoAway(side, e)
	case core.EventAbuse:
		m.t.Fatalf("%v: abuse %v between two correct peers", side, e.Abuse)
	case core.EventClosed:
		m.onClosed(side, e)
	default:
		m.onStreamEvent(side, e)
	}
}

// onPingAck checks a PING ACK against the PINGs side sent.
func (m *propMachine) onPingAck(side coretest.Side, e *core.Event) {
	c := &m.conn[side]
	i := slices.Index(c.pings, e.PingData)
	if i < 0 {
		m.t.Fatalf("%v: ACK of PING %x never sent", side, e.PingData)
	}
	c.pings = slices.Delete(c.pings, i, i+1)
}

// onGoAway checks a GOAWAY: the peer's application sent one or closed the
// connection, or the peer is closing on a timer; its code is the one the
// peer's application closed with, or NO_ERROR.
func (m *propMachine) onGoAway(side coretest.Side, e *core.Event) {
	peer := &m.conn[1-side]
	switch c := &m.conn[side]; {
	case !peer.goAwaySent && m.running(1-side):
		m.t.Fatalf("%v: GOAWAY the peer never sent", side)
	case e.Code != frame.ErrCodeNo && !(peer.closedByApp && e.Code == peer.closeCode):
		m.t.Fatalf("%v: GOAWAY %v %q between two correct peers", side, e.Code, e.Data)
	case c.goAwayRecv && e.LastStreamID > c.lastRecv:
		m.t.Fatalf("%v: GOAWAY last stream %d above an earlier %d", side, e.LastStreamID, c.lastRecv)
	}
	m.conn[side].goAwayRecv, m.conn[side].lastRecv = true, e.LastStreamID
}

// onClosed checks EventClosed and its error, then that every stream has
// ended.
func (m *propMachine) onClosed(side coretest.Side, e *core.Event) {
	m.conn[side].closed = true
	if !m.closeErrOK(side, e.Err) {
		m.t.Fatalf("%v: connection closed with %v", side, e.Err)
	}
	m.checkAllEnded(side, "EventClosed")
}

// closeErrOK reports whether a connection may end with err: no error; a
// lost transport; the application's own Close or the peer's; the idle
// timer; or — once the peer is gone — the timers that detect a dead peer.
// With bytes delivered within propMaxLatency, any other error means one
// core broke the protocol.
func (m *propMachine) closeErrOK(side coretest.Side, err error) bool {
	c, peer := &m.conn[side], &m.conn[1-side]
	var ce *core.ConnError
	switch {
	case err == nil:
		return true
	case errors.Is(err, core.ErrConnectionLost):
		return c.lost
	case !errors.As(err, &ce):
		return false
	case ce.Remote:
		return ce.Token == "peer_goaway" && peer.closedByApp && ce.Code == peer.closeCode
	case ce.Token == "local_close":
		return c.closedByApp && ce.Code == c.closeCode
	case ce.Token == "idle_timeout":
		return ce.Code == frame.ErrCodeNo
	}
	deadPeer := !m.running(1 - side)
	return deadPeer && (ce.Token == "keepalive_timeout" || ce.Token == "settings_ack_timeout")
}
