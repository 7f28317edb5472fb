package frame

import (
	"strconv"
	"strings"
	"testing"
)

// Regression tests for bugs found in review: each failed before its fix.

// TestParseZeroAllocs: Parse once passed &f to a parser chosen through the
// parsers table; escape analysis cannot see through the indirect call, so the
// Frame moved to the heap on every call. Parsers now take and return the
// frame by value.
func TestParseZeroAllocs(t *testing.T) {
	for _, name := range []string{"HEADERS PADDED|PRIORITY", "HEADERS END_STREAM|END_HEADERS", "DATA", "DATA PADDED"} {
		wire := goldenWire(t, name)
		var f Frame
		a := testing.AllocsPerRun(200, func() {
			f, _, _ = Parse(wire, MinMaxFrameSize)
		})
		if a != 0 {
			t.Errorf("Parse(%s): %v allocs/op, want 0", name, a)
		}
		_ = f
	}
}

// TestErrCodeStringHighBit: ErrCode.String guards the table lookup with
// int(c) < len(errCodeNames). On 32-bit platforms (GOARCH=386, arm, mips...)
// int(c) is negative for codes >= 0x80000000, the guard passes and
// errCodeNames[c] panics with "index out of range". The code comes from the
// peer (RST_STREAM, GOAWAY), so Frame.String on a received frame panics.
// This test passes on 64-bit platforms; reproduce with
//
//	GOARCH=386 go test -run TestErrCodeStringHighBit ./core/frame
func TestErrCodeStringHighBit(t *testing.T) {
	for _, c := range []ErrCode{0x80000000, 0xfffffffe, 0xffffffff} {
		want := "UNKNOWN_ERROR_CODE_0x" + strconv.FormatUint(uint64(c), 16)
		if got := c.String(); got != want {
			t.Errorf("ErrCode(%#x).String() = %q, want %q", uint32(c), got, want)
		}
	}
	f, _, err := Parse(hx("000004 03 00 00000001 | ffffffff"), MinMaxFrameSize)
	if err != nil {
		t.Fatal(err)
	}
	if s := f.String(); !strings.Contains(s, "code=UNKNOWN_ERROR_CODE_0xffffffff") {
		t.Errorf("String() = %q", s)
	}
}

// TestPaddedShortFrameIsFrameSizeError: a PADDED HEADERS frame with
// the PRIORITY flag, or a PADDED PUSH_PROMISE, that is too short to hold its
// mandatory fields is reported as "padding too long" (PROTOCOL_ERROR) even
// when Pad Length is 0, i.e. when there is no padding at all. RFC 9113 §4.2
// requires FRAME_SIZE_ERROR for a frame "too small to contain mandatory frame
// data"; the same frames without the PADDED flag get ErrHeadersShort /
// ErrPushShort. parseHeaders and parsePushPromise test the length after the
// padding has been removed and blame the padding whenever PADDED is set; they
// should blame it only when the fields fit without the padding.
func TestPaddedShortFrameIsFrameSizeError(t *testing.T) {
	for _, tc := range []struct {
		name string
		wire []byte
		want *Error
	}{
		{
			// PADDED|PRIORITY, Pad Length 0, 3 of the 5 priority octets.
			name: "HEADERS",
			wire: hx("000004 01 28 00000001 | 00 | 000000"),
			want: ErrHeadersShort,
		},
		{
			// PADDED, Pad Length 0, 2 of the 4 promised-ID octets.
			name: "PUSH_PROMISE",
			wire: hx("000003 05 08 00000001 | 00 | 0000"),
			want: ErrPushShort,
		},
	} {
		_, _, err := Parse(tc.wire, MinMaxFrameSize)
		if err != tc.want {
			t.Errorf("%s %x: err = %v, want %v", tc.name, tc.wire, err, tc.want)
		}
	}
}

// TestAppendFrameDropsUndefinedDataFlags: AppendFrame passed a parsed DATA
// frame's flags through whole, so undefined bits received (here 0x2) went
// back on the wire; RFC 9113 §4.1 has them left unset when sending, as
// AppendFrame already did for the other types. Found by
// FuzzFrameRoundTrip in ./fuzz.
func TestAppendFrameDropsUndefinedDataFlags(t *testing.T) {
	for _, in := range []string{"000000 00 02 00000001", "000000 00 f3 00000001", "000002 00 0a 00000001 | 00 61"} {
		f, _, err := Parse(hx(in), MinMaxFrameSize)
		if err != nil {
			t.Fatal(err)
		}
		out := AppendFrame(nil, &f)
		g, _, err := Parse(out, MinMaxFrameSize)
		if err != nil {
			t.Fatal(err)
		}
		if want := f.Flags & (FlagDataEndStream | FlagDataPadded); g.Flags != want {
			t.Errorf("%s: AppendFrame sent flags %#x, want %#x", in, uint8(g.Flags), uint8(want))
		}
	}
}
