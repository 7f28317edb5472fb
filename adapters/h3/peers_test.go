package h3_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/h2proto/h2/adapters/h3"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
	h2tls "github.com/h2proto/h2/transport/tls"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// A CONNECT request (here from quic-go's own client) is reset with
// H3_REQUEST_REJECTED before the Handler sees it: the adapter does not
// map CONNECT.
func TestServerRejectsConnect(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	called := make(chan struct{}, 1)
	srv := &h3.Server{TLSConfig: &tls.Config{Certificates: []tls.Certificate{testCert}},
		Handler: h3.HandlerFunc(func(s *h3.Stream) { called <- struct{}{}; _ = s.Respond(200, nil, nil) })}
	go func() { _ = srv.Serve(pc) }()
	defer srv.Close()
	ctx := testCtx(t)
	qc, err := quic.DialAddr(ctx, pc.LocalAddr().String(),
		&tls.Config{RootCAs: h2tls.CertPool(testCert), NextProtos: []string{http3.NextProtoH3}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cc := (&http3.Transport{}).NewClientConn(qc)
	defer cc.CloseWithError(0, "")
	req, _ := http.NewRequestWithContext(ctx, http.MethodConnect, "", nil)
	req.URL = &url.URL{Host: "example.com:443"}
	req.Host = "example.com:443"
	_, err = cc.RoundTrip(req)
	var se *quic.StreamError
	if !errors.As(err, &se) || http3.ErrCode(se.ErrorCode) != http3.ErrCodeRequestRejected {
		t.Errorf("CONNECT: %v, want a reset with H3_REQUEST_REJECTED", err)
	}
	select {
	case <-called:
		t.Error("the Handler saw the CONNECT request")
	default:
	}
}

// A response whose content does not match its content-length (here from
// quic-go's own server) ends the stream with PROTOCOL_ERROR
// "content_length_mismatch", not as if the connection had ended.
func TestMalformedResponseContentLength(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	hs := &http3.Server{TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{testCert}}),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "10")
			_, _ = w.Write([]byte("abc"))
		})}
	go func() { _ = hs.Serve(pc) }()
	defer hs.Close()
	ctx := testCtx(t)
	c, err := h3.Dial(ctx, pc.LocalAddr().String(), &h3.ClientOptions{RootCAs: h2tls.CertPool(testCert)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h3.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.ReadAll()
	var se *core.StreamError
	if !errors.As(err, &se) || se.Code != frame.ErrCodeProtocol || se.Token != "content_length_mismatch" || se.Remote {
		t.Errorf("short response: %v, want a local PROTOCOL_ERROR content_length_mismatch", err)
	}
	if c.Err() != nil {
		t.Errorf("connection: %v", c.Err())
	}
}

// Pins a limit (docs/adapters-h3.md, "Resets"): a client reads the peer's
// reset only after the content the adapter had already received, because
// quic-go reports a RESET_STREAM only to a read, and the adapter stops
// reading while its receive buffer is full.
func TestResetBehindReceivedContent(t *testing.T) {
	reset := make(chan error, 1)
	c, _ := startH3(t, serverOpts{small: true}, func(s stream) {
		_ = s.WriteHeaders(200, nil)
		// The deadline ends the wait for the stall (the client reads
		// nothing yet); the check below does not depend on it.
		wctx, cancel := context.WithTimeout(s.Context(), 300*time.Millisecond)
		_, _ = s.WriteContext(wctx, make([]byte, 4<<20))
		cancel()
		reset <- s.Reset(frame.ErrCodeInternal)
	})
	ctx := testCtx(t)
	s, err := c.request(ctx, "GET", "/", reqOpts{endStream: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-reset; err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, s)
	if n == 0 || resetOf(err) != "reset INTERNAL_ERROR remote=true" {
		t.Errorf("read %d bytes, then %v; want content, then the reset", n, err)
	}
}

// A server's H3_REQUEST_REJECTED reads as a retryable REFUSED_STREAM, as
// HTTP/2's REFUSED_STREAM does (RFC 9114 §8.1: not processed).
func TestRejectedIsRetryable(t *testing.T) {
	c, _ := startH3(t, serverOpts{}, func(s stream) { _ = s.Reset(frame.ErrCodeRefusedStream) })
	ctx := testCtx(t)
	s, err := c.request(ctx, "GET", "/", reqOpts{endStream: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Response(ctx)
	var se *core.StreamError
	if !errors.As(err, &se) || se.Code != frame.ErrCodeRefusedStream || !se.Remote || !se.Retryable {
		t.Errorf("Response: %#v, want a retryable remote REFUSED_STREAM", err)
	}
}
