package frame

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// A golden frame: wire bytes written by hand from the layouts of RFC 9113
// §4.1 (frame header) and §6 (payloads), never produced by the encoder.
//
// Frame header (§4.1): Length(24) | Type(8) | Flags(8) | R(1) Stream ID(31).
type golden struct {
	name     string
	wire     []byte
	encode   func(dst []byte) []byte // the typed encoder that must produce wire
	want     Frame                   // the parsed frame (settings excluded)
	settings []Setting               // SETTINGS parameters, in wire order
	desc     []string                // substrings of want.String()
}

var goldens = []golden{
	// DATA (§6.1): [Pad Length(8)] | Data(*) | Padding(*).
	{
		name:   "DATA",
		wire:   hx("000005 00 00 00000001 | 68656c6c6f"),
		encode: func(dst []byte) []byte { return AppendData(dst, 1, false, []byte("hello")) },
		want:   Frame{Header: Header{Length: 5, Type: TypeData, StreamID: 1}, Data: []byte("hello")},
		desc:   []string{"DATA stream=1 len=5"},
	},
	{
		name:   "DATA END_STREAM",
		wire:   hx("000002 00 01 00000003 | 6869"),
		encode: func(dst []byte) []byte { return AppendData(dst, 3, true, []byte("hi")) },
		want:   Frame{Header: Header{Length: 2, Type: TypeData, Flags: FlagDataEndStream, StreamID: 3}, Data: []byte("hi")},
		desc:   []string{"DATA stream=3 len=2 flags=END_STREAM"},
	},
	{
		name:   "DATA PADDED",
		wire:   hx("000007 00 08 00000005 | 03 | 616263 | 000000"),
		encode: func(dst []byte) []byte { return AppendDataPadded(dst, 5, false, []byte("abc"), 3) },
		want: Frame{Header: Header{Length: 7, Type: TypeData, Flags: FlagDataPadded, StreamID: 5},
			Data: []byte("abc"), Padded: true, PadLength: 3},
		desc: []string{"DATA stream=5 len=7 flags=PADDED pad=3"},
	},
	{
		name:   "DATA PADDED|END_STREAM empty",
		wire:   hx("000001 00 09 7fffffff | 00"),
		encode: func(dst []byte) []byte { return AppendDataPadded(dst, MaxStreamID, true, nil, 0) },
		want: Frame{Header: Header{Length: 1, Type: TypeData, Flags: FlagDataEndStream | FlagDataPadded, StreamID: MaxStreamID},
			Padded: true},
		desc: []string{"stream=2147483647", "flags=END_STREAM|PADDED pad=0"},
	},

	// HEADERS (§6.2): [Pad Length(8)] | [E(1) Stream Dependency(31)] |
	// [Weight(8)] | Field Block Fragment(*) | Padding(*).
	{
		name: "HEADERS",
		wire: hx("000003 01 00 00000001 | 828684"),
		encode: func(dst []byte) []byte {
			return AppendHeaders(dst, HeadersParam{StreamID: 1, Fragment: []byte{0x82, 0x86, 0x84}})
		},
		want: Frame{Header: Header{Length: 3, Type: TypeHeaders, StreamID: 1}, Data: []byte{0x82, 0x86, 0x84}},
		desc: []string{"HEADERS stream=1 len=3"},
	},
	{
		name: "HEADERS END_STREAM|END_HEADERS",
		wire: hx("000004 01 05 00000003 | 828784be"),
		encode: func(dst []byte) []byte {
			return AppendHeaders(dst, HeadersParam{StreamID: 3, Fragment: []byte{0x82, 0x87, 0x84, 0xbe}, EndStream: true, EndHeaders: true})
		},
		want: Frame{Header: Header{Length: 4, Type: TypeHeaders, Flags: FlagHeadersEndStream | FlagHeadersEndHeaders, StreamID: 3},
			Data: []byte{0x82, 0x87, 0x84, 0xbe}},
		desc: []string{"HEADERS stream=3 len=4 flags=END_STREAM|END_HEADERS"},
	},
	{
		name: "HEADERS PADDED",
		wire: hx("000005 01 0c 00000005 | 02 | 8286 | 0000"),
		encode: func(dst []byte) []byte {
			return AppendHeaders(dst, HeadersParam{StreamID: 5, Fragment: []byte{0x82, 0x86}, EndHeaders: true, Padded: true, PadLength: 2})
		},
		want: Frame{Header: Header{Length: 5, Type: TypeHeaders, Flags: FlagHeadersEndHeaders | FlagHeadersPadded, StreamID: 5},
			Data: []byte{0x82, 0x86}, Padded: true, PadLength: 2},
		desc: []string{"HEADERS stream=5 len=5 flags=END_HEADERS|PADDED"},
	},
	{
		name: "HEADERS PRIORITY exclusive",
		wire: hx("000006 01 24 00000007 | 80000003 | 0f | 82"),
		encode: func(dst []byte) []byte {
			return AppendHeaders(dst, HeadersParam{StreamID: 7, Fragment: []byte{0x82}, EndHeaders: true,
				HasPriority: true, Priority: Priority{StreamDep: 3, Exclusive: true, Weight: 15}})
		},
		want: Frame{Header: Header{Length: 6, Type: TypeHeaders, Flags: FlagHeadersEndHeaders | FlagHeadersPriority, StreamID: 7},
			Data: []byte{0x82}, HasPriority: true, Priority: Priority{StreamDep: 3, Exclusive: true, Weight: 15}},
		desc: []string{"HEADERS stream=7", "flags=END_HEADERS|PRIORITY", "dep=3 weight=16 exclusive"},
	},
	{
		name: "HEADERS PADDED|PRIORITY",
		wire: hx("00000c 01 2d 00000009 | 04 | 00000001 | ff | 8284 | 00000000"),
		encode: func(dst []byte) []byte {
			return AppendHeaders(dst, HeadersParam{StreamID: 9, Fragment: []byte{0x82, 0x84}, EndStream: true, EndHeaders: true,
				Padded: true, PadLength: 4, HasPriority: true, Priority: Priority{StreamDep: 1, Weight: 255}})
		},
		want: Frame{Header: Header{Length: 12, Type: TypeHeaders,
			Flags: FlagHeadersEndStream | FlagHeadersEndHeaders | FlagHeadersPadded | FlagHeadersPriority, StreamID: 9},
			Data: []byte{0x82, 0x84}, Padded: true, PadLength: 4,
			HasPriority: true, Priority: Priority{StreamDep: 1, Weight: 255}},
		desc: []string{"HEADERS stream=9 len=12 flags=END_STREAM|END_HEADERS|PADDED|PRIORITY dep=1 weight=256"},
	},

	// PRIORITY (§6.3): E(1) Stream Dependency(31) | Weight(8).
	{
		name:   "PRIORITY",
		wire:   hx("000005 02 00 0000000b | 00000005 | c8"),
		encode: func(dst []byte) []byte { return AppendPriority(dst, 11, Priority{StreamDep: 5, Weight: 200}) },
		want: Frame{Header: Header{Length: 5, Type: TypePriority, StreamID: 11},
			HasPriority: true, Priority: Priority{StreamDep: 5, Weight: 200}},
		desc: []string{"PRIORITY stream=11 len=5 dep=5 weight=201"},
	},
	{
		name:   "PRIORITY exclusive dep 0",
		wire:   hx("000005 02 00 0000000d | 80000000 | 00"),
		encode: func(dst []byte) []byte { return AppendPriority(dst, 13, Priority{Exclusive: true}) },
		want: Frame{Header: Header{Length: 5, Type: TypePriority, StreamID: 13},
			HasPriority: true, Priority: Priority{Exclusive: true}},
		desc: []string{"dep=0 weight=1 exclusive"},
	},

	// RST_STREAM (§6.4): Error Code(32).
	{
		name:   "RST_STREAM",
		wire:   hx("000004 03 00 00000001 | 00000008"),
		encode: func(dst []byte) []byte { return AppendRSTStream(dst, 1, ErrCodeCancel) },
		want:   Frame{Header: Header{Length: 4, Type: TypeRSTStream, StreamID: 1}, ErrCode: ErrCodeCancel},
		desc:   []string{"RST_STREAM stream=1 len=4 code=CANCEL"},
	},
	{
		name:   "RST_STREAM unknown code",
		wire:   hx("000004 03 00 7fffffff | 0000002a"),
		encode: func(dst []byte) []byte { return AppendRSTStream(dst, MaxStreamID, 0x2a) },
		want:   Frame{Header: Header{Length: 4, Type: TypeRSTStream, StreamID: MaxStreamID}, ErrCode: 0x2a},
		desc:   []string{"code=UNKNOWN_ERROR_CODE_0x2a"},
	},

	// SETTINGS (§6.5): (Identifier(16) | Value(32))*.
	{
		name: "SETTINGS",
		wire: hx(`000024 04 00 00000000
			0001 00001000
			0002 00000000
			0003 00000064
			0004 0000ffff
			0005 00004000
			abcd deadbeef`),
		encode: func(dst []byte) []byte {
			return AppendSettings(dst, []Setting{
				{SettingHeaderTableSize, 4096}, {SettingEnablePush, 0}, {SettingMaxConcurrentStreams, 100},
				{SettingInitialWindowSize, 65535}, {SettingMaxFrameSize, 16384}, {0xabcd, 0xdeadbeef},
			})
		},
		want: Frame{Header: Header{Length: 36, Type: TypeSettings}},
		settings: []Setting{
			{SettingHeaderTableSize, 4096}, {SettingEnablePush, 0}, {SettingMaxConcurrentStreams, 100},
			{SettingInitialWindowSize, 65535}, {SettingMaxFrameSize, 16384}, {0xabcd, 0xdeadbeef},
		},
		desc: []string{"SETTINGS stream=0 len=36 HEADER_TABLE_SIZE=4096 ENABLE_PUSH=0 MAX_CONCURRENT_STREAMS=100 " +
			"INITIAL_WINDOW_SIZE=65535 MAX_FRAME_SIZE=16384 UNKNOWN_SETTING_43981=3735928559"},
	},
	{
		name: "SETTINGS extensions",
		wire: hx("00000c 04 00 00000000 | 0008 00000001 | 0009 00000001"),
		encode: func(dst []byte) []byte {
			return AppendSettings(dst, []Setting{{SettingEnableConnectProtocol, 1}, {SettingNoRFC7540Priorities, 1}})
		},
		want:     Frame{Header: Header{Length: 12, Type: TypeSettings}},
		settings: []Setting{{SettingEnableConnectProtocol, 1}, {SettingNoRFC7540Priorities, 1}},
		desc:     []string{"ENABLE_CONNECT_PROTOCOL=1 NO_RFC7540_PRIORITIES=1"},
	},
	{
		name:   "SETTINGS empty",
		wire:   hx("000000 04 00 00000000"),
		encode: func(dst []byte) []byte { return AppendSettings(dst, nil) },
		want:   Frame{Header: Header{Type: TypeSettings}},
		desc:   []string{"SETTINGS stream=0 len=0"},
	},
	{
		name:   "SETTINGS ACK",
		wire:   hx("000000 04 01 00000000"),
		encode: AppendSettingsAck,
		want:   Frame{Header: Header{Type: TypeSettings, Flags: FlagSettingsAck}},
		desc:   []string{"SETTINGS stream=0 len=0 flags=ACK"},
	},

	// PUSH_PROMISE (§6.6): [Pad Length(8)] | R(1) Promised Stream ID(31) |
	// Field Block Fragment(*) | Padding(*).
	{
		name: "PUSH_PROMISE",
		wire: hx("000006 05 00 00000001 | 00000002 | 8287"),
		encode: func(dst []byte) []byte {
			return AppendPushPromise(dst, PushPromiseParam{StreamID: 1, PromisedID: 2, Fragment: []byte{0x82, 0x87}})
		},
		want: Frame{Header: Header{Length: 6, Type: TypePushPromise, StreamID: 1}, PromisedID: 2, Data: []byte{0x82, 0x87}},
		desc: []string{"PUSH_PROMISE stream=1 len=6 promised=2"},
	},
	{
		name: "PUSH_PROMISE PADDED|END_HEADERS",
		wire: hx("000009 05 0c 00000003 | 03 | 00000004 | 82 | 000000"),
		encode: func(dst []byte) []byte {
			return AppendPushPromise(dst, PushPromiseParam{StreamID: 3, PromisedID: 4, Fragment: []byte{0x82},
				EndHeaders: true, Padded: true, PadLength: 3})
		},
		want: Frame{Header: Header{Length: 9, Type: TypePushPromise, Flags: FlagPushPromiseEndHeaders | FlagPushPromisePadded, StreamID: 3},
			PromisedID: 4, Data: []byte{0x82}, Padded: true, PadLength: 3},
		desc: []string{"PUSH_PROMISE stream=3 len=9 flags=END_HEADERS|PADDED promised=4"},
	},

	// PING (§6.7): Opaque Data(64).
	{
		name:   "PING",
		wire:   hx("000008 06 00 00000000 | 0102030405060708"),
		encode: func(dst []byte) []byte { return AppendPing(dst, false, [8]byte{1, 2, 3, 4, 5, 6, 7, 8}) },
		want:   Frame{Header: Header{Length: 8, Type: TypePing}, PingData: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}},
		desc:   []string{"PING stream=0 len=8 data=0x0102030405060708"},
	},
	{
		name: "PING ACK",
		wire: hx("000008 06 01 00000000 | deadbeefcafef00d"),
		encode: func(dst []byte) []byte {
			return AppendPing(dst, true, [8]byte{0xde, 0xad, 0xbe, 0xef, 0xca, 0xfe, 0xf0, 0x0d})
		},
		want: Frame{Header: Header{Length: 8, Type: TypePing, Flags: FlagPingAck},
			PingData: [8]byte{0xde, 0xad, 0xbe, 0xef, 0xca, 0xfe, 0xf0, 0x0d}},
		desc: []string{"PING stream=0 len=8 flags=ACK data=0xdeadbeefcafef00d"},
	},

	// GOAWAY (§6.8): R(1) Last-Stream-ID(31) | Error Code(32) |
	// Additional Debug Data(*).
	{
		name:   "GOAWAY",
		wire:   hx("000008 07 00 00000000 | 00000007 | 00000001"),
		encode: func(dst []byte) []byte { return AppendGoAway(dst, 7, ErrCodeProtocol, nil) },
		want:   Frame{Header: Header{Length: 8, Type: TypeGoAway}, LastStreamID: 7, ErrCode: ErrCodeProtocol},
		desc:   []string{"GOAWAY stream=0 len=8 last_stream=7 code=PROTOCOL_ERROR"},
	},
	{
		name:   "GOAWAY debug data",
		wire:   hx("00000b 07 00 00000000 | 7fffffff | 00000000 | 627965"),
		encode: func(dst []byte) []byte { return AppendGoAway(dst, MaxStreamID, ErrCodeNo, []byte("bye")) },
		want: Frame{Header: Header{Length: 11, Type: TypeGoAway}, LastStreamID: MaxStreamID, ErrCode: ErrCodeNo,
			Data: []byte("bye")},
		desc: []string{`GOAWAY stream=0 len=11 last_stream=2147483647 code=NO_ERROR debug="bye"`},
	},

	// WINDOW_UPDATE (§6.9): R(1) Window Size Increment(31).
	{
		name:   "WINDOW_UPDATE stream 0",
		wire:   hx("000004 08 00 00000000 | 000f4240"),
		encode: func(dst []byte) []byte { return AppendWindowUpdate(dst, 0, 1000000) },
		want:   Frame{Header: Header{Length: 4, Type: TypeWindowUpdate}, Increment: 1000000},
		desc:   []string{"WINDOW_UPDATE stream=0 len=4 increment=1000000"},
	},
	{
		name:   "WINDOW_UPDATE stream 5",
		wire:   hx("000004 08 00 00000005 | 7fffffff"),
		encode: func(dst []byte) []byte { return AppendWindowUpdate(dst, 5, MaxWindowSize) },
		want:   Frame{Header: Header{Length: 4, Type: TypeWindowUpdate, StreamID: 5}, Increment: MaxWindowSize},
		desc:   []string{"WINDOW_UPDATE stream=5 len=4 increment=2147483647"},
	},

	// CONTINUATION (§6.10): Field Block Fragment(*).
	{
		name:   "CONTINUATION",
		wire:   hx("000002 09 04 00000001 | 84be"),
		encode: func(dst []byte) []byte { return AppendContinuation(dst, 1, true, []byte{0x84, 0xbe}) },
		want: Frame{Header: Header{Length: 2, Type: TypeContinuation, Flags: FlagContinuationEndHeaders, StreamID: 1},
			Data: []byte{0x84, 0xbe}},
		desc: []string{"CONTINUATION stream=1 len=2 flags=END_HEADERS"},
	},
	{
		name:   "CONTINUATION no END_HEADERS",
		wire:   hx("000001 09 00 00000003 | 82"),
		encode: func(dst []byte) []byte { return AppendContinuation(dst, 3, false, []byte{0x82}) },
		want:   Frame{Header: Header{Length: 1, Type: TypeContinuation, StreamID: 3}, Data: []byte{0x82}},
		desc:   []string{"CONTINUATION stream=3 len=1"},
	},

	// Unknown type (§4.1, §5.5): carried verbatim.
	{
		name:   "unknown type 0xfa",
		wire:   hx("000004 fa a5 00000102 | deadbeef"),
		encode: func(dst []byte) []byte { return AppendRaw(dst, 0xfa, 0xa5, 0x102, []byte{0xde, 0xad, 0xbe, 0xef}) },
		want: Frame{Header: Header{Length: 4, Type: 0xfa, Flags: 0xa5, StreamID: 0x102},
			Data: []byte{0xde, 0xad, 0xbe, 0xef}},
		desc: []string{"UNKNOWN_FRAME_TYPE_250 stream=258 len=4 flags=0xa5"},
	},
	{
		name:   "unknown type 0x0a empty",
		wire:   hx("000000 0a 00 00000000"),
		encode: func(dst []byte) []byte { return AppendRaw(dst, 0x0a, 0, 0, nil) },
		want:   Frame{Header: Header{Type: 0x0a}},
		desc:   []string{"UNKNOWN_FRAME_TYPE_10 stream=0 len=0"},
	},
}

func (g *golden) wantFrame(t *testing.T, got *Frame) {
	t.Helper()
	// want carries no SETTINGS parameters: compare the other fields on a
	// copy without them, then the parameters through the accessors.
	cp := *got
	cp.settings = nil
	if d := diffFrame(&cp, &g.want); d != "" {
		t.Errorf("parsed frame differs: %s", d)
	}
	gs := settingsOf(got)
	if len(gs) != len(g.settings) {
		t.Fatalf("NumSettings = %d, want %d (%v)", len(gs), len(g.settings), gs)
	}
	for i := range gs {
		if gs[i] != g.settings[i] {
			t.Errorf("Setting(%d) = %+v, want %+v", i, gs[i], g.settings[i])
		}
	}
}

// TestGoldenCoversEveryType makes sure the vectors include every frame type
// of RFC 9113 and at least one unknown type.
func TestGoldenCoversEveryType(t *testing.T) {
	seen := map[Type]bool{}
	unknown := false
	for _, g := range goldens {
		ty := Type(g.wire[3])
		seen[ty] = true
		if !ty.Known() {
			unknown = true
		}
	}
	for ty := TypeData; ty <= TypeContinuation; ty++ {
		if !seen[ty] {
			t.Errorf("no golden vector for %v", ty)
		}
	}
	if !unknown {
		t.Error("no golden vector for an unknown type")
	}
}

func TestGoldenEncode(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			if got := g.encode(nil); !bytes.Equal(got, g.wire) {
				t.Errorf("encoder output\n got %x\nwant %x", got, g.wire)
			}
			// Appending to a non-empty slice keeps the prefix.
			prefix := []byte("prefix")
			got := g.encode(append([]byte(nil), prefix...))
			if !bytes.HasPrefix(got, prefix) || !bytes.Equal(got[len(prefix):], g.wire) {
				t.Errorf("encoder with prefix\n got %x\nwant %x%x", got, prefix, g.wire)
			}
		})
	}
}

func TestGoldenParse(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			f, n, err := Parse(g.wire, MinMaxFrameSize)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if n != len(g.wire) {
				t.Errorf("n = %d, want %d", n, len(g.wire))
			}
			g.wantFrame(t, &f)

			// Trailing bytes (the next frame) are not consumed.
			buf := append(append([]byte(nil), g.wire...), 0, 0, 0, 0xff, 0xff)
			f2, n2, err := Parse(buf, MinMaxFrameSize)
			if err != nil || n2 != len(g.wire) {
				t.Fatalf("Parse with trailing bytes: n=%d err=%v, want n=%d", n2, err, len(g.wire))
			}
			g.wantFrame(t, &f2)

			// The header alone decodes to the same Header.
			h, err := ParseHeader(g.wire)
			if err != nil || h != f.Header {
				t.Errorf("ParseHeader = %+v, %v; want %+v", h, err, f.Header)
			}

			// maxFrameSize equal to the payload length is accepted.
			if _, _, err := Parse(g.wire, uint32(len(g.wire)-HeaderLen)); err != nil {
				t.Errorf("Parse with maxFrameSize == length: %v", err)
			}
		})
	}
}

// TestGoldenParseAliases checks that Data aliases the input rather than
// copying it.
func TestGoldenParseAliases(t *testing.T) {
	for _, g := range goldens {
		buf := append([]byte(nil), g.wire...)
		f, _, err := Parse(buf, MinMaxFrameSize)
		if err != nil || len(f.Data) == 0 {
			continue
		}
		f.Data[0] ^= 0xff
		if bytes.Equal(buf, g.wire) {
			t.Errorf("%s: Data does not alias the input", g.name)
		}
	}
}

func TestGoldenRoundTrip(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			// parse → encode: AppendFrame reproduces the golden bytes.
			f, _, err := Parse(g.wire, MinMaxFrameSize)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := AppendFrame(nil, &f); !bytes.Equal(got, g.wire) {
				t.Errorf("AppendFrame(Parse(golden))\n got %x\nwant %x", got, g.wire)
			}
			// encode → parse: the typed encoder's output parses back to
			// the expected fields.
			enc := g.encode(nil)
			f2, n, err := Parse(enc, MinMaxFrameSize)
			if err != nil || n != len(enc) {
				t.Fatalf("Parse(encode) n=%d err=%v", n, err)
			}
			g.wantFrame(t, &f2)
			// AppendFrame ignores a stale Length.
			f2.Length = 12345
			if got := AppendFrame(nil, &f2); !bytes.Equal(got, g.wire) {
				t.Errorf("AppendFrame with stale Length\n got %x\nwant %x", got, g.wire)
			}
		})
	}
}

// TestGoldenPrefixesNeedMore: every strict prefix of every golden frame is
// incomplete.
func TestGoldenPrefixesNeedMore(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			for l := 0; l < len(g.wire); l++ {
				f, n, err := Parse(g.wire[:l], MinMaxFrameSize)
				if err != ErrNeedMore {
					t.Errorf("Parse(wire[:%d]) err = %v, want ErrNeedMore", l, err)
				}
				if n != 0 {
					t.Errorf("Parse(wire[:%d]) n = %d, want 0", l, n)
				}
				if f.Header != (Header{}) || f.Data != nil {
					t.Errorf("Parse(wire[:%d]) returned non-zero frame %+v", l, f)
				}
				if l < HeaderLen {
					if _, err := ParseHeader(g.wire[:l]); err != ErrNeedMore {
						t.Errorf("ParseHeader(wire[:%d]) err = %v, want ErrNeedMore", l, err)
					}
				}
			}
		})
	}
}

// TestGoldenStream parses all golden frames back to back from one buffer, as
// a reader loop would.
func TestGoldenStream(t *testing.T) {
	var stream []byte
	for _, g := range goldens {
		stream = append(stream, g.wire...)
	}
	buf := stream
	for i, g := range goldens {
		f, n, err := Parse(buf, MinMaxFrameSize)
		if err != nil {
			t.Fatalf("frame %d (%s): %v", i, g.name, err)
		}
		if n != len(g.wire) {
			t.Fatalf("frame %d (%s): n = %d, want %d", i, g.name, n, len(g.wire))
		}
		g.wantFrame(t, &f)
		buf = buf[n:]
	}
	if _, n, err := Parse(buf, MinMaxFrameSize); len(buf) != 0 || err != ErrNeedMore || n != 0 {
		t.Fatalf("after last frame: len=%d n=%d err=%v", len(buf), n, err)
	}
}

func TestGoldenString(t *testing.T) {
	for _, g := range goldens {
		f, _, err := Parse(g.wire, MinMaxFrameSize)
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		s := f.String()
		if strings.Contains(s, "\n") {
			t.Errorf("%s: String has a newline: %q", g.name, s)
		}
		for _, want := range g.desc {
			if !strings.Contains(s, want) {
				t.Errorf("%s: String() = %q, want substring %q", g.name, s, want)
			}
		}
		if len(f.Data) > 0 && strings.Contains(s, string(f.Data)) && f.Type != TypeGoAway {
			t.Errorf("%s: String() prints the payload: %q", g.name, s)
		}
	}
}

func TestGoldenAccessors(t *testing.T) {
	type acc struct{ endStream, endHeaders, ack bool }
	want := map[string]acc{
		"DATA END_STREAM":                 {endStream: true},
		"DATA PADDED|END_STREAM empty":    {endStream: true},
		"HEADERS END_STREAM|END_HEADERS":  {endStream: true, endHeaders: true},
		"HEADERS PADDED":                  {endHeaders: true},
		"HEADERS PRIORITY exclusive":      {endHeaders: true},
		"HEADERS PADDED|PRIORITY":         {endStream: true, endHeaders: true},
		"SETTINGS ACK":                    {ack: true},
		"PUSH_PROMISE PADDED|END_HEADERS": {endHeaders: true},
		"PING ACK":                        {ack: true},
		"CONTINUATION":                    {endHeaders: true},
	}
	for _, g := range goldens {
		f, _, err := Parse(g.wire, MinMaxFrameSize)
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		w := want[g.name]
		if got := (acc{f.EndStream(), f.EndHeaders(), f.IsAck()}); got != w {
			t.Errorf("%s: EndStream/EndHeaders/IsAck = %+v, want %+v", g.name, got, w)
		}
	}
	// The flag bits are type-specific: 0x1 on a PRIORITY frame or 0x4 on
	// a DATA frame means nothing.
	for _, f := range []Frame{
		{Header: Header{Type: TypePriority, Flags: 0xff}},
		{Header: Header{Type: TypeRSTStream, Flags: 0xff}},
		{Header: Header{Type: TypeGoAway, Flags: 0xff}},
		{Header: Header{Type: 0xfa, Flags: 0xff}},
	} {
		if f.EndStream() || f.EndHeaders() || f.IsAck() {
			t.Errorf("%v with flags 0xff: EndStream=%v EndHeaders=%v IsAck=%v, want all false",
				f.Type, f.EndStream(), f.EndHeaders(), f.IsAck())
		}
	}
	if f := (Frame{Header: Header{Type: TypeData, Flags: 0xff}}); f.EndHeaders() || f.IsAck() || !f.EndStream() {
		t.Errorf("DATA 0xff: EndStream=%v EndHeaders=%v IsAck=%v", f.EndStream(), f.EndHeaders(), f.IsAck())
	}
}

// TestReservedBits covers the reserved (R) bits of RFC 9113 §4.1, §6.6,
// §6.8 and §6.9: they are ignored on receipt and never sent.
func TestReservedBits(t *testing.T) {
	t.Run("stream id", func(t *testing.T) {
		f, n, err := Parse(hx("000002 00 01 80000003 | 6869"), MinMaxFrameSize)
		if err != nil || n != 11 {
			t.Fatalf("Parse: n=%d err=%v", n, err)
		}
		if f.StreamID != 3 {
			t.Errorf("StreamID = %#x, want 3", f.StreamID)
		}
		h, _ := ParseHeader(hx("000000 04 00 ffffffff"))
		if h.StreamID != MaxStreamID {
			t.Errorf("ParseHeader StreamID = %#x, want %#x", h.StreamID, MaxStreamID)
		}
		// A stream ID that is only the reserved bit is stream 0.
		if _, _, err := Parse(hx("000001 00 00 80000000 | 61"), MinMaxFrameSize); err != ErrDataStream0 {
			t.Errorf("DATA on stream 0x80000000: err = %v, want ErrDataStream0", err)
		}
		// Encoders never set the reserved bit.
		if got, want := AppendHeader(nil, Header{Length: 1, Type: TypeData, StreamID: 0x80000003}), hx("000001 00 00 00000003"); !bytes.Equal(got, want) {
			t.Errorf("AppendHeader = %x, want %x", got, want)
		}
		if got, want := AppendData(nil, 0xffffffff, false, nil), hx("000000 00 00 7fffffff"); !bytes.Equal(got, want) {
			t.Errorf("AppendData = %x, want %x", got, want)
		}
	})
	t.Run("length truncated to 24 bits", func(t *testing.T) {
		if got, want := AppendHeader(nil, Header{Length: 0x01abcdef, Type: TypePing}), hx("abcdef 06 00 00000000"); !bytes.Equal(got, want) {
			t.Errorf("AppendHeader = %x, want %x", got, want)
		}
	})
	t.Run("window update increment", func(t *testing.T) {
		f, _, err := Parse(hx("000004 08 00 00000001 | 80000400"), MinMaxFrameSize)
		if err != nil {
			t.Fatal(err)
		}
		if f.Increment != 0x400 {
			t.Errorf("Increment = %#x, want 0x400", f.Increment)
		}
		f, _, err = Parse(hx("000004 08 00 00000000 | ffffffff"), MinMaxFrameSize)
		if err != nil || f.Increment != MaxWindowSize {
			t.Errorf("Increment = %#x, %v; want %#x", f.Increment, err, MaxWindowSize)
		}
		// Only the reserved bit set: the increment is 0.
		if _, _, err := Parse(hx("000004 08 00 00000001 | 80000000"), MinMaxFrameSize); err != ErrWindowZero {
			t.Errorf("increment 0x80000000 on stream 1: err = %v, want ErrWindowZero", err)
		}
		if _, _, err := Parse(hx("000004 08 00 00000000 | 80000000"), MinMaxFrameSize); err != ErrWindowZeroConn {
			t.Errorf("increment 0x80000000 on stream 0: err = %v, want ErrWindowZeroConn", err)
		}
		if got, want := AppendWindowUpdate(nil, 1, 0x80000400), hx("000004 08 00 00000001 | 00000400"); !bytes.Equal(got, want) {
			t.Errorf("AppendWindowUpdate = %x, want %x", got, want)
		}
	})
	t.Run("goaway last stream id", func(t *testing.T) {
		f, _, err := Parse(hx("000008 07 00 00000000 | 80000009 | 00000000"), MinMaxFrameSize)
		if err != nil {
			t.Fatal(err)
		}
		if f.LastStreamID != 9 {
			t.Errorf("LastStreamID = %#x, want 9", f.LastStreamID)
		}
		f, _, _ = Parse(hx("000008 07 00 00000000 | ffffffff | 00000000"), MinMaxFrameSize)
		if f.LastStreamID != MaxStreamID {
			t.Errorf("LastStreamID = %#x, want %#x", f.LastStreamID, MaxStreamID)
		}
		if got, want := AppendGoAway(nil, 0xffffffff, ErrCodeNo, nil), hx("000008 07 00 00000000 | 7fffffff | 00000000"); !bytes.Equal(got, want) {
			t.Errorf("AppendGoAway = %x, want %x", got, want)
		}
	})
	t.Run("push promise promised id", func(t *testing.T) {
		f, _, err := Parse(hx("000004 05 04 00000001 | 80000002"), MinMaxFrameSize)
		if err != nil {
			t.Fatal(err)
		}
		if f.PromisedID != 2 {
			t.Errorf("PromisedID = %#x, want 2", f.PromisedID)
		}
		got := AppendPushPromise(nil, PushPromiseParam{StreamID: 1, PromisedID: 0x80000002, EndHeaders: true})
		if want := hx("000004 05 04 00000001 | 00000002"); !bytes.Equal(got, want) {
			t.Errorf("AppendPushPromise = %x, want %x", got, want)
		}
	})
	t.Run("priority exclusive bit is not reserved", func(t *testing.T) {
		f, _, err := Parse(hx("000005 02 00 00000003 | ffffffff | 07"), MinMaxFrameSize)
		if err != nil {
			t.Fatal(err)
		}
		if want := (Priority{StreamDep: MaxStreamID, Exclusive: true, Weight: 7}); f.Priority != want {
			t.Errorf("Priority = %+v, want %+v", f.Priority, want)
		}
		// A dependency above 31 bits is truncated, not turned into E.
		got := AppendPriority(nil, 3, Priority{StreamDep: 0x80000001, Weight: 7})
		if want := hx("000005 02 00 00000003 | 00000001 | 07"); !bytes.Equal(got, want) {
			t.Errorf("AppendPriority = %x, want %x", got, want)
		}
	})
}

// TestPaddingBoundaries: padding may consume everything after the pad-length
// octet (and the fixed fields), but not one octet more.
func TestPaddingBoundaries(t *testing.T) {
	for _, tc := range []struct {
		name string
		wire []byte
		want Frame
	}{
		{
			name: "DATA padding fills payload",
			wire: hx("000003 00 08 00000001 | 02 | 0000"),
			want: Frame{Header: Header{Length: 3, Type: TypeData, Flags: FlagDataPadded, StreamID: 1}, Padded: true, PadLength: 2},
		},
		{
			name: "DATA non-zero padding is ignored",
			wire: hx("000004 00 08 00000001 | 02 | 61 | ffff"),
			want: Frame{Header: Header{Length: 4, Type: TypeData, Flags: FlagDataPadded, StreamID: 1},
				Data: []byte("a"), Padded: true, PadLength: 2},
		},
		{
			name: "HEADERS padding fills payload",
			wire: hx("000003 01 0c 00000001 | 02 | 0000"),
			want: Frame{Header: Header{Length: 3, Type: TypeHeaders, Flags: FlagHeadersPadded | FlagHeadersEndHeaders, StreamID: 1},
				Padded: true, PadLength: 2},
		},
		{
			name: "HEADERS PADDED|PRIORITY padding fills rest",
			wire: hx("000008 01 28 00000001 | 02 | 00000003 | 10 | 0000"),
			want: Frame{Header: Header{Length: 8, Type: TypeHeaders, Flags: FlagHeadersPadded | FlagHeadersPriority, StreamID: 1},
				Padded: true, PadLength: 2, HasPriority: true, Priority: Priority{StreamDep: 3, Weight: 0x10}},
		},
		{
			name: "PUSH_PROMISE padding fills rest",
			wire: hx("000007 05 08 00000001 | 02 | 00000002 | 0000"),
			want: Frame{Header: Header{Length: 7, Type: TypePushPromise, Flags: FlagPushPromisePadded, StreamID: 1},
				PromisedID: 2, Padded: true, PadLength: 2},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, n, err := Parse(tc.wire, MinMaxFrameSize)
			if err != nil || n != len(tc.wire) {
				t.Fatalf("Parse: n=%d err=%v", n, err)
			}
			if d := diffFrame(&f, &tc.want); d != "" {
				t.Error(d)
			}
		})
	}
}

// TestParseFrameSizeLimit: the limit is inclusive, checked before the payload
// is available, and applies to unknown types too.
func TestParseFrameSizeLimit(t *testing.T) {
	// Exactly maxFrameSize: fine, but needs the whole payload.
	hdr := hx("004000 00 00 00000001") // length 16384
	if _, n, err := Parse(hdr, MinMaxFrameSize); err != ErrNeedMore || n != 0 {
		t.Errorf("length == max, header only: n=%d err=%v, want ErrNeedMore", n, err)
	}
	full := append(append([]byte(nil), hdr...), make([]byte, MinMaxFrameSize)...)
	if f, n, err := Parse(full, MinMaxFrameSize); err != nil || n != len(full) || len(f.Data) != MinMaxFrameSize {
		t.Errorf("length == max: n=%d len(Data)=%d err=%v", n, len(f.Data), err)
	}
	// maxFrameSize is whatever the caller says, even below 16384.
	if _, n, err := Parse(hx("000005 00 00 00000001 | 68656c6c6f"), 4); !errors.Is(err, ErrFrameTooLarge) || n != 0 {
		t.Errorf("5 > 4: n=%d err=%v, want ErrFrameTooLarge", n, err)
	}
	if _, _, err := Parse(hx("000000 04 01 00000000"), 0); err != nil {
		t.Errorf("empty frame with max 0: %v", err)
	}
	// Largest encodable length against the largest legal limit.
	f, n, err := Parse(hx("ffffff fa 00 00000000"), MaxMaxFrameSize)
	if err != ErrNeedMore || n != 0 {
		t.Errorf("length 2^24-1 with max 2^24-1, header only: n=%d err=%v f=%+v", n, err, f.Header)
	}
	// Unknown types are bounded too.
	f, n, err = Parse(hx("004001 fa 00 00000000"), MinMaxFrameSize)
	if err != ErrFrameTooLarge || n != 0 || f.Type != 0xfa || f.Length != 0x4001 {
		t.Errorf("unknown type too large: n=%d err=%v header=%+v", n, err, f.Header)
	}
}

// TestAppendFrameFlagsFromFields: AppendFrame derives PADDED and PRIORITY
// from Padded and HasPriority, not from stale flag bits.
func TestAppendFrameFlagsFromFields(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    Frame
		want []byte
	}{
		{
			name: "DATA PADDED flag without Padded",
			f:    Frame{Header: Header{Type: TypeData, Flags: FlagDataPadded | FlagDataEndStream, StreamID: 1}, Data: []byte("a")},
			want: hx("000001 00 01 00000001 | 61"),
		},
		{
			name: "DATA Padded without PADDED flag",
			f:    Frame{Header: Header{Type: TypeData, StreamID: 1}, Data: []byte("a"), Padded: true, PadLength: 1},
			want: hx("000003 00 08 00000001 | 01 | 61 | 00"),
		},
		{
			name: "HEADERS PADDED|PRIORITY flags without fields",
			f: Frame{Header: Header{Type: TypeHeaders, Flags: FlagHeadersPadded | FlagHeadersPriority | FlagHeadersEndHeaders, StreamID: 1},
				Data: []byte{0x82}, PadLength: 9, Priority: Priority{StreamDep: 3}},
			want: hx("000001 01 04 00000001 | 82"),
		},
		{
			name: "PUSH_PROMISE PADDED flag without Padded",
			f:    Frame{Header: Header{Type: TypePushPromise, Flags: FlagPushPromisePadded, StreamID: 1}, PromisedID: 2},
			want: hx("000004 05 00 00000001 | 00000002"),
		},
		{
			name: "SETTINGS ACK ignores parameters",
			f:    Frame{Header: Header{Type: TypeSettings, Flags: FlagSettingsAck}, settings: hx("0001 00001000")},
			want: hx("000000 04 01 00000000"),
		},
	} {
		if got := AppendFrame(nil, &tc.f); !bytes.Equal(got, tc.want) {
			t.Errorf("%s:\n got %x\nwant %x", tc.name, got, tc.want)
		}
	}
}
