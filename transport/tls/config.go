package tls

import (
	"context"
	ctls "crypto/tls"
	"crypto/x509"
	"fmt"
	"net"

	"github.com/h2proto/h2/transport/tcp"
)

// ALPN is the protocol identifier of HTTP/2 over TLS (RFC 9113 §3.2).
const ALPN = "h2"

// cipherSuites are the TLS 1.2 suites RFC 9113 §9.2.2 allows: ephemeral
// (ECDHE) key exchange with an AEAD cipher. TLS 1.3 suites all qualify and
// are not configurable in crypto/tls.
var cipherSuites = []uint16{
	ctls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	ctls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	ctls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	ctls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	ctls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	ctls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

func allowedSuite(id uint16) bool {
	for _, s := range cipherSuites {
		if s == id {
			return true
		}
	}
	return false
}

// ServerConfig returns a server configuration for HTTP/2: ALPN "h2" only,
// TLS 1.2 or later, the §9.2.2 cipher suites. crypto/tls servers never
// renegotiate.
func ServerConfig(certs ...ctls.Certificate) *ctls.Config {
	return &ctls.Config{
		Certificates: certs,
		NextProtos:   []string{ALPN},
		MinVersion:   ctls.VersionTLS12,
		CipherSuites: cipherSuites,
	}
}

// ClientOptions select a client configuration.
type ClientOptions struct {
	// ServerName is sent as SNI and verified against the certificate;
	// empty means the host of the address dialed.
	ServerName string
	// InsecureSkipVerify turns certificate verification off (tests and
	// development only).
	InsecureSkipVerify bool
	// RootCAs are the authorities trusted; nil means the system's.
	RootCAs *x509.CertPool
	// NextProtos are the ALPN protocols offered; nil means ["h2",
	// "http/1.1"]. Offering http/1.1 second lets a server without HTTP/2
	// say what it speaks — Dial then fails with an *ALPNError naming it —
	// instead of failing the handshake with a bare "no application
	// protocol" alert.
	NextProtos []string
}

// ClientConfig returns a client configuration with the same rules as
// ServerConfig; renegotiation stays off (crypto/tls's default).
func ClientConfig(o ClientOptions) *ctls.Config {
	protos := o.NextProtos
	if protos == nil {
		protos = []string{ALPN, "http/1.1"}
	}
	return &ctls.Config{
		ServerName:         o.ServerName,
		InsecureSkipVerify: o.InsecureSkipVerify,
		RootCAs:            o.RootCAs,
		NextProtos:         protos,
		MinVersion:         ctls.VersionTLS12,
		CipherSuites:       cipherSuites,
		Renegotiation:      ctls.RenegotiateNever,
	}
}

// Dial connects to addr, performs the TLS handshake (bounded by ctx) and
// Check. cfg is not modified; when its ServerName is empty the host of addr
// is used (crypto/tls leaves an IP address out of SNI and verifies it
// against the certificate's IP addresses).
func Dial(ctx context.Context, addr string, cfg *ctls.Config, tcpCfg tcp.Config) (*ctls.Conn, error) {
	if cfg == nil {
		cfg = ClientConfig(ClientOptions{})
	}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		cfg = cfg.Clone()
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

// Handshake runs the handshake of c (client or server side) bounded by
// ctx, then Check.
func Handshake(ctx context.Context, c *ctls.Conn) error {
	if err := c.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("tls handshake: %w", err)
	}
	return Check(c.ConnectionState())
}

// Listen listens on addr for TLS connections configured by cfg (see
// ServerConfig). The handshake happens on first use, or in Handshake.
func Listen(addr string, cfg *ctls.Config, tcpCfg tcp.Config) (net.Listener, error) {
	l, err := tcp.Listen(addr, tcpCfg)
	if err != nil {
		return nil, err
	}
	return ctls.NewListener(l, cfg), nil
}
