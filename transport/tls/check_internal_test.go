package tls

import (
	ctls "crypto/tls"
	"errors"
	"slices"
	"strings"
	"testing"
)

// isEphemeralAEAD classifies a TLS 1.2 suite by its name, independently
// of the allow list: ECDHE key exchange and an AEAD cipher (RFC 9113
// §9.2.2, Appendix A).
func isEphemeralAEAD(name string) bool {
	return strings.HasPrefix(name, "TLS_ECDHE_") &&
		(strings.Contains(name, "_GCM_") || strings.HasSuffix(name, "_CHACHA20_POLY1305_SHA256") ||
			strings.HasSuffix(name, "_CHACHA20_POLY1305"))
}

// Every suite crypto/tls knows, secure or not, is judged as §9.2.2 says.
func TestCheckEveryCipherSuite(t *testing.T) {
	all := append(ctls.CipherSuites(), ctls.InsecureCipherSuites()...)
	if len(all) < 10 {
		t.Fatalf("crypto/tls lists only %d suites", len(all))
	}
	for _, s := range all {
		if slices.Contains(s.SupportedVersions, ctls.VersionTLS12) {
			err := Check(ctls.ConnectionState{Version: ctls.VersionTLS12, CipherSuite: s.ID, NegotiatedProtocol: ALPN})
			if want := isEphemeralAEAD(s.Name); (err == nil) != want {
				t.Errorf("TLS 1.2 %s: Check = %v, want allowed=%v", s.Name, err, want)
			}
			var se *SecurityError
			if err != nil && (!errors.As(err, &se) || se.CipherSuite != s.ID || se.Version != ctls.VersionTLS12 ||
				!strings.Contains(se.Reason, s.Name) || !strings.Contains(se.Reason, "§9.2.2")) {
				t.Errorf("TLS 1.2 %s: error %#v does not describe the suite", s.Name, err)
			}
		}
		if slices.Contains(s.SupportedVersions, ctls.VersionTLS13) {
			if err := Check(ctls.ConnectionState{Version: ctls.VersionTLS13, CipherSuite: s.ID, NegotiatedProtocol: ALPN}); err != nil {
				t.Errorf("TLS 1.3 %s: Check = %v, want nil", s.Name, err)
			}
		}
	}
	for _, id := range cipherSuites {
		if !isEphemeralAEAD(ctls.CipherSuiteName(id)) {
			t.Errorf("configured suite %s is not an ephemeral AEAD suite", ctls.CipherSuiteName(id))
		}
	}
}

func TestCheckOldVersions(t *testing.T) {
	for _, v := range []uint16{0x0300 /* SSL 3.0 */, ctls.VersionTLS10, ctls.VersionTLS11} {
		err := Check(ctls.ConnectionState{Version: v, CipherSuite: ctls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, NegotiatedProtocol: ALPN})
		var se *SecurityError
		if !errors.As(err, &se) || se.Version != v || !strings.Contains(se.Reason, "§9.2") {
			t.Errorf("%s: Check = %v, want a *SecurityError for the version", ctls.VersionName(v), err)
		}
	}
}

// ALPN comes first: a connection that is not HTTP/2 gets no HTTP/2 error.
func TestCheckALPNBeforeSecurity(t *testing.T) {
	err := Check(ctls.ConnectionState{Version: ctls.VersionTLS10, CipherSuite: ctls.TLS_RSA_WITH_AES_128_CBC_SHA, NegotiatedProtocol: "http/1.1"})
	var ae *ALPNError
	if !errors.As(err, &ae) || ae.Negotiated != "http/1.1" {
		t.Fatalf("Check = %v, want an *ALPNError", err)
	}
}

func TestErrorStrings(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&ALPNError{Negotiated: "http/1.1"}, `tls: peer negotiated ALPN "http/1.1", not "h2"`},
		{&ALPNError{}, `tls: no ALPN protocol negotiated (peer does not offer "h2")`},
		{&SecurityError{Reason: "TLS 1.0 is below TLS 1.2 (RFC 9113 §9.2)"}, "tls: TLS 1.0 is below TLS 1.2 (RFC 9113 §9.2)"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

// The configurations are the caller's to change: changing one does not
// change the package's suite list or the next configuration.
func TestConfigsAreIndependent(t *testing.T) {
	s := ServerConfig()
	s.CipherSuites[0] = ctls.TLS_RSA_WITH_AES_128_CBC_SHA
	c := ClientConfig(ClientOptions{})
	c.CipherSuites[0] = ctls.TLS_RSA_WITH_AES_128_CBC_SHA
	if cipherSuites[0] == ctls.TLS_RSA_WITH_AES_128_CBC_SHA || ServerConfig().CipherSuites[0] == ctls.TLS_RSA_WITH_AES_128_CBC_SHA {
		t.Fatal("changing a returned config changed the package's cipher suites")
	}
	protos := []string{"h2"}
	c = ClientConfig(ClientOptions{NextProtos: protos})
	protos[0] = "spdy/3"
	if c.NextProtos[0] != "h2" {
		t.Fatal("ClientConfig kept the caller's NextProtos slice")
	}
	if c.Renegotiation != ctls.RenegotiateNever || c.MinVersion != ctls.VersionTLS12 {
		t.Fatalf("ClientConfig renegotiation %v, min version %x", c.Renegotiation, c.MinVersion)
	}
	if got := ClientConfig(ClientOptions{NextProtos: []string{}}).NextProtos; got == nil || len(got) != 0 {
		t.Fatalf("an empty, non-nil NextProtos became %q, want no ALPN offered", got)
	}
}
