package nethttp_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/h2proto/h2"
	"github.com/h2proto/h2/adapters/nethttp"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/transport/memory"
)

// trMemoryServer serves h with an h2proto server over an in-memory
// transport that cuts reads into small pieces, and returns a Transport
// dialling it (through DialContext) and a count of its connections.
func trMemoryServer(t *testing.T, srv *h2.Server, tr *nethttp.Transport) *atomic.Int32 {
	t.Helper()
	l := memory.Listen(memory.Config{Seed: 3, MaxChunk: 1000})
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	var dials atomic.Int32
	tr.AllowHTTP = true
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return l.Dial(ctx)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &dials
}

// TestTransportH2ProtoServer: the Transport against the project's own
// server over an in-memory transport (DialContext): a streamed echo of a
// 1 MiB body with trailers both ways, and the server's
// SETTINGS_MAX_CONCURRENT_STREAMS of 1 honoured — four concurrent requests
// on four connections, or queued on one with MaxConnsPerHost 1.
func TestTransportH2ProtoServer(t *testing.T) {
	echo := h2.HandlerFunc(func(s *h2.Stream) {
		if err := s.WriteHeaders(200, []h2.HeaderField{{Name: "trailer", Value: "x-echo"}}); err != nil {
			return
		}
		if _, err := io.Copy(s, s); err != nil {
			return
		}
		var echoed []h2.HeaderField
		for _, f := range s.Trailers() {
			echoed = append(echoed, h2.HeaderField{Name: "x-echo", Value: f.Name + "=" + f.Value})
		}
		_ = s.WriteTrailers(echoed)
	})
	t.Run("echo_with_trailers", func(t *testing.T) {
		tr := &nethttp.Transport{}
		trMemoryServer(t, &h2.Server{Handler: echo}, tr)
		body := testPattern(1 << 20)
		req, _ := http.NewRequestWithContext(testCtx(t), "POST", "http://mem.test/echo", bytes.NewReader(body))
		req.Trailer = http.Header{"X-Client": {"yes"}}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, ok := resp.Trailer["X-Echo"]; !ok {
			t.Errorf("Trailer %v: X-Echo not pre-declared", resp.Trailer)
		}
		got, err := io.ReadAll(resp.Body)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("echo: %d bytes, %v; want %d", len(got), err, len(body))
		}
		if v := resp.Trailer.Get("X-Echo"); v != "x-client=yes" {
			t.Errorf("trailer X-Echo = %q, want x-client=yes", v)
		}
	})
	for _, tc := range []struct {
		maxConns  int
		wantDials int32
	}{{0, 4}, {1, 1}} {
		t.Run("MaxConcurrentStreams_1/MaxConnsPerHost="+itoa64(int64(tc.maxConns)), func(t *testing.T) {
			ctx := testCtx(t)
			const n = 4
			gate := make(chan struct{})
			started := make(chan struct{}, n)
			var running, peak atomic.Int32
			srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
				r := running.Add(1)
				for p := peak.Load(); r > p && !peak.CompareAndSwap(p, r); p = peak.Load() {
				}
				started <- struct{}{}
				if tc.maxConns == 0 {
					<-gate // all four must be running at once
				}
				running.Add(-1)
				_ = s.Respond(200, nil, []byte("ok"))
			})}
			srv.Config = core.Config{MaxConcurrentStreams: 1}
			tr := &nethttp.Transport{MaxConnsPerHost: tc.maxConns}
			dials := trMemoryServer(t, srv, tr)
			var wg sync.WaitGroup
			var okCount atomic.Int32
			for range n {
				wg.Go(func() {
					req, _ := http.NewRequestWithContext(ctx, "GET", "http://mem.test/", nil)
					resp, err := tr.RoundTrip(req)
					if err != nil {
						t.Error(err)
						return
					}
					if b, err := io.ReadAll(resp.Body); err == nil && string(b) == "ok" {
						okCount.Add(1)
					}
					resp.Body.Close()
				})
			}
			if tc.maxConns == 0 {
				for range n {
					testWait(t, started, "a handler to start")
				}
				close(gate)
			}
			wg.Wait()
			if okCount.Load() != n {
				t.Errorf("%d of %d requests succeeded", okCount.Load(), n)
			}
			if got := dials.Load(); got != tc.wantDials {
				t.Errorf("%d connections, want %d", got, tc.wantDials)
			}
			if tc.maxConns == 1 && peak.Load() != 1 {
				t.Errorf("%d handlers ran at once on one connection, want 1", peak.Load())
			}
		})
	}
}
