package h3_test

import (
	"context"
	"crypto/tls"
	"net"
	"testing"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/adapters/h3"
	"github.com/h2proto/h2/transport/tcp"
	h2tls "github.com/h2proto/h2/transport/tls"
)

// benchGet makes b.N sequential GETs of a 5-byte body on one connection.
func benchGet(b *testing.B, c client) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s, err := c.request(ctx, "GET", "/", reqOpts{endStream: true})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Response(ctx); err != nil {
			b.Fatal(err)
		}
		if body, err := s.ReadAll(); err != nil || len(body) != 5 {
			b.Fatal(len(body), err)
		}
	}
}

func hello(s stream) { _ = s.Respond(200, nil, []byte("hello")) }

// BenchmarkH3Get: one request/response over QUIC on UDP loopback.
func BenchmarkH3Get(b *testing.B) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	srv := &h3.Server{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{testCert}},
		Handler:   h3.HandlerFunc(func(s *h3.Stream) { hello(s) }),
	}
	go func() { _ = srv.Serve(pc) }()
	defer srv.Close()
	c, err := h3.Dial(context.Background(), pc.LocalAddr().String(), &h3.ClientOptions{RootCAs: h2tls.CertPool(testCert)})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	benchGet(b, h3Client{c})
}

// BenchmarkH2Get: the same over the HTTP/2 runtime on TCP loopback, h2c
// and TLS.
func BenchmarkH2Get(b *testing.B) {
	for _, tc := range []struct {
		name string
		tls  bool
	}{{"h2c", false}, {"tls", true}} {
		b.Run(tc.name, func(b *testing.B) {
			l, err := tcp.Listen("127.0.0.1:0", tcp.Config{})
			if err != nil {
				b.Fatal(err)
			}
			srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) { hello(s) })}
			opts := &h2.ClientOptions{H2C: true}
			if tc.tls {
				l = tls.NewListener(l, h2tls.ServerConfig(testCert))
				opts = &h2.ClientOptions{RootCAs: h2tls.CertPool(testCert)}
			}
			go func() { _ = srv.Serve(l) }()
			defer srv.Close()
			c, err := h2.Dial(context.Background(), l.Addr().String(), opts)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			benchGet(b, h2Client{c})
		})
	}
}
