package frame

import (
	"strings"
	"testing"
)

func TestTypeStringKnown(t *testing.T) {
	want := []string{"DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS",
		"PUSH_PROMISE", "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"}
	for i, name := range want {
		ty := Type(i)
		if !ty.Known() {
			t.Errorf("Type(%d).Known() = false", i)
		}
		if got := ty.String(); got != name {
			t.Errorf("Type(%d).String() = %q, want %q", i, got, name)
		}
	}
	for _, tc := range []struct {
		ty   Type
		want string
	}{
		{0x0a, "UNKNOWN_FRAME_TYPE_10"},
		{0x10, "UNKNOWN_FRAME_TYPE_16"}, // PRIORITY_UPDATE (RFC 9218) is not an RFC 9113 type
		{0xfa, "UNKNOWN_FRAME_TYPE_250"},
		{0xff, "UNKNOWN_FRAME_TYPE_255"},
	} {
		if tc.ty.Known() {
			t.Errorf("Type(%#x).Known() = true", uint8(tc.ty))
		}
		if got := tc.ty.String(); got != tc.want {
			t.Errorf("Type(%#x).String() = %q, want %q", uint8(tc.ty), got, tc.want)
		}
	}
	for i := 10; i < 256; i++ {
		if Type(i).Known() {
			t.Errorf("Type(%d).Known() = true", i)
		}
	}
}

func TestErrCodeString(t *testing.T) {
	for _, tc := range []struct {
		c    ErrCode
		want string
	}{
		{ErrCodeNo, "NO_ERROR"},
		{ErrCodeProtocol, "PROTOCOL_ERROR"},
		{ErrCodeInternal, "INTERNAL_ERROR"},
		{ErrCodeFlowControl, "FLOW_CONTROL_ERROR"},
		{ErrCodeSettingsTimeout, "SETTINGS_TIMEOUT"},
		{ErrCodeStreamClosed, "STREAM_CLOSED"},
		{ErrCodeFrameSize, "FRAME_SIZE_ERROR"},
		{ErrCodeRefusedStream, "REFUSED_STREAM"},
		{ErrCodeCancel, "CANCEL"},
		{ErrCodeCompression, "COMPRESSION_ERROR"},
		{ErrCodeConnect, "CONNECT_ERROR"},
		{ErrCodeEnhanceYourCalm, "ENHANCE_YOUR_CALM"},
		{ErrCodeInadequateSecurity, "INADEQUATE_SECURITY"},
		{ErrCodeHTTP11Required, "HTTP_1_1_REQUIRED"},
		{0xe, "UNKNOWN_ERROR_CODE_0xe"},
		{0x2a, "UNKNOWN_ERROR_CODE_0x2a"},
		{0x7fffffff, "UNKNOWN_ERROR_CODE_0x7fffffff"},
	} {
		if got := tc.c.String(); got != tc.want {
			t.Errorf("ErrCode(%#x).String() = %q, want %q", uint32(tc.c), got, tc.want)
		}
	}
	// Codes with the top bit set: see TestBug_ErrCodeStringHighBit.
}

func TestSettingIDString(t *testing.T) {
	for _, tc := range []struct {
		id   SettingID
		want string
	}{
		{SettingHeaderTableSize, "HEADER_TABLE_SIZE"},
		{SettingEnablePush, "ENABLE_PUSH"},
		{SettingMaxConcurrentStreams, "MAX_CONCURRENT_STREAMS"},
		{SettingInitialWindowSize, "INITIAL_WINDOW_SIZE"},
		{SettingMaxFrameSize, "MAX_FRAME_SIZE"},
		{SettingMaxHeaderListSize, "MAX_HEADER_LIST_SIZE"},
		{SettingEnableConnectProtocol, "ENABLE_CONNECT_PROTOCOL"},
		{SettingNoRFC7540Priorities, "NO_RFC7540_PRIORITIES"},
		{0x0, "UNKNOWN_SETTING_0"},
		{0x7, "UNKNOWN_SETTING_7"},
		{0xffff, "UNKNOWN_SETTING_65535"},
	} {
		if got := tc.id.String(); got != tc.want {
			t.Errorf("SettingID(%#x).String() = %q, want %q", uint16(tc.id), got, tc.want)
		}
	}
}

func TestFlagsHas(t *testing.T) {
	f := FlagHeadersEndStream | FlagHeadersEndHeaders
	for _, tc := range []struct {
		v    Flags
		want bool
	}{
		{0, true},
		{FlagHeadersEndStream, true},
		{FlagHeadersEndHeaders, true},
		{FlagHeadersEndStream | FlagHeadersEndHeaders, true},
		{FlagHeadersPadded, false},
		{FlagHeadersEndStream | FlagHeadersPadded, false}, // all bits, not any
		{0xff, false},
	} {
		if got := f.Has(tc.v); got != tc.want {
			t.Errorf("Flags(%#x).Has(%#x) = %v, want %v", uint8(f), uint8(tc.v), got, tc.want)
		}
	}
	if !Flags(0xff).Has(FlagHeadersPriority) || Flags(0).Has(FlagDataPadded) {
		t.Error("Has on 0xff / 0 is wrong")
	}
}

// TestFlagValues pins the flag bits to RFC 9113 §6.
func TestFlagValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    Flags
		want uint8
	}{
		{"DATA END_STREAM", FlagDataEndStream, 0x01},
		{"DATA PADDED", FlagDataPadded, 0x08},
		{"HEADERS END_STREAM", FlagHeadersEndStream, 0x01},
		{"HEADERS END_HEADERS", FlagHeadersEndHeaders, 0x04},
		{"HEADERS PADDED", FlagHeadersPadded, 0x08},
		{"HEADERS PRIORITY", FlagHeadersPriority, 0x20},
		{"SETTINGS ACK", FlagSettingsAck, 0x01},
		{"PING ACK", FlagPingAck, 0x01},
		{"PUSH_PROMISE END_HEADERS", FlagPushPromiseEndHeaders, 0x04},
		{"PUSH_PROMISE PADDED", FlagPushPromisePadded, 0x08},
		{"CONTINUATION END_HEADERS", FlagContinuationEndHeaders, 0x04},
	} {
		if uint8(tc.f) != tc.want {
			t.Errorf("%s = %#x, want %#x", tc.name, uint8(tc.f), tc.want)
		}
	}
}

func TestFrameString(t *testing.T) {
	for _, tc := range []struct {
		wire    []byte
		want    []string
		notWant []string
	}{
		{
			wire: hx("000003 01 05 00000001 | 828684"),
			want: []string{"HEADERS stream=1", "len=3", "flags=END_STREAM|END_HEADERS"},
		},
		{
			wire:    hx("000004 03 00 00000001 | 00000001"),
			want:    []string{"RST_STREAM stream=1 len=4 code=PROTOCOL_ERROR"},
			notWant: []string{"flags="},
		},
		{
			wire: hx("000008 07 00 00000000 | 00000003 | 0000000b"),
			want: []string{"GOAWAY", "last_stream=3", "code=ENHANCE_YOUR_CALM"},
			// No debug data: no debug field.
			notWant: []string{"debug"},
		},
		{
			// Unknown flag bits on a known type are shown in hex after the
			// named ones.
			wire: hx("000001 00 03 00000001 | 61"),
			want: []string{"DATA stream=1 len=1 flags=END_STREAM|0x2"},
		},
		{
			// Only undefined bits.
			wire: hx("000004 08 f0 00000001 | 00000001"),
			want: []string{"WINDOW_UPDATE stream=1 len=4 flags=0xf0 increment=1"},
		},
		{
			// PUSH_PROMISE's END_HEADERS is named, DATA's meaning of 0x4 is not.
			wire: hx("000004 05 04 00000001 | 00000002"),
			want: []string{"flags=END_HEADERS promised=2"},
		},
		{
			wire: hx("000006 04 00 00000000 | 0004 0000ffff"),
			want: []string{"SETTINGS stream=0 len=6 INITIAL_WINDOW_SIZE=65535"},
		},
		{
			// Debug data is quoted, so control characters cannot break the
			// one-line trace.
			wire: hx("00000a 07 00 00000000 | 00000000 | 00000000 | 0a22"),
			want: []string{`debug="\n\""`},
		},
	} {
		f, _, err := Parse(tc.wire, MinMaxFrameSize)
		if err != nil {
			t.Fatalf("%x: %v", tc.wire, err)
		}
		s := f.String()
		for _, w := range tc.want {
			if !strings.Contains(s, w) {
				t.Errorf("String() = %q, want substring %q", s, w)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(s, w) {
				t.Errorf("String() = %q, want no %q", s, w)
			}
		}
		if strings.ContainsAny(s, "\n\r") {
			t.Errorf("String() = %q spans lines", s)
		}
	}
	// The zero Frame is a DATA frame on stream 0.
	var zero Frame
	if got, want := zero.String(), "DATA stream=0 len=0"; got != want {
		t.Errorf("zero Frame String() = %q, want %q", got, want)
	}
}
