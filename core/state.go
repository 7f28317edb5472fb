package core

import "github.com/h2proto/h2/core/frame"

// StreamState is a stream state of RFC 9113 §5.1.
type StreamState uint8

// Stream states (RFC 9113 §5.1, Figure 2).
const (
	StateIdle StreamState = iota
	StateReservedLocal
	StateReservedRemote
	StateOpen
	StateHalfClosedLocal
	StateHalfClosedRemote
	StateClosed
	numStates
)

var stateNames = [...]string{
	StateIdle:             "idle",
	StateReservedLocal:    "reserved_local",
	StateReservedRemote:   "reserved_remote",
	StateOpen:             "open",
	StateHalfClosedLocal:  "half_closed_local",
	StateHalfClosedRemote: "half_closed_remote",
	StateClosed:           "closed",
}

func (s StreamState) String() string { return stateNames[s] }

// streamInput is an event that moves a stream through the state machine: a
// frame sent or received, or the END_STREAM flag it carried (applied after
// the frame itself).
type streamInput uint8

const (
	sendHeaders streamInput = iota
	sendData
	sendEndStream
	sendReset
	sendPushPromise
	recvHeaders
	recvData
	recvEndStream
	recvReset
	recvPushPromise
	recvPriority
	recvWindowUpdate
	numInputs
)

var inputNames = [...]string{
	sendHeaders:      "send_HEADERS",
	sendData:         "send_DATA",
	sendEndStream:    "send_END_STREAM",
	sendReset:        "send_RST_STREAM",
	sendPushPromise:  "send_PUSH_PROMISE",
	recvHeaders:      "recv_HEADERS",
	recvData:         "recv_DATA",
	recvEndStream:    "recv_END_STREAM",
	recvReset:        "recv_RST_STREAM",
	recvPushPromise:  "recv_PUSH_PROMISE",
	recvPriority:     "recv_PRIORITY",
	recvWindowUpdate: "recv_WINDOW_UPDATE",
}

func (i streamInput) String() string { return inputNames[i] }

// transition is one cell of the table. The zero value means "not allowed":
// for a received frame, a connection error of type PROTOCOL_ERROR; for a send,
// an API error. A non-nil err names a different outcome for a received
// frame.
type transition struct {
	ok   bool
	next StreamState
	err  *frame.Error
}

func to(s StreamState) transition { return transition{ok: true, next: s} }

func fail(e *frame.Error) transition { return transition{err: e} }

// transitions is RFC 9113 §5.1 as data: transitions[state][input]. Rows for
// the reserved states exist for completeness; h2proto never enables push, so
// no stream enters them.
var transitions = [numStates][numInputs]transition{
	StateIdle: {
		sendHeaders:     to(StateOpen),
		sendPushPromise: to(StateReservedLocal),
		recvHeaders:     to(StateOpen),
		recvPushPromise: to(StateReservedRemote),
		recvPriority:    to(StateIdle),
		// "Receiving any frame other than HEADERS or PRIORITY on a stream in
		// this state MUST be treated as a connection error of type
		// PROTOCOL_ERROR": the zero entries.
		recvData:         fail(errIdleStreamFrame),
		recvReset:        fail(errRSTIdle),
		recvWindowUpdate: fail(errIdleStreamFrame),
	},
	StateReservedLocal: {
		sendHeaders:      to(StateHalfClosedRemote),
		sendReset:        to(StateClosed),
		recvReset:        to(StateClosed),
		recvPriority:     to(StateReservedLocal),
		recvWindowUpdate: to(StateReservedLocal),
	},
	StateReservedRemote: {
		recvHeaders:  to(StateHalfClosedLocal),
		sendReset:    to(StateClosed),
		recvReset:    to(StateClosed),
		recvPriority: to(StateReservedRemote),
	},
	StateOpen: {
		sendHeaders:      to(StateOpen),
		sendData:         to(StateOpen),
		sendEndStream:    to(StateHalfClosedLocal),
		sendReset:        to(StateClosed),
		recvHeaders:      to(StateOpen),
		recvData:         to(StateOpen),
		recvEndStream:    to(StateHalfClosedRemote),
		recvReset:        to(StateClosed),
		recvPriority:     to(StateOpen),
		recvWindowUpdate: to(StateOpen),
	},
	StateHalfClosedLocal: {
		sendReset:        to(StateClosed),
		recvHeaders:      to(StateHalfClosedLocal),
		recvData:         to(StateHalfClosedLocal),
		recvEndStream:    to(StateClosed),
		recvReset:        to(StateClosed),
		recvPriority:     to(StateHalfClosedLocal),
		recvWindowUpdate: to(StateHalfClosedLocal),
	},
	StateHalfClosedRemote: {
		sendHeaders:   to(StateHalfClosedRemote),
		sendData:      to(StateHalfClosedRemote),
		sendEndStream: to(StateClosed),
		sendReset:     to(StateClosed),
		// "If an endpoint receives additional frames, other than
		// WINDOW_UPDATE, PRIORITY, or RST_STREAM, for a stream that is in this
		// state, it MUST respond with a stream error of type STREAM_CLOSED."
		recvHeaders:      fail(errStreamClosed),
		recvData:         fail(errStreamClosed),
		recvReset:        to(StateClosed),
		recvPriority:     to(StateHalfClosedRemote),
		recvWindowUpdate: to(StateHalfClosedRemote),
	},
	StateClosed: {
		// WINDOW_UPDATE and RST_STREAM can cross our END_STREAM or
		// RST_STREAM in flight; they are ignored (RFC 9113 §5.1 "closed").
		recvReset:        to(StateClosed),
		recvPriority:     to(StateClosed),
		recvWindowUpdate: to(StateClosed),
		// DATA and HEADERS on a closed stream: connection error
		// STREAM_CLOSED. Frames on a stream we reset are ignored before the
		// table is consulted (Stream.resetByUs and Conn.resets).
		recvHeaders: fail(errClosedStreamFrame),
		recvData:    fail(errClosedStreamFrame),
	},
}

// step returns the outcome of input in state s.
func step(s StreamState, in streamInput) transition {
	t := transitions[s][in]
	if !t.ok && t.err == nil && in >= recvHeaders {
		t.err = errIdleStreamFrame // the zero entry: PROTOCOL_ERROR
		if s != StateIdle {
			t.err = errUnexpectedFrame
		}
	}
	return t
}

var errUnexpectedFrame = connRule(frame.ErrCodeProtocol, "frame_not_allowed_in_state", "RFC 9113 §5.1")

// canSend reports whether the local side may still send in state s.
func canSend(s StreamState) bool {
	return s == StateOpen || s == StateHalfClosedRemote
}

// canRecv reports whether the peer may still send in state s.
func canRecv(s StreamState) bool {
	return s == StateOpen || s == StateHalfClosedLocal
}
