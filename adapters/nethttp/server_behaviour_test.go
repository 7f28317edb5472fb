package nethttp_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2proto/h2/adapters/nethttp"
	h2tls "github.com/h2proto/h2/transport/tls"
)

// TestServerFlushStreams: content flushed reaches the client while the
// handler still runs.
func TestServerFlushStreams(t *testing.T) {
	for _, impl := range srvImpls {
		t.Run(impl.name, func(t *testing.T) {
			release := make(chan struct{})
			run := impl.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, "first")
				if err := http.NewResponseController(w).Flush(); err != nil {
					panic(err)
				}
				select {
				case <-release:
				case <-time.After(srvTimeout):
				}
				_, _ = io.WriteString(w, "second")
			}))
			req, _ := http.NewRequestWithContext(testCtx(t), "GET", run.base, nil)
			resp, err := run.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			first := make([]byte, 5)
			if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "first" {
				t.Fatalf("first chunk %q, %v", first, err)
			}
			close(release)
			rest, err := io.ReadAll(resp.Body)
			if err != nil || string(rest) != "second" {
				t.Fatalf("rest %q, %v", rest, err)
			}
		})
	}
}

// TestServerContextCancelled: the request context ends when the client
// cancels the request (RST_STREAM).
func TestServerContextCancelled(t *testing.T) {
	for _, impl := range srvImpls {
		t.Run(impl.name, func(t *testing.T) {
			started := make(chan struct{})
			observed := make(chan error, 1)
			run := impl.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(200)
				w.(http.Flusher).Flush()
				close(started)
				select {
				case <-r.Context().Done():
					observed <- r.Context().Err()
				case <-time.After(srvTimeout):
					observed <- errors.New("context not cancelled")
				}
			}))
			ctx, cancel := context.WithCancel(testCtx(t))
			req, _ := http.NewRequestWithContext(ctx, "GET", run.base, nil)
			resp, err := run.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			testWait(t, started, "handler start")
			cancel()
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if err := testWait(t, observed, "handler"); !errors.Is(err, context.Canceled) {
				t.Fatalf("handler saw %v", err)
			}
		})
	}
}

// TestServerExpectContinue: 100 Continue goes out when the handler reads
// the body, and not when it answers without reading.
func TestServerExpectContinue(t *testing.T) {
	for _, impl := range srvImpls {
		t.Run(impl.name, func(t *testing.T) {
			run := impl.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/reject" {
					w.WriteHeader(http.StatusExpectationFailed)
					return
				}
				fmt.Fprintf(w, "expect=%q ", r.Header.Get("Expect"))
				_, _ = io.Copy(w, r.Body)
			}))
			for _, path := range []string{"/read", "/reject"} {
				var got100 atomic.Bool
				trace := &httptrace.ClientTrace{Got100Continue: func() { got100.Store(true) }}
				ctx := httptrace.WithClientTrace(testCtx(t), trace)
				req, _ := http.NewRequestWithContext(ctx, "PUT", run.base+path, strings.NewReader("payload"))
				req.Header.Set("Expect", "100-continue")
				resp, err := run.client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				switch path {
				case "/read":
					if err != nil || string(body) != `expect="" payload` || !got100.Load() {
						t.Errorf("%s: %q %v, got 100: %v", path, body, err, got100.Load())
					}
				case "/reject":
					if resp.StatusCode != 417 || got100.Load() {
						t.Errorf("%s: status %d, got 100: %v", path, resp.StatusCode, got100.Load())
					}
				}
			}
		})
	}
}

// TestServerPanicResets: a panicking handler gets its stream reset (the
// client sees an error, not a truncated success); http.ErrAbortHandler is
// not logged, other panics are.
func TestServerPanicResets(t *testing.T) {
	for _, impl := range srvImpls {
		t.Run(impl.name, func(t *testing.T) {
			run := impl.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, "partial")
				w.(http.Flusher).Flush()
				if r.URL.Path == "/abort" {
					panic(http.ErrAbortHandler)
				}
				panic("boom")
			}))
			for _, path := range []string{"/abort", "/boom"} {
				req, _ := http.NewRequestWithContext(testCtx(t), "GET", run.base+path, nil)
				resp, err := run.client.Do(req)
				if err == nil {
					_, err = io.ReadAll(resp.Body)
					_ = resp.Body.Close()
				}
				if err == nil {
					t.Errorf("%s: the client saw a complete response", path)
				}
			}
			if impl.name == "adapter" {
				// The adapter logs before it resets: the line is there.
				l := run.log.String()
				if !strings.Contains(l, "boom") || strings.Contains(l, "abort Handler") {
					t.Errorf("log %q: want the panic, not the abort", l)
				}
			}
			// The connection survives: a new request works.
			req, _ := http.NewRequestWithContext(testCtx(t), "GET", run.base+"/abort", nil)
			if resp, err := run.client.Do(req); err == nil {
				_ = resp.Body.Close()
			}
		})
	}
}

// TestServerShutdownInFlight: Shutdown lets a running request finish,
// then returns nil; Serve returns ErrServerClosed at once.
func TestServerShutdownInFlight(t *testing.T) {
	for _, impl := range srvImpls {
		t.Run(impl.name, func(t *testing.T) {
			started, release := make(chan struct{}), make(chan struct{})
			run := impl.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(started)
				select {
				case <-release:
					_, _ = io.WriteString(w, "finished")
				case <-time.After(srvTimeout):
				}
			}))
			type result struct {
				body string
				err  error
			}
			got := make(chan result, 1)
			go func() {
				req, _ := http.NewRequestWithContext(testCtx(t), "GET", run.base, nil)
				resp, err := run.client.Do(req)
				if err != nil {
					got <- result{"", err}
					return
				}
				b, err := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				got <- result{string(b), err}
			}()
			testWait(t, started, "handler start")
			shut := make(chan error, 1)
			go func() { shut <- run.shutdown(testCtx(t)) }()
			served := testWait(t, run.served, "Serve to return")
			run.served <- served // for the cleanup
			if !errors.Is(served, http.ErrServerClosed) && !errors.Is(served, nethttp.ErrServerClosed) {
				t.Errorf("Serve returned %v", served)
			}
			close(release)
			if r := testWait(t, got, "response"); r.err != nil || r.body != "finished" {
				t.Errorf("in-flight request: %q, %v", r.body, r.err)
			}
			if err := testWait(t, shut, "Shutdown"); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
		})
	}
}

// TestServerReadDeadline: a read deadline ends a waiting body Read with
// os.ErrDeadlineExceeded, and the handler can still answer.
func TestServerReadDeadline(t *testing.T) {
	for _, impl := range srvImpls {
		t.Run(impl.name, func(t *testing.T) {
			run := impl.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rc := http.NewResponseController(w)
				if err := rc.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
					panic(err)
				}
				_, err := r.Body.Read(make([]byte, 10))
				fmt.Fprintf(w, "deadline=%v", errors.Is(err, os.ErrDeadlineExceeded))
			}))
			pr, pw := io.Pipe()
			defer pw.Close()
			req, _ := http.NewRequestWithContext(testCtx(t), "POST", run.base, pr)
			resp, err := run.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil || string(b) != "deadline=true" {
				t.Errorf("%q, %v", b, err)
			}
		})
	}
}

// TestServerWriteDeadline: a write deadline ends a response the client
// does not read: the handler's Write fails, and the client sees an error.
func TestServerWriteDeadline(t *testing.T) {
	for _, impl := range srvImpls {
		t.Run(impl.name, func(t *testing.T) {
			werr := make(chan error, 1)
			run := impl.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
					panic(err)
				}
				chunk := srvBig[:1<<20]
				var err error
				for i := 0; i < 64 && err == nil; i++ { // 64 MiB at most
					_, err = w.Write(chunk)
				}
				werr <- err
			}))
			req, _ := http.NewRequestWithContext(testCtx(t), "GET", run.base, nil)
			resp, err := run.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			err = testWait(t, werr, "handler's write error")
			if err == nil {
				t.Fatal("64 MiB written to a client that reads nothing")
			}
			if impl.name == "adapter" && !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("Write: %v, want os.ErrDeadlineExceeded", err)
			}
			if _, err := io.Copy(io.Discard, resp.Body); err == nil {
				t.Errorf("client read a complete body")
			}
		})
	}
}

// TestServerTLS: with TLSConfig the server speaks TLS with ALPN h2, and
// requests carry the connection state.
func TestServerTLS(t *testing.T) {
	cert, err := h2tls.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	srv := &nethttp.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "tls=%v alpn=%s proto=%s", r.TLS != nil, r.TLS.NegotiatedProtocol, r.Proto)
		}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
	}
	l := srvListen(t)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	defer func() {
		_ = srv.Close()
		if err := testWait(t, served, "Serve"); !errors.Is(err, nethttp.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	}()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: h2tls.CertPool(cert)}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(testCtx(t), "GET", "https://"+l.Addr().String()+"/", nil)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || string(b) != "tls=true alpn=h2 proto=HTTP/2.0" || resp.ProtoMajor != 2 {
		t.Errorf("%q %v over %s", b, err, resp.Proto)
	}
}

// TestServerTLSConfigWithoutH2: a TLSConfig offering other protocols only
// is refused with an error naming the problem.
func TestServerTLSConfigWithoutH2(t *testing.T) {
	srv := &nethttp.Server{TLSConfig: &tls.Config{NextProtos: []string{"http/1.1"}}}
	l := srvListen(t)
	defer l.Close()
	if err := srv.Serve(l); err == nil || !strings.Contains(err.Error(), "h2") {
		t.Fatalf("Serve: %v", err)
	}
	if err := srv.Serve(nil); err == nil {
		t.Fatal("Serve(nil) succeeded")
	}
}

// TestServerWriteErrors: misuse is reported to the handler as net/http
// does: content past the declared length, content on a 204.
func TestServerWriteErrors(t *testing.T) {
	run := srvStartAdapter(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/length":
			w.Header().Set("Content-Length", "3")
			_, err1 := io.WriteString(w, "abc")
			_, err2 := io.WriteString(w, "d")
			if err1 != nil || err2 != http.ErrContentLength {
				panic(fmt.Sprint(err1, err2))
			}
		case "/204":
			w.WriteHeader(204)
			if _, err := w.Write([]byte("x")); err != http.ErrBodyNotAllowed {
				panic(err)
			}
		}
	}))
	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{{"/length", 200, "abc"}, {"/204", 204, ""}} {
		req, _ := http.NewRequestWithContext(testCtx(t), "GET", run.base+tc.path, nil)
		resp, err := run.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != tc.status || !bytes.Equal(b, []byte(tc.body)) {
			t.Errorf("%s: %d %q %v", tc.path, resp.StatusCode, b, err)
		}
	}
	if l := run.log.String(); l != "" {
		t.Errorf("log: %s", l)
	}
}

// TestServerListenAndServe: ListenAndServe serves until Close, and Serve
// after Close returns ErrServerClosed at once.
func TestServerListenAndServe(t *testing.T) {
	srv := &nethttp.Server{Handler: http.NotFoundHandler()}
	if err := srv.ListenAndServe("256.0.0.1:0"); err == nil {
		t.Fatal("ListenAndServe on a bad address succeeded")
	}
	_ = srv.Close()
	l := srvListen(t)
	if err := srv.Serve(l); !errors.Is(err, nethttp.ErrServerClosed) {
		t.Fatalf("Serve after Close: %v", err)
	}
}
