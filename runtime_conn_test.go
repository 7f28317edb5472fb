package h2_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// TestRuntimeConnMaxConcurrentStreams: with the server's
// SETTINGS_MAX_CONCURRENT_STREAMS at 2, a third Request waits — a bounded
// one gives up with its context's error — and proceeds when a stream ends.
func TestRuntimeConnMaxConcurrentStreams(t *testing.T) {
	for _, kind := range rtTransports {
		t.Run(string(kind), func(t *testing.T) {
			started := make(chan *h2.Stream, 3)
			release := make(chan struct{}, 3)
			srv := &h2.Server{
				Options: h2.Options{Config: core.Config{MaxConcurrentStreams: 2}},
				Handler: h2.HandlerFunc(func(s *h2.Stream) {
					started <- s
					select {
					case <-release:
					case <-s.Context().Done():
						return
					}
					_ = s.Respond(200, nil, []byte(s.Request().Path))
				}),
			}
			env := rtStart(t, kind, srv, nil)
			c := env.client
			ctx := rtCtx(t)
			if m := c.PeerSettings().MaxConcurrentStreams; m != 2 {
				t.Fatalf("peer MaxConcurrentStreams %d, want 2", m)
			}
			var streams []*h2.Stream
			for i := range 2 {
				s, err := c.Request(ctx, c.NewRequest("GET", fmt.Sprintf("/%d", i)), &h2.RequestOptions{EndStream: true})
				if err != nil {
					t.Fatal(err)
				}
				streams = append(streams, s)
			}
			rtWait(t, ctx, started, "handler 1")
			rtWait(t, ctx, started, "handler 2")

			// At the limit: a bounded Request gives up.
			short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			s, err := c.Request(short, c.NewRequest("GET", "/short"), &h2.RequestOptions{EndStream: true})
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Request at the limit: %v, %v; want context.DeadlineExceeded", s, err)
			}

			// A waiting Request proceeds once a stream ends, not before.
			var released atomic.Bool
			type opened struct {
				s     *h2.Stream
				err   error
				early bool
			}
			third := make(chan opened, 1)
			go func() {
				s, err := c.Request(ctx, c.NewRequest("GET", "/third"), &h2.RequestOptions{EndStream: true})
				third <- opened{s, err, !released.Load()}
			}()
			released.Store(true)
			release <- struct{}{}
			o := rtWait(t, ctx, third, "the third Request")
			if o.err != nil {
				t.Fatal(o.err)
			}
			if o.early {
				t.Errorf("the third Request opened a stream while two were open")
			}
			release <- struct{}{}
			release <- struct{}{}
			for i, s := range append(streams, o.s) {
				body, err := rtReadAll(t, ctx, s)
				if err != nil || len(body) == 0 {
					t.Errorf("stream %d: %q, %v", i, body, err)
				}
			}
		})
	}
}

// TestRuntimeConnPingRTT: Ping returns a positive round-trip time, and RTT
// reports it afterwards (0 before any PING).
func TestRuntimeConnPingRTT(t *testing.T) {
	for _, kind := range rtTransports {
		t.Run(string(kind), func(t *testing.T) {
			env := rtStart(t, kind, &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) { _ = s.Respond(204, nil, nil) })}, nil)
			c := env.client
			ctx := rtCtx(t)
			if rtt := c.RTT(); rtt != 0 {
				t.Errorf("RTT before any PING = %v, want 0", rtt)
			}
			for range 3 {
				rtt, err := c.Ping(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if rtt <= 0 || rtt > rtTimeout {
					t.Errorf("Ping RTT %v", rtt)
				}
				if got := c.RTT(); got != rtt {
					t.Errorf("RTT() = %v after a Ping that measured %v", got, rtt)
				}
			}
			// Concurrent pings each get their own answer.
			errs := make(chan error, 8)
			for range 8 {
				go func() {
					_, err := c.Ping(ctx)
					errs <- err
				}()
			}
			for range 8 {
				if err := rtWait(t, ctx, errs, "concurrent pings"); err != nil {
					t.Error(err)
				}
			}
			// The server side can ping too.
			s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
			if err != nil {
				t.Fatal(err)
			}
			rtDone(t, ctx, s.Done(), "request")
			sc := env.conns()[0]
			if rtt, err := sc.Ping(ctx); err != nil || rtt <= 0 || sc.RTT() != rtt {
				t.Errorf("server Ping: %v, %v (RTT() %v)", rtt, err, sc.RTT())
			}
			_ = c.Close()
			rtDone(t, ctx, c.Done(), "close")
			if _, err := c.Ping(ctx); err == nil {
				t.Errorf("Ping on a closed connection succeeded")
			}
		})
	}
}

// TestRuntimeConnSettingsAndAddrs: LocalSettings and PeerSettings reflect
// the configured values on both sides; RemoteAddr and LocalAddr are set.
func TestRuntimeConnSettingsAndAddrs(t *testing.T) {
	for _, kind := range []rtTransport{rtOverPipe, rtOverTCP, rtOverTLS} {
		t.Run(string(kind), func(t *testing.T) {
			clientCfg := core.Config{
				MaxConcurrentStreams: 50,
				InitialWindowSize:    100000,
				MaxFrameSize:         32768,
				MaxHeaderListSize:    20000,
				HeaderTableSize:      8192,
			}
			serverCfg := core.Config{
				MaxConcurrentStreams:  7,
				InitialWindowSize:     70000,
				MaxFrameSize:          20000,
				MaxHeaderListSize:     30000,
				HeaderTableSize:       2048,
				EnableConnectProtocol: true,
			}
			conns := make(chan *h2.Conn, 1)
			srv := &h2.Server{
				Options: h2.Options{Config: serverCfg},
				Handler: h2.HandlerFunc(func(s *h2.Stream) {
					conns <- s.Conn()
					_ = s.Respond(204, nil, nil)
				}),
			}
			env := rtStart(t, kind, srv, &h2.ClientOptions{Options: h2.Options{Config: clientCfg}})
			c := env.client
			ctx := rtCtx(t)
			s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
			if err != nil {
				t.Fatal(err)
			}
			sc := rtWait(t, ctx, conns, "server connection")
			rtDone(t, ctx, s.Done(), "request")
			// One PING round trip each way makes sure both sides have
			// every SETTINGS ACK.
			if _, err := c.Ping(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := sc.Ping(ctx); err != nil {
				t.Fatal(err)
			}
			// A client advertises ENABLE_PUSH 0; a server never sends the
			// setting (RFC 9113 §6.5.2), so its value is not compared.
			rtCheckSettings(t, "client LocalSettings", c.LocalSettings(), clientCfg, false)
			rtCheckSettings(t, "client PeerSettings", c.PeerSettings(), serverCfg, true)
			rtCheckSettings(t, "server LocalSettings", sc.LocalSettings(), serverCfg, true)
			rtCheckSettings(t, "server PeerSettings", sc.PeerSettings(), clientCfg, false)

			if c.RemoteAddr() == nil || sc.RemoteAddr() == nil || c.LocalAddr() == nil {
				t.Fatal("an address is nil")
			}
			if kind != rtOverPipe {
				if got, want := sc.RemoteAddr().String(), c.LocalAddr().String(); got != want {
					t.Errorf("server RemoteAddr %s, client LocalAddr %s", got, want)
				}
				if got, want := c.RemoteAddr().String(), sc.LocalAddr().String(); got != want {
					t.Errorf("client RemoteAddr %s, server LocalAddr %s", got, want)
				}
			}
			if _, ok := c.GoAway(); ok {
				t.Errorf("GoAway reports a GOAWAY on a live connection")
			}
		})
	}
}

func rtCheckSettings(t *testing.T, what string, got core.Settings, cfg core.Config, server bool) {
	t.Helper()
	want := core.Settings{
		HeaderTableSize:       cfg.HeaderTableSize,
		MaxConcurrentStreams:  cfg.MaxConcurrentStreams,
		InitialWindowSize:     cfg.InitialWindowSize,
		MaxFrameSize:          cfg.MaxFrameSize,
		MaxHeaderListSize:     cfg.MaxHeaderListSize,
		EnableConnectProtocol: cfg.EnableConnectProtocol,
	}
	got.NoRFC7540Priorities = false // not configured here
	if server {
		got.EnablePush = false
	}
	if got != want {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

// TestRuntimeConnPeerCloseGoAway: a peer's Conn.Close reaches each open
// stream as an EventGoAway, then ends it with exactly one terminal event.
func TestRuntimeConnPeerCloseGoAway(t *testing.T) {
	for _, kind := range rtTransports {
		t.Run(string(kind), func(t *testing.T) {
			started := make(chan *h2.Stream, 3)
			srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
				started <- s
				<-s.Context().Done()
			})}
			env := rtStart(t, kind, srv, nil)
			c := env.client
			ctx := rtCtx(t)
			var recs []*rtRecorder
			for i := range 3 {
				r := rtNewRecorder()
				if _, err := c.Request(ctx, c.NewRequest("GET", fmt.Sprintf("/%d", i)), &h2.RequestOptions{EndStream: true, Handler: r.handle}); err != nil {
					t.Fatal(err)
				}
				recs = append(recs, r)
			}
			var ss *h2.Stream
			for range 3 {
				ss = rtWait(t, ctx, started, "handlers")
			}
			if err := ss.Conn().Close(); err != nil {
				t.Fatal(err)
			}
			for i, r := range recs {
				rtDone(t, ctx, r.done, "terminal event")
				evs, _, terminal := r.snapshot()
				if terminal != 1 || len(evs) < 2 || evs[0].Kind != core.EventGoAway || evs[len(evs)-1].Kind != core.EventStreamReset {
					t.Errorf("stream %d: events %v, want goaway … stream_reset", i, rtKinds(evs))
				}
			}
			rtDone(t, ctx, c.Done(), "client connection")
			g, ok := c.GoAway()
			if !ok || g.Code != frame.ErrCodeNo {
				t.Errorf("GoAway() = %+v, %v", g, ok)
			}
		})
	}
}
