package nethttp_test

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkTransportGet: one GET of a small body per iteration, through an
// http.Client on this Transport (impl=adapter) and on Go's own HTTP/2
// client (impl=nethttp), against the same loopback h2c net/http server.
func BenchmarkTransportGet(b *testing.B) {
	body := []byte("hello, world\n")
	s := trH2CServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(body)
	}))
	for _, c := range trClients(b, s) {
		b.Run("impl="+c.impl, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 512)
			for b.Loop() {
				resp, err := c.client.Get(s.url + "/")
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.ReadFull(resp.Body, buf[:len(body)])
				if _, err := resp.Body.Read(buf); err != io.EOF || n != len(body) {
					b.Fatalf("body: %d bytes, then %v", n, err)
				}
				resp.Body.Close()
			}
		})
	}
}
