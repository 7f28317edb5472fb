package nethttp_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/adapters/nethttp"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/transport/memory"
)

// TestTransportEndedResponseFreesConn: a response whose stream has ended
// gives its connection's stream slot back even if its body is never
// closed — at once for one whose HEADERS ended the stream (HEAD), when the
// stream ends for one with content — so that the connection can go idle and
// be closed; the content received stays readable.
func TestTransportEndedResponseFreesConn(t *testing.T) {
	t.Run("HEAD", func(t *testing.T) {
		s := trH2CServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		tr := &nethttp.Transport{AllowHTTP: true}
		req, _ := http.NewRequestWithContext(testCtx(t), "HEAD", s.url, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close() // deliberately not before CloseIdleConnections
		tr.CloseIdleConnections()
		testWait(t, s.closed, "CloseIdleConnections to close the connection")
	})
	t.Run("GET_unread", func(t *testing.T) {
		s := trH2CServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") }))
		tr := &nethttp.Transport{AllowHTTP: true, IdleConnTimeout: 10 * time.Millisecond,
			// Only the pool may close it: not the core's own idle timer.
			Options: &h2.ClientOptions{Options: h2.Options{Config: core.Config{Timeouts: core.Timeouts{Idle: time.Hour}}}}}
		defer tr.CloseIdleConnections()
		req, _ := http.NewRequestWithContext(testCtx(t), "GET", s.url, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		testWait(t, s.closed, "the idle timer to close the connection")
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || string(b) != "hello" {
			t.Errorf("body read after the connection closed: %q, %v", b, err)
		}
	})
}

// TestTransportHandshakeTimeout: a server that accepts but never answers
// (no TLS handshake, no SETTINGS) fails the requests waiting for that
// connection after HandshakeTimeout, whatever their contexts allow.
func TestTransportHandshakeTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c // held open, never answered
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		for len(accepted) > 0 {
			_ = (<-accepted).Close()
		}
	})
	for _, scheme := range []string{"https", "http"} {
		t.Run(scheme, func(t *testing.T) {
			tr := &nethttp.Transport{AllowHTTP: true, HandshakeTimeout: 50 * time.Millisecond}
			errc := make(chan error, 2)
			for range 2 { // the second shares the first one's dial
				go func() {
					req, _ := http.NewRequest("GET", scheme+"://"+l.Addr().String()+"/", nil) // no deadline
					_, err := tr.RoundTrip(req)
					errc <- err
				}()
			}
			for range 2 {
				select {
				case err := <-errc:
					if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "HandshakeTimeout") {
						t.Errorf("RoundTrip: %v, want a HandshakeTimeout error", err)
					}
				case <-time.After(5 * time.Second): // only detects a hang: 100× the timeout
					t.Fatal("RoundTrip still blocked 5 s into a 50 ms HandshakeTimeout")
				}
			}
		})
	}
}

// TestTransportCoreIdleFollowsIdleConnTimeout: the core's own idle timer
// (60 s by default) does not close a pooled connection before
// IdleConnTimeout (90 s by default), nor at all when IdleConnTimeout is
// negative. A virtual clock drives the core's timers.
func TestTransportCoreIdleFollowsIdleConnTimeout(t *testing.T) {
	for _, idle := range []time.Duration{0, -1} {
		t.Run(idle.String(), func(t *testing.T) {
			s := trH2CServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
			clk := memory.NewClock(time.Now())
			tr := &nethttp.Transport{AllowHTTP: true, IdleConnTimeout: idle, Options: &h2.ClientOptions{Options: h2.Options{
				Clock:  clk,
				Config: core.Config{Timeouts: core.Timeouts{KeepAlive: -1}}, // no PING to answer in virtual time
			}}}
			defer tr.CloseIdleConnections()
			get := func() {
				req, _ := http.NewRequestWithContext(testCtx(t), "GET", s.url, nil)
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
			get()
			clk.Advance(61 * time.Second) // past the core's default Idle
			get()
			if n := s.conns.Load(); n != 1 {
				t.Errorf("%d connections, want 1: the core's idle timer closed the first", n)
			}
		})
	}
}
