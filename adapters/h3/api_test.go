package h3_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"

	"github.com/h2proto/h2/adapters/h3"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
	"github.com/quic-go/quic-go/http3"
)

func TestCodeMapping(t *testing.T) {
	// Every HTTP/2 code with an HTTP/3 counterpart survives the round trip.
	for c := frame.ErrCodeNo; c <= frame.ErrCodeHTTP11Required; c++ {
		h, ok := h3.CodeToH3(c)
		switch c {
		case frame.ErrCodeFlowControl, frame.ErrCodeSettingsTimeout, frame.ErrCodeStreamClosed,
			frame.ErrCodeFrameSize, frame.ErrCodeInadequateSecurity:
			if ok {
				t.Errorf("%v mapped to %v; HTTP/3 has no such code", c, h)
			}
			continue
		}
		if !ok {
			t.Errorf("%v has no HTTP/3 code", c)
			continue
		}
		if back := h3.CodeFromH3(h); back != c {
			t.Errorf("%v -> %v -> %v", c, h, back)
		}
	}
	if got := h3.CodeFromH3(http3.ErrCode(0x1f * 7)); got != frame.ErrCodeInternal {
		t.Errorf("unknown code maps to %v, want INTERNAL_ERROR", got)
	}
}

// The API misuse and the unsupported operations return errors naming the
// problem, and send nothing.
func TestMisuseAndUnsupported(t *testing.T) {
	serverErrs := make(chan []error, 1)
	c, _ := startH3(t, serverOpts{}, func(s stream) {
		hs := s.(*h3.Stream)
		errs := []error{
			hs.WriteHeaders(101, nil),
			hs.WriteHeaders(200, []h3.HeaderField{{Name: "X-Upper", Value: "1"}}),
			hs.Reset(frame.ErrCodeFlowControl),
		}
		_ = hs.Respond(204, nil, nil)
		errs = append(errs, hs.WriteHeaders(200, nil))
		serverErrs <- errs
	})
	cc := c.(h3Client).c
	ctx := testCtx(t)
	if _, err := cc.Request(ctx, cc.NewRequest("CONNECT", ""), nil); !errors.Is(err, h3.ErrNotSupported) {
		t.Errorf("CONNECT: %v, want ErrNotSupported", err)
	}
	if _, err := cc.Request(ctx, append(cc.NewRequest("CONNECT", "/"), h3.HeaderField{Name: ":protocol", Value: "websocket"}), nil); !errors.Is(err, h3.ErrNotSupported) {
		t.Errorf("extended CONNECT: %v, want ErrNotSupported", err)
	}
	var me *core.MessageError
	if _, err := cc.Request(ctx, []h3.HeaderField{{Name: ":path", Value: "/"}}, nil); !errors.As(err, &me) || me.Field != ":method" {
		t.Errorf("no :method: %v", err)
	}
	s, err := cc.Request(ctx, cc.NewRequest("GET", "/"), &h3.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte("x")); !errors.Is(err, core.ErrStreamClosed) {
		t.Errorf("Write after EndStream: %v", err)
	}
	if err := s.Respond(200, nil, nil); !errors.Is(err, h3.ErrWrongRole) {
		t.Errorf("client Respond: %v", err)
	}
	if err := s.Reset(frame.ErrCodeInternal); !errors.Is(err, h3.ErrNotSupported) {
		t.Errorf("client Reset(INTERNAL): %v", err)
	}
	s.SetHandler(func(*h3.Stream, h3.Event) {})
	if _, err := s.Read(nil); !errors.Is(err, h3.ErrHandlerSet) {
		t.Errorf("Read with a handler: %v", err)
	}
	if _, err := s.DrainEvents(); !errors.Is(err, h3.ErrHandlerSet) {
		t.Errorf("DrainEvents with a handler: %v", err)
	}
	<-s.Done()
	errs := <-serverErrs
	if !errors.As(errs[0], &me) || me.Token != "invalid_status" {
		t.Errorf("WriteHeaders(101): %v", errs[0])
	}
	if !errors.As(errs[1], &me) || me.Token != "uppercase_field_name" {
		t.Errorf("uppercase field: %v", errs[1])
	}
	if !errors.Is(errs[2], h3.ErrNotSupported) {
		t.Errorf("Reset(FLOW_CONTROL_ERROR): %v", errs[2])
	}
	if !errors.Is(errs[3], core.ErrStreamClosed) {
		t.Errorf("WriteHeaders after Respond: %v", errs[3])
	}
}

func TestServeMisconfigured(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if err := (&h3.Server{Handler: h3.HandlerFunc(func(*h3.Stream) {})}).Serve(pc); err == nil {
		t.Error("Serve without TLSConfig succeeded")
	}
	if err := (&h3.Server{TLSConfig: &tls.Config{}}).Serve(pc); err == nil {
		t.Error("Serve without Handler succeeded")
	}
	srv := &h3.Server{TLSConfig: &tls.Config{Certificates: []tls.Certificate{testCert}}, Handler: h3.HandlerFunc(func(*h3.Stream) {})}
	_ = srv.Shutdown(context.Background())
	if err := srv.Serve(pc); !errors.Is(err, h3.ErrServerClosed) {
		t.Errorf("Serve after Shutdown: %v, want ErrServerClosed", err)
	}
}

func TestDialFailures(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	srv := &h3.Server{TLSConfig: &tls.Config{Certificates: []tls.Certificate{testCert}}, Handler: h3.HandlerFunc(func(*h3.Stream) {})}
	go func() { _ = srv.Serve(pc) }()
	defer srv.Close()
	// Not trusted: the certificate check fails and the error says so.
	if _, err := h3.Dial(testCtx(t), pc.LocalAddr().String(), nil); err == nil {
		t.Error("Dial trusted a self-signed certificate")
	}
	c, err := h3.Dial(testCtx(t), pc.LocalAddr().String(), &h3.ClientOptions{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	<-c.Done()
	if _, err := c.Request(testCtx(t), c.NewRequest("GET", "/"), nil); err == nil {
		t.Error("Request on a closed connection succeeded")
	}
}

// Closing the connection ends every stream, whatever its goroutines wait
// for: a stream open both ways, and one whose reader stopped with a full
// receive buffer.
func TestCloseEndsStreams(t *testing.T) {
	c, _ := startH3(t, serverOpts{}, func(s stream) {
		if s.Request().Path == "/big" {
			_ = s.WriteHeaders(200, nil)
			_, _ = s.Write(make([]byte, 4<<20))
			_ = s.CloseWrite()
			return
		}
		_ = s.WriteHeaders(200, nil)
		_, _ = s.Write([]byte("x"))
		<-s.Context().Done()
	})
	cc := c.(h3Client).c
	ctx := testCtx(t)
	half, err := cc.Request(ctx, cc.NewRequest("POST", "/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := half.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	big, err := cc.Request(ctx, cc.NewRequest("GET", "/big"), &h3.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := big.Response(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := big.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	_ = cc.Close()
	for _, s := range []*h3.Stream{half, big} {
		select {
		case <-s.Done():
		case <-ctx.Done():
			t.Fatal("stream still open after Close")
		}
		if s.Err() == nil {
			t.Error("stream ended without an error after Close")
		}
	}
	if _, err := half.Write([]byte("x")); err == nil {
		t.Error("Write after Close succeeded")
	}
}
