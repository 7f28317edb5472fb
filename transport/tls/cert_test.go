package tls_test

import (
	"crypto/ecdsa"
	ctls "crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	h2tls "github.com/h2proto/h2/transport/tls"
)

func TestSelfSigned(t *testing.T) {
	cert, err := h2tls.SelfSigned("example.test", "192.0.2.7", "2001:db8::1", "", "localhost", "127.0.0.1", "::1", "example.test")
	if err != nil {
		t.Fatal(err)
	}
	if cert.Leaf == nil {
		t.Fatal("no Leaf")
	}
	if len(cert.Certificate) != 1 {
		t.Fatalf("chain of %d certificates, want 1", len(cert.Certificate))
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if !leaf.Equal(cert.Leaf) {
		t.Error("Leaf differs from Certificate[0]")
	}
	if _, ok := cert.PrivateKey.(*ecdsa.PrivateKey); !ok {
		t.Errorf("private key is %T, want *ecdsa.PrivateKey", cert.PrivateKey)
	}

	now := time.Now()
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		t.Errorf("not valid now: %v .. %v", leaf.NotBefore, leaf.NotAfter)
	}
	if leaf.NotAfter.Sub(now) < 6*24*time.Hour {
		t.Errorf("NotAfter %v is less than 6 days away", leaf.NotAfter)
	}

	for _, name := range []string{"localhost", "example.test"} {
		if !slices.Contains(leaf.DNSNames, name) {
			t.Errorf("DNSNames %q lack %q", leaf.DNSNames, name)
		}
	}
	for _, name := range []string{"localhost", "example.test"} {
		if n := countString(leaf.DNSNames, name); n != 1 {
			t.Errorf("%s appears %d times in DNSNames %q", name, n, leaf.DNSNames)
		}
	}
	if slices.Contains(leaf.DNSNames, "") {
		t.Errorf("DNSNames %q contain an empty name", leaf.DNSNames)
	}
	for _, s := range []string{"127.0.0.1", "::1", "192.0.2.7", "2001:db8::1"} {
		ip := net.ParseIP(s)
		if !slices.ContainsFunc(leaf.IPAddresses, ip.Equal) {
			t.Errorf("IPAddresses %v lack %s", leaf.IPAddresses, s)
		}
	}
	for i, ip := range leaf.IPAddresses {
		for _, other := range leaf.IPAddresses[i+1:] {
			if ip.Equal(other) {
				t.Errorf("IP address %s twice in %v", ip, leaf.IPAddresses)
			}
		}
	}
	if slices.Contains(leaf.DNSNames, "192.0.2.7") {
		t.Error("an IP address became a DNS name")
	}

	// Verifiable, for every name, against CertPool.
	pool := h2tls.CertPool(cert)
	for _, name := range []string{"localhost", "example.test", "127.0.0.1", "::1", "192.0.2.7"} {
		_, err := leaf.Verify(x509.VerifyOptions{
			DNSName:   name,
			Roots:     pool,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
		if err != nil {
			t.Errorf("Verify for %s: %v", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other.test", Roots: pool}); err == nil {
		t.Error("Verify for a name not in the certificate succeeded")
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: pool, CurrentTime: now.Add(8 * 24 * time.Hour)}); err == nil {
		t.Error("certificate still valid in 8 days")
	}
}

func countString(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

func TestSelfSignedDefaults(t *testing.T) {
	a, err := h2tls.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	b, err := h2tls.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Leaf.DNSNames, []string{"localhost"}) {
		t.Errorf("DNSNames %q, want [localhost]", a.Leaf.DNSNames)
	}
	if len(a.Leaf.IPAddresses) != 2 {
		t.Errorf("IPAddresses %v, want 127.0.0.1 and ::1", a.Leaf.IPAddresses)
	}
	if a.Leaf.SerialNumber.Cmp(b.Leaf.SerialNumber) == 0 {
		t.Error("two certificates with the same serial number")
	}
	// Each pool trusts its own certificate only.
	if _, err := a.Leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: h2tls.CertPool(b)}); err == nil {
		t.Error("a verified against b's pool")
	}
}

func TestCertPoolWithoutLeaf(t *testing.T) {
	cert, err := h2tls.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	leaf := cert.Leaf
	cert.Leaf = nil
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: h2tls.CertPool(cert)}); err != nil {
		t.Errorf("CertPool from Certificate[0]: %v", err)
	}
	// Nothing to trust: an empty pool.
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: h2tls.CertPool(ctls.Certificate{})}); err == nil {
		t.Error("an empty certificate's pool trusts something")
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: h2tls.CertPool(ctls.Certificate{Certificate: [][]byte{[]byte("junk")}})}); err == nil {
		t.Error("a junk certificate's pool trusts something")
	}
}

func TestWritePEMLoadKeyPair(t *testing.T) {
	cert, err := h2tls.SelfSigned("example.test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := h2tls.WritePEM(cert, certFile, keyFile); err != nil {
		t.Fatalf("WritePEM: %v", err)
	}

	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(certPEM), "-----BEGIN CERTIFICATE-----") {
		t.Errorf("certificate file starts %q", certPEM[:min(len(certPEM), 40)])
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(keyPEM), "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("key file starts %q", keyPEM[:min(len(keyPEM), 40)])
	}
	if fi, err := os.Stat(keyFile); err != nil {
		t.Fatal(err)
	} else if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("key file mode %v is readable by others", fi.Mode().Perm())
	}

	got, err := h2tls.LoadKeyPair(certFile, keyFile)
	if err != nil {
		t.Fatalf("LoadKeyPair: %v", err)
	}
	if !slices.EqualFunc(got.Certificate, cert.Certificate, slices.Equal) {
		t.Error("loaded certificate chain differs")
	}
	key, ok := got.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("loaded key is %T", got.PrivateKey)
	}
	if !key.Equal(cert.PrivateKey) {
		t.Error("loaded key differs")
	}
	if got.Leaf == nil || !slices.Contains(got.Leaf.DNSNames, "example.test") {
		t.Error("loaded certificate has no parsed leaf with example.test")
	}
}

func TestWritePEMErrors(t *testing.T) {
	cert, err := h2tls.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing", "x.pem")
	if err := h2tls.WritePEM(cert, missing, filepath.Join(dir, "key.pem")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("WritePEM to a missing directory: %v", err)
	}
	if err := h2tls.WritePEM(cert, filepath.Join(dir, "cert.pem"), missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("WritePEM of the key to a missing directory: %v", err)
	}
	if err := h2tls.WritePEM(ctls.Certificate{Certificate: cert.Certificate}, filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")); err == nil {
		t.Error("WritePEM without a private key succeeded")
	}
}

func TestLoadKeyPairErrors(t *testing.T) {
	dir := t.TempDir()
	missingCert := filepath.Join(dir, "no-such-cert.pem")
	missingKey := filepath.Join(dir, "no-such-key.pem")
	_, err := h2tls.LoadKeyPair(missingCert, missingKey)
	if err == nil {
		t.Fatal("LoadKeyPair of missing files succeeded")
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v is not fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), missingCert) {
		t.Errorf("error %q does not name %s", err, missingCert)
	}

	// A good certificate with a missing key names the key file.
	cert, err := h2tls.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := h2tls.WritePEM(cert, certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	if _, err := h2tls.LoadKeyPair(certFile, missingKey); err == nil || !strings.Contains(err.Error(), missingKey) {
		t.Errorf("LoadKeyPair with a missing key: %v, want an error naming %s", err, missingKey)
	}

	// A key that does not match the certificate.
	other, err := h2tls.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	otherCert, otherKey := filepath.Join(dir, "other-cert.pem"), filepath.Join(dir, "other-key.pem")
	if err := h2tls.WritePEM(other, otherCert, otherKey); err != nil {
		t.Fatal(err)
	}
	if _, err := h2tls.LoadKeyPair(certFile, otherKey); err == nil {
		t.Error("LoadKeyPair with a mismatched key succeeded")
	}
}
