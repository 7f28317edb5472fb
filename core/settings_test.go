package core_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// ---- helpers shared by settings_test.go and hpack_test.go ----

// settingsRole names the role of the Conn under test.
type settingsRole uint8

const (
	settingsAsServer settingsRole = iota
	settingsAsClient
)

func (r settingsRole) String() string {
	if r == settingsAsClient {
		return "client"
	}
	return "server"
}

// settingsPeer returns a TestPeer opposite a Conn of the given role, with the
// handshake done (the peer advertising the given settings).
func settingsPeer(t *testing.T, role settingsRole, cfg core.Config, peer ...frame.Setting) *coretest.TestPeer {
	t.Helper()
	var p *coretest.TestPeer
	if role == settingsAsClient {
		p = coretest.NewClientPeer(t, cfg)
	} else {
		p = coretest.NewServerPeer(t, cfg)
	}
	p.Handshake(peer...)
	return p
}

// settingsWantConnErr requires Err to be a local *ConnError with code (and
// token, when not empty).
func settingsWantConnErr(t *testing.T, c *core.Conn, code frame.ErrCode, token string) {
	t.Helper()
	var ce *core.ConnError
	if !errors.As(c.Err(), &ce) {
		t.Fatalf("Err() = %v, want a *ConnError %v", c.Err(), code)
	}
	if ce.Code != code || ce.Remote || (token != "" && ce.Token != token) {
		t.Fatalf("Err() = %v, want local %v token %q", ce, code, token)
	}
}

// settingsWantGoAway requires the next frame to be GOAWAY(code) carrying token
// as debug data (when not empty), nothing after it, the Conn closed and its
// Err matching.
func settingsWantGoAway(t *testing.T, p *coretest.TestPeer, why string, code frame.ErrCode, token string) frame.Frame {
	t.Helper()
	f := p.WantGoAway(why, code)
	if token != "" && string(f.Data) != token {
		t.Fatalf("%s: GOAWAY debug data %q, want %q", why, f.Data, token)
	}
	p.WantIdle(why + ": nothing after GOAWAY")
	if ph := p.Conn.Phase(); ph != core.PhaseClosed {
		t.Fatalf("%s: phase %v after GOAWAY was taken, want closed", why, ph)
	}
	settingsWantConnErr(t, p.Conn, code, token)
	p.Invariants()
	return f
}

// settingsWantAbuse requires EventAbuse(kind) then GOAWAY ENHANCE_YOUR_CALM
// naming the kind.
func settingsWantAbuse(t *testing.T, p *coretest.TestPeer, why string, kind core.AbuseKind) {
	t.Helper()
	p.SkipEvents(core.EventSettings, core.EventSettingsAck)
	e := p.WantEvent(why, core.EventAbuse)
	if e.Abuse != kind {
		t.Fatalf("%s: EventAbuse %v, want %v", why, e.Abuse, kind)
	}
	settingsWantGoAway(t, p, why, frame.ErrCodeEnhanceYourCalm, kind.String())
}

// settingsList returns the parameters of a SETTINGS frame.
func settingsList(f frame.Frame) []frame.Setting {
	out := make([]frame.Setting, f.NumSettings())
	for i := range out {
		out[i] = f.Setting(i)
	}
	return out
}

// settingsSameSet compares parameter lists as sets (order free), and fails on
// a repeated identifier.
func settingsSameSet(got, want []frame.Setting) string {
	seen := map[frame.SettingID]uint32{}
	for _, s := range got {
		if _, dup := seen[s.ID]; dup {
			return fmt.Sprintf("%v sent twice in %v", s.ID, got)
		}
		seen[s.ID] = s.Val
	}
	if len(got) != len(want) {
		return fmt.Sprintf("got %v, want %v", got, want)
	}
	for _, s := range want {
		if v, ok := seen[s.ID]; !ok || v != s.Val {
			return fmt.Sprintf("got %v, want %v", got, want)
		}
	}
	return ""
}

// settingsFields compares decoded fields with name/value pairs.
func settingsFields(got []core.HeaderField, kv ...string) string {
	if len(got) != len(kv)/2 {
		return fmt.Sprintf("%d fields, want %d: %v", len(got), len(kv)/2, settingsShort(got))
	}
	for i := range got {
		if got[i].Name != kv[2*i] || got[i].Value != kv[2*i+1] {
			return fmt.Sprintf("field %d is %q: %q (%d bytes), want %q: %q (%d bytes)", i,
				got[i].Name, settingsClip(got[i].Value), len(got[i].Value), kv[2*i], settingsClip(kv[2*i+1]), len(kv[2*i+1]))
		}
	}
	return ""
}

func settingsClip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func settingsShort(fs []core.HeaderField) string {
	var b bytes.Buffer
	for i, f := range fs {
		if i == 20 {
			fmt.Fprintf(&b, " … (%d more)", len(fs)-i)
			break
		}
		fmt.Fprintf(&b, "%s=%s; ", f.Name, settingsClip(f.Value))
	}
	return b.String()
}

// settingsListSize is the RFC 7541 §4.1 size of name/value pairs.
func settingsListSize(kv ...string) int {
	n := 0
	for i := 0; i < len(kv); i += 2 {
		n += len(kv[i]) + len(kv[i+1]) + 32
	}
	return n
}

// settingsPadTo returns kv followed by an "x-pad" field sized so that the
// whole list measures exactly size (RFC 7541 §4.1).
func settingsPadTo(size int, kv ...string) []string {
	v := size - settingsListSize(kv...) - len("x-pad") - 32
	if v < 0 {
		panic("settingsPadTo: list already too large")
	}
	out := append(append([]string(nil), kv...), "x-pad", string(bytes.Repeat([]byte{'p'}, v)))
	if settingsListSize(out...) != size {
		panic("settingsPadTo: arithmetic")
	}
	return out
}

func settingsEvents(es []core.Event) []core.EventKind {
	out := make([]core.EventKind, len(es))
	for i, e := range es {
		out[i] = e.Kind
	}
	return out
}

func settingsKinds(t *testing.T, why string, got []core.Event, want ...core.EventKind) {
	t.Helper()
	g := settingsEvents(got)
	if fmt.Sprint(g) != fmt.Sprint(want) {
		t.Fatalf("%s: events %v, want %v", why, g, want)
	}
}

func settingsU(id frame.SettingID, v uint32) frame.Setting { return frame.Setting{ID: id, Val: v} }

// ---- SETTINGS parameter ranges (RFC 9113 §6.5.2, RFC 8441 §3, RFC 9218 §2.1) ----

type settingsRangeCase struct {
	name  string
	roles []settingsRole // roles receiving the value; nil means both
	s     []frame.Setting
	code  frame.ErrCode // GOAWAY code; 0 (NO_ERROR) means the value is accepted
	token string
	apply func(s *core.Settings) // effect on PeerSettings when accepted
}

var settingsRangeCases = []settingsRangeCase{
	{name: "RFC9113_6.5.2_ENABLE_PUSH_0_accepted", s: []frame.Setting{settingsU(frame.SettingEnablePush, 0)},
		apply: func(s *core.Settings) { s.EnablePush = false }},
	{name: "RFC9113_6.5.2_ENABLE_PUSH_1_from_client_accepted", roles: []settingsRole{settingsAsServer},
		s:     []frame.Setting{settingsU(frame.SettingEnablePush, 0), settingsU(frame.SettingEnablePush, 1)},
		apply: func(s *core.Settings) { s.EnablePush = true }},
	{name: "RFC9113_6.5.2_ENABLE_PUSH_1_from_server_is_PROTOCOL_ERROR", roles: []settingsRole{settingsAsClient},
		s: []frame.Setting{settingsU(frame.SettingEnablePush, 1)}, code: frame.ErrCodeProtocol, token: "server_enabled_push"},
	{name: "RFC9113_6.5.2_ENABLE_PUSH_2_is_PROTOCOL_ERROR",
		s: []frame.Setting{settingsU(frame.SettingEnablePush, 2)}, code: frame.ErrCodeProtocol, token: "setting_enable_push"},
	{name: "RFC9113_6.5.2_INITIAL_WINDOW_SIZE_0_accepted", s: []frame.Setting{settingsU(frame.SettingInitialWindowSize, 0)},
		apply: func(s *core.Settings) { s.InitialWindowSize = 0 }},
	{name: "RFC9113_6.5.2_INITIAL_WINDOW_SIZE_2^31-1_accepted", s: []frame.Setting{settingsU(frame.SettingInitialWindowSize, 1<<31-1)},
		apply: func(s *core.Settings) { s.InitialWindowSize = 1<<31 - 1 }},
	{name: "RFC9113_6.5.2_INITIAL_WINDOW_SIZE_2^31_is_FLOW_CONTROL_ERROR",
		s: []frame.Setting{settingsU(frame.SettingInitialWindowSize, 1<<31)}, code: frame.ErrCodeFlowControl, token: "setting_initial_window_size"},
	{name: "RFC9113_6.5.2_INITIAL_WINDOW_SIZE_2^32-1_is_FLOW_CONTROL_ERROR",
		s: []frame.Setting{settingsU(frame.SettingInitialWindowSize, 1<<32-1)}, code: frame.ErrCodeFlowControl, token: "setting_initial_window_size"},
	{name: "RFC9113_6.5.2_MAX_FRAME_SIZE_0_is_PROTOCOL_ERROR",
		s: []frame.Setting{settingsU(frame.SettingMaxFrameSize, 0)}, code: frame.ErrCodeProtocol, token: "setting_max_frame_size"},
	{name: "RFC9113_6.5.2_MAX_FRAME_SIZE_16383_is_PROTOCOL_ERROR",
		s: []frame.Setting{settingsU(frame.SettingMaxFrameSize, 16383)}, code: frame.ErrCodeProtocol, token: "setting_max_frame_size"},
	{name: "RFC9113_6.5.2_MAX_FRAME_SIZE_16384_accepted", s: []frame.Setting{settingsU(frame.SettingMaxFrameSize, 20000), settingsU(frame.SettingMaxFrameSize, 16384)},
		apply: func(s *core.Settings) { s.MaxFrameSize = 16384 }},
	{name: "RFC9113_6.5.2_MAX_FRAME_SIZE_2^24-1_accepted", s: []frame.Setting{settingsU(frame.SettingMaxFrameSize, 1<<24-1)},
		apply: func(s *core.Settings) { s.MaxFrameSize = 1<<24 - 1 }},
	{name: "RFC9113_6.5.2_MAX_FRAME_SIZE_2^24_is_PROTOCOL_ERROR",
		s: []frame.Setting{settingsU(frame.SettingMaxFrameSize, 1<<24)}, code: frame.ErrCodeProtocol, token: "setting_max_frame_size"},
	{name: "RFC8441_3_ENABLE_CONNECT_PROTOCOL_0_accepted", s: []frame.Setting{settingsU(frame.SettingEnableConnectProtocol, 0)},
		apply: func(s *core.Settings) { s.EnableConnectProtocol = false }},
	{name: "RFC8441_3_ENABLE_CONNECT_PROTOCOL_1_accepted", s: []frame.Setting{settingsU(frame.SettingEnableConnectProtocol, 1)},
		apply: func(s *core.Settings) { s.EnableConnectProtocol = true }},
	{name: "RFC8441_3_ENABLE_CONNECT_PROTOCOL_2_is_PROTOCOL_ERROR",
		s: []frame.Setting{settingsU(frame.SettingEnableConnectProtocol, 2)}, code: frame.ErrCodeProtocol, token: "setting_enable_connect_protocol"},
	{name: "RFC9218_2.1_NO_RFC7540_PRIORITIES_1_accepted", s: []frame.Setting{settingsU(frame.SettingNoRFC7540Priorities, 1)},
		apply: func(s *core.Settings) { s.NoRFC7540Priorities = true }},
	{name: "RFC9218_2.1_NO_RFC7540_PRIORITIES_0_accepted", s: []frame.Setting{settingsU(frame.SettingNoRFC7540Priorities, 0)},
		apply: func(s *core.Settings) { s.NoRFC7540Priorities = false }},
	{name: "RFC9218_2.1_NO_RFC7540_PRIORITIES_2_is_PROTOCOL_ERROR",
		s: []frame.Setting{settingsU(frame.SettingNoRFC7540Priorities, 2)}, code: frame.ErrCodeProtocol, token: "setting_no_rfc7540_priorities"},
	{name: "RFC9113_6.5.2_HEADER_TABLE_SIZE_any_value_accepted", s: []frame.Setting{settingsU(frame.SettingHeaderTableSize, 1<<32-1)},
		apply: func(s *core.Settings) { s.HeaderTableSize = 1<<32 - 1 }},
	{name: "RFC9113_6.5.2_MAX_CONCURRENT_STREAMS_0_accepted", s: []frame.Setting{settingsU(frame.SettingMaxConcurrentStreams, 0)},
		apply: func(s *core.Settings) { s.MaxConcurrentStreams = 0 }},
	{name: "RFC9113_6.5.2_MAX_HEADER_LIST_SIZE_0_accepted", s: []frame.Setting{settingsU(frame.SettingMaxHeaderListSize, 0)},
		apply: func(s *core.Settings) { s.MaxHeaderListSize = 0 }},
	{name: "RFC9113_6.5.2_unknown_identifiers_ignored", s: []frame.Setting{
		settingsU(0x7, 1<<32-1), settingsU(0xa, 2), settingsU(0xff, 0), settingsU(0xffff, 7), settingsU(0, 9)},
		apply: func(*core.Settings) {}},
}

// TestSettingsParameterRanges sends each parameter at and around the edges
// of its legal range, after the handshake, to both roles.
func TestSettingsParameterRanges(t *testing.T) {
	for _, tc := range settingsRangeCases {
		roles := tc.roles
		if roles == nil {
			roles = []settingsRole{settingsAsServer, settingsAsClient}
		}
		for _, role := range roles {
			t.Run(role.String()+"/"+tc.name, func(t *testing.T) {
				p := settingsPeer(t, role, core.Config{})
				before := p.Conn.PeerSettings()
				p.WriteFrames(p.FB.Settings(tc.s...))
				if tc.code != frame.ErrCodeNo {
					settingsWantGoAway(t, p, "RFC 9113 §6.5.2: an illegal value is a connection error, no ACK", tc.code, tc.token)
					if got := p.Conn.PeerSettings(); got != before {
						t.Fatalf("PeerSettings changed by a refused SETTINGS frame: %+v, want %+v", got, before)
					}
					return
				}
				p.WantFrame("RFC 9113 §6.5.3: SETTINGS are acknowledged", frame.TypeSettings, coretest.IsAck)
				p.WantIdle("nothing but the ACK")
				p.WantEvent("EventSettings after a peer SETTINGS", core.EventSettings)
				p.WantNoEvent("only EventSettings")
				want := before
				tc.apply(&want)
				if got := p.Conn.PeerSettings(); got != want {
					t.Fatalf("PeerSettings = %+v, want %+v", got, want)
				}
				if p.Conn.Err() != nil || p.Conn.Phase() != core.PhaseConnected {
					t.Fatalf("connection hurt: phase %v err %v", p.Conn.Phase(), p.Conn.Err())
				}
				p.Invariants()
			})
		}
	}
}

// TestSettingsRangesInPrefaceSettings: the same rules hold for the SETTINGS
// frame of the connection preface (RFC 9113 §3.4).
func TestSettingsRangesInPrefaceSettings(t *testing.T) {
	cases := []struct {
		name  string
		role  settingsRole
		s     frame.Setting
		code  frame.ErrCode
		token string
	}{
		{"RFC9113_6.5.2_server_preface_ENABLE_PUSH_1_is_PROTOCOL_ERROR", settingsAsClient, settingsU(frame.SettingEnablePush, 1), frame.ErrCodeProtocol, "server_enabled_push"},
		{"RFC9113_6.5.2_client_preface_MAX_FRAME_SIZE_16383_is_PROTOCOL_ERROR", settingsAsServer, settingsU(frame.SettingMaxFrameSize, 16383), frame.ErrCodeProtocol, "setting_max_frame_size"},
		{"RFC9113_6.5.2_client_preface_INITIAL_WINDOW_SIZE_2^31_is_FLOW_CONTROL_ERROR", settingsAsServer, settingsU(frame.SettingInitialWindowSize, 1<<31), frame.ErrCodeFlowControl, "setting_initial_window_size"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var p *coretest.TestPeer
			if tc.role == settingsAsClient {
				p = coretest.NewClientPeer(t, core.Config{})
				p.WantBytes("client preface", []byte(coretest.ClientPreface))
			} else {
				p = coretest.NewServerPeer(t, core.Config{})
				p.WriteBytes([]byte(coretest.ClientPreface))
			}
			p.WantFrame("our preface SETTINGS", frame.TypeSettings)
			p.WantFrame("our connection window increase", frame.TypeWindowUpdate, coretest.OnStream(0))
			p.WriteFrames(p.FB.Settings(tc.s))
			settingsWantGoAway(t, p, "illegal value in the preface SETTINGS", tc.code, tc.token)
			for _, e := range p.Events {
				if e.Kind == core.EventSettings || e.Kind == core.EventConnected {
					t.Fatalf("event %v after a refused preface SETTINGS", e.Kind)
				}
			}
		})
	}
}

// TestSettingsConnectProtocolRevoked: "A sender MUST NOT send a
// SETTINGS_ENABLE_CONNECT_PROTOCOL parameter with the value of 0 after
// previously sending a value of 1" (RFC 8441 §3); the core treats it as a
// connection error PROTOCOL_ERROR.
func TestSettingsConnectProtocolRevoked(t *testing.T) {
	ecp := func(v uint32) frame.Setting { return settingsU(frame.SettingEnableConnectProtocol, v) }
	cases := []struct {
		name   string
		role   settingsRole
		frames [][]frame.Setting
		bad    bool
	}{
		{"RFC8441_3_server_ENABLE_CONNECT_PROTOCOL_1_then_0_is_PROTOCOL_ERROR", settingsAsClient, [][]frame.Setting{{ecp(1)}, {ecp(0)}}, true},
		{"RFC8441_3_client_ENABLE_CONNECT_PROTOCOL_1_then_0_is_PROTOCOL_ERROR", settingsAsServer, [][]frame.Setting{{ecp(1)}, {ecp(0)}}, true},
		{"RFC8441_3_ENABLE_CONNECT_PROTOCOL_1_then_0_in_one_frame_is_PROTOCOL_ERROR", settingsAsClient, [][]frame.Setting{{ecp(1), ecp(0)}}, true},
		{"RFC8441_3_ENABLE_CONNECT_PROTOCOL_0_then_1_accepted", settingsAsClient, [][]frame.Setting{{ecp(0)}, {ecp(1)}}, false},
		{"RFC8441_3_ENABLE_CONNECT_PROTOCOL_1_repeated_accepted", settingsAsClient, [][]frame.Setting{{ecp(1)}, {ecp(1), ecp(1)}}, false},
		{"RFC8441_3_ENABLE_CONNECT_PROTOCOL_0_never_enabled_accepted", settingsAsClient, [][]frame.Setting{{ecp(0)}, {ecp(0)}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := settingsPeer(t, tc.role, core.Config{})
			for i, fs := range tc.frames {
				p.WriteFrames(p.FB.Settings(fs...))
				if i < len(tc.frames)-1 || !tc.bad {
					p.WantFrame("ACK", frame.TypeSettings, coretest.IsAck)
				}
			}
			if tc.bad {
				settingsWantGoAway(t, p, "ENABLE_CONNECT_PROTOCOL revoked", frame.ErrCodeProtocol, "connect_protocol_revoked")
				return
			}
			p.WantIdle("accepted")
			last := tc.frames[len(tc.frames)-1]
			if got, want := p.Conn.PeerSettings().EnableConnectProtocol, last[len(last)-1].Val == 1; got != want {
				t.Fatalf("PeerSettings.EnableConnectProtocol = %v, want %v", got, want)
			}
			p.Invariants()
		})
	}
}

// TestSettingsDuplicatesLastWins: "Values are processed in the order in which
// they appear" (RFC 9113 §6.5.3), so the last of duplicates wins.
func TestSettingsDuplicatesLastWins(t *testing.T) {
	t.Run("h2spec_6.5.3/1_INITIAL_WINDOW_SIZE_100_then_1_gives_DATA_of_length_1", func(t *testing.T) {
		p := settingsPeer(t, settingsAsServer, core.Config{})
		p.Handler = coretest.Hello
		p.WriteFrames(p.FB.Settings(settingsU(frame.SettingInitialWindowSize, 100), settingsU(frame.SettingInitialWindowSize, 1)))
		p.WantFrame("the ACK comes first", frame.TypeSettings, coretest.IsAck)
		if got := p.Conn.PeerSettings().InitialWindowSize; got != 1 {
			t.Fatalf("PeerSettings.InitialWindowSize = %d, want 1", got)
		}
		p.WriteFrames(p.FB.GET(1, "/"))
		h := p.WantHeaders("response", 1, coretest.WithoutFlags(frame.FlagHeadersEndStream))
		if !bytes.Contains([]byte(h), []byte(":status: 200")) {
			t.Fatalf("response %q", h)
		}
		f := p.WantFrame("one byte of DATA: the stream window is 1", frame.TypeData, coretest.OnStream(1), coretest.WithData("h"),
			coretest.WithoutFlags(frame.FlagDataEndStream))
		if f.Length != 1 {
			t.Fatalf("DATA length %d, want 1", f.Length)
		}
		p.WantIdle("the window is exhausted")
		if w := p.Conn.SendWindow(1); w != 0 {
			t.Fatalf("SendWindow(1) = %d, want 0", w)
		}
		p.Invariants()
	})
	cases := []struct {
		name  string
		s     []frame.Setting
		check func(s core.Settings) bool
	}{
		{"MAX_FRAME_SIZE_20000_then_16384", []frame.Setting{settingsU(frame.SettingMaxFrameSize, 20000), settingsU(frame.SettingMaxFrameSize, 16384)},
			func(s core.Settings) bool { return s.MaxFrameSize == 16384 }},
		{"MAX_CONCURRENT_STREAMS_1_2_3", []frame.Setting{settingsU(frame.SettingMaxConcurrentStreams, 1), settingsU(frame.SettingMaxConcurrentStreams, 2), settingsU(frame.SettingMaxConcurrentStreams, 3)},
			func(s core.Settings) bool { return s.MaxConcurrentStreams == 3 }},
		{"HEADER_TABLE_SIZE_0_then_4096", []frame.Setting{settingsU(frame.SettingHeaderTableSize, 0), settingsU(frame.SettingHeaderTableSize, 4096)},
			func(s core.Settings) bool { return s.HeaderTableSize == 4096 }},
		{"NO_RFC7540_PRIORITIES_1_then_0", []frame.Setting{settingsU(frame.SettingNoRFC7540Priorities, 1), settingsU(frame.SettingNoRFC7540Priorities, 0)},
			func(s core.Settings) bool { return !s.NoRFC7540Priorities }},
	}
	for _, tc := range cases {
		t.Run("RFC9113_6.5.3_"+tc.name+"_last_wins", func(t *testing.T) {
			p := settingsPeer(t, settingsAsServer, core.Config{})
			p.WriteFrames(p.FB.Settings(tc.s...))
			p.WantFrame("ACK", frame.TypeSettings, coretest.IsAck)
			if got := p.Conn.PeerSettings(); !tc.check(got) {
				t.Fatalf("PeerSettings = %+v after %v", got, tc.s)
			}
			p.Invariants()
		})
	}
}

// TestSettingsValidatedBeforeApplied: a SETTINGS frame with one bad value is
// refused as a whole; none of its earlier, valid values takes effect.
func TestSettingsValidatedBeforeApplied(t *testing.T) {
	good := []frame.Setting{
		settingsU(frame.SettingInitialWindowSize, 1000),
		settingsU(frame.SettingHeaderTableSize, 0),
		settingsU(frame.SettingMaxFrameSize, 20000),
		settingsU(frame.SettingMaxConcurrentStreams, 1),
		settingsU(frame.SettingMaxHeaderListSize, 10),
		settingsU(frame.SettingEnableConnectProtocol, 1),
	}
	bad := []struct {
		name string
		s    frame.Setting
		code frame.ErrCode
	}{
		{"ENABLE_PUSH_2", settingsU(frame.SettingEnablePush, 2), frame.ErrCodeProtocol},
		{"INITIAL_WINDOW_SIZE_2^31", settingsU(frame.SettingInitialWindowSize, 1<<31), frame.ErrCodeFlowControl},
		{"MAX_FRAME_SIZE_2^24", settingsU(frame.SettingMaxFrameSize, 1<<24), frame.ErrCodeProtocol},
		{"NO_RFC7540_PRIORITIES_2", settingsU(frame.SettingNoRFC7540Priorities, 2), frame.ErrCodeProtocol},
	}
	for _, b := range bad {
		t.Run("RFC9113_6.5.3_valid_values_then_"+b.name+"_changes_nothing", func(t *testing.T) {
			p := settingsPeer(t, settingsAsServer, core.Config{})
			before := p.Conn.PeerSettings()
			p.WriteFrames(p.FB.Settings(append(append([]frame.Setting(nil), good...), b.s)...))
			settingsWantGoAway(t, p, "bad value", b.code, "")
			if got := p.Conn.PeerSettings(); got != before {
				t.Fatalf("PeerSettings = %+v, want unchanged %+v", got, before)
			}
		})
	}
	t.Run("RFC9113_6.9.2_window_overflow_from_INITIAL_WINDOW_SIZE_changes_nothing", func(t *testing.T) {
		p := settingsPeer(t, settingsAsServer, core.Config{})
		p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, coretest.Request("POST", "/")...))
		p.WantEvent("request", core.EventRequest)
		p.WriteFrames(p.FB.WindowUpdate(1, frame.MaxWindowSize-65535))
		if w := p.Conn.SendWindow(1); w != frame.MaxWindowSize {
			t.Fatalf("SendWindow(1) = %d, want 2^31-1", w)
		}
		before := p.Conn.PeerSettings()
		p.WriteFrames(p.FB.Settings(settingsU(frame.SettingMaxConcurrentStreams, 5), settingsU(frame.SettingInitialWindowSize, 65536)))
		settingsWantGoAway(t, p, "RFC 9113 §6.9.2: a window above 2^31-1 is FLOW_CONTROL_ERROR", frame.ErrCodeFlowControl, "settings_window_overflow")
		if got := p.Conn.PeerSettings(); got != before {
			t.Fatalf("PeerSettings = %+v, want unchanged %+v", got, before)
		}
	})
}

// settingsUpdate calls UpdateSettings and takes the SETTINGS frame it sends.
func settingsUpdate(t *testing.T, p *coretest.TestPeer, changes ...frame.Setting) frame.Frame {
	t.Helper()
	if err := p.Conn.UpdateSettings(p.Now, changes); err != nil {
		t.Fatalf("UpdateSettings(%v): %v", changes, err)
	}
	return p.WantFrame("SETTINGS sent by UpdateSettings", frame.TypeSettings, coretest.WithoutFlags(frame.FlagSettingsAck))
}

func settingsAck(t *testing.T, p *coretest.TestPeer) {
	t.Helper()
	p.WriteFrames(p.FB.SettingsAck())
	p.WantEvent("EventSettingsAck", core.EventSettingsAck)
}

// TestSettingsLocalPendingUntilAck: our SETTINGS take effect when the peer
// acknowledges them (RFC 9113 §6.5.3); until then, limits on what we accept
// follow the more generous of the old and new values.
func TestSettingsLocalPendingUntilAck(t *testing.T) {
	t.Run("RFC9113_6.5.3_LocalSettings_unchanged_until_ACK_and_ACKs_apply_in_order", func(t *testing.T) {
		p := settingsPeer(t, settingsAsServer, core.Config{})
		acked := p.Conn.LocalSettings()
		f := settingsUpdate(t, p, settingsU(frame.SettingMaxConcurrentStreams, 10), settingsU(frame.SettingMaxHeaderListSize, 5000),
			settingsU(frame.SettingInitialWindowSize, 1000))
		if msg := settingsSameSet(settingsList(f), []frame.Setting{settingsU(frame.SettingMaxConcurrentStreams, 10),
			settingsU(frame.SettingMaxHeaderListSize, 5000), settingsU(frame.SettingInitialWindowSize, 1000)}); msg != "" {
			t.Fatal(msg)
		}
		settingsUpdate(t, p, settingsU(frame.SettingMaxConcurrentStreams, 20))
		if got := p.Conn.LocalSettings(); got != acked {
			t.Fatalf("LocalSettings before the ACK = %+v, want %+v", got, acked)
		}
		settingsAck(t, p)
		first := acked
		first.MaxConcurrentStreams, first.MaxHeaderListSize, first.InitialWindowSize = 10, 5000, 1000
		if got := p.Conn.LocalSettings(); got != first {
			t.Fatalf("LocalSettings after the first ACK = %+v, want %+v", got, first)
		}
		settingsAck(t, p)
		second := first
		second.MaxConcurrentStreams = 20
		if got := p.Conn.LocalSettings(); got != second {
			t.Fatalf("LocalSettings after the second ACK = %+v, want %+v", got, second)
		}
		p.WantNoEvent("no EventConnected again")
		p.Invariants()
	})

	t.Run("RFC9113_6.5.3_lowered_MAX_FRAME_SIZE_accepts_old_size_until_ACK", func(t *testing.T) {
		p := settingsPeer(t, settingsAsServer, core.Config{MaxFrameSize: 32768})
		p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, coretest.Request("POST", "/")...))
		p.WantEvent("request", core.EventRequest)
		settingsUpdate(t, p, settingsU(frame.SettingMaxFrameSize, 16384))
		if got := p.Conn.LocalSettings().MaxFrameSize; got != 32768 {
			t.Fatalf("LocalSettings.MaxFrameSize before ACK = %d, want 32768", got)
		}
		p.WriteFrames(p.FB.Data(1, false, make([]byte, 32768)))
		if e := p.WantEvent("a 32768-byte DATA frame before the ACK", core.EventData); len(e.Data) != 32768 {
			t.Fatalf("EventData of %d bytes", len(e.Data))
		}
		settingsAck(t, p)
		if got := p.Conn.LocalSettings().MaxFrameSize; got != 16384 {
			t.Fatalf("LocalSettings.MaxFrameSize after ACK = %d, want 16384", got)
		}
		p.WriteFrames(p.FB.Data(1, false, make([]byte, 16384)))
		p.WantEvent("16384 bytes still fit", core.EventData)
		p.WriteFrames(p.FB.Data(1, true, make([]byte, 16385)))
		settingsWantGoAway(t, p, "RFC 9113 §4.2: a frame above the acknowledged MAX_FRAME_SIZE", frame.ErrCodeFrameSize, "")
	})

	t.Run("RFC9113_6.5.3_lowered_MAX_HEADER_LIST_SIZE_applies_after_ACK", func(t *testing.T) {
		p := settingsPeer(t, settingsAsServer, core.Config{MaxHeaderListSize: 2000})
		settingsUpdate(t, p, settingsU(frame.SettingMaxHeaderListSize, 1000))
		p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders|coretest.EndStream, settingsPadTo(1500, coretest.Request("GET", "/")...)...))
		p.WantEvent("a 1500-byte header list before the ACK (old limit 2000)", core.EventRequest)
		settingsAck(t, p)
		p.WriteFrames(p.FB.Headers(3, coretest.EndHeaders|coretest.EndStream, settingsPadTo(1000, coretest.Request("GET", "/")...)...))
		p.WantEvent("exactly 1000 after the ACK", core.EventRequest)
		p.WriteFrames(p.FB.Headers(5, coretest.EndHeaders|coretest.EndStream, settingsPadTo(1001, coretest.Request("GET", "/")...)...))
		h := p.WantHeaders("431 for 1001 bytes after the ACK", 5, coretest.WithFlags(frame.FlagHeadersEndStream|frame.FlagHeadersEndHeaders))
		if !bytes.HasPrefix([]byte(h), []byte(":status: 431")) {
			t.Fatalf("response %q, want 431", h)
		}
		p.WantIdle("no RST_STREAM: the request had END_STREAM")
		p.WantNoEvent("the refused request is not surfaced")
		p.Invariants()
	})

	t.Run("RFC9113_6.5.3_lowered_MAX_CONCURRENT_STREAMS_applies_after_ACK", func(t *testing.T) {
		p := settingsPeer(t, settingsAsServer, core.Config{})
		settingsUpdate(t, p, settingsU(frame.SettingMaxConcurrentStreams, 1))
		p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, coretest.Request("POST", "/")...),
			p.FB.Headers(3, coretest.EndHeaders, coretest.Request("POST", "/")...))
		p.WantEvent("stream 1 before the ACK", core.EventRequest)
		p.WantEvent("stream 3 before the ACK (old limit 100)", core.EventRequest)
		settingsAck(t, p)
		p.WriteFrames(p.FB.Headers(5, coretest.EndHeaders, coretest.Request("POST", "/")...))
		p.WantRST("RFC 9113 §5.1.2: above the acknowledged limit", 5, frame.ErrCodeRefusedStream)
		p.WantNoEvent("stream 5 not surfaced")
		p.Invariants()
	})
}

// TestSettingsUpdateSettingsErrors: UpdateSettings refuses what the protocol
// forbids and sends nothing.
func TestSettingsUpdateSettingsErrors(t *testing.T) {
	cases := []struct {
		name    string
		role    settingsRole
		cfg     core.Config
		changes []frame.Setting
		want    error
	}{
		{"RFC9113_6.5.2_MAX_FRAME_SIZE_16383_ErrInvalidSetting", settingsAsServer, core.Config{}, []frame.Setting{settingsU(frame.SettingMaxFrameSize, 16383)}, core.ErrInvalidSetting},
		{"RFC9113_6.5.2_MAX_FRAME_SIZE_2^24_ErrInvalidSetting", settingsAsClient, core.Config{}, []frame.Setting{settingsU(frame.SettingMaxFrameSize, 1<<24)}, core.ErrInvalidSetting},
		{"RFC9113_6.5.2_INITIAL_WINDOW_SIZE_2^31_ErrInvalidSetting", settingsAsServer, core.Config{}, []frame.Setting{settingsU(frame.SettingInitialWindowSize, 1<<31)}, core.ErrInvalidSetting},
		{"RFC9113_6.5.2_ENABLE_PUSH_2_ErrInvalidSetting", settingsAsClient, core.Config{}, []frame.Setting{settingsU(frame.SettingEnablePush, 2)}, core.ErrInvalidSetting},
		{"RFC9218_2.1_NO_RFC7540_PRIORITIES_2_ErrInvalidSetting", settingsAsServer, core.Config{}, []frame.Setting{settingsU(frame.SettingNoRFC7540Priorities, 2)}, core.ErrInvalidSetting},
		{"client_ENABLE_PUSH_1_ErrPushUnsupported", settingsAsClient, core.Config{}, []frame.Setting{settingsU(frame.SettingEnablePush, 1)}, core.ErrPushUnsupported},
		{"server_ENABLE_PUSH_1_ErrPushUnsupported", settingsAsServer, core.Config{}, []frame.Setting{settingsU(frame.SettingEnablePush, 1)}, core.ErrPushUnsupported},
		{"RFC8441_3_client_ENABLE_CONNECT_PROTOCOL_ErrInvalidSetting", settingsAsClient, core.Config{}, []frame.Setting{settingsU(frame.SettingEnableConnectProtocol, 1)}, core.ErrInvalidSetting},
		{"RFC8441_3_server_ENABLE_CONNECT_PROTOCOL_2_ErrInvalidSetting", settingsAsServer, core.Config{}, []frame.Setting{settingsU(frame.SettingEnableConnectProtocol, 2)}, core.ErrInvalidSetting},
		{"RFC8441_3_server_ENABLE_CONNECT_PROTOCOL_back_to_0_ErrInvalidSetting", settingsAsServer, core.Config{EnableConnectProtocol: true},
			[]frame.Setting{settingsU(frame.SettingEnableConnectProtocol, 0)}, core.ErrInvalidSetting},
		{"valid_change_then_invalid_sends_nothing", settingsAsServer, core.Config{},
			[]frame.Setting{settingsU(frame.SettingMaxConcurrentStreams, 7), settingsU(frame.SettingMaxFrameSize, 1)}, core.ErrInvalidSetting},
	}
	for _, tc := range cases {
		t.Run(tc.role.String()+"/"+tc.name, func(t *testing.T) {
			p := settingsPeer(t, tc.role, tc.cfg)
			before := p.Conn.LocalSettings()
			if err := p.Conn.UpdateSettings(p.Now, tc.changes); !errors.Is(err, tc.want) {
				t.Fatalf("UpdateSettings(%v) = %v, want %v", tc.changes, err, tc.want)
			}
			p.WantIdle("a refused UpdateSettings sends nothing")
			// Nothing is pending: a later change is diffed against the
			// acknowledged settings and a single ACK settles it.
			f := settingsUpdate(t, p, settingsU(frame.SettingMaxConcurrentStreams, 42))
			if msg := settingsSameSet(settingsList(f), []frame.Setting{settingsU(frame.SettingMaxConcurrentStreams, 42)}); msg != "" {
				t.Fatal(msg)
			}
			settingsAck(t, p)
			want := before
			want.MaxConcurrentStreams = 42
			if got := p.Conn.LocalSettings(); got != want {
				t.Fatalf("LocalSettings = %+v, want %+v", got, want)
			}
			p.WriteFrames(p.FB.SettingsAck())
			settingsWantGoAway(t, p, "no SETTINGS left pending", frame.ErrCodeProtocol, "unsolicited_settings_ack")
		})
	}

	for _, limit := range []int{0, 3} {
		eff := limit
		if eff == 0 {
			eff = 8
		}
		t.Run(fmt.Sprintf("MaxPendingSettings_%d_ErrTooManySettings_one_past", eff), func(t *testing.T) {
			cfg := core.Config{}
			cfg.Limits.MaxPendingSettings = limit
			p := settingsPeer(t, settingsAsServer, cfg)
			for i := 0; i < eff; i++ {
				settingsUpdate(t, p, settingsU(frame.SettingMaxConcurrentStreams, uint32(10+i)))
			}
			if err := p.Conn.UpdateSettings(p.Now, []frame.Setting{settingsU(frame.SettingMaxConcurrentStreams, 99)}); !errors.Is(err, core.ErrTooManySettings) {
				t.Fatalf("UpdateSettings #%d = %v, want ErrTooManySettings", eff+1, err)
			}
			p.WantIdle("nothing sent past the cap")
			settingsAck(t, p)
			f := settingsUpdate(t, p, settingsU(frame.SettingMaxConcurrentStreams, 99))
			if msg := settingsSameSet(settingsList(f), []frame.Setting{settingsU(frame.SettingMaxConcurrentStreams, 99)}); msg != "" {
				t.Fatal(msg)
			}
			for i := 0; i < eff; i++ {
				settingsAck(t, p)
			}
			if got := p.Conn.LocalSettings().MaxConcurrentStreams; got != 99 {
				t.Fatalf("LocalSettings.MaxConcurrentStreams = %d, want 99", got)
			}
			p.Invariants()
		})
	}

	t.Run("unknown_and_unchanged_identifiers_are_not_sent", func(t *testing.T) {
		for _, role := range []settingsRole{settingsAsServer, settingsAsClient} {
			p := settingsPeer(t, role, core.Config{})
			f := settingsUpdate(t, p, settingsU(0xff, 1), settingsU(frame.SettingEnablePush, 0),
				settingsU(frame.SettingMaxConcurrentStreams, 100), settingsU(frame.SettingMaxFrameSize, 20000))
			if msg := settingsSameSet(settingsList(f), []frame.Setting{settingsU(frame.SettingMaxFrameSize, 20000)}); msg != "" {
				t.Fatalf("%v: %s", role, msg)
			}
		}
	})

	t.Run("ErrClosed_after_Close", func(t *testing.T) {
		p := settingsPeer(t, settingsAsServer, core.Config{})
		p.Conn.Close(p.Now, frame.ErrCodeNo, "")
		if err := p.Conn.UpdateSettings(p.Now, []frame.Setting{settingsU(frame.SettingMaxConcurrentStreams, 1)}); !errors.Is(err, core.ErrClosed) {
			t.Fatalf("UpdateSettings after Close = %v, want ErrClosed", err)
		}
	})
}

// TestSettingsAckTimeout: "If the sender of a SETTINGS frame does not receive
// an acknowledgment within a reasonable amount of time, it MAY issue a
// connection error of type SETTINGS_TIMEOUT" (RFC 9113 §6.5.3).
func TestSettingsAckTimeout(t *testing.T) {
	for _, role := range []settingsRole{settingsAsServer, settingsAsClient} {
		for _, d := range []time.Duration{0, 3 * time.Second} {
			eff := d
			if eff == 0 {
				eff = 10 * time.Second
			}
			t.Run(fmt.Sprintf("%v/RFC9113_6.5.3_UpdateSettings_unacknowledged_for_%v_is_SETTINGS_TIMEOUT", role, eff), func(t *testing.T) {
				cfg := core.Config{}
				cfg.Timeouts.SettingsAck = d
				p := settingsPeer(t, role, cfg)
				p.Advance(time.Second)
				settingsUpdate(t, p, settingsU(frame.SettingMaxConcurrentStreams, 50))
				deadline, ok := p.Conn.PollTimeout()
				if want := p.Now.Add(eff); !ok || !deadline.Equal(want) {
					t.Fatalf("PollTimeout = %v, %v; want %v", deadline, ok, want)
				}
				p.Advance(deadline.Sub(p.Now) - time.Nanosecond)
				p.WantIdle("just before the deadline")
				p.WantNoEvent("just before the deadline")
				if p.Conn.Phase() != core.PhaseConnected {
					t.Fatalf("phase %v before the deadline", p.Conn.Phase())
				}
				p.Advance(time.Nanosecond)
				settingsWantGoAway(t, p, "at the deadline", frame.ErrCodeSettingsTimeout, "settings_ack_timeout")
			})
		}
	}

	t.Run("RFC9113_6.5.3_ACK_in_time_disarms_and_next_pending_rearms", func(t *testing.T) {
		cfg := core.Config{}
		cfg.Timeouts.SettingsAck = 4 * time.Second
		p := settingsPeer(t, settingsAsServer, cfg)
		settingsUpdate(t, p, settingsU(frame.SettingMaxConcurrentStreams, 50))
		p.Advance(2 * time.Second)
		settingsUpdate(t, p, settingsU(frame.SettingMaxConcurrentStreams, 60))
		p.Advance(time.Second)
		settingsAck(t, p) // first acknowledged at 3 s; the second, sent at 2 s, is due at 6 s
		if d, ok := p.Conn.PollTimeout(); !ok || !d.Equal(p.Now.Add(3*time.Second)) {
			t.Fatalf("PollTimeout = %v, %v; want %v", d, ok, p.Now.Add(3*time.Second))
		}
		p.Advance(3*time.Second - time.Nanosecond)
		p.WantIdle("second SETTINGS still within its time")
		p.Advance(time.Nanosecond)
		settingsWantGoAway(t, p, "second SETTINGS unacknowledged", frame.ErrCodeSettingsTimeout, "settings_ack_timeout")
	})

	t.Run("RFC9113_6.5.3_all_acknowledged_no_timeout", func(t *testing.T) {
		cfg := core.Config{}
		cfg.Timeouts.KeepAlive, cfg.Timeouts.Idle = -1, -1
		p := settingsPeer(t, settingsAsServer, cfg)
		settingsUpdate(t, p, settingsU(frame.SettingMaxConcurrentStreams, 50))
		if _, ok := p.Conn.PollTimeout(); !ok {
			t.Fatal("no timer armed for the pending SETTINGS")
		}
		settingsAck(t, p)
		if d, ok := p.Conn.PollTimeout(); ok {
			t.Fatalf("PollTimeout = %v after the ACK, want no timer", d)
		}
	})

	t.Run("negative_Timeouts.SettingsAck_disables_the_timer", func(t *testing.T) {
		cfg := core.Config{}
		cfg.Timeouts.SettingsAck, cfg.Timeouts.KeepAlive, cfg.Timeouts.Idle = -1, -1, -1
		p := settingsPeer(t, settingsAsServer, cfg)
		settingsUpdate(t, p, settingsU(frame.SettingMaxConcurrentStreams, 50))
		if d, ok := p.Conn.PollTimeout(); ok {
			t.Fatalf("PollTimeout = %v, want none", d)
		}
		p.Advance(time.Hour)
		p.WantIdle("no SETTINGS_TIMEOUT when disabled")
	})

	t.Run("RFC9113_6.5.3_preface_SETTINGS_unacknowledged_is_SETTINGS_TIMEOUT", func(t *testing.T) {
		p := coretest.NewServerPeer(t, core.Config{})
		p.WriteBytes([]byte(coretest.ClientPreface))
		p.WriteFrames(p.FB.Settings())
		p.WantFrame("SETTINGS", frame.TypeSettings)
		p.WantFrame("WINDOW_UPDATE", frame.TypeWindowUpdate)
		p.WantFrame("ACK", frame.TypeSettings, coretest.IsAck)
		if d, ok := p.Conn.PollTimeout(); !ok || !d.Equal(coretest.Epoch.Add(10*time.Second)) {
			t.Fatalf("PollTimeout = %v, %v; want Epoch+10s", d, ok)
		}
		p.Advance(10*time.Second - time.Nanosecond)
		p.WantIdle("before the deadline")
		if p.Conn.Phase() != core.PhaseSettings {
			t.Fatalf("phase %v, want settings", p.Conn.Phase())
		}
		p.Advance(time.Nanosecond)
		settingsWantGoAway(t, p, "the first SETTINGS never acknowledged", frame.ErrCodeSettingsTimeout, "settings_ack_timeout")
	})
}

// TestSettingsUnsolicitedAck: an ACK for SETTINGS we never sent is a
// connection error PROTOCOL_ERROR.
func TestSettingsUnsolicitedAck(t *testing.T) {
	for _, role := range []settingsRole{settingsAsServer, settingsAsClient} {
		t.Run(role.String()+"/RFC9113_6.5.3_ACK_with_nothing_pending_is_PROTOCOL_ERROR", func(t *testing.T) {
			p := settingsPeer(t, role, core.Config{})
			p.WriteFrames(p.FB.SettingsAck())
			settingsWantGoAway(t, p, "unsolicited ACK", frame.ErrCodeProtocol, "unsolicited_settings_ack")
		})
		t.Run(role.String()+"/RFC9113_6.5.3_second_ACK_for_one_SETTINGS_is_PROTOCOL_ERROR", func(t *testing.T) {
			p := settingsPeer(t, role, core.Config{})
			settingsUpdate(t, p, settingsU(frame.SettingMaxConcurrentStreams, 9))
			p.WriteFrames(p.FB.SettingsAck(), p.FB.SettingsAck())
			p.WantEvent("first ACK", core.EventSettingsAck)
			settingsWantGoAway(t, p, "second ACK", frame.ErrCodeProtocol, "unsolicited_settings_ack")
		})
	}
}

// TestSettingsFirstFrameMustBeSettings: "The server connection preface
// consists of a potentially empty SETTINGS frame ... that MUST be the first
// frame"; likewise the client's after the magic (RFC 9113 §3.4).
func TestSettingsFirstFrameMustBeSettings(t *testing.T) {
	firsts := []struct {
		name string
		f    func(b *coretest.FrameBuilder, role settingsRole) []byte
	}{
		{"PING", func(b *coretest.FrameBuilder, _ settingsRole) []byte { return b.Ping(false, [8]byte{}) }},
		{"SETTINGS_ACK", func(b *coretest.FrameBuilder, _ settingsRole) []byte { return b.SettingsAck() }},
		{"WINDOW_UPDATE", func(b *coretest.FrameBuilder, _ settingsRole) []byte { return b.WindowUpdate(0, 100) }},
		{"unknown_type_0xfa", func(b *coretest.FrameBuilder, _ settingsRole) []byte { return b.Raw(0xfa, 0, 0, []byte("x")) }},
		{"PRIORITY", func(b *coretest.FrameBuilder, _ settingsRole) []byte { return b.Priority(1, 0, false, 15) }},
		{"GOAWAY", func(b *coretest.FrameBuilder, _ settingsRole) []byte { return b.GoAway(0, frame.ErrCodeNo, "") }},
		{"HEADERS", func(b *coretest.FrameBuilder, role settingsRole) []byte {
			if role == settingsAsClient {
				return b.Headers(1, coretest.EndHeaders|coretest.EndStream, coretest.Response("200")...)
			}
			return b.GET(1, "/")
		}},
	}
	for _, role := range []settingsRole{settingsAsServer, settingsAsClient} {
		for _, tc := range firsts {
			t.Run(role.String()+"/RFC9113_3.4_first_frame_"+tc.name+"_is_PROTOCOL_ERROR", func(t *testing.T) {
				var p *coretest.TestPeer
				if role == settingsAsClient {
					p = coretest.NewClientPeer(t, core.Config{})
					p.WantBytes("client preface", []byte(coretest.ClientPreface))
					if _, err := p.Conn.OpenStream(settingsGET, core.StreamOptions{EndStream: true}); err != nil {
						t.Fatal(err)
					}
				} else {
					p = coretest.NewServerPeer(t, core.Config{})
					p.WriteBytes([]byte(coretest.ClientPreface))
				}
				p.WantFrame("preface SETTINGS", frame.TypeSettings, coretest.WithoutFlags(frame.FlagSettingsAck))
				p.WantFrame("preface WINDOW_UPDATE", frame.TypeWindowUpdate, coretest.OnStream(0))
				if role == settingsAsClient {
					p.WantFrame("the request", frame.TypeHeaders, coretest.OnStream(1))
				}
				p.WriteFrames(tc.f(p.FB, role))
				settingsWantGoAway(t, p, "first frame not SETTINGS", frame.ErrCodeProtocol, "first_frame_not_settings")
				for _, e := range p.Events {
					if e.Kind == core.EventSettings || e.Kind == core.EventConnected || e.Kind == core.EventSettingsAck {
						t.Fatalf("event %v", e.Kind)
					}
				}
			})
		}
	}
}

// TestSettingsBadClientPreface: a server that does not receive the exact
// client magic answers GOAWAY PROTOCOL_ERROR (RFC 9113 §3.4, h2spec 3.5/2).
func TestSettingsBadClientPreface(t *testing.T) {
	wrongLast := []byte(coretest.ClientPreface)
	wrongLast[len(wrongLast)-1] = 'X'
	cases := []struct {
		name    string
		b       []byte
		oneByte bool
	}{
		{"h2spec_3.5/2_INVALID_CONNECTION_PREFACE", []byte("INVALID CONNECTION PREFACE\r\n\r\n"), false},
		{"HTTP/1.1_request", []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"), false},
		{"last_magic_byte_wrong", wrongLast, false},
		{"last_magic_byte_wrong_one_byte_per_Receive", wrongLast, true},
		{"SETTINGS_frame_without_magic", frame.AppendSettings(nil, nil), false},
	}
	for _, tc := range cases {
		t.Run("RFC9113_3.4_"+tc.name+"_is_PROTOCOL_ERROR", func(t *testing.T) {
			p := coretest.NewServerPeer(t, core.Config{})
			if tc.oneByte {
				for i := range tc.b {
					n, err := p.Conn.Receive(p.Now, tc.b[i:i+1])
					if i < len(tc.b)-1 && (n != 1 || err != nil) {
						t.Fatalf("byte %d: Receive = %d, %v", i, n, err)
					}
					if i == len(tc.b)-1 && err == nil {
						t.Fatal("the wrong byte did not fail Receive")
					}
				}
			} else {
				if _, err := p.Conn.Receive(p.Now, tc.b); err == nil {
					t.Fatal("Receive of a bad preface returned no error")
				}
			}
			p.WantFrame("our SETTINGS", frame.TypeSettings)
			p.WantFrame("our WINDOW_UPDATE", frame.TypeWindowUpdate)
			settingsWantGoAway(t, p, "bad preface", frame.ErrCodeProtocol, "bad_preface")
		})
	}
}

// TestSettingsPrefaceByteAtATime: the preface and first frames may arrive in
// pieces of any size (RFC 9113 §3.4).
func TestSettingsPrefaceByteAtATime(t *testing.T) {
	for _, role := range []settingsRole{settingsAsServer, settingsAsClient} {
		t.Run(role.String()+"/RFC9113_3.4_one_byte_per_Receive", func(t *testing.T) {
			var p *coretest.TestPeer
			var in []byte
			if role == settingsAsClient {
				p = coretest.NewClientPeer(t, core.Config{})
				p.WantBytes("client preface", []byte(coretest.ClientPreface))
			} else {
				p = coretest.NewServerPeer(t, core.Config{})
				in = append(in, coretest.ClientPreface...)
			}
			in = append(in, p.FB.Settings(settingsU(frame.SettingMaxConcurrentStreams, 7), settingsU(frame.SettingMaxFrameSize, 20000))...)
			settingsEnd := len(in)
			in = append(in, p.FB.SettingsAck()...)
			for i := range in {
				switch {
				case i < settingsEnd && p.Conn.Phase() != core.PhasePreface:
					t.Fatalf("phase %v at byte %d, want preface", p.Conn.Phase(), i)
				case i >= settingsEnd && p.Conn.Phase() != core.PhaseSettings:
					t.Fatalf("phase %v at byte %d, want settings", p.Conn.Phase(), i)
				}
				n, err := p.Conn.Receive(p.Now, in[i:i+1])
				if n != 1 || err != nil {
					t.Fatalf("byte %d: Receive = %d, %v", i, n, err)
				}
			}
			if p.Conn.Phase() != core.PhaseConnected {
				t.Fatalf("phase %v, want connected", p.Conn.Phase())
			}
			p.WantFrame("SETTINGS", frame.TypeSettings, coretest.WithoutFlags(frame.FlagSettingsAck))
			p.WantFrame("WINDOW_UPDATE", frame.TypeWindowUpdate)
			p.WantFrame("ACK of the peer's SETTINGS", frame.TypeSettings, coretest.IsAck)
			p.WantIdle("nothing else")
			settingsKinds(t, "events", p.Events, core.EventSettings, core.EventSettingsAck, core.EventConnected)
			if s := p.Conn.PeerSettings(); s.MaxConcurrentStreams != 7 || s.MaxFrameSize != 20000 {
				t.Fatalf("PeerSettings = %+v", s)
			}
			p.Invariants()
		})
	}
}

// TestSettingsInitialSettingsContents: our preface SETTINGS carry exactly the
// configured values that differ from the RFC's initial ones (RFC 9113 §6.5.2),
// and LocalSettings reflect them once acknowledged.
func TestSettingsInitialSettingsContents(t *testing.T) {
	S := settingsU
	cases := []struct {
		name   string
		role   settingsRole
		cfg    core.Config
		want   []frame.Setting
		connWU uint32 // 0: no WINDOW_UPDATE
	}{
		{"server_defaults", settingsAsServer, core.Config{},
			[]frame.Setting{S(frame.SettingMaxConcurrentStreams, 100), S(frame.SettingInitialWindowSize, 256<<10), S(frame.SettingMaxHeaderListSize, 64<<10)},
			1<<20 - 65535},
		{"client_defaults", settingsAsClient, core.Config{},
			[]frame.Setting{S(frame.SettingEnablePush, 0), S(frame.SettingMaxConcurrentStreams, 100), S(frame.SettingInitialWindowSize, 256<<10), S(frame.SettingMaxHeaderListSize, 64<<10)},
			1<<20 - 65535},
		{"server_custom", settingsAsServer, core.Config{HeaderTableSize: 8192, MaxConcurrentStreams: 250, InitialWindowSize: 65535,
			MaxFrameSize: 1 << 20, MaxHeaderListSize: 16384, EnableConnectProtocol: true, ConnectionWindowSize: 65535},
			[]frame.Setting{S(frame.SettingHeaderTableSize, 8192), S(frame.SettingMaxConcurrentStreams, 250), S(frame.SettingMaxFrameSize, 1<<20),
				S(frame.SettingMaxHeaderListSize, 16384), S(frame.SettingEnableConnectProtocol, 1)},
			0},
		{"client_custom_never_sends_ENABLE_CONNECT_PROTOCOL", settingsAsClient, core.Config{HeaderTableSize: 1024, InitialWindowSize: 1 << 20,
			MaxFrameSize: 16384, EnableConnectProtocol: true, ConnectionWindowSize: 1 << 24},
			[]frame.Setting{S(frame.SettingEnablePush, 0), S(frame.SettingHeaderTableSize, 1024), S(frame.SettingMaxConcurrentStreams, 100),
				S(frame.SettingInitialWindowSize, 1<<20), S(frame.SettingMaxHeaderListSize, 64<<10)},
			1<<24 - 65535},
	}
	for _, tc := range cases {
		t.Run("RFC9113_6.5.2_"+tc.name, func(t *testing.T) {
			var p *coretest.TestPeer
			if tc.role == settingsAsClient {
				p = coretest.NewClientPeer(t, tc.cfg)
				p.WantBytes("client preface magic first", []byte(coretest.ClientPreface))
			} else {
				p = coretest.NewServerPeer(t, tc.cfg)
			}
			f := p.WantFrame("preface SETTINGS", frame.TypeSettings, coretest.OnStream(0), coretest.WithoutFlags(frame.FlagSettingsAck))
			if msg := settingsSameSet(settingsList(f), tc.want); msg != "" {
				t.Fatal(msg)
			}
			if tc.connWU != 0 {
				wu := p.WantFrame("connection WINDOW_UPDATE", frame.TypeWindowUpdate, coretest.OnStream(0))
				if wu.Increment != tc.connWU {
					t.Fatalf("WINDOW_UPDATE increment %d, want %d", wu.Increment, tc.connWU)
				}
			}
			p.WantIdle("nothing else in the preface")
			if got := p.Conn.LocalSettings(); got != core.InitialSettings() {
				t.Fatalf("LocalSettings before the ACK = %+v, want the RFC's initial values", got)
			}
			if tc.role == settingsAsServer {
				p.WriteBytes([]byte(coretest.ClientPreface))
			}
			p.WriteFrames(p.FB.Settings(), p.FB.SettingsAck())
			want := core.InitialSettings()
			for _, s := range tc.want {
				switch s.ID {
				case frame.SettingHeaderTableSize:
					want.HeaderTableSize = s.Val
				case frame.SettingEnablePush:
					want.EnablePush = s.Val == 1
				case frame.SettingMaxConcurrentStreams:
					want.MaxConcurrentStreams = s.Val
				case frame.SettingInitialWindowSize:
					want.InitialWindowSize = s.Val
				case frame.SettingMaxFrameSize:
					want.MaxFrameSize = s.Val
				case frame.SettingMaxHeaderListSize:
					want.MaxHeaderListSize = s.Val
				case frame.SettingEnableConnectProtocol:
					want.EnableConnectProtocol = s.Val == 1
				}
			}
			if got := p.Conn.LocalSettings(); got != want {
				t.Fatalf("LocalSettings after the ACK = %+v, want %+v", got, want)
			}
		})
	}
}

// TestSettingsEntriesCap: Limits.MaxSettingsEntries parameters per frame are
// accepted; one more is abuse (ENHANCE_YOUR_CALM, AbuseTooManySettings), and
// nothing of the frame is applied.
func TestSettingsEntriesCap(t *testing.T) {
	entries := func(n int) []frame.Setting {
		s := make([]frame.Setting, n)
		for i := range s {
			s[i] = settingsU(frame.SettingMaxConcurrentStreams, uint32(i+1))
		}
		return s
	}
	for _, limit := range []int{0, 8, 40} {
		eff := limit
		if eff == 0 {
			eff = 32
		}
		cfg := core.Config{}
		cfg.Limits.MaxSettingsEntries = limit
		t.Run(fmt.Sprintf("DESIGN5_exactly_%d_entries_accepted", eff), func(t *testing.T) {
			p := settingsPeer(t, settingsAsServer, cfg)
			p.WriteFrames(p.FB.Settings(entries(eff)...))
			p.WantFrame("ACK", frame.TypeSettings, coretest.IsAck)
			if got := p.Conn.PeerSettings().MaxConcurrentStreams; got != uint32(eff) {
				t.Fatalf("MaxConcurrentStreams = %d, want %d (last wins)", got, eff)
			}
			p.Invariants()
		})
		t.Run(fmt.Sprintf("DESIGN5_%d_entries_is_ENHANCE_YOUR_CALM", eff+1), func(t *testing.T) {
			p := settingsPeer(t, settingsAsServer, cfg)
			before := p.Conn.PeerSettings()
			p.WriteFrames(p.FB.Settings(entries(eff + 1)...))
			settingsWantAbuse(t, p, "too many entries", core.AbuseTooManySettings)
			if got := p.Conn.PeerSettings(); got != before {
				t.Fatalf("PeerSettings changed: %+v", got)
			}
		})
	}
	t.Run("DESIGN5_33_entries_in_preface_SETTINGS_client_is_ENHANCE_YOUR_CALM", func(t *testing.T) {
		p := coretest.NewClientPeer(t, core.Config{})
		p.WantBytes("magic", []byte(coretest.ClientPreface))
		p.WantFrame("SETTINGS", frame.TypeSettings)
		p.WantFrame("WINDOW_UPDATE", frame.TypeWindowUpdate)
		p.WriteFrames(p.FB.Settings(entries(33)...))
		settingsWantAbuse(t, p, "too many entries in the preface", core.AbuseTooManySettings)
	})
}

// TestSettingsEventOrdering: EventSettings when the peer's SETTINGS are
// applied, EventSettingsAck when ours are acknowledged, and EventConnected
// once, right after the first acknowledgment.
func TestSettingsEventOrdering(t *testing.T) {
	t.Run("server_frames_in_separate_reads", func(t *testing.T) {
		p := coretest.NewServerPeer(t, core.Config{})
		p.WriteBytes([]byte(coretest.ClientPreface))
		p.WantNoEvent("magic alone")
		if p.Conn.Phase() != core.PhasePreface {
			t.Fatalf("phase %v", p.Conn.Phase())
		}
		p.WriteFrames(p.FB.Settings())
		settingsKinds(t, "after SETTINGS", p.Events, core.EventSettings)
		p.Events = nil
		if p.Conn.Phase() != core.PhaseSettings {
			t.Fatalf("phase %v, want settings", p.Conn.Phase())
		}
		p.WriteFrames(p.FB.SettingsAck())
		settingsKinds(t, "after ACK", p.Events, core.EventSettingsAck, core.EventConnected)
		p.Events = nil
		if p.Conn.Phase() != core.PhaseConnected {
			t.Fatalf("phase %v, want connected", p.Conn.Phase())
		}
		p.WriteFrames(p.FB.Settings(settingsU(frame.SettingMaxConcurrentStreams, 5)))
		settingsKinds(t, "later SETTINGS", p.Events, core.EventSettings)
		p.Events = nil
		if err := p.Conn.UpdateSettings(p.Now, []frame.Setting{settingsU(frame.SettingMaxConcurrentStreams, 3)}); err != nil {
			t.Fatal(err)
		}
		p.WriteFrames(p.FB.SettingsAck())
		settingsKinds(t, "later ACK: no second EventConnected", p.Events, core.EventSettingsAck)
	})
	t.Run("server_SETTINGS_and_ACK_in_one_read", func(t *testing.T) {
		p := coretest.NewServerPeer(t, core.Config{})
		p.WriteBytes(append([]byte(coretest.ClientPreface), append(p.FB.Settings(), p.FB.SettingsAck()...)...))
		settingsKinds(t, "events", p.Events, core.EventSettings, core.EventSettingsAck, core.EventConnected)
	})
	t.Run("client_ACK_then_SETTINGS_order_from_server", func(t *testing.T) {
		p := coretest.NewClientPeer(t, core.Config{})
		p.WriteFrames(p.FB.Settings())
		settingsKinds(t, "after SETTINGS", p.Events, core.EventSettings)
		p.Events = nil
		if p.Conn.Phase() != core.PhaseSettings {
			t.Fatalf("phase %v, want settings", p.Conn.Phase())
		}
		p.WriteFrames(p.FB.SettingsAck())
		settingsKinds(t, "after ACK", p.Events, core.EventSettingsAck, core.EventConnected)
	})
	t.Run("Pair_both_sides", func(t *testing.T) {
		for seed := uint64(1); seed <= 5; seed++ {
			pair, err := coretest.NewPair(seed, core.Config{}, core.Config{})
			if err != nil {
				t.Fatal(err)
			}
			pair.MaxChunk = int(seed * 7)
			pair.Drive()
			for _, side := range []coretest.Side{coretest.Client, coretest.Server} {
				got := pair.Events(side, core.EventSettings, core.EventSettingsAck, core.EventConnected)
				settingsKinds(t, fmt.Sprintf("seed %d %v", seed, side), got, core.EventSettings, core.EventSettingsAck, core.EventConnected)
			}
			if pair.Client.Phase() != core.PhaseConnected || pair.Server.Phase() != core.PhaseConnected {
				t.Fatalf("phases %v %v", pair.Client.Phase(), pair.Server.Phase())
			}
			if err := pair.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// settingsGET is a plain GET request for OpenStream.
var settingsGET = []core.HeaderField{
	{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
	{Name: ":authority", Value: "example.com"}, {Name: ":path", Value: "/"},
}
