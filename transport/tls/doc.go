// Package tls is TLS for HTTP/2 (RFC 9113 §3.2 and §9.2) over crypto/tls.
// Its directory is transport/tls; import it under another name, such as
// h2tls, beside crypto/tls.
//
// # The rules
//
//   - ALPN (RFC 7301) selects HTTP/2 with the identifier "h2" (ALPN,
//     RFC 9113 §3.2). A connection that negotiated anything else, or
//     nothing, does not speak HTTP/2: Check returns an *ALPNError naming
//     what the peer chose, and the runtime drops the connection without
//     sending a single HTTP/2 frame.
//   - TLS 1.2 or later (§9.2), with SNI sent by clients (§9.2, RFC 6066
//     §3; crypto/tls leaves IP addresses out of SNI, as RFC 6066
//     requires) and compression off (§9.2.1; crypto/tls never compresses).
//   - No renegotiation (§9.2.1): crypto/tls servers never renegotiate, and
//     ClientConfig and Dial set ctls.RenegotiateNever, so a HelloRequest
//     fails the connection.
//   - With TLS 1.2, only ephemeral key exchange and AEAD ciphers (§9.2.2
//     and the block list of RFC 9113 Appendix A): ServerConfig and
//     ClientConfig offer the ECDHE suites with AES-GCM and
//     ChaCha20-Poly1305 only. TLS 1.3 suites (RFC 8446) all qualify and
//     crypto/tls does not let them be configured.
//
// ServerConfig and ClientConfig make configurations that keep the rules,
// so that a peer breaking them fails the handshake. Check verifies a
// finished handshake against them, whatever configuration made it: a
// §9.2 breach is a *SecurityError, which the runtime answers with a
// GOAWAY of type INADEQUATE_SECURITY (§9.2, §7). Dial, Listen and
// Handshake put the pieces together.
//
// # Errors
//
// Certificate verification failures come from crypto/tls wrapped with the
// peer's address; errors.As still finds *ctls.CertificateVerificationError
// and the x509 error inside it (x509.UnknownAuthorityError,
// x509.HostnameError, x509.CertificateInvalidError). *ALPNError and
// *SecurityError are returned unwrapped.
//
// # Certificates
//
// SelfSigned makes a throwaway certificate for development and tests, and
// CertPool trusts it; LoadKeyPair and WritePEM read and write PEM files.
package tls
