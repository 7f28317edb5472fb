package frame

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// frameGen builds random frames with legal fields.
type frameGen struct{ r *rand.Rand }

func (g frameGen) bool() bool { return g.r.IntN(2) == 1 }

// streamID returns a non-zero stream ID, often small, sometimes maximal.
func (g frameGen) streamID() uint32 {
	switch g.r.IntN(4) {
	case 0:
		return MaxStreamID
	case 1:
		return 1 + g.r.Uint32N(100)
	}
	return 1 + g.r.Uint32N(MaxStreamID)
}

func (g frameGen) bytes() []byte {
	n := g.r.IntN(64)
	if g.r.IntN(50) == 0 {
		n = g.r.IntN(MinMaxFrameSize - 300)
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return b
}

func (g frameGen) padding(f *Frame) int {
	if !g.bool() {
		return 0
	}
	f.Padded = true
	f.PadLength = uint8(g.r.Uint32())
	return 1 + int(f.PadLength)
}

func (g frameGen) priority(self uint32) Priority {
	p := Priority{Exclusive: g.bool(), Weight: uint8(g.r.Uint32())}
	for {
		p.StreamDep = g.r.Uint32N(MaxStreamID + 1)
		if g.r.IntN(4) == 0 {
			p.StreamDep = g.r.Uint32N(8)
		}
		if p.StreamDep != self {
			return p
		}
	}
}

// frame returns a random frame of a random known type, with Header.Length and
// Flags as the wire will carry them.
func (g frameGen) frame() Frame {
	var f Frame
	f.Type = Type(g.r.IntN(int(TypeContinuation) + 1))
	switch f.Type {
	case TypeData:
		f.StreamID = g.streamID()
		if g.bool() {
			f.Flags |= FlagDataEndStream
		}
		f.Data = g.bytes()
		f.Length = uint32(len(f.Data) + g.padding(&f))
		if f.Padded {
			f.Flags |= FlagDataPadded
		}
	case TypeHeaders:
		f.StreamID = g.streamID()
		if g.bool() {
			f.Flags |= FlagHeadersEndStream
		}
		if g.bool() {
			f.Flags |= FlagHeadersEndHeaders
		}
		f.Data = g.bytes()
		f.Length = uint32(len(f.Data) + g.padding(&f))
		if f.Padded {
			f.Flags |= FlagHeadersPadded
		}
		if g.bool() {
			f.Flags |= FlagHeadersPriority
			f.HasPriority = true
			f.Priority = g.priority(f.StreamID)
			f.Length += 5
		}
	case TypePriority:
		f.StreamID = g.streamID()
		f.Length = 5
		f.HasPriority = true
		f.Priority = g.priority(f.StreamID)
	case TypeRSTStream:
		f.StreamID = g.streamID()
		f.Length = 4
		f.ErrCode = ErrCode(g.r.Uint32N(16))
		if g.bool() {
			f.ErrCode = ErrCode(g.r.Uint32())
		}
	case TypeSettings:
		if g.bool() {
			f.Flags = FlagSettingsAck
			break
		}
		n := g.r.IntN(9)
		for range n {
			id := SettingID(1 + g.r.IntN(9))
			if g.r.IntN(8) == 0 {
				id = SettingID(g.r.Uint32())
			}
			f.settings = append(f.settings, byte(id>>8), byte(id))
			f.settings = appendUint32(f.settings, g.r.Uint32())
		}
		f.Length = uint32(len(f.settings))
	case TypePushPromise:
		f.StreamID = g.streamID()
		f.PromisedID = g.r.Uint32N(MaxStreamID + 1)
		if g.bool() {
			f.Flags |= FlagPushPromiseEndHeaders
		}
		f.Data = g.bytes()
		f.Length = uint32(4 + len(f.Data) + g.padding(&f))
		if f.Padded {
			f.Flags |= FlagPushPromisePadded
		}
	case TypePing:
		if g.bool() {
			f.Flags = FlagPingAck
		}
		f.Length = 8
		for i := range f.PingData {
			f.PingData[i] = byte(g.r.Uint32())
		}
	case TypeGoAway:
		f.LastStreamID = g.r.Uint32N(MaxStreamID + 1)
		f.ErrCode = ErrCode(g.r.Uint32())
		f.Data = g.bytes()
		f.Length = uint32(8 + len(f.Data))
	case TypeWindowUpdate:
		if g.bool() {
			f.StreamID = g.streamID()
		}
		f.Length = 4
		f.Increment = 1 + g.r.Uint32N(MaxWindowSize)
	case TypeContinuation:
		f.StreamID = g.streamID()
		if g.bool() {
			f.Flags |= FlagContinuationEndHeaders
		}
		f.Data = g.bytes()
		f.Length = uint32(len(f.Data))
	}
	return f
}

// typedEncode encodes f with its type's own encoder, not AppendFrame.
func typedEncode(dst []byte, f *Frame) []byte {
	switch f.Type {
	case TypeData:
		if f.Padded {
			return AppendDataPadded(dst, f.StreamID, f.EndStream(), f.Data, f.PadLength)
		}
		return AppendData(dst, f.StreamID, f.EndStream(), f.Data)
	case TypeHeaders:
		return AppendHeaders(dst, HeadersParam{StreamID: f.StreamID, Fragment: f.Data,
			EndStream: f.EndStream(), EndHeaders: f.EndHeaders(), Padded: f.Padded, PadLength: f.PadLength,
			HasPriority: f.HasPriority, Priority: f.Priority})
	case TypePriority:
		return AppendPriority(dst, f.StreamID, f.Priority)
	case TypeRSTStream:
		return AppendRSTStream(dst, f.StreamID, f.ErrCode)
	case TypeSettings:
		if f.IsAck() {
			return AppendSettingsAck(dst)
		}
		return AppendSettings(dst, settingsOf(f))
	case TypePushPromise:
		return AppendPushPromise(dst, PushPromiseParam{StreamID: f.StreamID, PromisedID: f.PromisedID,
			Fragment: f.Data, EndHeaders: f.EndHeaders(), Padded: f.Padded, PadLength: f.PadLength})
	case TypePing:
		return AppendPing(dst, f.IsAck(), f.PingData)
	case TypeGoAway:
		return AppendGoAway(dst, f.LastStreamID, f.ErrCode, f.Data)
	case TypeWindowUpdate:
		return AppendWindowUpdate(dst, f.StreamID, f.Increment)
	case TypeContinuation:
		return AppendContinuation(dst, f.StreamID, f.EndHeaders(), f.Data)
	}
	return AppendRaw(dst, f.Type, f.Flags, f.StreamID, f.Data)
}

// TestRandomRoundTrip: random legal frames survive AppendFrame → Parse, and
// AppendFrame agrees with the typed encoders.
func TestRandomRoundTrip(t *testing.T) {
	const count = 2000
	g := frameGen{rand.New(rand.NewPCG(20240601, 9113))}
	var stream []byte
	frames := make([]Frame, 0, count)
	seen := map[Type]int{}
	for i := range count {
		want := g.frame()
		frames = append(frames, want)
		seen[want.Type]++

		enc := AppendFrame(nil, &want)
		if len(enc) != HeaderLen+int(want.Length) {
			t.Fatalf("frame %d (%v): encoded %d bytes, want %d", i, want.Type, len(enc), HeaderLen+int(want.Length))
		}
		if typed := typedEncode(nil, &want); !bytes.Equal(typed, enc) {
			t.Fatalf("frame %d (%v): typed encoder\n got %x\nwant %x", i, want.Type, typed, enc)
		}
		got, n, err := Parse(enc, MaxMaxFrameSize)
		if err != nil {
			t.Fatalf("frame %d (%v): Parse: %v\n%x", i, want.Type, err, enc)
		}
		if n != len(enc) {
			t.Fatalf("frame %d (%v): n = %d, want %d", i, want.Type, n, len(enc))
		}
		if d := diffFrame(&got, &want); d != "" {
			t.Fatalf("frame %d (%v): %s", i, want.Type, d)
		}
		// Encoding the parsed frame is stable.
		if again := AppendFrame(nil, &got); !bytes.Equal(again, enc) {
			t.Fatalf("frame %d (%v): re-encoding differs\n got %x\nwant %x", i, want.Type, again, enc)
		}
		stream = AppendFrame(stream, &want)
	}
	for ty := TypeData; ty <= TypeContinuation; ty++ {
		if seen[ty] < 50 {
			t.Errorf("only %d frames of type %v", seen[ty], ty)
		}
	}

	// The same frames back to back, parsed with the smallest limit that
	// admits them all.
	var limit uint32
	for i := range frames {
		limit = max(limit, frames[i].Length)
	}
	for i := range frames {
		got, n, err := Parse(stream, limit)
		if err != nil {
			t.Fatalf("stream frame %d: %v", i, err)
		}
		if d := diffFrame(&got, &frames[i]); d != "" {
			t.Fatalf("stream frame %d (%v): %s", i, frames[i].Type, d)
		}
		stream = stream[n:]
	}
	if len(stream) != 0 {
		t.Fatalf("%d bytes left over", len(stream))
	}
}
