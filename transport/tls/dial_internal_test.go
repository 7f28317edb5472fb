package tls

import (
	"context"
	ctls "crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/h2proto/h2/transport/tcp"
)

// testBound bounds every wait in these tests.
const testBound = 10 * time.Second

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testBound)
	t.Cleanup(cancel)
	return ctx
}

// serveOnce listens with cfg through Listen, accepts one connection and
// reports the result of Handshake on it.
func serveOnce(t *testing.T, cfg *ctls.Config) (addr string, res <-chan error) {
	t.Helper()
	l, err := Listen("127.0.0.1:0", cfg, tcp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := l.Accept()
		if err != nil {
			ch <- err
			return
		}
		defer nc.Close()
		ch <- Handshake(testCtx(t), nc.(*ctls.Conn))
	}()
	t.Cleanup(func() {
		_ = l.Close()
		select {
		case <-done:
		case <-time.After(testBound):
			t.Error("server goroutine did not finish")
		}
	})
	return l.Addr().String(), ch
}

func serverErr(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(testBound):
		t.Fatal("server did not report")
		return nil
	}
}

// A TLS 1.2 peer that negotiates h2 with a CBC suite is caught by Check
// on both sides (the server's config here is not ServerConfig, which
// would refuse it outright): the runtime answers INADEQUATE_SECURITY.
func TestHandshakeCBCSuiteIsInadequate(t *testing.T) {
	cert, err := SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	const cbc = ctls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
	addr, res := serveOnce(t, &ctls.Config{
		Certificates: []ctls.Certificate{cert},
		NextProtos:   []string{ALPN},
		MaxVersion:   ctls.VersionTLS12,
		CipherSuites: []uint16{cbc},
	})
	cfg := &ctls.Config{RootCAs: CertPool(cert), NextProtos: []string{ALPN},
		MaxVersion: ctls.VersionTLS12, CipherSuites: []uint16{cbc}}
	c, err := Dial(testCtx(t), addr, cfg, tcp.Config{})
	if err == nil {
		c.Close()
		t.Fatal("Dial negotiating a CBC suite succeeded")
	}
	for side, err := range map[string]error{"client": err, "server": serverErr(t, res)} {
		var se *SecurityError
		if !errors.As(err, &se) {
			t.Errorf("%s: %v, want a *SecurityError", side, err)
			continue
		}
		if se.CipherSuite != cbc || se.Version != ctls.VersionTLS12 {
			t.Errorf("%s: SecurityError names %s / %s", side, ctls.CipherSuiteName(se.CipherSuite), ctls.VersionName(se.Version))
		}
	}
}

// A certificate failure names the peer and keeps the x509 error.
func TestHandshakeErrorNamesPeer(t *testing.T) {
	cert, err := SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	addr, res := serveOnce(t, ServerConfig(cert))
	_, err = Dial(testCtx(t), addr, ClientConfig(ClientOptions{ServerName: "localhost"}), tcp.Config{})
	if err == nil {
		t.Fatal("Dial trusted a self-signed certificate with the system roots")
	}
	if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("error %q does not name %s and the certificate", err, addr)
	}
	var cve *ctls.CertificateVerificationError
	if !errors.As(err, &cve) {
		t.Errorf("error %v is not a *tls.CertificateVerificationError", err)
	}
	_ = serverErr(t, res)
}

// Dial to an IP address verifies the certificate's IP SANs and sends no
// SNI; Dial to a name sends it. cfg is left as it was.
func TestDialServerNameFromAddress(t *testing.T) {
	cert, err := SelfSigned("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"127.0.0.1", "localhost"} {
		t.Run(host, func(t *testing.T) {
			sni := make(chan string, 1)
			scfg := ServerConfig(cert)
			scfg.GetConfigForClient = func(h *ctls.ClientHelloInfo) (*ctls.Config, error) {
				sni <- h.ServerName
				return nil, nil
			}
			addr, res := serveOnce(t, scfg)
			_, port, _ := net.SplitHostPort(addr)
			cfg := ClientConfig(ClientOptions{RootCAs: CertPool(cert)})
			c, err := Dial(testCtx(t), net.JoinHostPort(host, port), cfg, tcp.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if cfg.ServerName != "" {
				t.Errorf("Dial set the caller's ServerName to %q", cfg.ServerName)
			}
			want := host
			if net.ParseIP(host) != nil {
				want = ""
			}
			if got := <-sni; got != want {
				t.Errorf("server saw SNI %q, want %q", got, want)
			}
			if st := c.ConnectionState(); st.NegotiatedProtocol != ALPN || st.Version < ctls.VersionTLS12 {
				t.Errorf("negotiated %q over %s", st.NegotiatedProtocol, ctls.VersionName(st.Version))
			}
			if err := serverErr(t, res); err != nil {
				t.Errorf("server Handshake: %v", err)
			}
		})
	}
}

func TestDialAddressWithoutPort(t *testing.T) {
	_, err := Dial(testCtx(t), "localhost", nil, tcp.Config{})
	if err == nil || !strings.Contains(err.Error(), "localhost") {
		t.Fatalf("Dial without a port = %v, want an error naming the address", err)
	}
}

func TestListenRejectsUnusableConfig(t *testing.T) {
	for name, cfg := range map[string]*ctls.Config{
		"nil":            nil,
		"no certificate": ServerConfig(),
	} {
		l, err := Listen("127.0.0.1:0", cfg, tcp.Config{})
		if err == nil {
			l.Close()
			t.Errorf("%s: Listen succeeded", name)
			continue
		}
		if !strings.Contains(err.Error(), "127.0.0.1:0") {
			t.Errorf("%s: error %q does not name the address", name, err)
		}
	}
}
