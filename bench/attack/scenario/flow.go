package scenario

import (
	"github.com/h2proto/h2/core/frame"
)

// Flow-control and stream-lifetime attacks: data dribble (CVE-2019-9511),
// internal data buffering (CVE-2019-9517), slow reading with a zero
// window, stream-ID exhaustion, and idle connections.

var dataDribble = &Scenario{
	Name:        "data-dribble",
	Description: "SETTINGS_INITIAL_WINDOW_SIZE=1, 50 large downloads, then 1-byte WINDOW_UPDATEs round-robin (CVE-2019-9511)",
	Defence:     "a bound, not a close: one DATA frame per WINDOW_UPDATE, send buffers capped (Limits.StreamSendBuffer, ConnSendBuffer)",
	Expect:      []Expect{{Outcome: OutcomeOpen}},
	Legit:       "legit-small-data",
	DefaultN:    20_000,
	Unit:        "1-byte WINDOW_UPDATE frames",
	build: func(s *Script, o Options) {
		s.handshake(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 1})
		const streams = 50
		var ids [streams]uint32
		for i := range ids {
			ids[i] = s.newStream()
			openLarge(s, ids[i])
		}
		for i := range o.N {
			s.add(frame.AppendWindowUpdate(nil, ids[i%streams], 1))
		}
	},
}

var internalBuffering = &Scenario{
	Name:        "internal-buffering",
	Description: "windows opened to 2^31-1, many large downloads, and the responses never read (CVE-2019-9517)",
	Defence:     "a bound: send buffers capped, input stops at Limits.OutputHighWater, the runtime's WriteTimeout closes (or Timeouts.KeepAlive first, when it is shorter)",
	// Whichever of the write timeout and the keep-alive fires first closes
	// it: the attacker reads nothing, so our keep-alive PING goes unanswered.
	Expect: []Expect{{Outcome: OutcomeOpen}, {Outcome: OutcomeClosed},
		{Outcome: OutcomeGoAway, Code: frame.ErrCodeNo, Debug: "keepalive_timeout"}},
	Legit:    "legit-window-updates",
	DefaultN: 100,
	Unit:     "large downloads",
	NoRead:   true,
	Wait:     true,
	build: func(s *Script, o Options) {
		s.handshake(frame.Setting{ID: frame.SettingInitialWindowSize, Val: frame.MaxWindowSize})
		s.add(frame.AppendWindowUpdate(nil, 0, frame.MaxWindowSize-65535))
		s.flush()
		for range o.N {
			openLarge(s, s.newStream())
		}
	},
}

var zeroWindow = &Scenario{
	Name:        "zero-window-slow-read",
	Description: "SETTINGS_INITIAL_WINDOW_SIZE=0, large downloads, no WINDOW_UPDATE ever, nothing read",
	Defence:     "a bound: send buffers capped; Timeouts.KeepAlive closes a peer that stops sending (2 × 15 s)",
	Expect: []Expect{{Outcome: OutcomeOpen}, {Outcome: OutcomeClosed},
		{Outcome: OutcomeGoAway, Code: frame.ErrCodeNo, Debug: "keepalive_timeout"}},
	Legit:    "legit-window-updates",
	DefaultN: 10,
	Unit:     "stalled downloads",
	NoRead:   true,
	Wait:     true,
	build: func(s *Script, o Options) {
		s.handshake(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 0})
		for range o.N {
			openLarge(s, s.newStream())
		}
	},
}

var streamIDExhaustion = &Scenario{
	Name:        "stream-id-exhaustion",
	Description: "a request on stream 2^31-1, the last ID, then one on a lower ID",
	Defence:     "stream IDs must increase (RFC 9113 §5.1.1): connection PROTOCOL_ERROR, no state per skipped ID",
	Expect:      []Expect{{Outcome: OutcomeGoAway, Code: frame.ErrCodeProtocol, Debug: "stream_id_not_increasing"}},
	Legit:       "legit-sparse-ids",
	DefaultN:    1,
	Unit:        "requests below the last ID",
	build: func(s *Script, o Options) {
		s.handshake()
		s.add(headers(frame.MaxWindowSize, true, true, s.request("GET", o.Path)))
		s.flush()
		for i := range o.N {
			s.add(headers(uint32(2*i+3), true, true, s.request("GET", o.Path)))
		}
		s.nextID = 0 // no ID left for a probe request
	},
}

var idleNoPreface = &Scenario{
	Name:        "idle-no-preface",
	Description: "connect and send nothing, not even the preface",
	Defence:     "Timeouts.Preface: 10 s",
	Expect: []Expect{{Outcome: OutcomeClosed}, {Outcome: OutcomeGoAway, Code: frame.ErrCodeNo, Debug: "preface_timeout"},
		{Outcome: OutcomeOpen}},
	Legit:    "legit-ping",
	DefaultN: 1,
	Unit:     "connections",
	Wait:     true,
	build:    func(*Script, Options) {},
}
