package grpcinterop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
)

// These tests drive the hand-written gRPC server on h2proto with a real
// grpc-go client.

func TestGRPCClientUnary(t *testing.T) {
	cc := grpcClient(t, startH2(t, h2Service(nil), nil))
	ctx := testCtx(t)
	for i := range 5 {
		req := fmt.Appendf(nil, "hello %d", i)
		var resp []byte
		if err := cc.Invoke(ctx, mUnary, &req, &resp); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if !bytes.Equal(resp, req) {
			t.Fatalf("call %d: got %q, want %q", i, resp, req)
		}
	}
	// An empty message is a message too.
	var empty, resp []byte
	if err := cc.Invoke(ctx, mUnary, &empty, &resp); err != nil || len(resp) != 0 {
		t.Fatalf("empty echo: %q, %v", resp, err)
	}
}

func TestGRPCClientServerStreaming(t *testing.T) {
	cc := grpcClient(t, startH2(t, h2Service(nil), nil))
	const n, size = 100, 300
	st, err := cc.NewStream(testCtx(t), descServer, mServer)
	if err != nil {
		t.Fatal(err)
	}
	req := serverRequest(n, size)
	if err := st.SendMsg(&req); err != nil {
		t.Fatal(err)
	}
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		var m []byte
		if err := st.RecvMsg(&m); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(m, filled(size, byte(i))) {
			t.Fatalf("message %d: wrong content (%d bytes)", i, len(m))
		}
	}
	var m []byte
	if err := st.RecvMsg(&m); err != io.EOF {
		t.Fatalf("after %d messages: %v, want io.EOF (status OK)", n, err)
	}
	if tr := st.Trailer(); tr.Get("grpc-status") != nil {
		// grpc-go strips the reserved fields from Trailer(); the status
		// reached RecvMsg instead, which is what matters.
		t.Logf("trailer metadata: %v", tr)
	}
}

func TestGRPCClientBidiPingPong(t *testing.T) {
	cc := grpcClient(t, startH2(t, h2Service(nil), nil))
	st, err := cc.NewStream(testCtx(t), descBidi, mBidi)
	if err != nil {
		t.Fatal(err)
	}
	// One message out, its echo back, over one stream: each reply must
	// come before the next request is sent, so DATA interleaves.
	for i := range 50 {
		out := fmt.Appendf(nil, "ping %d", i)
		if err := st.SendMsg(&out); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		var in []byte
		if err := st.RecvMsg(&in); err != nil {
			t.Fatalf("recv %d: %v", i, err)
		}
		if !bytes.Equal(in, out) {
			t.Fatalf("round %d: got %q", i, in)
		}
	}
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var in []byte
	if err := st.RecvMsg(&in); err != io.EOF {
		t.Fatalf("after half-close: %v, want io.EOF", err)
	}
}

func TestGRPCClientHalfClose(t *testing.T) {
	cc := grpcClient(t, startH2(t, h2Service(nil), nil))
	st, err := cc.NewStream(testCtx(t), descSum, mSum)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for i := range 20 {
		m := pattern(100 * i)
		total += len(m)
		if err := st.SendMsg(&m); err != nil {
			t.Fatal(err)
		}
	}
	// The server answers only once our side is closed.
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var resp []byte
	if err := st.RecvMsg(&resp); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("msgs=20 bytes=%d", total); string(resp) != want {
		t.Fatalf("got %q, want %q", resp, want)
	}
	if err := st.RecvMsg(&resp); err != io.EOF {
		t.Fatalf("end: %v, want io.EOF", err)
	}
}

func TestGRPCClientStatus(t *testing.T) {
	cc := grpcClient(t, startH2(t, h2Service(nil), nil))
	ctx := testCtx(t)

	// Trailers-only error: code and percent-encoded UTF-8 message.
	var req, resp []byte
	err := cc.Invoke(ctx, mFail, &req, &resp)
	if st := status.Convert(err); st.Code() != failCode || st.Message() != failMsg {
		t.Fatalf("Fail: %v, want %v %q", err, failCode, failMsg)
	}

	// Error in trailers after messages.
	st, err := cc.NewStream(ctx, descServer, mFailMid)
	if err != nil {
		t.Fatal(err)
	}
	// FailMid answers without reading: io.EOF means it already ended.
	if err := st.SendMsg(&req); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	_ = st.CloseSend()
	for i := range 2 {
		var m []byte
		if err := st.RecvMsg(&m); err != nil || string(m) != "partial" {
			t.Fatalf("message %d: %q, %v", i, m, err)
		}
	}
	var m []byte
	err = st.RecvMsg(&m)
	if s := status.Convert(err); s.Code() != failCode || s.Message() != failMsg {
		t.Fatalf("FailMid end: %v", err)
	}

	// Unknown method: UNIMPLEMENTED.
	err = cc.Invoke(ctx, "/interop.Echo/Nope", &req, &resp)
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("unknown method: %v, want Unimplemented", err)
	}
}

// A grpc-go client whose deadline passes resets the stream with
// RST_STREAM(CANCEL); the h2proto handler sees the reset, and the client
// reports DEADLINE_EXCEEDED.
func TestGRPCClientDeadline(t *testing.T) {
	block := make(chan blockReport, 1)
	cc := grpcClient(t, startH2(t, h2Service(block), nil))
	ctx, cancel := context.WithTimeout(testCtx(t), 200*time.Millisecond)
	defer cancel()
	st, err := cc.NewStream(ctx, descBidi, mBlock)
	if err != nil {
		t.Fatal(err)
	}
	var m []byte
	start := time.Now()
	if err := st.RecvMsg(&m); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("client: %v, want DeadlineExceeded", err)
	}
	var rep blockReport
	select {
	case rep = <-block:
	case <-time.After(testTimeout):
		t.Fatal("handler never saw the call end")
	}
	var se *core.StreamError
	if !errors.As(rep.streamErr, &se) || se.Code != frame.ErrCodeCancel {
		t.Fatalf("h2proto stream ended with %v, want a reset with CANCEL", rep.streamErr)
	}
	if rep.ctxErr == nil {
		t.Fatal("handler context not done after the reset")
	}
	t.Logf("deadline to reset seen: %v; handler ctx: %v", time.Since(start), rep.ctxErr)
}

// The server honours grpc-timeout itself: a client sending only the
// header (no local deadline) gets DEADLINE_EXCEEDED from the server.
func TestServerHonoursGRPCTimeout(t *testing.T) {
	srv := &Server{Streams: map[string]StreamFunc{
		mBlock: func(ss *ServerStream) error {
			<-ss.Context().Done()
			return ss.Context().Err()
		},
	}}
	c := h2Client(t, startH2(t, srv, nil), nil)
	cs, err := NewCall(testCtx(t), c, mBlock, &CallOptions{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if v := cs.Stream(); v == nil {
		t.Fatal("no stream")
	}
	_, err = cs.Recv()
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("got %v, want DeadlineExceeded from the server", err)
	}
	// No messages were sent: the status came as a trailers-only response.
	if resp, _ := cs.Header(); resp.Get("grpc-status") != "4" {
		t.Fatalf("trailers-only head %v lacks grpc-status 4", resp.Header)
	}
}

func TestGRPCClientLargeMessages(t *testing.T) {
	cc := grpcClient(t, startH2(t, h2Service(nil), nil))
	ctx := testCtx(t)
	big := pattern(1 << 20)
	var resp []byte
	if err := cc.Invoke(ctx, mUnary, &big, &resp); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(resp, big) {
		t.Fatalf("1 MiB unary echo differs (%d bytes back)", len(resp))
	}
	st, err := cc.NewStream(ctx, descBidi, mBidi)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		out := pattern(1<<20 + i)
		if err := st.SendMsg(&out); err != nil {
			t.Fatal(err)
		}
		var in []byte
		if err := st.RecvMsg(&in); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(in, out) {
			t.Fatalf("bidi %d: echo differs", i)
		}
	}
	_ = st.CloseSend()
}

// A grpc-go client streaming into a server whose handler consumes by hand:
// the client never has more than the advertised window in flight beyond
// what the handler consumed, and resumes after each Consume. The window
// that binds is the stream's, then the connection's (65,535 bytes, its
// least, below a 1 MiB stream window).
func TestServerManualConsumeBoundsInflight(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		window, streamWindow int
		connWindow           uint32
	}{
		{"stream window", 16 << 10, 16 << 10, 0},
		{"connection window", 65535, 1 << 20, 65535},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := make(chan inflightResult, 1)
			addr := startH2(t, manualSink(tc.window, res), func(srv *h2.Server) {
				manualServerConfig(tc.streamWindow)(srv)
				srv.Config.ConnectionWindowSize = tc.connWindow
			})
			cc := grpcClient(t, addr)
			st, err := cc.NewStream(testCtx(t), descSum, mSum)
			if err != nil {
				t.Fatal(err)
			}
			const msgs, size = 64, 4000
			sent := 0
			for range msgs {
				m := pattern(size)
				if err := st.SendMsg(&m); err != nil {
					t.Fatal(err)
				}
				sent += HeaderLen + size
			}
			if err := st.CloseSend(); err != nil {
				t.Fatal(err)
			}
			var resp []byte
			if err := st.RecvMsg(&resp); err != nil {
				t.Fatal(err)
			}
			checkInflight(t, <-res, tc.window, sent)
			if want := fmt.Sprint(sent); string(resp) != want {
				t.Fatalf("server counted %q bytes, want %s", resp, want)
			}
		})
	}
}

// A grpc-go client that cancels a server-streaming call mid-flow (the
// server blocked on flow control) resets the stream; the h2proto
// handler's Send fails with the reset.
func TestGRPCClientCancelMidStream(t *testing.T) {
	block := make(chan blockReport, 1)
	cc := grpcClient(t, startH2(t, h2Service(block), nil))
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	st, err := cc.NewStream(ctx, descServer, mServer)
	if err != nil {
		t.Fatal(err)
	}
	req := serverRequest(1<<20, 1000) // a gigabyte: far more than any window
	if err := st.SendMsg(&req); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		var m []byte
		if err := st.RecvMsg(&m); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	cancel()
	// Messages already received may still come out; then the end.
	var err2 error
	for i := 0; err2 == nil && i < 100000; i++ {
		var m []byte
		err2 = st.RecvMsg(&m)
	}
	if status.Code(err2) != codes.Canceled {
		t.Fatalf("client after cancel: %v, want Canceled", err2)
	}
	select {
	case rep := <-block:
		var se *core.StreamError
		if !errors.As(rep.streamErr, &se) || se.Code != frame.ErrCodeCancel || !se.Remote {
			t.Fatalf("handler's Send failed with %v, want the client's RST_STREAM(CANCEL)", rep.streamErr)
		}
		if rep.ctxErr == nil {
			t.Fatal("handler context not done")
		}
	case <-time.After(testTimeout):
		t.Fatal("handler never saw the cancellation")
	}
}

// grpc-go compressing its messages (grpc-encoding: gzip) is refused: the
// hand-written server supports identity only.
func TestGRPCClientCompressionRefused(t *testing.T) {
	cc := grpcClient(t, startH2(t, h2Service(nil), nil))
	req := []byte("squeeze me")
	var resp []byte
	err := cc.Invoke(testCtx(t), mUnary, &req, &resp, grpc.UseCompressor(gzip.Name))
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("gzip call: %v, want Unimplemented", err)
	}
}
