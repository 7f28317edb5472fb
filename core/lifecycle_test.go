package core_test

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// Tests of the connection life cycle: timers, graceful and abrupt shutdown,
// PING, phases. Helpers (limit*) live in limits_test.go.

var limitGetReq = []core.HeaderField{
	{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
	{Name: ":authority", Value: "example.com"}, {Name: ":path", Value: "/"},
}

// limitWantDeadline requires PollTimeout to report at.
func limitWantDeadline(t testing.TB, c *core.Conn, at time.Time) {
	t.Helper()
	d, ok := c.PollTimeout()
	if !ok || !d.Equal(at) {
		t.Fatalf("PollTimeout = %v, %v; want %v (+%v)", d.Sub(coretest.Epoch), ok, at.Sub(coretest.Epoch), at.Sub(coretest.Epoch))
	}
}

// limitWantClosedEvent requires the last polled event to be EventClosed
// with err (compared with errors.Is; nil means nil).
func limitWantClosedEvent(t testing.TB, evs []core.Event, err error) {
	t.Helper()
	if len(evs) == 0 || evs[len(evs)-1].Kind != core.EventClosed {
		t.Fatalf("want EventClosed last, got %+v", evs)
	}
	got := evs[len(evs)-1].Err
	if (err == nil) != (got == nil) || (err != nil && !errors.Is(got, err)) {
		t.Fatalf("EventClosed.Err = %v, want %v", got, err)
	}
}

// limitWantTimeoutClose checks a connection closed by a timer: the last
// frame is GOAWAY(code, token), phase closing then closed, Err a ConnError
// with the token, EventClosed carrying it.
func limitWantTimeoutClose(t *testing.T, p *coretest.TestPeer, code frame.ErrCode, token string) frame.Frame {
	t.Helper()
	c := p.Conn
	if ph := c.Phase(); ph != core.PhaseClosing {
		t.Fatalf("phase %v after the timer fired, want closing", ph)
	}
	ce := limitConnErr(t, c)
	if ce.Code != code || ce.Token != token {
		t.Fatalf("Err() = %v, want %v %q", ce, code, token)
	}
	g := limitWantGoAwayLast(t, c, nil, code, token)
	if ph := c.Phase(); ph != core.PhaseClosed {
		t.Fatalf("phase %v after the GOAWAY was transmitted, want closed", ph)
	}
	evs := append(p.Events, limitEvents(c)...)
	p.Events = nil
	limitWantClosedEvent(t, evs, c.Err())
	if _, ok := c.PollTimeout(); ok {
		t.Fatal("a timer is armed after PhaseClosed")
	}
	if err := c.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	return g
}

// ---- timers ----

// TestLimitPollTimeoutEarliest: PollTimeout returns the earliest armed
// deadline of the timer table, whichever timer it is.
func TestLimitPollTimeoutEarliest(t *testing.T) {
	base := core.Timeouts{Preface: 7 * time.Second, SettingsAck: 8 * time.Second, KeepAlive: 9 * time.Second, Idle: 10 * time.Second}
	for _, tc := range []struct {
		name string
		set  func(*core.Timeouts)
		want time.Duration
	}{
		{"preface_earliest", func(*core.Timeouts) {}, 7 * time.Second},
		{"settings_ack_earliest", func(to *core.Timeouts) { to.SettingsAck = 2 * time.Second }, 2 * time.Second},
		{"keepalive_earliest", func(to *core.Timeouts) { to.KeepAlive = 3 * time.Second }, 3 * time.Second},
		{"idle_earliest", func(to *core.Timeouts) { to.Idle = 4 * time.Second }, 4 * time.Second},
		{"defaults_10s", func(to *core.Timeouts) { *to = core.Timeouts{} }, 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			to := base
			tc.set(&to)
			for _, mk := range []func(time.Time, core.Config) (*core.Conn, error){core.NewServer, core.NewClient} {
				c, err := mk(coretest.Epoch, core.Config{Timeouts: to})
				if err != nil {
					t.Fatal(err)
				}
				limitWantDeadline(t, c, coretest.Epoch.Add(tc.want))
				// Nothing fires a nanosecond early.
				before := len(c.PollTransmit(nil))
				c.HandleTimeout(coretest.Epoch.Add(tc.want - time.Nanosecond))
				if out := c.PollTransmit(nil); len(out) != 0 || c.Phase() != core.PhasePreface || before == 0 {
					t.Fatalf("%v: HandleTimeout 1 ns before the deadline acted (phase %v, %d bytes)", c.Role(), c.Phase(), len(out))
				}
				limitWantDeadline(t, c, coretest.Epoch.Add(tc.want))
			}
		})
	}
}

// TestLimitPrefaceTimeout: a peer that never completes its preface (RFC 9113
// §3.4) is closed at exactly Timeouts.Preface with GOAWAY NO_ERROR
// "preface_timeout". With the defaults the SETTINGS ACK timer falls due at
// the same instant; the table fires the preface timer first.
func TestLimitPrefaceTimeout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     core.Config
		preface time.Duration
		client  bool
		partial func(p *coretest.TestPeer)
	}{
		{"server_lowered_3s_nothing_received", core.Config{Timeouts: core.Timeouts{Preface: 3 * time.Second}}, 3 * time.Second, false, nil},
		{"server_default_10s_nothing_received_wins_over_SETTINGS_ACK_timer", core.Config{}, 10 * time.Second, false, nil},
		{"server_magic_without_SETTINGS", core.Config{Timeouts: core.Timeouts{Preface: 3 * time.Second}}, 3 * time.Second, false,
			func(p *coretest.TestPeer) { p.WriteBytes([]byte(coretest.ClientPreface)) }},
		{"client_no_server_SETTINGS", core.Config{Timeouts: core.Timeouts{Preface: 3 * time.Second}}, 3 * time.Second, true, nil},
	} {
		t.Run(tc.name+"/RFC9113_3.4_GOAWAY_at_exactly_Timeouts.Preface", func(t *testing.T) {
			var p *coretest.TestPeer
			if tc.client {
				p = coretest.NewClientPeer(t, tc.cfg)
				p.WantBytes("client magic", []byte(coretest.ClientPreface))
			} else {
				p = coretest.NewServerPeer(t, tc.cfg)
			}
			p.WantFrame("our SETTINGS", frame.TypeSettings)
			p.WantFrame("connection window", frame.TypeWindowUpdate, coretest.OnStream(0))
			if tc.partial != nil {
				tc.partial(p)
			}
			limitWantDeadline(t, p.Conn, coretest.Epoch.Add(tc.preface))
			p.Advance(tc.preface - time.Nanosecond)
			p.WantIdle("1 ns before Timeouts.Preface")
			if ph := p.Conn.Phase(); ph != core.PhasePreface {
				t.Fatalf("phase %v before the timeout", ph)
			}
			p.Advance(time.Nanosecond)
			limitWantTimeoutClose(t, p, frame.ErrCodeNo, "preface_timeout")
		})
	}
}

// TestLimitSettingsAckTimeout: RFC 9113 §6.5.3 "If the sender of a SETTINGS
// frame does not receive an acknowledgment within a reasonable amount of
// time, it MAY issue a connection error of type SETTINGS_TIMEOUT".
func TestLimitSettingsAckTimeout(t *testing.T) {
	t.Run("first_SETTINGS_never_ACKed_default_10s", func(t *testing.T) {
		p := coretest.NewServerPeer(t, core.Config{})
		p.WriteBytes([]byte(coretest.ClientPreface))
		p.WriteFrames(p.FB.Settings())
		p.WantFrame("our SETTINGS", frame.TypeSettings)
		p.WantFrame("connection window", frame.TypeWindowUpdate)
		p.WantFrame("ACK of the client's SETTINGS", frame.TypeSettings, coretest.IsAck)
		if ph := p.Conn.Phase(); ph != core.PhaseSettings {
			t.Fatalf("phase %v, want settings", ph)
		}
		limitWantDeadline(t, p.Conn, coretest.Epoch.Add(10*time.Second))
		p.Advance(10*time.Second - time.Nanosecond)
		p.WantIdle("1 ns before Timeouts.SettingsAck")
		p.Advance(time.Nanosecond)
		limitWantTimeoutClose(t, p, frame.ErrCodeSettingsTimeout, "settings_ack_timeout")
	})
	t.Run("UpdateSettings_never_ACKed_lowered_2s", func(t *testing.T) {
		p := limitServer(t, core.Config{Timeouts: core.Timeouts{SettingsAck: 2 * time.Second}})
		p.Now = p.Now.Add(5 * time.Second)
		if err := p.Conn.UpdateSettings(p.Now, []frame.Setting{{ID: frame.SettingMaxConcurrentStreams, Val: 10}}); err != nil {
			t.Fatal(err)
		}
		p.WantFrame("the new SETTINGS", frame.TypeSettings, coretest.WithoutFlags(frame.FlagSettingsAck))
		limitWantDeadline(t, p.Conn, p.Now.Add(2*time.Second))
		p.Advance(2*time.Second - time.Nanosecond)
		p.WantIdle("1 ns before the deadline")
		p.Advance(time.Nanosecond)
		limitWantTimeoutClose(t, p, frame.ErrCodeSettingsTimeout, "settings_ack_timeout")
	})
	t.Run("ACK_in_time_disarms_the_timer", func(t *testing.T) {
		p := limitServer(t, core.Config{Timeouts: core.Timeouts{SettingsAck: 2 * time.Second, KeepAlive: -1, Idle: -1}})
		if err := p.Conn.UpdateSettings(p.Now, []frame.Setting{{ID: frame.SettingMaxConcurrentStreams, Val: 10}}); err != nil {
			t.Fatal(err)
		}
		p.WantFrame("the new SETTINGS", frame.TypeSettings)
		p.Now = p.Now.Add(2*time.Second - time.Nanosecond)
		p.WriteFrames(p.FB.SettingsAck())
		if d, ok := p.Conn.PollTimeout(); ok {
			t.Fatalf("a timer is armed at +%v after the ACK", d.Sub(coretest.Epoch))
		}
		p.Advance(time.Hour)
		p.WantIdle("no timeout after the ACK")
		limitNoAbuse(t, p.Conn, p.Events)
	})
}

// TestLimitHeaderBlockTimeout: a HEADERS without END_HEADERS whose block is
// not finished within Timeouts.HeaderBlock is slow-headers abuse.
func TestLimitHeaderBlockTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  core.Config
		hb   time.Duration
	}{
		{"lowered_2s", core.Config{Timeouts: core.Timeouts{HeaderBlock: 2 * time.Second}}, 2 * time.Second},
		{"default_10s", core.Config{}, 10 * time.Second},
	} {
		open := func(t *testing.T) (*coretest.TestPeer, []byte) {
			p := limitServer(t, tc.cfg)
			p.Now = p.Now.Add(time.Second)
			block := p.FB.Block(coretest.Request("GET", "/")...)
			p.WriteFrames(p.FB.HeadersBlock(1, coretest.EndStream, block[:3]))
			limitWantDeadline(t, p.Conn, p.Now.Add(tc.hb))
			return p, block[3:]
		}
		t.Run(tc.name+"/unfinished_block_is_ENHANCE_YOUR_CALM_header_block_timeout", func(t *testing.T) {
			p, _ := open(t)
			p.Advance(tc.hb - time.Nanosecond)
			p.WantIdle("1 ns before Timeouts.HeaderBlock")
			p.Advance(time.Nanosecond)
			limitWantAbuse(t, p.Conn, p.Events, nil, core.AbuseHeaderBlockTimeout)
		})
		t.Run(tc.name+"/CONTINUATION_just_in_time_stops_the_timer", func(t *testing.T) {
			p, rest := open(t)
			p.Now = p.Now.Add(tc.hb - time.Nanosecond)
			p.WriteFrames(p.FB.Continuation(1, true, rest))
			p.WantEvent("RFC9113_6.10 the finished block is a request", core.EventRequest)
			if d, ok := p.Conn.PollTimeout(); ok && !d.After(p.Now.Add(tc.hb-time.Nanosecond)) {
				t.Fatalf("header block timer still armed at +%v", d.Sub(coretest.Epoch))
			}
			p.Advance(tc.hb)
			limitNoAbuse(t, p.Conn, p.Events)
		})
	}
}

// TestLimitIdleTimeout: a connection with no stream for Timeouts.Idle is
// closed with GOAWAY NO_ERROR "idle_timeout"; an open stream keeps it
// alive; the timer restarts when the last stream ends.
func TestLimitIdleTimeout(t *testing.T) {
	const idle = 5 * time.Second
	cfg := core.Config{Timeouts: core.Timeouts{Idle: idle, KeepAlive: -1}}
	t.Run("no_stream_ever_closes_at_Idle", func(t *testing.T) {
		p := limitServer(t, cfg)
		limitWantDeadline(t, p.Conn, coretest.Epoch.Add(idle))
		p.Advance(idle - time.Nanosecond)
		p.WantIdle("1 ns before Timeouts.Idle")
		p.Advance(time.Nanosecond)
		g := limitWantTimeoutClose(t, p, frame.ErrCodeNo, "idle_timeout")
		if g.LastStreamID != 0 {
			t.Fatalf("GOAWAY last-stream-id %d", g.LastStreamID)
		}
	})
	t.Run("open_stream_keeps_it_alive_and_its_end_restarts_the_timer", func(t *testing.T) {
		p := limitServer(t, cfg)
		p.Handler = func(p *coretest.TestPeer, e core.Event) {
			if e.Kind == core.EventData && e.EndStream {
				_ = p.Conn.Respond(e.StreamID, 200, nil, nil)
			}
		}
		p.Now = p.Now.Add(2 * time.Second)
		p.WriteFrames(limitPost(p.FB, 1))
		if d, ok := p.Conn.PollTimeout(); ok {
			t.Fatalf("a timer is armed (+%v) while a stream is open", d.Sub(coretest.Epoch))
		}
		p.Advance(100 * time.Second)
		p.WantIdle("an open stream is not idle")
		if ph := p.Conn.Phase(); ph != core.PhaseConnected {
			t.Fatalf("phase %v with a stream open", ph)
		}
		p.WriteFrames(p.FB.Data(1, true, []byte("body")))
		p.WantHeaders("response", 1, coretest.WithFlags(frame.FlagHeadersEndStream))
		end := p.Now
		limitWantDeadline(t, p.Conn, end.Add(idle))
		p.Advance(idle - time.Nanosecond)
		p.WantIdle("1 ns before Idle after the last stream ended")
		p.Advance(time.Nanosecond)
		g := limitWantTimeoutClose(t, p, frame.ErrCodeNo, "idle_timeout")
		if g.LastStreamID != 1 {
			t.Fatalf("GOAWAY last-stream-id %d, want 1", g.LastStreamID)
		}
	})
}

// TestLimitKeepAlive: after Timeouts.KeepAlive without a received frame the
// Conn sends a PING (RFC 9113 §6.7); any frame resets the timer; without
// one for another period the connection is closed (keepalive_timeout).
func TestLimitKeepAlive(t *testing.T) {
	const ka = 5 * time.Second
	cfg := core.Config{Timeouts: core.Timeouts{KeepAlive: ka, Idle: -1}}
	// start: a frame at +3 s moves the deadline to +8 s, where the PING goes.
	start := func(t *testing.T) (*coretest.TestPeer, frame.Frame) {
		p := limitServer(t, cfg)
		limitWantDeadline(t, p.Conn, coretest.Epoch.Add(ka))
		p.Now = p.Now.Add(3 * time.Second)
		p.WriteFrames(p.FB.Ping(false, limitPingData(1)))
		p.WantFrame("PING ACK", frame.TypePing, coretest.IsAck)
		limitWantDeadline(t, p.Conn, p.Now.Add(ka))
		p.Advance(ka - time.Nanosecond)
		p.WantIdle("1 ns before the keep-alive deadline")
		p.Advance(time.Nanosecond)
		f := p.WantFrame("RFC9113_6.7 keep-alive PING", frame.TypePing, coretest.WithoutFlags(frame.FlagPingAck))
		p.WantIdle("one PING")
		limitWantDeadline(t, p.Conn, p.Now.Add(ka))
		return p, f
	}
	t.Run("silent_peer_closed_after_another_period", func(t *testing.T) {
		p, _ := start(t)
		p.Advance(ka - time.Nanosecond)
		p.WantIdle("1 ns before giving up")
		p.Advance(time.Nanosecond)
		limitWantTimeoutClose(t, p, frame.ErrCodeNo, "keepalive_timeout")
	})
	t.Run("PING_ACK_keeps_it_alive_without_an_EventPingAck", func(t *testing.T) {
		p, f := start(t)
		p.Now = p.Now.Add(2 * time.Second)
		if rtt := p.Conn.RTT(); rtt != 0 {
			t.Fatalf("RTT %v before any PING was acknowledged", rtt)
		}
		p.WriteFrames(p.FB.Ping(true, f.PingData))
		p.WantNoEvent("the keep-alive PING is internal")
		if rtt := p.Conn.RTT(); rtt != 2*time.Second {
			t.Fatalf("RTT %v after the keep-alive PING's ACK 2 s later, want 2s (it measures the round trip too)", rtt)
		}
		p.Now = p.Now.Add(time.Second)
		p.WriteFrames(p.FB.Ping(true, f.PingData))
		if rtt := p.Conn.RTT(); rtt != 2*time.Second {
			t.Fatalf("RTT %v after a second ACK of the same PING, want it unchanged", rtt)
		}
		limitWantDeadline(t, p.Conn, p.Now.Add(ka))
		p.Advance(ka)
		p.WantFrame("next keep-alive PING", frame.TypePing, coretest.WithoutFlags(frame.FlagPingAck))
		limitNoAbuse(t, p.Conn, p.Events)
	})
	t.Run("any_frame_resets_it", func(t *testing.T) {
		p, _ := start(t)
		p.Now = p.Now.Add(ka - time.Nanosecond)
		p.WriteFrames(p.FB.WindowUpdate(0, 1))
		p.Advance(time.Nanosecond)
		p.WantIdle("the WINDOW_UPDATE proved the peer alive")
		limitNoAbuse(t, p.Conn, p.Events)
		limitWantDeadline(t, p.Conn, p.Now.Add(ka-time.Nanosecond))
	})
}

// TestLimitNegativeTimeoutsDisable: Config: "a negative one disables the
// timer".
func TestLimitNegativeTimeoutsDisable(t *testing.T) {
	cfg := core.Config{Timeouts: core.Timeouts{Preface: -1, SettingsAck: -1, HeaderBlock: -1, Idle: -1, KeepAlive: -1, GoAwayDrain: -1}}
	for _, client := range []bool{false, true} {
		var p *coretest.TestPeer
		if client {
			p = coretest.NewClientPeer(t, cfg)
		} else {
			p = coretest.NewServerPeer(t, cfg)
		}
		if d, ok := p.Conn.PollTimeout(); ok {
			t.Fatalf("%v: timer armed at +%v with every timeout negative", p.Conn.Role(), d.Sub(coretest.Epoch))
		}
		p.Advance(24 * time.Hour)
		if ph := p.Conn.Phase(); ph != core.PhasePreface {
			t.Fatalf("%v: phase %v after a day without preface", p.Conn.Role(), ph)
		}
		p.Handshake()
		if !client {
			p.WriteFrames(p.FB.HeadersBlock(1, coretest.EndStream, p.FB.Block(coretest.Request("GET", "/")...)[:2]))
			if err := p.Conn.GoAway(p.Now); err != nil {
				t.Fatal(err)
			}
		}
		if d, ok := p.Conn.PollTimeout(); ok {
			t.Fatalf("%v: timer armed at +%v", p.Conn.Role(), d.Sub(coretest.Epoch))
		}
		p.Advance(24 * time.Hour)
		if p.Conn.Err() != nil || p.Conn.Phase() == core.PhaseClosing || p.Conn.Phase() == core.PhaseClosed {
			t.Fatalf("%v: closed (%v) with every timer disabled", p.Conn.Role(), p.Conn.Err())
		}
	}
}

// TestLimitHandleTimeoutEarlyLateTwice: "Calling it early, late or more than
// once is harmless."
func TestLimitHandleTimeoutEarlyLateTwice(t *testing.T) {
	const ka = 5 * time.Second
	p := limitServer(t, core.Config{Timeouts: core.Timeouts{KeepAlive: ka, Idle: -1}})
	c := p.Conn
	c.HandleTimeout(p.Now.Add(ka / 2)) // early
	c.HandleTimeout(p.Now.Add(ka / 2)) // and again
	p.WantIdle("early HandleTimeout")
	late := p.Now.Add(100 * ka)
	c.HandleTimeout(late)
	p.WantFrame("one keep-alive PING", frame.TypePing, coretest.WithoutFlags(frame.FlagPingAck))
	p.WantIdle("a late HandleTimeout fires the timer once, not once per missed period")
	c.HandleTimeout(late)
	p.WantIdle("HandleTimeout twice at the same instant")
	limitWantDeadline(t, c, late.Add(ka))
	c.HandleTimeout(late.Add(ka / 2))
	p.WantIdle("early again")
	// Going back in time does nothing either.
	c.HandleTimeout(coretest.Epoch)
	p.WantIdle("HandleTimeout with an earlier time")
	limitNoAbuse(t, c, p.Events)

	// After the close, HandleTimeout is a no-op.
	c.HandleTimeout(late.Add(ka))
	limitWantTimeoutClose(t, p, frame.ErrCodeNo, "keepalive_timeout")
	c.HandleTimeout(late.Add(10 * ka))
	c.HandleTimeout(late.Add(10 * ka))
	if out := c.PollTransmit(nil); len(out) != 0 || len(limitEvents(c)) != 0 {
		t.Fatal("HandleTimeout after PhaseClosed produced output or events")
	}
}

// ---- graceful GOAWAY (RFC 9113 §6.8, DESIGN §4) ----

// limitGoAwayServer starts a server graceful shutdown with stream 1 open and
// returns the PING payload of phase 1.
func limitGoAwayServer(t *testing.T, cfg core.Config) (*coretest.TestPeer, [8]byte) {
	t.Helper()
	p := limitServer(t, cfg)
	p.Handler = func(p *coretest.TestPeer, e core.Event) {
		switch {
		case e.Kind == core.EventData && e.EndStream:
			_ = p.Conn.Respond(e.StreamID, 200, nil, []byte("done"))
		case e.Kind == core.EventTrailers:
			_ = p.Conn.Respond(e.StreamID, 204, nil, nil) // ends the stream at once
		}
	}
	p.WriteFrames(limitPost(p.FB, 1))
	p.WantEvent("request 1", core.EventRequest)
	p.Now = p.Now.Add(time.Second)
	if err := p.Conn.GoAway(p.Now); err != nil {
		t.Fatal(err)
	}
	g := p.WantGoAway("RFC9113_6.8 phase 1: GOAWAY(2^31-1, NO_ERROR)", frame.ErrCodeNo)
	if g.LastStreamID != frame.MaxStreamID || len(g.Data) != 0 {
		t.Fatalf("phase-1 GOAWAY last-stream-id %d debug %q, want 2^31-1", g.LastStreamID, g.Data)
	}
	ping := p.WantFrame("RFC9113_6.8 phase 1 PING", frame.TypePing, coretest.WithoutFlags(frame.FlagPingAck))
	p.WantIdle("nothing else in phase 1")
	if ph := p.Conn.Phase(); ph != core.PhaseGoAwaySent {
		t.Fatalf("phase %v, want goaway_sent", ph)
	}
	if err := p.Conn.GoAway(p.Now); err != nil {
		t.Fatalf("second GoAway: %v", err)
	}
	p.WantIdle("a second GoAway is a no-op")
	return p, ping.PingData
}

func TestLimitGracefulGoAwayServer(t *testing.T) {
	t.Run("two_phases_late_stream_ignored_close_after_last_stream", func(t *testing.T) {
		p, ping := limitGoAwayServer(t, core.Config{ConnectionWindowSize: 65535})
		// The peer opens stream 3 before it sees the final GOAWAY: served.
		p.WriteFrames(limitPost(p.FB, 3))
		p.WantEvent("RFC9113_6.8 a stream opened before the final GOAWAY is processed", core.EventRequest)
		p.WriteFrames(p.FB.Ping(true, ping))
		g := p.WantGoAway("RFC9113_6.8 final GOAWAY on the PING ACK", frame.ErrCodeNo)
		if g.LastStreamID != 3 {
			t.Fatalf("final GOAWAY last-stream-id %d, want 3 (the last processed)", g.LastStreamID)
		}
		p.WantNoEvent("the phase-1 PING ACK is internal")
		// Stream 5 arrives after the final GOAWAY: ignored, but its DATA
		// still counts against, and is credited back to, the connection
		// window (RFC 9113 §6.8, §6.9). Its header block updates HPACK state.
		// Its trailers are ignored too, not taken for a stream ID going
		// backwards (found by TestSim in ./fuzz).
		p.WriteFrames(limitPost(p.FB, 5, "x-late", "v"), p.FB.Data(5, false, make([]byte, frame.MinMaxFrameSize)),
			p.FB.Headers(5, coretest.EndStream|coretest.EndHeaders, "x-sum", "0"))
		wu := p.WantFrame("connection credit for the ignored stream's DATA", frame.TypeWindowUpdate, coretest.OnStream(0))
		if wu.Increment != frame.MinMaxFrameSize {
			t.Fatalf("WINDOW_UPDATE(0, %d), want %d", wu.Increment, frame.MinMaxFrameSize)
		}
		p.WantIdle("RFC9113_6.8 a stream above the final last-stream-id gets no RST_STREAM")
		p.WantNoEvent("RFC9113_6.8 a stream above the final last-stream-id is not reported")
		// Stream 1 completes; stream 3 still holds the connection open.
		p.WriteFrames(p.FB.Data(1, true, []byte("a")))
		p.WantEvent("data 1", core.EventData)
		p.WantHeaders("response 1", 1)
		p.WantFrame("body 1", frame.TypeData, coretest.OnStream(1), coretest.WithFlags(frame.FlagDataEndStream))
		p.WantEvent("stream 1 closed", core.EventStreamClosed)
		if ph := p.Conn.Phase(); ph != core.PhaseGoAwaySent {
			t.Fatalf("phase %v with stream 3 open, want goaway_sent (not before the last stream)", ph)
		}
		// Stream 3 ends with trailers that reference the dynamic-table entry
		// the ignored block added.
		p.WriteFrames(p.FB.Headers(3, coretest.EndStream|coretest.EndHeaders, "x-late", "v"))
		if ph := p.Conn.Phase(); ph != core.PhaseClosing {
			t.Fatalf("phase %v after the last stream ended, want closing", ph)
		}
		tr := p.WantEvent("RFC9113_4.3 trailers decoded with the ignored block's HPACK state", core.EventTrailers)
		if tr.Header("x-late") != "v" {
			t.Fatalf("trailers %v", tr.Headers)
		}
		p.WantHeaders("response 3", 3, coretest.WithFlags(frame.FlagHeadersEndStream))
		p.WantIdle("no third GOAWAY")
		if ph := p.Conn.Phase(); ph != core.PhaseClosed {
			t.Fatalf("phase %v after the output drained, want closed", ph)
		}
		p.WantEvent("stream 3 closed", core.EventStreamClosed)
		e := p.WantEvent("connection closed", core.EventClosed)
		if e.Err != nil || p.Conn.Err() != nil {
			t.Fatalf("graceful close: EventClosed.Err %v, Err() %v; want nil", e.Err, p.Conn.Err())
		}
		p.Invariants()
	})
	for _, tc := range []struct {
		name  string
		cfg   core.Config
		drain time.Duration
	}{
		{"lowered_300ms", core.Config{Timeouts: core.Timeouts{GoAwayDrain: 300 * time.Millisecond}}, 300 * time.Millisecond},
		{"default_1s", core.Config{}, time.Second},
	} {
		t.Run(tc.name+"/no_PING_ACK_final_GOAWAY_at_exactly_GoAwayDrain", func(t *testing.T) {
			p, _ := limitGoAwayServer(t, tc.cfg)
			limitWantDeadline(t, p.Conn, p.Now.Add(tc.drain))
			p.WriteFrames(limitPost(p.FB, 3))
			p.WantEvent("request 3", core.EventRequest)
			// Only the ACK of the phase-1 PING ends phase 1.
			if err := p.Conn.Ping(p.Now, limitPingData(3)); err != nil {
				t.Fatal(err)
			}
			p.WantFrame("user PING", frame.TypePing)
			p.WriteFrames(p.FB.Ping(true, limitPingData(3)), p.FB.Ping(true, limitPingData(4)))
			p.WantEvent("ACK of the user PING", core.EventPingAck)
			p.WantIdle("RFC9113_6.8 an ACK of another PING does not end phase 1")
			p.Advance(tc.drain - time.Nanosecond)
			p.WantIdle("1 ns before GoAwayDrain")
			p.Advance(time.Nanosecond)
			g := p.WantGoAway("final GOAWAY after GoAwayDrain", frame.ErrCodeNo)
			if g.LastStreamID != 3 {
				t.Fatalf("final GOAWAY last-stream-id %d, want 3", g.LastStreamID)
			}
			if ph := p.Conn.Phase(); ph != core.PhaseGoAwaySent {
				t.Fatalf("phase %v with streams open", ph)
			}
			// A late ACK of the phase-1 PING changes nothing.
			p.WriteFrames(p.FB.Ping(true, [8]byte{'h', '2', 'p', 'g', 'o', 'a', 'w', 'y'}))
			p.WantIdle("late phase-1 PING ACK")
			p.Invariants()
		})
	}
	t.Run("no_streams_closes_on_the_PING_ACK", func(t *testing.T) {
		p := limitServer(t, core.Config{})
		if err := p.Conn.GoAway(p.Now); err != nil {
			t.Fatal(err)
		}
		p.WantGoAway("phase 1", frame.ErrCodeNo)
		ping := p.WantFrame("phase-1 PING", frame.TypePing)
		p.WriteFrames(p.FB.Ping(true, ping.PingData))
		g := p.WantGoAway("final GOAWAY", frame.ErrCodeNo)
		if g.LastStreamID != 0 {
			t.Fatalf("last-stream-id %d, want 0", g.LastStreamID)
		}
		p.WantIdle("nothing after the final GOAWAY")
		if ph := p.Conn.Phase(); ph != core.PhaseClosed {
			t.Fatalf("phase %v, want closed", ph)
		}
		limitWantClosedEvent(t, p.Events, nil)
	})
}

// TestLimitGoAwayReceivedClient: RFC 9113 §6.8 from the client's side.
func TestLimitGoAwayReceivedClient(t *testing.T) {
	open3 := func(t *testing.T) *coretest.TestPeer {
		p := limitClient(t, core.Config{})
		for want := uint32(1); want <= 5; want += 2 {
			id, err := p.Conn.OpenStream(limitGetReq, core.StreamOptions{EndStream: true})
			if err != nil || id != want {
				t.Fatalf("OpenStream = %d, %v; want %d", id, err, want)
			}
			p.WantHeaders("request", id, coretest.WithFlags(frame.FlagHeadersEndStream))
		}
		return p
	}
	refused := func(t *testing.T, p *coretest.TestPeer, id uint32) {
		t.Helper()
		e := p.WantEvent("RFC9113_6.8 stream above last-stream-id", core.EventStreamReset)
		if e.StreamID != id || e.Code != frame.ErrCodeRefusedStream || !e.Retryable || !e.Remote || e.Err != nil {
			t.Fatalf("%+v, want retryable REFUSED_STREAM on stream %d", e, id)
		}
	}
	t.Run("streams_above_refused_retryable_below_complete_no_new_streams", func(t *testing.T) {
		p := open3(t)
		p.WriteFrames(p.FB.GoAway(3, frame.ErrCodeNo, "bye"))
		g := p.WantEvent("GOAWAY", core.EventGoAway)
		if g.LastStreamID != 3 || g.Code != frame.ErrCodeNo || string(g.Data) != "bye" {
			t.Fatalf("EventGoAway %+v", g)
		}
		refused(t, p, 5)
		p.WantNoEvent("streams 1 and 3 go on")
		if ph := p.Conn.Phase(); ph != core.PhaseGoAwayReceived {
			t.Fatalf("phase %v, want goaway_received", ph)
		}
		if _, err := p.Conn.OpenStream(limitGetReq, core.StreamOptions{EndStream: true}); !errors.Is(err, core.ErrGoAwayReceived) {
			t.Fatalf("OpenStream after GOAWAY = %v, want ErrGoAwayReceived", err)
		}
		if p.Conn.CanOpenStream() {
			t.Fatal("CanOpenStream true after GOAWAY")
		}
		// "Endpoints MUST NOT increase the value they send in the last
		// stream identifier": a higher second value is not honoured.
		p.WriteFrames(p.FB.GoAway(frame.MaxStreamID, frame.ErrCodeNo, ""))
		g = p.WantEvent("second GOAWAY", core.EventGoAway)
		if g.LastStreamID != 3 {
			t.Fatalf("second GOAWAY raised last-stream-id to %d, want 3", g.LastStreamID)
		}
		p.WantIdle("the client sends nothing yet")
		p.WriteFrames(p.FB.Headers(1, coretest.EndStream|coretest.EndHeaders, coretest.Response("200")...))
		p.WantEvent("response 1", core.EventResponse)
		p.WantEvent("stream 1 closed", core.EventStreamClosed)
		if ph := p.Conn.Phase(); ph != core.PhaseGoAwayReceived {
			t.Fatalf("phase %v with stream 3 open", ph)
		}
		p.WriteFrames(p.FB.Headers(3, coretest.EndStream|coretest.EndHeaders, coretest.Response("200")...))
		p.WantEvent("response 3", core.EventResponse)
		p.WantEvent("stream 3 closed", core.EventStreamClosed)
		g2 := p.WantGoAway("the client's GOAWAY once its last stream ended", frame.ErrCodeNo)
		if g2.LastStreamID != 0 {
			t.Fatalf("client GOAWAY last-stream-id %d", g2.LastStreamID)
		}
		p.WantIdle("nothing after the GOAWAY")
		if ph := p.Conn.Phase(); ph != core.PhaseClosed {
			t.Fatalf("phase %v after the last stream, want closed", ph)
		}
		limitWantClosedEvent(t, append(p.Events, limitEvents(p.Conn)...), nil)
	})
	t.Run("a_second_GOAWAY_may_lower_last-stream-id", func(t *testing.T) {
		p := open3(t)
		p.WriteFrames(p.FB.GoAway(3, frame.ErrCodeNo, ""))
		p.WantEvent("GOAWAY", core.EventGoAway)
		refused(t, p, 5)
		p.WriteFrames(p.FB.GoAway(1, frame.ErrCodeNo, ""))
		if g := p.WantEvent("second GOAWAY", core.EventGoAway); g.LastStreamID != 1 {
			t.Fatalf("last-stream-id %d, want 1", g.LastStreamID)
		}
		refused(t, p, 3)
		p.Invariants()
	})
	t.Run("GOAWAY_with_error_code_records_remote_ConnError", func(t *testing.T) {
		p := open3(t)
		p.WriteFrames(p.FB.GoAway(1, frame.ErrCodeInternal, "oops"))
		p.WantEvent("GOAWAY", core.EventGoAway)
		refused(t, p, 3)
		refused(t, p, 5)
		ce := limitConnErr(t, p.Conn)
		if ce.Code != frame.ErrCodeInternal || !ce.Remote || ce.Reason != "oops" {
			t.Fatalf("Err() = %+v", ce)
		}
	})
}

// TestLimitGoAwayClient: a client's GoAway is a single GOAWAY; no new streams.
func TestLimitGoAwayClient(t *testing.T) {
	p := limitClient(t, core.Config{})
	id, err := p.Conn.OpenStream(limitGetReq, core.StreamOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	p.WantHeaders("request", id)
	if err := p.Conn.GoAway(p.Now); err != nil {
		t.Fatal(err)
	}
	g := p.WantGoAway("client GOAWAY", frame.ErrCodeNo)
	if g.LastStreamID != 0 {
		t.Fatalf("client GOAWAY last-stream-id %d, want 0 (no server streams)", g.LastStreamID)
	}
	p.WantIdle("a client sends one GOAWAY, no PING")
	if _, err := p.Conn.OpenStream(limitGetReq, core.StreamOptions{EndStream: true}); !errors.Is(err, core.ErrGoAwaySent) {
		t.Fatalf("OpenStream after GoAway = %v, want ErrGoAwaySent", err)
	}
	if ph := p.Conn.Phase(); ph != core.PhaseGoAwaySent {
		t.Fatalf("phase %v", ph)
	}
	p.WriteFrames(p.FB.Headers(id, coretest.EndStream|coretest.EndHeaders, coretest.Response("200")...))
	p.WantEvent("response", core.EventResponse)
	p.WantEvent("stream closed", core.EventStreamClosed)
	p.WantIdle("no second GOAWAY")
	if ph := p.Conn.Phase(); ph != core.PhaseClosed {
		t.Fatalf("phase %v after the last stream, want closed", ph)
	}
	limitWantClosedEvent(t, p.Events, nil)
}

// ---- Close and HandleTransportClosed ----

func TestLimitClose(t *testing.T) {
	for _, tc := range []struct {
		name       string
		code       frame.ErrCode
		debug      string
		streamCode frame.ErrCode
	}{
		{"INTERNAL_ERROR", frame.ErrCodeInternal, "shutting down", frame.ErrCodeInternal},
		{"NO_ERROR", frame.ErrCodeNo, "", frame.ErrCodeCancel},
	} {
		check := func(t *testing.T, p *coretest.TestPeer, last uint32, open []uint32) {
			t.Helper()
			p.Now = p.Now.Add(time.Second)
			p.Conn.Close(p.Now, tc.code, tc.debug)
			if ph := p.Conn.Phase(); ph != core.PhaseClosing {
				t.Fatalf("phase %v after Close, want closing", ph)
			}
			var wantErr error
			if tc.code != frame.ErrCodeNo {
				ce := limitConnErr(t, p.Conn)
				if ce.Code != tc.code || ce.Token != "local_close" || ce.Remote {
					t.Fatalf("Err() = %+v", ce)
				}
				wantErr = ce
			} else if p.Conn.Err() != nil {
				t.Fatalf("Err() = %v after Close(NO_ERROR)", p.Conn.Err())
			}
			evs := limitEvents(p.Conn)
			if len(evs) != len(open) {
				t.Fatalf("%d events, want one terminal event per open stream: %+v", len(evs), evs)
			}
			for i, id := range open {
				e := evs[i]
				if e.Kind != core.EventStreamReset || e.StreamID != id || e.Code != tc.streamCode || e.Err == nil {
					t.Fatalf("stream %d: %+v, want EventStreamReset %v with Err", id, e, tc.streamCode)
				}
				if wantErr != nil && e.Err != wantErr {
					t.Fatalf("stream %d: Err %v, want %v", id, e.Err, wantErr)
				}
				if wantErr == nil && !errors.Is(e.Err, core.ErrClosed) {
					t.Fatalf("stream %d: Err %v, want ErrClosed", id, e.Err)
				}
			}
			g := limitWantGoAwayLast(t, p.Conn, nil, tc.code, tc.debug)
			if g.LastStreamID != last {
				t.Fatalf("GOAWAY last-stream-id %d, want %d", g.LastStreamID, last)
			}
			if ph := p.Conn.Phase(); ph != core.PhaseClosed {
				t.Fatalf("phase %v after transmit, want closed", ph)
			}
			limitWantClosedEvent(t, limitEvents(p.Conn), wantErr)
			p.Conn.Close(p.Now, frame.ErrCodeInternal, "again")
			if out := p.Conn.PollTransmit(nil); len(out) != 0 || len(limitEvents(p.Conn)) != 0 {
				t.Fatal("Close after the close acted")
			}
			if n, err := p.Conn.Receive(p.Now, p.FB.Ping(false, limitPingData(0))); n != 0 || err == nil {
				t.Fatalf("Receive after Close = %d, %v", n, err)
			}
			p.Invariants()
		}
		t.Run("server_"+tc.name, func(t *testing.T) {
			p := limitServer(t, core.Config{})
			p.WriteFrames(limitPost(p.FB, 1), limitPost(p.FB, 3), p.FB.RST(3, frame.ErrCodeCancel))
			p.Events = nil // stream 3 already had its terminal event; it is held
			check(t, p, 3, []uint32{1})
		})
		t.Run("client_"+tc.name, func(t *testing.T) {
			p := limitClient(t, core.Config{})
			for i := 0; i < 2; i++ {
				if _, err := p.Conn.OpenStream(limitGetReq, core.StreamOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			_ = p.Conn.PollTransmit(nil)
			check(t, p, 0, []uint32{1, 3})
			if _, err := p.Conn.OpenStream(limitGetReq, core.StreamOptions{}); !errors.Is(err, core.ErrClosed) {
				t.Fatalf("OpenStream after Close = %v, want ErrClosed", err)
			}
		})
	}
}

func TestLimitHandleTransportClosed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		wantErr error
	}{
		{"nil_error_is_ErrConnectionLost", nil, core.ErrConnectionLost},
		{"given_error_is_kept", io.ErrUnexpectedEOF, io.ErrUnexpectedEOF},
	} {
		for _, client := range []bool{false, true} {
			name := tc.name + "/server"
			if client {
				name = tc.name + "/client"
			}
			t.Run(name, func(t *testing.T) {
				var p *coretest.TestPeer
				var open []uint32
				if client {
					p = limitClient(t, core.Config{})
					id, err := p.Conn.OpenStream(limitGetReq, core.StreamOptions{})
					if err != nil {
						t.Fatal(err)
					}
					open = []uint32{id}
				} else {
					p = limitServer(t, core.Config{})
					p.WriteFrames(limitPost(p.FB, 1), limitPost(p.FB, 3))
					p.Events = nil
					open = []uint32{1, 3}
				}
				// Queued output is dropped: the transport is gone.
				if err := p.Conn.Ping(p.Now, limitPingData(9)); err != nil {
					t.Fatal(err)
				}
				p.Conn.HandleTransportClosed(p.Now, tc.err)
				if ph := p.Conn.Phase(); ph != core.PhaseClosed {
					t.Fatalf("phase %v, want closed at once", ph)
				}
				if !errors.Is(p.Conn.Err(), tc.wantErr) {
					t.Fatalf("Err() = %v, want %v", p.Conn.Err(), tc.wantErr)
				}
				evs := limitEvents(p.Conn)
				if len(evs) != len(open)+1 {
					t.Fatalf("events %+v, want a reset per stream and EventClosed", evs)
				}
				for i, id := range open {
					if e := evs[i]; e.Kind != core.EventStreamReset || e.StreamID != id || !errors.Is(e.Err, core.ErrConnectionLost) {
						t.Fatalf("stream %d: %+v, want EventStreamReset with ErrConnectionLost", id, e)
					}
				}
				limitWantClosedEvent(t, evs, tc.wantErr)
				if out := p.Conn.PollTransmit(nil); len(out) != 0 {
					t.Fatalf("%d bytes transmitted after the transport closed", len(out))
				}
				if _, ok := p.Conn.PollTimeout(); ok {
					t.Fatal("timer armed after the transport closed")
				}
				p.Conn.HandleTransportClosed(p.Now, nil)
				if len(limitEvents(p.Conn)) != 0 {
					t.Fatal("a second HandleTransportClosed emitted events")
				}
				p.Invariants()
			})
		}
	}
}

// ---- phases ----

// TestLimitPhaseSequence: preface → settings → connected, for both roles
// (RFC 9113 §3.4: the preface, then the SETTINGS ACK).
func TestLimitPhaseSequence(t *testing.T) {
	want := []core.Phase{core.PhasePreface, core.PhaseSettings, core.PhaseConnected}
	check := func(t *testing.T, who string, got []core.Phase) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s phases %v, want %v", who, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s phases %v, want %v", who, got, want)
			}
		}
	}
	t.Run("server_TestPeer", func(t *testing.T) {
		p := coretest.NewServerPeer(t, core.Config{})
		got := []core.Phase{p.Conn.Phase()}
		p.WriteBytes([]byte(coretest.ClientPreface))
		if ph := p.Conn.Phase(); ph != core.PhasePreface {
			t.Fatalf("phase %v after the magic alone, want preface (SETTINGS is part of the preface)", ph)
		}
		p.WriteFrames(p.FB.Settings())
		got = append(got, p.Conn.Phase())
		p.WriteFrames(p.FB.SettingsAck())
		got = append(got, p.Conn.Phase())
		check(t, "server", got)
		p.SkipEvents(core.EventSettings, core.EventSettingsAck)
		p.WantEvent("connected", core.EventConnected)
	})
	t.Run("client_TestPeer", func(t *testing.T) {
		p := coretest.NewClientPeer(t, core.Config{})
		got := []core.Phase{p.Conn.Phase()}
		p.WriteFrames(p.FB.Settings())
		got = append(got, p.Conn.Phase())
		p.WriteFrames(p.FB.SettingsAck())
		got = append(got, p.Conn.Phase())
		check(t, "client", got)
		p.SkipEvents(core.EventSettings, core.EventSettingsAck)
		p.WantEvent("connected", core.EventConnected)
	})
	t.Run("Pair_byte_by_byte", func(t *testing.T) {
		pair, err := coretest.NewPair(7, core.Config{}, core.Config{})
		if err != nil {
			t.Fatal(err)
		}
		pair.MaxChunk = 1
		var seen [2][]core.Phase
		note := func() {
			for _, s := range []coretest.Side{coretest.Client, coretest.Server} {
				ph := pair.Conn(s).Phase()
				if l := seen[s]; len(l) == 0 || l[len(l)-1] != ph {
					seen[s] = append(seen[s], ph)
				}
			}
		}
		note()
		pair.Trace = func(coretest.Side, []byte) { note() }
		pair.Drive()
		note()
		check(t, "client", seen[coretest.Client])
		check(t, "server", seen[coretest.Server])
		if err := pair.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLimitConnErrorEndsWithGoAway: every connection error leaves a
// well-formed GOAWAY as the last frame of the output (RFC 9113 §5.4.1), and
// nothing is accepted or sent after it.
func TestLimitConnErrorEndsWithGoAway(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client bool
		pre    bool // before the handshake
		input  func(fb *coretest.FrameBuilder) []byte
		code   frame.ErrCode
		token  string
	}{
		{"RFC9113_3.4_bad_preface", false, true, func(*coretest.FrameBuilder) []byte { return []byte("GET / HTTP/1.1\r\n\r\n") },
			frame.ErrCodeProtocol, "bad_preface"},
		{"RFC9113_3.4_first_frame_not_SETTINGS", false, true, func(fb *coretest.FrameBuilder) []byte {
			return append([]byte(coretest.ClientPreface), fb.Ping(false, limitPingData(0))...)
		}, frame.ErrCodeProtocol, "first_frame_not_settings"},
		{"RFC9113_5.1_DATA_on_idle_stream", false, false, func(fb *coretest.FrameBuilder) []byte { return fb.Data(1, true, []byte("x")) },
			frame.ErrCodeProtocol, "frame_on_idle_stream"},
		{"RFC9113_6.5.3_unsolicited_SETTINGS_ACK", false, false, func(fb *coretest.FrameBuilder) []byte { return fb.SettingsAck() },
			frame.ErrCodeProtocol, "unsolicited_settings_ack"},
		{"RFC9113_6.9.1_connection_window_overflow", false, false, func(fb *coretest.FrameBuilder) []byte { return fb.WindowUpdate(0, frame.MaxWindowSize) },
			frame.ErrCodeFlowControl, "connection_window_overflow"},
		{"RFC9113_4.2_frame_too_large", false, false, func(fb *coretest.FrameBuilder) []byte {
			return fb.Raw(0xfa, 0, 0, make([]byte, frame.MinMaxFrameSize+1))
		}, frame.ErrCodeFrameSize, "frame_too_large"},
		{"DESIGN5_too_many_SETTINGS_entries", false, false, func(fb *coretest.FrameBuilder) []byte {
			s := make([]frame.Setting, 33)
			for i := range s {
				s[i] = frame.Setting{ID: frame.SettingMaxConcurrentStreams, Val: 100}
			}
			return fb.Settings(s...)
		}, frame.ErrCodeEnhanceYourCalm, "too_many_settings"},
		{"RFC9113_8.4_PUSH_PROMISE_to_client", true, false, func(fb *coretest.FrameBuilder) []byte {
			return frame.AppendPushPromise(nil, frame.PushPromiseParam{StreamID: 1, PromisedID: 2, Fragment: fb.Block(coretest.Request("GET", "/")...), EndHeaders: true})
		}, frame.ErrCodeProtocol, "push_promise_not_enabled"},
		{"RFC9113_6.5.2_server_enables_push", true, false, func(fb *coretest.FrameBuilder) []byte {
			return fb.Settings(frame.Setting{ID: frame.SettingEnablePush, Val: 1})
		}, frame.ErrCodeProtocol, "server_enabled_push"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p *coretest.TestPeer
			switch {
			case tc.client:
				p = limitClient(t, core.Config{})
			case tc.pre:
				p = coretest.NewServerPeer(t, core.Config{})
			default:
				p = limitServer(t, core.Config{})
			}
			if tc.client {
				if _, err := p.Conn.OpenStream(limitGetReq, core.StreamOptions{EndStream: true}); err != nil {
					t.Fatal(err)
				}
			}
			out := p.Conn.PollTransmit(nil)
			b := tc.input(p.FB)
			n, err := p.Conn.Receive(p.Now, b)
			if err == nil {
				t.Fatalf("Receive = %d, nil; want the connection error", n)
			}
			ce := limitConnErr(t, p.Conn)
			if ce.Code != tc.code || ce.Token != tc.token {
				t.Fatalf("Err() = %+v, want %v %q", ce, tc.code, tc.token)
			}
			limitWantGoAwayLast(t, p.Conn, out, tc.code, tc.token)
			if ph := p.Conn.Phase(); ph != core.PhaseClosed {
				t.Fatalf("phase %v, want closed", ph)
			}
			evs := limitEvents(p.Conn)
			limitWantClosedEvent(t, evs, ce)
			if tc.client && (evs[0].Kind != core.EventStreamReset || evs[0].Err != ce) {
				t.Fatalf("open stream: %+v, want EventStreamReset with the connection's error", evs[0])
			}
			if m, err := p.Conn.Receive(p.Now, p.FB.Ping(false, limitPingData(0))); m != 0 || err == nil {
				t.Fatalf("Receive after the error = %d, %v", m, err)
			}
			p.Invariants()
		})
	}
}

// ---- PING (RFC 9113 §6.7) ----

func TestLimitPing(t *testing.T) {
	h2spec := [8]byte{'h', '2', 's', 'p', 'e', 'c', 0, 0}
	t.Run("h2spec_6.7/1_PING_is_answered_with_ACK_and_same_payload", func(t *testing.T) {
		p := limitServer(t, core.Config{})
		p.WriteFrames(p.FB.Ping(false, h2spec))
		f := p.WantFrame("RFC9113_6.7 \"receivers of a PING frame ... MUST send a PING frame with the ACK flag set in response, with an identical frame payload\"",
			frame.TypePing, coretest.IsAck, coretest.OnStream(0))
		if f.PingData != h2spec || f.Length != 8 {
			t.Fatalf("ACK payload %q length %d", f.PingData[:], f.Length)
		}
		p.WantIdle("one ACK")
		p.WantNoEvent("a peer PING is answered internally")
	})
	t.Run("h2spec_6.7/2_PING_ACK_for_unknown_payload_is_ignored", func(t *testing.T) {
		p := limitServer(t, core.Config{})
		p.WriteFrames(p.FB.Ping(true, [8]byte{'i', 'n', 'v', 'a', 'l', 'i', 'd', 0}), p.FB.Ping(false, h2spec))
		f := p.WantFrame("RFC9113_6.7 \"An endpoint MUST NOT respond to PING frames containing this flag\"", frame.TypePing, coretest.IsAck)
		if f.PingData != h2spec {
			t.Fatalf("first PING sent has payload %q, want the ACK of h2spec", f.PingData[:])
		}
		p.WantIdle("no answer to the ACK")
		p.WantNoEvent("an unsolicited ACK is not reported")
		limitNoAbuse(t, p.Conn, p.Events)
	})
	for _, client := range []bool{false, true} {
		name := "server"
		if client {
			name = "client"
		}
		t.Run(name+"/Ping_RTT_is_the_virtual_time_to_the_ACK", func(t *testing.T) {
			var p *coretest.TestPeer
			if client {
				p = limitClient(t, core.Config{})
			} else {
				p = limitServer(t, core.Config{})
			}
			if p.Conn.RTT() != 0 {
				t.Fatalf("RTT() = %v before any PING", p.Conn.RTT())
			}
			data := [8]byte{'r', 't', 't', 1, 2, 3, 4, 5}
			other := [8]byte{'r', 't', 't', 9}
			p.Now = p.Now.Add(time.Second)
			if err := p.Conn.Ping(p.Now, data); err != nil {
				t.Fatal(err)
			}
			if err := p.Conn.Ping(p.Now.Add(100*time.Millisecond), other); err != nil {
				t.Fatal(err)
			}
			f := p.WantFrame("our PING", frame.TypePing, coretest.WithoutFlags(frame.FlagPingAck))
			if f.PingData != data {
				t.Fatalf("PING payload %q", f.PingData[:])
			}
			p.WantFrame("second PING", frame.TypePing)
			p.Now = p.Now.Add(250 * time.Millisecond)
			p.WriteFrames(p.FB.Ping(true, data))
			e := p.WantEvent("EventPingAck", core.EventPingAck)
			if e.RTT != 250*time.Millisecond || e.PingData != data {
				t.Fatalf("EventPingAck RTT %v payload %q, want 250ms", e.RTT, e.PingData[:])
			}
			if p.Conn.RTT() != 250*time.Millisecond {
				t.Fatalf("RTT() = %v, want 250ms", p.Conn.RTT())
			}
			p.Now = p.Now.Add(50 * time.Millisecond)
			p.WriteFrames(p.FB.Ping(true, other))
			if e := p.WantEvent("second ACK", core.EventPingAck); e.RTT != 200*time.Millisecond {
				t.Fatalf("second RTT %v, want 200ms", e.RTT)
			}
			if p.Conn.RTT() != 200*time.Millisecond {
				t.Fatalf("RTT() = %v, want the latest, 200ms", p.Conn.RTT())
			}
			// The same ACK again matches nothing outstanding.
			p.WriteFrames(p.FB.Ping(true, data))
			p.WantNoEvent("a duplicate ACK")
			p.WantIdle("no answer to an ACK")
			p.Invariants()
		})
	}
	t.Run("Ping_after_close_is_ErrClosed", func(t *testing.T) {
		p := limitServer(t, core.Config{})
		p.Conn.Close(p.Now, frame.ErrCodeNo, "")
		if err := p.Conn.Ping(p.Now, h2spec); !errors.Is(err, core.ErrClosed) {
			t.Fatalf("Ping after Close = %v, want ErrClosed", err)
		}
	})
}

// TestLimitGoAwayLastStreamIDNeverIncreases: RFC 9113 §6.8 "Endpoints MUST
// NOT increase the value they send in the last stream identifier, since the
// peers might already have retried unprocessed requests on another
// connection." After the final graceful GOAWAY(1), a stream the peer opens
// is ignored (not processed); a GOAWAY sent later — by Close or by a
// connection error — must still carry at most 1.
func TestLimitGoAwayLastStreamIDNeverIncreases(t *testing.T) {
	for _, tc := range []struct {
		name  string
		end   func(p *coretest.TestPeer)
		code  frame.ErrCode
		debug string
	}{
		{"Close", func(p *coretest.TestPeer) { p.Conn.Close(p.Now, frame.ErrCodeInternal, "bye") }, frame.ErrCodeInternal, "bye"},
		{"connection_error", func(p *coretest.TestPeer) {
			_, _ = p.Conn.Receive(p.Now, p.FB.Data(11, true, []byte("x"))) // DATA on an idle stream
		}, frame.ErrCodeProtocol, "frame_on_idle_stream"},
		{"abuse", func(p *coretest.TestPeer) {
			_, _ = p.Conn.Receive(p.Now, p.FB.Settings(make([]frame.Setting, 40)...))
		}, frame.ErrCodeEnhanceYourCalm, "too_many_settings"},
	} {
		t.Run(tc.name+"/RFC9113_6.8_later_GOAWAY_does_not_raise_last-stream-id", func(t *testing.T) {
			p, ping := limitGoAwayServer(t, core.Config{})
			p.WriteFrames(p.FB.Ping(true, ping))
			if g := p.WantGoAway("final GOAWAY", frame.ErrCodeNo); g.LastStreamID != 1 {
				t.Fatalf("final GOAWAY last-stream-id %d, want 1", g.LastStreamID)
			}
			p.WriteFrames(limitPost(p.FB, 3))
			p.WantIdle("stream 3 ignored")
			p.WantNoEvent("stream 3 ignored")
			tc.end(p)
			g := limitWantGoAwayLast(t, p.Conn, nil, tc.code, tc.debug)
			if g.LastStreamID > 1 {
				t.Fatalf("GOAWAY last-stream-id %d after a final GOAWAY(1): increased, and stream 3 was never processed", g.LastStreamID)
			}
		})
	}
}

// TestLimitSettingsAckTimeoutEachFrame: Timeouts.SettingsAck "bounds the
// wait for the ACK of each SETTINGS frame we send" (timers.go: "our oldest
// SETTINGS must be acknowledged"). Two SETTINGS sent together: when the
// first is acknowledged, the second has already waited that long, so its
// deadline stays its send time + SettingsAck.
func TestLimitSettingsAckTimeoutEachFrame(t *testing.T) {
	const ack = 10 * time.Second
	p := limitServer(t, core.Config{Timeouts: core.Timeouts{KeepAlive: -1, Idle: -1}})
	sent := p.Now.Add(time.Second)
	for i := 0; i < 2; i++ {
		if err := p.Conn.UpdateSettings(sent, []frame.Setting{{ID: frame.SettingMaxConcurrentStreams, Val: uint32(50 + i)}}); err != nil {
			t.Fatal(err)
		}
		p.WantFrame("SETTINGS", frame.TypeSettings, coretest.WithoutFlags(frame.FlagSettingsAck))
	}
	limitWantDeadline(t, p.Conn, sent.Add(ack))
	p.Now = sent.Add(9 * time.Second)
	p.WriteFrames(p.FB.SettingsAck())
	p.WantEvent("ACK of the first", core.EventSettingsAck)
	limitWantDeadline(t, p.Conn, sent.Add(ack))
	p.Advance(sent.Add(ack).Sub(p.Now))
	limitWantTimeoutClose(t, p, frame.ErrCodeSettingsTimeout, "settings_ack_timeout")
}

// TestLimitCloseWaitsForHeaderBlock: a request's HEADERS has arrived but
// its CONTINUATION has not when the server would close — its graceful
// GOAWAY drain ends, or its idle timer fires. The HEADERS opened the stream
// (RFC 9113 §5.1) and the final GOAWAY's last stream ID covers it, so the
// client will not retry it: the server must finish the block and serve the
// request rather than close. Timeouts.HeaderBlock still bounds the wait.
// Found by TestSim in ./fuzz.
func TestLimitCloseWaitsForHeaderBlock(t *testing.T) {
	const idle = 5 * time.Second
	cfg := core.Config{Timeouts: core.Timeouts{Idle: idle, KeepAlive: -1, HeaderBlock: 3 * idle}}
	half := func(t *testing.T, p *coretest.TestPeer, id uint32) []byte {
		t.Helper()
		blk := p.FB.Block(coretest.Request("GET", "/")...)
		p.WriteFrames(p.FB.HeadersBlock(id, coretest.EndStream, blk[:2]))
		p.WantIdle("half a field block")
		return blk[2:]
	}
	t.Run("final_GOAWAY_after_the_drain", func(t *testing.T) {
		p := limitServer(t, cfg)
		p.Handler = func(p *coretest.TestPeer, e core.Event) {
			if e.Kind == core.EventRequest {
				_ = p.Conn.Respond(e.StreamID, 204, nil, nil)
			}
		}
		rest := half(t, p, 1)
		if err := p.Conn.GoAway(p.Now); err != nil {
			t.Fatal(err)
		}
		p.WantGoAway("phase 1", frame.ErrCodeNo)
		p.WantFrame("phase 1 PING", frame.TypePing)
		p.Advance(2 * time.Second) // past Timeouts.GoAwayDrain
		if g := p.WantGoAway("final GOAWAY", frame.ErrCodeNo); g.LastStreamID != 1 {
			t.Fatalf("final GOAWAY last-stream-id %d, want 1", g.LastStreamID)
		}
		if ph := p.Conn.Phase(); ph != core.PhaseGoAwaySent {
			t.Fatalf("phase %v with stream 1's field block half received, want goaway_sent", ph)
		}
		p.WriteFrames(p.FB.Continuation(1, true, rest))
		p.WantEvent("the request, once its block is complete", core.EventRequest)
		p.WantHeaders("its response", 1, coretest.WithFlags(frame.FlagHeadersEndStream))
		if ph := p.Conn.Phase(); ph != core.PhaseClosed {
			t.Fatalf("phase %v after the last stream, want closed", ph)
		}
	})
	t.Run("idle_timer", func(t *testing.T) {
		p := limitServer(t, cfg)
		rest := half(t, p, 1)
		p.Advance(idle)
		p.WantIdle("no idle close while a field block is arriving")
		p.WriteFrames(p.FB.Continuation(1, true, rest))
		p.WantEvent("the request", core.EventRequest)
		p.Invariants()
	})
}
