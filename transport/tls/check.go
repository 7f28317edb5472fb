package tls

import (
	ctls "crypto/tls"
	"fmt"
)

// ALPNError reports a TLS connection that did not negotiate "h2": the peer
// does not speak HTTP/2 over TLS, or not with us.
type ALPNError struct {
	// Negotiated is the protocol the peer chose, "" for none.
	Negotiated string
}

func (e *ALPNError) Error() string {
	if e.Negotiated == "" {
		return `tls: no ALPN protocol negotiated (peer does not offer "h2")`
	}
	return fmt.Sprintf("tls: peer negotiated ALPN %q, not %q", e.Negotiated, ALPN)
}

// SecurityError reports a TLS connection breaking RFC 9113 §9.2; the
// HTTP/2 answer is a connection error of type INADEQUATE_SECURITY.
type SecurityError struct {
	Version     uint16
	CipherSuite uint16
	Reason      string
}

func (e *SecurityError) Error() string { return "tls: " + e.Reason }

// Check applies ALPN (RFC 9113 §3.2) and the §9.2 rules to a completed
// handshake.
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
			Reason: fmt.Sprintf("cipher suite %s is not an ephemeral AEAD suite (RFC 9113 §9.2.2)", ctls.CipherSuiteName(cs.CipherSuite))}
	}
	return nil
}
