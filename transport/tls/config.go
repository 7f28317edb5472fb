package tls

import (
	ctls "crypto/tls"
	"crypto/x509"
	"slices"
)

// ALPN is the protocol identifier of HTTP/2 over TLS (RFC 9113 §3.2).
const ALPN = "h2"

// cipherSuites are the TLS 1.2 suites RFC 9113 §9.2.2 allows that
// crypto/tls implements: ephemeral (ECDHE) key exchange with an AEAD
// cipher. Server preference is crypto/tls's own (AES-GCM first where the
// hardware has AES instructions, else ChaCha20-Poly1305).
var cipherSuites = []uint16{
	ctls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	ctls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	ctls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	ctls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	ctls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	ctls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// allowedSuite reports whether id is a TLS 1.2 suite RFC 9113 §9.2.2
// allows (among those crypto/tls knows).
func allowedSuite(id uint16) bool {
	return slices.Contains(cipherSuites, id)
}

// ServerConfig returns a new server configuration for HTTP/2 serving
// certs: NextProtos ["h2"] (RFC 9113 §3.2), MinVersion TLS 1.2 (§9.2) and,
// for TLS 1.2, only the ECDHE AEAD cipher suites (§9.2.2). A client that
// cannot meet these fails the handshake; one that offers ALPN without
// "h2" is refused with the no_application_protocol alert (RFC 7301 §3.2),
// while one that offers no ALPN at all completes the handshake and is
// then refused by Check. crypto/tls servers never renegotiate (§9.2.1).
// The caller owns the result and may change it (certificates, client
// authentication, session tickets) before use.
func ServerConfig(certs ...ctls.Certificate) *ctls.Config {
	return &ctls.Config{
		Certificates: certs,
		NextProtos:   []string{ALPN},
		MinVersion:   ctls.VersionTLS12,
		CipherSuites: slices.Clone(cipherSuites),
	}
}

// ClientOptions select a client configuration (see ClientConfig). The
// zero value verifies the server against the system's roots under the
// name of the dialed host.
type ClientOptions struct {
	// ServerName is sent as SNI and verified against the server's
	// certificate. Empty means the host of the address Dial dials (for an
	// IP address crypto/tls sends no SNI and verifies the certificate's
	// IP addresses instead).
	ServerName string

	// InsecureSkipVerify turns certificate verification off: any server
	// certificate is accepted. For tests and development only.
	InsecureSkipVerify bool

	// RootCAs are the authorities trusted; nil means the system's.
	RootCAs *x509.CertPool

	// NextProtos are the ALPN protocols offered, in order of preference.
	// Nil means ["h2", "http/1.1"]: offering http/1.1 second lets a
	// server without HTTP/2 complete the handshake and say what it speaks,
	// so that Dial fails with an *ALPNError naming it instead of a bare
	// no_application_protocol alert. Whatever is offered, Check accepts
	// only "h2".
	NextProtos []string
}

// ClientConfig returns a new client configuration for HTTP/2 from o:
// MinVersion TLS 1.2 and the ECDHE AEAD suites for TLS 1.2 (RFC 9113
// §9.2, §9.2.2), renegotiation refused (§9.2.1), and the ALPN protocols
// of o.NextProtos. The caller owns the result.
func ClientConfig(o ClientOptions) *ctls.Config {
	protos := slices.Clone(o.NextProtos)
	if o.NextProtos == nil {
		protos = []string{ALPN, "http/1.1"}
	}
	return &ctls.Config{
		ServerName:         o.ServerName,
		InsecureSkipVerify: o.InsecureSkipVerify,
		RootCAs:            o.RootCAs,
		NextProtos:         protos,
		MinVersion:         ctls.VersionTLS12,
		CipherSuites:       slices.Clone(cipherSuites),
		Renegotiation:      ctls.RenegotiateNever,
	}
}
