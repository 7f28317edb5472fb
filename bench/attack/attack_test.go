package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/bench/attack/scenario"
	"github.com/h2proto/h2/core"
)

// The attack client against our own runtime server over 127.0.0.1 (h2c):
// every kind must end bounded — closed with the expected code, or still
// open with the server serving — within a short time, and the server must
// keep serving other connections.

// fastTimers is a server configuration whose timer defences fire within a
// test's patience: the preface and keep-alive timeouts, and the write
// timeout that drops a client that does not read.
func fastTimers() h2.Options {
	var o h2.Options
	o.Config.Timeouts.Preface = 300 * time.Millisecond
	o.Config.Timeouts.KeepAlive = 300 * time.Millisecond
	o.WriteTimeout = 500 * time.Millisecond
	return o
}

func testConfig(addr string, timeout time.Duration) *config {
	return &config{addr: addr, dialAddr: addr, h2c: true, timeout: timeout, settle: 300 * time.Millisecond,
		probe: 2 * time.Second, path: "/", largePath: "/large"}
}

// loopbackN is the attack size used over loopback: the default, except for
// the queue floods, where 5,000 frames already overflow a non-reading
// client's small socket buffer, and the heavy header kinds, cut to just past
// Limits.MaxForcedResets (1,024) plus a round.
func loopbackN(sc *scenario.Scenario) int {
	switch sc.Name {
	case "ping-flood", "settings-flood":
		return 5000
	case "hpack-bomb", "empty-headers":
		return 1100
	}
	return 0
}

func TestLoopback(t *testing.T) {
	defaults := startServer(t, h2.Options{})
	timers := startServer(t, fastTimers())
	for _, sc := range scenario.All() {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			addr, timeout := defaults, 5*time.Second
			if sc.Wait {
				addr, timeout = timers, 2*time.Second
			}
			cfg := testConfig(addr, timeout)
			cfg.n = loopbackN(sc)
			start := time.Now()
			r := run(context.Background(), cfg, sc)
			took := time.Since(start)
			t.Log(human(sc, r))
			if r.Error != "" {
				t.Fatal(r.Error)
			}
			if !r.ServerStillServes {
				t.Errorf("the server stopped serving other connections")
			}
			if max := timeout + cfg.settle + 2*cfg.probe + time.Second; took > max {
				t.Errorf("run took %v, bound %v", took, max)
			}
			if sc.IsLegit {
				if r.Outcome != string(scenario.OutcomeOpen) || r.Code != "" || !r.ConnStillServed {
					t.Fatalf("legitimate client stopped: %+v", r)
				}
				if all := sc.Script(scenario.Options{N: cfg.n}).Frames(); r.FramesSent != all {
					t.Fatalf("legitimate client sent %d of its %d frames", r.FramesSent, all)
				}
				if r.ElapsedMS >= timeout.Milliseconds() {
					t.Fatalf("legitimate client ran into its deadline (%d ms): paced waits stalled", r.ElapsedMS)
				}
				return
			}
			ok := false
			for _, e := range sc.Expect {
				ok = ok || matches(e, r)
			}
			if !ok {
				t.Fatalf("%s: %s %s %q is not among the expected %s", sc.Name, r.Outcome, r.Code, r.Debug, expectList(sc.Expect))
			}
			if sc.Wait && r.Outcome == string(scenario.OutcomeOpen) {
				t.Errorf("the server's timer defence did not close the connection within %v", timeout)
			}
			if r.Outcome == string(scenario.OutcomeOpen) && !r.ConnStillServed {
				t.Errorf("connection left open but no longer answers PING")
			}
		})
	}
}

// TestLoopbackAbuseKinds pins the exact defence our server uses for the
// kinds whose catalogue entry allows alternatives.
func TestLoopbackAbuseKinds(t *testing.T) {
	addr := startServer(t, h2.Options{})
	for kind, want := range map[string]core.AbuseKind{
		"rapid-reset":                   core.AbuseRapidReset,
		"madeyoureset-data-half-closed": core.AbuseForcedResets,
		"hpack-bomb":                    core.AbuseForcedResets,
		"unknown-frame-flood":           core.AbuseGlitches,
	} {
		sc, err := scenario.Lookup(kind)
		if err != nil {
			t.Fatal(err)
		}
		cfg := testConfig(addr, 5*time.Second)
		cfg.n = loopbackN(sc)
		r := run(context.Background(), cfg, sc)
		if r.Outcome != "goaway" || r.Code != "ENHANCE_YOUR_CALM" || r.Debug != want.String() {
			t.Errorf("%s: %s %s %q, want goaway ENHANCE_YOUR_CALM %q", kind, r.Outcome, r.Code, r.Debug, want)
		}
	}
}

func TestCLIJSON(t *testing.T) {
	addr := startServer(t, h2.Options{})
	var out, errb bytes.Buffer
	code := cli(context.Background(), []string{"stream-id-exhaustion,legit-ping", "-addr", addr, "-h2c", "-json", "-n", "100", "-timeout", "3s", "-settle", "200ms"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 JSON lines, got %q", out.String())
	}
	want := []string{"kind", "outcome", "code", "debug", "frames_sent", "bytes_sent", "elapsed_ms", "conn_still_served", "server_still_serves"}
	for i, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range want {
			if _, ok := m[k]; !ok {
				t.Fatalf("line %d lacks %q: %s", i, k, line)
			}
		}
		if len(m) != len(want) {
			t.Fatalf("line %d has extra fields: %s", i, line)
		}
	}
	// stream-id-exhaustion with -n 100: the handshake, HEADERS on stream
	// 2^31-1, then one round of 64 HEADERS on lower IDs, whose first one
	// the server answers with GOAWAY.
	var r0, r1 Result
	_ = json.Unmarshal([]byte(lines[0]), &r0)
	_ = json.Unmarshal([]byte(lines[1]), &r1)
	if r0.Kind != "stream-id-exhaustion" || r0.Outcome != "goaway" || r0.Code != "PROTOCOL_ERROR" || r0.Debug != "stream_id_not_increasing" || r0.FramesSent != 2+1+64 || !r0.ServerStillServes {
		t.Errorf("stream-id-exhaustion: %+v", r0)
	}
	if r1.Kind != "legit-ping" || r1.Outcome != "timeout-still-open" || r1.FramesSent != 102 || !r1.ConnStillServed || !r1.ServerStillServes {
		t.Errorf("legit-ping: %+v", r1)
	}
}

func TestCLIUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"ping-flood", "-addr", "10.0.0.1:80", "-h2c"}, 2, "refusing a non-loopback address"},
		{[]string{"ping-flood", "-addr", "[2001:db8::1]:443"}, 2, "refusing a non-loopback address"},
		{[]string{"ping-flood", "-addr", "0.0.0.0:80"}, 2, "refusing a non-loopback address"},
		{[]string{"ping-flood", "-addr", ":80"}, 2, "refusing a non-loopback address"},
		{[]string{"no-such-kind", "-addr", "127.0.0.1:1"}, 2, "unknown kind"},
		{[]string{"ping-flood"}, 2, "usage"},
		{[]string{"ping-flood", "-addr", "127.0.0.1:1", "-timeout", "0s"}, 2, "-timeout must be positive"},
	} {
		var out, errb bytes.Buffer
		if code := cli(context.Background(), tc.args, &out, &errb); code != tc.code || !strings.Contains(errb.String(), tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errb.String(), tc.code, tc.msg)
		}
	}
	var out bytes.Buffer
	if code := cli(context.Background(), []string{"-list"}, &out, &out); code != 0 {
		t.Fatalf("-list: exit %d", code)
	}
	for _, sc := range scenario.All() {
		if !strings.Contains(out.String(), sc.Name+" ") {
			t.Errorf("-list lacks %s", sc.Name)
		}
	}
}

func TestResolveLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:80": true, "127.9.8.7:80": true, "[::1]:80": true, "localhost:80": true,
		"[::ffff:127.0.0.1]:80": true, "10.1.2.3:80": false, "[::]:80": false, "192.168.0.1:443": false,
	} {
		_, err := resolveLoopback(context.Background(), addr)
		if (err == nil) != ok {
			t.Errorf("resolveLoopback(%q) = %v, want ok %v", addr, err, ok)
		}
		if !ok && !errors.Is(err, errNotLoopback) {
			t.Errorf("resolveLoopback(%q) = %v, want errNotLoopback", addr, err)
		}
	}
}

// TestLoopbackTLS runs two kinds over TLS with ALPN h2 and -k.
func TestLoopbackTLS(t *testing.T) {
	cert := selfSigned(t)
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &h2.Server{Handler: h2.HandlerFunc(handler)}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	for _, kind := range []string{"continuation-flood", "legit-ping"} {
		sc, _ := scenario.Lookup(kind)
		cfg := testConfig(l.Addr().String(), 5*time.Second)
		cfg.h2c, cfg.insecure = false, true
		r := run(context.Background(), cfg, sc)
		t.Log(human(sc, r))
		if r.Error != "" || !r.ServerStillServes || (kind == "legit-ping") != (r.Outcome == "timeout-still-open") {
			t.Errorf("%s over TLS: %+v", kind, r)
		}
	}
	// Without -k the self-signed certificate is refused.
	sc, _ := scenario.Lookup("legit-ping")
	cfg := testConfig(l.Addr().String(), 2*time.Second)
	cfg.h2c = false
	if r := run(context.Background(), cfg, sc); !strings.Contains(r.Error, "certificate") {
		t.Errorf("without -k: %+v, want a certificate error", r)
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestLoopbackUnpacedBursts: a client that reads every answer but writes
// thousands of PINGs or SETTINGS back to back, arriving in large socket
// reads, is served, as net/http and nghttpd serve it. The runtime drains
// the ACKs each time Receive yields at half the control-frame limit, so
// the limit counts only what the peer leaves unread (it used to close such
// a burst with control_frame_flood within one 32 KiB read).
func TestLoopbackUnpacedBursts(t *testing.T) {
	addr := startServer(t, h2.Options{})
	for _, tc := range []struct {
		kind string
		n    int
	}{{"legit-ping", 20_000}, {"legit-settings", 5_000}} {
		sc, err := scenario.Lookup(tc.kind)
		if err != nil {
			t.Fatal(err)
		}
		cfg := testConfig(addr, 3*time.Second)
		cfg.n, cfg.noPace = tc.n, true
		r := run(context.Background(), cfg, sc)
		if r.Outcome != "timeout-still-open" || !r.ConnStillServed || r.FramesSent < tc.n {
			t.Errorf("%s, %d unpaced: %s %s %q after %d frames, conn still served %v; want it served",
				tc.kind, tc.n, r.Outcome, r.Code, r.Debug, r.FramesSent, r.ConnStillServed)
		}
	}
}
