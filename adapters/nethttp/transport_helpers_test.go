package nethttp_test

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/h2proto/h2/adapters/nethttp"
)

// trServer is a net/http HTTP/2 server on loopback, counting its
// connections.
type trServer struct {
	name   string
	url    string
	srv    *http.Server
	conns  atomic.Int32
	closed chan struct{}  // a connection closed (best effort, buffered)
	pool   *x509.CertPool // for TLS
}

// trH2CServer starts an h2c (prior knowledge) net/http server.
func trH2CServer(t testing.TB, h http.Handler, opts ...func(*http.Server)) *trServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &trServer{name: "h2c", url: "http://" + ln.Addr().String(), closed: make(chan struct{}, 64)}
	s.srv = &http.Server{Handler: h, Protocols: new(http.Protocols), ConnState: s.connState}
	s.srv.Protocols.SetUnencryptedHTTP2(true)
	for _, o := range opts {
		o(s.srv)
	}
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// trTLSServer starts an httptest TLS server with HTTP/2 enabled.
func trTLSServer(t testing.TB, h http.Handler) *trServer {
	t.Helper()
	ts := httptest.NewUnstartedServer(h)
	ts.EnableHTTP2 = true
	s := &trServer{name: "tls", closed: make(chan struct{}, 64)}
	ts.Config.ConnState = s.connState
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes Go's client abandons
	ts.StartTLS()
	t.Cleanup(ts.Close)
	s.url, s.srv = ts.URL, ts.Config
	s.pool = x509.NewCertPool()
	s.pool.AddCert(ts.Certificate())
	return s
}

func (s *trServer) connState(_ net.Conn, st http.ConnState) {
	switch st {
	case http.StateNew:
		s.conns.Add(1)
	case http.StateClosed, http.StateHijacked:
		select {
		case s.closed <- struct{}{}:
		default:
		}
	}
}

// trServers starts one server of each kind with h.
func trServers(t testing.TB, h http.Handler) []*trServer {
	return []*trServer{trH2CServer(t, h), trTLSServer(t, h)}
}

// trClient is an http.Client on one of the two transports.
type trClient struct {
	impl   string // "adapter" or "nethttp"
	client *http.Client
	ours   *nethttp.Transport
}

// trClients returns an http.Client using this package's Transport and one
// using Go's own HTTP/2 client, both set up for s.
func trClients(t testing.TB, s *trServer) []trClient {
	t.Helper()
	ours := &nethttp.Transport{AllowHTTP: true}
	theirs := &http.Transport{ForceAttemptHTTP2: true, Protocols: new(http.Protocols)}
	if s.pool != nil {
		ours.TLSClientConfig = trTLSConfig(s)
		theirs.TLSClientConfig = trTLSConfig(s)
		theirs.Protocols.SetHTTP2(true)
	} else {
		theirs.Protocols.SetUnencryptedHTTP2(true)
	}
	t.Cleanup(ours.CloseIdleConnections)
	t.Cleanup(theirs.CloseIdleConnections)
	return []trClient{
		{impl: "adapter", client: &http.Client{Transport: ours}, ours: ours},
		{impl: "nethttp", client: &http.Client{Transport: theirs}},
	}
}

// trResult is what the comparison tests compare.
type trResult struct {
	Status        int
	Proto         string
	Header        http.Header
	ContentLength int64
	Body          string // or its digest when long
	Trailer       http.Header
}

// trDo sends req and collects its result; headers that vary per response
// (Date) are dropped.
func trDo(t testing.TB, c *http.Client, req *http.Request) trResult {
	t.Helper()
	r, err := trDoErr(c, req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// trDoErr is trDo for goroutines other than the test's.
func trDoErr(c *http.Client, req *http.Request) (trResult, error) {
	resp, err := c.Do(req)
	if err != nil {
		return trResult{}, fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return trResult{}, fmt.Errorf("%s %s: reading the body: %w", req.Method, req.URL, err)
	}
	resp.Header.Del("Date")
	r := trResult{Status: resp.StatusCode, Proto: resp.Proto, Header: resp.Header,
		ContentLength: resp.ContentLength, Body: string(body), Trailer: resp.Trailer}
	if len(body) > 256 {
		r.Body = trDigest(body)
	}
	return r, nil
}

func trDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]) + "/" + strconv.Itoa(len(b))
}

func trTLSConfig(s *trServer) *tls.Config { return &tls.Config{RootCAs: s.pool} }

// trSame requires equal results from the two transports.
func trSame(t testing.TB, what string, got map[string]trResult) {
	t.Helper()
	a, b := got["adapter"], got["nethttp"]
	if !reflect.DeepEqual(a, b) {
		t.Errorf("%s: results differ\nadapter: %+v\nnethttp: %+v", what, a, b)
	}
}
