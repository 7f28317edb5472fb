package tls_test

import (
	ctls "crypto/tls"
	"errors"
	"strings"
	"testing"

	h2tls "github.com/h2proto/h2/transport/tls"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		state   ctls.ConnectionState
		wantErr string // "" for nil, else the error type: "alpn" or "security"
		mention []string
	}{
		{
			name:  "TLS 1.3",
			state: ctls.ConnectionState{Version: ctls.VersionTLS13, CipherSuite: ctls.TLS_AES_128_GCM_SHA256, NegotiatedProtocol: "h2"},
		},
		{
			name:  "TLS 1.3 any suite",
			state: ctls.ConnectionState{Version: ctls.VersionTLS13, CipherSuite: ctls.TLS_CHACHA20_POLY1305_SHA256, NegotiatedProtocol: "h2"},
		},
		{
			name:  "TLS 1.2 ECDHE RSA AES-GCM",
			state: ctls.ConnectionState{Version: ctls.VersionTLS12, CipherSuite: ctls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, NegotiatedProtocol: "h2"},
		},
		{
			name:  "TLS 1.2 ECDHE ECDSA AES-256-GCM",
			state: ctls.ConnectionState{Version: ctls.VersionTLS12, CipherSuite: ctls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, NegotiatedProtocol: "h2"},
		},
		{
			name:  "TLS 1.2 ECDHE ChaCha20-Poly1305",
			state: ctls.ConnectionState{Version: ctls.VersionTLS12, CipherSuite: ctls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, NegotiatedProtocol: "h2"},
		},
		{
			name:    "TLS 1.2 ECDHE CBC",
			state:   ctls.ConnectionState{Version: ctls.VersionTLS12, CipherSuite: ctls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, NegotiatedProtocol: "h2"},
			wantErr: "security",
			mention: []string{"§9.2.2", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
		},
		{
			name:    "TLS 1.2 RSA key exchange AEAD",
			state:   ctls.ConnectionState{Version: ctls.VersionTLS12, CipherSuite: ctls.TLS_RSA_WITH_AES_128_GCM_SHA256, NegotiatedProtocol: "h2"},
			wantErr: "security",
			mention: []string{"§9.2.2"},
		},
		{
			name:    "TLS 1.1",
			state:   ctls.ConnectionState{Version: ctls.VersionTLS11, CipherSuite: ctls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, NegotiatedProtocol: "h2"},
			wantErr: "security",
			mention: []string{"TLS 1.1", "§9.2"},
		},
		{
			name:    "TLS 1.0",
			state:   ctls.ConnectionState{Version: ctls.VersionTLS10, CipherSuite: ctls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, NegotiatedProtocol: "h2"},
			wantErr: "security",
		},
		{
			name:    "no ALPN",
			state:   ctls.ConnectionState{Version: ctls.VersionTLS13, CipherSuite: ctls.TLS_AES_128_GCM_SHA256},
			wantErr: "alpn",
			mention: []string{"no ALPN"},
		},
		{
			name:    "http/1.1",
			state:   ctls.ConnectionState{Version: ctls.VersionTLS13, CipherSuite: ctls.TLS_AES_128_GCM_SHA256, NegotiatedProtocol: "http/1.1"},
			wantErr: "alpn",
			mention: []string{`"http/1.1"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := h2tls.Check(tc.state)
			switch tc.wantErr {
			case "":
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			case "alpn":
				var ae *h2tls.ALPNError
				if !errors.As(err, &ae) {
					t.Fatalf("Check = %v (%T), want *ALPNError", err, err)
				}
				if ae.Negotiated != tc.state.NegotiatedProtocol {
					t.Errorf("Negotiated = %q, want %q", ae.Negotiated, tc.state.NegotiatedProtocol)
				}
			case "security":
				var se *h2tls.SecurityError
				if !errors.As(err, &se) {
					t.Fatalf("Check = %v (%T), want *SecurityError", err, err)
				}
				if se.Version != tc.state.Version || se.CipherSuite != tc.state.CipherSuite {
					t.Errorf("SecurityError version %#x suite %#x, want %#x %#x",
						se.Version, se.CipherSuite, tc.state.Version, tc.state.CipherSuite)
				}
				if se.Reason == "" {
					t.Error("SecurityError without a reason")
				}
			}
			for _, m := range tc.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			if !strings.HasPrefix(err.Error(), "tls: ") {
				t.Errorf("error %q lacks the tls: prefix", err)
			}
		})
	}
}
