package nethttp_test

import (
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/h2proto/h2/adapters/nethttp"
)

// ExampleTransport fetches a page from a loopback net/http server speaking
// cleartext HTTP/2 (h2c with prior knowledge), through an http.Client
// whose Transport is this package's.
func ExampleTransport() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := &http.Server{
		Protocols: new(http.Protocols),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello over %s\n", r.Proto)
		}),
	}
	srv.Protocols.SetUnencryptedHTTP2(true)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	tr := &nethttp.Transport{AllowHTTP: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	resp, err := client.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Proto, resp.Status)
	fmt.Print(string(body))
	// Output:
	// HTTP/2.0 200 OK
	// hello over HTTP/2.0
}
