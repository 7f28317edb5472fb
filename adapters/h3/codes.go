package h3

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// CodeToH3 maps an HTTP/2 error code (RFC 9113 §7) to the HTTP/3 code of
// the same meaning (RFC 9114 §8.1, Appendix A.4.1). ok is false for the
// codes HTTP/3 has no counterpart for: FLOW_CONTROL_ERROR, SETTINGS_TIMEOUT,
// STREAM_CLOSED, FRAME_SIZE_ERROR and INADEQUATE_SECURITY (QUIC handles
// those at its own layer) and unknown codes.
func CodeToH3(c core.ErrCode) (code http3.ErrCode, ok bool) {
	switch c {
	case frame.ErrCodeNo:
		return http3.ErrCodeNoError, true
	case frame.ErrCodeProtocol:
		return http3.ErrCodeGeneralProtocolError, true
	case frame.ErrCodeInternal:
		return http3.ErrCodeInternalError, true
	case frame.ErrCodeRefusedStream:
		return http3.ErrCodeRequestRejected, true
	case frame.ErrCodeCancel:
		return http3.ErrCodeRequestCanceled, true
	case frame.ErrCodeCompression:
		return http3.ErrCodeQPACKDecompressionFailed, true
	case frame.ErrCodeConnect:
		return http3.ErrCodeConnectError, true
	case frame.ErrCodeEnhanceYourCalm:
		return http3.ErrCodeExcessiveLoad, true
	case frame.ErrCodeHTTP11Required:
		return http3.ErrCodeVersionFallback, true
	}
	return 0, false
}

// CodeFromH3 maps an HTTP/3 error code to the nearest HTTP/2 one, so that
// resets read the same under both protocols: REQUEST_CANCELLED is CANCEL,
// REQUEST_REJECTED is REFUSED_STREAM, EXCESSIVE_LOAD is ENHANCE_YOUR_CALM,
// the framing and message errors are PROTOCOL_ERROR, and codes without a
// counterpart (including reserved and unknown ones) are INTERNAL_ERROR.
func CodeFromH3(c http3.ErrCode) core.ErrCode {
	switch c {
	case http3.ErrCodeNoError:
		return frame.ErrCodeNo
	case http3.ErrCodeGeneralProtocolError, http3.ErrCodeStreamCreationError,
		http3.ErrCodeClosedCriticalStream, http3.ErrCodeFrameUnexpected,
		http3.ErrCodeFrameError, http3.ErrCodeIDError, http3.ErrCodeSettingsError,
		http3.ErrCodeMissingSettings, http3.ErrCodeRequestIncomplete,
		http3.ErrCodeMessageError:
		return frame.ErrCodeProtocol
	case http3.ErrCodeRequestRejected:
		return frame.ErrCodeRefusedStream
	case http3.ErrCodeRequestCanceled:
		return frame.ErrCodeCancel
	case http3.ErrCodeExcessiveLoad:
		return frame.ErrCodeEnhanceYourCalm
	case http3.ErrCodeConnectError:
		return frame.ErrCodeConnect
	case http3.ErrCodeVersionFallback:
		return frame.ErrCodeHTTP11Required
	case http3.ErrCodeQPACKDecompressionFailed:
		return frame.ErrCodeCompression
	}
	return frame.ErrCodeInternal
}

// h3Token names an HTTP/3 code for StreamError.Token.
func h3Token(c http3.ErrCode) string {
	s := c.String()
	if s == "" {
		s = fmt.Sprintf("h3_code_%#x", uint64(c))
	}
	return s
}

// classify sorts an error from quic-go: a stream reset (returned as a
// *core.StreamError with the mapped code, so that it reads as under
// HTTP/2) or anything else, which is the connection's end or a transport
// failure and is returned as is.
func classify(id uint32, err error) (serr *core.StreamError, other error) {
	if se, ok := errors.AsType[*quic.StreamError](err); ok {
		c := http3.ErrCode(se.ErrorCode)
		// H3_REQUEST_REJECTED promises that the server did not process
		// the request (RFC 9114 §8.1), as REFUSED_STREAM does in HTTP/2.
		retry := se.Remote && c == http3.ErrCodeRequestRejected
		return &core.StreamError{StreamID: id, Code: CodeFromH3(c), Remote: se.Remote, Token: h3Token(c), Retryable: retry}, nil
	}
	return nil, err
}

// connErr turns the cause of a QUIC connection's end into the Conn's Err:
// nil for a close with H3_NO_ERROR by either side, else the error.
func connErr(err error) error {
	if err == nil {
		return nil
	}
	if ae, ok := errors.AsType[*quic.ApplicationError](err); ok && http3.ErrCode(ae.ErrorCode) == http3.ErrCodeNoError {
		return nil
	}
	return err
}

// isConnUnusable reports quic-go's error for a request it opened no
// stream for (a GOAWAY arrived, RFC 9114 §5.2, or the connection is going
// away): its type is unexported, its text stable.
func isConnUnusable(err error) bool {
	return strings.Contains(err.Error(), "http3: conn unusable")
}

// malformed names the fault of a message quic-go rejected (an error that
// is neither a stream reset nor the connection's end): content that does
// not match its content-length (RFC 9114 §4.1.2; quic-go's body returns
// io.ErrUnexpectedEOF when it is short and "peer sent too much data" when
// it is long), else a malformed response or request.
func (s *Stream) malformed(err error) string {
	switch {
	case err == io.ErrUnexpectedEOF, err.Error() == "peer sent too much data":
		return "content_length_mismatch"
	case s.sv != nil:
		return "malformed_request"
	}
	return "malformed_response"
}
