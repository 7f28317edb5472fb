package tls_test

import (
	"context"
	ctls "crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2proto/h2/transport/tcp"
	h2tls "github.com/h2proto/h2/transport/tls"
)

// bound is the limit on every wait in these tests.
const bound = 10 * time.Second

var (
	certOnce sync.Once
	certVal  ctls.Certificate
	certErr  error
)

// serverCert is one SelfSigned certificate shared by the tests.
func serverCert(t *testing.T) ctls.Certificate {
	t.Helper()
	certOnce.Do(func() { certVal, certErr = h2tls.SelfSigned() })
	if certErr != nil {
		t.Fatalf("SelfSigned: %v", certErr)
	}
	return certVal
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), bound)
	t.Cleanup(cancel)
	return c
}

// serverResult is what the server side of a test connection saw.
type serverResult struct {
	state ctls.ConnectionState
	err   error // of the handshake (crypto/tls's, not Check)
	check error // Check of the state, if the handshake succeeded
}

// server listens on 127.0.0.1:0 with cfg (through Listen), accepts one
// connection, runs its handshake and reports on the returned channel.
func server(t *testing.T, cfg *ctls.Config) (addr string, res <-chan serverResult) {
	t.Helper()
	l, err := h2tls.Listen("127.0.0.1:0", cfg, tcp.Config{})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ch := make(chan serverResult, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := l.Accept()
		if err != nil {
			ch <- serverResult{err: err}
			return
		}
		defer nc.Close()
		tc := nc.(*ctls.Conn)
		_ = tc.SetDeadline(time.Now().Add(bound))
		hctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		if err := tc.HandshakeContext(hctx); err != nil {
			ch <- serverResult{err: err}
			return
		}
		st := tc.ConnectionState()
		ch <- serverResult{state: st, check: h2tls.Check(st)}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		select {
		case <-done:
		case <-time.After(bound):
			t.Error("server goroutine did not finish")
		}
	})
	return l.Addr().String(), ch
}

func wait(t *testing.T, ch <-chan serverResult) serverResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(bound):
		t.Fatal("server did not report")
		return serverResult{}
	}
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHandshakeH2(t *testing.T) {
	cert := serverCert(t)
	addr, res := server(t, h2tls.ServerConfig(cert))

	cfg := h2tls.ClientConfig(h2tls.ClientOptions{RootCAs: h2tls.CertPool(cert), ServerName: "localhost"})
	c, err := h2tls.Dial(ctx(t), addr, cfg, tcp.Config{})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()

	st := c.ConnectionState()
	if !st.HandshakeComplete {
		t.Error("handshake not complete")
	}
	if h2tls.ALPN != "h2" || st.NegotiatedProtocol != "h2" {
		t.Errorf("client negotiated %q, want h2", st.NegotiatedProtocol)
	}
	if st.Version < ctls.VersionTLS12 {
		t.Errorf("version %s", ctls.VersionName(st.Version))
	}
	if len(st.VerifiedChains) == 0 {
		t.Error("no verified chains: verification did not run")
	}
	if err := h2tls.Check(st); err != nil {
		t.Errorf("client Check: %v", err)
	}

	r := wait(t, res)
	if r.err != nil {
		t.Fatalf("server handshake: %v", r.err)
	}
	if r.state.NegotiatedProtocol != "h2" {
		t.Errorf("server negotiated %q, want h2", r.state.NegotiatedProtocol)
	}
	if r.check != nil {
		t.Errorf("server Check: %v", r.check)
	}
}

func TestHandshakeH2TLS12(t *testing.T) {
	cert := serverCert(t)
	addr, res := server(t, h2tls.ServerConfig(cert))

	cfg := h2tls.ClientConfig(h2tls.ClientOptions{RootCAs: h2tls.CertPool(cert), ServerName: "localhost"})
	cfg.MaxVersion = ctls.VersionTLS12
	c, err := h2tls.Dial(ctx(t), addr, cfg, tcp.Config{})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	st := c.ConnectionState()
	if st.Version != ctls.VersionTLS12 {
		t.Fatalf("version %s, want TLS 1.2", ctls.VersionName(st.Version))
	}
	if err := h2tls.Check(st); err != nil {
		t.Errorf("Check: %v (suite %s)", err, ctls.CipherSuiteName(st.CipherSuite))
	}
	if r := wait(t, res); r.err != nil || r.check != nil {
		t.Errorf("server: handshake %v, Check %v", r.err, r.check)
	}
}

func TestServerHandshakeWithHandshake(t *testing.T) {
	// Handshake on the server side of a Listen connection runs Check too.
	cert := serverCert(t)
	l, err := h2tls.Listen("127.0.0.1:0", h2tls.ServerConfig(cert), tcp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ch := make(chan error, 1)
	go func() {
		nc, err := l.Accept()
		if err != nil {
			ch <- err
			return
		}
		defer nc.Close()
		ch <- h2tls.Handshake(ctx(t), nc.(*ctls.Conn))
	}()
	cfg := h2tls.ClientConfig(h2tls.ClientOptions{RootCAs: h2tls.CertPool(cert)})
	c, err := h2tls.Dial(ctx(t), "localhost:"+port(t, l.Addr().String()), cfg, tcp.Config{})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	select {
	case err := <-ch:
		if err != nil {
			t.Errorf("server Handshake: %v", err)
		}
	case <-time.After(bound):
		t.Fatal("server Handshake did not return")
	}
}

func TestALPNMismatch(t *testing.T) {
	cert := serverCert(t)
	addr, res := server(t, &ctls.Config{Certificates: []ctls.Certificate{cert}, NextProtos: []string{"http/1.1"}})

	cfg := h2tls.ClientConfig(h2tls.ClientOptions{RootCAs: h2tls.CertPool(cert), ServerName: "localhost"})
	c, err := h2tls.Dial(ctx(t), addr, cfg, tcp.Config{})
	if err == nil {
		c.Close()
		t.Fatal("Dial to an http/1.1-only server succeeded")
	}
	var ae *h2tls.ALPNError
	if !errors.As(err, &ae) {
		t.Fatalf("Dial error %v (%T) is not an *ALPNError", err, err)
	}
	if ae.Negotiated != "http/1.1" {
		t.Errorf("Negotiated = %q, want http/1.1", ae.Negotiated)
	}
	if !strings.Contains(err.Error(), `"http/1.1"`) {
		t.Errorf("error %q does not name http/1.1", err)
	}
	if !strings.Contains(err.Error(), `"h2"`) {
		t.Errorf("error %q does not name h2", err)
	}
	r := wait(t, res)
	if r.err == nil && r.state.NegotiatedProtocol != "http/1.1" {
		t.Errorf("server negotiated %q", r.state.NegotiatedProtocol)
	}
}

func TestALPNNone(t *testing.T) {
	cert := serverCert(t)
	addr, res := server(t, &ctls.Config{Certificates: []ctls.Certificate{cert}})

	cfg := h2tls.ClientConfig(h2tls.ClientOptions{RootCAs: h2tls.CertPool(cert), ServerName: "localhost"})
	c, err := h2tls.Dial(ctx(t), addr, cfg, tcp.Config{})
	if err == nil {
		c.Close()
		t.Fatal("Dial to a server without ALPN succeeded")
	}
	var ae *h2tls.ALPNError
	if !errors.As(err, &ae) {
		t.Fatalf("Dial error %v (%T) is not an *ALPNError", err, err)
	}
	if ae.Negotiated != "" {
		t.Errorf("Negotiated = %q, want empty", ae.Negotiated)
	}
	if !strings.Contains(err.Error(), "no ALPN") {
		t.Errorf("error %q does not say no ALPN was negotiated", err)
	}
	wait(t, res)
}

func TestUntrustedCertificate(t *testing.T) {
	cert := serverCert(t)
	other, err := h2tls.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	addr, res := server(t, h2tls.ServerConfig(cert))

	cfg := h2tls.ClientConfig(h2tls.ClientOptions{RootCAs: h2tls.CertPool(other), ServerName: "localhost"})
	c, err := h2tls.Dial(ctx(t), addr, cfg, tcp.Config{})
	if err == nil {
		c.Close()
		t.Fatal("Dial trusting another certificate succeeded")
	}
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &ua) {
		t.Errorf("Dial error %v is not an x509.UnknownAuthorityError", err)
	}
	var cve *ctls.CertificateVerificationError
	if !errors.As(err, &cve) {
		t.Errorf("Dial error %v is not a *tls.CertificateVerificationError", err)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("Dial error %q does not name the address %s", err, addr)
	}
	if r := wait(t, res); r.err == nil {
		t.Error("server handshake succeeded although the client rejected the certificate")
	}
}

func TestWrongHostName(t *testing.T) {
	cert := serverCert(t)
	addr, res := server(t, h2tls.ServerConfig(cert))

	cfg := h2tls.ClientConfig(h2tls.ClientOptions{RootCAs: h2tls.CertPool(cert), ServerName: "example.com"})
	c, err := h2tls.Dial(ctx(t), addr, cfg, tcp.Config{})
	if err == nil {
		c.Close()
		t.Fatal("Dial with a name not in the certificate succeeded")
	}
	var he x509.HostnameError
	if !errors.As(err, &he) {
		t.Errorf("Dial error %v is not an x509.HostnameError", err)
	}
	wait(t, res)
}

func TestInsecureSkipVerify(t *testing.T) {
	cert := serverCert(t)
	addr, res := server(t, h2tls.ServerConfig(cert))

	cfg := h2tls.ClientConfig(h2tls.ClientOptions{InsecureSkipVerify: true, ServerName: "example.com"})
	c, err := h2tls.Dial(ctx(t), addr, cfg, tcp.Config{})
	if err != nil {
		t.Fatalf("Dial with InsecureSkipVerify: %v", err)
	}
	c.Close()
	wait(t, res)
}

func TestDialNilConfigUsesSystemRoots(t *testing.T) {
	// A nil config is ClientConfig's defaults, which trust the system's
	// roots, not a throwaway certificate.
	cert := serverCert(t)
	addr, res := server(t, h2tls.ServerConfig(cert))
	c, err := h2tls.Dial(ctx(t), addr, nil, tcp.Config{})
	if err == nil {
		c.Close()
		t.Fatal("Dial with a nil config trusted a self-signed certificate")
	}
	var cve *ctls.CertificateVerificationError
	if !errors.As(err, &cve) {
		t.Errorf("Dial error %v is not a certificate verification error", err)
	}
	wait(t, res)
}

func TestClientTLS11Rejected(t *testing.T) {
	cert := serverCert(t)
	addr, res := server(t, h2tls.ServerConfig(cert))

	cfg := &ctls.Config{
		RootCAs:    h2tls.CertPool(cert),
		ServerName: "localhost",
		NextProtos: []string{"h2"},
		MinVersion: ctls.VersionTLS10,
		MaxVersion: ctls.VersionTLS11,
	}
	c, err := h2tls.Dial(ctx(t), addr, cfg, tcp.Config{})
	if err == nil {
		c.Close()
		t.Fatal("TLS 1.1 client handshake with ServerConfig succeeded")
	}
	if !strings.Contains(err.Error(), "version") {
		t.Errorf("client error %q does not mention the version", err)
	}
	r := wait(t, res)
	if r.err == nil {
		t.Fatalf("server accepted a TLS 1.1 client (version %s)", ctls.VersionName(r.state.Version))
	}
	if !strings.Contains(r.err.Error(), "version") {
		t.Errorf("server error %q does not mention the version", r.err)
	}
}

func TestClientRejectsCBCOnlyServer(t *testing.T) {
	// A TLS 1.2 server offering only a CBC suite has nothing in common with
	// ClientConfig's suites: the handshake fails.
	cert := serverCert(t)
	addr, res := server(t, &ctls.Config{
		Certificates: []ctls.Certificate{cert},
		NextProtos:   []string{"h2"},
		MaxVersion:   ctls.VersionTLS12,
		CipherSuites: []uint16{ctls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA},
	})
	cfg := h2tls.ClientConfig(h2tls.ClientOptions{RootCAs: h2tls.CertPool(cert), ServerName: "localhost"})
	c, err := h2tls.Dial(ctx(t), addr, cfg, tcp.Config{})
	if err == nil {
		st := c.ConnectionState()
		c.Close()
		t.Fatalf("handshake succeeded with %s", ctls.CipherSuiteName(st.CipherSuite))
	}
	wait(t, res)
}

func TestServerName(t *testing.T) {
	for _, tc := range []struct {
		name       string
		host       string // dialed
		serverName string // in the config
		wantSNI    string
	}{
		{"from address", "localhost", "", "localhost"},
		{"explicit", "127.0.0.1", "localhost", "localhost"},
		// crypto/tls sends no SNI for an IP address, but verifies it.
		{"IP address", "127.0.0.1", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert := serverCert(t)
			sni := make(chan string, 1)
			scfg := h2tls.ServerConfig(cert)
			scfg.GetConfigForClient = func(hello *ctls.ClientHelloInfo) (*ctls.Config, error) {
				sni <- hello.ServerName
				return nil, nil
			}
			addr, res := server(t, scfg)

			cfg := h2tls.ClientConfig(h2tls.ClientOptions{RootCAs: h2tls.CertPool(cert), ServerName: tc.serverName})
			before := cfg.Clone()
			c, err := h2tls.Dial(ctx(t), net.JoinHostPort(tc.host, port(t, addr)), cfg, tcp.Config{})
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.Close()

			if cfg.ServerName != tc.serverName {
				t.Errorf("Dial changed the caller's ServerName to %q", cfg.ServerName)
			}
			if !reflect.DeepEqual(cfg.NextProtos, before.NextProtos) || cfg.RootCAs != before.RootCAs ||
				cfg.MinVersion != before.MinVersion || !reflect.DeepEqual(cfg.CipherSuites, before.CipherSuites) {
				t.Error("Dial modified the caller's config")
			}
			select {
			case got := <-sni:
				if got != tc.wantSNI {
					t.Errorf("server saw SNI %q, want %q", got, tc.wantSNI)
				}
			case <-time.After(bound):
				t.Fatal("GetConfigForClient was not called")
			}
			if r := wait(t, res); r.err != nil {
				t.Errorf("server handshake: %v", r.err)
			} else if r.state.ServerName != tc.wantSNI {
				t.Errorf("server ConnectionState.ServerName %q, want %q", r.state.ServerName, tc.wantSNI)
			}
		})
	}
}

func TestDialBadAddress(t *testing.T) {
	c, err := h2tls.Dial(ctx(t), "no-port", nil, tcp.Config{})
	if err == nil {
		c.Close()
		t.Fatal("Dial without a port succeeded")
	}
}

func TestDialRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	c, err := h2tls.Dial(ctx(t), addr, nil, tcp.Config{})
	if err == nil {
		c.Close()
		t.Fatal("Dial to a closed port succeeded")
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error %q does not say connection refused", err)
	}
}

func TestDialContextCancelledDuringHandshake(t *testing.T) {
	// A TCP server that never answers the ClientHello: the handshake ends
	// with the context.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	defer func() {
		_ = l.Close()
		select {
		case c, ok := <-accepted:
			if ok {
				c.Close()
			}
		case <-time.After(bound):
		}
	}()

	dctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	c, err := h2tls.Dial(dctx, l.Addr().String(), h2tls.ClientConfig(h2tls.ClientOptions{ServerName: "localhost"}), tcp.Config{})
	if err == nil {
		c.Close()
		t.Fatal("Dial succeeded against a silent server")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial error %v is not context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > bound {
		t.Errorf("Dial took %v", d)
	}
}

func TestListenBadAddress(t *testing.T) {
	l, err := h2tls.Listen("127.0.0.1:-1", h2tls.ServerConfig(serverCert(t)), tcp.Config{})
	if err == nil {
		l.Close()
		t.Fatal("Listen on a bad address succeeded")
	}
}

func TestListenWithoutCertificate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  *ctls.Config
	}{{"nil config", nil}, {"no certificate", h2tls.ServerConfig()}} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := h2tls.Listen("127.0.0.1:0", tc.cfg, tcp.Config{})
			if err == nil {
				l.Close()
				t.Fatal("Listen succeeded with a config that cannot serve")
			}
		})
	}
}

func TestConfigs(t *testing.T) {
	cert := serverCert(t)
	s := h2tls.ServerConfig(cert)
	if !reflect.DeepEqual(s.NextProtos, []string{"h2"}) {
		t.Errorf("ServerConfig NextProtos %q, want [h2]", s.NextProtos)
	}
	if s.MinVersion != ctls.VersionTLS12 {
		t.Errorf("ServerConfig MinVersion %s", ctls.VersionName(s.MinVersion))
	}
	if len(s.Certificates) != 1 {
		t.Errorf("ServerConfig has %d certificates", len(s.Certificates))
	}

	c := h2tls.ClientConfig(h2tls.ClientOptions{})
	if !reflect.DeepEqual(c.NextProtos, []string{"h2", "http/1.1"}) {
		t.Errorf("ClientConfig NextProtos %q, want [h2 http/1.1]", c.NextProtos)
	}
	if c.MinVersion != ctls.VersionTLS12 {
		t.Errorf("ClientConfig MinVersion %s", ctls.VersionName(c.MinVersion))
	}
	if c.Renegotiation != ctls.RenegotiateNever {
		t.Errorf("ClientConfig Renegotiation %v", c.Renegotiation)
	}
	if c.InsecureSkipVerify || c.RootCAs != nil || c.ServerName != "" {
		t.Errorf("ClientConfig zero options: %+v", c)
	}
	c = h2tls.ClientConfig(h2tls.ClientOptions{NextProtos: []string{"h2"}, ServerName: "x"})
	if !reflect.DeepEqual(c.NextProtos, []string{"h2"}) || c.ServerName != "x" {
		t.Errorf("ClientConfig options not applied: %q %q", c.NextProtos, c.ServerName)
	}

	// Every TLS 1.2 suite offered is one Check accepts.
	for _, cfg := range []*ctls.Config{s, c} {
		if len(cfg.CipherSuites) == 0 {
			t.Fatal("no cipher suites configured")
		}
		for _, id := range cfg.CipherSuites {
			st := ctls.ConnectionState{Version: ctls.VersionTLS12, CipherSuite: id, NegotiatedProtocol: "h2"}
			if err := h2tls.Check(st); err != nil {
				t.Errorf("configured suite %s fails Check: %v", ctls.CipherSuiteName(id), err)
			}
		}
	}
}
