package h3_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/h2proto/h2/adapters/h3"
	h2tls "github.com/h2proto/h2/transport/tls"
)

// A server and a client over UDP loopback, with a throwaway certificate.
func Example() {
	cert, err := h2tls.SelfSigned()
	if err != nil {
		log.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer pc.Close()
	srv := &h3.Server{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		Handler: h3.HandlerFunc(func(s *h3.Stream) {
			_ = s.Respond(200, []h3.HeaderField{{Name: "content-type", Value: "text/plain"}}, []byte("hello\n"))
		}),
	}
	go func() { _ = srv.Serve(pc) }()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := h3.Dial(ctx, pc.LocalAddr().String(), &h3.ClientOptions{RootCAs: h2tls.CertPool(cert)})
	if err != nil {
		log.Fatal(err)
	}
	s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h3.RequestOptions{EndStream: true})
	if err != nil {
		log.Fatal(err)
	}
	resp, err := s.Response(ctx)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := s.ReadAll()
	fmt.Printf("%d %s %q\n", resp.Status, resp.Get("content-type"), body)

	_ = srv.Shutdown(ctx) // GOAWAY; the client closes once its streams are done
	<-c.Done()
	fmt.Println("client connection closed:", c.Err())
	// Output:
	// 200 text/plain "hello\n"
	// client connection closed: <nil>
}
