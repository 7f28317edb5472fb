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
	"google.golang.org/grpc/status"
)

// These tests drive a grpc-go server with h2proto's client, speaking the
// gRPC wire protocol through ClientStream.

func TestH2ClientUnary(t *testing.T) {
	c := h2Client(t, startGRPC(t, nil), nil)
	ctx := testCtx(t)
	for i := range 5 {
		req := fmt.Appendf(nil, "hello %d", i)
		resp, err := Invoke(ctx, c, mUnary, req, nil)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if !bytes.Equal(resp, req) {
			t.Fatalf("call %d: got %q", i, resp)
		}
	}
}

func TestH2ClientServerStreaming(t *testing.T) {
	c := h2Client(t, startGRPC(t, nil), nil)
	const n, size = 100, 300
	cs, err := NewCall(testCtx(t), c, mServer, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.Send(serverRequest(n, size)); err != nil {
		t.Fatal(err)
	}
	if err := cs.CloseSend(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		m, err := cs.Recv()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(m, filled(size, byte(i))) {
			t.Fatalf("message %d: wrong content", i)
		}
	}
	if _, err := cs.Recv(); err != io.EOF {
		t.Fatalf("end: %v, want io.EOF", err)
	}
	if cs.Status().Code() != codes.OK {
		t.Fatalf("status %v", cs.Status())
	}
	// Status OK came in real trailers, after the messages.
	if tr := cs.Stream().Trailers(); get(tr, "grpc-status") != "0" {
		t.Fatalf("trailers %v lack grpc-status 0", tr)
	}
}

func get(fs []h2.HeaderField, name string) string {
	for _, f := range fs {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

func TestH2ClientBidiPingPong(t *testing.T) {
	c := h2Client(t, startGRPC(t, nil), nil)
	cs, err := NewCall(testCtx(t), c, mBidi, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		out := fmt.Appendf(nil, "ping %d", i)
		if err := cs.Send(out); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		in, err := cs.Recv()
		if err != nil {
			t.Fatalf("recv %d: %v", i, err)
		}
		if !bytes.Equal(in, out) {
			t.Fatalf("round %d: got %q", i, in)
		}
	}
	if err := cs.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Recv(); err != io.EOF {
		t.Fatalf("after half-close: %v", err)
	}
}

func TestH2ClientHalfClose(t *testing.T) {
	c := h2Client(t, startGRPC(t, nil), nil)
	cs, err := NewCall(testCtx(t), c, mSum, nil)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for i := range 20 {
		m := pattern(100 * i)
		total += len(m)
		if err := cs.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := cs.CloseSend(); err != nil {
		t.Fatal(err)
	}
	resp, err := cs.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("msgs=20 bytes=%d", total); string(resp) != want {
		t.Fatalf("got %q, want %q", resp, want)
	}
	if _, err := cs.Recv(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
}

func TestH2ClientStatus(t *testing.T) {
	c := h2Client(t, startGRPC(t, nil), nil)
	ctx := testCtx(t)

	// grpc-go answers an immediate error trailers-only: one HEADERS frame.
	cs, err := NewCall(ctx, c, mFail, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = cs.Send(nil)
	_ = cs.CloseSend()
	_, err = cs.Recv()
	if st := status.Convert(err); st.Code() != failCode || st.Message() != failMsg {
		t.Fatalf("Fail: %v, want %v %q", err, failCode, failMsg)
	}
	resp, _ := cs.Header()
	if resp.Get("grpc-status") == "" || cs.Stream().Trailers() != nil {
		t.Fatalf("want a trailers-only response; head %v, trailers %v", resp.Header, cs.Stream().Trailers())
	}
	t.Logf("grpc-message on the wire: %q", resp.Get("grpc-message"))

	// An error after messages comes in trailers.
	cs, err = NewCall(ctx, c, mFailMid, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = cs.Send(nil)
	_ = cs.CloseSend()
	for i := range 2 {
		if m, err := cs.Recv(); err != nil || string(m) != "partial" {
			t.Fatalf("message %d: %q, %v", i, m, err)
		}
	}
	_, err = cs.Recv()
	if st := status.Convert(err); st.Code() != failCode || st.Message() != failMsg {
		t.Fatalf("FailMid: %v", err)
	}
	if get(cs.Stream().Trailers(), "grpc-status") != fmt.Sprint(int(failCode)) {
		t.Fatalf("trailers %v", cs.Stream().Trailers())
	}

	// Unknown method.
	_, err = Invoke(ctx, c, "/interop.Echo/Nope", nil, nil)
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("unknown method: %v", err)
	}
}

// Cancelling the h2proto call's context resets the stream with CANCEL;
// the grpc-go handler's context ends (Canceled, as no grpc-timeout was
// sent, so only the reset can have ended it).
func TestH2ClientCancel(t *testing.T) {
	block := make(chan blockReport, 1)
	c := h2Client(t, startGRPC(t, block), nil)
	ctx, cancel := context.WithTimeout(testCtx(t), 200*time.Millisecond)
	defer cancel()
	cs, err := NewCall(ctx, c, mBlock, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cs.Recv()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("client: %v, want the context's deadline", err)
	}
	select {
	case rep := <-block:
		if !errors.Is(rep.ctxErr, context.Canceled) {
			t.Fatalf("grpc-go handler context: %v, want Canceled (from RST_STREAM)", rep.ctxErr)
		}
	case <-time.After(testTimeout):
		t.Fatal("grpc-go handler never saw the cancellation")
	}
	var se *core.StreamError
	if err := cs.Stream().Err(); !errors.As(err, &se) {
		t.Fatalf("stream ended with %v, want our reset", err)
	}
}

// grpc-timeout alone (no local deadline): the grpc-go server ends the call
// with DEADLINE_EXCEEDED and its handler's context expires.
func TestH2ClientGRPCTimeout(t *testing.T) {
	block := make(chan blockReport, 1)
	c := h2Client(t, startGRPC(t, block), nil)
	cs, err := NewCall(testCtx(t), c, mBlock, &CallOptions{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cs.Recv()
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("client: %v, want DeadlineExceeded from the server", err)
	}
	select {
	case rep := <-block:
		// grpc-go's deadline timer and its context's race: the handler
		// sees DeadlineExceeded or Canceled, but it must see the end.
		if !errors.Is(rep.ctxErr, context.DeadlineExceeded) && !errors.Is(rep.ctxErr, context.Canceled) {
			t.Fatalf("grpc-go handler context: %v", rep.ctxErr)
		}
	case <-time.After(testTimeout):
		t.Fatal("grpc-go handler never saw its deadline")
	}
	// grpc-go's deadline timer resets the stream with RST_STREAM(CANCEL)
	// and no status (ClientStream maps that to DEADLINE_EXCEEDED, see
	// resetErr) — unless the handler, seeing its context expire, returns
	// first: then the status goes out in trailers, and RST_STREAM(NO_ERROR)
	// ends our still-open request side. Either way the server resets.
	<-cs.Stream().Done()
	var se *core.StreamError
	if err := cs.Stream().Err(); !errors.As(err, &se) || !se.Remote ||
		(se.Code != frame.ErrCodeCancel && se.Code != frame.ErrCodeNo) {
		t.Fatalf("stream ended with %v, want the server's RST_STREAM(CANCEL or NO_ERROR)", err)
	}
	t.Logf("server ended the expired call with %v; status in trailers: %v", se.Code, cs.Status() != nil)
}

func TestH2ClientLargeMessages(t *testing.T) {
	c := h2Client(t, startGRPC(t, nil), nil)
	ctx := testCtx(t)
	big := pattern(1 << 20)
	resp, err := Invoke(ctx, c, mUnary, big, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(resp, big) {
		t.Fatalf("1 MiB echo differs (%d bytes)", len(resp))
	}
	cs, err := NewCall(ctx, c, mBidi, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		out := pattern(1<<20 + i)
		if err := cs.Send(out); err != nil {
			t.Fatal(err)
		}
		in, err := cs.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(in, out) {
			t.Fatalf("bidi %d: echo differs", i)
		}
	}
	_ = cs.CloseSend()
	if _, err := cs.Recv(); err != io.EOF {
		t.Fatal(err)
	}
}

// A grpc-go server streaming to an h2proto client that consumes by hand:
// the server never has more than the client's advertised window in flight
// beyond what was consumed.
func TestClientManualConsumeBoundsInflight(t *testing.T) {
	const window = 16 << 10
	addr := startGRPC(t, nil, grpc.StaticStreamWindowSize(1<<20)) // the server's own windows do not matter here
	c := h2Client(t, addr, &h2.ClientOptions{Options: h2.Options{Config: core.Config{InitialWindowSize: window}}})
	ctx := testCtx(t)
	m := newMeter()
	cs, err := NewCall(ctx, c, mServer, &CallOptions{ManualConsume: true, Handler: m.onEvent})
	if err != nil {
		t.Fatal(err)
	}
	const n, size = 64, 4000
	if err := cs.Send(serverRequest(n, size)); err != nil {
		t.Fatal(err)
	}
	if err := cs.CloseSend(); err != nil {
		t.Fatal(err)
	}
	r := m.run(ctx, cs.Stream(), window)
	checkInflight(t, r, window, n*(HeaderLen+size))
	if st, ok := ParseStatus(r.trailers); !ok || st.Code() != codes.OK {
		t.Fatalf("trailers %v: want grpc-status 0", r.trailers)
	}
}

// Cancelling an h2proto call mid-stream (the grpc-go server blocked on
// the client's flow control) resets it; grpc-go's SendMsg fails.
func TestH2ClientCancelMidStream(t *testing.T) {
	block := make(chan blockReport, 1)
	c := h2Client(t, startGRPC(t, block), nil)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	cs, err := NewCall(ctx, c, mServer, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.Send(serverRequest(1<<20, 1000)); err != nil {
		t.Fatal(err)
	}
	_ = cs.CloseSend()
	for i := range 10 {
		if _, err := cs.Recv(); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	cancel()
	// Messages already received may still come out; then the end.
	for i := 0; err == nil && i < 100000; i++ {
		_, err = cs.Recv()
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("after cancel: %v", err)
	}
	select {
	case rep := <-block:
		if status.Code(rep.streamErr) != codes.Canceled && !errors.Is(rep.streamErr, context.Canceled) {
			t.Fatalf("grpc-go SendMsg failed with %v, want Canceled", rep.streamErr)
		}
		if !errors.Is(rep.ctxErr, context.Canceled) {
			t.Fatalf("grpc-go handler context: %v", rep.ctxErr)
		}
	case <-time.After(testTimeout):
		t.Fatal("grpc-go handler never saw the cancellation")
	}
}
