package tls

import (
	ctls "crypto/tls"
	"crypto/x509"
	"net"
	"slices"
	"testing"
)

// Hosts become DNS or IP SANs once each, next to the ones always there.
func TestSelfSignedSANs(t *testing.T) {
	cert, err := SelfSigned("example.test", "localhost", "", "127.0.0.1", "10.1.2.3", "::1", "fe80::1", "example.test", "10.1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	leaf := cert.Leaf
	if want := []string{"localhost", "example.test"}; !slices.Equal(leaf.DNSNames, want) {
		t.Errorf("DNS SANs %q, want %q", leaf.DNSNames, want)
	}
	wantIPs := []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback, net.ParseIP("10.1.2.3"), net.ParseIP("fe80::1")}
	if !slices.EqualFunc(leaf.IPAddresses, wantIPs, net.IP.Equal) {
		t.Errorf("IP SANs %v, want %v", leaf.IPAddresses, wantIPs)
	}
	for _, h := range []string{"example.test", "localhost", "127.0.0.1", "::1", "10.1.2.3", "fe80::1"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("VerifyHostname(%q): %v", h, err)
		}
	}
	if err := leaf.VerifyHostname("other.test"); err == nil {
		t.Error("the certificate is valid for other.test")
	}
	if leaf.SerialNumber.Sign() <= 0 {
		t.Errorf("serial number %v is not positive", leaf.SerialNumber)
	}
}

// CertPool survives a certificate with no leaf and no DER.
func TestCertPoolEmptyCertificate(t *testing.T) {
	if p := CertPool(ctls.Certificate{}); p == nil || !p.Equal(x509.NewCertPool()) {
		t.Fatal("CertPool of an empty certificate is not an empty pool")
	}
	if p := CertPool(ctls.Certificate{Certificate: [][]byte{[]byte("not DER")}}); p == nil || !p.Equal(x509.NewCertPool()) {
		t.Fatal("CertPool of a bad certificate is not an empty pool")
	}
}
