package tls

import (
	"context"
	ctls "crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/h2proto/h2/transport/tcp"
)

// Dial connects to addr ("host:port") over TCP with tcpCfg (see package
// tcp), performs the client handshake bounded by ctx, and checks the
// result with Check. cfg nil means ClientConfig(ClientOptions{}).
//
// cfg is not modified: Dial works on a clone, in which it sets ServerName
// to the host of addr when it is empty (crypto/tls then sends it as SNI,
// except for an IP address, which it verifies against the certificate's
// IP addresses instead) and turns renegotiation off (RFC 9113 §9.2.1).
// Versions, suites and ALPN protocols are the caller's; Check rejects a
// result that breaks RFC 9113.
//
// Errors: a TCP failure as package tcp reports it (naming addr); a failed
// handshake wrapped with addr, with errors.As still finding crypto/tls's
// and x509's error types (see the package doc) and ctx's error when ctx
// ended it; an *ALPNError or *SecurityError from Check, unwrapped. On any
// error the connection is closed.
func Dial(ctx context.Context, addr string, cfg *ctls.Config, tcpCfg tcp.Config) (*ctls.Conn, error) {
	if cfg == nil {
		cfg = ClientConfig(ClientOptions{})
	}
	cfg = cfg.Clone()
	cfg.Renegotiation = ctls.RenegotiateNever
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("tls: dial %s: %w", addr, err)
		}
		cfg.ServerName = host
	}
	nc, err := tcp.Dial(ctx, addr, tcpCfg)
	if err != nil {
		return nil, err
	}
	tc := ctls.Client(nc, cfg)
	if err := Handshake(ctx, tc); err != nil {
		_ = tc.Close()
		return nil, err
	}
	return tc, nil
}

// Handshake runs the TLS handshake of c, on whichever side c is (a
// ctls.Client or ctls.Server conn, or one from Listen), bounded by ctx,
// then applies Check. If the handshake already happened it only checks.
// A handshake error is wrapped with the peer's address; Check's errors
// are returned unwrapped. Handshake does not close c on error: the caller
// decides (a server may first send GOAWAY INADEQUATE_SECURITY on a
// *SecurityError).
func Handshake(ctx context.Context, c *ctls.Conn) error {
	if err := c.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("tls: handshake with %s: %w", c.RemoteAddr(), err)
	}
	return Check(c.ConnectionState())
}

// Listen listens on addr for TLS connections: a tcp.Listen listener with
// tcpCfg whose Accept returns *ctls.Conn server connections configured by
// cfg (normally ServerConfig). The handshake happens on first Read or
// Write, or explicitly in Handshake, which also applies Check; Accept
// itself never blocks on a client. Listen fails at once if cfg is nil or
// has no certificate source (as crypto/tls's Listen does); a cfg that does
// not offer "h2" is the caller's choice, and Check rejects its
// connections.
func Listen(addr string, cfg *ctls.Config, tcpCfg tcp.Config) (net.Listener, error) {
	if err := serverConfigError(cfg); err != nil {
		return nil, fmt.Errorf("tls: listen %s: %w", addr, err)
	}
	l, err := tcp.Listen(addr, tcpCfg)
	if err != nil {
		return nil, err
	}
	return ctls.NewListener(l, cfg), nil
}

// serverConfigError says what makes cfg unusable for an HTTP/2 server.
func serverConfigError(cfg *ctls.Config) error {
	switch {
	case cfg == nil:
		return errors.New("nil config")
	case len(cfg.Certificates) == 0 && cfg.GetCertificate == nil && cfg.GetConfigForClient == nil:
		return errors.New("config has no certificate (Certificates, GetCertificate or GetConfigForClient)")
	}
	return nil
}
