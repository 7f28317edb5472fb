package core_test

// Stream states of RFC 9113 §5.1, tested against a table written by hand from
// the RFC's prose and Figure 2 (not from core/state.go): one test per row of
// the table, one subtest per (state, input) pair, each run for both roles.
// The core's own table is unexported; it is compared through behaviour, with
// Conn.StreamState after every transition.

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// stateInputs are the inputs of the RFC 9113 §5.1 state machine: a frame
// sent or received, or the END_STREAM flag it carried (applied after the
// frame itself, as Figure 2 draws it).
var stateInputs = []string{
	"send_HEADERS", "send_DATA", "send_END_STREAM", "send_RST_STREAM", "send_PUSH_PROMISE",
	"recv_HEADERS", "recv_DATA", "recv_END_STREAM", "recv_RST_STREAM", "recv_PUSH_PROMISE",
	"recv_PRIORITY", "recv_WINDOW_UPDATE",
}

// stateKind is the kind of outcome of one input in one state.
type stateKind uint8

const (
	stateTo        stateKind = iota + 1 // the stream moves to next (maybe the same state)
	stateConnErr                        // connection error (RFC 9113 §5.4.1): GOAWAY(code)
	stateStreamErr                      // stream error (RFC 9113 §5.4.2): RST_STREAM(code)
	stateIgnored                        // the frame is discarded; nothing changes
	stateRefused                        // a send the state forbids: the command fails, nothing is sent
	stateNoAPI                          // sending PUSH_PROMISE: push is never generated, no command exists
	stateCarried                        // END_STREAM on a stream not yet open is carried by the opening HEADERS
)

var stateKindNames = [...]string{"", "transition", "connection error", "stream error", "ignored", "refused", "no API", "carried"}

type stateOutcome struct {
	kind stateKind
	next core.StreamState // stateTo
	code frame.ErrCode    // stateConnErr, stateStreamErr
	noop bool             // stateRefused: the command is a documented no-op (returns nil, sends nothing)
	why  string           // the RFC text the expectation comes from
}

func (o stateOutcome) String() string {
	switch o.kind {
	case stateTo:
		return "→ " + o.next.String()
	case stateConnErr, stateStreamErr:
		return stateKindNames[o.kind] + " " + o.code.String()
	}
	return stateKindNames[o.kind]
}

func stateGo(s core.StreamState, why string) stateOutcome {
	return stateOutcome{kind: stateTo, next: s, why: why}
}

func stateConn(code frame.ErrCode, why string) stateOutcome {
	return stateOutcome{kind: stateConnErr, code: code, why: why}
}

func stateStream(code frame.ErrCode, why string) stateOutcome {
	return stateOutcome{kind: stateStreamErr, code: code, why: why}
}

func stateIgnore(why string) stateOutcome { return stateOutcome{kind: stateIgnored, why: why} }
func stateRefuse(why string) stateOutcome { return stateOutcome{kind: stateRefused, why: why} }
func stateNoop(why string) stateOutcome {
	return stateOutcome{kind: stateRefused, noop: true, why: why}
}
func stateNoPush(why string) stateOutcome  { return stateOutcome{kind: stateNoAPI, why: why} }
func stateCarry(why string) stateOutcome   { return stateOutcome{kind: stateCarried, why: why} }
func stateNotPush(why string) stateOutcome { return stateConn(frame.ErrCodeProtocol, why) }

// RFC text shared by several cells.
const (
	stateWhyPushOff = "RFC 9113 §6.5.2: an endpoint that set SETTINGS_ENABLE_PUSH=0 and had it acknowledged MUST treat PUSH_PROMISE as a connection error PROTOCOL_ERROR; §8.4: a server MUST treat PUSH_PROMISE from a client as PROTOCOL_ERROR"
	stateWhyNoPush  = "RFC 9113 §8.4: push is optional; h2proto never generates PUSH_PROMISE (DESIGN §4), so no command exists"
	stateWhyIdle    = "RFC 9113 §5.1 idle: receiving any frame other than HEADERS or PRIORITY on a stream in this state MUST be treated as a connection error of type PROTOCOL_ERROR"
	stateWhyHCR     = "RFC 9113 §5.1 half-closed (remote): an endpoint that receives frames other than WINDOW_UPDATE, PRIORITY, or RST_STREAM MUST respond with a stream error of type STREAM_CLOSED"
	stateWhyClosed  = "RFC 9113 §5.1 closed: an endpoint MAY treat receipt of any other type of frame on a closed stream as a connection error of type STREAM_CLOSED"
	stateWhyClosedX = "RFC 9113 §5.1 closed: an endpoint that sends END_STREAM or RST_STREAM might receive a WINDOW_UPDATE or RST_STREAM from its peer before the peer processes it; PRIORITY may be sent in any state (§6.3)"
	stateWhyNoSend  = "RFC 9113 §5.1 closed: an endpoint MUST NOT send frames other than PRIORITY on a closed stream"
	stateWhyHCL     = "RFC 9113 §5.1 half-closed (local): a stream in this state cannot be used for sending frames other than WINDOW_UPDATE, PRIORITY, and RST_STREAM"
	stateWhyRST     = "RFC 9113 §5.1: a stream enters closed after an endpoint either sends or receives a RST_STREAM frame"
	stateWhyPrio    = "RFC 9113 §5.1, §6.3: PRIORITY can be sent or received in any state and changes nothing"
	stateWhyWU      = "RFC 9113 §6.9: WINDOW_UPDATE is allowed while the peer may still send; it changes only the send window"
	stateWhyCarried = "END_STREAM is a flag of the frame that carries it: on a stream not yet open it rides on the opening HEADERS (Figure 2 applies HEADERS, then ES)"
)

// stateRFC is RFC 9113 §5.1 and Figure 2, written by hand: stateRFC[state][input].
// The reserved rows are Figure 2's, for completeness; push is never enabled, so
// TestStateRFC9113_5_1_RowReserved* check that no stream enters them.
var stateRFC = [...]map[string]stateOutcome{
	core.StateIdle: {
		"send_HEADERS":       stateGo(core.StateOpen, "RFC 9113 §5.1 idle: sending a HEADERS frame causes the stream to become open"),
		"send_DATA":          stateRefuse("RFC 9113 §5.1 idle: only HEADERS (or a PUSH_PROMISE reserving it) leaves idle; DATA on an idle stream is a PROTOCOL_ERROR at the receiver"),
		"send_END_STREAM":    stateCarry(stateWhyCarried),
		"send_RST_STREAM":    stateRefuse("RFC 9113 §6.4: RST_STREAM frames MUST NOT be sent for a stream in the idle state"),
		"send_PUSH_PROMISE":  stateNoPush(stateWhyNoPush + " (Figure 2: idle → reserved (local))"),
		"recv_HEADERS":       stateGo(core.StateOpen, "RFC 9113 §5.1 idle: receiving a HEADERS frame causes the stream to become open"),
		"recv_DATA":          stateConn(frame.ErrCodeProtocol, stateWhyIdle),
		"recv_END_STREAM":    stateCarry(stateWhyCarried),
		"recv_RST_STREAM":    stateConn(frame.ErrCodeProtocol, stateWhyIdle+"; §6.4: RST_STREAM on an idle stream MUST be a connection error PROTOCOL_ERROR"),
		"recv_PUSH_PROMISE":  stateNotPush(stateWhyPushOff + " (Figure 2 without that setting: idle → reserved (remote))"),
		"recv_PRIORITY":      stateGo(core.StateIdle, stateWhyPrio),
		"recv_WINDOW_UPDATE": stateConn(frame.ErrCodeProtocol, stateWhyIdle),
	},
	core.StateReservedLocal: {
		"send_HEADERS":       stateGo(core.StateHalfClosedRemote, "RFC 9113 §5.1 reserved (local): sending HEADERS moves the stream to half-closed (remote)"),
		"send_DATA":          stateRefuse("RFC 9113 §5.1 reserved (local): an endpoint MUST NOT send any type of frame other than HEADERS, RST_STREAM, or PRIORITY"),
		"send_END_STREAM":    stateRefuse("RFC 9113 §5.1 reserved (local)"),
		"send_RST_STREAM":    stateGo(core.StateClosed, "RFC 9113 §5.1 reserved (local): either endpoint can send a RST_STREAM frame to cause the stream to become closed"),
		"send_PUSH_PROMISE":  stateNoPush(stateWhyNoPush),
		"recv_HEADERS":       stateConn(frame.ErrCodeProtocol, "RFC 9113 §5.1 reserved (local): receiving any type of frame other than RST_STREAM, PRIORITY, or WINDOW_UPDATE MUST be a connection error PROTOCOL_ERROR"),
		"recv_DATA":          stateConn(frame.ErrCodeProtocol, "RFC 9113 §5.1 reserved (local)"),
		"recv_END_STREAM":    stateConn(frame.ErrCodeProtocol, "RFC 9113 §5.1 reserved (local)"),
		"recv_RST_STREAM":    stateGo(core.StateClosed, stateWhyRST),
		"recv_PUSH_PROMISE":  stateConn(frame.ErrCodeProtocol, "RFC 9113 §5.1 reserved (local)"),
		"recv_PRIORITY":      stateGo(core.StateReservedLocal, stateWhyPrio),
		"recv_WINDOW_UPDATE": stateGo(core.StateReservedLocal, "RFC 9113 §5.1 reserved (local): WINDOW_UPDATE may be received"),
	},
	core.StateReservedRemote: {
		"send_HEADERS":       stateRefuse("RFC 9113 §5.1 reserved (remote): an endpoint MUST NOT send any type of frame other than RST_STREAM, WINDOW_UPDATE, or PRIORITY"),
		"send_DATA":          stateRefuse("RFC 9113 §5.1 reserved (remote)"),
		"send_END_STREAM":    stateRefuse("RFC 9113 §5.1 reserved (remote)"),
		"send_RST_STREAM":    stateGo(core.StateClosed, stateWhyRST),
		"send_PUSH_PROMISE":  stateNoPush(stateWhyNoPush),
		"recv_HEADERS":       stateGo(core.StateHalfClosedLocal, "RFC 9113 §5.1 reserved (remote): receiving a HEADERS frame causes the stream to transition to half-closed (local)"),
		"recv_DATA":          stateConn(frame.ErrCodeProtocol, "RFC 9113 §5.1 reserved (remote): receiving any type of frame other than HEADERS, RST_STREAM, or PRIORITY MUST be a connection error PROTOCOL_ERROR"),
		"recv_END_STREAM":    stateConn(frame.ErrCodeProtocol, "RFC 9113 §5.1 reserved (remote)"),
		"recv_RST_STREAM":    stateGo(core.StateClosed, stateWhyRST),
		"recv_PUSH_PROMISE":  stateConn(frame.ErrCodeProtocol, "RFC 9113 §5.1 reserved (remote)"),
		"recv_PRIORITY":      stateGo(core.StateReservedRemote, stateWhyPrio),
		"recv_WINDOW_UPDATE": stateConn(frame.ErrCodeProtocol, "RFC 9113 §5.1 reserved (remote)"),
	},
	core.StateOpen: {
		"send_HEADERS":       stateGo(core.StateOpen, "RFC 9113 §5.1 open: a stream in the open state may be used by both peers to send frames of any type"),
		"send_DATA":          stateGo(core.StateOpen, "RFC 9113 §5.1 open: both peers may send frames of any type"),
		"send_END_STREAM":    stateGo(core.StateHalfClosedLocal, "RFC 9113 §5.1 open: sending a frame with END_STREAM causes the stream to transition to half-closed (local)"),
		"send_RST_STREAM":    stateGo(core.StateClosed, stateWhyRST),
		"send_PUSH_PROMISE":  stateNoPush(stateWhyNoPush),
		"recv_HEADERS":       stateGo(core.StateOpen, "RFC 9113 §5.1 open: both peers may send frames of any type"),
		"recv_DATA":          stateGo(core.StateOpen, "RFC 9113 §5.1 open: both peers may send frames of any type"),
		"recv_END_STREAM":    stateGo(core.StateHalfClosedRemote, "RFC 9113 §5.1 open: receiving a frame with END_STREAM causes the stream to transition to half-closed (remote)"),
		"recv_RST_STREAM":    stateGo(core.StateClosed, stateWhyRST),
		"recv_PUSH_PROMISE":  stateNotPush(stateWhyPushOff),
		"recv_PRIORITY":      stateGo(core.StateOpen, stateWhyPrio),
		"recv_WINDOW_UPDATE": stateGo(core.StateOpen, stateWhyWU),
	},
	core.StateHalfClosedLocal: {
		"send_HEADERS":       stateRefuse(stateWhyHCL),
		"send_DATA":          stateRefuse(stateWhyHCL),
		"send_END_STREAM":    stateRefuse(stateWhyHCL),
		"send_RST_STREAM":    stateGo(core.StateClosed, "RFC 9113 §5.1 half-closed (local): the stream transitions to closed when either peer sends a RST_STREAM frame"),
		"send_PUSH_PROMISE":  stateNoPush(stateWhyNoPush),
		"recv_HEADERS":       stateGo(core.StateHalfClosedLocal, "RFC 9113 §5.1 half-closed (local): an endpoint can receive any type of frame in this state"),
		"recv_DATA":          stateGo(core.StateHalfClosedLocal, "RFC 9113 §5.1 half-closed (local): an endpoint can receive any type of frame in this state"),
		"recv_END_STREAM":    stateGo(core.StateClosed, "RFC 9113 §5.1 half-closed (local): a stream transitions to closed when a frame is received with END_STREAM"),
		"recv_RST_STREAM":    stateGo(core.StateClosed, stateWhyRST),
		"recv_PUSH_PROMISE":  stateNotPush(stateWhyPushOff),
		"recv_PRIORITY":      stateGo(core.StateHalfClosedLocal, stateWhyPrio),
		"recv_WINDOW_UPDATE": stateGo(core.StateHalfClosedLocal, "RFC 9113 §5.1 half-closed (local): an endpoint can receive any type of frame in this state"),
	},
	core.StateHalfClosedRemote: {
		"send_HEADERS":       stateGo(core.StateHalfClosedRemote, "RFC 9113 §5.1 half-closed (remote): the stream can be used by the endpoint to send frames of any type"),
		"send_DATA":          stateGo(core.StateHalfClosedRemote, "RFC 9113 §5.1 half-closed (remote): the endpoint can send frames of any type"),
		"send_END_STREAM":    stateGo(core.StateClosed, "RFC 9113 §5.1 half-closed (remote): a stream transitions to closed by sending a frame with END_STREAM"),
		"send_RST_STREAM":    stateGo(core.StateClosed, stateWhyRST),
		"send_PUSH_PROMISE":  stateNoPush(stateWhyNoPush),
		"recv_HEADERS":       stateStream(frame.ErrCodeStreamClosed, stateWhyHCR),
		"recv_DATA":          stateStream(frame.ErrCodeStreamClosed, stateWhyHCR),
		"recv_END_STREAM":    stateStream(frame.ErrCodeStreamClosed, stateWhyHCR),
		"recv_RST_STREAM":    stateGo(core.StateClosed, stateWhyRST),
		"recv_PUSH_PROMISE":  stateNotPush(stateWhyPushOff),
		"recv_PRIORITY":      stateGo(core.StateHalfClosedRemote, stateWhyPrio),
		"recv_WINDOW_UPDATE": stateGo(core.StateHalfClosedRemote, stateWhyHCR+" (WINDOW_UPDATE is allowed)"),
	},
	core.StateClosed: {
		"send_HEADERS":       stateRefuse(stateWhyNoSend),
		"send_DATA":          stateRefuse(stateWhyNoSend),
		"send_END_STREAM":    stateRefuse(stateWhyNoSend),
		"send_RST_STREAM":    stateNoop(stateWhyNoSend + " (ResetStream on a closed stream is documented as a no-op)"),
		"send_PUSH_PROMISE":  stateNoPush(stateWhyNoPush),
		"recv_HEADERS":       stateConn(frame.ErrCodeStreamClosed, stateWhyClosed),
		"recv_DATA":          stateConn(frame.ErrCodeStreamClosed, stateWhyClosed),
		"recv_END_STREAM":    stateConn(frame.ErrCodeStreamClosed, stateWhyClosed),
		"recv_RST_STREAM":    stateIgnore(stateWhyClosedX),
		"recv_PUSH_PROMISE":  stateNotPush(stateWhyPushOff),
		"recv_PRIORITY":      stateIgnore(stateWhyClosedX),
		"recv_WINDOW_UPDATE": stateIgnore(stateWhyClosedX),
	},
}

// stateRoleRFC holds the cells where a role changes the RFC's answer,
// keyed "role:state/input".
var stateRoleRFC = map[string]stateOutcome{
	// Servers initiate streams only with PUSH_PROMISE (RFC 9113 §8.4), which
	// is disabled: a server has no idle stream it may open with HEADERS.
	"server:idle/send_HEADERS": stateRefuse("RFC 9113 §5.1.1, §8.4: a server initiates streams only by promising them with PUSH_PROMISE, never generated here"),
	// A server cannot open a stream with HEADERS (§8.4): a client receiving
	// HEADERS on an idle stream — its own parity or even — rejects it.
	"client:idle/recv_HEADERS": stateConn(frame.ErrCodeProtocol, "RFC 9113 §5.1.1: an endpoint that receives an unexpected stream identifier MUST respond with a connection error PROTOCOL_ERROR; a server opens streams only by PUSH_PROMISE (§8.4)"),
}

// stateCell returns the expected outcome of input in state s for role.
func stateCell(role core.Role, s core.StreamState, input string) stateOutcome {
	if o, ok := stateRoleRFC[role.String()+":"+s.String()+"/"+input]; ok {
		return o
	}
	return stateRFC[s][input]
}

// stateExpect composes the cells an action amounts to (a frame, then the
// END_STREAM flag it carries) and returns the outcome: the first that is not
// a transition, or the last transition.
func stateExpect(t *testing.T, role core.Role, from core.StreamState, applied []string) stateOutcome {
	t.Helper()
	s := from
	var out stateOutcome
	for _, in := range applied {
		o := stateCell(role, s, in)
		switch o.kind {
		case 0, stateCarried:
			t.Fatalf("expected table: %v/%s is not an outcome (%q)", s, in, o.why)
		case stateTo:
			s, out = o.next, o
			continue
		}
		return o
	}
	return out
}

// Header lists used by the tests.
var (
	stateGET       = []core.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"}, {Name: ":authority", Value: "example.com"}, {Name: ":path", Value: "/"}}
	statePOST      = []core.HeaderField{{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "https"}, {Name: ":authority", Value: "example.com"}, {Name: ":path", Value: "/"}}
	stateStatus200 = []core.HeaderField{{Name: ":status", Value: "200"}}
	stateTrailers  = []core.HeaderField{{Name: "x-trailer", Value: "t"}}
)

// errStateNoAPI stands for "there is no command to send this".
var errStateNoAPI = errors.New("no command sends PUSH_PROMISE")

// stateRig is one Conn under test with stream r.id driven to a state.
type stateRig struct {
	t        *testing.T
	p        *coretest.TestPeer
	role     core.Role
	id       uint32
	respSent bool // server: final response HEADERS sent
	respRecv bool // client: final response received
}

func (r *stateRig) state() core.StreamState { return r.p.Conn.StreamState(r.id) }

// stateNewPeer returns a TestPeer for role with the handshake done.
func stateNewPeer(t *testing.T, role core.Role, cfg core.Config, settings ...frame.Setting) *coretest.TestPeer {
	t.Helper()
	var p *coretest.TestPeer
	if role == core.RoleServer {
		p = coretest.NewServerPeer(t, cfg)
	} else {
		p = coretest.NewClientPeer(t, cfg)
	}
	p.Handshake(settings...)
	return p
}

// stateWantEv takes the next event, requiring its kind and stream.
func stateWantEv(p *coretest.TestPeer, why string, k core.EventKind, id uint32) core.Event {
	p.T.Helper()
	e := p.WantEvent(why, k)
	if e.StreamID != id {
		p.T.Fatalf("%s: %v on stream %d, want stream %d", why, k, e.StreamID, id)
	}
	return e
}

// stateReach returns a rig whose stream 1 is in state st, reached the usual
// way for role, with all output and events taken.
func stateReach(t *testing.T, role core.Role, st core.StreamState) *stateRig {
	t.Helper()
	p := stateNewPeer(t, role, core.Config{})
	r := &stateRig{t: t, p: p, role: role, id: 1}
	c, fb := p.Conn, p.FB
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("reaching %v: %v", st, err)
		}
	}
	if role == core.RoleServer {
		switch st {
		case core.StateIdle:
		case core.StateOpen, core.StateHalfClosedLocal:
			p.WriteFrames(fb.Headers(1, coretest.EndHeaders, coretest.Request("POST", "/")...))
			stateWantEv(p, "request without END_STREAM", core.EventRequest, 1)
			if st == core.StateHalfClosedLocal {
				must(c.SendHeaders(1, stateStatus200, true))
				p.WantHeaders("response with END_STREAM", 1, coretest.WithFlags(coretest.EndStream))
				r.respSent = true
			}
		case core.StateHalfClosedRemote, core.StateClosed:
			p.WriteFrames(fb.GET(1, "/"))
			stateWantEv(p, "request with END_STREAM", core.EventRequest, 1)
			if st == core.StateClosed {
				must(c.SendHeaders(1, stateStatus200, true))
				p.WantHeaders("response with END_STREAM", 1, coretest.WithFlags(coretest.EndStream))
				stateWantEv(p, "stream ended both ways", core.EventStreamClosed, 1)
				r.respSent = true
			}
		default:
			t.Fatalf("state %v is not reachable", st)
		}
	} else {
		switch st {
		case core.StateIdle:
		case core.StateOpen, core.StateHalfClosedRemote:
			id, err := c.OpenStream(statePOST, core.StreamOptions{})
			must(err)
			if id != 1 {
				t.Fatalf("first OpenStream: id %d, want 1 (RFC 9113 §5.1.1)", id)
			}
			p.WantHeaders("request without END_STREAM", 1, coretest.WithoutFlags(coretest.EndStream))
			if st == core.StateHalfClosedRemote {
				p.WriteFrames(fb.Headers(1, coretest.EndStream|coretest.EndHeaders, coretest.Response("200")...))
				stateWantEv(p, "response with END_STREAM", core.EventResponse, 1)
				r.respRecv = true
			}
		case core.StateHalfClosedLocal, core.StateClosed:
			_, err := c.OpenStream(stateGET, core.StreamOptions{EndStream: true})
			must(err)
			p.WantHeaders("request with END_STREAM", 1, coretest.WithFlags(coretest.EndStream))
			if st == core.StateClosed {
				p.WriteFrames(fb.Headers(1, coretest.EndStream|coretest.EndHeaders, coretest.Response("200")...))
				stateWantEv(p, "response with END_STREAM", core.EventResponse, 1)
				stateWantEv(p, "stream ended both ways", core.EventStreamClosed, 1)
				r.respRecv = true
			}
		default:
			t.Fatalf("state %v is not reachable", st)
		}
	}
	if got := r.state(); got != st {
		t.Fatalf("setup: StreamState(1) = %v, want %v", got, st)
	}
	p.WantIdle("setup leaves nothing to send")
	p.WantNoEvent("setup leaves no event")
	p.Invariants()
	stateNoReserved(t, p.Conn)
	return r
}

// serverRespond sends the final response HEADERS (without END_STREAM) that a
// server needs before DATA, when the stream may still send.
func (r *stateRig) serverRespond() {
	r.t.Helper()
	st := r.state()
	if r.role != core.RoleServer || r.respSent || (st != core.StateOpen && st != core.StateHalfClosedRemote) {
		return
	}
	if err := r.p.Conn.SendHeaders(r.id, stateStatus200, false); err != nil {
		r.t.Fatalf("response headers in %v: %v", st, err)
	}
	r.p.WantHeaders("response headers before DATA", r.id, coretest.WithoutFlags(coretest.EndStream))
	if got := r.state(); got != st {
		r.t.Fatalf("%v/send_HEADERS: StreamState = %v, want %v", st, got, st)
	}
	r.respSent = true
}

// clientResponse receives the final response (without END_STREAM) that a
// client needs before DATA, when the stream may still receive.
func (r *stateRig) clientResponse() {
	r.t.Helper()
	st := r.state()
	if r.role != core.RoleClient || r.respRecv || (st != core.StateOpen && st != core.StateHalfClosedLocal) {
		return
	}
	r.p.WriteFrames(r.p.FB.Headers(r.id, coretest.EndHeaders, coretest.Response("200")...))
	stateWantEv(r.p, "response before DATA", core.EventResponse, r.id)
	if got := r.state(); got != st {
		r.t.Fatalf("%v/recv_HEADERS: StreamState = %v, want %v", st, got, st)
	}
	r.respRecv = true
}

func (r *stateRig) write(build func(fb *coretest.FrameBuilder) []byte) func() error {
	return func() error {
		r.p.WriteFrames(build(r.p.FB))
		return nil
	}
}

// stateInput is one input performed on a rig.
type stateInput struct {
	applied []string         // the table inputs it amounts to, in order
	do      func() error     // performs it; the error of the command, if any
	events  []core.EventKind // events it reports on the stream when allowed, before any terminal one
	check   func(t *testing.T)
}

// stateDrivers perform each input the usual way for the rig's role and state.
var stateDrivers = map[string]func(r *stateRig) stateInput{
	"send_HEADERS": func(r *stateRig) stateInput {
		c := r.p.Conn
		switch {
		case r.role == core.RoleServer:
			return stateInput{applied: []string{"send_HEADERS"}, do: func() error { return c.SendHeaders(r.id, stateStatus200, false) }}
		case r.state() == core.StateIdle:
			return stateInput{applied: []string{"send_HEADERS"}, do: func() error {
				id, err := c.OpenStream(statePOST, core.StreamOptions{})
				if err == nil && id != r.id {
					r.t.Errorf("OpenStream returned stream %d, want %d", id, r.id)
				}
				return err
			}}
		}
		// A client's only HEADERS after the request are trailers, which end
		// the stream (RFC 9113 §8.1): send_HEADERS then send_END_STREAM.
		return stateInput{applied: []string{"send_HEADERS", "send_END_STREAM"}, do: func() error { return c.SendTrailers(r.id, stateTrailers) }}
	},
	"send_DATA": func(r *stateRig) stateInput {
		r.serverRespond()
		return stateInput{applied: []string{"send_DATA"}, do: func() error {
			_, err := r.p.Conn.SendData(r.id, []byte("abc"), false)
			return err
		}}
	},
	"send_END_STREAM": func(r *stateRig) stateInput {
		if r.role == core.RoleClient && r.state() == core.StateIdle {
			return stateInput{applied: []string{"send_HEADERS", "send_END_STREAM"}, do: func() error {
				_, err := r.p.Conn.OpenStream(stateGET, core.StreamOptions{EndStream: true})
				return err
			}}
		}
		r.serverRespond()
		return stateInput{applied: []string{"send_DATA", "send_END_STREAM"}, do: func() error {
			_, err := r.p.Conn.SendData(r.id, nil, true)
			return err
		}}
	},
	"send_RST_STREAM": func(r *stateRig) stateInput {
		return stateInput{applied: []string{"send_RST_STREAM"}, do: func() error { return r.p.Conn.ResetStream(r.id, frame.ErrCodeCancel) }}
	},
	"send_PUSH_PROMISE": func(r *stateRig) stateInput {
		return stateInput{applied: []string{"send_PUSH_PROMISE"}, do: func() error {
			if m := statePushMethods(); len(m) > 0 {
				r.t.Errorf("*core.Conn has push commands %v, yet push is never generated (DESIGN §4)", m)
				return nil
			}
			return errStateNoAPI
		}}
	},
	"recv_HEADERS": func(r *stateRig) stateInput {
		st := r.state()
		switch {
		case r.role == core.RoleServer && st == core.StateIdle:
			return stateInput{applied: []string{"recv_HEADERS"}, events: []core.EventKind{core.EventRequest},
				do: r.write(func(fb *coretest.FrameBuilder) []byte {
					return fb.Headers(r.id, coretest.EndHeaders, coretest.Request("POST", "/")...)
				})}
		case r.role == core.RoleClient && !r.respRecv:
			return stateInput{applied: []string{"recv_HEADERS"}, events: []core.EventKind{core.EventResponse},
				do: r.write(func(fb *coretest.FrameBuilder) []byte {
					return fb.Headers(r.id, coretest.EndHeaders, coretest.Response("200")...)
				})}
		}
		// Any later HEADERS is a trailer section, which carries END_STREAM
		// (RFC 9113 §8.1).
		return stateInput{applied: []string{"recv_HEADERS", "recv_END_STREAM"}, events: []core.EventKind{core.EventTrailers},
			do: r.write(func(fb *coretest.FrameBuilder) []byte {
				return fb.Headers(r.id, coretest.EndStream|coretest.EndHeaders, "x-trailer", "t")
			})}
	},
	"recv_DATA": func(r *stateRig) stateInput {
		r.clientResponse()
		return stateInput{applied: []string{"recv_DATA"}, events: []core.EventKind{core.EventData},
			do: r.write(func(fb *coretest.FrameBuilder) []byte { return fb.Data(r.id, false, []byte("abc")) })}
	},
	"recv_END_STREAM": func(r *stateRig) stateInput {
		if r.state() == core.StateIdle {
			if r.role == core.RoleServer {
				return stateInput{applied: []string{"recv_HEADERS", "recv_END_STREAM"}, events: []core.EventKind{core.EventRequest},
					do: r.write(func(fb *coretest.FrameBuilder) []byte { return fb.GET(r.id, "/") })}
			}
			return stateInput{applied: []string{"recv_HEADERS", "recv_END_STREAM"}, events: []core.EventKind{core.EventResponse},
				do: r.write(func(fb *coretest.FrameBuilder) []byte {
					return fb.Headers(r.id, coretest.EndStream|coretest.EndHeaders, coretest.Response("200")...)
				})}
		}
		r.clientResponse()
		return stateInput{applied: []string{"recv_DATA", "recv_END_STREAM"}, events: []core.EventKind{core.EventData},
			do: r.write(func(fb *coretest.FrameBuilder) []byte { return fb.Data(r.id, true, nil) })}
	},
	"recv_RST_STREAM": func(r *stateRig) stateInput {
		return stateInput{applied: []string{"recv_RST_STREAM"},
			do: r.write(func(fb *coretest.FrameBuilder) []byte { return fb.RST(r.id, frame.ErrCodeCancel) })}
	},
	"recv_PUSH_PROMISE": func(r *stateRig) stateInput {
		return stateInput{applied: []string{"recv_PUSH_PROMISE"},
			do: r.write(func(fb *coretest.FrameBuilder) []byte {
				return frame.AppendPushPromise(nil, frame.PushPromiseParam{StreamID: r.id, PromisedID: 2,
					Fragment: fb.Block(coretest.Request("GET", "/pushed")...), EndHeaders: true})
			})}
	},
	"recv_PRIORITY": func(r *stateRig) stateInput {
		return stateInput{applied: []string{"recv_PRIORITY"},
			do: r.write(func(fb *coretest.FrameBuilder) []byte { return fb.Priority(r.id, 0, false, 15) })}
	},
	"recv_WINDOW_UPDATE": func(r *stateRig) stateInput {
		before := r.p.Conn.SendWindow(r.id)
		return stateInput{applied: []string{"recv_WINDOW_UPDATE"},
			do: r.write(func(fb *coretest.FrameBuilder) []byte { return fb.WindowUpdate(r.id, 100) }),
			check: func(t *testing.T) {
				if r.state() == core.StateClosed {
					return
				}
				if got := r.p.Conn.SendWindow(r.id); got != before+100 {
					t.Errorf("RFC 9113 §6.9: SendWindow(%d) = %d after WINDOW_UPDATE(+100), want %d", r.id, got, before+100)
				}
			}}
	},
}

// statePushMethods lists the methods of *core.Conn that could send a push.
func statePushMethods() []string {
	var out []string
	typ := reflect.TypeOf((*core.Conn)(nil))
	for i := 0; i < typ.NumMethod(); i++ {
		if name := typ.Method(i).Name; strings.Contains(strings.ToLower(name), "push") {
			out = append(out, name)
		}
	}
	return out
}

// stateNoReserved requires that no stream is in a reserved state: push is
// never enabled (DESIGN §4), so nothing may reach them.
func stateNoReserved(t *testing.T, c *core.Conn) {
	t.Helper()
	for id := uint32(1); id <= 16; id++ {
		if s := c.StreamState(id); s == core.StateReservedLocal || s == core.StateReservedRemote {
			t.Errorf("StreamState(%d) = %v: push is disabled, no stream may be reserved (RFC 9113 §8.4)", id, s)
		}
	}
}

// stateObserve performs in and collects what follows: every frame and every
// event.
func (r *stateRig) observe(in stateInput) ([]frame.Frame, []core.Event, error) {
	err := in.do()
	var frames []frame.Frame
	for {
		f, ok := r.p.NextFrame()
		if !ok {
			break
		}
		frames = append(frames, f)
	}
	events := r.p.Events
	r.p.Events = nil
	return frames, events, err
}

func stateHas(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func stateIsTerminal(k core.EventKind) bool {
	return k == core.EventStreamClosed || k == core.EventStreamReset
}

// stateRunCell reaches from for role, performs input and compares what the
// core did with the hand-made table.
func stateRunCell(t *testing.T, role core.Role, from core.StreamState, input string) {
	r := stateReach(t, role, from)
	in := stateDrivers[input](r)
	if got := r.state(); got != from {
		t.Fatalf("after preparing %s: StreamState(%d) = %v, want %v", input, r.id, got, from)
	}
	want := stateExpect(t, role, from, in.applied)
	frames, events, apiErr := r.observe(in)
	after := r.state()
	c := r.p.Conn
	id := r.id
	t.Logf("%v/%s as %v: applied %v; want %v (%s)", from, input, role, in.applied, want, want.why)

	var goAway *frame.Frame
	var others []frame.Frame
	for i := range frames {
		if frames[i].Type == frame.TypeGoAway {
			goAway = &frames[i]
			continue
		}
		others = append(others, frames[i])
	}
	var mine, terminal []core.Event
	for _, e := range events {
		if e.StreamID == id {
			mine = append(mine, e)
			if stateIsTerminal(e.Kind) {
				terminal = append(terminal, e)
			}
		}
	}

	switch want.kind {
	case stateTo:
		if apiErr != nil {
			t.Fatalf("%s: command failed: %v", want.why, apiErr)
		}
		if goAway != nil || c.Err() != nil {
			t.Fatalf("%s: connection error %v (GOAWAY %v)", want.why, c.Err(), goAway)
		}
		if after != want.next {
			t.Fatalf("%s: StreamState(%d) = %v, want %v", want.why, id, after, want.next)
		}
		// Frames: exactly what the sends amount to.
		var wantTypes []frame.Type
		for _, a := range in.applied {
			switch a {
			case "send_HEADERS":
				wantTypes = append(wantTypes, frame.TypeHeaders)
			case "send_DATA":
				wantTypes = append(wantTypes, frame.TypeData)
			case "send_RST_STREAM":
				wantTypes = append(wantTypes, frame.TypeRSTStream)
			}
		}
		if len(others) != len(wantTypes) {
			t.Fatalf("%s: sent %d frames %v, want %v", want.why, len(others), stateFrameNames(others), wantTypes)
		}
		for i, f := range others {
			if f.Type != wantTypes[i] || f.StreamID != id {
				t.Fatalf("%s: frame %d is %v, want %v on stream %d", want.why, i, f.String(), wantTypes[i], id)
			}
		}
		if n := len(others); n > 0 {
			last := others[n-1]
			wantES := stateHas(in.applied, "send_END_STREAM")
			if last.Type != frame.TypeRSTStream && last.EndStream() != wantES {
				t.Fatalf("%s: %v END_STREAM=%v, want %v", want.why, last.String(), last.EndStream(), wantES)
			}
			if last.Type == frame.TypeRSTStream && last.ErrCode != frame.ErrCodeCancel {
				t.Fatalf("RST_STREAM code %v, want CANCEL", last.ErrCode)
			}
		}
		// Events: what the input reports, then the terminal event if the
		// stream closed now.
		wantKinds := append([]core.EventKind(nil), in.events...)
		closedNow := want.next == core.StateClosed && from != core.StateClosed
		if closedNow {
			k := core.EventStreamClosed
			if stateHas(in.applied, "send_RST_STREAM") || stateHas(in.applied, "recv_RST_STREAM") {
				k = core.EventStreamReset
			}
			wantKinds = append(wantKinds, k)
		}
		if len(events) != len(wantKinds) {
			t.Fatalf("events %v, want %v on stream %d", stateEventNames(events), wantKinds, id)
		}
		for i, e := range events {
			if e.Kind != wantKinds[i] || e.StreamID != id {
				t.Fatalf("event %d: %v on stream %d, want %v on stream %d", i, e.Kind, e.StreamID, wantKinds[i], id)
			}
		}
		if n := len(in.events); n > 0 && stateHas(in.applied, "recv_END_STREAM") && !events[n-1].EndStream {
			t.Fatalf("%v event lacks EndStream although the frame carried END_STREAM", events[n-1].Kind)
		}
		if n := len(in.events); n > 0 && !stateHas(in.applied, "recv_END_STREAM") && events[n-1].EndStream {
			t.Fatalf("%v event has EndStream although the frame did not carry END_STREAM", events[n-1].Kind)
		}
		if closedNow && len(terminal) == 1 && terminal[0].Kind == core.EventStreamReset {
			e := terminal[0]
			remote := stateHas(in.applied, "recv_RST_STREAM")
			if e.Code != frame.ErrCodeCancel || e.Remote != remote || e.Err != nil {
				t.Fatalf("terminal %v: code %v remote %v err %v, want CANCEL remote %v", e.Kind, e.Code, e.Remote, e.Err, remote)
			}
		}
		if in.check != nil {
			in.check(t)
		}
	case stateConnErr:
		if apiErr != nil {
			t.Fatalf("command failed: %v", apiErr)
		}
		if goAway == nil {
			t.Fatalf("%s: want GOAWAY(%v), got frames %v and state %v", want.why, want.code, stateFrameNames(frames), after)
		}
		if goAway.ErrCode != want.code {
			t.Fatalf("%s: GOAWAY %v (%q), want %v", want.why, goAway.ErrCode, goAway.Data, want.code)
		}
		var ce *core.ConnError
		if !errors.As(c.Err(), &ce) || ce.Code != want.code || ce.Remote {
			t.Fatalf("Err() = %v, want a local *ConnError %v", c.Err(), want.code)
		}
		for _, f := range others {
			if f.Type == frame.TypeRSTStream {
				t.Fatalf("connection error also sent %v", f.String())
			}
		}
		wantTerm := 0
		if from == core.StateOpen || from == core.StateHalfClosedLocal || from == core.StateHalfClosedRemote {
			wantTerm = 1
		}
		if len(terminal) != wantTerm {
			t.Fatalf("stream %d got %d terminal events (%v), want %d", id, len(terminal), stateEventNames(mine), wantTerm)
		}
		if wantTerm == 1 && (terminal[0].Kind != core.EventStreamReset || terminal[0].Err == nil) {
			t.Fatalf("terminal event %v (err %v), want EventStreamReset with the connection's error", terminal[0].Kind, terminal[0].Err)
		}
		if ph := c.Phase(); ph != core.PhaseClosed {
			t.Fatalf("phase %v after the GOAWAY was taken, want closed", ph)
		}
	case stateStreamErr:
		if apiErr != nil {
			t.Fatalf("command failed: %v", apiErr)
		}
		if goAway != nil || c.Err() != nil {
			t.Fatalf("%s: want a stream error, got connection error %v (GOAWAY %v)", want.why, c.Err(), goAway)
		}
		if len(others) != 1 || others[0].Type != frame.TypeRSTStream || others[0].StreamID != id || others[0].ErrCode != want.code {
			t.Fatalf("%s: frames %v, want exactly RST_STREAM(%d, %v)", want.why, stateFrameNames(others), id, want.code)
		}
		if after != core.StateClosed {
			t.Fatalf("StreamState(%d) = %v after a stream error, want closed", id, after)
		}
		if len(events) != 1 || events[0].Kind != core.EventStreamReset || events[0].StreamID != id ||
			events[0].Code != want.code || events[0].Remote || events[0].Err != nil {
			t.Fatalf("events %v, want exactly EventStreamReset(%d, %v, local)", stateEventNames(events), id, want.code)
		}
		if ph := c.Phase(); ph != core.PhaseConnected {
			t.Fatalf("phase %v after a stream error, want connected", ph)
		}
	case stateIgnored:
		if apiErr != nil {
			t.Fatalf("command failed: %v", apiErr)
		}
		if len(frames) != 0 || len(events) != 0 || c.Err() != nil {
			t.Fatalf("%s: want the frame ignored, got frames %v events %v err %v", want.why, stateFrameNames(frames), stateEventNames(events), c.Err())
		}
		if after != from {
			t.Fatalf("StreamState(%d) = %v, want %v", id, after, from)
		}
	case stateRefused:
		switch {
		case want.noop && apiErr != nil:
			t.Fatalf("%s: want a no-op, got %v", want.why, apiErr)
		case !want.noop && from == core.StateIdle && !errors.Is(apiErr, core.ErrStreamNotFound):
			t.Fatalf("%s: command error %v, want ErrStreamNotFound", want.why, apiErr)
		case !want.noop && from != core.StateIdle && !errors.Is(apiErr, core.ErrStreamClosed):
			t.Fatalf("%s: command error %v, want ErrStreamClosed", want.why, apiErr)
		}
		if len(frames) != 0 || len(events) != 0 {
			t.Fatalf("%s: a refused command sent %v and reported %v", want.why, stateFrameNames(frames), stateEventNames(events))
		}
		if after != from {
			t.Fatalf("StreamState(%d) = %v, want %v", id, after, from)
		}
	case stateNoAPI:
		if apiErr != errStateNoAPI || len(frames) != 0 || len(events) != 0 {
			t.Fatalf("%s: err %v frames %v events %v", want.why, apiErr, stateFrameNames(frames), stateEventNames(events))
		}
	default:
		t.Fatalf("expected table: no outcome for %v/%s", from, input)
	}
	r.p.Invariants()
	stateNoReserved(t, c)
}

func stateFrameNames(fs []frame.Frame) []string {
	out := make([]string, len(fs))
	for i := range fs {
		out[i] = fs[i].String()
	}
	return out
}

func stateEventNames(es []core.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Kind.String() + "(" + strconv.Itoa(int(e.StreamID)) + ")"
		if e.Kind == core.EventStreamReset {
			out[i] += " " + e.Code.String() + " " + e.Token
		}
	}
	return out
}

var stateRoles = []core.Role{core.RoleServer, core.RoleClient}

// stateRunRow runs every cell of one reachable row, for both roles.
func stateRunRow(t *testing.T, from core.StreamState) {
	for _, input := range stateInputs {
		t.Run(from.String()+"/"+input, func(t *testing.T) {
			for _, role := range stateRoles {
				t.Run(role.String(), func(t *testing.T) { stateRunCell(t, role, from, input) })
			}
		})
	}
}

// TestStateRFC9113_5_1_RowIdle: idle → open on HEADERS; PRIORITY allowed;
// every other received frame is a connection PROTOCOL_ERROR.
func TestStateRFC9113_5_1_RowIdle(t *testing.T) { stateRunRow(t, core.StateIdle) }

// TestStateRFC9113_5_1_RowOpen: both sides may send anything; END_STREAM
// half-closes, RST_STREAM closes.
func TestStateRFC9113_5_1_RowOpen(t *testing.T) { stateRunRow(t, core.StateOpen) }

// TestStateRFC9113_5_1_RowHalfClosedLocal: we may send only RST_STREAM (and
// WINDOW_UPDATE, PRIORITY); anything may be received; END_STREAM closes.
func TestStateRFC9113_5_1_RowHalfClosedLocal(t *testing.T) {
	stateRunRow(t, core.StateHalfClosedLocal)
}

// TestStateRFC9113_5_1_RowHalfClosedRemote: we may send anything; frames
// other than WINDOW_UPDATE, PRIORITY, RST_STREAM are stream STREAM_CLOSED.
func TestStateRFC9113_5_1_RowHalfClosedRemote(t *testing.T) {
	stateRunRow(t, core.StateHalfClosedRemote)
}

// TestStateRFC9113_5_1_RowClosed: closed by END_STREAM both ways: nothing may
// be sent; DATA and HEADERS are connection STREAM_CLOSED; WINDOW_UPDATE,
// RST_STREAM and PRIORITY are ignored.
func TestStateRFC9113_5_1_RowClosed(t *testing.T) { stateRunRow(t, core.StateClosed) }

// stateRunReservedRow checks a reserved row: push is disabled, so for every
// input of the row, applied in every reachable state by both roles, no stream
// ever reports the reserved state.
func stateRunReservedRow(t *testing.T, reserved core.StreamState) {
	for _, input := range stateInputs {
		t.Run(reserved.String()+"/"+input+"/unreachable", func(t *testing.T) {
			if o := stateRFC[reserved][input]; o.kind == 0 {
				t.Fatalf("expected table has no cell %v/%s", reserved, input)
			}
			for _, role := range stateRoles {
				for _, from := range []core.StreamState{core.StateIdle, core.StateOpen, core.StateHalfClosedLocal, core.StateHalfClosedRemote, core.StateClosed} {
					r := stateReach(t, role, from)
					in := stateDrivers[input](r)
					_, _, _ = r.observe(in)
					for id := uint32(1); id <= 16; id++ {
						if s := r.p.Conn.StreamState(id); s == reserved {
							t.Fatalf("%v/%s as %v: StreamState(%d) = %v; push is disabled (RFC 9113 §8.4, §6.5.2)", from, input, role, id, s)
						}
					}
					r.p.Invariants()
				}
			}
		})
	}
}

// TestStateRFC9113_5_1_RowReservedLocal: a server never promises a stream,
// even to a client that allows push, and has no command to do so.
func TestStateRFC9113_5_1_RowReservedLocal(t *testing.T) {
	t.Run("reserved_local/send_PUSH_PROMISE/no_command_and_ENABLE_PUSH_1_refused", func(t *testing.T) {
		if m := statePushMethods(); len(m) > 0 {
			t.Fatalf("*core.Conn has push commands %v", m)
		}
		p := stateNewPeer(t, core.RoleServer, core.Config{})
		err := p.Conn.UpdateSettings(p.Now, []frame.Setting{{ID: frame.SettingEnablePush, Val: 1}})
		if !errors.Is(err, core.ErrPushUnsupported) {
			t.Fatalf("UpdateSettings(ENABLE_PUSH=1) = %v, want ErrPushUnsupported", err)
		}
		p.WantIdle("nothing sent for a refused UpdateSettings")
	})
	t.Run("reserved_local/server_never_pushes_when_client_enables_push", func(t *testing.T) {
		p := stateNewPeer(t, core.RoleServer, core.Config{}, frame.Setting{ID: frame.SettingEnablePush, Val: 1})
		p.Handler = coretest.Hello
		p.WriteFrames(p.FB.GET(1, "/"), p.FB.GET(3, "/"))
		for {
			f, ok := p.NextFrame()
			if !ok {
				break
			}
			if f.Type == frame.TypePushPromise {
				t.Fatalf("server sent %v", f.String())
			}
			stateNoReserved(t, p.Conn)
		}
		for _, id := range []uint32{2, 4, 6} {
			if s := p.Conn.StreamState(id); s != core.StateIdle {
				t.Fatalf("StreamState(%d) = %v, want idle: the server never promises", id, s)
			}
		}
		p.Invariants()
	})
	stateRunReservedRow(t, core.StateReservedLocal)
}

// TestStateRFC9113_5_1_RowReservedRemote: a client advertises ENABLE_PUSH=0
// and rejects PUSH_PROMISE, so no stream becomes reserved (remote).
func TestStateRFC9113_5_1_RowReservedRemote(t *testing.T) {
	t.Run("reserved_remote/client_advertises_ENABLE_PUSH_0", func(t *testing.T) {
		p := coretest.NewClientPeer(t, core.Config{})
		p.WantBytes("client preface", []byte(coretest.ClientPreface))
		f := p.WantFrame("client SETTINGS", frame.TypeSettings)
		found := false
		for i := 0; i < f.NumSettings(); i++ {
			if s := f.Setting(i); s.ID == frame.SettingEnablePush {
				found = true
				if s.Val != 0 {
					t.Fatalf("client SETTINGS_ENABLE_PUSH = %d, want 0", s.Val)
				}
			}
		}
		if !found {
			t.Fatal("client SETTINGS lacks ENABLE_PUSH=0 (its initial value is 1, RFC 9113 §6.5.2)")
		}
	})
	t.Run("reserved_remote/recv_PUSH_PROMISE_on_open_stream_is_conn_PROTOCOL_ERROR", func(t *testing.T) {
		r := stateReach(t, core.RoleClient, core.StateOpen)
		r.p.WriteFrames(frame.AppendPushPromise(nil, frame.PushPromiseParam{StreamID: 1, PromisedID: 2,
			Fragment: r.p.FB.Block(coretest.Request("GET", "/pushed")...), EndHeaders: true}))
		if s := r.p.Conn.StreamState(2); s == core.StateReservedRemote {
			t.Fatalf("StreamState(2) = %v after PUSH_PROMISE", s)
		}
		r.p.WantGoAway(stateWhyPushOff, frame.ErrCodeProtocol)
		r.p.Invariants()
	})
	stateRunReservedRow(t, core.StateReservedRemote)
}

// ---------------------------------------------------------------------------
// Frames on closed streams (RFC 9113 §5.1 "closed").

// stateWantConnErr requires GOAWAY(code) as the next frame and the matching
// Err.
func stateWantConnErr(p *coretest.TestPeer, why string, code frame.ErrCode) {
	p.T.Helper()
	p.WantGoAway(why, code)
	var ce *core.ConnError
	if !errors.As(p.Conn.Err(), &ce) || ce.Code != code {
		p.T.Fatalf("%s: Err() = %v, want *ConnError %v", why, p.Conn.Err(), code)
	}
}

// stateWantQuiet requires no frame, no event and a live connection.
func stateWantQuiet(p *coretest.TestPeer, why string) {
	p.T.Helper()
	p.WantIdle(why)
	p.WantNoEvent(why)
	if err := p.Conn.Err(); err != nil || p.Conn.Phase() != core.PhaseConnected {
		p.T.Fatalf("%s: connection %v, err %v", why, p.Conn.Phase(), err)
	}
}

// stateFrameOn builds frame kind on stream id, as the peer of role would send it.
func stateFrameOn(fb *coretest.FrameBuilder, role core.Role, kind string, id uint32) []byte {
	switch kind {
	case "DATA":
		return fb.Data(id, true, []byte("late"))
	case "HEADERS":
		if role == core.RoleClient { // the peer is a server: a response
			return fb.Headers(id, coretest.EndStream|coretest.EndHeaders, coretest.Response("200", "x-inflight", "v")...)
		}
		return fb.Headers(id, coretest.EndStream|coretest.EndHeaders, "x-inflight", "v")
	case "WINDOW_UPDATE":
		return fb.WindowUpdate(id, 1000)
	case "RST_STREAM":
		return fb.RST(id, frame.ErrCodeCancel)
	case "PRIORITY":
		return fb.Priority(id, 0, false, 7)
	}
	panic(kind)
}

// TestStateRFC9113_5_1_FramesOnClosedStream: on a stream closed by
// END_STREAM in both directions, or by the peer's RST_STREAM, DATA and
// HEADERS are a connection error STREAM_CLOSED; WINDOW_UPDATE, RST_STREAM and
// PRIORITY are ignored and the connection keeps working.
func TestStateRFC9113_5_1_FramesOnClosedStream(t *testing.T) {
	cases := []struct {
		kind string
		conn bool
	}{{"DATA", true}, {"HEADERS", true}, {"WINDOW_UPDATE", false}, {"RST_STREAM", false}, {"PRIORITY", false}}
	closers := []struct {
		name  string
		close func(t *testing.T, role core.Role) *coretest.TestPeer
	}{
		{"after_END_STREAM_both_ways", func(t *testing.T, role core.Role) *coretest.TestPeer {
			return stateReach(t, role, core.StateClosed).p
		}},
		{"after_peer_RST_STREAM", func(t *testing.T, role core.Role) *coretest.TestPeer {
			p := stateReach(t, role, core.StateOpen).p
			p.WriteFrames(p.FB.RST(1, frame.ErrCodeCancel))
			stateWantReset(t, stateWantEv(p, "peer reset", core.EventStreamReset, 1), frame.ErrCodeCancel, true, false)
			stateWantState(t, p.Conn, 1, core.StateClosed, "reset by the peer")
			return p
		}},
	}
	for _, role := range stateRoles {
		for _, cl := range closers {
			for _, tc := range cases {
				name := role.String() + "/" + cl.name + "/" + tc.kind + "_is_ignored"
				if tc.conn {
					name = role.String() + "/" + cl.name + "/" + tc.kind + "_is_conn_STREAM_CLOSED"
				}
				t.Run(name, func(t *testing.T) {
					p := cl.close(t, role)
					p.WriteFrames(stateFrameOn(p.FB, role, tc.kind, 1))
					if tc.conn {
						stateWantConnErr(p, stateWhyClosed, frame.ErrCodeStreamClosed)
						p.Invariants()
						return
					}
					stateWantQuiet(p, stateWhyClosedX)
					stateWantState(t, p.Conn, 1, core.StateClosed, "still closed")
					// The connection still carries a new stream.
					if role == core.RoleServer {
						p.WriteFrames(p.FB.GET(3, "/"))
						stateWantEv(p, "a new request after the ignored frame", core.EventRequest, 3)
					} else {
						id, err := p.Conn.OpenStream(stateGET, core.StreamOptions{EndStream: true})
						if err != nil || id != 3 {
							t.Fatalf("OpenStream after the ignored frame: %d, %v", id, err)
						}
						p.WantHeaders("new request", 3)
					}
					p.Invariants()
				})
			}
		}
	}
}

// stateOpenPOST opens stream 1 with a POST whose body follows: the peer
// sends it to a server, a client sends it to the peer.
func stateOpenPOST(t *testing.T, p *coretest.TestPeer, role core.Role) {
	t.Helper()
	if role == core.RoleServer {
		p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, coretest.Request("POST", "/")...))
		stateWantEv(p, "request", core.EventRequest, 1)
		return
	}
	if _, err := p.Conn.OpenStream(statePOST, core.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	p.WantHeaders("request", 1)
}

// stateResetOpen reaches an open stream 1 and resets it with ResetStream,
// checking the RST_STREAM and the terminal event.
func stateResetOpen(t *testing.T, role core.Role, cfg core.Config) *coretest.TestPeer {
	t.Helper()
	p := stateNewPeer(t, role, cfg)
	stateOpenPOST(t, p, role)
	if err := p.Conn.ResetStream(1, frame.ErrCodeCancel); err != nil {
		t.Fatal(err)
	}
	p.WantRST("our RST_STREAM", 1, frame.ErrCodeCancel)
	e := stateWantEv(p, "terminal event of our reset", core.EventStreamReset, 1)
	if e.Remote || e.Code != frame.ErrCodeCancel {
		t.Fatalf("EventStreamReset remote=%v code=%v, want local CANCEL", e.Remote, e.Code)
	}
	if s := p.Conn.StreamState(1); s != core.StateClosed {
		t.Fatalf("StreamState(1) = %v after ResetStream, want closed", s)
	}
	return p
}

// TestStateRFC9113_5_1_AfterOurResetInFlightFramesIgnored: after our
// RST_STREAM the peer may have sent any frame before seeing it; DATA,
// HEADERS, WINDOW_UPDATE, RST_STREAM and PRIORITY are discarded quietly, and
// HEADERS still updates the HPACK state ("minimally process", RFC 9113 §5.1).
func TestStateRFC9113_5_1_AfterOurResetInFlightFramesIgnored(t *testing.T) {
	for _, role := range stateRoles {
		t.Run(role.String(), func(t *testing.T) {
			p := stateResetOpen(t, role, core.Config{})
			for _, kind := range []string{"DATA", "WINDOW_UPDATE", "HEADERS", "RST_STREAM", "PRIORITY"} {
				p.WriteFrames(stateFrameOn(p.FB, role, kind, 1))
				stateWantQuiet(p, "RFC 9113 §5.1 closed: in-flight "+kind+" after our RST_STREAM is discarded")
				if s := p.Conn.StreamState(1); s != core.StateClosed {
					t.Fatalf("StreamState(1) = %v after in-flight %s, want closed", s, kind)
				}
			}
			// The discarded HEADERS added x-inflight to the peer encoder's
			// dynamic table; the next block refers to it by index, which
			// decodes only if the core processed the discarded block.
			var e core.Event
			if role == core.RoleServer {
				p.WriteFrames(p.FB.Headers(3, coretest.EndStream|coretest.EndHeaders, coretest.Request("GET", "/", "x-inflight", "v")...))
				e = stateWantEv(p, "request after the discarded HEADERS", core.EventRequest, 3)
			} else {
				if _, err := p.Conn.OpenStream(stateGET, core.StreamOptions{EndStream: true}); err != nil {
					t.Fatal(err)
				}
				p.WantHeaders("second request", 3)
				p.WriteFrames(p.FB.Headers(3, coretest.EndStream|coretest.EndHeaders, coretest.Response("200", "x-inflight", "v")...))
				e = stateWantEv(p, "response after the discarded HEADERS", core.EventResponse, 3)
			}
			if got := e.Header("x-inflight"); got != "v" {
				t.Fatalf("x-inflight = %q, want v: the discarded HEADERS did not update the HPACK table (RFC 9113 §5.1, §4.3)", got)
			}
			p.Invariants()
		})
	}
}

// TestStateRFC9113_5_1_DataAfterOurResetCreditsConnectionWindow: DATA
// discarded after our RST_STREAM still counts toward the connection window,
// and its credit is returned: the window recovers with WINDOW_UPDATE(0).
func TestStateRFC9113_5_1_DataAfterOurResetCreditsConnectionWindow(t *testing.T) {
	for _, role := range stateRoles {
		t.Run(role.String(), func(t *testing.T) {
			p := stateResetOpen(t, role, core.Config{})
			full := p.Conn.RecvWindow(0)
			if full != 1<<20 {
				t.Fatalf("RecvWindow(0) = %d, want the default 1 MiB", full)
			}
			chunk := make([]byte, frame.MinMaxFrameSize)
			const frames = 16 // 16 × 16 KiB = a quarter of 1 MiB: the batching threshold
			for i := 1; i < frames; i++ {
				p.WriteFrames(p.FB.Data(1, false, chunk))
				stateWantQuiet(p, "discarded DATA below the WINDOW_UPDATE batch")
				if got, want := p.Conn.RecvWindow(0), full-int64(i*len(chunk)); got != want {
					t.Fatalf("after %d discarded frames RecvWindow(0) = %d, want %d", i, got, want)
				}
			}
			p.WriteFrames(p.FB.Data(1, false, chunk))
			f := p.WantFrame("RFC 9113 §5.1: content in discarded DATA is counted toward the connection window and returned",
				frame.TypeWindowUpdate, coretest.OnStream(0))
			if f.Increment != frames*frame.MinMaxFrameSize {
				t.Fatalf("WINDOW_UPDATE(0) +%d, want +%d", f.Increment, frames*frame.MinMaxFrameSize)
			}
			stateWantQuiet(p, "nothing else: no WINDOW_UPDATE on the reset stream")
			if got := p.Conn.RecvWindow(0); got != full {
				t.Fatalf("RecvWindow(0) = %d after the update, want %d", got, full)
			}
			p.Invariants()
		})
	}
}

// TestStateRFC9113_5_1_ResetGraceExpiry: frames on a stream we reset are
// ignored for Timeouts.ResetGrace; afterwards DATA and HEADERS on it are a
// connection error STREAM_CLOSED like on any closed stream, while
// WINDOW_UPDATE and RST_STREAM stay ignored. ResetStream takes no time, so
// the grace runs from the first input after it (here a WINDOW_UPDATE at
// once).
func TestStateRFC9113_5_1_ResetGraceExpiry(t *testing.T) {
	const grace = 2 * time.Second
	cfg := core.Config{Timeouts: core.Timeouts{ResetGrace: grace}}
	for _, role := range stateRoles {
		for _, tc := range []struct {
			kind string
			conn bool
		}{{"DATA", true}, {"HEADERS", true}, {"WINDOW_UPDATE", false}, {"RST_STREAM", false}} {
			name := role.String() + "/" + tc.kind + "_after_grace_is_ignored"
			if tc.conn {
				name = role.String() + "/" + tc.kind + "_after_grace_is_conn_STREAM_CLOSED"
			}
			t.Run(name, func(t *testing.T) {
				p := stateResetOpen(t, role, cfg)
				p.WriteFrames(p.FB.WindowUpdate(0, 1)) // dates the reset
				p.Advance(grace - time.Nanosecond)
				p.WriteFrames(p.FB.Data(1, false, []byte("in flight")))
				stateWantQuiet(p, "DATA within Timeouts.ResetGrace is discarded")
				p.Advance(2 * time.Nanosecond)
				p.WriteFrames(stateFrameOn(p.FB, role, tc.kind, 1))
				if tc.conn {
					stateWantConnErr(p, "after ResetGrace the stream is an ordinary closed stream: "+stateWhyClosed, frame.ErrCodeStreamClosed)
				} else {
					stateWantQuiet(p, stateWhyClosedX)
				}
				p.Invariants()
			})
		}
	}
}

// TestStateResetAfterQuietSpellGetsItsGrace: ResetStream takes no time, so
// the core only knows the time of its last input, which may be long past.
// A reset made after a quiet spell longer than Timeouts.ResetGrace must
// still ignore the frames that crossed its RST_STREAM (RFC 9113 §5.1), not
// treat them as a connection error. Found by TestSim in ./fuzz.
func TestStateResetAfterQuietSpellGetsItsGrace(t *testing.T) {
	for _, role := range stateRoles {
		t.Run(role.String(), func(t *testing.T) {
			p := stateNewPeer(t, role, core.Config{})
			stateOpenPOST(t, p, role)
			p.Now = p.Now.Add(11 * time.Second) // no input reaches the core meanwhile
			if err := p.Conn.ResetStream(1, frame.ErrCodeCancel); err != nil {
				t.Fatal(err)
			}
			p.WantRST("our RST_STREAM", 1, frame.ErrCodeCancel)
			stateWantEv(p, "terminal event of our reset", core.EventStreamReset, 1)
			p.WriteFrames(p.FB.Data(1, false, []byte("crossed the RST_STREAM")))
			stateWantQuiet(p, "DATA in flight when we reset is discarded, whenever the reset was made")
			p.Advance(10*time.Second - time.Nanosecond)
			p.WriteFrames(p.FB.Data(1, false, []byte("late")))
			stateWantQuiet(p, "still within the grace counted from the first input after the reset")
			p.Invariants()
		})
	}
}

// TestStateLimitsMaxResetStreamsForgetsOldest: Limits.MaxResetStreams bounds
// the streams we reset and still remember; one past the cap forgets the
// oldest, whose late DATA is then a connection STREAM_CLOSED, while the
// others are still discarded.
func TestStateLimitsMaxResetStreamsForgetsOldest(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cap      int
		oldestOK bool
	}{
		{"at_cap_all_remembered", 3, true},
		{"one_past_cap_forgets_oldest", 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := stateNewPeer(t, core.RoleServer, core.Config{Limits: core.Limits{MaxResetStreams: tc.cap}})
			for _, id := range []uint32{1, 3, 5} {
				p.WriteFrames(p.FB.Headers(id, coretest.EndHeaders, coretest.Request("POST", "/")...))
				stateWantEv(p, "request", core.EventRequest, id)
				if err := p.Conn.ResetStream(id, frame.ErrCodeCancel); err != nil {
					t.Fatal(err)
				}
				p.WantRST("our reset", id, frame.ErrCodeCancel)
				stateWantEv(p, "terminal event", core.EventStreamReset, id)
			}
			for _, id := range []uint32{5, 3} {
				p.WriteFrames(p.FB.Data(id, false, []byte("late")))
				stateWantQuiet(p, "a remembered reset stream discards late DATA")
			}
			p.WriteFrames(p.FB.Data(1, false, []byte("late")))
			if tc.oldestOK {
				stateWantQuiet(p, "within Limits.MaxResetStreams the oldest reset is remembered")
			} else {
				stateWantConnErr(p, "one past Limits.MaxResetStreams the oldest reset is forgotten: "+stateWhyClosed, frame.ErrCodeStreamClosed)
			}
			p.Invariants()
		})
	}
}
