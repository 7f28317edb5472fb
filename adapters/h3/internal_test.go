package h3

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/h2proto/h2/core/frame"
	h2tls "github.com/h2proto/h2/transport/tls"
	"github.com/quic-go/quic-go"
)

// serveLoopback serves h on UDP loopback and dials it with windows of
// 64 KiB (QUIC stream window and ReceiveBuffer), so that a client that
// does not read holds the server back early.
func serveLoopback(t *testing.T, h HandlerFunc) *Conn {
	t.Helper()
	cert, err := h2tls.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	srv := &Server{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, Handler: h}
	go func() { _ = srv.Serve(pc) }()
	t.Cleanup(func() { _ = srv.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, pc.LocalAddr().String(), &ClientOptions{
		RootCAs:       h2tls.CertPool(cert),
		QUICConfig:    &quic.Config{InitialStreamReceiveWindow: 64 << 10, MaxStreamReceiveWindow: 64 << 10},
		StreamOptions: StreamOptions{ReceiveBuffer: 64 << 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// A server Reset while the writer loop is blocked in quic-go's Write by
// QUIC flow control (the client reads nothing) must reach quic-go at
// once: the loop — quic-go's handler — returns, which resets the stream.
func TestServerResetUnblocksWriter(t *testing.T) {
	got := make(chan string, 1)
	c := serveLoopback(t, func(s *Stream) {
		_ = s.WriteHeaders(200, nil)
		const total = 8 << 20
		// The deadline ends the wait for the flow-control stall; if the
		// writer was not blocked after all, the case checks nothing more.
		wctx, cancel := context.WithTimeout(s.Context(), 300*time.Millisecond)
		n, err := s.WriteContext(wctx, make([]byte, total))
		cancel()
		if n == total || !errors.Is(err, context.DeadlineExceeded) {
			got <- "not held back"
			return
		}
		if err := s.Reset(frame.ErrCodeInternal); err != nil {
			got <- "Reset: " + err.Error()
			return
		}
		select {
		case <-s.sv.loopDone:
			got <- "writer loop returned"
		case <-time.After(5 * time.Second):
			got <- "writer loop still blocked 5 s after Reset"
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := c.Request(ctx, c.NewRequest("GET", "/"), &RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Response(ctx); err != nil {
		t.Fatal(err)
	}
	if g := <-got; g != "writer loop returned" {
		t.Error(g)
	}
}

// A stream that ended normally leaves its request's context alone:
// quic-go may still be writing the request's trailers and FIN, and a
// cancelled context makes it reset the stream (RoundTrip's watcher).
func TestNormalEndKeepsRequestContext(t *testing.T) {
	c := serveLoopback(t, func(s *Stream) {
		_, _ = s.ReadAll()
		_ = s.Respond(200, nil, []byte("ok"))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := c.Request(ctx, c.NewRequest("POST", "/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteTrailers([]HeaderField{{Name: "x-t", Value: "1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadAll(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	case <-ctx.Done():
		t.Fatal("stream did not end")
	}
	if s.Err() != nil {
		t.Fatalf("Err %v", s.Err())
	}
	if s.reqCtx.Err() != nil {
		t.Error("a normal end cancelled the request's context")
	}
	// A reset does cancel it.
	s2, err := c.Request(ctx, c.NewRequest("POST", "/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = s2.Cancel()
	if s2.reqCtx.Err() == nil {
		t.Error("Cancel left the request's context running")
	}
}
