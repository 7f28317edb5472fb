// Package tls is TLS for HTTP/2 (directory transport/tls; import it under
// another name, such as h2tls, beside crypto/tls): ALPN "h2" (RFC 9113
// §3.2) and the TLS rules of RFC 9113 §9.2 — TLS 1.2 or later, no
// renegotiation, and for TLS 1.2 only ephemeral key exchange with AEAD
// cipher suites (§9.2.2). Check applies those rules to a finished
// handshake: an ALPN mismatch is an *ALPNError naming what the peer chose,
// a §9.2 breach a *SecurityError (to be answered with GOAWAY
// INADEQUATE_SECURITY).
//
// SelfSigned makes a throwaway certificate for development and tests.
package tls
