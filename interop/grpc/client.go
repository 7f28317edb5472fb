package grpcinterop

import (
	"context"
	"errors"
	"io"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// CallOptions configure one call made with NewCall. The zero value is a
// call without deadline, in automatic flow control.
type CallOptions struct {
	// Timeout, when positive, is sent as grpc-timeout: the server ends
	// the call with DEADLINE_EXCEEDED when it passes. It does not bound
	// the call locally; give NewCall a context with a deadline for that
	// (its end resets the stream with CANCEL).
	Timeout time.Duration

	// ManualConsume makes the caller return received bytes to the
	// flow-control windows with Stream().Consume (see
	// h2.RequestOptions.ManualConsume): Recv then credits nothing, and the
	// peer stalls once a window of bytes is received and not consumed.
	ManualConsume bool

	// Handler, when set, takes the stream's events instead of Recv (see
	// h2.RequestOptions.Handler).
	Handler func(*h2.Stream, h2.Event)

	// MaxMessageSize bounds each received message; zero means
	// DefaultMaxMessageSize.
	MaxMessageSize int
}

// ClientStream is one gRPC call made over an h2proto client connection,
// the wire protocol written by hand: POST with content-type
// application/grpc and te: trailers, length-prefixed messages, the status
// read from the trailers or from a trailers-only response.
type ClientStream struct {
	s   *h2.Stream
	ctx context.Context
	mr  *MessageReader
	// deadline is when the grpc-timeout sent passes (zero without one).
	deadline time.Time
	resp     *h2.Response
	st       *status.Status
	buf      []byte
}

// NewCall starts a call of method ("/pkg.Service/Method") on c. ctx
// bounds the whole call: its end resets the stream with CANCEL (RFC 9113
// §8.7 and gRPC's cancellation). opts may be nil.
func NewCall(ctx context.Context, c *h2.Conn, method string, opts *CallOptions) (*ClientStream, error) {
	if opts == nil {
		opts = &CallOptions{}
	}
	extra := []h2.HeaderField{
		{Name: "content-type", Value: "application/grpc"},
		{Name: "te", Value: "trailers"},
	}
	if opts.Timeout > 0 {
		v, err := FormatTimeout(opts.Timeout)
		if err != nil {
			return nil, err
		}
		extra = append(extra, h2.HeaderField{Name: "grpc-timeout", Value: v})
	}
	s, err := c.Request(ctx, c.NewRequest("POST", method, extra...),
		&h2.RequestOptions{ManualConsume: opts.ManualConsume, Handler: opts.Handler})
	if err != nil {
		return nil, err
	}
	cs := &ClientStream{s: s, ctx: ctx, mr: NewMessageReader(s, opts.MaxMessageSize)}
	if opts.Timeout > 0 {
		cs.deadline = time.Now().Add(opts.Timeout)
	}
	return cs, nil
}

// Stream returns the HTTP/2 stream carrying the call.
func (cs *ClientStream) Stream() *h2.Stream { return cs.s }

// Send sends one request message, blocking while flow control holds it
// back.
func (cs *ClientStream) Send(msg []byte) error {
	cs.buf = AppendMessage(cs.buf[:0], msg)
	_, err := cs.s.WriteContext(cs.ctx, cs.buf)
	return err
}

// CloseSend half-closes the call: the request stream is complete.
func (cs *ClientStream) CloseSend() error { return cs.s.CloseWrite() }

// Header waits for the response head and checks it is a gRPC response.
func (cs *ClientStream) Header() (*h2.Response, error) {
	if cs.resp != nil {
		return cs.resp, nil
	}
	resp, err := cs.s.Response(cs.ctx)
	if err != nil {
		return nil, cs.resetErr(err)
	}
	if resp.Status != 200 {
		return nil, status.Errorf(httpCode(resp.Status), "HTTP status %d", resp.Status)
	}
	if !isGRPC(resp.Get("content-type")) {
		return nil, status.Errorf(codes.Internal, "response content-type %q is not gRPC", resp.Get("content-type"))
	}
	cs.resp = resp
	return resp, nil
}

// httpCode maps a non-200 HTTP status to a gRPC code (gRPC's
// http-grpc-status-mapping.md).
func httpCode(s int) codes.Code {
	switch s {
	case 400:
		return codes.Internal
	case 401:
		return codes.Unauthenticated
	case 403:
		return codes.PermissionDenied
	case 404:
		return codes.Unimplemented
	case 429, 502, 503, 504:
		return codes.Unavailable
	}
	return codes.Unknown
}

// Recv returns the next response message. At the end of the call it
// returns io.EOF if the status is OK, else the status as an error (as
// grpc-go's RecvMsg does); Status then holds it. A reset stream returns
// the reset (*core.StreamError) or the context's error.
func (cs *ClientStream) Recv() ([]byte, error) {
	if cs.st != nil {
		return nil, cs.endErr()
	}
	if _, err := cs.Header(); err != nil {
		return nil, err
	}
	msg, err := cs.mr.Next()
	if err == nil {
		return msg, nil
	}
	if !errors.Is(err, io.EOF) {
		return nil, cs.resetErr(err)
	}
	fields := cs.s.Trailers()
	if fields == nil {
		fields = cs.resp.Header // trailers-only
	}
	st, ok := ParseStatus(fields)
	if !ok {
		st = status.New(codes.Internal, "response ended without grpc-status")
	}
	cs.st = st
	return nil, cs.endErr()
}

// resetErr explains a stream that ended without a status. Our context's
// end comes first, as it is what reset the stream. A peer's reset
// becomes a status (gRPC PROTOCOL-HTTP2, "Errors"), except that a CANCEL
// once the grpc-timeout has passed is DEADLINE_EXCEEDED: grpc-go servers
// end expired calls with RST_STREAM(CANCEL) and no status.
func (cs *ClientStream) resetErr(err error) error {
	if cerr := cs.ctx.Err(); cerr != nil {
		return cerr
	}
	var se *core.StreamError
	if !errors.As(err, &se) || !se.Remote {
		return err
	}
	code := resetCode(se.Code)
	if se.Code == frame.ErrCodeCancel && !cs.deadline.IsZero() && !time.Now().Before(cs.deadline) {
		code = codes.DeadlineExceeded
	}
	return status.Error(code, err.Error())
}

// resetCode maps an RST_STREAM error code to a gRPC status code (gRPC
// PROTOCOL-HTTP2, "Errors").
func resetCode(c core.ErrCode) codes.Code {
	switch c {
	case frame.ErrCodeNo, frame.ErrCodeProtocol, frame.ErrCodeInternal,
		frame.ErrCodeFlowControl, frame.ErrCodeSettingsTimeout,
		frame.ErrCodeFrameSize, frame.ErrCodeCompression, frame.ErrCodeConnect:
		return codes.Internal
	case frame.ErrCodeRefusedStream:
		return codes.Unavailable
	case frame.ErrCodeCancel:
		return codes.Canceled
	case frame.ErrCodeEnhanceYourCalm:
		return codes.ResourceExhausted
	case frame.ErrCodeInadequateSecurity:
		return codes.PermissionDenied
	}
	return codes.Unknown
}

func (cs *ClientStream) endErr() error {
	if cs.st.Code() == codes.OK {
		return io.EOF
	}
	return cs.st.Err()
}

// Status returns the call's status once Recv has returned the end, or nil.
func (cs *ClientStream) Status() *status.Status { return cs.st }

// Invoke makes a unary call: one request message, one response message.
// A non-OK status is returned as a status error.
func Invoke(ctx context.Context, c *h2.Conn, method string, req []byte, opts *CallOptions) ([]byte, error) {
	cs, err := NewCall(ctx, c, method, opts)
	if err != nil {
		return nil, err
	}
	if err := cs.Send(req); err != nil {
		return nil, err
	}
	if err := cs.CloseSend(); err != nil {
		return nil, err
	}
	resp, err := cs.Recv()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, status.Error(codes.Internal, "OK status without a response message")
		}
		return nil, err
	}
	if _, err := cs.Recv(); !errors.Is(err, io.EOF) {
		if err == nil {
			return nil, status.Error(codes.Internal, "unary call answered with more than one message")
		}
		return nil, err
	}
	return resp, nil
}
