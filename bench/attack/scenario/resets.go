package scenario

import (
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// Reset attacks: resets the peer provokes (CVE-2019-9514, MadeYouReset
// CVE-2025-8671) and resets it sends (Rapid Reset, CVE-2023-44487).

var provoked = []Expect{abuseExpect(core.AbuseForcedResets), abuseExpect(core.AbuseControlFlood)}

var resetFlood = &Scenario{
	Name:        "reset-flood",
	Description: "requests with an uppercase field name, each answered with RST_STREAM (CVE-2019-9514)",
	Defence:     "Limits.MaxForcedResets: 1,024 resets provoked per connection",
	Expect:      provoked,
	Legit:       "legit-cancel",
	DefaultN:    2_000,
	Unit:        "invalid requests",
	build: func(s *Script, o Options) {
		s.handshake()
		for range o.N {
			s.add(headers(s.newStream(), true, true, s.request("GET", o.Path, "X-Upper", "1")))
		}
	},
}

var rapidReset = &Scenario{
	Name:        "rapid-reset",
	Description: "HEADERS then RST_STREAM(CANCEL) on each new stream (CVE-2023-44487)",
	Defence:     "Limits.ResetRate: 1,000 received resets, refilled at 33/s",
	Expect:      []Expect{abuseExpect(core.AbuseRapidReset), abuseExpect(core.AbusePendingStreams)},
	Legit:       "legit-reset-finished",
	DefaultN:    2_000,
	Unit:        "HEADERS+RST_STREAM pairs",
	build: func(s *Script, o Options) {
		s.handshake()
		for range o.N {
			id := s.newStream()
			s.add(headers(id, true, true, s.request("GET", o.LargePath)))
			s.add(frame.AppendRSTStream(nil, id, frame.ErrCodeCancel))
		}
	},
}

// madeYouReset builds a MadeYouReset variant: a stream opened by open, then
// the primitive that makes the server reset it.
func madeYouReset(name, what string, open func(s *Script, id uint32), prim func(s *Script, id uint32)) *Scenario {
	return &Scenario{
		Name:        "madeyoureset-" + name,
		Description: "a request, then " + what + ", so the server resets the stream (MadeYouReset, CVE-2025-8671)",
		Defence:     "Limits.MaxForcedResets: 1,024 resets provoked per connection (also charged to Limits.Glitch)",
		Expect:      provoked,
		Legit:       "legit-cancel",
		DefaultN:    2_000,
		Unit:        "provoked resets",
		build: func(s *Script, o Options) {
			s.handshake()
			for range o.N {
				id := s.newStream()
				open(s, id)
				prim(s, id)
			}
		},
	}
}

// openLarge opens a GET of the large resource: the response stays in flight
// (the client's 64 KiB window holds it), so the stream stays open.
func openLarge(s *Script, id uint32) {
	s.add(headers(id, true, true, s.request("GET", s.Options.LargePath)))
}

var (
	mayrWindowUpdate0 = madeYouReset("window-update-0", "WINDOW_UPDATE with increment 0 on it (RFC 9113 §6.9)", openLarge,
		func(s *Script, id uint32) { s.add(frame.AppendWindowUpdate(nil, id, 0)) })
	mayrWindowOverflow = madeYouReset("window-overflow", "a WINDOW_UPDATE taking its send window past 2^31-1 (RFC 9113 §6.9.1)", openLarge,
		func(s *Script, id uint32) { s.add(frame.AppendWindowUpdate(nil, id, frame.MaxWindowSize)) })
	mayrHalfClosed = madeYouReset("data-half-closed", "DATA after its END_STREAM (half-closed, RFC 9113 §5.1)", openLarge,
		func(s *Script, id uint32) { s.add(frame.AppendData(nil, id, false, []byte("x"))) })
	mayrContentLength = madeYouReset("content-length", "more DATA than its content-length (RFC 9113 §8.1.1)",
		func(s *Script, id uint32) {
			s.add(headers(id, false, true, s.request("POST", s.Options.Path, "content-length", "1")))
		},
		func(s *Script, id uint32) { s.add(frame.AppendData(nil, id, true, []byte("xx"))) })
)
