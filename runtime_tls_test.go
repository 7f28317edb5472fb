package h2_test

import (
	"context"
	ctls "crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/transport/tcp"
	h2tls "github.com/h2proto/h2/transport/tls"
)

// rtHTTP1Server is a crypto/tls server on loopback that offers only ALPN
// "http/1.1": it completes handshakes and holds connections until the test
// ends.
func rtHTTP1Server(t *testing.T, cert ctls.Certificate) string {
	t.Helper()
	l, err := ctls.Listen("tcp", "127.0.0.1:0", &ctls.Config{
		Certificates: []ctls.Certificate{cert},
		NextProtos:   []string{"http/1.1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = l.Close()
		<-done
	})
	go func() {
		defer close(done)
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				ctx, cancel := context.WithTimeout(context.Background(), rtTimeout)
				defer cancel()
				if nc.(*ctls.Conn).HandshakeContext(ctx) != nil {
					return
				}
				buf := make([]byte, 1024)
				for {
					if _, err := nc.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

// TestRuntimeTLSALPNMismatch: h2.Dial to a TLS server that picks
// "http/1.1" fails with a *transport/tls.ALPNError naming the protocol.
func TestRuntimeTLSALPNMismatch(t *testing.T) {
	cert, err := h2tls.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	addr := rtHTTP1Server(t, cert)
	ctx := rtCtx(t)

	// A client offering h2 and http/1.1: the server picks http/1.1.
	cfg := h2tls.ClientConfig(h2tls.ClientOptions{RootCAs: h2tls.CertPool(cert), NextProtos: []string{"h2", "http/1.1"}})
	c, err := h2.Dial(ctx, addr, &h2.ClientOptions{TLSConfig: cfg})
	if err == nil {
		_ = c.Close()
		t.Fatal("Dial to an http/1.1-only server succeeded")
	}
	var ae *h2tls.ALPNError
	if !errors.As(err, &ae) {
		t.Fatalf("Dial: %v (%T), want a *tls.ALPNError in the chain", err, err)
	}
	if ae.Negotiated != "http/1.1" {
		t.Errorf("ALPNError.Negotiated = %q, want http/1.1", ae.Negotiated)
	}
	if !strings.Contains(err.Error(), "http/1.1") || !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q should name the negotiated protocol and the address", err)
	}

	// The default client offers only h2: the handshake itself fails, and
	// Dial says so.
	c, err = h2.Dial(ctx, addr, &h2.ClientOptions{RootCAs: h2tls.CertPool(cert)})
	if err == nil {
		_ = c.Close()
		t.Fatal("Dial offering only h2 to an http/1.1-only server succeeded")
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q should name the address", err)
	}
}

// TestRuntimeTLSServerRejectsHTTP1Client: ServeConn on a TLS connection
// whose client negotiated "http/1.1" returns a *transport/tls.ALPNError.
func TestRuntimeTLSServerRejectsHTTP1Client(t *testing.T) {
	cert, err := h2tls.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	ctx := rtCtx(t)
	a, b := net.Pipe()
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	scfg := h2tls.ServerConfig(cert)
	scfg.NextProtos = []string{"h2", "http/1.1"}
	srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) { _ = s.Respond(200, nil, nil) })}
	served := make(chan error, 1)
	go func() { served <- srv.ServeConn(ctls.Server(b, scfg)) }()
	cc := ctls.Client(a, &ctls.Config{RootCAs: h2tls.CertPool(cert), ServerName: "localhost", NextProtos: []string{"http/1.1"}})
	go func() {
		if cc.HandshakeContext(ctx) == nil {
			_, _ = io.Copy(io.Discard, cc) // take the server's close_notify
		}
	}()
	err = rtWait(t, ctx, served, "ServeConn")
	var ae *h2tls.ALPNError
	if !errors.As(err, &ae) || ae.Negotiated != "http/1.1" {
		t.Fatalf("ServeConn: %v, want a *tls.ALPNError for http/1.1", err)
	}
}

// TestRuntimeTLSRequest: over TLS with a verified self-signed certificate
// the connection negotiates h2, requests use :scheme https, and the peers'
// addresses are set.
func TestRuntimeTLSRequest(t *testing.T) {
	schemes := make(chan string, 1)
	srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		schemes <- s.Request().Scheme
		_ = s.Respond(200, nil, []byte(s.Conn().RemoteAddr().String()))
	})}
	env := rtStart(t, rtOverTLS, srv, nil)
	c := env.client
	ctx := rtCtx(t)
	tc, ok := c.NetConn().(*ctls.Conn)
	if !ok {
		t.Fatalf("NetConn is %T, want *tls.Conn", c.NetConn())
	}
	if st := tc.ConnectionState(); st.NegotiatedProtocol != "h2" || len(st.PeerCertificates) == 0 {
		t.Errorf("TLS state: ALPN %q, %d certificates", st.NegotiatedProtocol, len(st.PeerCertificates))
	}
	s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	if sch := rtWait(t, ctx, schemes, "request"); sch != "https" {
		t.Errorf(":scheme %q, want https", sch)
	}
	body, err := rtReadAll(t, ctx, s)
	if err != nil || string(body) != c.LocalAddr().String() {
		t.Errorf("server saw the client at %q (%v), want %s", body, err, c.LocalAddr())
	}

	// An untrusted certificate fails the dial.
	l, err := h2tls.Listen("127.0.0.1:0", h2tls.ServerConfig(rtMustCert(t)), tcp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		nc, err := l.Accept()
		if err == nil {
			_ = nc.(*ctls.Conn).HandshakeContext(ctx)
			_ = nc.Close()
		}
	}()
	if c2, err := h2.Dial(ctx, l.Addr().String(), &h2.ClientOptions{RootCAs: h2tls.CertPool(rtMustCert(t))}); err == nil {
		_ = c2.Close()
		t.Error("Dial with an untrusted certificate succeeded")
	}
}

func rtMustCert(t *testing.T) ctls.Certificate {
	t.Helper()
	cert, err := h2tls.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
