package core_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// msgConnectReq is a CONNECT request (RFC 9113 §8.5): :method and
// :authority only.
var msgConnectReq = []string{":method", "CONNECT", ":authority", "proxy.example:443"}

// msgWebSocketReq is an extended CONNECT request (RFC 8441 §4).
var msgWebSocketReq = []string{":method", "CONNECT", ":protocol", "websocket", ":scheme", "https", ":path", "/chat",
	":authority", "example.com", "sec-websocket-version", "13", "sec-websocket-protocol", "chat"}

// msgServerSettings exchanges prefaces with a server Conn by hand and
// returns the SETTINGS frame the server sent.
func msgServerSettings(t *testing.T, cfg core.Config) (*coretest.TestPeer, frame.Frame) {
	t.Helper()
	p := coretest.NewServerPeer(t, cfg)
	p.WriteBytes([]byte(coretest.ClientPreface))
	p.WriteFrames(p.FB.Settings())
	f := p.WantFrame("the server's SETTINGS", frame.TypeSettings, coretest.WithoutFlags(frame.FlagSettingsAck))
	p.WantFrame("connection window increase", frame.TypeWindowUpdate, coretest.OnStream(0))
	p.WriteFrames(p.FB.SettingsAck())
	p.WantFrame("ACK of our SETTINGS", frame.TypeSettings, coretest.IsAck)
	p.Events = p.Events[:0]
	return p, f
}

// msgSettingValue returns the value of setting id in a SETTINGS frame.
func msgSettingValue(f frame.Frame, id frame.SettingID) (uint32, bool) {
	for i := 0; i < f.NumSettings(); i++ {
		if s := f.Setting(i); s.ID == id {
			return s.Val, true
		}
	}
	return 0, false
}

// msgConnectRules: the pseudo-header rules of CONNECT (RFC 9113 §8.5) and
// extended CONNECT (RFC 8441 §4). All requests leave the stream open.
var msgConnectRules = []msgRule{
	{name: "RFC9113_8.5_CONNECT_with_only_method_and_authority_is_accepted", fields: msgConnectReq, open: true},
	{name: "RFC9113_8.5_CONNECT_with_path_is_malformed", fields: append(append([]string{}, msgConnectReq...), ":path", "/"), open: true,
		token: "connect_pseudo_headers", section: msgS85},
	{name: "RFC9113_8.5_CONNECT_with_scheme_is_malformed", fields: append(append([]string{}, msgConnectReq...), ":scheme", "https"), open: true,
		token: "connect_pseudo_headers", section: msgS85},
	{name: "RFC9113_8.5_CONNECT_with_scheme_and_path_but_no_protocol_is_malformed",
		fields: []string{":method", "CONNECT", ":scheme", "https", ":path", "/chat", ":authority", "example.com"}, open: true,
		token: "connect_pseudo_headers", section: msgS85},
	{name: "RFC9113_8.5_CONNECT_without_authority_is_malformed", fields: []string{":method", "CONNECT"}, open: true,
		token: "connect_pseudo_headers", section: msgS85},
	{name: "RFC9113_8.5_CONNECT_with_empty_authority_is_malformed", fields: []string{":method", "CONNECT", ":authority", ""}, open: true,
		token: "connect_pseudo_headers", section: msgS85},
	{name: "RFC9113_8.2.2_CONNECT_with_connection_specific_field_is_malformed",
		fields: append(append([]string{}, msgConnectReq...), "proxy-connection", "keep-alive"), open: true,
		token: "connection_specific_field", section: msgS822, field: "proxy-connection"},
}

// msgExtConnectRules: extended CONNECT with the server's
// SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.
var msgExtConnectRules = []msgRule{
	{name: "RFC8441_4_websocket_extended_CONNECT_is_accepted", fields: msgWebSocketReq, open: true},
	{name: "RFC8441_4_plain_CONNECT_still_follows_RFC9113_8.5", fields: msgConnectReq, open: true},
	{name: "RFC8441_4_protocol_with_GET_is_malformed",
		fields: []string{":method", "GET", ":protocol", "websocket", ":scheme", "https", ":path", "/chat", ":authority", "example.com"}, open: true,
		token: "protocol_with_non_connect", section: msgS8441},
	{name: "RFC8441_4_protocol_with_POST_is_malformed",
		fields: []string{":method", "POST", ":protocol", "websocket", ":scheme", "https", ":path", "/chat", ":authority", "example.com"}, open: true,
		token: "protocol_with_non_connect", section: msgS8441},
	{name: "RFC8441_4_extended_CONNECT_without_path_is_malformed",
		fields: []string{":method", "CONNECT", ":protocol", "websocket", ":scheme", "https", ":authority", "example.com"}, open: true,
		token: "missing_pseudo_header", section: msgS831},
	{name: "RFC8441_4_extended_CONNECT_without_scheme_is_malformed",
		fields: []string{":method", "CONNECT", ":protocol", "websocket", ":path", "/chat", ":authority", "example.com"}, open: true,
		token: "missing_pseudo_header", section: msgS831},
	{name: "RFC9113_8.3_duplicate_protocol_is_malformed",
		fields: append(append([]string{}, msgWebSocketReq[:10]...), ":protocol", "websocket"), open: true,
		token: "duplicate_pseudo_header", section: msgS83, field: ":protocol"},
	{name: "RFC9113_8.3_protocol_after_regular_field_is_malformed",
		fields: []string{":method", "CONNECT", ":scheme", "https", ":path", "/chat", ":authority", "example.com", "x-a", "1", ":protocol", "websocket"}, open: true,
		token: "pseudo_after_regular", section: msgS83, field: ":protocol"},
}

// msgConnectInbound runs a CONNECT rule table against a server Conn: a
// malformed request is reset with PROTOCOL_ERROR and never surfaced; a
// valid one opens a tunnel that Respond(200) keeps open.
func msgConnectInbound(t *testing.T, rules []msgRule, cfg core.Config) {
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			p := msgServer(t, cfg)
			p.WriteFrames(msgSectionFrames(p.FB, 1, r)...)
			if r.token != "" {
				p.WantRST("malformed CONNECT: RST_STREAM PROTOCOL_ERROR", 1, frame.ErrCodeProtocol)
				p.WantNoEvent("a malformed request is never surfaced")
				p.WantIdle("nothing else sent")
				p.Invariants()
				msgServerServes(t, p, 3)
				return
			}
			e := p.WantEvent("CONNECT request", core.EventRequest)
			if e.StreamID != 1 || e.EndStream || !msgSameFields(e.Headers, r.fields...) {
				t.Fatalf("EventRequest{stream %d, end %v, headers %v}", e.StreamID, e.EndStream, e.Headers)
			}
			if err := p.Conn.Respond(1, 200, nil, nil); err != nil {
				t.Fatal(err)
			}
			if h := p.WantHeaders("2xx opens the tunnel", 1, coretest.WithoutFlags(coretest.EndStream)); h != ":status: 200" {
				t.Fatalf("2xx fields %q, want no content-length (RFC 9110 §9.3.6)", h)
			}
			p.WriteFrames(p.FB.Data(1, true, []byte("bytes")))
			msgWantSeq(t, p, "tunnel bytes", `data 1 "bytes" end=true`)
			if _, err := p.Conn.SendData(1, []byte("back"), true); err != nil {
				t.Fatal(err)
			}
			p.WantFrame("tunnel bytes back", frame.TypeData, coretest.WithData("back"), coretest.WithFlags(frame.FlagDataEndStream))
			msgWantSeq(t, p, "tunnel closed", "closed 1")
			p.Invariants()
			msgServerServes(t, p, 3)
		})
	}
}

// msgConnectOutbound runs a CONNECT rule table against OpenStream.
func msgConnectOutbound(t *testing.T, rules []msgRule, settings ...frame.Setting) {
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			p := msgClient(t, core.Config{}, settings...)
			id, err := p.Conn.OpenStream(msgFields(r.fields...), core.StreamOptions{})
			msgCheckOutbound(t, err, r)
			if r.token != "" {
				p.WantIdle("a refused OpenStream sends nothing")
				if next := msgClientServes(t, p); next != 1 {
					t.Fatalf("next stream %d, want 1", next)
				}
				return
			}
			if id != 1 {
				t.Fatalf("stream %d", id)
			}
			if h := p.WantHeaders("CONNECT request", 1, coretest.WithoutFlags(coretest.EndStream)); h != msgLines(r.fields...) {
				t.Fatalf("request fields\n%s\nwant\n%s", h, msgLines(r.fields...))
			}
			p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, ":status", "200"), p.FB.Data(1, true, []byte("hi")))
			msgWantSeq(t, p, "tunnel", "response 1 200 end=false", `data 1 "hi" end=true`)
			if _, err := p.Conn.SendData(1, nil, true); err != nil {
				t.Fatal(err)
			}
			p.WantFrame("half-close", frame.TypeData, coretest.WithFlags(frame.FlagDataEndStream))
			msgWantSeq(t, p, "tunnel closed", "closed 1")
			p.Invariants()
		})
	}
}

// TestMsgConnectRequestRules: CONNECT pseudo-header rules, inbound at a
// server and outbound through OpenStream.
func TestMsgConnectRequestRules(t *testing.T) {
	t.Run("inbound", func(t *testing.T) { msgConnectInbound(t, msgConnectRules, core.Config{}) })
	t.Run("outbound", func(t *testing.T) { msgConnectOutbound(t, msgConnectRules) })
}

// TestMsgConnectTunnelServer: a 2xx to CONNECT turns the stream into a
// tunnel (RFC 9113 §8.5): no content-length in the 2xx, DATA both ways,
// END_STREAM as half-close, no trailers.
func TestMsgConnectTunnelServer(t *testing.T) {
	open := func(t *testing.T) *coretest.TestPeer {
		p := msgServer(t, core.Config{})
		p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, msgConnectReq...))
		e := p.WantEvent("CONNECT request", core.EventRequest)
		if e.EndStream || e.Header(":authority") != "proxy.example:443" {
			t.Fatalf("request end %v authority %q", e.EndStream, e.Header(":authority"))
		}
		return p
	}
	t.Run("RFC9110_9.3.6_content_length_in_2xx_to_CONNECT_is_refused", func(t *testing.T) {
		p := open(t)
		msgWantMessageError(t, p.Conn.Respond(1, 200, msgFields("content-length", "0"), nil),
			"content_length_in_tunnel_response", msgS9336, "")
		msgWantMessageError(t, p.Conn.SendHeaders(1, msgFields(":status", "200", "content-length", "10"), false),
			"content_length_in_tunnel_response", msgS9336, "")
		msgWantMessageError(t, p.Conn.SendHeaders(1, msgFields(":status", "204", "content-length", "0"), true),
			"content_length_in_tunnel_response", msgS9336, "")
		p.WantIdle("refused responses send nothing")
		p.Invariants()
	})
	t.Run("RFC9113_8.5_Respond_200_keeps_the_stream_open_and_tunnels_DATA", func(t *testing.T) {
		p := open(t)
		if err := p.Conn.SendTrailers(1, msgFields("x-a", "1")); !errors.Is(err, core.ErrInvalidStreamState) && !errors.Is(err, core.ErrTunnelTrailers) {
			t.Fatalf("trailers before the response: %v", err)
		}
		if err := p.Conn.Respond(1, 200, msgFields("x-proxy", "h2proto"), nil); err != nil {
			t.Fatal(err)
		}
		if h := p.WantHeaders("2xx", 1, coretest.WithoutFlags(coretest.EndStream)); h != msgLines(":status", "200", "x-proxy", "h2proto") {
			t.Fatalf("2xx fields %q: no content-length may be added (RFC 9110 §9.3.6)", h)
		}
		if st := p.Conn.StreamState(1); st != core.StateOpen {
			t.Fatalf("state %v after Respond(200) on CONNECT, want open", st)
		}
		p.WantIdle("no END_STREAM after Respond(200) on a tunnel")
		p.WriteFrames(p.FB.Data(1, false, []byte("GET / HTTP/1.1\r\n\r\n")))
		msgWantSeq(t, p, "client bytes", `data 1 "GET / HTTP/1.1\r\n\r\n" end=false`)
		if _, err := p.Conn.SendData(1, []byte("HTTP/1.1 200 OK\r\n\r\n"), false); err != nil {
			t.Fatal(err)
		}
		p.WantFrame("server bytes", frame.TypeData, coretest.WithData("HTTP/1.1 200 OK\r\n\r\n"), coretest.WithoutFlags(frame.FlagDataEndStream))
		if err := p.Conn.SendTrailers(1, msgFields("x-a", "1")); !errors.Is(err, core.ErrTunnelTrailers) {
			t.Fatalf("SendTrailers on a tunnel: %v, want ErrTunnelTrailers", err)
		}
		p.WantIdle("refused trailers send nothing")
		p.WriteFrames(p.FB.Data(1, true, nil))
		msgWantSeq(t, p, "client half-close", `data 1 "" end=true`)
		if st := p.Conn.StreamState(1); st != core.StateHalfClosedRemote {
			t.Fatalf("state %v, want half_closed_remote", st)
		}
		if _, err := p.Conn.SendData(1, []byte("last"), false); err != nil {
			t.Fatal(err)
		}
		p.WantFrame("bytes after the peer's half-close", frame.TypeData, coretest.WithData("last"))
		if _, err := p.Conn.SendData(1, nil, true); err != nil {
			t.Fatal(err)
		}
		p.WantFrame("server half-close", frame.TypeData, coretest.WithData(""), coretest.WithFlags(frame.FlagDataEndStream))
		msgWantSeq(t, p, "tunnel closed", "closed 1")
		p.Invariants()
		msgServerServes(t, p, 3)
	})
	t.Run("RFC9113_8.5_Respond_200_with_body_on_CONNECT_does_not_end_the_stream", func(t *testing.T) {
		p := open(t)
		if err := p.Conn.Respond(1, 200, nil, []byte("hello")); err != nil {
			t.Fatal(err)
		}
		if h := p.WantHeaders("2xx", 1, coretest.WithoutFlags(coretest.EndStream)); h != ":status: 200" {
			t.Fatalf("2xx fields %q", h)
		}
		p.WantFrame("tunnel bytes", frame.TypeData, coretest.WithData("hello"), coretest.WithoutFlags(frame.FlagDataEndStream))
		p.WantIdle("the tunnel stays open")
		if st := p.Conn.StreamState(1); st != core.StateOpen {
			t.Fatalf("state %v, want open", st)
		}
		if _, err := p.Conn.SendData(1, []byte("more"), false); err != nil {
			t.Fatalf("SendData after Respond(200) on a tunnel: %v", err)
		}
		p.WantFrame("more tunnel bytes", frame.TypeData, coretest.WithData("more"))
		p.Invariants()
	})
	t.Run("RFC9113_8.5_non_2xx_to_CONNECT_is_an_ordinary_response", func(t *testing.T) {
		p := open(t)
		if err := p.Conn.Respond(1, 407, nil, []byte("denied")); err != nil {
			t.Fatal(err)
		}
		if h := p.WantHeaders("407", 1, coretest.WithoutFlags(coretest.EndStream)); h != msgLines(":status", "407", "content-length", "6") {
			t.Fatalf("407 fields %q", h)
		}
		p.WantFrame("407 body", frame.TypeData, coretest.WithData("denied"), coretest.WithFlags(frame.FlagDataEndStream))
		if st := p.Conn.StreamState(1); st != core.StateHalfClosedLocal {
			t.Fatalf("state %v, want half_closed_local", st)
		}
		p.WriteFrames(p.FB.Data(1, true, nil))
		msgWantSeq(t, p, "end", `data 1 "" end=true`, "closed 1")
		p.Invariants()
	})
	for _, after := range []bool{false, true} {
		name := "RFC9113_8.5_trailers_from_the_client_on_CONNECT_are_malformed"
		if after {
			name = "RFC9113_8.5_trailers_from_the_client_on_an_open_tunnel_are_malformed"
		}
		t.Run(name, func(t *testing.T) {
			p := open(t)
			if after {
				if err := p.Conn.Respond(1, 200, nil, nil); err != nil {
					t.Fatal(err)
				}
				p.WantHeaders("2xx", 1)
			}
			p.WriteFrames(p.FB.Data(1, false, []byte("x")), p.FB.Headers(1, coretest.EndHeaders|coretest.EndStream, "x-a", "1"))
			p.WantRST("trailers on a tunnel: RST_STREAM PROTOCOL_ERROR", 1, frame.ErrCodeProtocol)
			msgWantSeq(t, p, "reset", `data 1 "x" end=false`, "reset 1 PROTOCOL_ERROR trailers_on_tunnel remote=false")
			p.WantIdle("nothing else sent")
			if err := p.Conn.ReleaseStream(1); err != nil {
				t.Fatal(err)
			}
			p.Invariants()
			msgServerServes(t, p, 3)
		})
	}
}

// TestMsgConnectTunnelClient: the client side of a CONNECT tunnel.
func TestMsgConnectTunnelClient(t *testing.T) {
	open := func(t *testing.T) *coretest.TestPeer {
		p := msgClient(t, core.Config{})
		id, err := p.Conn.OpenStream(msgFields(msgConnectReq...), core.StreamOptions{})
		if err != nil || id != 1 {
			t.Fatalf("OpenStream = %d, %v", id, err)
		}
		if h := p.WantHeaders("CONNECT", 1, coretest.WithoutFlags(coretest.EndStream)); h != msgLines(msgConnectReq...) {
			t.Fatalf("CONNECT fields %q", h)
		}
		return p
	}
	t.Run("RFC9113_8.5_2xx_opens_a_bidirectional_tunnel", func(t *testing.T) {
		p := open(t)
		if err := p.Conn.SendTrailers(1, msgFields("x-a", "1")); !errors.Is(err, core.ErrTunnelTrailers) {
			t.Fatalf("SendTrailers on CONNECT: %v, want ErrTunnelTrailers", err)
		}
		p.WantIdle("refused trailers send nothing")
		p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, ":status", "200"))
		msgWantSeq(t, p, "tunnel established", "response 1 200 end=false")
		if _, err := p.Conn.SendData(1, []byte("ping"), false); err != nil {
			t.Fatal(err)
		}
		p.WantFrame("client bytes", frame.TypeData, coretest.WithData("ping"), coretest.WithoutFlags(frame.FlagDataEndStream))
		p.WriteFrames(p.FB.Data(1, false, []byte("pong")))
		msgWantSeq(t, p, "server bytes", `data 1 "pong" end=false`)
		if err := p.Conn.SendTrailers(1, msgFields("x-a", "1")); !errors.Is(err, core.ErrTunnelTrailers) {
			t.Fatalf("SendTrailers on a tunnel: %v, want ErrTunnelTrailers", err)
		}
		if _, err := p.Conn.SendData(1, nil, true); err != nil {
			t.Fatal(err)
		}
		p.WantFrame("client half-close", frame.TypeData, coretest.WithData(""), coretest.WithFlags(frame.FlagDataEndStream))
		if st := p.Conn.StreamState(1); st != core.StateHalfClosedLocal {
			t.Fatalf("state %v, want half_closed_local", st)
		}
		p.WriteFrames(p.FB.Data(1, false, []byte("still")), p.FB.Data(1, true, []byte("bye")))
		msgWantSeq(t, p, "server bytes after half-close", `data 1 "still" end=false`, `data 1 "bye" end=true`, "closed 1")
		p.WantIdle("nothing else")
		p.Invariants()
		msgClientServes(t, p)
	})
	for _, cl := range []string{"0", "100"} {
		// "A client MUST ignore any Content-Length or Transfer-Encoding
		// header fields received in a successful response to CONNECT."
		t.Run("RFC9110_9.3.6_content_length_"+cl+"_in_2xx_to_CONNECT_is_ignored", func(t *testing.T) {
			p := open(t)
			p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, ":status", "200", "content-length", cl))
			msgWantSeq(t, p, "tunnel established despite content-length", "response 1 200 end=false")
			p.WriteFrames(p.FB.Data(1, false, []byte("more than the length says")))
			msgWantSeq(t, p, "tunnel bytes are not counted", `data 1 "more than the length says" end=false`)
			p.WantIdle("no reset")
			p.Invariants()
			msgClientServes(t, p)
		})
	}
	t.Run("RFC9113_8.5_trailers_on_a_tunnel_are_malformed", func(t *testing.T) {
		p := open(t)
		p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, ":status", "200"), p.FB.Data(1, false, []byte("x")),
			p.FB.Headers(1, coretest.EndHeaders|coretest.EndStream, "x-a", "1"))
		p.WantRST("trailers on a tunnel: RST_STREAM PROTOCOL_ERROR", 1, frame.ErrCodeProtocol)
		msgWantSeq(t, p, "reset", "response 1 200 end=false", `data 1 "x" end=false`,
			"reset 1 PROTOCOL_ERROR trailers_on_tunnel remote=false")
		p.Invariants()
		msgClientServes(t, p)
	})
	t.Run("RFC9113_8.5_non_2xx_to_CONNECT_is_an_ordinary_response", func(t *testing.T) {
		p := open(t)
		p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, ":status", "407", "content-length", "6"), p.FB.Data(1, true, []byte("denied")))
		msgWantSeq(t, p, "407", "response 1 407 end=false", `data 1 "denied" end=true`)
		if _, err := p.Conn.SendData(1, nil, true); err != nil {
			t.Fatal(err)
		}
		p.WantFrame("END_STREAM", frame.TypeData, coretest.WithFlags(frame.FlagDataEndStream))
		msgWantSeq(t, p, "end", "closed 1")
		p.Invariants()
	})
}

// TestMsgConnectTunnelPair: CONNECT and extended CONNECT (WebSocket)
// tunnels end to end through a Pair: DATA both ways, END_STREAM as
// half-close in each direction, every event in order.
func TestMsgConnectTunnelPair(t *testing.T) {
	cases := []struct {
		name      string
		serverCfg core.Config
		req       []string
	}{
		{"RFC9113_8.5_CONNECT_tunnel", core.Config{}, msgConnectReq},
		{"RFC8441_5_websocket_over_extended_CONNECT", core.Config{EnableConnectProtocol: true}, msgWebSocketReq},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pair := msgPair(t, core.Config{}, c.serverCfg)
			pair.MaxChunk = 11
			if got, want := pair.Client.PeerSettings().EnableConnectProtocol, c.serverCfg.EnableConnectProtocol; got != want {
				t.Fatalf("client sees ENABLE_CONNECT_PROTOCOL %v, want %v", got, want)
			}
			id, err := pair.Client.OpenStream(msgFields(c.req...), core.StreamOptions{})
			if err != nil {
				t.Fatal(err)
			}
			pair.Drive()
			reqs := pair.Events(coretest.Server, core.EventRequest)
			if len(reqs) != 1 || !msgSameFields(reqs[0].Headers, c.req...) {
				t.Fatalf("server requests %v", reqs)
			}
			msgPairSeq(t, pair, coretest.Server, "request", "request 1 CONNECT end=false")
			var hdrs []core.HeaderField
			if c.serverCfg.EnableConnectProtocol {
				hdrs = msgFields("sec-websocket-protocol", "chat")
			}
			if err := pair.Server.Respond(id, 200, hdrs, nil); err != nil {
				t.Fatal(err)
			}
			pair.Drive()
			resp := pair.Events(coretest.Client, core.EventResponse)
			if len(resp) != 1 || resp[0].Header("content-length") != "" || (hdrs != nil && resp[0].Header("sec-websocket-protocol") != "chat") {
				t.Fatalf("client responses %v", resp)
			}
			msgPairSeq(t, pair, coretest.Client, "tunnel established", "response 1 200 end=false")
			for i := 0; i < 3; i++ {
				up, down := []byte{0x81, 0x02, 'u', byte('0' + i)}, []byte{0x81, 0x02, 'd', byte('0' + i)}
				if _, err := pair.Client.SendData(id, up, false); err != nil {
					t.Fatal(err)
				}
				if _, err := pair.Server.SendData(id, down, false); err != nil {
					t.Fatal(err)
				}
				pair.Drive()
				msgPairSeq(t, pair, coretest.Server, "client frame", fmt.Sprintf("data 1 %q end=false", up))
				msgPairSeq(t, pair, coretest.Client, "server frame", fmt.Sprintf("data 1 %q end=false", down))
			}
			if _, err := pair.Client.SendData(id, []byte{0x88, 0x00}, true); err != nil {
				t.Fatal(err)
			}
			pair.Drive()
			msgPairSeq(t, pair, coretest.Server, "client half-close", `data 1 "\x88\x00" end=true`)
			msgPairSeq(t, pair, coretest.Client, "nothing yet")
			if st := pair.Server.StreamState(id); st != core.StateHalfClosedRemote {
				t.Fatalf("server state %v, want half_closed_remote", st)
			}
			if _, err := pair.Server.SendData(id, []byte{0x88, 0x00}, false); err != nil {
				t.Fatal(err)
			}
			if _, err := pair.Server.SendData(id, nil, true); err != nil {
				t.Fatal(err)
			}
			pair.Drive()
			msgPairSeq(t, pair, coretest.Client, "server close (buffered DATA and END_STREAM leave as one frame)",
				`data 1 "\x88\x00" end=true`, "closed 1")
			msgPairSeq(t, pair, coretest.Server, "server end", "closed 1")
			if err := pair.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Extended CONNECT (RFC 8441).

// TestMsgExtendedConnectSettings: a server advertises
// SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 only with
// Config.EnableConnectProtocol (RFC 8441 §3); a client never sends it.
func TestMsgExtendedConnectSettings(t *testing.T) {
	t.Run("RFC8441_3_server_default_does_not_advertise_ENABLE_CONNECT_PROTOCOL", func(t *testing.T) {
		p, f := msgServerSettings(t, core.Config{})
		if v, ok := msgSettingValue(f, frame.SettingEnableConnectProtocol); ok && v != 0 {
			t.Fatalf("default server SETTINGS carry ENABLE_CONNECT_PROTOCOL = %d", v)
		}
		if p.Conn.LocalSettings().EnableConnectProtocol {
			t.Fatal("LocalSettings().EnableConnectProtocol on by default")
		}
	})
	t.Run("RFC8441_3_Config.EnableConnectProtocol_advertises_1", func(t *testing.T) {
		p, f := msgServerSettings(t, core.Config{EnableConnectProtocol: true})
		if v, ok := msgSettingValue(f, frame.SettingEnableConnectProtocol); !ok || v != 1 {
			t.Fatalf("SETTINGS ENABLE_CONNECT_PROTOCOL = %d (present %v), want 1", v, ok)
		}
		if !p.Conn.LocalSettings().EnableConnectProtocol {
			t.Fatal("LocalSettings().EnableConnectProtocol false after ACK")
		}
	})
	t.Run("RFC8441_3_client_never_sends_ENABLE_CONNECT_PROTOCOL", func(t *testing.T) {
		p := coretest.NewClientPeer(t, core.Config{EnableConnectProtocol: true})
		p.WantBytes("client preface", []byte(coretest.ClientPreface))
		f := p.WantFrame("client SETTINGS", frame.TypeSettings)
		if _, ok := msgSettingValue(f, frame.SettingEnableConnectProtocol); ok {
			t.Fatal("client SETTINGS carry ENABLE_CONNECT_PROTOCOL")
		}
	})
	t.Run("RFC8441_3_server_revoking_ENABLE_CONNECT_PROTOCOL_is_connection_PROTOCOL_ERROR", func(t *testing.T) {
		p := msgClient(t, core.Config{}, frame.Setting{ID: frame.SettingEnableConnectProtocol, Val: 1})
		if !p.Conn.PeerSettings().EnableConnectProtocol {
			t.Fatal("client did not record ENABLE_CONNECT_PROTOCOL = 1")
		}
		p.WriteFrames(p.FB.Settings(frame.Setting{ID: frame.SettingEnableConnectProtocol, Val: 0}))
		g := p.WantGoAway("ENABLE_CONNECT_PROTOCOL 1 → 0: GOAWAY PROTOCOL_ERROR", frame.ErrCodeProtocol)
		if string(g.Data) != "connect_protocol_revoked" {
			t.Fatalf("GOAWAY debug %q", g.Data)
		}
	})
}

// TestMsgExtendedConnectDisabled: extended CONNECT is off by default
// (RFC 8441 §3, §4): a :protocol request to a server that did not enable
// it is malformed, and a client refuses to send one before the server
// advertised SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.
func TestMsgExtendedConnectDisabled(t *testing.T) {
	t.Run("RFC8441_4_protocol_to_server_without_the_setting_is_RST_PROTOCOL_ERROR", func(t *testing.T) {
		p := msgServer(t, core.Config{})
		p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, msgWebSocketReq...))
		p.WantRST(":protocol not enabled: RST_STREAM PROTOCOL_ERROR", 1, frame.ErrCodeProtocol)
		p.WantNoEvent("the request is not surfaced")
		p.WantIdle("nothing else")
		p.WriteFrames(p.FB.Data(1, false, []byte("late"))) // in flight before our RST: ignored
		p.WantIdle("DATA after our RST_STREAM is ignored")
		p.Invariants()
		msgServerServes(t, p, 3)
	})
	t.Run("RFC8441_4_OpenStream_with_protocol_before_server_SETTINGS_is_ErrExtendedConnectDisabled", func(t *testing.T) {
		p := coretest.NewClientPeer(t, core.Config{})
		if _, err := p.Conn.OpenStream(msgFields(msgWebSocketReq...), core.StreamOptions{}); !errors.Is(err, core.ErrExtendedConnectDisabled) {
			t.Fatalf("OpenStream = %v, want ErrExtendedConnectDisabled", err)
		}
		p.Handshake() // the preface is all that was sent
		p.WantIdle("the refused OpenStream sent nothing")
		if _, err := p.Conn.OpenStream(msgFields(msgWebSocketReq...), core.StreamOptions{}); !errors.Is(err, core.ErrExtendedConnectDisabled) {
			t.Fatalf("OpenStream after SETTINGS without the parameter = %v, want ErrExtendedConnectDisabled", err)
		}
		p.WantIdle("nothing sent")
		if next := msgClientServes(t, p); next != 1 {
			t.Fatalf("next stream %d, want 1", next)
		}
	})
	t.Run("RFC8441_3_OpenStream_with_protocol_after_server_enabled_it_is_sent", func(t *testing.T) {
		p := coretest.NewClientPeer(t, core.Config{})
		p.Handshake(frame.Setting{ID: frame.SettingEnableConnectProtocol, Val: 1})
		id, err := p.Conn.OpenStream(msgFields(msgWebSocketReq...), core.StreamOptions{})
		if err != nil || id != 1 {
			t.Fatalf("OpenStream = %d, %v", id, err)
		}
		if h := p.WantHeaders("extended CONNECT", 1, coretest.WithoutFlags(coretest.EndStream)); h != msgLines(msgWebSocketReq...) {
			t.Fatalf("fields %q", h)
		}
		p.Invariants()
	})
}

// TestMsgExtendedConnectRules: with extended CONNECT enabled, :protocol is
// accepted on CONNECT only, with :scheme and :path (RFC 8441 §4), inbound
// at a server and outbound through OpenStream.
func TestMsgExtendedConnectRules(t *testing.T) {
	t.Run("inbound", func(t *testing.T) {
		msgConnectInbound(t, msgExtConnectRules, core.Config{EnableConnectProtocol: true})
	})
	t.Run("outbound", func(t *testing.T) {
		msgConnectOutbound(t, msgExtConnectRules, frame.Setting{ID: frame.SettingEnableConnectProtocol, Val: 1})
	})
}
