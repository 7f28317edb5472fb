package grpcinterop

import (
	"context"
	"errors"
	"io"
	"strings"

	h2 "github.com/h2proto/h2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// UnaryFunc answers one request message with one response message, or an
// error (a gRPC status error, or any error, sent as UNKNOWN).
type UnaryFunc func(ctx context.Context, req []byte) ([]byte, error)

// StreamFunc runs a streaming call (server-streaming, client-streaming or
// bidi): it receives with ss.Recv and sends with ss.Send, and its return
// value becomes the call's status.
type StreamFunc func(ss *ServerStream) error

// Server is a hand-written gRPC server on h2proto's runtime: an
// h2.Handler speaking the gRPC HTTP/2 wire protocol for raw-byte
// messages. It supports what interop tests need — unary and streaming
// methods, status in trailers or as a trailers-only response, grpc-timeout
// — and nothing more: no compression (a grpc-encoding other than identity
// is refused with UNIMPLEMENTED), no metadata beyond the status, no
// reflection or health service.
type Server struct {
	// Unary and Streams map full method names ("/pkg.Service/Method") to
	// their handlers. Unknown methods get UNIMPLEMENTED.
	Unary   map[string]UnaryFunc
	Streams map[string]StreamFunc

	// MaxMessageSize bounds each received message; larger ones end the
	// call with RESOURCE_EXHAUSTED. Zero means DefaultMaxMessageSize, the
	// same 4 MiB as grpc-go.
	MaxMessageSize int
}

// ServerStream is one call on a Server.
type ServerStream struct {
	s          *h2.Stream
	ctx        context.Context
	mr         *MessageReader
	headerSent bool
	buf        []byte
}

// Context is the call's context: done when the stream ends (the client
// reset it) or the client's grpc-timeout expires.
func (ss *ServerStream) Context() context.Context { return ss.ctx }

// Stream returns the HTTP/2 stream carrying the call.
func (ss *ServerStream) Stream() *h2.Stream { return ss.s }

// Recv returns the next request message, or io.EOF once the client has
// half-closed its side.
func (ss *ServerStream) Recv() ([]byte, error) {
	msg, err := ss.mr.Next()
	switch {
	case err == nil, errors.Is(err, io.EOF):
		return msg, err
	case errors.Is(err, ErrCompressed), errors.Is(err, ErrTruncated):
		return nil, status.Error(codes.Internal, err.Error())
	}
	var tl *TooLargeError
	if errors.As(err, &tl) {
		return nil, status.Error(codes.ResourceExhausted, err.Error())
	}
	return nil, err
}

// Send sends one response message, sending the response head first.
// It blocks while flow control holds the message back, until the call's
// context ends.
func (ss *ServerStream) Send(msg []byte) error {
	if err := ss.sendHeader(); err != nil {
		return err
	}
	ss.buf = AppendMessage(ss.buf[:0], msg)
	_, err := ss.s.WriteContext(ss.ctx, ss.buf)
	return err
}

func (ss *ServerStream) sendHeader() error {
	if ss.headerSent {
		return nil
	}
	ss.headerSent = true
	return ss.s.WriteHeaders(200, []h2.HeaderField{{Name: "content-type", Value: "application/grpc"}})
}

// isGRPC reports whether a content-type is gRPC's: "application/grpc",
// alone or with a "+subtype" or ";parameters".
func isGRPC(ct string) bool {
	rest, ok := strings.CutPrefix(ct, "application/grpc")
	return ok && (rest == "" || rest[0] == '+' || rest[0] == ';')
}

// ServeH2 serves one gRPC call. Calls that are not gRPC at all get an
// HTTP error (405 for a method other than POST, 415 for another
// content-type) as the protocol asks; gRPC-level failures get a
// trailers-only response.
func (srv *Server) ServeH2(s *h2.Stream) {
	req := s.Request()
	if req.Method != "POST" {
		_ = s.Respond(405, nil, nil)
		return
	}
	if !isGRPC(req.Get("content-type")) {
		_ = s.Respond(415, nil, nil)
		return
	}
	ss := &ServerStream{s: s, ctx: s.Context(), mr: NewMessageReader(s, srv.MaxMessageSize)}
	if v := req.Get("grpc-timeout"); v != "" {
		d, err := ParseTimeout(v)
		if err != nil {
			srv.finish(ss, status.Error(codes.InvalidArgument, err.Error()))
			return
		}
		var cancel context.CancelFunc
		ss.ctx, cancel = context.WithTimeout(ss.ctx, d)
		defer cancel()
	}
	if enc := req.Get("grpc-encoding"); enc != "" && enc != "identity" {
		srv.finish(ss, status.Errorf(codes.Unimplemented, "grpc-encoding %q is not supported", enc))
		return
	}
	srv.finish(ss, srv.dispatch(ss, req.Path))
}

func (srv *Server) dispatch(ss *ServerStream, method string) error {
	if h, ok := srv.Streams[method]; ok {
		return h(ss)
	}
	h, ok := srv.Unary[method]
	if !ok {
		return status.Errorf(codes.Unimplemented, "unknown method %s", method)
	}
	req, err := ss.Recv()
	if errors.Is(err, io.EOF) {
		return status.Error(codes.Internal, "unary call without a request message")
	}
	if err != nil {
		return err
	}
	// A unary request is one message: wait for the end of the client's
	// side so a second message is an error, not silently ignored.
	if _, err := ss.Recv(); !errors.Is(err, io.EOF) {
		if err == nil {
			return status.Error(codes.Internal, "unary call with more than one request message")
		}
		return err
	}
	resp, err := h(ss.ctx, req)
	if err != nil {
		return err
	}
	return ss.Send(resp)
}

// finish sends the call's status: in trailers after a response head, or
// as a trailers-only response (one HEADERS frame with END_STREAM). A
// call whose context ended reports why, whatever the handler returned.
func (srv *Server) finish(ss *ServerStream, err error) {
	if errors.Is(ss.ctx.Err(), context.DeadlineExceeded) {
		err = status.Error(codes.DeadlineExceeded, "grpc-timeout expired")
	}
	st := toStatus(err)
	if ss.s.Err() != nil {
		return // the stream was reset: nobody is listening for a status
	}
	if ss.headerSent {
		_ = ss.s.WriteTrailers(statusFields(st))
		return
	}
	fs := append([]h2.HeaderField{{Name: "content-type", Value: "application/grpc"}}, statusFields(st)...)
	_ = ss.s.Respond(200, fs, nil)
}
