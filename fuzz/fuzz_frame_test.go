package fuzz

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/h2proto/h2/core/frame"
)

// Option bits of FuzzFrameRoundTrip.
const (
	fzOptFlagA     uint8 = 0x01 // END_STREAM (DATA, HEADERS) or ACK (SETTINGS, PING)
	fzOptEndHdrs   uint8 = 0x02 // END_HEADERS (HEADERS, PUSH_PROMISE, CONTINUATION)
	fzOptPadded    uint8 = 0x04 // PADDED with pad octets (DATA, HEADERS, PUSH_PROMISE)
	fzOptPriority  uint8 = 0x08 // PRIORITY fields (HEADERS)
	fzOptExclusive uint8 = 0x10 // the exclusive bit of a priority
	fzOptReserved  uint8 = 0x20 // set the reserved bit of the stream ID on the wire
	fzOptJunkFlags uint8 = 0x40 // set undefined flag bits on the wire
	fzOptExactMax  uint8 = 0x80 // parse with maxFrameSize equal to the length
)

// fzFrameCase is a frame built by an encoder and what Parse must return for
// it.
type fzFrameCase struct {
	wire     []byte
	want     frame.Frame // Parse's result; slices compared by content
	settings []frame.Setting
	err      error // Parse's error, or nil
}

// FuzzFrameRoundTrip builds a frame of every type from fuzzed fields with
// the frame.Append* encoders, parses it back with frame.Parse and requires
// the same fields, or exactly the error the RFC prescribes for illegal
// fields (stream 0, self-dependency, zero increment). It also checks that
// the reserved stream-ID bit and undefined flags are ignored (RFC 9113
// §4.1), that maxFrameSize is enforced at the exact boundary, that every
// truncation reports ErrNeedMore, that Parse stops at the frame's end, and
// that AppendFrame re-encodes an accepted frame to the same bytes (the
// encoders' output is canonical: zero padding, defined flags only).
func FuzzFrameRoundTrip(f *testing.F) {
	for typ := 0; typ < 12; typ++ {
		for _, opts := range []uint8{0, 0x07, 0x1f, 0x6e, 0xff} {
			f.Add(uint8(typ), opts, uint32(typ*2+1), uint32(7), uint32(0x10203), uint8(3), []byte("payload-data"))
		}
		f.Add(uint8(typ), uint8(0), uint32(0), uint32(0), uint32(0), uint8(0), []byte{})
	}
	f.Add(uint8(frame.TypePriority), uint8(fzOptExclusive), uint32(5), uint32(5), uint32(255), uint8(0), []byte(nil))
	f.Add(uint8(frame.TypeHeaders), uint8(fzOptPriority|fzOptPadded), uint32(9), uint32(9), uint32(1), uint8(255), []byte{0x82})
	for _, side := range []string{"server", "client"} {
		for _, rec := range traffic(f, side) {
			for _, raw := range fzFrames(rec)[:min(8, len(fzFrames(rec)))] {
				if fr, _, err := frame.Parse(raw, frame.MaxMaxFrameSize); err == nil {
					a := fzFrameArgs(&fr)
					f.Add(a.typ, a.opts, a.id, a.a, a.b, a.pad, a.payload)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, typ, opts uint8, id, a, b uint32, pad uint8, payload []byte) {
		payload = payload[:min(len(payload), 1<<16)]
		tc := fzBuildFrame(frame.Type(typ), opts, id, a, b, pad, payload)
		canonical := bytes.Clone(tc.wire)
		fzMutateWire(&tc, opts, b)
		if err := fzCheckParse(&tc, opts, a); err != nil {
			t.Fatalf("%v\nwire % x", err, tc.wire[:min(len(tc.wire), 64)])
		}
		if tc.err != nil {
			return
		}
		fr, _, _ := frame.Parse(tc.wire, frame.MaxMaxFrameSize)
		got := frame.AppendFrame(nil, &fr)
		if !bytes.Equal(got, canonical) {
			t.Fatalf("re-encoded\n% x\nwant\n% x", got, canonical)
		}
	})
}

// fzBuildFrame encodes a frame of type t from the fuzzed fields.
func fzBuildFrame(t frame.Type, opts uint8, id, a, b uint32, pad uint8, payload []byte) fzFrameCase {
	id &= frame.MaxStreamID
	flagA, endHdrs, padded := opts&fzOptFlagA != 0, opts&fzOptEndHdrs != 0, opts&fzOptPadded != 0
	prio := frame.Priority{StreamDep: a & frame.MaxStreamID, Exclusive: opts&fzOptExclusive != 0, Weight: uint8(b)}
	var tc fzFrameCase
	w := &tc.want
	w.Type, w.StreamID = t, id
	switch t {
	case frame.TypeData:
		if padded {
			tc.wire = frame.AppendDataPadded(nil, id, flagA, payload, pad)
		} else {
			tc.wire = frame.AppendData(nil, id, flagA, payload)
		}
		w.Flags = fzFlag(flagA, frame.FlagDataEndStream) | fzFlag(padded, frame.FlagDataPadded)
		w.Data, w.Padded, w.PadLength = payload, padded, pad*fzB2u8(padded)
		tc.err = fzErrIf(id == 0, frame.ErrDataStream0)
	case frame.TypeHeaders:
		hasPrio := opts&fzOptPriority != 0
		tc.wire = frame.AppendHeaders(nil, frame.HeadersParam{StreamID: id, Fragment: payload, EndStream: flagA,
			EndHeaders: endHdrs, Padded: padded, PadLength: pad, HasPriority: hasPrio, Priority: prio})
		w.Flags = fzFlag(flagA, frame.FlagHeadersEndStream) | fzFlag(endHdrs, frame.FlagHeadersEndHeaders) |
			fzFlag(padded, frame.FlagHeadersPadded) | fzFlag(hasPrio, frame.FlagHeadersPriority)
		w.Data, w.Padded, w.PadLength = payload, padded, pad*fzB2u8(padded)
		if hasPrio {
			w.HasPriority, w.Priority = true, prio
		}
		tc.err = fzErrIf(id == 0, frame.ErrHeadersStream0)
		if tc.err == nil && hasPrio && prio.StreamDep == id {
			tc.err = frame.ErrHeadersSelfDep
		}
	case frame.TypePriority:
		tc.wire = frame.AppendPriority(nil, id, prio)
		w.HasPriority, w.Priority = true, prio
		tc.err = fzErrIf(id == 0, frame.ErrPriorityStream0)
		if id != 0 && prio.StreamDep == id {
			tc.err = frame.ErrPrioritySelfDep
		}
	case frame.TypeRSTStream:
		tc.wire = frame.AppendRSTStream(nil, id, frame.ErrCode(a))
		w.ErrCode = frame.ErrCode(a)
		tc.err = fzErrIf(id == 0, frame.ErrRSTStream0)
	case frame.TypeSettings:
		w.StreamID = 0
		if flagA {
			tc.wire, w.Flags = frame.AppendSettingsAck(nil), frame.FlagSettingsAck
			break
		}
		for p := payload; len(p) >= 6; p = p[6:] {
			tc.settings = append(tc.settings, frame.Setting{ID: frame.SettingID(p[0])<<8 | frame.SettingID(p[1]),
				Val: uint32(p[2])<<24 | uint32(p[3])<<16 | uint32(p[4])<<8 | uint32(p[5])})
		}
		tc.wire = frame.AppendSettings(nil, tc.settings)
	case frame.TypePushPromise:
		tc.wire = frame.AppendPushPromise(nil, frame.PushPromiseParam{StreamID: id, PromisedID: a, Fragment: payload,
			EndHeaders: endHdrs, Padded: padded, PadLength: pad})
		w.Flags = fzFlag(endHdrs, frame.FlagPushPromiseEndHeaders) | fzFlag(padded, frame.FlagPushPromisePadded)
		w.PromisedID, w.Data, w.Padded, w.PadLength = a&frame.MaxStreamID, payload, padded, pad*fzB2u8(padded)
		tc.err = fzErrIf(id == 0, frame.ErrPushStream0)
	case frame.TypePing:
		data := [8]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a), byte(b >> 24), byte(b >> 16), byte(b >> 8), byte(b)}
		tc.wire = frame.AppendPing(nil, flagA, data)
		w.StreamID, w.Flags, w.PingData = 0, fzFlag(flagA, frame.FlagPingAck), data
	case frame.TypeGoAway:
		tc.wire = frame.AppendGoAway(nil, a, frame.ErrCode(b), payload)
		w.StreamID, w.LastStreamID, w.ErrCode, w.Data = 0, a&frame.MaxStreamID, frame.ErrCode(b), payload
	case frame.TypeWindowUpdate:
		tc.wire = frame.AppendWindowUpdate(nil, id, a)
		w.Increment = a & frame.MaxWindowSize
		switch {
		case w.Increment == 0 && id == 0:
			tc.err = frame.ErrWindowZeroConn
		case w.Increment == 0:
			tc.err = frame.ErrWindowZero
		}
	case frame.TypeContinuation:
		tc.wire = frame.AppendContinuation(nil, id, endHdrs, payload)
		w.Flags, w.Data = fzFlag(endHdrs, frame.FlagContinuationEndHeaders), payload
		tc.err = fzErrIf(id == 0, frame.ErrContStream0)
	default:
		tc.wire = frame.AppendRaw(nil, t, frame.Flags(opts), id, payload)
		w.Flags, w.Data = frame.Flags(opts), payload
	}
	w.Length = uint32(len(tc.wire) - frame.HeaderLen)
	if e, ok := tc.err.(*frame.Error); ok && !e.Stream {
		tc.want = frame.Frame{Header: w.Header} // connection errors keep only the header
	}
	return tc
}

// fzMutateWire sets, if opts asks, the reserved stream-ID bit and flag bits
// the frame type does not define, which a receiver must ignore (RFC 9113
// §4.1). The expected Header.Flags follows: flags are reported raw.
func fzMutateWire(tc *fzFrameCase, opts uint8, b uint32) {
	if opts&fzOptReserved != 0 {
		tc.wire[5] |= 0x80
	}
	if opts&fzOptJunkFlags != 0 && tc.want.Type.Known() {
		junk := frame.Flags(b>>8) &^ fzDefinedFlags(tc.want.Type)
		tc.wire[4] |= byte(junk)
		tc.want.Flags |= junk
	}
}

// fzCheckParse compares Parse's result with the expected frame, checks the
// maxFrameSize boundary, truncations, and that a following frame is not
// read.
func fzCheckParse(tc *fzFrameCase, opts uint8, a uint32) error {
	if n := len(tc.wire) - frame.HeaderLen; n != int(tc.want.Length) || n >= 1<<24 {
		return fmt.Errorf("encoded payload %d bytes, header says %d", n, tc.want.Length)
	}
	maxSize := uint32(frame.MaxMaxFrameSize)
	if opts&fzOptExactMax != 0 {
		maxSize = tc.want.Length
	}
	if maxSize > 0 && maxSize == tc.want.Length {
		if _, n, err := frame.Parse(tc.wire, maxSize-1); err != frame.ErrFrameTooLarge || n != 0 {
			return fmt.Errorf("length %d with maxFrameSize %d: n=%d err=%v", maxSize, maxSize-1, n, err)
		}
	}
	twice := append(bytes.Clone(tc.wire), tc.wire...)
	fr, n, err := frame.Parse(twice, maxSize)
	if err != tc.err || n != len(tc.wire) {
		return fmt.Errorf("Parse: n=%d err=%v, want n=%d err=%v", n, err, len(tc.wire), tc.err)
	}
	_ = fr.String()
	if d := fzDiffFrame(&fr, &tc.want, tc.settings); d != "" {
		return fmt.Errorf("parsed %v: %s", fr.String(), d)
	}
	for _, k := range []int{0, frame.HeaderLen - 1, frame.HeaderLen, len(tc.wire) - 1, int(a % uint32(len(tc.wire)))} {
		if k < 0 || k >= len(tc.wire) {
			continue
		}
		if _, n, err := frame.Parse(tc.wire[:k], maxSize); err != frame.ErrNeedMore || n != 0 {
			return fmt.Errorf("truncated to %d bytes: n=%d err=%v", k, n, err)
		}
	}
	return nil
}

// fzDiffFrame describes how got differs from want, or returns "".
func fzDiffFrame(got, want *frame.Frame, settings []frame.Setting) string {
	g, w := *got, *want
	if !bytes.Equal(g.Data, w.Data) {
		return fmt.Sprintf("Data %q, want %q", g.Data, w.Data)
	}
	g.Data, w.Data = nil, nil
	if g.Type == frame.TypeSettings && !g.IsAck() {
		if g.NumSettings() != len(settings) {
			return fmt.Sprintf("%d settings, want %d", g.NumSettings(), len(settings))
		}
		for i, s := range settings {
			if g.Setting(i) != s {
				return fmt.Sprintf("setting %d is %+v, want %+v", i, g.Setting(i), s)
			}
		}
		g = frame.Frame{Header: g.Header} // the settings list is unexported
	}
	if fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", w) {
		return fmt.Sprintf("fields\n%+v\nwant\n%+v", g, w)
	}
	return ""
}

// fzFrameSeed holds the arguments of FuzzFrameRoundTrip.
type fzFrameSeed struct {
	typ, opts uint8
	id, a, b  uint32
	pad       uint8
	payload   []byte
}

// fzFrameArgs turns a parsed frame back into FuzzFrameRoundTrip arguments.
func fzFrameArgs(fr *frame.Frame) fzFrameSeed {
	opts := fzFlag(fr.Flags.Has(frame.FlagDataEndStream), fzOptFlagA) |
		fzFlag(fr.Flags.Has(frame.FlagHeadersEndHeaders), fzOptEndHdrs) | fzFlag(fr.Padded, fzOptPadded) |
		fzFlag(fr.HasPriority && fr.Type == frame.TypeHeaders, fzOptPriority) | fzFlag(fr.Priority.Exclusive, fzOptExclusive)
	a, b, payload := fr.Priority.StreamDep, uint32(fr.Priority.Weight), fr.Data
	switch fr.Type {
	case frame.TypeRSTStream:
		a = uint32(fr.ErrCode)
	case frame.TypeSettings:
		payload = nil
		for i := 0; i < fr.NumSettings(); i++ {
			s := fr.Setting(i)
			payload = append(payload, byte(s.ID>>8), byte(s.ID), byte(s.Val>>24), byte(s.Val>>16), byte(s.Val>>8), byte(s.Val))
		}
	case frame.TypePushPromise:
		a = fr.PromisedID
	case frame.TypePing:
		p := fr.PingData
		a, b = uint32(p[0])<<24|uint32(p[1])<<16|uint32(p[2])<<8|uint32(p[3]), uint32(p[4])<<24|uint32(p[5])<<16|uint32(p[6])<<8|uint32(p[7])
	case frame.TypeGoAway:
		a, b = fr.LastStreamID, uint32(fr.ErrCode)
	case frame.TypeWindowUpdate:
		a = fr.Increment
	}
	if !fr.Type.Known() {
		opts = uint8(fr.Flags)
	}
	return fzFrameSeed{uint8(fr.Type), opts, fr.StreamID, a, b, fr.PadLength, bytes.Clone(payload)}
}

// fzDefinedFlags are the flag bits RFC 9113 §6 defines for a frame type.
func fzDefinedFlags(t frame.Type) frame.Flags {
	switch t {
	case frame.TypeData:
		return frame.FlagDataEndStream | frame.FlagDataPadded
	case frame.TypeHeaders:
		return frame.FlagHeadersEndStream | frame.FlagHeadersEndHeaders | frame.FlagHeadersPadded | frame.FlagHeadersPriority
	case frame.TypeSettings, frame.TypePing:
		return frame.FlagSettingsAck
	case frame.TypePushPromise:
		return frame.FlagPushPromiseEndHeaders | frame.FlagPushPromisePadded
	case frame.TypeContinuation:
		return frame.FlagContinuationEndHeaders
	}
	return 0
}

func fzFlag[T ~uint8](on bool, f T) T {
	if on {
		return f
	}
	return 0
}

func fzB2u8(b bool) uint8 { return fzFlag(b, uint8(1)) }

func fzErrIf(cond bool, err *frame.Error) error {
	if cond {
		return err
	}
	return nil
}
