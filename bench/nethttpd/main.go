// Command nethttpd is the Go net/http peer of bench/h2load.sh: an h2c
// (HTTP/2 with prior knowledge, no TLS) server on net/http's own HTTP/2
// implementation, answering what "h2 serve -h2c -dir DIR" answers, so that
// h2load drives both with the same requests: "/" says hello, other paths
// come from -dir.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
)

// helloBody matches cmd/h2's, byte for byte, so both servers send the same
// response.
const helloBody = "hello from h2proto\n"

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "address to listen on (HOST:PORT)")
	dir := flag.String("dir", "", "serve the files under this directory")
	flag.Parse()

	files := http.NotFoundHandler()
	if *dir != "" {
		files = http.FileServer(http.Dir(*dir))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(helloBody))
	})
	mux.Handle("/", files)

	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true) // h2c with prior knowledge only
	srv := &http.Server{Handler: mux, Protocols: &protos}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stdout, "nethttpd: listening on %s (h2c, prior knowledge)\n", l.Addr())
	log.Fatal(srv.Serve(l))
}
