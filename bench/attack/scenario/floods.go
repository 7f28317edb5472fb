package scenario

import (
	"encoding/binary"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// Control-frame and cheap-frame floods: CVE-2019-9512, -9515, -9518, the
// 2019 resource loop (PRIORITY), WINDOW_UPDATE and unknown-frame floods.

var eyc = frame.ErrCodeEnhanceYourCalm

func abuseExpect(k core.AbuseKind) Expect {
	return Expect{Outcome: OutcomeGoAway, Code: eyc, Abuse: k}
}

// pingData is a distinct PING payload for frame i.
func pingData(i int) [8]byte {
	var d [8]byte
	binary.BigEndian.PutUint64(d[:], uint64(i)|0xa7<<56)
	return d
}

var pingFlood = &Scenario{
	Name:        "ping-flood",
	Description: "PING after PING without reading the ACKs (CVE-2019-9512)",
	Defence:     "Limits.MaxQueuedControlFrames: 1,000 ACKs queued unread; over a socket the runtime stops reading while the ACKs wait for the peer (Receive yields at half the limit), so the attacker's writes block and Options.WriteTimeout ends it",
	// Over a socket the runtime drains at each yield, so the cap fires
	// only for a driver that keeps feeding; the connection then stays
	// open, blocked, until the write timeout.
	Expect:   []Expect{abuseExpect(core.AbuseControlFlood), {Outcome: OutcomeClosed}, {Outcome: OutcomeOpen}},
	Legit:    "legit-ping",
	DefaultN: 200_000,
	Unit:     "PING frames",
	NoRead:   true,
	build: func(s *Script, o Options) {
		s.handshake()
		for i := range o.N {
			s.add(frame.AppendPing(nil, false, pingData(i)))
		}
	},
}

var settingsFlood = &Scenario{
	Name:        "settings-flood",
	Description: "empty SETTINGS frames without reading the ACKs (CVE-2019-9515)",
	Defence:     "Limits.MaxQueuedControlFrames: 1,000 ACKs queued unread; over a socket the runtime stops reading while the ACKs wait for the peer (Receive yields at half the limit), so the attacker's writes block and Options.WriteTimeout ends it",
	// Over a socket the runtime drains at each yield, so the cap fires
	// only for a driver that keeps feeding; the connection then stays
	// open, blocked, until the write timeout.
	Expect:   []Expect{abuseExpect(core.AbuseControlFlood), {Outcome: OutcomeClosed}, {Outcome: OutcomeOpen}},
	Legit:    "legit-settings",
	DefaultN: 200_000,
	Unit:     "SETTINGS frames",
	NoRead:   true,
	build: func(s *Script, o Options) {
		s.handshake()
		for range o.N {
			s.add(frame.AppendSettings(nil, nil))
		}
	},
}

var emptyFrames = &Scenario{
	Name:        "empty-frames-flood",
	Description: "a POST, then DATA frames with no payload and no END_STREAM (CVE-2019-9518)",
	Defence:     "Limits.Glitch: 10,000 suspicious frames, refilled at 330/s",
	Expect:      []Expect{abuseExpect(core.AbuseGlitches)},
	Legit:       "legit-small-data",
	DefaultN:    20_000,
	Unit:        "empty DATA frames",
	build: func(s *Script, o Options) {
		s.handshake()
		id := s.newStream()
		s.add(headers(id, false, true, s.request("POST", o.Path)))
		for range o.N {
			s.add(frame.AppendData(nil, id, false, nil))
		}
	},
}

var priorityChurn = &Scenario{
	Name:        "priority-churn",
	Description: "PRIORITY frames re-parenting open streams and naming idle ones (CVE-2019-9513)",
	Defence:     "PRIORITY is ignored (no tree) and charged to Limits.Glitch",
	Expect:      []Expect{abuseExpect(core.AbuseGlitches)},
	Legit:       "legit-priority",
	DefaultN:    20_000,
	Unit:        "PRIORITY frames",
	build: func(s *Script, o Options) {
		s.handshake()
		const open = 8
		var ids [open]uint32
		for i := range ids {
			ids[i] = s.newStream()
			s.add(headers(ids[i], true, true, s.request("GET", o.LargePath)))
		}
		idle := s.nextID + 2*open // idle IDs, never opened
		for i := range o.N {
			if i%2 == 0 {
				a, b := ids[i/2%open], ids[(i/2+1)%open]
				s.add(frame.AppendPriority(nil, a, frame.Priority{StreamDep: b, Exclusive: i%4 == 0, Weight: uint8(i)}))
				continue
			}
			id := idle + uint32(2*(i/2%1000))
			s.add(frame.AppendPriority(nil, id, frame.Priority{StreamDep: ids[0], Weight: 16}))
		}
		s.nextID = idle + 2000
	},
}

var windowUpdateFlood = &Scenario{
	Name:        "window-update-flood",
	Description: "WINDOW_UPDATE(0, 1) after WINDOW_UPDATE(0, 1) while a download runs",
	Defence:     "none needed: O(1) per frame, windows checked for overflow (RFC 9113 §6.9.1)",
	Expect:      []Expect{{Outcome: OutcomeOpen}},
	Legit:       "legit-window-updates",
	DefaultN:    20_000,
	Unit:        "WINDOW_UPDATE frames",
	build: func(s *Script, o Options) {
		s.handshake()
		s.add(headers(s.newStream(), true, true, s.request("GET", o.LargePath)))
		for range o.N {
			s.add(frame.AppendWindowUpdate(nil, 0, 1))
		}
	},
}

var unknownFrames = &Scenario{
	Name:        "unknown-frame-flood",
	Description: "frames of unknown type 0xfa, empty, on stream 0 (RFC 9113 §4.1 says ignore them)",
	Defence:     "Limits.Glitch: 10,000 suspicious frames, refilled at 330/s",
	Expect:      []Expect{abuseExpect(core.AbuseGlitches)},
	Legit:       "legit-extension-frames",
	DefaultN:    20_000,
	Unit:        "unknown frames",
	build: func(s *Script, o Options) {
		s.handshake()
		for range o.N {
			s.add(frame.AppendRaw(nil, 0xfa, 0, 0, nil))
		}
	},
}
