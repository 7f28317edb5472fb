package interop

// Our client (the library, in-process) against real servers: nghttpd, h2o
// and Go's net/http server, each over h2c and TLS, fetching the fixtures
// one by one and then all at once on one connection.

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	h2tls "github.com/h2proto/h2/transport/tls"
)

// peerCert writes a throwaway certificate for 127.0.0.1 for a TLS peer and
// returns the files and the pool that trusts it.
func peerCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	cert, err := h2tls.SelfSigned("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := h2tls.WritePEM(cert, certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, h2tls.CertPool(cert)
}

// clientOptions are our client's options for a mode: prior knowledge, or
// TLS verifying the server's certificate against pool.
func clientOptions(m mode, pool *x509.CertPool) *h2.ClientOptions {
	if !m.tls {
		return &h2.ClientOptions{H2C: true}
	}
	return &h2.ClientOptions{RootCAs: pool}
}

// TestOurClientNghttpd: our client against nghttpd (nghttp2-server).
func TestOurClientNghttpd(t *testing.T) {
	nghttpd := need(t, "nghttpd")
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			var certFile, keyFile string
			var pool *x509.CertPool
			if m.tls {
				certFile, keyFile, pool = peerCert(t)
			}
			p, addr := startServer(t, "nghttpd", nghttpd, func(addr string) []string {
				args := []string{"-a", "127.0.0.1", "-d", fixtureDir}
				if !m.tls {
					return append(args, "--no-tls", portOf(addr))
				}
				return append(args, portOf(addr), keyFile, certFile)
			}, nil)
			t.Cleanup(func() { stopPeer(t, p) })
			fetchFixtures(t, addr, clientOptions(m, pool))
		})
	}
}

// TestOurClientH2o: our client against h2o, over a cleartext listener
// (HTTP/2 with prior knowledge) and a TLS one.
func TestOurClientH2o(t *testing.T) {
	h2o := need(t, "h2o")
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			var certFile, keyFile string
			var pool *x509.CertPool
			if m.tls {
				certFile, keyFile, pool = peerCert(t)
			}
			dir := t.TempDir()
			errorLog := filepath.Join(dir, "error.log")
			p, addr := startServer(t, "h2o", h2o, func(addr string) []string {
				_ = os.Remove(errorLog) // from an attempt on a port that was taken
				conf := filepath.Join(dir, "h2o.conf")
				if err := os.WriteFile(conf, []byte(h2oConfig(addr, dir, certFile, keyFile)), 0o644); err != nil {
					t.Fatal(err)
				}
				return []string{"-c", conf}
			}, func(*proc, string) bool {
				b, _ := os.ReadFile(errorLog)
				return strings.Contains(string(b), "ready to serve requests")
			})
			t.Cleanup(func() {
				stopPeer(t, p)
				if t.Failed() {
					b, _ := os.ReadFile(errorLog)
					t.Logf("h2o error log:\n%s", b)
				}
			})
			fetchFixtures(t, addr, clientOptions(m, pool))
		})
	}
}

// h2oConfig is a minimal h2o configuration serving fixtureDir on addr
// (cleartext, or TLS with the given certificate), logging under dir. Run as
// root, h2o switches to the user named by "user" (nobody by default, who
// could not read the temporary directories), so it is told to stay.
func h2oConfig(addr, dir, certFile, keyFile string) string {
	var b strings.Builder
	if os.Geteuid() == 0 {
		name := "root"
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
		fmt.Fprintf(&b, "user: %s\n", name)
	}
	fmt.Fprintf(&b, "num-threads: 1\n")
	fmt.Fprintf(&b, "error-log: %s\n", strconv.Quote(filepath.Join(dir, "error.log")))
	fmt.Fprintf(&b, "access-log: %s\n", strconv.Quote(filepath.Join(dir, "access.log")))
	fmt.Fprintf(&b, "pid-file: %s\n", strconv.Quote(filepath.Join(dir, "h2o.pid")))
	fmt.Fprintf(&b, "listen:\n  host: 127.0.0.1\n  port: %s\n", portOf(addr))
	if certFile != "" {
		fmt.Fprintf(&b, "  ssl:\n    certificate-file: %s\n    key-file: %s\n", strconv.Quote(certFile), strconv.Quote(keyFile))
	}
	fmt.Fprintf(&b, "hosts:\n  \"default\":\n    paths:\n      \"/\":\n        file.dir: %s\n", strconv.Quote(fixtureDir))
	return b.String()
}

// stopPeer stops a peer server with SIGTERM (killing it if it lingers) and
// logs its output if the test failed.
func stopPeer(t *testing.T, p *proc) {
	if !p.stop() {
		t.Logf("%s did not exit within %v of SIGTERM (killed)", p.name, stopTimeout)
	}
	if t.Failed() {
		t.Logf("output of %s:\n%s", p.name, p.out)
	}
}

// TestOurClientGoServer: our client against Go's net/http server — h2c
// through http.Server.Protocols (UnencryptedHTTP2), TLS through httptest
// with EnableHTTP2 — fetching the fixtures and sending 10 MiB to an echo
// handler (our request bodies against a real server's flow control).
func TestOurClientGoServer(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(fixtureDir)))
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("content-type", "application/octet-stream")
		w.WriteHeader(200)
		_, _ = io.Copy(w, r.Body)
	})
	var handler http.Handler = mux
	t.Run("h2c", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		protos := new(http.Protocols)
		protos.SetUnencryptedHTTP2(true)
		srv := &http.Server{Handler: handler, Protocols: protos, ReadHeaderTimeout: 10 * time.Second}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(l) }()
		t.Cleanup(func() {
			_ = srv.Close()
			if err := <-served; !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("http.Server.Serve: %v", err)
			}
		})
		fetchFixtures(t, l.Addr().String(), clientOptions(modes[0], nil))
		postEcho(t, l.Addr().String(), clientOptions(modes[0], nil))
	})
	t.Run("tls", func(t *testing.T) {
		ts := httptest.NewUnstartedServer(handler)
		ts.EnableHTTP2 = true
		ts.StartTLS()
		t.Cleanup(ts.Close)
		pool := x509.NewCertPool()
		pool.AddCert(ts.Certificate())
		fetchFixtures(t, ts.Listener.Addr().String(), clientOptions(modes[1], pool))
		postEcho(t, ts.Listener.Addr().String(), clientOptions(modes[1], pool))
	})
}

// manyRequests is the number of requests fetchFixtures makes at once.
const manyRequests = 300

// fetchFixtures dials addr with our client and fetches every fixture, one
// after the other, then all at once on the same connection, then
// manyRequests small ones at once, checking the status, the length and the
// SHA-256 of each body. It then shuts the connection down gracefully.
func fetchFixtures(t *testing.T, addr string, opts *h2.ClientOptions) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second)
	defer cancel()
	c, err := h2.Dial(ctx, addr, opts)
	if err != nil {
		t.Fatalf("h2.Dial %s: %v", addr, err)
	}
	defer c.Close()
	if tc, ok := c.NetConn().(*tls.Conn); ok {
		st := tc.ConnectionState()
		t.Logf("TLS: %s, %s, ALPN %q", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), st.NegotiatedProtocol)
	}

	start := time.Now()
	for _, f := range fixtures {
		if err := fetch(ctx, c, f); err != nil {
			t.Errorf("one by one: %v", err)
		}
	}
	t.Logf("fetched %d files one by one in %v", len(fixtures), time.Since(start).Round(time.Millisecond))

	start = time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(fixtures))
	for i, f := range fixtures {
		wg.Go(func() { errs[i] = fetch(ctx, c, f) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("concurrently: %v", err)
		}
	}
	t.Logf("fetched %d files concurrently on one connection in %v", len(fixtures), time.Since(start).Round(time.Millisecond))

	// More requests at once than any of the peers allows concurrent
	// streams (SETTINGS_MAX_CONCURRENT_STREAMS: 100 for nghttpd and h2o,
	// 250 for Go): the client must queue them, not fail them.
	start = time.Now()
	small := fixtures[:len(fixtures)-1]
	errs = make([]error, manyRequests)
	for i := range errs {
		wg.Go(func() { errs[i] = fetch(ctx, c, small[i%len(small)]) })
	}
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			if failed++; failed <= 5 {
				t.Errorf("%d at once: %v", manyRequests, err)
			}
		}
	}
	if failed > 0 {
		t.Errorf("%d at once: %d of the requests failed (peer's SETTINGS %+v)", manyRequests, failed, c.PeerSettings())
	}
	t.Logf("fetched %d small files at once on one connection in %v", manyRequests, time.Since(start).Round(time.Millisecond))

	if err := c.CheckInvariants(); err != nil {
		t.Errorf("after the requests: %v", err)
	}
	if err := c.Err(); err != nil {
		t.Errorf("connection error: %v", err)
	}
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	defer scancel()
	if err := c.Shutdown(sctx); err != nil {
		t.Errorf("graceful shutdown: %v", err)
	}
	if err := c.Err(); err != nil {
		t.Errorf("connection ended with %v", err)
	}
}

// fetch GETs /name and checks the response against the fixture.
func fetch(ctx context.Context, c *h2.Conn, f fixture) error {
	s, err := c.Request(ctx, c.NewRequest("GET", "/"+f.name), &h2.RequestOptions{EndStream: true})
	if err != nil {
		return fmt.Errorf("GET /%s: %w", f.name, err)
	}
	resp, err := s.Response(ctx)
	if err != nil {
		return fmt.Errorf("GET /%s: response: %w", f.name, err)
	}
	h := sha256.New()
	n, err := io.Copy(h, s)
	if err != nil {
		return fmt.Errorf("GET /%s: body after %d bytes: %w", f.name, n, err)
	}
	select {
	case <-s.Done():
	case <-ctx.Done():
		return fmt.Errorf("GET /%s: the stream did not end after the body: %w", f.name, ctx.Err())
	}
	if err := s.Err(); err != nil {
		return fmt.Errorf("GET /%s: stream ended with %w", f.name, err)
	}
	if resp.Status != 200 {
		return fmt.Errorf("GET /%s: status %d, want 200", f.name, resp.Status)
	}
	if cl := resp.Get("content-length"); cl != "" && cl != strconv.Itoa(f.size) {
		return fmt.Errorf("GET /%s: content-length %s, want %d", f.name, cl, f.size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != int64(f.size) || sum != f.sum {
		return fmt.Errorf("GET /%s: %d bytes with SHA-256 %s, want %d with %s", f.name, n, sum, f.size, f.sum)
	}
	return nil
}

// postEcho sends the 10 MiB fixture as a request body to /echo, writing it
// while the response streams back, and checks what comes back.
func postEcho(t *testing.T, addr string, opts *h2.ClientOptions) {
	t.Helper()
	big := bigFixture()
	payload, err := os.ReadFile(big.path())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second)
	defer cancel()
	c, err := h2.Dial(ctx, addr, opts)
	if err != nil {
		t.Fatalf("h2.Dial %s: %v", addr, err)
	}
	defer c.Close()
	start := time.Now()
	s, err := c.Request(ctx, c.NewRequest("POST", "/echo",
		h2.HeaderField{Name: "content-type", Value: "application/octet-stream"},
		h2.HeaderField{Name: "content-length", Value: strconv.Itoa(big.size)}), nil)
	if err != nil {
		t.Fatalf("POST /echo: %v", err)
	}
	sent := make(chan error, 1)
	go func() {
		if _, err := s.Write(payload); err != nil {
			sent <- err
			return
		}
		sent <- s.CloseWrite()
	}()
	resp, err := s.Response(ctx)
	if err != nil {
		t.Fatalf("POST /echo: response: %v", err)
	}
	h := sha256.New()
	n, err := io.Copy(h, s)
	if err != nil {
		t.Fatalf("POST /echo: body after %d bytes: %v", n, err)
	}
	if err := <-sent; err != nil {
		t.Errorf("POST /echo: sending the body: %v", err)
	}
	t.Logf("POST /echo: 10 MiB up and back in %v", time.Since(start).Round(time.Millisecond))
	if resp.Status != 200 {
		t.Errorf("POST /echo: status %d, want 200", resp.Status)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != int64(big.size) || sum != big.sum {
		t.Errorf("POST /echo: echoed %d bytes with SHA-256 %s, sent %d with %s", n, sum, big.size, big.sum)
	}
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	defer scancel()
	if err := c.Shutdown(sctx); err != nil {
		t.Errorf("graceful shutdown: %v", err)
	}
}
