package tls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	ctls "crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"slices"
	"time"
)

// SelfSigned returns a throwaway certificate for development and tests: a
// fresh ECDSA P-256 key, valid from an hour ago (to absorb clock skew)
// for 7 days, self-signed, with subject alternative names for hosts (IP
// addresses as IP SANs, anything else as a DNS name) plus always
// "localhost", 127.0.0.1 and ::1. The result's Leaf is set. Nothing
// trusts it: use CertPool(cert) as the client's RootCAs. Never use it in
// production.
func SelfSigned(hosts ...string) (ctls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return ctls.Certificate{}, fmt.Errorf("tls: self-signed certificate: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return ctls.Certificate{}, fmt.Errorf("tls: self-signed certificate: %w", err)
	}
	dns, ips := sans(hosts)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"h2proto throwaway"}, CommonName: "localhost"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // its own root, so CertPool can trust it
		DNSNames:              dns,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return ctls.Certificate{}, fmt.Errorf("tls: self-signed certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return ctls.Certificate{}, fmt.Errorf("tls: self-signed certificate: %w", err)
	}
	return ctls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// sans splits hosts into DNS names and IP addresses, always including
// localhost, 127.0.0.1 and ::1, without duplicates or empty names.
func sans(hosts []string) (dns []string, ips []net.IP) {
	dns = []string{"localhost"}
	ips = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	for _, h := range hosts {
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(ips, ip.Equal) {
				ips = append(ips, ip)
			}
		} else if !slices.Contains(dns, h) {
			dns = append(dns, h)
		}
	}
	return dns, ips
}

// CertPool returns a new pool trusting cert's leaf certificate — a
// SelfSigned certificate, which is its own root. It uses cert.Leaf, or
// parses cert.Certificate[0] when Leaf is nil; the pool is empty when
// there is neither or it does not parse.
func CertPool(cert ctls.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	leaf := cert.Leaf
	if leaf == nil && len(cert.Certificate) > 0 {
		leaf, _ = x509.ParseCertificate(cert.Certificate[0])
	}
	if leaf != nil {
		pool.AddCert(leaf)
	}
	return pool
}

// LoadKeyPair reads a PEM certificate chain (leaf first) from certFile
// and its PEM private key from keyFile, checks that they match, and
// returns them with Leaf set. The error names both files.
func LoadKeyPair(certFile, keyFile string) (ctls.Certificate, error) {
	cert, err := ctls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return ctls.Certificate{}, fmt.Errorf("tls: load certificate %s and key %s: %w", certFile, keyFile, err)
	}
	return cert, nil
}

// WritePEM writes cert's chain to certFile (PEM "CERTIFICATE" blocks,
// mode 0644) and its private key to keyFile (PKCS #8 "PRIVATE KEY", mode
// 0600), for peers (nghttpd, h2o, curl) that read them from disk;
// LoadKeyPair reads them back. The error names the file involved.
func WritePEM(cert ctls.Certificate, certFile, keyFile string) error {
	var certPEM []byte
	for _, der := range cert.Certificate {
		certPEM = append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return fmt.Errorf("tls: write key %s: %w", keyFile, err)
	}
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		return fmt.Errorf("tls: write certificate %s: %w", certFile, err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return fmt.Errorf("tls: write key %s: %w", keyFile, err)
	}
	return nil
}
