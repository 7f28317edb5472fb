package core_test

import (
	"testing"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// outcome is what a server must do with a scripted exchange, mirroring the
// verdicts of h2spec: a connection error (GOAWAY with one of codes), a stream
// error (RST_STREAM with one of codes, or GOAWAY with one of them), or a
// normal response.
type outcome struct {
	conn   []frame.ErrCode
	stream []frame.ErrCode
	ok     bool // a 200 response on stream 1 (HEADERS then DATA)
}

func connErr(codes ...frame.ErrCode) outcome   { return outcome{conn: codes} }
func streamErr(codes ...frame.ErrCode) outcome { return outcome{stream: codes} }

type scripted struct {
	name   string // h2spec id and description
	frames func(b *coretest.FrameBuilder) [][]byte
	want   outcome
}

var (
	get1  = func(b *coretest.FrameBuilder) []byte { return b.GET(1, "/") }
	open1 = func(b *coretest.FrameBuilder) []byte {
		return b.Headers(1, coretest.EndHeaders, coretest.Request("POST", "/")...)
	}
	cancel1 = func(b *coretest.FrameBuilder) []byte { return b.RST(1, frame.ErrCodeCancel) }
)

func frames(fs ...func(b *coretest.FrameBuilder) []byte) func(b *coretest.FrameBuilder) [][]byte {
	return func(b *coretest.FrameBuilder) [][]byte {
		out := make([][]byte, len(fs))
		for i, f := range fs {
			out[i] = f(b)
		}
		return out
	}
}

var serverScripts = []scripted{
	{"4.2/2 DATA larger than MAX_FRAME_SIZE", frames(open1, func(b *coretest.FrameBuilder) []byte {
		return b.Data(1, true, make([]byte, frame.MinMaxFrameSize+1))
	}), connErr(frame.ErrCodeFrameSize)},
	{"5.1/1 idle: DATA", frames(func(b *coretest.FrameBuilder) []byte { return b.Data(1, true, []byte("test")) }), connErr(frame.ErrCodeProtocol)},
	{"5.1/2 idle: RST_STREAM", frames(cancel1), connErr(frame.ErrCodeProtocol)},
	{"5.1/3 idle: WINDOW_UPDATE", frames(func(b *coretest.FrameBuilder) []byte { return b.WindowUpdate(1, 100) }), connErr(frame.ErrCodeProtocol)},
	{"5.1/4 idle: CONTINUATION", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Continuation(1, true, b.Block(coretest.Request("GET", "/")...))
	}), connErr(frame.ErrCodeProtocol)},
	{"5.1/5 half closed (remote): DATA", frames(get1, func(b *coretest.FrameBuilder) []byte { return b.Data(1, true, []byte("test")) }),
		streamErr(frame.ErrCodeStreamClosed)},
	{"5.1/6 half closed (remote): HEADERS", frames(get1, get1), streamErr(frame.ErrCodeStreamClosed)},
	{"5.1/7 half closed (remote): CONTINUATION", frames(get1, func(b *coretest.FrameBuilder) []byte {
		return b.Continuation(1, true, b.Block("x-dummy", "0"))
	}), streamErr(frame.ErrCodeStreamClosed, frame.ErrCodeProtocol)},
	{"5.1/8 closed: DATA after RST_STREAM", frames(open1, cancel1, func(b *coretest.FrameBuilder) []byte { return b.Data(1, true, []byte("test")) }),
		streamErr(frame.ErrCodeStreamClosed)},
	{"5.1/9 closed: HEADERS after RST_STREAM", frames(open1, cancel1, get1), streamErr(frame.ErrCodeStreamClosed)},
	{"5.1/10 closed: CONTINUATION after RST_STREAM", frames(open1, cancel1, func(b *coretest.FrameBuilder) []byte {
		return b.Continuation(1, true, b.Block("x-dummy", "0"))
	}), streamErr(frame.ErrCodeStreamClosed, frame.ErrCodeProtocol)},
	{"5.1.1/1 even stream identifier", frames(func(b *coretest.FrameBuilder) []byte { return b.GET(2, "/") }), connErr(frame.ErrCodeProtocol)},
	{"5.1.1/2 decreasing stream identifier", frames(func(b *coretest.FrameBuilder) []byte { return b.GET(5, "/") }, func(b *coretest.FrameBuilder) []byte { return b.GET(3, "/") }),
		connErr(frame.ErrCodeProtocol)},
	{"5.3.1/1 HEADERS depends on itself", frames(func(b *coretest.FrameBuilder) []byte {
		return frame.AppendHeaders(nil, frame.HeadersParam{StreamID: 1, Fragment: b.Block(coretest.Request("GET", "/")...),
			EndStream: true, EndHeaders: true, HasPriority: true, Priority: frame.Priority{StreamDep: 1, Weight: 255}})
	}), streamErr(frame.ErrCodeProtocol)},
	{"5.3.1/2 PRIORITY depends on itself", frames(func(b *coretest.FrameBuilder) []byte { return b.Priority(1, 1, false, 255) }),
		streamErr(frame.ErrCodeProtocol)},
	{"5.4.1/1 invalid frame causes GOAWAY", frames(func(b *coretest.FrameBuilder) []byte { return b.Raw(frame.TypePing, 0, 0, []byte{1}) }),
		connErr(frame.ErrCodeFrameSize)},
	{"5.5/1 unknown frame type is ignored", frames(func(b *coretest.FrameBuilder) []byte { return b.Raw(0xfa, 0, 0, []byte("x")) }, get1), outcome{ok: true}},
	{"5.5/2 unknown frame inside a field block", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Headers(1, coretest.EndStream, coretest.Request("GET", "/")...)
	}, func(b *coretest.FrameBuilder) []byte { return b.Raw(0xfa, 0, 1, []byte("x")) }), connErr(frame.ErrCodeProtocol)},
	{"6.1/1 DATA on stream 0", frames(func(b *coretest.FrameBuilder) []byte { return b.Data(0, true, []byte("x")) }), connErr(frame.ErrCodeProtocol)},
	{"6.1/3 DATA with invalid pad length", frames(open1, func(b *coretest.FrameBuilder) []byte {
		return b.Raw(frame.TypeData, frame.FlagDataPadded|frame.FlagDataEndStream, 1, []byte{6, 't', 'e', 's', 't'})
	}), connErr(frame.ErrCodeProtocol)},
	{"6.2/1 HEADERS then a frame other than CONTINUATION", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Headers(1, coretest.EndStream, coretest.Request("GET", "/")...)
	}, func(b *coretest.FrameBuilder) []byte { return b.Data(1, true, []byte("x")) }), connErr(frame.ErrCodeProtocol)},
	{"6.2/2 HEADERS then CONTINUATION on another stream", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Headers(1, coretest.EndStream, coretest.Request("GET", "/")...)
	}, func(b *coretest.FrameBuilder) []byte { return b.Continuation(3, true, b.Block("x-dummy", "0")) }), connErr(frame.ErrCodeProtocol)},
	{"6.2/3 HEADERS on stream 0", frames(func(b *coretest.FrameBuilder) []byte { return b.GET(0, "/") }), connErr(frame.ErrCodeProtocol)},
	{"6.3/1 PRIORITY on stream 0", frames(func(b *coretest.FrameBuilder) []byte { return b.Priority(0, 1, false, 255) }), connErr(frame.ErrCodeProtocol)},
	{"6.3/2 PRIORITY with length 4", frames(func(b *coretest.FrameBuilder) []byte { return b.Raw(frame.TypePriority, 0, 1, []byte{0, 0, 0, 3}) }),
		streamErr(frame.ErrCodeFrameSize)},
	{"6.4/1 RST_STREAM on stream 0", frames(func(b *coretest.FrameBuilder) []byte { return b.RST(0, frame.ErrCodeCancel) }), connErr(frame.ErrCodeProtocol)},
	{"6.4/3 RST_STREAM with length 3", frames(open1, func(b *coretest.FrameBuilder) []byte { return b.Raw(frame.TypeRSTStream, 0, 1, []byte{0, 0, 8}) }),
		connErr(frame.ErrCodeFrameSize)},
	{"6.5/1 SETTINGS ACK with payload", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Raw(frame.TypeSettings, frame.FlagSettingsAck, 0, []byte{0})
	}),
		connErr(frame.ErrCodeFrameSize)},
	{"6.5/2 SETTINGS on a stream", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Raw(frame.TypeSettings, 0, 1, []byte{0, 3, 0, 0, 0, 100})
	}), connErr(frame.ErrCodeProtocol)},
	{"6.5/3 SETTINGS length not a multiple of 6", frames(func(b *coretest.FrameBuilder) []byte { return b.Raw(frame.TypeSettings, 0, 0, []byte{0, 3, 0}) }),
		connErr(frame.ErrCodeFrameSize)},
	{"6.5.2/1 ENABLE_PUSH 2", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Settings(frame.Setting{ID: frame.SettingEnablePush, Val: 2})
	}),
		connErr(frame.ErrCodeProtocol)},
	{"6.5.2/2 INITIAL_WINDOW_SIZE above 2^31-1", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Settings(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 1 << 31})
	}), connErr(frame.ErrCodeFlowControl)},
	{"6.5.2/3 MAX_FRAME_SIZE below 2^14", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Settings(frame.Setting{ID: frame.SettingMaxFrameSize, Val: 16383})
	}), connErr(frame.ErrCodeProtocol)},
	{"6.5.2/4 MAX_FRAME_SIZE above 2^24-1", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Settings(frame.Setting{ID: frame.SettingMaxFrameSize, Val: 1 << 24})
	}), connErr(frame.ErrCodeProtocol)},
	{"6.7/3 PING on a stream", frames(func(b *coretest.FrameBuilder) []byte { return b.Raw(frame.TypePing, 0, 1, make([]byte, 8)) }), connErr(frame.ErrCodeProtocol)},
	{"6.7/4 PING with length 6", frames(func(b *coretest.FrameBuilder) []byte { return b.Raw(frame.TypePing, 0, 0, make([]byte, 6)) }), connErr(frame.ErrCodeFrameSize)},
	{"6.8/1 GOAWAY on a stream", frames(func(b *coretest.FrameBuilder) []byte { return b.Raw(frame.TypeGoAway, 0, 1, make([]byte, 8)) }), connErr(frame.ErrCodeProtocol)},
	{"6.9/1 WINDOW_UPDATE 0 on the connection", frames(func(b *coretest.FrameBuilder) []byte { return b.WindowUpdate(0, 0) }), connErr(frame.ErrCodeProtocol)},
	{"6.9/2 WINDOW_UPDATE 0 on a stream", frames(open1, func(b *coretest.FrameBuilder) []byte { return b.Raw(frame.TypeWindowUpdate, 0, 1, []byte{0, 0, 0, 0}) }),
		streamErr(frame.ErrCodeProtocol)},
	{"6.9/3 WINDOW_UPDATE with length 3", frames(func(b *coretest.FrameBuilder) []byte { return b.Raw(frame.TypeWindowUpdate, 0, 0, []byte{0, 0, 1}) }),
		connErr(frame.ErrCodeFrameSize)},
	{"6.9.1/2 connection window above 2^31-1", frames(func(b *coretest.FrameBuilder) []byte { return b.WindowUpdate(0, 1<<31-1) }),
		connErr(frame.ErrCodeFlowControl)},
	{"6.9.1/3 stream window above 2^31-1", frames(open1, func(b *coretest.FrameBuilder) []byte { return b.WindowUpdate(1, 1<<31-1) },
		func(b *coretest.FrameBuilder) []byte { return b.WindowUpdate(1, 1<<31-1) }), streamErr(frame.ErrCodeFlowControl)},
	{"6.10/2 CONTINUATION after END_HEADERS", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Headers(1, coretest.EndHeaders, coretest.Request("POST", "/")...)
	}, func(b *coretest.FrameBuilder) []byte { return b.Continuation(1, true, b.Block("x-dummy", "0")) }), connErr(frame.ErrCodeProtocol)},
	{"6.10/4 CONTINUATION on stream 0", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Headers(1, coretest.EndStream, coretest.Request("GET", "/")...)
	}, func(b *coretest.FrameBuilder) []byte { return b.Continuation(0, true, b.Block("x-dummy", "0")) }), connErr(frame.ErrCodeProtocol)},
	{"8.1/1 second HEADERS without END_STREAM", frames(open1, func(b *coretest.FrameBuilder) []byte { return b.Data(1, false, []byte("test")) },
		func(b *coretest.FrameBuilder) []byte { return b.Headers(1, coretest.EndHeaders, "x-test", "ok") }), streamErr(frame.ErrCodeProtocol)},
	{"8.1.2/1 uppercase field name", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Headers(1, coretest.EndStream|coretest.EndHeaders, coretest.Request("GET", "/", "X-TEST", "ok")...)
	}), streamErr(frame.ErrCodeProtocol)},
	{"8.1.2.1/1 unknown pseudo-header", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Headers(1, coretest.EndStream|coretest.EndHeaders, append(coretest.Request("GET", "/")[:8:8], ":test", "ok")...)
	}), streamErr(frame.ErrCodeProtocol)},
	{"8.1.2.1/2 response pseudo-header in a request", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Headers(1, coretest.EndStream|coretest.EndHeaders, append(coretest.Request("GET", "/")[:8:8], ":status", "200")...)
	}), streamErr(frame.ErrCodeProtocol)},
	{"8.1.2.1/3 pseudo-header in trailers", frames(open1, func(b *coretest.FrameBuilder) []byte { return b.Data(1, false, []byte("test")) },
		func(b *coretest.FrameBuilder) []byte {
			return b.Headers(1, coretest.EndStream|coretest.EndHeaders, ":method", "POST")
		}),
		streamErr(frame.ErrCodeProtocol)},
	{"8.1.2.1/4 pseudo-header after a regular field", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Headers(1, coretest.EndStream|coretest.EndHeaders, append([]string{"x-test", "ok"}, coretest.Request("GET", "/")...)...)
	}), streamErr(frame.ErrCodeProtocol)},
	{"8.1.2.2/1 connection-specific field", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Headers(1, coretest.EndStream|coretest.EndHeaders, coretest.Request("GET", "/", "connection", "keep-alive")...)
	}), streamErr(frame.ErrCodeProtocol)},
	{"8.1.2.2/2 te other than trailers", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Headers(1, coretest.EndStream|coretest.EndHeaders, coretest.Request("GET", "/", "trailers", "test", "te", "trailers, deflate")...)
	}), streamErr(frame.ErrCodeProtocol)},
	{"8.1.2.3/1 empty :path", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Headers(1, coretest.EndStream|coretest.EndHeaders, coretest.Request("GET", "")...)
	}), streamErr(frame.ErrCodeProtocol)},
	{"8.1.2.3/2 no :method", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Headers(1, coretest.EndStream|coretest.EndHeaders, ":path", "/", ":authority", "example.com")
	}), streamErr(frame.ErrCodeProtocol)},
	{"8.1.2.3/3 no :scheme", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Headers(1, coretest.EndStream|coretest.EndHeaders, ":method", "GET", ":path", "/", ":authority", "example.com")
	}), streamErr(frame.ErrCodeProtocol)},
	{"8.1.2.3/4 no :path", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Headers(1, coretest.EndStream|coretest.EndHeaders, ":method", "GET", ":scheme", "https", ":authority", "example.com")
	}), streamErr(frame.ErrCodeProtocol)},
	{"8.1.2.3/5 duplicate :method", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Headers(1, coretest.EndStream|coretest.EndHeaders, append(coretest.Request("GET", "/"), ":method", "GET")...)
	}), streamErr(frame.ErrCodeProtocol)},
	{"8.1.2.6/1 content-length larger than DATA", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Headers(1, coretest.EndHeaders, coretest.Request("POST", "/", "content-length", "1")...)
	}, func(b *coretest.FrameBuilder) []byte { return b.Data(1, true, []byte("test")) }), streamErr(frame.ErrCodeProtocol)},
	{"8.1.2.6/2 content-length vs several DATA", frames(func(b *coretest.FrameBuilder) []byte {
		return b.Headers(1, coretest.EndHeaders, coretest.Request("POST", "/", "content-length", "1")...)
	}, func(b *coretest.FrameBuilder) []byte { return b.Data(1, false, []byte("test")) },
		func(b *coretest.FrameBuilder) []byte { return b.Data(1, true, []byte("test")) }), streamErr(frame.ErrCodeProtocol)},
	{"8.2/1 PUSH_PROMISE from a client", frames(func(b *coretest.FrameBuilder) []byte {
		return frame.AppendPushPromise(nil, frame.PushPromiseParam{StreamID: 1, PromisedID: 2, Fragment: b.Block(coretest.Request("GET", "/")...), EndHeaders: true})
	}), connErr(frame.ErrCodeProtocol)},
	{"3.5 a plain GET works", frames(get1), outcome{ok: true}},
}

// TestServerScripts replays the h2spec server cases against a server core
// and checks the verdict h2spec would give (its pass rules: the Verify*
// helpers of summerwind/h2spec; a connection close is not accepted here).
func TestServerScripts(t *testing.T) {
	for _, sc := range serverScripts {
		t.Run(sc.name, func(t *testing.T) {
			p := coretest.NewServerPeer(t, core.Config{})
			p.Handler = coretest.Hello
			p.Handshake()
			p.WriteFrames(sc.frames(p.FB)...)
			p.Invariants()
			checkOutcome(t, p, sc.want)
		})
	}
}

func checkOutcome(t *testing.T, p *coretest.TestPeer, want outcome) {
	t.Helper()
	for {
		f, ok := p.NextFrame()
		if !ok {
			t.Fatalf("no verdict: the server went quiet (phase %v)", p.Conn.Phase())
		}
		switch {
		case f.Type == frame.TypeGoAway:
			if codeIn(f.ErrCode, want.conn) || codeIn(f.ErrCode, want.stream) {
				return
			}
			t.Fatalf("GOAWAY %v (%q), want %v", f.ErrCode, f.Data, want)
		case f.Type == frame.TypeRSTStream:
			if codeIn(f.ErrCode, want.stream) {
				return
			}
			t.Fatalf("RST_STREAM %v on stream %d, want %v", f.ErrCode, f.StreamID, want)
		case f.Type == frame.TypeData && want.ok:
			if string(f.Data) != "hello" {
				t.Fatalf("DATA %q, want hello", f.Data)
			}
			return
		case f.Type == frame.TypeHeaders || f.Type == frame.TypeSettings || f.Type == frame.TypeWindowUpdate || f.Type == frame.TypePing:
			continue
		default:
			t.Fatalf("unexpected %v, want %v", f.String(), want)
		}
	}
}

func codeIn(c frame.ErrCode, codes []frame.ErrCode) bool {
	for _, x := range codes {
		if x == c {
			return true
		}
	}
	return false
}
