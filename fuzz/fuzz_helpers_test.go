package fuzz

import (
	"bytes"
	"math"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// Shared pieces of the native fuzz targets (fuzz_*_test.go): fuzz-chosen
// configurations and delivery plans, and helpers that cut recorded traffic
// into seeds. The output checker is in fuzz_wire_test.go, the event-contract
// checker in fuzz_events_test.go, the bounded driver of one Conn opposite
// a fuzzed peer in fuzz_endpoint_test.go.

// fzConfig returns a configuration chosen by the bits of sel, each of which
// shrinks one family of limits so that fuzzing reaches the code behind it
// within small inputs. sel 0 is the default configuration.
func fzConfig(sel uint8) core.Config {
	var c core.Config
	if sel&0x01 != 0 {
		c.ManualFlowControl = true
	}
	if sel&0x02 != 0 {
		c.InitialWindowSize = 1000
		c.ConnectionWindowSize = 65535
	}
	if sel&0x04 != 0 {
		c.MaxConcurrentStreams = 2
		c.PeerMaxConcurrentStreams = 3
		c.Limits.MaxPendingStreams = 3
	}
	if sel&0x08 != 0 {
		c.Limits.StreamSendBuffer = 1000
		c.Limits.ConnSendBuffer = 3000
	}
	if sel&0x10 != 0 {
		c.Limits.MaxQueuedControlFrames = 8
		c.Limits.MaxQueuedFrames = 24
		c.Limits.OutputHighWater = 1024
		c.Limits.MaxQueuedEvents = 8
	}
	if sel&0x20 != 0 {
		c.Limits.ResetRate = core.Rate{Burst: 4, PerSecond: 1}
		c.Limits.Glitch = core.Rate{Burst: 16, PerSecond: 2}
		c.Limits.MaxForcedResets = 4
		c.Limits.MaxContinuations = 2
		c.Limits.MaxResetStreams = 4
		c.MaxHeaderListSize = 512
	}
	if sel&0x40 != 0 {
		c.HeaderTableSize = 256
		c.MaxEncoderTableSize = 64
		c.MaxFrameSize = 1 << 15
	}
	if sel&0x80 != 0 {
		c.Relax = core.Relax{HostAuthorityMismatch: true, FieldValueWhitespace: true}
		c.EnableConnectProtocol = true
		c.Timeouts.KeepAlive = 2 * time.Second
		c.Timeouts.Idle = 5 * time.Second
	}
	return c
}

// fzFilled returns cfg with its defaults filled in, as the Conn sees it.
func fzFilled(cfg core.Config) core.Config {
	d := core.DefaultConfig()
	fill := func(v *uint32, def uint32) {
		if *v == 0 {
			*v = def
		}
	}
	fill(&cfg.MaxConcurrentStreams, d.MaxConcurrentStreams)
	fill(&cfg.InitialWindowSize, d.InitialWindowSize)
	fill(&cfg.ConnectionWindowSize, d.ConnectionWindowSize)
	fill(&cfg.MaxSendFrameSize, d.MaxSendFrameSize)
	fill(&cfg.MaxHeaderListSize, d.MaxHeaderListSize)
	fillInt := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	fillInt(&cfg.Limits.StreamSendBuffer, d.Limits.StreamSendBuffer)
	fillInt(&cfg.Limits.ConnSendBuffer, d.Limits.ConnSendBuffer)
	fillInt(&cfg.Limits.MaxPendingStreams, 4*int(cfg.MaxConcurrentStreams))
	fillInt(&cfg.Limits.MaxHeaderBlockSize, 2*int(cfg.MaxHeaderListSize))
	fillInt(&cfg.Limits.MaxContinuations, d.Limits.MaxContinuations)
	return cfg
}

// fzStep is one step of a delivery plan.
type fzStep struct {
	chunk  int   // bytes to offer to Receive; 0 offers everything left
	clock  uint8 // 0: keep the time; 1: +10 ms; 2: +1.5 s; 3: to the next deadline
	action int   // ≥ 0: an application action instead of input (see fzApp.act)
}

// fzPlan reads a fuzzed delivery plan one byte per step. A byte ≥ 0xf0 is
// an application action (its low nibble); any other byte selects a chunk
// size (low nibble: sizes around frame-header and frame boundaries, and
// large ones) and a clock move (bits 4-5). Once the plan is used up, the
// rest of the input goes in one piece.
type fzPlan struct{ b []byte }

func (p *fzPlan) next() fzStep {
	if len(p.b) == 0 {
		return fzStep{action: -1}
	}
	b := p.b[0]
	p.b = p.b[1:]
	if b >= 0xf0 {
		return fzStep{action: int(b & 0x0f)}
	}
	chunks := [16]int{1, 2, 3, 7, 9, 10, 16, 17, 24, 64, 200, 1000, 4096, 16393, 65536, 0}
	return fzStep{chunk: chunks[b&0x0f], clock: (b >> 4) & 3, action: -1}
}

// fzClock moves now as a plan step's clock field says; deadline is the
// Conn's next timer, if any.
func fzClock(now time.Time, clock uint8, deadline time.Time, armed bool) time.Time {
	switch clock {
	case 1:
		return now.Add(10 * time.Millisecond)
	case 2:
		return now.Add(1500 * time.Millisecond)
	case 3:
		if armed && deadline.After(now) {
			return deadline
		}
	}
	return now
}

// fzPattern returns n content bytes for offset off of stream id: bytes
// that show where they belong, so that reordering or corruption shows.
func fzPattern(id uint32, off int64, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(int64(id)*31 + (off+int64(i))*7 + (off+int64(i))>>8)
	}
	return p
}

// fzFrames splits recorded bytes into raw frames, after the client magic
// if there is one, stopping at the first incomplete frame.
func fzFrames(b []byte) [][]byte {
	b = bytes.TrimPrefix(b, []byte(coretest.ClientPreface))
	var out [][]byte
	for {
		h, err := frame.ParseHeader(b)
		n := frame.HeaderLen + int(h.Length)
		if err != nil || len(b) < n {
			return out
		}
		out = append(out, b[:n])
		b = b[n:]
	}
}

// fzCap cuts recorded frames to at most limit bytes, at a frame boundary.
func fzCap(frames [][]byte, limit int) [][]byte {
	total := 0
	for i, f := range frames {
		if total += len(f); total > limit {
			return frames[:i]
		}
	}
	return frames
}

// fzFields turns name/value pairs into header fields.
func fzFields(kv ...string) []core.HeaderField {
	out := make([]core.HeaderField, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, core.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

// fzLeadingUpdates parses the dynamic table size updates at the start of a
// field block (RFC 7541 §6.3): their values, the bytes they take, and
// whether p ends inside one. An integer longer than x/net's decoder accepts
// (RFC 7541 §5.1 leaves the limit to implementations) is reported as a
// size no table allows.
func fzLeadingUpdates(p []byte) (sizes []uint64, n int, cut bool) {
	for n < len(p) && p[n]&0xe0 == 0x20 {
		v, k := fzVarint(p[n:], 5)
		if k == 0 {
			return sizes, n, true
		}
		sizes = append(sizes, v)
		n += k
	}
	return sizes, n, false
}

// fzVarint decodes an HPACK integer with an n-bit prefix (RFC 7541 §5.1).
// It returns k == 0 if p ends first, and math.MaxUint64 past 9
// continuation octets.
func fzVarint(p []byte, n uint) (v uint64, k int) {
	limit := uint64(1)<<n - 1
	if v = uint64(p[0]) & limit; v < limit {
		return v, 1
	}
	for i, m := 1, uint(0); i < len(p); i++ {
		v += uint64(p[i]&0x7f) << m
		if p[i]&0x80 == 0 {
			return v, i + 1
		}
		if m += 7; m >= 63 {
			return math.MaxUint64, i + 1
		}
	}
	return 0, 0
}
