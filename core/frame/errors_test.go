package frame

import (
	"errors"
	"go/ast"
	goparser "go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// A malformed-frame case. For frame errors, wire is one malformed frame; for
// setting errors (setting != nil), wire is a well-formed SETTINGS frame whose
// only parameter fails Setting.Valid.
type malformed struct {
	token      string // the expected Error.Token; subtests are named by it
	err        *Error
	code       ErrCode // the code RFC 9113 (or RFC 8441/9218) requires
	stream     bool    // stream error (§5.4.2) rather than connection error
	wire       []byte
	setting    bool
	headerOnly bool // ErrFrameTooLarge: only the 9-byte header is given
}

var malformedFrames = []malformed{
	// §4.2: length above SETTINGS_MAX_FRAME_SIZE (16384 here).
	{token: "frame_too_large", err: ErrFrameTooLarge, code: ErrCodeFrameSize, headerOnly: true,
		wire: hx("004001 00 00 00000001")},
	{token: "frame_too_large", err: ErrFrameTooLarge, code: ErrCodeFrameSize, headerOnly: true,
		wire: hx("ffffff 04 00 00000000")},

	// §6.1 DATA.
	{token: "data_stream_0", err: ErrDataStream0, code: ErrCodeProtocol,
		wire: hx("000001 00 00 00000000 | 61")},
	{token: "data_pad_short", err: ErrDataPadShort, code: ErrCodeFrameSize,
		wire: hx("000000 00 08 00000001")},
	{token: "data_pad_too_long", err: ErrDataPadTooLong, code: ErrCodeProtocol,
		wire: hx("000003 00 08 00000001 | 03 | 6162")}, // pad == payload length
	{token: "data_pad_too_long", err: ErrDataPadTooLong, code: ErrCodeProtocol,
		wire: hx("000001 00 09 00000001 | ff")},

	// §6.2 HEADERS.
	{token: "headers_stream_0", err: ErrHeadersStream0, code: ErrCodeProtocol,
		wire: hx("000001 01 04 00000000 | 82")},
	{token: "headers_short", err: ErrHeadersShort, code: ErrCodeFrameSize,
		wire: hx("000004 01 20 00000001 | 00000003")}, // PRIORITY, 4 of 5 octets
	{token: "headers_short", err: ErrHeadersShort, code: ErrCodeFrameSize,
		wire: hx("000000 01 08 00000001")}, // PADDED, no pad-length octet
	{token: "headers_pad_too_long", err: ErrHeadersPadLong, code: ErrCodeProtocol,
		wire: hx("000003 01 0c 00000001 | 03 | 8286")},
	{token: "headers_pad_too_long", err: ErrHeadersPadLong, code: ErrCodeProtocol,
		wire: hx("000007 01 28 00000001 | 02 | 00000003 0f | 00")}, // padding overlaps the priority fields
	{token: "headers_self_dependency", err: ErrHeadersSelfDep, code: ErrCodeProtocol, stream: true,
		wire: hx("000005 01 24 00000003 | 00000003 | 10")},
	{token: "headers_self_dependency", err: ErrHeadersSelfDep, code: ErrCodeProtocol, stream: true,
		wire: hx("000009 01 2c 00000003 | 02 | 80000003 | 10 | 82 | 0000")},

	// §6.3 PRIORITY.
	{token: "priority_stream_0", err: ErrPriorityStream0, code: ErrCodeProtocol,
		wire: hx("000005 02 00 00000000 | 00000001 | 10")},
	{token: "priority_length", err: ErrPriorityLength, code: ErrCodeFrameSize, stream: true,
		wire: hx("000004 02 00 00000001 | 00000003")},
	{token: "priority_length", err: ErrPriorityLength, code: ErrCodeFrameSize, stream: true,
		wire: hx("000006 02 00 00000001 | 00000003 | 10 | 00")},
	{token: "priority_self_dependency", err: ErrPrioritySelfDep, code: ErrCodeProtocol, stream: true,
		wire: hx("000005 02 00 00000005 | 80000005 | 10")},

	// §6.4 RST_STREAM.
	{token: "rst_stream_stream_0", err: ErrRSTStream0, code: ErrCodeProtocol,
		wire: hx("000004 03 00 00000000 | 00000008")},
	{token: "rst_stream_length", err: ErrRSTLength, code: ErrCodeFrameSize,
		wire: hx("000003 03 00 00000001 | 000008")},
	{token: "rst_stream_length", err: ErrRSTLength, code: ErrCodeFrameSize,
		wire: hx("000005 03 00 00000001 | 00000008 | 00")},

	// §6.5 SETTINGS.
	{token: "settings_stream_nonzero", err: ErrSettingsStream, code: ErrCodeProtocol,
		wire: hx("000000 04 00 00000001")},
	{token: "settings_stream_nonzero", err: ErrSettingsStream, code: ErrCodeProtocol,
		wire: hx("000000 04 01 00000001")}, // ACK on a stream
	{token: "settings_ack_length", err: ErrSettingsAckLen, code: ErrCodeFrameSize,
		wire: hx("000006 04 01 00000000 | 0001 00001000")},
	{token: "settings_length", err: ErrSettingsLength, code: ErrCodeFrameSize,
		wire: hx("000005 04 00 00000000 | 0001 000010")},
	{token: "settings_length", err: ErrSettingsLength, code: ErrCodeFrameSize,
		wire: hx("000007 04 00 00000000 | 0001 00001000 | 00")},
	{token: "settings_length", err: ErrSettingsLength, code: ErrCodeFrameSize,
		wire: hx("000009 04 00 00000000 | 0001 00001000 | 000100")}, // 1.5 settings

	// §6.6 PUSH_PROMISE.
	{token: "push_promise_stream_0", err: ErrPushStream0, code: ErrCodeProtocol,
		wire: hx("000004 05 04 00000000 | 00000002")},
	{token: "push_promise_short", err: ErrPushShort, code: ErrCodeFrameSize,
		wire: hx("000003 05 04 00000001 | 000002")},
	{token: "push_promise_short", err: ErrPushShort, code: ErrCodeFrameSize,
		wire: hx("000000 05 0c 00000001")}, // PADDED, no pad-length octet
	{token: "push_promise_pad_too_long", err: ErrPushPadLong, code: ErrCodeProtocol,
		wire: hx("000006 05 0c 00000001 | 02 | 00000002 | 82")}, // padding overlaps the promised ID
	{token: "push_promise_pad_too_long", err: ErrPushPadLong, code: ErrCodeProtocol,
		wire: hx("000005 05 0c 00000001 | 05 | 00000002")},

	// §6.7 PING.
	{token: "ping_stream_nonzero", err: ErrPingStream, code: ErrCodeProtocol,
		wire: hx("000008 06 00 00000001 | 0102030405060708")},
	{token: "ping_length", err: ErrPingLength, code: ErrCodeFrameSize,
		wire: hx("000007 06 00 00000000 | 01020304050607")},
	{token: "ping_length", err: ErrPingLength, code: ErrCodeFrameSize,
		wire: hx("000009 06 01 00000000 | 010203040506070809")},

	// §6.8 GOAWAY.
	{token: "goaway_stream_nonzero", err: ErrGoAwayStream, code: ErrCodeProtocol,
		wire: hx("000008 07 00 00000001 | 00000000 | 00000000")},
	{token: "goaway_short", err: ErrGoAwayShort, code: ErrCodeFrameSize,
		wire: hx("000007 07 00 00000000 | 00000000 | 000000")},

	// §6.9 WINDOW_UPDATE.
	{token: "window_update_length", err: ErrWindowLength, code: ErrCodeFrameSize,
		wire: hx("000003 08 00 00000001 | 000001")},
	{token: "window_update_length", err: ErrWindowLength, code: ErrCodeFrameSize,
		wire: hx("000005 08 00 00000000 | 00000001 | 00")},
	{token: "window_update_zero_conn", err: ErrWindowZeroConn, code: ErrCodeProtocol,
		wire: hx("000004 08 00 00000000 | 00000000")},
	{token: "window_update_zero", err: ErrWindowZero, code: ErrCodeProtocol, stream: true,
		wire: hx("000004 08 00 00000007 | 00000000")},

	// §6.10 CONTINUATION.
	{token: "continuation_stream_0", err: ErrContStream0, code: ErrCodeProtocol,
		wire: hx("000001 09 04 00000000 | 82")},

	// §6.5.2, RFC 8441 §3, RFC 9218 §2.1: setting values.
	{token: "setting_enable_push", err: ErrSettingEnablePush, code: ErrCodeProtocol, setting: true,
		wire: hx("000006 04 00 00000000 | 0002 00000002")},
	{token: "setting_enable_push", err: ErrSettingEnablePush, code: ErrCodeProtocol, setting: true,
		wire: hx("000006 04 00 00000000 | 0002 ffffffff")},
	{token: "setting_initial_window_size", err: ErrSettingWindowSize, code: ErrCodeFlowControl, setting: true,
		wire: hx("000006 04 00 00000000 | 0004 80000000")}, // 2^31
	{token: "setting_max_frame_size", err: ErrSettingFrameSize, code: ErrCodeProtocol, setting: true,
		wire: hx("000006 04 00 00000000 | 0005 00003fff")}, // 16383
	{token: "setting_max_frame_size", err: ErrSettingFrameSize, code: ErrCodeProtocol, setting: true,
		wire: hx("000006 04 00 00000000 | 0005 01000000")}, // 2^24
	{token: "setting_max_frame_size", err: ErrSettingFrameSize, code: ErrCodeProtocol, setting: true,
		wire: hx("000006 04 00 00000000 | 0005 00000000")},
	{token: "setting_enable_connect_protocol", err: ErrSettingConnectProto, code: ErrCodeProtocol, setting: true,
		wire: hx("000006 04 00 00000000 | 0008 00000002")},
	{token: "setting_no_rfc7540_priorities", err: ErrSettingNoPriorities, code: ErrCodeProtocol, setting: true,
		wire: hx("000006 04 00 00000000 | 0009 00000002")},
}

func TestMalformed(t *testing.T) {
	for _, tc := range malformedFrames {
		t.Run(tc.token, func(t *testing.T) {
			var err error
			if tc.setting {
				f, n, perr := Parse(tc.wire, MinMaxFrameSize)
				if perr != nil || n != len(tc.wire) || f.NumSettings() != 1 {
					t.Fatalf("Parse of the SETTINGS frame: n=%d NumSettings=%d err=%v", n, f.NumSettings(), perr)
				}
				err = f.Setting(0).Valid()
			} else {
				wire := tc.wire
				if !tc.headerOnly {
					// A following frame must not change the outcome.
					wire = append(append([]byte(nil), tc.wire...), hx("000000 04 01 00000000")...)
				}
				f, n, perr := Parse(wire, MinMaxFrameSize)
				err = perr
				wantN := len(tc.wire)
				if tc.headerOnly {
					wantN = 0
				}
				if n != wantN {
					t.Errorf("n = %d, want %d", n, wantN)
				}
				// The header stays valid so that the caller can skip the frame
				// or address a stream error. After a connection error nothing
				// else is filled in; after a stream error the payload fields
				// are (a HEADERS block must still reach the HPACK decoder).
				h, _ := ParseHeader(tc.wire)
				want := Frame{Header: h}
				selfDep := tc.err == ErrHeadersSelfDep || tc.err == ErrPrioritySelfDep
				if selfDep {
					if !f.HasPriority || f.Priority.StreamDep != f.StreamID {
						t.Errorf("self-dependency: priority fields not kept: %+v", f)
					}
					if tc.err == ErrHeadersSelfDep && f.Data == nil {
						t.Errorf("self-dependency: HEADERS fragment not kept")
					}
				} else if d := diffFrame(&f, &want); d != "" {
					t.Errorf("frame returned with the error: %s", d)
				}
				if tc.stream && f.StreamID == 0 {
					t.Errorf("stream error on stream 0")
				}
			}
			if err == nil {
				t.Fatalf("no error, want %s", tc.token)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("err = %v, want errors.Is %v", err, tc.err)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %T, want *Error", err)
			}
			if e != tc.err {
				t.Errorf("err = %p, want the package value %p", e, tc.err)
			}
			if e.Token != tc.token {
				t.Errorf("Token = %q, want %q", e.Token, tc.token)
			}
			if e.Code != tc.code {
				t.Errorf("Code = %v, want %v", e.Code, tc.code)
			}
			if e.Stream != tc.stream {
				t.Errorf("Stream = %v, want %v", e.Stream, tc.stream)
			}
			if !strings.HasPrefix(e.Section, "RFC ") || !strings.Contains(e.Section, "§") {
				t.Errorf("Section = %q, want \"RFC n §x\"", e.Section)
			}
			if err == ErrNeedMore {
				t.Errorf("malformed frame reported as ErrNeedMore")
			}
		})
	}
}

// TestMalformedCoversErrorsGo reads errors.go and checks that every *Error
// it declares has a row in malformedFrames, and that tokens are unique.
func TestMalformedCoversErrorsGo(t *testing.T) {
	fset := token.NewFileSet()
	file, err := goparser.ParseFile(fset, "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]string{} // token → variable name
	ast.Inspect(file, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, v := range vs.Values {
			call, ok := v.(*ast.CallExpr)
			if !ok {
				continue
			}
			fn, ok := call.Fun.(*ast.Ident)
			if !ok || (fn.Name != "connErr" && fn.Name != "streamErr") {
				continue
			}
			lit, ok := call.Args[1].(*ast.BasicLit)
			if !ok {
				t.Fatalf("%s: token is not a literal", vs.Names[i].Name)
			}
			tok, _ := strconv.Unquote(lit.Value)
			if prev, dup := declared[tok]; dup {
				t.Errorf("token %q used by both %s and %s", tok, prev, vs.Names[i].Name)
			}
			declared[tok] = vs.Names[i].Name
		}
		return true
	})
	if len(declared) < 30 {
		t.Fatalf("found only %d errors in errors.go; the scan is broken", len(declared))
	}
	covered := map[string]bool{}
	for _, tc := range malformedFrames {
		covered[tc.token] = true
		if tc.err.Token != tc.token {
			t.Errorf("row %q uses error %q", tc.token, tc.err.Token)
		}
	}
	for tok, name := range declared {
		if !covered[tok] {
			t.Errorf("%s (%q) has no malformed-frame row", name, tok)
		}
	}
	for tok := range covered {
		if _, ok := declared[tok]; !ok {
			t.Errorf("row %q matches no error in errors.go", tok)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{ErrDataStream0, "frame: connection error PROTOCOL_ERROR: data_stream_0 (RFC 9113 §6.1)"},
		{ErrPriorityLength, "frame: stream error FRAME_SIZE_ERROR: priority_length (RFC 9113 §6.3)"},
		{ErrSettingWindowSize, "frame: connection error FLOW_CONTROL_ERROR: setting_initial_window_size (RFC 9113 §6.5.2)"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	if errors.Is(ErrNeedMore, ErrFrameTooLarge) || ErrNeedMore.Error() == "" {
		t.Error("ErrNeedMore must be distinct and described")
	}
	var e *Error
	if errors.As(ErrNeedMore, &e) {
		t.Error("ErrNeedMore must not be an *Error")
	}
}

// TestFrameTooLargeHeaderOnly: the limit is enforced from the 9 header bytes,
// before any payload arrives (RFC 9113 §4.2).
func TestFrameTooLargeHeaderOnly(t *testing.T) {
	for _, lim := range []uint32{0, 1, MinMaxFrameSize, 100000, MaxMaxFrameSize - 1} {
		l := lim + 1
		hdr := []byte{byte(l >> 16), byte(l >> 8), byte(l), byte(TypeData), 0, 0, 0, 0, 1}
		f, n, err := Parse(hdr, lim)
		if err != ErrFrameTooLarge || n != 0 {
			t.Errorf("max=%d: n=%d err=%v, want 0, ErrFrameTooLarge", lim, n, err)
		}
		if f.Length != l || f.Type != TypeData || f.StreamID != 1 {
			t.Errorf("max=%d: header = %+v", lim, f.Header)
		}
		// Fewer than 9 bytes is still "need more".
		if _, _, err := Parse(hdr[:HeaderLen-1], lim); err != ErrNeedMore {
			t.Errorf("max=%d, 8 bytes: err=%v, want ErrNeedMore", lim, err)
		}
	}
}

func TestSettingValid(t *testing.T) {
	for _, tc := range []struct {
		s    Setting
		want *Error
	}{
		{Setting{SettingEnablePush, 2}, ErrSettingEnablePush},
		{Setting{SettingEnablePush, 0xffffffff}, ErrSettingEnablePush},
		{Setting{SettingInitialWindowSize, 1 << 31}, ErrSettingWindowSize},
		{Setting{SettingInitialWindowSize, 0xffffffff}, ErrSettingWindowSize},
		{Setting{SettingMaxFrameSize, 0}, ErrSettingFrameSize},
		{Setting{SettingMaxFrameSize, 16383}, ErrSettingFrameSize},
		{Setting{SettingMaxFrameSize, 1 << 24}, ErrSettingFrameSize},
		{Setting{SettingMaxFrameSize, 0xffffffff}, ErrSettingFrameSize},
		{Setting{SettingEnableConnectProtocol, 2}, ErrSettingConnectProto},
		{Setting{SettingNoRFC7540Priorities, 2}, ErrSettingNoPriorities},

		{Setting{SettingEnablePush, 0}, nil},
		{Setting{SettingEnablePush, 1}, nil},
		{Setting{SettingInitialWindowSize, 0}, nil},
		{Setting{SettingInitialWindowSize, 1<<31 - 1}, nil},
		{Setting{SettingMaxFrameSize, 16384}, nil},
		{Setting{SettingMaxFrameSize, 1<<24 - 1}, nil},
		{Setting{SettingEnableConnectProtocol, 0}, nil},
		{Setting{SettingEnableConnectProtocol, 1}, nil},
		{Setting{SettingNoRFC7540Priorities, 0}, nil},
		{Setting{SettingNoRFC7540Priorities, 1}, nil},
		{Setting{SettingHeaderTableSize, 0xffffffff}, nil},
		{Setting{SettingMaxConcurrentStreams, 0}, nil},
		{Setting{SettingMaxConcurrentStreams, 0xffffffff}, nil},
		{Setting{SettingMaxHeaderListSize, 0xffffffff}, nil},
		{Setting{0x0, 0xffffffff}, nil}, // unknown IDs are ignored
		{Setting{0x7, 0xffffffff}, nil},
		{Setting{0xabcd, 0xffffffff}, nil},
		{Setting{0xffff, 0}, nil},
	} {
		err := tc.s.Valid()
		if tc.want == nil {
			if err != nil {
				t.Errorf("%v=%d: Valid() = %v, want nil", tc.s.ID, tc.s.Val, err)
			}
			continue
		}
		if err != tc.want { // pointer identity is the contract
			t.Errorf("%v=%d: Valid() = %v, want %v", tc.s.ID, tc.s.Val, err, tc.want)
		}
	}
}
