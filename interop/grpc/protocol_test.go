package grpcinterop

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Edges of the hand-written server, driven by h2proto's client with
// requests grpc-go would not send.

func TestServerRejectsNonGRPC(t *testing.T) {
	c := h2Client(t, startH2(t, h2Service(nil), nil), nil)
	ctx := testCtx(t)
	for _, tc := range []struct {
		method, ct string
		want       int
	}{
		{"GET", "application/grpc", 405},
		{"POST", "application/json", 415},
		{"POST", "application/grpcx", 415},
	} {
		s, err := c.Request(ctx, c.NewRequest(tc.method, mUnary, h2.HeaderField{Name: "content-type", Value: tc.ct}),
			&h2.RequestOptions{EndStream: true})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := s.Response(ctx)
		if err != nil || resp.Status != tc.want {
			t.Fatalf("%s %s: %v %v, want %d", tc.method, tc.ct, resp, err, tc.want)
		}
	}
}

func TestServerProtocolErrors(t *testing.T) {
	c := h2Client(t, startH2(t, h2Service(nil), nil), nil)
	ctx := testCtx(t)
	call := func(path string, extra []h2.HeaderField, body []byte) error {
		fs := append([]h2.HeaderField{{Name: "content-type", Value: "application/grpc+raw"}}, extra...)
		s, err := c.Request(ctx, c.NewRequest("POST", path, fs...), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = s.Write(body)
		_ = s.CloseWrite()
		cs := &ClientStream{s: s, ctx: ctx, mr: NewMessageReader(s, 0)}
		for {
			if _, err := cs.Recv(); err != nil {
				return err
			}
		}
	}
	for _, tc := range []struct {
		name  string
		path  string
		extra []h2.HeaderField
		body  []byte
		want  codes.Code
	}{
		{"compressed flag", mUnary, nil, []byte{1, 0, 0, 0, 1, 'x'}, codes.Internal},
		{"truncated message", mUnary, nil, []byte{0, 0, 0, 0, 9, 'x'}, codes.Internal},
		{"no message", mUnary, nil, nil, codes.Internal},
		{"two messages", mUnary, nil, AppendMessage(AppendMessage(nil, nil), nil), codes.Internal},
		{"gzip", mUnary, []h2.HeaderField{{Name: "grpc-encoding", Value: "gzip"}}, AppendMessage(nil, nil), codes.Unimplemented},
		{"bad timeout", mUnary, []h2.HeaderField{{Name: "grpc-timeout", Value: "soon"}}, AppendMessage(nil, nil), codes.InvalidArgument},
		{"too large", mSum, nil, []byte{0, 0xff, 0, 0, 0}, codes.ResourceExhausted},
		{"identity encoding", mUnary, []h2.HeaderField{{Name: "grpc-encoding", Value: "identity"}}, AppendMessage(nil, []byte("ok")), codes.OK},
	} {
		err := call(tc.path, tc.extra, tc.body)
		got := status.Code(err)
		if tc.want == codes.OK {
			if err.Error() != "EOF" {
				t.Errorf("%s: %v, want OK", tc.name, err)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// Many calls at once from grpc-go over one connection: streams multiplex.
func TestGRPCClientConcurrentCalls(t *testing.T) {
	cc := grpcClient(t, startH2(t, h2Service(nil), nil))
	ctx := testCtx(t)
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			req := append(fmt.Appendf(nil, "call %d ", i), pattern(i*997)...)
			var resp []byte
			if err := cc.Invoke(ctx, mUnary, &req, &resp); err != nil {
				errs <- err
				return
			}
			if !bytes.Equal(resp, req) {
				errs <- fmt.Errorf("call %d: echo differs", i)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A server may finish its response before the client has finished its
// request; it then resets the stream with NO_ERROR, and the client must
// keep the response (RFC 9113 §8.1). grpc-go does this whenever a handler
// returns while the client still streams; so does h2proto's runtime when
// a handler returns after a complete response.
func TestEarlyResponseThenResetNoError(t *testing.T) {
	check := func(t *testing.T, c *h2.Conn) {
		cs, err := NewCall(testCtx(t), c, mFailMid, nil)
		if err != nil {
			t.Fatal(err)
		}
		// The server answers without reading, so it may have finished —
		// and grpc-go reset the stream — before this Send: then it fails.
		if err := cs.Send([]byte("still sending")); err != nil {
			t.Logf("send: %v", err)
		}
		// No CloseSend: the request stays open while the server ends.
		for i := range 2 {
			if m, err := cs.Recv(); err != nil || string(m) != "partial" {
				t.Fatalf("message %d: %q, %v", i, m, err)
			}
		}
		_, err = cs.Recv()
		if st := status.Convert(err); st.Code() != failCode || st.Message() != failMsg {
			t.Fatalf("status: %v", err)
		}
		<-cs.Stream().Done()
		var se *core.StreamError
		if err := cs.Stream().Err(); !errors.As(err, &se) || !se.Remote || se.Code != frame.ErrCodeNo {
			t.Fatalf("stream ended with %v, want the server's RST_STREAM(NO_ERROR)", err)
		}
	}
	t.Run("h2proto client, grpc-go server", func(t *testing.T) {
		check(t, h2Client(t, startGRPC(t, nil), nil))
	})
	t.Run("h2proto client, h2proto server", func(t *testing.T) {
		check(t, h2Client(t, startH2(t, h2Service(nil), nil), nil))
	})
	t.Run("grpc-go client, h2proto server", func(t *testing.T) {
		cc := grpcClient(t, startH2(t, h2Service(nil), nil))
		st, err := cc.NewStream(testCtx(t), descBidi, mFailMid)
		if err != nil {
			t.Fatal(err)
		}
		// io.EOF: the server already ended the call; RecvMsg has the rest.
		m := []byte("still sending")
		if err := st.SendMsg(&m); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		for i := range 2 {
			var in []byte
			if err := st.RecvMsg(&in); err != nil || string(in) != "partial" {
				t.Fatalf("message %d: %q, %v", i, in, err)
			}
		}
		var in []byte
		err = st.RecvMsg(&in)
		if s := status.Convert(err); s.Code() != failCode || s.Message() != failMsg {
			t.Fatalf("status: %v", err)
		}
	})
}
