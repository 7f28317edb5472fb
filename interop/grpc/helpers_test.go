package grpcinterop

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// The test service, implemented twice: on h2proto (h2Service) and on
// grpc-go (grpcService).
const (
	mUnary   = "/interop.Echo/Unary"   // echoes its request
	mServer  = "/interop.Echo/Server"  // request: count, size; replies count messages of size bytes, byte(i); a failed send is reported on the test's channel
	mBidi    = "/interop.Echo/Bidi"    // echoes each message as it comes
	mSum     = "/interop.Echo/Sum"     // client-streaming: "msgs=N bytes=B" after the client half-closes
	mFail    = "/interop.Echo/Fail"    // fails at once (trailers-only) with failCode, failMsg
	mFailMid = "/interop.Echo/FailMid" // sends two messages, then fails
	mBlock   = "/interop.Echo/Block"   // waits for the call's end; reports it on the test's channel
)

const (
	failCode = codes.FailedPrecondition
	failMsg  = "nope: ünïcode, 100% sure\n"
)

// testTimeout bounds every test; none should come near it.
const testTimeout = 20 * time.Second

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func serverRequest(count, size int) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(count))
	return binary.BigEndian.AppendUint32(b, uint32(size))
}

func parseServerRequest(b []byte) (count, size int, err error) {
	if len(b) != 8 {
		return 0, 0, status.Errorf(codes.InvalidArgument, "request of %d bytes, want 8", len(b))
	}
	return int(binary.BigEndian.Uint32(b)), int(binary.BigEndian.Uint32(b[4:])), nil
}

func filled(size int, v byte) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = v
	}
	return b
}

// pattern returns n bytes that differ from position to position, so a
// reordered or dropped chunk is noticed.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// blockReport is what a Block handler saw when the call ended.
type blockReport struct {
	ctxErr    error // the handler's context error
	streamErr error // h2proto side only: how the HTTP/2 stream ended
}

// h2Service is the test service on the hand-written server. block, if
// set, receives one report per Block call.
func h2Service(block chan<- blockReport) *Server {
	return &Server{
		Unary: map[string]UnaryFunc{
			mUnary: func(_ context.Context, req []byte) ([]byte, error) { return req, nil },
			mFail: func(context.Context, []byte) ([]byte, error) {
				return nil, status.Error(failCode, failMsg)
			},
		},
		Streams: map[string]StreamFunc{
			mServer: func(ss *ServerStream) error {
				req, err := ss.Recv()
				if err != nil {
					return err
				}
				n, size, err := parseServerRequest(req)
				if err != nil {
					return err
				}
				for i := range n {
					if err := ss.Send(filled(size, byte(i))); err != nil {
						if block != nil {
							block <- blockReport{ctxErr: ss.Context().Err(), streamErr: err}
						}
						return err
					}
				}
				return nil
			},
			mBidi: func(ss *ServerStream) error {
				for {
					m, err := ss.Recv()
					if err == io.EOF {
						return nil
					}
					if err != nil {
						return err
					}
					if err := ss.Send(m); err != nil {
						return err
					}
				}
			},
			mSum: func(ss *ServerStream) error {
				msgs, bytes := 0, 0
				for {
					m, err := ss.Recv()
					if err == io.EOF {
						return ss.Send(fmt.Appendf(nil, "msgs=%d bytes=%d", msgs, bytes))
					}
					if err != nil {
						return err
					}
					msgs, bytes = msgs+1, bytes+len(m)
				}
			},
			mFailMid: func(ss *ServerStream) error {
				for range 2 {
					if err := ss.Send([]byte("partial")); err != nil {
						return err
					}
				}
				return status.Error(failCode, failMsg)
			},
			mBlock: func(ss *ServerStream) error {
				// Wait for the HTTP/2 stream itself to end, ignoring our
				// own grpc-timeout: the test wants to see the client's
				// RST_STREAM.
				select {
				case <-ss.Stream().Done():
				case <-time.After(testTimeout):
				}
				block <- blockReport{ctxErr: ss.Context().Err(), streamErr: ss.Stream().Err()}
				return ss.Context().Err()
			},
		},
	}
}

// startH2 serves h on loopback h2c with h2proto; cfg adjusts the server.
func startH2(t *testing.T, h h2.Handler, cfg func(*h2.Server)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &h2.Server{Handler: h}
	if cfg != nil {
		cfg(srv)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return l.Addr().String()
}

// grpcClient is a grpc-go client of addr using the raw codec.
func grpcClient(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts = append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(Codec{})),
	}, opts...)
	cc, err := grpc.NewClient("passthrough:///"+addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

var (
	descServer = &grpc.StreamDesc{StreamName: "Server", ServerStreams: true}
	descBidi   = &grpc.StreamDesc{StreamName: "Bidi", ServerStreams: true, ClientStreams: true}
	descSum    = &grpc.StreamDesc{StreamName: "Sum", ClientStreams: true}
)

// h2Client dials addr with h2proto over h2c.
func h2Client(t *testing.T, addr string, opts *h2.ClientOptions) *h2.Conn {
	t.Helper()
	if opts == nil {
		opts = &h2.ClientOptions{}
	}
	opts.H2C = true
	c, err := h2.Dial(testCtx(t), addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// startGRPC serves the test service with grpc-go on loopback; block, if
// set, receives one report per Block call.
func startGRPC(t *testing.T, block chan<- blockReport, opts ...grpc.ServerOption) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(append([]grpc.ServerOption{grpc.ForceServerCodec(Codec{})}, opts...)...)
	gs.RegisterService(grpcServiceDesc(block), struct{}{})
	done := make(chan struct{})
	go func() { defer close(done); _ = gs.Serve(l) }()
	t.Cleanup(func() { gs.Stop(); <-done })
	return l.Addr().String()
}

func grpcUnary(h func(context.Context, []byte) ([]byte, error)) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	return func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		var req []byte
		if err := dec(&req); err != nil {
			return nil, err
		}
		resp, err := h(ctx, req)
		if err != nil {
			return nil, err
		}
		return &resp, nil
	}
}

// grpcServiceDesc is the test service for grpc-go, written by hand (no
// generated code).
func grpcServiceDesc(block chan<- blockReport) *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: "interop.Echo",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{
			{MethodName: "Unary", Handler: grpcUnary(func(_ context.Context, b []byte) ([]byte, error) { return b, nil })},
			{MethodName: "Fail", Handler: grpcUnary(func(context.Context, []byte) ([]byte, error) {
				return nil, status.Error(failCode, failMsg)
			})},
		},
		Streams: []grpc.StreamDesc{
			{StreamName: "Server", ServerStreams: true, Handler: func(_ any, st grpc.ServerStream) error {
				var req []byte
				if err := st.RecvMsg(&req); err != nil {
					return err
				}
				n, size, err := parseServerRequest(req)
				if err != nil {
					return err
				}
				for i := range n {
					m := filled(size, byte(i))
					if err := st.SendMsg(&m); err != nil {
						if block != nil {
							block <- blockReport{ctxErr: st.Context().Err(), streamErr: err}
						}
						return err
					}
				}
				return nil
			}},
			{StreamName: "Bidi", ServerStreams: true, ClientStreams: true, Handler: func(_ any, st grpc.ServerStream) error {
				for {
					var m []byte
					err := st.RecvMsg(&m)
					if err == io.EOF {
						return nil
					}
					if err != nil {
						return err
					}
					if err := st.SendMsg(&m); err != nil {
						return err
					}
				}
			}},
			{StreamName: "Sum", ClientStreams: true, Handler: func(_ any, st grpc.ServerStream) error {
				msgs, bytes := 0, 0
				for {
					var m []byte
					err := st.RecvMsg(&m)
					if err == io.EOF {
						out := fmt.Appendf(nil, "msgs=%d bytes=%d", msgs, bytes)
						return st.SendMsg(&out)
					}
					if err != nil {
						return err
					}
					msgs, bytes = msgs+1, bytes+len(m)
				}
			}},
			{StreamName: "FailMid", ServerStreams: true, Handler: func(_ any, st grpc.ServerStream) error {
				for range 2 {
					m := []byte("partial")
					if err := st.SendMsg(&m); err != nil {
						return err
					}
				}
				return status.Error(failCode, failMsg)
			}},
			{StreamName: "Block", ServerStreams: true, ClientStreams: true, Handler: func(_ any, st grpc.ServerStream) error {
				select {
				case <-st.Context().Done():
				case <-time.After(testTimeout):
				}
				block <- blockReport{ctxErr: st.Context().Err()}
				return st.Context().Err()
			}},
		},
	}
}
