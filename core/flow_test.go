package core_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
	"golang.org/x/net/http2/hpack"
)

// Flow control (RFC 9113 §5.2, §6.9, §6.9.1, §6.9.2): receive windows,
// send windows, SETTINGS_INITIAL_WINDOW_SIZE changes and WINDOW_UPDATE.
// The sending API (send buffers, Respond, trailers, scheduling) is in
// send_test.go; the helpers below serve both files.

// ---------------------------------------------------------------- helpers

// flowPeer wraps a TestPeer and takes every frame the Conn sends through
// NextFrame, decoding field blocks with its own HPACK decoder, so that
// tests can compare whole frame sequences (and parse the raw output of one
// PollTransmit) without desynchronising HPACK state.
type flowPeer struct {
	*coretest.TestPeer
	dec    *hpack.Decoder
	fields []string
}

// flowFrame is one frame sent by the Conn, with its field block decoded
// (HEADERS, CONTINUATION) as "name: value" lines.
type flowFrame struct {
	frame.Frame
	Fields string
}

func flowWrap(p *coretest.TestPeer) *flowPeer {
	fp := &flowPeer{TestPeer: p}
	fp.dec = hpack.NewDecoder(4096, func(f hpack.HeaderField) {
		fp.fields = append(fp.fields, f.Name+": "+f.Value)
	})
	return fp
}

// flowServer returns a server Conn opposite a scripted client that has
// completed the handshake with the given settings.
func flowServer(t testing.TB, cfg core.Config, settings ...frame.Setting) *flowPeer {
	t.Helper()
	p := coretest.NewServerPeer(t, cfg)
	p.Handshake(settings...)
	return flowWrap(p)
}

// flowClient returns a client Conn opposite a scripted server that has
// completed the handshake with the given settings.
func flowClient(t testing.TB, cfg core.Config, settings ...frame.Setting) *flowPeer {
	t.Helper()
	p := coretest.NewClientPeer(t, cfg)
	p.Handshake(settings...)
	return flowWrap(p)
}

func flowIWS(v uint32) frame.Setting {
	return frame.Setting{ID: frame.SettingInitialWindowSize, Val: v}
}

func flowMaxFrame(v uint32) frame.Setting {
	return frame.Setting{ID: frame.SettingMaxFrameSize, Val: v}
}

// flowBytes returns n bytes of recognisable content.
func flowBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

// decode runs a field-block fragment through the peer's decoder.
func (p *flowPeer) decode(f *flowFrame) {
	p.T.Helper()
	if f.Type != frame.TypeHeaders && f.Type != frame.TypeContinuation {
		return
	}
	if f.Type == frame.TypeHeaders {
		p.fields = p.fields[:0]
	}
	if _, err := p.dec.Write(f.Data); err != nil {
		p.T.Fatalf("undecodable field block on stream %d: %v", f.StreamID, err)
	}
	if f.Flags.Has(frame.FlagHeadersEndHeaders) {
		if err := p.dec.Close(); err != nil {
			p.T.Fatalf("truncated field block on stream %d: %v", f.StreamID, err)
		}
		f.Fields = strings.Join(p.fields, "\n")
	}
}

// drain returns every frame the Conn has to send now.
func (p *flowPeer) drain() []flowFrame {
	p.T.Helper()
	var out []flowFrame
	for {
		f, ok := p.NextFrame()
		if !ok {
			return out
		}
		ff := flowFrame{Frame: f}
		p.decode(&ff)
		out = append(out, ff)
	}
}

// parse splits the raw output of PollTransmit into frames.
func (p *flowPeer) parse(b []byte) []flowFrame {
	p.T.Helper()
	var out []flowFrame
	for len(b) > 0 {
		f, n, err := frame.Parse(b, frame.MaxMaxFrameSize)
		if err != nil {
			p.T.Fatalf("unparsable output: %v (%d bytes left)", err, len(b))
		}
		f.Data = append([]byte(nil), f.Data...)
		ff := flowFrame{Frame: f}
		p.decode(&ff)
		out = append(out, ff)
		b = b[n:]
	}
	return out
}

// flowDesc is a compact description of a frame for exact comparisons:
// DATA(stream,length[,ES]), WU(stream,increment), RST(stream,code),
// GOAWAY(last,code), HEADERS(stream[,ES][,noEH]), SETTINGS, SETTINGS_ACK.
func flowDesc(f *frame.Frame) string {
	switch f.Type {
	case frame.TypeData:
		s := fmt.Sprintf("DATA(%d,%d", f.StreamID, len(f.Data))
		if f.Padded {
			s += fmt.Sprintf(",pad=%d", f.PadLength)
		}
		if f.Flags.Has(frame.FlagDataEndStream) {
			s += ",ES"
		}
		return s + ")"
	case frame.TypeWindowUpdate:
		return fmt.Sprintf("WU(%d,%d)", f.StreamID, f.Increment)
	case frame.TypeRSTStream:
		return fmt.Sprintf("RST(%d,%v)", f.StreamID, f.ErrCode)
	case frame.TypeGoAway:
		return fmt.Sprintf("GOAWAY(%d,%v)", f.LastStreamID, f.ErrCode)
	case frame.TypeHeaders:
		s := fmt.Sprintf("HEADERS(%d", f.StreamID)
		if f.Flags.Has(frame.FlagHeadersEndStream) {
			s += ",ES"
		}
		if !f.Flags.Has(frame.FlagHeadersEndHeaders) {
			s += ",noEH"
		}
		return s + ")"
	case frame.TypeSettings:
		if f.IsAck() {
			return "SETTINGS_ACK"
		}
		return "SETTINGS"
	case frame.TypePing:
		if f.IsAck() {
			return "PING_ACK"
		}
		return "PING"
	}
	return f.Type.String()
}

func flowDescs(fs []flowFrame) []string {
	out := make([]string, len(fs))
	for i := range fs {
		out[i] = flowDesc(&fs[i].Frame)
	}
	return out
}

// want drains the Conn's output and requires exactly the described frames,
// in order. It returns the frames.
func (p *flowPeer) want(why string, want ...string) []flowFrame {
	p.T.Helper()
	fs := p.drain()
	if got := flowDescs(fs); !slices.Equal(got, want) {
		p.T.Fatalf("%s:\n got  %v\n want %v", why, got, want)
	}
	return fs
}

// wantSet is want where the order of the frames does not matter.
func (p *flowPeer) wantSet(why string, want ...string) []flowFrame {
	p.T.Helper()
	fs := p.drain()
	got := flowDescs(fs)
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		p.T.Fatalf("%s:\n got  %v\n want (any order) %v", why, got, want)
	}
	return fs
}

// wantReset requires the next event to be the terminal EventStreamReset of
// a stream with the given code, origin and token.
func (p *flowPeer) wantReset(why string, id uint32, code frame.ErrCode, remote bool, token string) core.Event {
	p.T.Helper()
	p.SkipEvents(flowConnEvents...)
	e := p.WantEvent(why, core.EventStreamReset)
	if e.StreamID != id || e.Code != code || e.Remote != remote || e.Token != token {
		p.T.Fatalf("%s: reset of stream %d code %v remote %v token %q; want stream %d code %v remote %v token %q",
			why, e.StreamID, e.Code, e.Remote, e.Token, id, code, remote, token)
	}
	return e
}

// wantConnErr requires the Conn to have ended with a local *ConnError.
func (p *flowPeer) wantConnErr(why string, code frame.ErrCode, token string) {
	p.T.Helper()
	var ce *core.ConnError
	if err := p.Conn.Err(); !errors.As(err, &ce) || ce.Code != code || ce.Token != token || ce.Remote {
		p.T.Fatalf("%s: Err() = %v, want local ConnError %v %q", why, p.Conn.Err(), code, token)
	}
}

// flowConnEvents are connection-level events tests skip over.
var flowConnEvents = []core.EventKind{core.EventSettings, core.EventSettingsAck, core.EventConnected}

// openPOST opens a request stream on a server Conn (no END_STREAM, so the
// peer may still send DATA) and takes its EventRequest.
func (p *flowPeer) openPOST(id uint32, extra ...string) {
	p.T.Helper()
	p.SkipEvents(flowConnEvents...)
	p.WriteFrames(p.FB.Headers(id, coretest.EndHeaders, coretest.Request("POST", "/", extra...)...))
	if e := p.WantEvent("request announced", core.EventRequest); e.StreamID != id {
		p.T.Fatalf("EventRequest on stream %d, want %d", e.StreamID, id)
	}
}

// openGET opens a GET (END_STREAM) on a server Conn and takes its
// EventRequest.
func (p *flowPeer) openGET(ids ...uint32) {
	p.T.Helper()
	for _, id := range ids {
		p.SkipEvents(flowConnEvents...)
		p.WriteFrames(p.FB.GET(id, "/"))
		if e := p.WantEvent("request announced", core.EventRequest); e.StreamID != id {
			p.T.Fatalf("EventRequest on stream %d, want %d", e.StreamID, id)
		}
	}
}

var flowGet = []core.HeaderField{
	{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
	{Name: ":authority", Value: "example.com"}, {Name: ":path", Value: "/"},
}

var flowPostFields = []core.HeaderField{
	{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "https"},
	{Name: ":authority", Value: "example.com"}, {Name: ":path", Value: "/"},
}

// request opens a client stream, takes its HEADERS and answers it with a
// 200 response (no END_STREAM), so that the peer may send DATA.
func (p *flowPeer) request(opts core.StreamOptions) uint32 {
	p.T.Helper()
	id, err := p.Conn.OpenStream(flowGet, opts)
	if err != nil {
		p.T.Fatalf("OpenStream: %v", err)
	}
	h := p.drain()
	if len(h) != 1 || h[0].Type != frame.TypeHeaders || h[0].StreamID != id {
		p.T.Fatalf("OpenStream sent %v, want one HEADERS on stream %d", flowDescs(h), id)
	}
	p.SkipEvents(flowConnEvents...)
	p.WriteFrames(p.FB.Headers(id, coretest.EndHeaders, coretest.Response("200")...))
	if e := p.WantEvent("response announced", core.EventResponse); e.StreamID != id {
		p.T.Fatalf("EventResponse on stream %d, want %d", e.StreamID, id)
	}
	return id
}

// wantData takes EventData events and returns how many content bytes they
// carried, requiring the last one's EndStream to be end.
func (p *flowPeer) wantData(why string, id uint32, events int, end bool) int {
	p.T.Helper()
	n := 0
	for i := 0; i < events; i++ {
		e := p.WantEvent(why, core.EventData)
		if e.StreamID != id {
			p.T.Fatalf("%s: EventData on stream %d, want %d", why, e.StreamID, id)
		}
		if i == events-1 && e.EndStream != end {
			p.T.Fatalf("%s: EventData EndStream %v, want %v", why, e.EndStream, end)
		}
		n += len(e.Data)
	}
	return n
}

func flowCheck(t testing.TB, what string, got, want int64) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %d, want %d", what, got, want)
	}
}

// ---------------------------------------------------- receive-side windows

// TestFlowRecvPrefaceAdvertisesWindows: the preface advertises
// Config.InitialWindowSize as SETTINGS_INITIAL_WINDOW_SIZE and raises the
// connection window from 65,535 to Config.ConnectionWindowSize with a
// WINDOW_UPDATE on stream 0 right after the SETTINGS (RFC 9113 §3.4,
// §6.5.2, §6.9.2).
func TestFlowRecvPrefaceAdvertisesWindows(t *testing.T) {
	cases := []struct {
		name     string
		role     core.Role
		cfg      core.Config
		iws, cws uint32
	}{
		{"RFC9113_6.9.2_server_defaults_256KiB_streams_1MiB_connection", core.RoleServer, core.Config{}, 256 << 10, 1 << 20},
		{"RFC9113_6.9.2_client_defaults_256KiB_streams_1MiB_connection", core.RoleClient, core.Config{}, 256 << 10, 1 << 20},
		{"RFC9113_6.9.2_server_custom_windows", core.RoleServer, core.Config{InitialWindowSize: 1000, ConnectionWindowSize: 100000}, 1000, 100000},
		{"RFC9113_6.9.2_client_custom_windows", core.RoleClient, core.Config{InitialWindowSize: 70000, ConnectionWindowSize: 65536}, 70000, 65536},
		{"RFC9113_6.9.2_RFC_initial_values_need_no_WINDOW_UPDATE", core.RoleServer, core.Config{InitialWindowSize: 65535, ConnectionWindowSize: 65535}, 65535, 65535},
		{"RFC9113_6.9.1_largest_windows_2^31-1", core.RoleServer, core.Config{InitialWindowSize: frame.MaxWindowSize, ConnectionWindowSize: frame.MaxWindowSize}, frame.MaxWindowSize, frame.MaxWindowSize},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var tp *coretest.TestPeer
			if tc.role == core.RoleServer {
				tp = coretest.NewServerPeer(t, tc.cfg)
			} else {
				tp = coretest.NewClientPeer(t, tc.cfg)
				tp.WantBytes("client magic", []byte(coretest.ClientPreface))
			}
			p := flowWrap(tp)
			flowCheck(t, "RecvWindow(0) before any input", p.Conn.RecvWindow(0), int64(tc.cws))
			fs := p.drain()
			if len(fs) == 0 || flowDesc(&fs[0].Frame) != "SETTINGS" {
				t.Fatalf("preface %v, want SETTINGS first", flowDescs(fs))
			}
			iws := uint32(65535) // the RFC's initial value, if not sent
			for i := 0; i < fs[0].NumSettings(); i++ {
				if s := fs[0].Setting(i); s.ID == frame.SettingInitialWindowSize {
					iws = s.Val
				}
			}
			if iws != tc.iws {
				t.Fatalf("advertised SETTINGS_INITIAL_WINDOW_SIZE %d, want %d", iws, tc.iws)
			}
			want := []string{"SETTINGS"}
			if tc.cws > 65535 {
				want = append(want, fmt.Sprintf("WU(0,%d)", tc.cws-65535))
			}
			if got := flowDescs(fs); !slices.Equal(got, want) {
				t.Fatalf("preface %v, want %v", got, want)
			}

			// Finish the handshake and check the windows in effect.
			if tc.role == core.RoleServer {
				p.WriteBytes([]byte(coretest.ClientPreface))
			}
			p.WriteFrames(p.FB.Settings(), p.FB.SettingsAck())
			p.want("ACK of the peer's SETTINGS", "SETTINGS_ACK")
			if got := p.Conn.LocalSettings().InitialWindowSize; got != tc.iws {
				t.Fatalf("LocalSettings().InitialWindowSize = %d after ACK, want %d", got, tc.iws)
			}
			var id uint32 = 1
			if tc.role == core.RoleServer {
				p.openPOST(1)
			} else {
				id = p.request(core.StreamOptions{})
			}
			flowCheck(t, "RecvWindow(stream)", p.Conn.RecvWindow(id), int64(tc.iws))
			flowCheck(t, "RecvWindow(0)", p.Conn.RecvWindow(0), int64(tc.cws))
			flowCheck(t, "RecvWindow(unknown stream)", p.Conn.RecvWindow(99), 0)
			p.Invariants()
		})
	}
}

// TestFlowRecvConfigWindowBounds: windows outside the RFC's range are
// refused by NewServer and NewClient (RFC 9113 §6.5.2, §6.9.2).
func TestFlowRecvConfigWindowBounds(t *testing.T) {
	cases := []struct {
		name string
		cfg  core.Config
		ok   bool
	}{
		{"RFC9113_6.5.2_InitialWindowSize_2^31-1_accepted", core.Config{InitialWindowSize: frame.MaxWindowSize}, true},
		{"RFC9113_6.5.2_InitialWindowSize_2^31_refused", core.Config{InitialWindowSize: frame.MaxWindowSize + 1}, false},
		{"RFC9113_6.9.2_ConnectionWindowSize_65535_accepted", core.Config{ConnectionWindowSize: 65535}, true},
		{"RFC9113_6.9.2_ConnectionWindowSize_below_65535_refused", core.Config{ConnectionWindowSize: 65534}, false},
		{"RFC9113_6.9.1_ConnectionWindowSize_2^31_refused", core.Config{ConnectionWindowSize: frame.MaxWindowSize + 1}, false},
		{"MaxSendFrameSize_below_2^14_refused", core.Config{MaxSendFrameSize: frame.MinMaxFrameSize - 1}, false},
		{"MaxSendFrameSize_2^24_refused", core.Config{MaxSendFrameSize: frame.MaxMaxFrameSize + 1}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errS := core.NewServer(coretest.Epoch, tc.cfg)
			_, errC := core.NewClient(coretest.Epoch, tc.cfg)
			if (errS == nil) != tc.ok || (errC == nil) != tc.ok {
				t.Fatalf("NewServer: %v, NewClient: %v; want accepted=%v", errS, errC, tc.ok)
			}
		})
	}
}

// TestFlowRecvStreamWindow: DATA, padding included, is charged to the
// stream window; one octet past it is a stream error FLOW_CONTROL_ERROR
// (RFC 9113 §6.9.1: "A receiver MAY respond with a stream error ... if it
// is unable to accept a frame"; §6.1: padding is counted). Accepted bytes
// are credited back automatically, padding at once.
func TestFlowRecvStreamWindow(t *testing.T) {
	type dataFrame struct {
		n   int
		pad int // -1: unpadded
	}
	cases := []struct {
		name    string
		frames  []dataFrame
		want    []string // output after the last frame
		reset   bool     // the last frame resets the stream
		content int      // bytes delivered to the application
	}{
		{"RFC9113_6.9.1_DATA_filling_the_stream_window_exactly_is_accepted",
			[]dataFrame{{100, -1}}, []string{"WU(1,100)"}, false, 100},
		{"RFC9113_6.9.1_DATA_one_octet_past_the_stream_window_is_stream_FLOW_CONTROL_ERROR",
			[]dataFrame{{101, -1}}, []string{"RST(1,FLOW_CONTROL_ERROR)"}, true, 0},
		{"RFC9113_6.1_padded_DATA_filling_the_window_exactly_is_accepted_padding_credited_first",
			[]dataFrame{{50, 49}}, []string{"WU(1,50)", "WU(1,50)"}, false, 50},
		{"RFC9113_6.1_padding_counts_against_the_stream_window_one_past_is_FLOW_CONTROL_ERROR",
			[]dataFrame{{50, 50}}, []string{"RST(1,FLOW_CONTROL_ERROR)"}, true, 0},
		{"RFC9113_6.1_pad_length_octet_counts_against_the_stream_window",
			[]dataFrame{{100, 0}}, []string{"RST(1,FLOW_CONTROL_ERROR)"}, true, 0},
		{"RFC9113_6.1_padding_only_DATA_is_credited_back_in_full",
			[]dataFrame{{0, 99}}, []string{"WU(1,100)"}, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := flowServer(t, core.Config{InitialWindowSize: 100})
			p.openPOST(1)
			for i, df := range tc.frames {
				var b []byte
				if df.pad < 0 {
					b = p.FB.Data(1, false, flowBytes(df.n))
				} else {
					b = p.FB.DataPadded(1, false, flowBytes(df.n), uint8(df.pad))
				}
				p.WriteFrames(b)
				if i < len(tc.frames)-1 {
					p.drain()
				}
			}
			p.want("after the DATA", tc.want...)
			if tc.reset {
				p.wantReset("stream reset", 1, frame.ErrCodeFlowControl, false, "stream_window_exceeded")
				if s := p.Conn.StreamState(1); s != core.StateClosed {
					t.Fatalf("stream state %v, want closed", s)
				}
			} else {
				got := 0
				for len(p.Events) > 0 && p.Events[0].Kind == core.EventData {
					got += len(p.WantEvent("data", core.EventData).Data)
				}
				if got != tc.content {
					t.Fatalf("delivered %d bytes, want %d", got, tc.content)
				}
				flowCheck(t, "RecvWindow(1) after credit", p.Conn.RecvWindow(1), 100)
			}
			p.WantNoEvent("nothing else")
			if ph := p.Conn.Phase(); ph != core.PhaseConnected {
				t.Fatalf("phase %v: a stream error must not end the connection", ph)
			}
			p.Invariants()
		})
	}
}

// TestFlowRecvStreamWindowExceededReturnsConnectionCredit: the DATA that
// broke the stream window was charged to the connection window (RFC 9113
// §6.9: "A receiver ... MUST always account for its contribution against
// the connection flow-control window"), and since it will never be
// consumed, it is returned; more DATA in flight on the reset stream is
// returned too.
func TestFlowRecvStreamWindowExceededReturnsConnectionCredit(t *testing.T) {
	p := flowServer(t, core.Config{InitialWindowSize: 1000, ConnectionWindowSize: 65535})
	p.openPOST(1)
	p.WriteFrames(p.FB.Data(1, false, flowBytes(16384)))
	p.wantSet("RFC9113_6.9.1 stream error, connection credit returned", "RST(1,FLOW_CONTROL_ERROR)", "WU(0,16384)")
	p.wantReset("reset", 1, frame.ErrCodeFlowControl, false, "stream_window_exceeded")
	flowCheck(t, "RecvWindow(0)", p.Conn.RecvWindow(0), 65535)

	// DATA the peer sent before seeing our RST_STREAM.
	p.WriteFrames(p.FB.Data(1, false, flowBytes(16384)))
	p.want("RFC9113_5.1 DATA after our RST_STREAM is ignored, its window returned", "WU(0,16384)")
	p.WantNoEvent("nothing delivered")
	flowCheck(t, "RecvWindow(0)", p.Conn.RecvWindow(0), 65535)
	p.Invariants()
}

// TestFlowRecvConnectionWindow: DATA beyond the connection window is a
// connection error FLOW_CONTROL_ERROR (RFC 9113 §6.9.1), whatever stream
// it is on.
func TestFlowRecvConnectionWindow(t *testing.T) {
	t.Run("RFC9113_6.9.1_one_frame_filling_the_connection_window_exactly_is_accepted", func(t *testing.T) {
		p := flowServer(t, core.Config{InitialWindowSize: 1 << 20, ConnectionWindowSize: 65535, MaxFrameSize: 1 << 17})
		p.openPOST(1)
		p.WriteFrames(p.FB.Data(1, false, flowBytes(65535)))
		p.want("connection credit returned at once (≥ a quarter)", "WU(0,65535)")
		if n := p.wantData("data", 1, 1, false); n != 65535 {
			t.Fatalf("delivered %d", n)
		}
		p.Invariants()
	})
	t.Run("RFC9113_6.9.1_one_frame_one_octet_past_the_connection_window_is_GOAWAY_FLOW_CONTROL_ERROR", func(t *testing.T) {
		p := flowServer(t, core.Config{InitialWindowSize: 1 << 20, ConnectionWindowSize: 65535, MaxFrameSize: 1 << 17})
		p.openPOST(1)
		p.WriteFrames(p.FB.Data(1, false, flowBytes(65536)))
		p.want("connection error", "GOAWAY(1,FLOW_CONTROL_ERROR)")
		p.wantConnErr("Err", frame.ErrCodeFlowControl, "connection_window_exceeded")
		e := p.wantReset("open stream ends with the connection", 1, frame.ErrCodeFlowControl, false, "connection_closed")
		if e.Err == nil {
			t.Fatal("EventStreamReset.Err is nil, want the connection's error")
		}
		p.Invariants()
	})
	t.Run("RFC9113_6.9.1_DATA_across_streams_past_the_connection_window_is_GOAWAY_FLOW_CONTROL_ERROR", func(t *testing.T) {
		// Manual streams return nothing, so the window really fills up.
		p := flowClient(t, core.Config{InitialWindowSize: 1 << 20, ConnectionWindowSize: 65535})
		a := p.request(core.StreamOptions{EndStream: true, ManualFlowControl: true})
		b := p.request(core.StreamOptions{EndStream: true, ManualFlowControl: true})
		p.WriteFrames(p.FB.Data(a, false, flowBytes(16384)), p.FB.Data(b, false, flowBytes(16384)),
			p.FB.Data(a, false, flowBytes(16384)), p.FB.Data(b, false, flowBytes(16383)))
		p.want("65,535 octets fit the connection window; nothing returned yet")
		flowCheck(t, "RecvWindow(0)", p.Conn.RecvWindow(0), 0)
		if n := p.wantData("data", a, 1, false) + p.wantData("data", b, 1, false) +
			p.wantData("data", a, 1, false) + p.wantData("data", b, 1, false); n != 65535 {
			t.Fatalf("delivered %d", n)
		}
		p.WriteFrames(p.FB.Data(a, false, []byte("x")))
		p.want("one octet more", "GOAWAY(0,FLOW_CONTROL_ERROR)")
		p.wantConnErr("Err", frame.ErrCodeFlowControl, "connection_window_exceeded")
		p.Invariants()
	})
	t.Run("RFC9113_6.9.1_padding_counts_against_the_connection_window", func(t *testing.T) {
		p := flowClient(t, core.Config{InitialWindowSize: 1 << 20, ConnectionWindowSize: 65535})
		a := p.request(core.StreamOptions{EndStream: true, ManualFlowControl: true})
		// 3 × 16,384 + 16,382 = 65,534 octets, then 1 data octet + 1 pad
		// length octet: 65,536.
		p.WriteFrames(p.FB.Data(a, false, flowBytes(16384)), p.FB.Data(a, false, flowBytes(16384)),
			p.FB.Data(a, false, flowBytes(16384)), p.FB.Data(a, false, flowBytes(16382)))
		p.want("nothing returned")
		p.WriteFrames(p.FB.DataPadded(a, false, []byte("x"), 0))
		p.want("the pad length octet is flow-controlled", "GOAWAY(0,FLOW_CONTROL_ERROR)")
		p.Invariants()
	})
}

// TestFlowRecvAutoWindowUpdate: in automatic mode, delivered bytes are
// returned in batches: a WINDOW_UPDATE goes out once the bytes not yet
// returned reach a quarter of the window, with all of them as increment,
// and none before (core/doc.go "Flow control"; RFC 9113 §6.9).
func TestFlowRecvAutoWindowUpdate(t *testing.T) {
	cases := []struct {
		name     string
		cfg      core.Config
		iws, cws int
		size     int // DATA payload per frame
		frames   int
	}{
		{"RFC9113_6.9_defaults_16KiB_frames_stream_every_64KiB_connection_every_256KiB", core.Config{}, 256 << 10, 1 << 20, 16384, 40},
		{"RFC9113_6.9_uneven_frames_increment_is_everything_pending", core.Config{}, 256 << 10, 1 << 20, 10000, 60},
		{"RFC9113_6.9_small_windows", core.Config{InitialWindowSize: 400, ConnectionWindowSize: 65535}, 400, 65535, 33, 700},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := flowServer(t, tc.cfg)
			p.openPOST(1)
			pendS, pendC := 0, 0
			for i := 0; i < tc.frames; i++ {
				p.WriteFrames(p.FB.Data(1, false, flowBytes(tc.size)))
				pendS += tc.size
				pendC += tc.size
				var want []string
				if pendS >= tc.iws/4 {
					want = append(want, fmt.Sprintf("WU(1,%d)", pendS))
					pendS = 0
				}
				if pendC >= tc.cws/4 {
					want = append(want, fmt.Sprintf("WU(0,%d)", pendC))
					pendC = 0
				}
				p.want(fmt.Sprintf("after frame %d (%d octets not yet returned to the stream, %d to the connection)", i+1, pendS, pendC), want...)
				p.wantData("data", 1, 1, false)
				flowCheck(t, "RecvWindow(1)", p.Conn.RecvWindow(1), int64(tc.iws-pendS))
				flowCheck(t, "RecvWindow(0)", p.Conn.RecvWindow(0), int64(tc.cws-pendC))
			}
			p.Invariants()
		})
	}
}

// TestFlowRecvAutoEndStreamStillReturnsConnectionWindow: the last DATA of
// a stream is credited to the connection even though the stream's own
// window no longer matters.
func TestFlowRecvAutoEndStreamStillReturnsConnectionWindow(t *testing.T) {
	p := flowServer(t, core.Config{ConnectionWindowSize: 65535})
	p.openPOST(1)
	p.WriteFrames(p.FB.Data(1, false, flowBytes(10000)), p.FB.Data(1, true, flowBytes(10000)))
	fs := p.drain()
	var conn []string
	for _, f := range fs {
		if f.Type == frame.TypeWindowUpdate && f.StreamID == 0 {
			conn = append(conn, flowDesc(&f.Frame))
		}
	}
	if !slices.Equal(conn, []string{"WU(0,20000)"}) {
		t.Fatalf("RFC9113_6.9 connection credit after END_STREAM: %v, want [WU(0,20000)] (all frames %v)", conn, flowDescs(fs))
	}
	flowCheck(t, "RecvWindow(0)", p.Conn.RecvWindow(0), 65535)
	p.Invariants()
}

// TestFlowRecvManual: with StreamOptions.ManualFlowControl nothing is
// returned until Consume, which credits the stream and the connection
// (core/doc.go "Flow control"; DESIGN §3).
func TestFlowRecvManual(t *testing.T) {
	small := core.Config{InitialWindowSize: 65535, ConnectionWindowSize: 65535}

	t.Run("RFC9113_6.9_no_WINDOW_UPDATE_until_Consume_then_both_windows_credited", func(t *testing.T) {
		p := flowClient(t, small)
		id := p.request(core.StreamOptions{EndStream: true, ManualFlowControl: true})
		p.WriteFrames(p.FB.Data(id, false, flowBytes(16384)), p.FB.Data(id, false, flowBytes(16384)),
			p.FB.Data(id, false, flowBytes(16384)), p.FB.Data(id, false, flowBytes(16383)))
		p.want("both windows full, nothing consumed: no WINDOW_UPDATE")
		if n := p.wantData("data", id, 4, false); n != 65535 {
			t.Fatalf("delivered %d", n)
		}
		flowCheck(t, "RecvWindow(stream)", p.Conn.RecvWindow(id), 0)
		flowCheck(t, "RecvWindow(0)", p.Conn.RecvWindow(0), 0)

		if err := p.Conn.Consume(id, 16382); err != nil {
			t.Fatal(err)
		}
		p.want("below a quarter window (16,383): nothing yet")
		if err := p.Conn.Consume(id, 1); err != nil {
			t.Fatal(err)
		}
		p.want("a quarter window consumed: stream and connection credited", fmt.Sprintf("WU(%d,16383)", id), "WU(0,16383)")
		if err := p.Conn.Consume(id, 65535-16383); err != nil {
			t.Fatal(err)
		}
		p.want("the rest consumed", fmt.Sprintf("WU(%d,49152)", id), "WU(0,49152)")
		flowCheck(t, "RecvWindow(stream)", p.Conn.RecvWindow(id), 65535)
		flowCheck(t, "RecvWindow(0)", p.Conn.RecvWindow(0), 65535)
		if err := p.Conn.Consume(id, 1); !errors.Is(err, core.ErrConsumeTooMuch) {
			t.Fatalf("Consume past what was delivered: %v, want ErrConsumeTooMuch", err)
		}
		p.want("a refused Consume sends nothing")
		p.Invariants()
	})

	t.Run("Consume_more_than_delivered_is_ErrConsumeTooMuch", func(t *testing.T) {
		p := flowClient(t, small)
		id := p.request(core.StreamOptions{EndStream: true, ManualFlowControl: true})
		p.WriteFrames(p.FB.Data(id, false, flowBytes(10)))
		p.wantData("data", id, 1, false)
		for _, n := range []int{11, -1} {
			if err := p.Conn.Consume(id, n); !errors.Is(err, core.ErrConsumeTooMuch) {
				t.Fatalf("Consume(%d) after 10 delivered: %v, want ErrConsumeTooMuch", n, err)
			}
		}
		for _, n := range []int{4, 6, 0} {
			if err := p.Conn.Consume(id, n); err != nil {
				t.Fatalf("Consume(%d): %v", n, err)
			}
		}
		if err := p.Conn.Consume(id, 1); !errors.Is(err, core.ErrConsumeTooMuch) {
			t.Fatalf("Consume after everything was consumed: %v, want ErrConsumeTooMuch", err)
		}
		p.want("10 octets are below the batching threshold")
		p.Invariants()
	})

	t.Run("Consume_on_an_automatic_stream_is_ErrNotManualFlowControl", func(t *testing.T) {
		p := flowClient(t, small)
		id := p.request(core.StreamOptions{EndStream: true})
		p.WriteFrames(p.FB.Data(id, false, flowBytes(10)))
		p.wantData("data", id, 1, false)
		if err := p.Conn.Consume(id, 10); !errors.Is(err, core.ErrNotManualFlowControl) {
			t.Fatalf("Consume on an auto stream: %v, want ErrNotManualFlowControl", err)
		}
		p.want("nothing sent")
	})

	t.Run("Consume_on_a_server_stream_is_ErrNotManualFlowControl", func(t *testing.T) {
		p := flowServer(t, core.Config{})
		p.openPOST(1)
		p.WriteFrames(p.FB.Data(1, false, flowBytes(10)))
		if err := p.Conn.Consume(1, 10); !errors.Is(err, core.ErrNotManualFlowControl) {
			t.Fatalf("Consume on a server stream: %v, want ErrNotManualFlowControl", err)
		}
	})

	t.Run("Consume_on_an_idle_stream_is_ErrStreamNotFound", func(t *testing.T) {
		p := flowClient(t, small)
		if err := p.Conn.Consume(99, 1); !errors.Is(err, core.ErrStreamNotFound) {
			t.Fatalf("Consume(99): %v, want ErrStreamNotFound", err)
		}
	})

	t.Run("RFC9113_6.9.1_manual_stream_window_is_cumulative_one_past_is_FLOW_CONTROL_ERROR", func(t *testing.T) {
		p := flowClient(t, core.Config{InitialWindowSize: 100})
		id := p.request(core.StreamOptions{EndStream: true, ManualFlowControl: true})
		p.WriteFrames(p.FB.Data(id, false, flowBytes(60)))
		p.wantData("data", id, 1, false)
		p.want("nothing returned in manual mode")
		p.WriteFrames(p.FB.Data(id, false, flowBytes(41)))
		p.want("101 octets in a 100-octet window", fmt.Sprintf("RST(%d,FLOW_CONTROL_ERROR)", id))
		p.wantReset("reset", id, frame.ErrCodeFlowControl, false, "stream_window_exceeded")
		if err := p.Conn.Consume(id, 60); err != nil {
			t.Fatalf("Consume on a closed stream: %v, want nil (no-op)", err)
		}
		p.want("nothing after Consume on a closed stream")
		p.Invariants()
	})

	t.Run("RFC9113_6.1_padding_is_credited_to_both_windows_without_Consume", func(t *testing.T) {
		p := flowClient(t, small)
		id := p.request(core.StreamOptions{EndStream: true, ManualFlowControl: true})
		// Each frame: 10 data octets, 255 padding, 1 pad length octet: 256
		// octets of padding credited per frame. A quarter window is 16,383:
		// reached at the 64th frame (16,384).
		for i := 1; i <= 64; i++ {
			p.WriteFrames(p.FB.DataPadded(id, false, flowBytes(10), 255))
			if i < 64 {
				p.want(fmt.Sprintf("frame %d: %d octets of padding pending", i, 256*i))
			}
		}
		p.want("padding credited to the stream and the connection", fmt.Sprintf("WU(%d,16384)", id), "WU(0,16384)")
		if n := p.wantData("data", id, 64, false); n != 640 {
			t.Fatalf("delivered %d, want 640", n)
		}
		flowCheck(t, "RecvWindow(stream)", p.Conn.RecvWindow(id), 65535-640)
		flowCheck(t, "RecvWindow(0)", p.Conn.RecvWindow(0), 65535-640)
		p.Invariants()
	})

	t.Run("unconsumed_bytes_of_a_stream_ended_by_END_STREAM_return_to_the_connection", func(t *testing.T) {
		p := flowClient(t, small)
		id := p.request(core.StreamOptions{EndStream: true, ManualFlowControl: true})
		p.WriteFrames(p.FB.Data(id, false, flowBytes(16000)))
		p.want("nothing consumed")
		p.WriteFrames(p.FB.Data(id, true, flowBytes(500)))
		p.want("the closed stream's 16,500 unconsumed octets go back to the connection", "WU(0,16500)")
		p.wantData("data", id, 2, true)
		if e := p.WantEvent("closed", core.EventStreamClosed); e.StreamID != id {
			t.Fatalf("closed stream %d", e.StreamID)
		}
		if err := p.Conn.Consume(id, 16500); err != nil {
			t.Fatalf("Consume after close: %v, want nil (no-op)", err)
		}
		p.want("no double credit after close")
		flowCheck(t, "RecvWindow(0)", p.Conn.RecvWindow(0), 65535)
		p.Invariants()
	})

	t.Run("unconsumed_bytes_of_a_stream_reset_by_the_peer_return_to_the_connection", func(t *testing.T) {
		p := flowClient(t, small)
		id := p.request(core.StreamOptions{EndStream: true, ManualFlowControl: true})
		p.WriteFrames(p.FB.Data(id, false, flowBytes(16384)), p.FB.RST(id, frame.ErrCodeCancel))
		p.want("credit returned on RST_STREAM", "WU(0,16384)")
		p.wantData("data", id, 1, false)
		p.wantReset("peer reset", id, frame.ErrCodeCancel, true, "peer_reset")
		flowCheck(t, "RecvWindow(0)", p.Conn.RecvWindow(0), 65535)
		p.Invariants()
	})

	t.Run("unconsumed_bytes_of_a_stream_we_reset_return_to_the_connection", func(t *testing.T) {
		p := flowClient(t, small)
		id := p.request(core.StreamOptions{EndStream: true, ManualFlowControl: true})
		p.WriteFrames(p.FB.Data(id, false, flowBytes(16384)))
		p.wantData("data", id, 1, false)
		if err := p.Conn.ResetStream(id, frame.ErrCodeCancel); err != nil {
			t.Fatal(err)
		}
		p.wantSet("RST_STREAM and the connection credit", fmt.Sprintf("RST(%d,CANCEL)", id), "WU(0,16384)")
		p.wantReset("local reset", id, frame.ErrCodeCancel, false, "local_reset")
		// DATA in flight before the peer saw the RST_STREAM.
		p.WriteFrames(p.FB.Data(id, false, flowBytes(16384)))
		p.want("RFC9113_5.1 in-flight DATA after our RST_STREAM: ignored, credit returned", "WU(0,16384)")
		p.WantNoEvent("nothing delivered")
		p.Invariants()
	})

	t.Run("RFC9113_5.1_Consume_after_the_peer_ended_its_side_credits_only_the_connection", func(t *testing.T) {
		p := flowClient(t, small)
		id, err := p.Conn.OpenStream(flowPostFields, core.StreamOptions{ManualFlowControl: true})
		if err != nil {
			t.Fatal(err)
		}
		p.drain()
		p.WriteFrames(p.FB.Headers(id, coretest.EndHeaders, coretest.Response("200")...),
			p.FB.Data(id, true, flowBytes(16384)))
		p.WantEvent("response", core.EventResponse)
		p.wantData("data", id, 1, true)
		if s := p.Conn.StreamState(id); s != core.StateHalfClosedRemote {
			t.Fatalf("state %v, want half_closed_remote", s)
		}
		p.want("nothing consumed yet")
		if err := p.Conn.Consume(id, 16384); err != nil {
			t.Fatal(err)
		}
		p.want("the peer can send no more on the stream: connection credit only", "WU(0,16384)")
		p.Invariants()
	})

	t.Run("automatic_stream_credits_the_connection_beside_a_stalled_manual_stream", func(t *testing.T) {
		p := flowClient(t, small)
		m := p.request(core.StreamOptions{EndStream: true, ManualFlowControl: true})
		a := p.request(core.StreamOptions{EndStream: true})
		p.WriteFrames(p.FB.Data(m, false, flowBytes(16384)), p.FB.Data(a, false, flowBytes(16383)))
		p.want("only the automatic stream's bytes are returned", fmt.Sprintf("WU(%d,16383)", a), "WU(0,16383)")
		flowCheck(t, "RecvWindow(0)", p.Conn.RecvWindow(0), 65535-16384)
		p.Invariants()
	})
}

// TestFlowRecvManualPair: end to end, a client reading in manual mode
// holds the server's sending at the window until it consumes.
func TestFlowRecvManualPair(t *testing.T) {
	const size = 100000
	body := flowBytes(size)
	pair, err := coretest.NewPair(1, core.Config{InitialWindowSize: 65535, ConnectionWindowSize: 65535},
		core.Config{Limits: core.Limits{StreamSendBuffer: 200000}})
	if err != nil {
		t.Fatal(err)
	}
	got, closed := 0, false
	pair.OnEvent = func(side coretest.Side, e *core.Event) {
		switch {
		case side == coretest.Server && e.Kind == core.EventRequest:
			if err := pair.Server.Respond(e.StreamID, 200, nil, body); err != nil {
				t.Errorf("Respond: %v", err)
			}
		case side == coretest.Client && e.Kind == core.EventData:
			got += len(e.Data)
		case side == coretest.Client && e.Kind == core.EventStreamClosed:
			closed = true
		}
	}
	pair.Drive()
	id, err := pair.Client.OpenStream(flowGet, core.StreamOptions{EndStream: true, ManualFlowControl: true})
	if err != nil {
		t.Fatal(err)
	}
	pair.Drive()
	if got != 65535 {
		t.Fatalf("client received %d octets before consuming, want 65535 (one window)", got)
	}
	flowCheck(t, "server SendWindow(1)", pair.Server.SendWindow(id), 0)
	flowCheck(t, "server SendWindow(0)", pair.Server.SendWindow(0), 0)
	flowCheck(t, "server Buffered(1)", int64(pair.Server.Buffered(id)), size-65535)

	if err := pair.Client.Consume(id, 20000); err != nil {
		t.Fatal(err)
	}
	pair.Drive()
	if got != 85535 {
		t.Fatalf("client received %d octets after consuming 20,000, want 85535", got)
	}
	flowCheck(t, "server Buffered(1)", int64(pair.Server.Buffered(id)), size-85535)
	if err := pair.Client.Consume(id, 65535); err != nil {
		t.Fatal(err)
	}
	pair.Drive()
	if got != size || !closed {
		t.Fatalf("client received %d octets (closed %v), want %d and closed", got, closed, size)
	}
	// The last 14,465 octets were returned to the connection when the
	// stream closed, but stay batched below a quarter window (16,383).
	flowCheck(t, "client RecvWindow(0) after the stream closed", pair.Client.RecvWindow(0), 65535-14465)
	if err := pair.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestFlowRecvDataAfterOurResetReturnsConnectionWindow: DATA arriving on a
// stream we reset is ignored, but "flow-controlled frames (i.e., DATA)
// received after sending RST_STREAM are counted toward the connection
// flow-control window" (RFC 9113 §5.1, §6.9), and returned.
func TestFlowRecvDataAfterOurResetReturnsConnectionWindow(t *testing.T) {
	p := flowServer(t, core.Config{ConnectionWindowSize: 65535})
	p.openPOST(1)
	if err := p.Conn.ResetStream(1, frame.ErrCodeCancel); err != nil {
		t.Fatal(err)
	}
	p.want("our RST_STREAM", "RST(1,CANCEL)")
	p.wantReset("local reset", 1, frame.ErrCodeCancel, false, "local_reset")
	for i := 0; i < 8; i++ { // 8 × 16,384 > 65,535: only works if returned
		p.WriteFrames(p.FB.Data(1, false, flowBytes(16384)))
		p.want(fmt.Sprintf("RFC9113_5.1_frame_%d_ignored_and_returned", i+1), "WU(0,16384)")
	}
	p.WriteFrames(p.FB.DataPadded(1, true, flowBytes(16183), 200))
	p.want("RFC9113_6.1_padded_DATA_after_reset_returned_whole", "WU(0,16384)")
	p.WantNoEvent("nothing delivered")
	if ph := p.Conn.Phase(); ph != core.PhaseConnected {
		t.Fatalf("phase %v, want connected", ph)
	}
	flowCheck(t, "RecvWindow(0)", p.Conn.RecvWindow(0), 65535)
	p.Invariants()
}

// TestFlowRecvHeldBackData: DATA that is not delivered is still accounted
// for: on a half-closed (remote) stream it is a stream error whose bytes
// go back to the connection (RFC 9113 §5.1, §6.9); on a stream waiting to
// be surfaced (DESIGN §5) it is held, uncredited, until the stream is
// surfaced, or returned when the stream ends first.
func TestFlowRecvHeldBackData(t *testing.T) {
	t.Run("RFC9113_5.1_DATA_on_half_closed_remote_is_STREAM_CLOSED_and_its_window_returned", func(t *testing.T) {
		p := flowServer(t, core.Config{ConnectionWindowSize: 65535})
		p.openGET(1)
		p.WriteFrames(p.FB.Data(1, false, flowBytes(16384)))
		p.wantSet("stream error, window returned", "RST(1,STREAM_CLOSED)", "WU(0,16384)")
		p.wantReset("reset", 1, frame.ErrCodeStreamClosed, false, "frame_on_half_closed_stream")
		p.Invariants()
	})
	// pendingSetup leaves stream 1 held (reset by the peer, not released)
	// with MaxConcurrentStreams 1, so stream 3 waits to be surfaced, and
	// sends 16,384 octets on stream 3.
	pendingSetup := func(t *testing.T) *flowPeer {
		p := flowServer(t, core.Config{MaxConcurrentStreams: 1, ConnectionWindowSize: 65535})
		p.openPOST(1)
		p.WriteFrames(p.FB.RST(1, frame.ErrCodeCancel))
		p.wantReset("peer reset; still held", 1, frame.ErrCodeCancel, true, "peer_reset")
		p.WriteFrames(p.FB.Headers(3, coretest.EndHeaders, coretest.Request("POST", "/")...),
			p.FB.Data(3, false, flowBytes(16384)))
		p.WantNoEvent("stream 3 waits for a slot")
		if held, pending := p.Conn.HeldStreams(); held != 1 || pending != 1 {
			t.Fatalf("HeldStreams = %d, %d; want 1, 1", held, pending)
		}
		p.want("DATA held back: nothing returned")
		flowCheck(t, "RecvWindow(0)", p.Conn.RecvWindow(0), 65535-16384)
		return p
	}
	t.Run("DESIGN_5_pending_stream_DATA_is_credited_when_surfaced", func(t *testing.T) {
		p := pendingSetup(t)
		if err := p.Conn.ReleaseStream(1); err != nil {
			t.Fatal(err)
		}
		p.want("delivered now, so returned", "WU(0,16384)")
		if e := p.WantEvent("surfaced", core.EventRequest); e.StreamID != 3 {
			t.Fatalf("EventRequest on %d", e.StreamID)
		}
		if n := p.wantData("replayed", 3, 1, false); n != 16384 {
			t.Fatalf("replayed %d", n)
		}
		p.Invariants()
	})
	t.Run("DESIGN_5_pending_stream_DATA_is_returned_when_the_peer_resets_it", func(t *testing.T) {
		p := pendingSetup(t)
		p.WriteFrames(p.FB.RST(3, frame.ErrCodeCancel))
		p.want("never delivered, returned", "WU(0,16384)")
		p.WantNoEvent("stream 3 was never announced")
		p.Invariants()
	})
}

// TestFlowRecvStreamErrorReturnsConnectionWindow: DATA that provokes a
// stream error (content-length mismatch, content where none is allowed)
// has been charged to the connection window; the stream is reset, so the
// bytes will never be consumed and must be returned, or every such error
// shrinks the connection window for good (RFC 9113 §6.9; core's closeStream:
// "a closed stream cannot keep it shut"). With a 65,535-octet connection
// window, four rejected 16 KiB frames would otherwise close the connection.
func TestFlowRecvStreamErrorReturnsConnectionWindow(t *testing.T) {
	cases := []struct {
		name   string
		server bool
		open   func(p *flowPeer, id uint32)
	}{
		{"RFC9113_8.1.1_content-length_exceeded_on_a_request", true, func(p *flowPeer, id uint32) {
			p.openPOST(id, "content-length", "1")
		}},
		{"RFC9113_8.1.1_content_on_a_HEAD_response", false, func(p *flowPeer, id uint32) {
			got, err := p.Conn.OpenStream([]core.HeaderField{{Name: ":method", Value: "HEAD"}, {Name: ":scheme", Value: "https"},
				{Name: ":authority", Value: "example.com"}, {Name: ":path", Value: "/"}}, core.StreamOptions{EndStream: true})
			if err != nil || got != id {
				p.T.Fatalf("OpenStream: %d %v", got, err)
			}
			p.drain()
			p.WriteFrames(p.FB.Headers(id, coretest.EndHeaders, coretest.Response("200")...))
			p.WantEvent("response", core.EventResponse)
		}},
		{"RFC9113_8.1.1_content_on_a_204_response", false, func(p *flowPeer, id uint32) {
			got, err := p.Conn.OpenStream(flowGet, core.StreamOptions{EndStream: true})
			if err != nil || got != id {
				p.T.Fatalf("OpenStream: %d %v", got, err)
			}
			p.drain()
			p.WriteFrames(p.FB.Headers(id, coretest.EndHeaders, coretest.Response("204")...))
			p.WantEvent("response", core.EventResponse)
		}},
		{"RFC9113_8.1_DATA_before_the_final_response", false, func(p *flowPeer, id uint32) {
			got, err := p.Conn.OpenStream(flowGet, core.StreamOptions{EndStream: true})
			if err != nil || got != id {
				p.T.Fatalf("OpenStream: %d %v", got, err)
			}
			p.drain()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := core.Config{ConnectionWindowSize: 65535}
			var p *flowPeer
			if tc.server {
				p = flowServer(t, cfg)
			} else {
				p = flowClient(t, cfg)
			}
			for i := uint32(0); i < 5; i++ {
				id := 1 + 2*i
				tc.open(p, id)
				p.WriteFrames(p.FB.Data(id, false, flowBytes(16384)))
				p.wantSet(fmt.Sprintf("stream %d: reset, and its 16,384 octets returned to the connection", id),
					fmt.Sprintf("RST(%d,PROTOCOL_ERROR)", id), "WU(0,16384)")
				p.SkipEvents(core.EventStreamReset)
				flowCheck(t, "RecvWindow(0)", p.Conn.RecvWindow(0), 65535)
			}
			p.Invariants()
		})
	}
}

// TestFlowRecvStreamErrorsDoNotExhaustConnectionWindow: the consequence of
// not returning the window of DATA rejected by a stream error: a peer that
// keeps within every window it was given ends up with GOAWAY
// FLOW_CONTROL_ERROR after a few such errors (here the fourth 16 KiB
// frame into a 65,535-octet connection window).
func TestFlowRecvStreamErrorsDoNotExhaustConnectionWindow(t *testing.T) {
	p := flowServer(t, core.Config{ConnectionWindowSize: 65535})
	for i := uint32(0); i < 8; i++ {
		id := 1 + 2*i
		p.openPOST(id, "content-length", "1")
		p.WriteFrames(p.FB.Data(id, false, flowBytes(16384)))
		for _, f := range p.drain() {
			if f.Type == frame.TypeGoAway {
				t.Fatalf("RFC9113_6.9 stream %d (rejected frame %d): GOAWAY %v %q: the connection window leaked by stream errors "+
					"(RecvWindow(0) = %d)", id, i+1, f.ErrCode, f.Data, p.Conn.RecvWindow(0))
			}
		}
		p.SkipEvents(core.EventStreamReset)
	}
	p.Invariants()
}

// TestFlowRecvLocalInitialWindowChange: a SETTINGS_INITIAL_WINDOW_SIZE we
// change with UpdateSettings moves the receive window of every open stream
// by the difference once the peer acknowledges it (RFC 9113 §6.9.2, §6.5.3),
// and new streams start at the new value.
func TestFlowRecvLocalInitialWindowChange(t *testing.T) {
	t.Run("RFC9113_6.9.2_decrease_applies_at_the_ACK", func(t *testing.T) {
		p := flowServer(t, core.Config{})
		p.openPOST(1)
		p.WriteFrames(p.FB.Data(1, false, flowBytes(1000)))
		p.want("1,000 octets are below a quarter window")
		p.wantData("data", 1, 1, false)
		if err := p.Conn.UpdateSettings(p.Now, []frame.Setting{flowIWS(10000)}); err != nil {
			t.Fatal(err)
		}
		fs := p.want("SETTINGS", "SETTINGS")
		if fs[0].NumSettings() != 1 || fs[0].Setting(0) != flowIWS(10000) {
			t.Fatalf("SETTINGS carries %d parameters, want INITIAL_WINDOW_SIZE 10000 alone", fs[0].NumSettings())
		}
		flowCheck(t, "RecvWindow(1) before the ACK", p.Conn.RecvWindow(1), 256<<10-1000)
		p.WriteFrames(p.FB.SettingsAck())
		flowCheck(t, "RecvWindow(1) after the ACK (261,144 - 252,144)", p.Conn.RecvWindow(1), 9000)
		p.openPOST(3)
		flowCheck(t, "RecvWindow of a new stream", p.Conn.RecvWindow(3), 10000)
		p.WriteFrames(p.FB.Data(3, false, flowBytes(10001)))
		p.want("one past the new window", "RST(3,FLOW_CONTROL_ERROR)")
		p.Invariants()
	})
	t.Run("RFC9113_6.9.2_increase_applies_at_the_ACK_without_WINDOW_UPDATE", func(t *testing.T) {
		p := flowServer(t, core.Config{InitialWindowSize: 65535})
		p.openPOST(1)
		if err := p.Conn.UpdateSettings(p.Now, []frame.Setting{flowIWS(100000)}); err != nil {
			t.Fatal(err)
		}
		p.want("SETTINGS", "SETTINGS")
		flowCheck(t, "RecvWindow(1) before the ACK", p.Conn.RecvWindow(1), 65535)
		p.WriteFrames(p.FB.SettingsAck())
		p.want("the peer applies the increase itself: no WINDOW_UPDATE")
		flowCheck(t, "RecvWindow(1) after the ACK", p.Conn.RecvWindow(1), 100000)
		p.Invariants()
	})
	t.Run("RFC9113_6.9.1_empty_END_STREAM_DATA_through_a_negative_window", func(t *testing.T) {
		// 1,000 octets delivered and not consumed (manual flow control),
		// then the window lowered to 0: the stream's window is -1,000. The
		// peer may still end the stream with an empty DATA frame (§6.9.1);
		// found by the rapid properties in ./fuzz.
		p := flowServer(t, core.Config{ManualFlowControl: true})
		p.openPOST(1)
		p.WriteFrames(p.FB.Data(1, false, flowBytes(1000)))
		p.wantData("data", 1, 1, false)
		if err := p.Conn.UpdateSettings(p.Now, []frame.Setting{flowIWS(0)}); err != nil {
			t.Fatal(err)
		}
		p.want("SETTINGS", "SETTINGS")
		p.WriteFrames(p.FB.SettingsAck())
		p.WantEvent("the ACK", core.EventSettingsAck)
		flowCheck(t, "RecvWindow(1) after the ACK", p.Conn.RecvWindow(1), -1000)
		p.WriteFrames(p.FB.Data(1, true, nil))
		p.wantData("the empty end of stream", 1, 1, true)
		p.openPOST(3)
		p.WriteFrames(p.FB.Data(3, false, flowBytes(1)))
		p.want("one octet past a zero window", "RST(3,FLOW_CONTROL_ERROR)")
		p.Invariants()
	})
	t.Run("RFC9113_6.9.2_decrease_below_delivered_bytes_must_not_stall_the_stream", func(t *testing.T) {
		// The peer sent 1,000 octets (delivered, not yet returned: below a
		// quarter of 256 KiB). We lower the window to 1,000: the peer's
		// window for stream 1 becomes 261,144 - 261,144 = 0 and it must
		// wait for a WINDOW_UPDATE. The 1,000 delivered octets are a whole
		// new window's worth of credit: unless it is sent now, nothing will
		// ever trigger it (no DATA can arrive) and the stream stalls.
		p := flowServer(t, core.Config{})
		p.openPOST(1)
		p.WriteFrames(p.FB.Data(1, false, flowBytes(1000)))
		p.wantData("data", 1, 1, false)
		if err := p.Conn.UpdateSettings(p.Now, []frame.Setting{flowIWS(1000)}); err != nil {
			t.Fatal(err)
		}
		p.want("SETTINGS", "SETTINGS")
		p.WriteFrames(p.FB.SettingsAck())
		var inc uint32
		for _, f := range p.drain() {
			if f.Type == frame.TypeWindowUpdate && f.StreamID == 1 {
				inc += f.Increment
			}
		}
		if inc == 0 || p.Conn.RecvWindow(1) <= 0 {
			t.Fatalf("after the ACK: WINDOW_UPDATE(1) total %d, RecvWindow(1) = %d; want the delivered bytes returned so the peer's window "+
				"(now %d) becomes positive again (core/doc.go: windows are returned as data is delivered)", inc, p.Conn.RecvWindow(1), p.Conn.RecvWindow(1))
		}
		p.Invariants()
	})
}

// ----------------------------------------------------- send-side windows

// TestFlowSendFrameSplit: DATA payloads are bounded by the peer's
// SETTINGS_MAX_FRAME_SIZE (RFC 9113 §4.2) and by Config.MaxSendFrameSize.
func TestFlowSendFrameSplit(t *testing.T) {
	cases := []struct {
		name      string
		peerMax   uint32 // 0: the RFC's initial 16,384
		sendMax   uint32
		body      int
		wantSizes []int
	}{
		{"RFC9113_4.2_defaults_split_at_16384", 0, 0, 40000, []int{16384, 16384, 7232}},
		{"RFC9113_4.2_exact_multiple_no_empty_tail", 0, 0, 32768, []int{16384, 16384}},
		{"Config.MaxSendFrameSize_below_the_peer's_limit_wins", 32768, 20000, 40000, []int{20000, 20000}},
		{"RFC9113_4.2_peer's_MAX_FRAME_SIZE_below_Config.MaxSendFrameSize_wins", 0, 65536, 40000, []int{16384, 16384, 7232}},
		{"RFC9113_4.2_peer's_larger_MAX_FRAME_SIZE_used_when_allowed", 65536, 65536, 60000, []int{60000}},
		{"default_MaxSendFrameSize_16384_under_a_larger_peer_limit", 1 << 20, 0, 40000, []int{16384, 16384, 7232}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var settings []frame.Setting
			if tc.peerMax != 0 {
				settings = append(settings, flowMaxFrame(tc.peerMax))
			}
			p := flowServer(t, core.Config{MaxSendFrameSize: tc.sendMax}, settings...)
			p.openGET(1)
			if err := p.Conn.Respond(1, 200, nil, flowBytes(tc.body)); err != nil {
				t.Fatal(err)
			}
			want := []string{"HEADERS(1)"}
			for i, n := range tc.wantSizes {
				es := ""
				if i == len(tc.wantSizes)-1 {
					es = ",ES"
				}
				want = append(want, fmt.Sprintf("DATA(1,%d%s)", n, es))
			}
			p.want("response", want...)
			p.Invariants()
		})
	}
}

// TestFlowSendWindowSplit: DATA is cut to what the stream and connection
// windows allow and resumes on WINDOW_UPDATE (RFC 9113 §6.9.1: "The sender
// MUST NOT send a flow-controlled frame with a length that exceeds the
// space available in either of the flow-control windows").
func TestFlowSendWindowSplit(t *testing.T) {
	t.Run("RFC9113_6.9.1_peer's_small_SETTINGS_INITIAL_WINDOW_SIZE", func(t *testing.T) {
		p := flowServer(t, core.Config{}, flowIWS(10))
		p.openGET(1)
		if err := p.Conn.Respond(1, 200, nil, flowBytes(25)); err != nil {
			t.Fatal(err)
		}
		p.want("one window's worth", "HEADERS(1)", "DATA(1,10)")
		flowCheck(t, "SendWindow(1)", p.Conn.SendWindow(1), 0)
		flowCheck(t, "SendWindow(0)", p.Conn.SendWindow(0), 65535-10)
		flowCheck(t, "Buffered(1)", int64(p.Conn.Buffered(1)), 15)
		p.WriteFrames(p.FB.WindowUpdate(1, 10))
		p.want("WINDOW_UPDATE(+10)", "DATA(1,10)")
		p.WriteFrames(p.FB.WindowUpdate(1, 100))
		p.want("the rest", "DATA(1,5,ES)")
		flowCheck(t, "SendWindow(1) after the stream ended", p.Conn.SendWindow(1), 0)
		p.Invariants()
	})
	t.Run("RFC9113_6.9.1_peer's_SETTINGS_INITIAL_WINDOW_SIZE_0_sends_nothing", func(t *testing.T) {
		p := flowServer(t, core.Config{}, flowIWS(0))
		p.openGET(1)
		if err := p.Conn.Respond(1, 200, nil, flowBytes(5)); err != nil {
			t.Fatal(err)
		}
		p.want("HEADERS only", "HEADERS(1)")
		p.WriteFrames(p.FB.WindowUpdate(0, 1000))
		p.want("a connection WINDOW_UPDATE does not open the stream window")
		p.WriteFrames(p.FB.WindowUpdate(1, 1))
		p.want("one octet", "DATA(1,1)")
		p.Invariants()
	})
	t.Run("RFC9113_6.9.1_connection_window_exhausted_across_streams", func(t *testing.T) {
		p := flowServer(t, core.Config{}, flowIWS(1<<20))
		p.openGET(1, 3)
		for _, id := range []uint32{1, 3} {
			if err := p.Conn.Respond(id, 200, nil, flowBytes(40000)); err != nil {
				t.Fatal(err)
			}
		}
		p.want("65,535 octets across both streams, round-robin",
			"HEADERS(1)", "HEADERS(3)", "DATA(1,16384)", "DATA(3,16384)", "DATA(1,16384)", "DATA(3,16383)")
		flowCheck(t, "SendWindow(0)", p.Conn.SendWindow(0), 0)
		flowCheck(t, "SendWindow(1)", p.Conn.SendWindow(1), 1<<20-32768)
		p.WriteFrames(p.FB.WindowUpdate(1, 1000))
		p.want("a stream WINDOW_UPDATE does not open the connection window")
		p.WriteFrames(p.FB.WindowUpdate(0, 100))
		p.want("100 octets to the stream first in line", "DATA(1,100)")
		p.WriteFrames(p.FB.WindowUpdate(0, 1<<20))
		p.want("the rest, stream 3 next in line", "DATA(3,7233,ES)", "DATA(1,7132,ES)")
		flowCheck(t, "SendWindow(0)", p.Conn.SendWindow(0), 1<<20-14365)
		p.Invariants()
	})
}

// TestFlowSendInitialWindowChange: a change of the peer's
// SETTINGS_INITIAL_WINDOW_SIZE adjusts the send window of every open
// stream by the difference, possibly below zero, and leaves the connection
// window alone (RFC 9113 §6.9.2).
func TestFlowSendInitialWindowChange(t *testing.T) {
	t.Run("RFC9113_6.9.2_increase_releases_buffered_DATA", func(t *testing.T) {
		p := flowServer(t, core.Config{}, flowIWS(10))
		p.openGET(1)
		if err := p.Conn.Respond(1, 200, nil, flowBytes(30)); err != nil {
			t.Fatal(err)
		}
		p.want("first window", "HEADERS(1)", "DATA(1,10)")
		p.WriteFrames(p.FB.Settings(flowIWS(25)))
		p.want("+15", "SETTINGS_ACK", "DATA(1,15)")
		flowCheck(t, "SendWindow(1)", p.Conn.SendWindow(1), 0)
		flowCheck(t, "SendWindow(0) unaffected by SETTINGS", p.Conn.SendWindow(0), 65535-25)
		p.Invariants()
	})
	t.Run("RFC9113_6.9.2_decrease_makes_the_window_negative_until_WINDOW_UPDATE_covers_it", func(t *testing.T) {
		p := flowServer(t, core.Config{}, flowIWS(100))
		p.openGET(1)
		if err := p.Conn.Respond(1, 200, nil, flowBytes(300)); err != nil {
			t.Fatal(err)
		}
		p.want("first window", "HEADERS(1)", "DATA(1,100)")
		p.WriteFrames(p.FB.Settings(flowIWS(50)))
		p.want("ACK only", "SETTINGS_ACK")
		flowCheck(t, "SendWindow(1)", p.Conn.SendWindow(1), -50)
		p.WriteFrames(p.FB.WindowUpdate(1, 50))
		p.want("window back to 0: still nothing")
		flowCheck(t, "SendWindow(1)", p.Conn.SendWindow(1), 0)
		p.WriteFrames(p.FB.WindowUpdate(1, 1))
		p.want("one octet", "DATA(1,1)")
		p.Invariants()
	})
	t.Run("h2spec_6.9.2/1_window_0_then_SETTINGS_1_sends_one_octet", func(t *testing.T) {
		p := flowServer(t, core.Config{}, flowIWS(0))
		p.Handler = coretest.Hello
		p.WriteFrames(p.FB.GET(1, "/"))
		p.want("no window", "HEADERS(1)")
		p.WriteFrames(p.FB.Settings(flowIWS(1)))
		fs := p.want("SETTINGS_INITIAL_WINDOW_SIZE 1", "SETTINGS_ACK", "DATA(1,1)")
		if string(fs[1].Data) != "h" {
			t.Fatalf("DATA %q, want %q", fs[1].Data, "h")
		}
	})
	t.Run("h2spec_6.9.1/1_window_1_first_DATA_has_length_1", func(t *testing.T) {
		p := flowServer(t, core.Config{}, flowIWS(1))
		p.Handler = coretest.Hello
		p.WriteFrames(p.FB.GET(1, "/"))
		p.want("one octet", "HEADERS(1)", "DATA(1,1)")
	})
	t.Run("h2spec_6.9.2/2_negative_window_resumes_after_WINDOW_UPDATE", func(t *testing.T) {
		p := flowServer(t, core.Config{}, flowIWS(3))
		p.Handler = coretest.Hello
		p.WriteFrames(p.FB.GET(1, "/"))
		fs := p.want("window 3", "HEADERS(1)", "DATA(1,3)")
		if string(fs[1].Data) != "hel" {
			t.Fatalf("DATA %q", fs[1].Data)
		}
		p.WriteFrames(p.FB.Settings(flowIWS(2)))
		p.want("window 3-3-1 = -1", "SETTINGS_ACK")
		flowCheck(t, "SendWindow(1)", p.Conn.SendWindow(1), -1)
		p.WriteFrames(p.FB.WindowUpdate(1, 2))
		fs = p.want("-1+2 = 1", "DATA(1,1)")
		if string(fs[0].Data) != "l" {
			t.Fatalf("DATA %q, want %q", fs[0].Data, "l")
		}
		p.WriteFrames(p.FB.WindowUpdate(1, 1))
		fs = p.want("last octet", "DATA(1,1,ES)")
		if string(fs[0].Data) != "o" {
			t.Fatalf("DATA %q, want %q", fs[0].Data, "o")
		}
		p.Invariants()
	})
	t.Run("RFC9113_6.9.2_applies_to_streams_opened_before_the_peer's_first_SETTINGS", func(t *testing.T) {
		tp := coretest.NewClientPeer(t, core.Config{})
		tp.WantBytes("client magic", []byte(coretest.ClientPreface))
		p := flowWrap(tp)
		p.drain() // SETTINGS, WINDOW_UPDATE
		id, err := p.Conn.OpenStream(flowPostFields, core.StreamOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.drain()
		flowCheck(t, "SendWindow before the server's SETTINGS", p.Conn.SendWindow(id), 65535)
		p.WriteFrames(p.FB.Settings(flowIWS(1000)))
		flowCheck(t, "SendWindow after SETTINGS_INITIAL_WINDOW_SIZE 1000", p.Conn.SendWindow(id), 1000)
		flowCheck(t, "connection SendWindow unaffected", p.Conn.SendWindow(0), 65535)
		id2, err := p.Conn.OpenStream(flowPostFields, core.StreamOptions{})
		if err != nil {
			t.Fatal(err)
		}
		flowCheck(t, "new stream starts at the new value", p.Conn.SendWindow(id2), 1000)
		if _, err := p.Conn.SendData(id, flowBytes(2000), true); err != nil {
			t.Fatal(err)
		}
		p.want("capped at 1000", "SETTINGS_ACK", "HEADERS(3)", fmt.Sprintf("DATA(%d,1000)", id))
		p.Invariants()
	})
	t.Run("RFC9113_6.9.2_change_pushing_a_window_above_2^31-1_is_GOAWAY_FLOW_CONTROL_ERROR", func(t *testing.T) {
		p := flowServer(t, core.Config{})
		p.openPOST(1)
		p.WriteFrames(p.FB.WindowUpdate(1, frame.MaxWindowSize-65535))
		flowCheck(t, "SendWindow(1)", p.Conn.SendWindow(1), frame.MaxWindowSize)
		p.WriteFrames(p.FB.Settings(flowIWS(65535)))
		p.want("no change", "SETTINGS_ACK")
		p.WriteFrames(p.FB.Settings(flowIWS(65536)))
		p.want("2^31-1 + 1", "GOAWAY(1,FLOW_CONTROL_ERROR)")
		p.wantConnErr("Err", frame.ErrCodeFlowControl, "settings_window_overflow")
		p.Invariants()
	})
	t.Run("RFC9113_6.9.2_change_reaching_exactly_2^31-1_is_accepted", func(t *testing.T) {
		p := flowServer(t, core.Config{})
		p.openPOST(1)
		p.WriteFrames(p.FB.WindowUpdate(1, frame.MaxWindowSize-65536))
		p.WriteFrames(p.FB.Settings(flowIWS(65536)))
		p.want("accepted", "SETTINGS_ACK")
		flowCheck(t, "SendWindow(1)", p.Conn.SendWindow(1), frame.MaxWindowSize)
		p.Invariants()
	})
	t.Run("RFC9113_6.9.2_closed_stream_windows_are_not_maintained_so_cannot_overflow", func(t *testing.T) {
		// The peer reset stream 1 after raising its window to 2^31-1; the
		// server application still holds the closed stream. The peer then
		// raises SETTINGS_INITIAL_WINDOW_SIZE: no window "that it
		// maintains" exceeds 2^31-1, so this is legal.
		p := flowServer(t, core.Config{})
		p.openPOST(1)
		p.WriteFrames(p.FB.WindowUpdate(1, frame.MaxWindowSize-65535), p.FB.RST(1, frame.ErrCodeCancel))
		p.wantReset("peer reset", 1, frame.ErrCodeCancel, true, "peer_reset")
		p.WriteFrames(p.FB.Settings(flowIWS(65536)))
		p.want("SETTINGS acknowledged, no connection error", "SETTINGS_ACK")
		if err := p.Conn.Err(); err != nil {
			t.Fatalf("Err() = %v, want nil", err)
		}
		p.Invariants()
	})
}

// TestFlowSendWindowUpdateOverflow: a WINDOW_UPDATE that takes a window
// above 2^31-1 is a stream error (stream window) or a connection error
// (connection window) of type FLOW_CONTROL_ERROR (RFC 9113 §6.9.1).
func TestFlowSendWindowUpdateOverflow(t *testing.T) {
	t.Run("RFC9113_6.9.1_stream_window_exactly_2^31-1_is_accepted", func(t *testing.T) {
		p := flowServer(t, core.Config{})
		p.openPOST(1)
		p.WriteFrames(p.FB.WindowUpdate(1, frame.MaxWindowSize-65535))
		p.want("accepted")
		flowCheck(t, "SendWindow(1)", p.Conn.SendWindow(1), frame.MaxWindowSize)
		p.WantNoEvent("no reset")
	})
	t.Run("RFC9113_6.9.1_stream_window_overflow_is_stream_FLOW_CONTROL_ERROR", func(t *testing.T) {
		p := flowServer(t, core.Config{})
		p.openPOST(1)
		p.openPOST(3)
		p.WriteFrames(p.FB.WindowUpdate(1, frame.MaxWindowSize-65535), p.FB.WindowUpdate(1, 1))
		p.want("RST_STREAM", "RST(1,FLOW_CONTROL_ERROR)")
		p.wantReset("reset", 1, frame.ErrCodeFlowControl, false, "stream_window_overflow")
		if ph := p.Conn.Phase(); ph != core.PhaseConnected {
			t.Fatalf("phase %v, want connected", ph)
		}
		flowCheck(t, "other stream's SendWindow", p.Conn.SendWindow(3), 65535)
		p.Invariants()
	})
	t.Run("RFC9113_6.9.1_stream_window_overflow_on_half_closed_remote_stream", func(t *testing.T) {
		p := flowServer(t, core.Config{})
		p.openGET(1)
		p.WriteFrames(p.FB.WindowUpdate(1, frame.MaxWindowSize), p.FB.WindowUpdate(1, frame.MaxWindowSize))
		p.want("RST_STREAM on the first overflowing WINDOW_UPDATE only", "RST(1,FLOW_CONTROL_ERROR)")
		p.wantReset("reset", 1, frame.ErrCodeFlowControl, false, "stream_window_overflow")
		p.Invariants()
	})
	t.Run("RFC9113_6.9.1_connection_window_exactly_2^31-1_is_accepted", func(t *testing.T) {
		p := flowServer(t, core.Config{})
		p.WriteFrames(p.FB.WindowUpdate(0, frame.MaxWindowSize-65535))
		p.want("accepted")
		flowCheck(t, "SendWindow(0)", p.Conn.SendWindow(0), frame.MaxWindowSize)
	})
	t.Run("RFC9113_6.9.1_connection_window_overflow_is_GOAWAY_FLOW_CONTROL_ERROR", func(t *testing.T) {
		p := flowServer(t, core.Config{})
		p.WriteFrames(p.FB.WindowUpdate(0, frame.MaxWindowSize-65535), p.FB.WindowUpdate(0, 1))
		p.want("GOAWAY", "GOAWAY(0,FLOW_CONTROL_ERROR)")
		p.wantConnErr("Err", frame.ErrCodeFlowControl, "connection_window_overflow")
		p.Invariants()
	})
	t.Run("RFC9113_5.1_WINDOW_UPDATE_on_a_closed_stream_is_ignored", func(t *testing.T) {
		p := flowServer(t, core.Config{})
		p.Handler = coretest.Hello
		p.WriteFrames(p.FB.GET(1, "/"))
		p.want("response", "HEADERS(1)", "DATA(1,5,ES)")
		p.WriteFrames(p.FB.WindowUpdate(1, frame.MaxWindowSize))
		p.want("ignored, even one that would overflow")
		if ph := p.Conn.Phase(); ph != core.PhaseConnected {
			t.Fatalf("phase %v", ph)
		}
	})
	t.Run("RFC9113_5.1_WINDOW_UPDATE_on_an_idle_stream_is_PROTOCOL_ERROR", func(t *testing.T) {
		p := flowServer(t, core.Config{})
		p.WriteFrames(p.FB.WindowUpdate(5, 1))
		p.want("connection error", "GOAWAY(0,PROTOCOL_ERROR)")
	})
	t.Run("h2spec_6.9.1/2_client_connection_window_overflow", func(t *testing.T) {
		p := flowClient(t, core.Config{})
		p.WriteFrames(p.FB.WindowUpdate(0, frame.MaxWindowSize))
		p.want("GOAWAY", "GOAWAY(0,FLOW_CONTROL_ERROR)")
		p.wantConnErr("Err", frame.ErrCodeFlowControl, "connection_window_overflow")
	})
}

// TestFlowSendWindowGetter: Conn.SendWindow reports the connection window
// for id 0, the stream's window (possibly negative) for a tracked stream,
// and 0 otherwise.
func TestFlowSendWindowGetter(t *testing.T) {
	p := flowServer(t, core.Config{}, flowIWS(1000))
	p.openGET(1)
	cases := []struct {
		name string
		id   uint32
		want int64
	}{
		{"connection_window_starts_at_65535", 0, 65535},
		{"stream_window_starts_at_the_peer's_INITIAL_WINDOW_SIZE", 1, 1000},
		{"idle_stream_is_0", 5, 0},
	}
	for _, tc := range cases {
		flowCheck(t, tc.name, p.Conn.SendWindow(tc.id), tc.want)
	}
	if err := p.Conn.Respond(1, 200, nil, flowBytes(400)); err != nil {
		t.Fatal(err)
	}
	p.want("response", "HEADERS(1)", "DATA(1,400,ES)")
	flowCheck(t, "connection window after 400 sent", p.Conn.SendWindow(0), 65535-400)
	flowCheck(t, "closed stream is 0", p.Conn.SendWindow(1), 0)
	if e := p.WantEvent("response sent in full", core.EventStreamClosed); e.StreamID != 1 {
		t.Fatalf("EventStreamClosed on stream %d", e.StreamID)
	}
	p.WriteFrames(p.FB.WindowUpdate(0, 400))
	flowCheck(t, "connection window after WINDOW_UPDATE", p.Conn.SendWindow(0), 65535)
	p.openGET(3)
	p.WriteFrames(p.FB.Settings(flowIWS(10)))
	p.want("ACK", "SETTINGS_ACK")
	flowCheck(t, "stream window follows the settings", p.Conn.SendWindow(3), 10)
	if err := p.Conn.SendHeaders(3, []core.HeaderField{{Name: ":status", Value: "200"}}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Conn.SendData(3, flowBytes(7), false); err != nil {
		t.Fatal(err)
	}
	p.want("7 octets", "HEADERS(3)", "DATA(3,7)")
	flowCheck(t, "stream window after sending", p.Conn.SendWindow(3), 3)
	p.WriteFrames(p.FB.Settings(flowIWS(0)))
	p.want("ACK", "SETTINGS_ACK")
	flowCheck(t, "negative stream window (3 - 10)", p.Conn.SendWindow(3), -7)
	p.Invariants()
}

// ---------------------------------------------------------------- benchmark

// flowBench serves a 1 MiB body to every GET through a Pair, streaming it
// with SendData as the send buffer allows and resuming on EventWritable.
type flowBench struct {
	pair *coretest.Pair
	body []byte
	sid  uint32
	off  int
	got  int
	done int
	err  error
}

func (fb *flowBench) write() {
	for fb.off < len(fb.body) {
		n, err := fb.pair.Server.SendData(fb.sid, fb.body[fb.off:], true)
		fb.off += n
		if err != nil {
			if !errors.Is(err, core.ErrSendBufferFull) {
				fb.err = err
			}
			return
		}
	}
}

func (fb *flowBench) onEvent(side coretest.Side, e *core.Event) {
	switch {
	case side == coretest.Server && e.Kind == core.EventRequest:
		fb.sid, fb.off = e.StreamID, 0
		if err := fb.pair.Server.SendHeaders(e.StreamID, []core.HeaderField{{Name: ":status", Value: "200"}}, false); err != nil {
			fb.err = err
			return
		}
		fb.write()
	case side == coretest.Server && e.Kind == core.EventWritable && e.StreamID == fb.sid:
		fb.write()
	case side == coretest.Client && e.Kind == core.EventData:
		fb.got += len(e.Data)
	case side == coretest.Client && e.Kind == core.EventStreamClosed:
		fb.done++
	}
}

// BenchmarkFlowLargeBody moves a 1 MiB response body from a server core to
// a client core with automatic flow control: send buffering, round-trips
// of WINDOW_UPDATE and DATA framing together.
func BenchmarkFlowLargeBody(b *testing.B) {
	const size = 1 << 20
	pair, err := coretest.NewPair(1, core.Config{}, core.Config{})
	if err != nil {
		b.Fatal(err)
	}
	fb := &flowBench{pair: pair, body: flowBytes(size)}
	pair.OnEvent = fb.onEvent
	pair.Drive()
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		fb.got = 0
		before := fb.done
		if _, err := pair.Client.OpenStream(flowGet, core.StreamOptions{EndStream: true}); err != nil {
			b.Fatal(err)
		}
		pair.Drive()
		if fb.err != nil || fb.done != before+1 || fb.got != size {
			b.Fatalf("transfer failed: err %v, done %d, received %d of %d", fb.err, fb.done-before, fb.got, size)
		}
	}
	if err := pair.CheckInvariants(); err != nil {
		b.Fatal(err)
	}
}

// TestFlowRecvReleasedStreamCreditsUnconsumed: a server in manual flow
// control answers before the request body is complete and releases the
// stream while its response is still queued. Nobody will Consume the body
// any more, so what was delivered is credited at once: otherwise, with the
// windows full, the client could never finish its request, the stream
// never close, and the connection window never reopen for the other
// streams. Found by the rapid properties in ./fuzz.
func TestFlowRecvReleasedStreamCreditsUnconsumed(t *testing.T) {
	server := core.Config{ManualFlowControl: true, ConnectionWindowSize: 65535, InitialWindowSize: 65535}
	p, err := coretest.NewPair(1, core.Config{}, server)
	if err != nil {
		t.Fatal(err)
	}
	p.Drive()
	id, err := p.Client.OpenStream(flowPostFields, core.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Client.SendData(id, make([]byte, 65535), false); err != nil {
		t.Fatal(err)
	}
	p.Drive() // delivered and not consumed: both windows are shut
	if w := p.Server.RecvWindow(0); w != 0 {
		t.Fatalf("server connection window %d, want 0", w)
	}
	if err := p.Server.Respond(id, 200, nil, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	if err := p.Server.ReleaseStream(id); err != nil {
		t.Fatal(err)
	}
	// A Consume that comes late, for bytes delivered before the release,
	// is a no-op (found by TestSim).
	if err := p.Server.Consume(id, 65535); err != nil {
		t.Fatalf("Consume after ReleaseStream = %v, want nil", err)
	}
	if _, err := p.Client.SendData(id, make([]byte, 10), true); err != nil {
		t.Fatal(err)
	}
	p.Drive()
	// The complete response is followed by RST_STREAM(NO_ERROR) (RFC 9113
	// §8.1), which ends the client's stream whether or not its last DATA
	// was still on the way.
	closed := len(p.Events(coretest.Client, core.EventStreamClosed))
	resets := p.Events(coretest.Client, core.EventStreamReset)
	if closed+len(resets) != 1 || len(resets) == 1 && resets[0].Code != frame.ErrCodeNo {
		t.Fatalf("the client's stream did not end cleanly: %d closed, resets %v; %d bytes still buffered, server windows: connection %d, stream %d",
			closed, resets, p.Client.Buffered(id), p.Server.RecvWindow(0), p.Server.RecvWindow(id))
	}
	if w := p.Server.RecvWindow(0); w != 65535 {
		t.Fatalf("server connection window %d after the stream ended, want it reopened to 65535", w)
	}
	if err := p.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}
