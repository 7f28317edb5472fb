package frame

import "errors"

// ErrNeedMore is returned by Parse and ParseHeader when the input holds less
// than one whole frame. It is not a protocol error: the caller should supply
// more bytes and try again.
var ErrNeedMore = errors.New("frame: need more bytes")

// An Error reports a malformed frame. Errors are preallocated package values:
// compare Token (or the pointer) in tests, never the message.
type Error struct {
	// Code is the error code the receiver must send (RFC 9113 §7).
	Code ErrCode
	// Stream is true for a stream error (RFC 9113 §5.4.2) on the frame's
	// stream, false for a connection error (RFC 9113 §5.4.1).
	Stream bool
	// Token is a stable, unique name for this failure, e.g. "data_stream_0".
	Token string
	// Section is the RFC section that states the rule.
	Section string
}

func (e *Error) Error() string {
	scope := "connection"
	if e.Stream {
		scope = "stream"
	}
	return "frame: " + scope + " error " + e.Code.String() + ": " + e.Token + " (" + e.Section + ")"
}

func connErr(code ErrCode, token, section string) *Error {
	return &Error{Code: code, Token: token, Section: section}
}

func streamErr(code ErrCode, token, section string) *Error {
	return &Error{Code: code, Stream: true, Token: token, Section: section}
}

// The malformed-frame errors, one per rule.
var (
	ErrFrameTooLarge = connErr(ErrCodeFrameSize, "frame_too_large", "RFC 9113 §4.2")

	ErrDataStream0     = connErr(ErrCodeProtocol, "data_stream_0", "RFC 9113 §6.1")
	ErrDataPadShort    = connErr(ErrCodeFrameSize, "data_pad_short", "RFC 9113 §6.1")
	ErrDataPadTooLong  = connErr(ErrCodeProtocol, "data_pad_too_long", "RFC 9113 §6.1")
	ErrHeadersStream0  = connErr(ErrCodeProtocol, "headers_stream_0", "RFC 9113 §6.2")
	ErrHeadersShort    = connErr(ErrCodeFrameSize, "headers_short", "RFC 9113 §6.2")
	ErrHeadersPadLong  = connErr(ErrCodeProtocol, "headers_pad_too_long", "RFC 9113 §6.2")
	ErrHeadersSelfDep  = streamErr(ErrCodeProtocol, "headers_self_dependency", "RFC 9113 §5.3.1")
	ErrPriorityStream0 = connErr(ErrCodeProtocol, "priority_stream_0", "RFC 9113 §6.3")
	ErrPriorityLength  = streamErr(ErrCodeFrameSize, "priority_length", "RFC 9113 §6.3")
	ErrPrioritySelfDep = streamErr(ErrCodeProtocol, "priority_self_dependency", "RFC 9113 §5.3.1")
	ErrRSTStream0      = connErr(ErrCodeProtocol, "rst_stream_stream_0", "RFC 9113 §6.4")
	ErrRSTLength       = connErr(ErrCodeFrameSize, "rst_stream_length", "RFC 9113 §6.4")
	ErrSettingsStream  = connErr(ErrCodeProtocol, "settings_stream_nonzero", "RFC 9113 §6.5")
	ErrSettingsAckLen  = connErr(ErrCodeFrameSize, "settings_ack_length", "RFC 9113 §6.5")
	ErrSettingsLength  = connErr(ErrCodeFrameSize, "settings_length", "RFC 9113 §6.5")
	ErrPushStream0     = connErr(ErrCodeProtocol, "push_promise_stream_0", "RFC 9113 §6.6")
	ErrPushShort       = connErr(ErrCodeFrameSize, "push_promise_short", "RFC 9113 §6.6")
	ErrPushPadLong     = connErr(ErrCodeProtocol, "push_promise_pad_too_long", "RFC 9113 §6.6")
	ErrPingStream      = connErr(ErrCodeProtocol, "ping_stream_nonzero", "RFC 9113 §6.7")
	ErrPingLength      = connErr(ErrCodeFrameSize, "ping_length", "RFC 9113 §6.7")
	ErrGoAwayStream    = connErr(ErrCodeProtocol, "goaway_stream_nonzero", "RFC 9113 §6.8")
	ErrGoAwayShort     = connErr(ErrCodeFrameSize, "goaway_short", "RFC 9113 §6.8")
	ErrWindowLength    = connErr(ErrCodeFrameSize, "window_update_length", "RFC 9113 §6.9")
	ErrWindowZeroConn  = connErr(ErrCodeProtocol, "window_update_zero_conn", "RFC 9113 §6.9")
	ErrWindowZero      = streamErr(ErrCodeProtocol, "window_update_zero", "RFC 9113 §6.9")
	ErrContStream0     = connErr(ErrCodeProtocol, "continuation_stream_0", "RFC 9113 §6.10")

	ErrSettingEnablePush   = connErr(ErrCodeProtocol, "setting_enable_push", "RFC 9113 §6.5.2")
	ErrSettingWindowSize   = connErr(ErrCodeFlowControl, "setting_initial_window_size", "RFC 9113 §6.5.2")
	ErrSettingFrameSize    = connErr(ErrCodeProtocol, "setting_max_frame_size", "RFC 9113 §6.5.2")
	ErrSettingConnectProto = connErr(ErrCodeProtocol, "setting_enable_connect_protocol", "RFC 8441 §3")
	ErrSettingNoPriorities = connErr(ErrCodeProtocol, "setting_no_rfc7540_priorities", "RFC 9218 §2.1")
)
