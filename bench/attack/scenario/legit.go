package scenario

import (
	"strconv"
	"strings"

	"github.com/h2proto/h2/core/frame"
)

// Legitimate workloads near the limits: each must be served, never closed
// (the false positives of nghttp2/nghttp2#1984 and #2597 are the warning).
// They read the server's output, as real clients do.

var legitPing = &Scenario{
	Name:        "legit-ping",
	Description: "many PINGs from a client that reads every ACK",
	Defence:     "none may fire: ACKs drain as the client reads",
	Legit:       "ping-flood",
	IsLegit:     true,
	DefaultN:    10_000,
	Unit:        "PING frames",
	build: func(s *Script, o Options) {
		s.handshake()
		for i := range o.N {
			s.add(frame.AppendPing(nil, false, pingData(i)))
		}
	},
}

var legitSettings = &Scenario{
	Name:        "legit-settings",
	Description: "frequent SETTINGS changes within reason (window and table size), ACKs read",
	Defence:     "none may fire",
	Legit:       "settings-flood",
	IsLegit:     true,
	DefaultN:    2_000,
	Unit:        "SETTINGS frames",
	build: func(s *Script, o Options) {
		s.handshake()
		for i := range o.N {
			s.add(frame.AppendSettings(nil, []frame.Setting{
				{ID: frame.SettingInitialWindowSize, Val: 65535 + uint32(i%2)*65536},
				{ID: frame.SettingHeaderTableSize, Val: 4096},
			}))
		}
	},
}

var legitResetFinished = &Scenario{
	Name:        "legit-reset-finished",
	Description: "a client that sends RST_STREAM(CANCEL) for every stream after it finished (nghttp2/nghttp2#1984)",
	Defence:     "none may fire: resets of closed streams are ignored (RFC 9113 §5.1)",
	Legit:       "rapid-reset",
	IsLegit:     true,
	DefaultN:    2_000,
	Unit:        "requests",
	build: func(s *Script, o Options) {
		s.handshake()
		// Streams are reset one round after they were opened: a paced
		// runner has had their answers by then.
		type opened struct {
			id    uint32
			round int
		}
		var done []opened
		for range o.N {
			id := s.newStream()
			s.add(headers(id, true, true, s.request("GET", o.Path)))
			s.answered()
			done = append(done, opened{id, len(s.rounds)})
			if done[0].round < len(s.rounds) {
				s.add(frame.AppendRSTStream(nil, done[0].id, frame.ErrCodeCancel))
				done = done[1:]
			}
		}
	},
}

var legitSmallData = &Scenario{
	Name:        "legit-small-data",
	Description: "one upload sent as many 1-byte DATA frames",
	Defence:     "none may fire: small non-empty DATA is not a glitch",
	Legit:       "empty-frames-flood",
	IsLegit:     true,
	DefaultN:    5_000,
	Unit:        "DATA frames",
	build: func(s *Script, o Options) {
		s.handshake()
		id := s.newStream()
		s.add(headers(id, false, true, s.request("POST", o.Path)))
		for i := range o.N {
			s.add(frame.AppendData(nil, id, i == o.N-1, []byte{'d'}))
		}
		s.answered()
	},
}

var legitPriority = &Scenario{
	Name:        "legit-priority",
	Description: "requests each followed by a few PRIORITY frames, as old browsers did",
	Defence:     "none may fire: 4 PRIORITY per request stays inside Limits.Glitch",
	Legit:       "priority-churn",
	IsLegit:     true,
	DefaultN:    2_000,
	Unit:        "requests",
	build: func(s *Script, o Options) {
		s.handshake()
		prev := uint32(0)
		for range o.N {
			id := s.newStream()
			s.add(frame.AppendPriority(nil, id, frame.Priority{StreamDep: prev, Weight: 15}))
			s.add(headers(id, true, true, s.request("GET", o.Path)))
			s.answered()
			for w := range 3 {
				s.add(frame.AppendPriority(nil, id, frame.Priority{StreamDep: prev, Weight: uint8(32 * w)}))
			}
			prev = id
		}
	},
}

var legitContinuation = &Scenario{
	Name:        "legit-continuation",
	Description: "requests whose field block is split into exactly 8 CONTINUATION frames",
	Defence:     "none may fire: 8 CONTINUATIONs is at Limits.MaxContinuations",
	Legit:       "continuation-flood",
	IsLegit:     true,
	DefaultN:    500,
	Unit:        "requests",
	build: func(s *Script, o Options) {
		s.handshake()
		const parts = 9 // HEADERS + 8 CONTINUATION
		for range o.N {
			id := s.newStream()
			block := s.request("GET", o.Path, "x-a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "x-b", "bbbbbbbbbbbbbbbbbbbb")
			step := (len(block) + parts - 1) / parts
			s.add(headers(id, true, false, block[:step]))
			for p := 1; p < parts; p++ {
				s.add(frame.AppendContinuation(nil, id, p == parts-1, block[p*step:min(len(block), (p+1)*step)]))
			}
			s.answered()
		}
	},
}

var legitCancel = &Scenario{
	Name:        "legit-cancel",
	Description: "a client that cancels in-flight downloads (a video player seeking), below the reset rate",
	Defence:     "none may fire: well under Limits.ResetRate's burst; client resets are not provoked resets",
	Legit:       "reset-flood",
	IsLegit:     true,
	DefaultN:    500,
	Unit:        "cancelled downloads",
	build: func(s *Script, o Options) {
		s.handshake()
		for range o.N {
			id := s.newStream()
			openLarge(s, id)
			s.add(frame.AppendRSTStream(nil, id, frame.ErrCodeCancel))
		}
	},
}

var legitLargeHeaders = &Scenario{
	Name:        "legit-large-headers",
	Description: "requests with a 48 KiB cookie, inserted once in the HPACK table and then referenced, block split in 16 KiB frames",
	Defence:     "none may fire: under MaxHeaderListSize (64 KiB) and MaxHeaderBlockSize",
	Legit:       "oversized-header-block",
	IsLegit:     true,
	DefaultN:    50,
	Unit:        "requests",
	build: func(s *Script, o Options) {
		s.handshake()
		cookie := strings.Repeat("c", 3000)
		for i := range o.N {
			id := s.newStream()
			block := s.request("GET", o.Path)
			for k := range 16 {
				block = appendLiteral(block, "cookie", cookie+strconv.Itoa(k))
			}
			if i == 0 {
				block = appendIndexedLiteral(block, "x-session", strings.Repeat("s", 1000))
			} else {
				block = appendIndexed(block, 62)
			}
			for off := 0; off < len(block); off += fragmentSize {
				frag := block[off:min(len(block), off+fragmentSize)]
				end := off+fragmentSize >= len(block)
				if off == 0 {
					s.add(headers(id, true, end, frag))
				} else {
					s.add(frame.AppendContinuation(nil, id, end, frag))
				}
			}
			s.answered()
		}
	},
}

var legitExtensionFrames = &Scenario{
	Name:        "legit-extension-frames",
	Description: "requests each preceded by a frame of an unknown extension type (RFC 9113 §5.5)",
	Defence:     "none may fire: well under Limits.Glitch",
	Legit:       "unknown-frame-flood",
	IsLegit:     true,
	DefaultN:    2_000,
	Unit:        "requests",
	build: func(s *Script, o Options) {
		s.handshake()
		for range o.N {
			s.add(frame.AppendRaw(nil, 0xfa, 0, 0, []byte("ext")))
			s.add(headers(s.newStream(), true, true, s.request("GET", o.Path)))
			s.answered()
		}
	},
}

var legitSparseIDs = &Scenario{
	Name:        "legit-sparse-ids",
	Description: "requests on increasing but sparse stream IDs (1, 1001, 2001, …)",
	Defence:     "none may fire: skipped IDs are closed implicitly (RFC 9113 §5.1.1) and cost nothing",
	Legit:       "stream-id-exhaustion",
	IsLegit:     true,
	DefaultN:    1_000,
	Unit:        "requests",
	build: func(s *Script, o Options) {
		s.handshake()
		for range o.N {
			s.add(headers(s.newStream(), true, true, s.request("GET", o.Path)))
			s.answered()
			s.nextID += 998
		}
	},
}

var legitWindowUpdates = &Scenario{
	Name:        "legit-window-updates",
	Description: "large downloads read with a small window (SETTINGS_INITIAL_WINDOW_SIZE=16384) and a WINDOW_UPDATE per 4 KiB read",
	Defence:     "none may fire",
	Legit:       "window-update-flood",
	IsLegit:     true,
	DefaultN:    4_000,
	Unit:        "WINDOW_UPDATE pairs",
	build: func(s *Script, o Options) {
		s.handshake(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 16384})
		const streams = 4
		var ids [streams]uint32
		for i := range ids {
			ids[i] = s.newStream()
			openLarge(s, ids[i])
			s.answered()
		}
		for i := range o.N {
			s.add(frame.AppendWindowUpdate(nil, ids[i%streams], 4096))
			s.add(frame.AppendWindowUpdate(nil, 0, 4096))
		}
	},
}

func init() {
	register(pingFlood, settingsFlood, resetFlood, rapidReset,
		mayrWindowUpdate0, mayrWindowOverflow, mayrHalfClosed, mayrContentLength,
		continuationFlood, oversizedBlock, hpackBomb, emptyHeaders, emptyFrames,
		dataDribble, internalBuffering, priorityChurn, windowUpdateFlood,
		unknownFrames, streamIDExhaustion, zeroWindow, idleNoPreface,
		legitPing, legitSettings, legitResetFinished, legitSmallData,
		legitPriority, legitContinuation, legitCancel, legitLargeHeaders,
		legitExtensionFrames, legitSparseIDs, legitWindowUpdates)
}
