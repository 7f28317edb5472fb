package scenario_test

import (
	"testing"
	"time"

	"github.com/h2proto/h2/bench/attack/scenario"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// The attack catalogue replayed against a server core in memory, on a
// frozen virtual clock (so no token bucket refills), at the default limits
// and at lowered ones. Each case asserts the server's reaction, the exact
// frame at which the defence fired (derived from the limit, so the two
// configurations check the formula), the accounted memory, and that
// another connection of the same server is unaffected.

// lowered returns the default configuration with limits small enough that
// every flood fires within a few dozen frames.
func lowered() core.Config {
	c := core.DefaultConfig()
	c.MaxHeaderListSize = 8192
	l := &c.Limits
	l.MaxQueuedControlFrames = 20
	l.MaxForcedResets = 30
	l.ResetRate = core.Rate{Burst: 25, PerSecond: 33}
	l.Glitch = core.Rate{Burst: 40, PerSecond: 330}
	l.MaxContinuations = 3
	l.MaxHeaderBlockSize = 16384
	c.Timeouts.Preface = time.Second
	c.Timeouts.KeepAlive = time.Second
	return c
}

// hs is the number of frames of every script's handshake: SETTINGS and the
// ACK of the server's.
const hs = 2

type attackCase struct {
	kind  string
	label string // variant label, "" for the plain run
	drain bool   // the attacker reads (as the network client does)
	n     func(cfg core.Config) int
	wait  func(cfg core.Config) time.Duration
	want  func(cfg core.Config) scenario.Expect
	fire  func(cfg core.Config) int // frame at which the defence fires; 0: never
	check func(t *testing.T, cfg core.Config, r *result)
}

func fixed(n int) func(core.Config) int { return func(core.Config) int { return n } }

func abuse(k core.AbuseKind) func(core.Config) scenario.Expect {
	return func(core.Config) scenario.Expect {
		return scenario.Expect{Outcome: scenario.OutcomeGoAway, Code: frame.ErrCodeEnhanceYourCalm, Abuse: k}
	}
}

func expect(e scenario.Expect) func(core.Config) scenario.Expect {
	return func(core.Config) scenario.Expect { return e }
}

func attackCases() []attackCase {
	lc := func(c core.Config) int { return c.Limits.MaxQueuedControlFrames }
	lf := func(c core.Config) int { return c.Limits.MaxForcedResets }
	gb := func(c core.Config) int { return c.Limits.Glitch.Burst }
	open := expect(scenario.Expect{Outcome: scenario.OutcomeOpen})
	// A queue flood fires at the (Lc+1)-th queued control frame; two are
	// queued by the handshake (the ACK of the client's SETTINGS and our
	// connection WINDOW_UPDATE), so at the client's frame Lc+1.
	queueFlood := func(c core.Config) int { return lc(c) + 1 }
	provoked := func(perStream int) func(core.Config) int {
		return func(c core.Config) int { return hs + perStream*(lf(c)+1) }
	}
	// all431: each request before the close was refused with 431 (RFC
	// 6585 §5), none reached the application.
	all431 := func(t *testing.T, c core.Config, r *result) {
		t.Helper()
		if r.statuses["431"] != lf(c) || r.app.kinds[core.EventRequest] != 0 {
			t.Errorf("statuses %v, %d requests surfaced; want %d × 431", r.statuses, r.app.kinds[core.EventRequest], lf(c))
		}
	}
	allAnswered := func(t *testing.T, _ core.Config, r *result) {
		t.Helper()
		if got, want := r.statuses["200"], r.app.kinds[core.EventRequest]; got != want || want == 0 {
			t.Errorf("%d responses 200 for %d requests", got, want)
		}
	}
	return []attackCase{
		{kind: "ping-flood", n: func(c core.Config) int { return lc(c) + 10 }, want: abuse(core.AbuseControlFlood), fire: queueFlood},
		{kind: "settings-flood", n: func(c core.Config) int { return lc(c) + 10 }, want: abuse(core.AbuseControlFlood), fire: queueFlood},
		{kind: "reset-flood", drain: true, n: func(c core.Config) int { return lf(c) + 10 }, want: abuse(core.AbuseForcedResets), fire: provoked(1),
			check: func(t *testing.T, c core.Config, r *result) {
				if r.rsts != lf(c) {
					t.Errorf("%d RST_STREAM before the GOAWAY, want Limits.MaxForcedResets = %d", r.rsts, lf(c))
				}
			}},
		{kind: "reset-flood", label: "unread", n: func(c core.Config) int { return lc(c) + 10 }, want: abuse(core.AbuseControlFlood), fire: queueFlood},
		{kind: "rapid-reset", n: func(c core.Config) int { return c.Limits.ResetRate.Burst + 10 }, want: abuse(core.AbuseRapidReset),
			fire: func(c core.Config) int { return hs + 2*(c.Limits.ResetRate.Burst+1) }},
		{kind: "madeyoureset-window-update-0", drain: true, n: func(c core.Config) int { return lf(c) + 10 }, want: abuse(core.AbuseForcedResets), fire: provoked(2)},
		{kind: "madeyoureset-window-update-0", label: "unread", n: func(c core.Config) int { return lc(c) + 10 }, want: abuse(core.AbuseControlFlood),
			fire: func(c core.Config) int { return 2 * lc(c) }}, // HEADERS+WU pairs; RST Lc-1 plus the handshake's 2 trips it
		// The first stream escapes: the reading client took its first 64 KiB
		// (the whole connection window), so its window was 0 and the
		// increment fits; every later stream keeps 65,535 and overflows.
		{kind: "madeyoureset-window-overflow", drain: true, n: func(c core.Config) int { return lf(c) + 10 }, want: abuse(core.AbuseForcedResets),
			fire: func(c core.Config) int { return provoked(2)(c) + 2 }},
		{kind: "madeyoureset-data-half-closed", drain: true, n: func(c core.Config) int { return lf(c) + 10 }, want: abuse(core.AbuseForcedResets), fire: provoked(2)},
		{kind: "madeyoureset-content-length", drain: true, n: func(c core.Config) int { return lf(c) + 10 }, want: abuse(core.AbuseForcedResets), fire: provoked(2)},
		{kind: "continuation-flood", n: fixed(100), want: abuse(core.AbuseContinuationFlood),
			fire: func(c core.Config) int { return hs + 1 + c.Limits.MaxContinuations + 1 }},
		{kind: "oversized-header-block", n: fixed(64), want: abuse(core.AbuseHeaderBlockTooLarge),
			fire: func(c core.Config) int { return hs + c.Limits.MaxHeaderBlockSize/frame.MinMaxFrameSize + 1 }},
		{kind: "hpack-bomb", n: func(c core.Config) int { return lf(c) + 10 }, want: abuse(core.AbuseForcedResets), fire: provoked(1), check: all431},
		{kind: "hpack-bomb", label: "below_limit", n: fixed(20), want: expect(scenario.Expect{Outcome: scenario.OutcomeOpen, Status: 431}),
			check: func(t *testing.T, _ core.Config, r *result) {
				if r.statuses["431"] != 20 || r.app.kinds[core.EventRequest] != 0 {
					t.Errorf("statuses %v, %d requests surfaced; want 20 × 431 and none surfaced", r.statuses, r.app.kinds[core.EventRequest])
				}
			}},
		{kind: "empty-headers", n: func(c core.Config) int { return lf(c) + 10 }, want: abuse(core.AbuseForcedResets), fire: provoked(1), check: all431},
		{kind: "empty-frames-flood", n: func(c core.Config) int { return gb(c) + 10 }, want: abuse(core.AbuseGlitches),
			fire: func(c core.Config) int { return hs + 1 + gb(c) + 1 }},
		{kind: "data-dribble", drain: true, n: fixed(5000), want: open, check: func(t *testing.T, c core.Config, r *result) {
			allAnswered(t, c, r)
			if r.frames != hs+50+5000 {
				t.Errorf("core took %d frames of %d", r.frames, hs+50+5000)
			}
		}},
		{kind: "internal-buffering", n: fixed(100), want: open, check: func(t *testing.T, c core.Config, r *result) {
			allAnswered(t, c, r)
			if r.maxQueue > c.Limits.OutputHighWater+int(c.MaxSendFrameSize)+frame.HeaderLen {
				t.Errorf("output queue peaked at %d bytes, above Limits.OutputHighWater %d", r.maxQueue, c.Limits.OutputHighWater)
			}
		}},
		{kind: "priority-churn", n: func(c core.Config) int { return gb(c) + 10 }, want: abuse(core.AbuseGlitches),
			fire: func(c core.Config) int { return hs + 8 + gb(c) + 1 }},
		{kind: "window-update-flood", drain: true, n: fixed(5000), want: open, check: allAnswered},
		{kind: "unknown-frame-flood", n: func(c core.Config) int { return gb(c) + 10 }, want: abuse(core.AbuseGlitches),
			fire: func(c core.Config) int { return hs + gb(c) + 1 }},
		{kind: "stream-id-exhaustion", n: fixed(1), fire: fixed(hs + 2),
			want: expect(scenario.Expect{Outcome: scenario.OutcomeGoAway, Code: frame.ErrCodeProtocol, Debug: "stream_id_not_increasing"})},
		{kind: "zero-window-slow-read", n: fixed(10),
			wait: func(c core.Config) time.Duration { return 2*c.Timeouts.KeepAlive + time.Second },
			want: expect(scenario.Expect{Outcome: scenario.OutcomeGoAway, Code: frame.ErrCodeNo, Debug: "keepalive_timeout"})},
		{kind: "idle-no-preface", n: fixed(1),
			wait: func(c core.Config) time.Duration { return c.Timeouts.Preface + time.Second },
			want: expect(scenario.Expect{Outcome: scenario.OutcomeGoAway, Code: frame.ErrCodeNo, Debug: "preface_timeout"})},
	}
}

func TestAttacks(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range attackCases() {
		covered[tc.kind] = true
		sc, err := scenario.Lookup(tc.kind)
		if err != nil {
			t.Fatal(err)
		}
		for _, cf := range []struct {
			name string
			cfg  core.Config
		}{{"lowered", lowered()}, {"default", core.DefaultConfig()}} {
			name := tc.kind + "/" + cf.name
			if tc.label != "" {
				name = tc.kind + "/" + tc.label + "/" + cf.name
			}
			t.Run(name, func(t *testing.T) {
				cfg := cf.cfg
				var wait time.Duration
				if tc.wait != nil {
					wait = tc.wait(cfg)
				}
				r := run(t, sc, cfg, scenario.Options{N: tc.n(cfg)}, tc.drain, wait)
				want := tc.want(cfg)
				got := scenario.Expect{Outcome: r.outcome, Code: r.code, Abuse: r.abuse, Debug: r.debug}
				if want.Outcome == scenario.OutcomeOpen {
					got.Code, got.Debug = 0, ""
					if want.Status != 0 {
						got.Status = want.Status
					}
				} else if want.Abuse != core.AbuseNone {
					got.Debug = ""
				}
				if got != want {
					t.Fatalf("server did %v (abuse %v, debug %q, fired at frame %d), want %v", r, r.abuse, r.debug, r.firedAt, want)
				}
				if want.Abuse != core.AbuseNone && r.debug != want.Abuse.String() {
					t.Errorf("GOAWAY debug %q, want %q", r.debug, want.Abuse.String())
				}
				if !acceptable(sc, want) {
					t.Errorf("the catalogue does not list %v among %v's reactions %v", want, sc.Name, sc.Expect)
				}
				if tc.fire != nil {
					if w := tc.fire(cfg); r.firedAt != w {
						t.Errorf("defence fired at frame %d, want %d", r.firedAt, w)
					}
				} else if r.firedAt != 0 {
					t.Errorf("connection closed at frame %d", r.firedAt)
				}
				if r.maxMem > memoryBudget {
					t.Errorf("accounted memory peaked at %d bytes, over the %d budget", r.maxMem, memoryBudget)
				}
				if tc.check != nil {
					tc.check(t, cfg, r)
				}
				t.Logf("%s: %v abuse=%v fired_at_frame=%d rst=%d peak_queue=%d peak_mem=%d", name, r, r.abuse, r.firedAt, r.rsts, r.maxQueue, r.maxMem)
				wellBehaved(t, cfg)
			})
		}
	}
	for _, sc := range scenario.Attacks() {
		if !covered[sc.Name] {
			t.Errorf("attack %s has no in-memory case", sc.Name)
		}
	}
}

// acceptable reports whether e is among the scenario's listed reactions.
func acceptable(sc *scenario.Scenario, e scenario.Expect) bool {
	for _, x := range sc.Expect {
		if x.Outcome == e.Outcome && (x.Outcome == scenario.OutcomeOpen && x.Status == e.Status ||
			x.Outcome == scenario.OutcomeClosed ||
			x.Code == e.Code && x.Abuse == e.Abuse && (x.Debug == "" || x.Debug == e.Debug)) {
			return true
		}
	}
	return false
}

// TestLegit: every legitimate workload, at the default limits it comes
// near, with a client that reads, is served in full and never closed.
func TestLegit(t *testing.T) {
	for _, sc := range scenario.All() {
		if !sc.IsLegit {
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			cfg := core.DefaultConfig()
			r := run(t, sc, cfg, scenario.Options{}, true, 0)
			if r.outcome != scenario.OutcomeOpen || r.abuse != core.AbuseNone || r.conn.Err() != nil || r.rsts != 0 {
				t.Fatalf("legitimate workload: server did %v (abuse %v, err %v, %d RST)", r, r.abuse, r.conn.Err(), r.rsts)
			}
			if r.conn.Phase() != core.PhaseConnected {
				t.Fatalf("phase %v, want connected", r.conn.Phase())
			}
			if s := sc.Script(scenario.Options{}); r.frames != s.Frames() {
				t.Fatalf("core took %d of %d frames", r.frames, s.Frames())
			}
			if got, want := r.statuses["200"], r.app.kinds[core.EventRequest]; got != want {
				t.Fatalf("%d responses 200 for %d requests", got, want)
			}
			if sc.Name == "legit-ping" && r.pingAcks != sc.DefaultN {
				t.Fatalf("%d PING ACKs for %d PINGs", r.pingAcks, sc.DefaultN)
			}
			if r.maxMem > memoryBudget {
				t.Errorf("accounted memory peaked at %d bytes", r.maxMem)
			}
			t.Logf("%s: %d frames, %d requests answered, peak_mem=%d", sc.Name, r.frames, r.statuses["200"], r.maxMem)
		})
	}
}

// TestCatalogue checks the catalogue's own contracts: unique kebab-case
// names, pairs that exist, bounded scripts.
func TestCatalogue(t *testing.T) {
	names := map[string]*scenario.Scenario{}
	for _, sc := range scenario.All() {
		if names[sc.Name] != nil {
			t.Fatalf("duplicate kind %s", sc.Name)
		}
		names[sc.Name] = sc
		for _, r := range sc.Name {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				t.Fatalf("kind %q is not kebab-case", sc.Name)
			}
		}
		if sc.Description == "" || sc.Defence == "" || sc.DefaultN <= 0 || sc.Unit == "" {
			t.Fatalf("%s: incomplete entry", sc.Name)
		}
		if !sc.IsLegit && len(sc.Expect) == 0 {
			t.Fatalf("%s: an attack without expected reactions", sc.Name)
		}
	}
	for _, sc := range scenario.All() {
		pair := names[sc.Legit]
		if pair == nil || pair.IsLegit == sc.IsLegit {
			t.Errorf("%s: pair %q is missing or of the same kind", sc.Name, sc.Legit)
		}
	}
	for _, n := range []int{1, 7, 100} {
		for _, sc := range scenario.All() {
			s := sc.Script(scenario.Options{N: n, PerRound: 10})
			total, size := 0, 0
			for i := range s.Rounds() {
				b, f := s.Round(i)
				if f > 40 || f != scenario.CountFrames(b) {
					t.Fatalf("%s: round %d says %d frames, holds %d (max 40)", sc.Name, i, f, scenario.CountFrames(b))
				}
				total += f
				size += len(b)
			}
			if total != s.Frames() || size != s.Bytes() {
				t.Fatalf("%s: %d frames/%d bytes in rounds, script says %d/%d", sc.Name, total, size, s.Frames(), s.Bytes())
			}
			if limit := 30*n + 100; total > limit {
				t.Fatalf("%s: N=%d gave %d frames, not bounded by N", sc.Name, n, total)
			}
		}
	}
	if _, err := scenario.Lookup("no-such-attack"); err == nil {
		t.Fatal("Lookup of an unknown kind succeeded")
	}
}
