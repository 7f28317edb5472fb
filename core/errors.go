package core

import (
	"errors"

	"github.com/h2proto/h2/core/frame"
)

// ErrCode is an HTTP/2 error code (RFC 9113 §7). It is the codec's type,
// aliased here for convenience.
type ErrCode = frame.ErrCode

// A ConnError is the reason a connection ended with an error: either we
// detected a connection error (RFC 9113 §5.4.1) and sent GOAWAY(Code), or the
// peer sent a GOAWAY with a non-zero code and closed.
type ConnError struct {
	Code   ErrCode
	Remote bool   // the peer reported the error in its GOAWAY
	Token  string // stable name of the broken rule, e.g. "data_stream_0"
	Reason string // the RFC section, or the peer's GOAWAY debug data
}

func (e *ConnError) Error() string {
	who := "local"
	if e.Remote {
		who = "remote"
	}
	return "h2: connection error (" + who + ") " + e.Code.String() + ": " + e.Token + " (" + e.Reason + ")"
}

// A StreamError describes why a stream was reset (RFC 9113 §5.4.2). Events
// carry the same information in their fields; Event.StreamErr builds one.
type StreamError struct {
	StreamID uint32
	Code     ErrCode
	Remote   bool   // the peer sent the RST_STREAM
	Token    string // stable name of the cause, e.g. "content_length_mismatch"

	// Retryable reports that the peer provably did not process the stream,
	// so a client may send the request again, on this connection or
	// another: the peer refused it with REFUSED_STREAM (RFC 9113 §8.7), or
	// its ID is above the last stream ID of a GOAWAY the peer sent (§6.8).
	// It is false for every other reset, after which the request may have
	// had effects.
	Retryable bool
}

func (e *StreamError) Error() string {
	who := "local"
	if e.Remote {
		who = "remote"
	}
	return "h2: stream " + itoa(int64(e.StreamID)) + " reset (" + who + ") " + e.Code.String() + ": " + e.Token
}

// A MessageError reports a header list given to a command that breaks a rule
// of RFC 9113 §8. Nothing was sent.
type MessageError struct {
	Field   string // the offending field name, when there is one
	Token   string // stable name of the rule, e.g. "uppercase_field_name"
	Section string // the RFC section that states the rule
}

func (e *MessageError) Error() string {
	s := "h2: invalid message: " + e.Token + " (" + e.Section + ")"
	if e.Field != "" {
		s += ": field " + quote(e.Field)
	}
	return s
}

// Sentinel errors returned by commands: the application asked for something
// the protocol or the connection's state does not allow. Nothing was sent.
var (
	ErrClosed                  = errors.New("h2: connection closed")
	ErrNotClient               = errors.New("h2: operation requires the client role")
	ErrNotServer               = errors.New("h2: operation requires the server role")
	ErrGoAwaySent              = errors.New("h2: GOAWAY sent, no new streams")
	ErrGoAwayReceived          = errors.New("h2: GOAWAY received, no new streams")
	ErrMaxStreams              = errors.New("h2: peer's SETTINGS_MAX_CONCURRENT_STREAMS reached")
	ErrStreamIDsExhausted      = errors.New("h2: stream identifiers exhausted; open a new connection")
	ErrStreamNotFound          = errors.New("h2: no such stream")
	ErrStreamClosed            = errors.New("h2: stream closed")
	ErrInvalidStreamState      = errors.New("h2: operation not allowed in the stream's state")
	ErrSendBufferFull          = errors.New("h2: stream send buffer full")
	ErrHeaderListTooLarge      = errors.New("h2: header list exceeds peer's SETTINGS_MAX_HEADER_LIST_SIZE")
	ErrExtendedConnectDisabled = errors.New("h2: peer has not enabled extended CONNECT (RFC 8441)")
	ErrBodyNotAllowed          = errors.New("h2: message must not have content (HEAD, 1xx, 204, 304)")
	ErrContentLength           = errors.New("h2: content does not match content-length")
	ErrTunnelTrailers          = errors.New("h2: trailers are not allowed on a CONNECT tunnel")
	ErrNotManualFlowControl    = errors.New("h2: stream uses automatic flow control")
	ErrConsumeTooMuch          = errors.New("h2: consumed more than was delivered")
	ErrTooManyPings            = errors.New("h2: too many outstanding PINGs")
	ErrTooManySettings         = errors.New("h2: too many unacknowledged SETTINGS")
	ErrInvalidSetting          = errors.New("h2: invalid setting value")
	ErrPushUnsupported         = errors.New("h2: server push is not supported")
)

// ErrConnectionLost is the Err of streams and of the EventClosed that end
// because the transport went away (HandleTransportClosed).
var ErrConnectionLost = errors.New("h2: connection lost")

// An AbuseKind names the defence that closed a connection with
// ENHANCE_YOUR_CALM (or, for queue floods, dropped it). See DESIGN §5 and
// docs/architecture.md for the limits behind each.
type AbuseKind uint8

// Abuse kinds.
const (
	AbuseNone                AbuseKind = iota
	AbuseControlFlood                  // queued control frames (ACKs, RSTs, WINDOW_UPDATEs) over Limits.MaxQueuedControlFrames
	AbuseOutboundFlood                 // queued frames over Limits.MaxQueuedFrames
	AbuseTooManySettings               // a SETTINGS frame with more than Limits.MaxSettingsEntries entries
	AbuseRapidReset                    // received RST_STREAM rate over Limits.ResetRate
	AbusePendingStreams                // streams waiting for the application over Limits.MaxPendingStreams
	AbuseForcedResets                  // resets the peer provoked over Limits.MaxForcedResets
	AbuseGlitches                      // suspicious-but-legal frames over Limits.Glitch
	AbuseContinuationFlood             // CONTINUATION frames per block over Limits.MaxContinuations
	AbuseHeaderBlockTooLarge           // encoded field block over Limits.MaxHeaderBlockSize
	AbuseHeaderBlockTimeout            // a field block left unfinished for Timeouts.HeaderBlock
	AbuseMemory                        // accounted memory (Conn.Memory) over Limits.MaxConnMemory
)

var abuseNames = [...]string{
	AbuseNone:                "none",
	AbuseControlFlood:        "control_frame_flood",
	AbuseOutboundFlood:       "outbound_flood",
	AbuseTooManySettings:     "too_many_settings",
	AbuseRapidReset:          "rapid_reset",
	AbusePendingStreams:      "too_many_pending_streams",
	AbuseForcedResets:        "too_many_provoked_resets",
	AbuseGlitches:            "glitch_budget_exhausted",
	AbuseContinuationFlood:   "continuation_flood",
	AbuseHeaderBlockTooLarge: "header_block_too_large",
	AbuseHeaderBlockTimeout:  "header_block_timeout",
	AbuseMemory:              "memory_budget_exceeded",
}

// String returns the kind's stable name, also used as GOAWAY debug data.
func (k AbuseKind) String() string {
	if int(k) < len(abuseNames) {
		return abuseNames[k]
	}
	return "abuse_" + itoa(int64(k))
}

// rule builds a stream-scoped PROTOCOL_ERROR for an RFC 9113 §8 message rule.
func rule(token, section string) *frame.Error {
	return &frame.Error{Code: frame.ErrCodeProtocol, Stream: true, Token: token, Section: section}
}

func connRule(code ErrCode, token, section string) *frame.Error {
	return &frame.Error{Code: code, Token: token, Section: section}
}

func streamRule(code ErrCode, token, section string) *frame.Error {
	return &frame.Error{Code: code, Stream: true, Token: token, Section: section}
}

// Connection-state violations detected by the core (frame-local ones live in
// package frame).
var (
	errBadPreface          = connRule(frame.ErrCodeProtocol, "bad_preface", "RFC 9113 §3.4")
	errFirstNotSettings    = connRule(frame.ErrCodeProtocol, "first_frame_not_settings", "RFC 9113 §3.4")
	errHeaderBlockBroken   = connRule(frame.ErrCodeProtocol, "header_block_interrupted", "RFC 9113 §6.10")
	errContinuationUnexp   = connRule(frame.ErrCodeProtocol, "unexpected_continuation", "RFC 9113 §6.10")
	errIdleStreamFrame     = connRule(frame.ErrCodeProtocol, "frame_on_idle_stream", "RFC 9113 §5.1")
	errClosedStreamFrame   = connRule(frame.ErrCodeStreamClosed, "frame_on_closed_stream", "RFC 9113 §5.1")
	errStreamIDParity      = connRule(frame.ErrCodeProtocol, "stream_id_parity", "RFC 9113 §5.1.1")
	errStreamIDDecreased   = connRule(frame.ErrCodeProtocol, "stream_id_not_increasing", "RFC 9113 §5.1.1")
	errPushPromise         = connRule(frame.ErrCodeProtocol, "push_promise_not_enabled", "RFC 9113 §6.6, §8.4")
	errCompression         = connRule(frame.ErrCodeCompression, "hpack_decoding", "RFC 7541 §2.3, §4, §6")
	errSizeUpdateMissing   = connRule(frame.ErrCodeCompression, "hpack_size_update_missing", "RFC 7541 §4.2")
	errConnWindowOverflow  = connRule(frame.ErrCodeFlowControl, "connection_window_overflow", "RFC 9113 §6.9.1")
	errConnFlowControl     = connRule(frame.ErrCodeFlowControl, "connection_window_exceeded", "RFC 9113 §6.9")
	errSettingsWindow      = connRule(frame.ErrCodeFlowControl, "settings_window_overflow", "RFC 9113 §6.9.2")
	errUnsolicitedAck      = connRule(frame.ErrCodeProtocol, "unsolicited_settings_ack", "RFC 9113 §6.5.3")
	errServerPush          = connRule(frame.ErrCodeProtocol, "server_enabled_push", "RFC 9113 §6.5.2")
	errConnectProtoRevoked = connRule(frame.ErrCodeProtocol, "connect_protocol_revoked", "RFC 8441 §3")
	errSettingsTimeout     = connRule(frame.ErrCodeSettingsTimeout, "settings_ack_timeout", "RFC 9113 §6.5.3")
	errPrefaceTimeout      = connRule(frame.ErrCodeNo, "preface_timeout", "RFC 9113 §3.4")
	errKeepAliveTimeout    = connRule(frame.ErrCodeNo, "keepalive_timeout", "RFC 9113 §6.7")
	errIdleTimeout         = connRule(frame.ErrCodeNo, "idle_timeout", "RFC 9113 §9.1")
	errRSTIdle             = connRule(frame.ErrCodeProtocol, "rst_stream_idle", "RFC 9113 §6.4")

	errStreamClosed     = streamRule(frame.ErrCodeStreamClosed, "frame_on_half_closed_stream", "RFC 9113 §5.1")
	errStreamFlow       = streamRule(frame.ErrCodeFlowControl, "stream_window_exceeded", "RFC 9113 §6.9")
	errStreamWindowOver = streamRule(frame.ErrCodeFlowControl, "stream_window_overflow", "RFC 9113 §6.9.1")
	errRefused          = streamRule(frame.ErrCodeRefusedStream, "max_concurrent_streams", "RFC 9113 §5.1.2")
	errHeaderListLarge  = streamRule(frame.ErrCodeCancel, "header_list_too_large", "RFC 9113 §10.5.1")
)

func itoa(v int64) string {
	var b [20]byte
	return string(appendInt(b[:0], v))
}

func appendInt(dst []byte, v int64) []byte {
	if v < 0 {
		dst = append(dst, '-')
		v = -v
	}
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}

func quote(s string) string {
	return "\"" + s + "\""
}
