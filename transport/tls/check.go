package tls

import (
	ctls "crypto/tls"
	"fmt"
)

// ALPNError reports a TLS connection that did not negotiate "h2" (RFC 9113
// §3.2): the peer does not speak HTTP/2 over TLS, or not with us. No
// HTTP/2 frame may be sent on such a connection; close it.
type ALPNError struct {
	// Negotiated is the protocol the peer chose, "" for none.
	Negotiated string
}

// Error says what was negotiated instead of "h2".
func (e *ALPNError) Error() string {
	if e.Negotiated == "" {
		return fmt.Sprintf("tls: no ALPN protocol negotiated (peer does not offer %q)", ALPN)
	}
	return fmt.Sprintf("tls: peer negotiated ALPN %q, not %q", e.Negotiated, ALPN)
}

// SecurityError reports a TLS connection that negotiated HTTP/2 but
// breaks RFC 9113 §9.2: a version below TLS 1.2, or a TLS 1.2 cipher suite
// without ephemeral key exchange and AEAD (§9.2.2). HTTP/2 answers it with
// a connection error of type INADEQUATE_SECURITY (§9.2).
type SecurityError struct {
	// Version is the negotiated TLS version (ctls.VersionTLS12, ...).
	Version uint16
	// CipherSuite is the negotiated cipher suite.
	CipherSuite uint16
	// Reason names the rule broken, with its RFC section; it is suitable
	// as GOAWAY debug data.
	Reason string
}

// Error returns "tls: " and the Reason.
func (e *SecurityError) Error() string { return "tls: " + e.Reason }

// Check applies RFC 9113's rules to a completed handshake: ALPN "h2"
// (§3.2), else an *ALPNError; then TLS 1.2 or later (§9.2) and, with TLS
// 1.2, an ephemeral AEAD cipher suite (§9.2.2), else a *SecurityError.
// ALPN is checked first: a connection that is not HTTP/2 gets no HTTP/2
// error code. It returns nil when every rule holds, and works the same on
// the client and the server side.
func Check(cs ctls.ConnectionState) error {
	if cs.NegotiatedProtocol != ALPN {
		return &ALPNError{Negotiated: cs.NegotiatedProtocol}
	}
	if cs.Version < ctls.VersionTLS12 {
		return &SecurityError{Version: cs.Version, CipherSuite: cs.CipherSuite,
			Reason: fmt.Sprintf("%s is below TLS 1.2 (RFC 9113 §9.2)", ctls.VersionName(cs.Version))}
	}
	if cs.Version == ctls.VersionTLS12 && !allowedSuite(cs.CipherSuite) {
		return &SecurityError{Version: cs.Version, CipherSuite: cs.CipherSuite,
			Reason: fmt.Sprintf("TLS 1.2 cipher suite %s is not an ephemeral AEAD suite (RFC 9113 §9.2.2)",
				ctls.CipherSuiteName(cs.CipherSuite))}
	}
	return nil
}
