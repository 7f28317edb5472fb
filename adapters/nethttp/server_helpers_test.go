package nethttp_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/h2proto/h2/adapters/nethttp"
)

// srvTimeout bounds every wait of the server tests.
const srvTimeout = testTimeout

// srvImpl is one HTTP/2 server implementation under test, serving a
// handler on 127.0.0.1 over h2c.
type srvImpl struct {
	name  string
	start func(t testing.TB, h http.Handler) *srvRunning
}

// srvRunning is a started server and a client for it.
type srvRunning struct {
	base     string // http://127.0.0.1:port
	client   *http.Client
	shutdown func(ctx context.Context) error
	served   chan error // what Serve returned
	log      *srvLog
}

// srvLog collects a server's log lines.
type srvLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *srvLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *srvLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// srvImpls are the servers every comparison runs on: Go's own HTTP/2
// server (the reference) and this package's.
var srvImpls = []srvImpl{
	{"nethttp", srvStartNetHTTP},
	{"adapter", srvStartAdapter},
}

// srvH2CClient returns a net/http client speaking only h2c.
func srvH2CClient(t testing.TB) *http.Client {
	tr := &http.Transport{ExpectContinueTimeout: srvTimeout}
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: srvTimeout}
}

func srvListen(t testing.TB) net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func srvStartNetHTTP(t testing.TB, h http.Handler) *srvRunning {
	l := srvListen(t)
	lg := &srvLog{}
	hs := &http.Server{Handler: h, ErrorLog: log.New(lg, "", 0)}
	hs.Protocols = new(http.Protocols)
	hs.Protocols.SetUnencryptedHTTP2(true)
	r := &srvRunning{base: "http://" + l.Addr().String(), client: srvH2CClient(t),
		shutdown: hs.Shutdown, served: make(chan error, 1), log: lg}
	go func() { r.served <- hs.Serve(l) }()
	t.Cleanup(func() {
		_ = hs.Close()
		<-r.served
	})
	return r
}

func srvStartAdapter(t testing.TB, h http.Handler) *srvRunning {
	l := srvListen(t)
	lg := &srvLog{}
	srv := &nethttp.Server{Handler: h, ErrorLog: log.New(lg, "", 0)}
	r := &srvRunning{base: "http://" + l.Addr().String(), client: srvH2CClient(t),
		shutdown: srv.Shutdown, served: make(chan error, 1), log: lg}
	go func() { r.served <- srv.Serve(l) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if err := <-r.served; !errors.Is(err, nethttp.ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return r
}

// srvChunked hides a reader's type so that the client streams it without
// a Content-Length.
type srvChunked struct{ r io.Reader }

func (c srvChunked) Read(p []byte) (int, error) { return c.r.Read(p) }
