package h3_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"

	h2tls "github.com/h2proto/h2/transport/tls"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// BenchmarkQuicGoGet is the baseline: the same GET with quic-go's http3
// directly (net/http types, no adapter), to separate the adapter's cost
// from HTTP/3's.
func BenchmarkQuicGoGet(b *testing.B) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	srv := &http3.Server{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{testCert}},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("hello"))
		}),
	}
	go func() { _ = srv.Serve(pc) }()
	defer srv.Close()
	qc, err := quic.DialAddr(context.Background(), pc.LocalAddr().String(),
		&tls.Config{RootCAs: h2tls.CertPool(testCert), NextProtos: []string{http3.NextProtoH3}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	cc := (&http3.Transport{}).NewClientConn(qc)
	defer cc.CloseWithError(0x100, "")
	u := &url.URL{Scheme: "https", Host: pc.LocalAddr().String(), Path: "/"}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		res, err := cc.RoundTrip(&http.Request{Method: "GET", URL: u, Header: http.Header{}, Host: u.Host})
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		if err != nil || len(body) != 5 {
			b.Fatal(len(body), err)
		}
		_ = res.Body.Close()
	}
}
