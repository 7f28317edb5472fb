package core_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// RFC sections the message rules cite (core.MessageError.Section).
const (
	msgS811  = "RFC 9113 §8.1.1"
	msgS81   = "RFC 9113 §8.1"
	msgS821  = "RFC 9113 §8.2.1"
	msgS822  = "RFC 9113 §8.2.2"
	msgS83   = "RFC 9113 §8.3"
	msgS831  = "RFC 9113 §8.3.1"
	msgS832  = "RFC 9113 §8.3.2"
	msgS86   = "RFC 9113 §8.6"
	msgS85   = "RFC 9113 §8.5"
	msgCL    = "RFC 9110 §8.6"
	msgS9336 = "RFC 9110 §9.3.6"
	msgS8441 = "RFC 8441 §4"
)

// ---------------------------------------------------------------------------
// Helpers.

// msgFields builds a header list from name/value pairs.
func msgFields(kv ...string) []core.HeaderField {
	out := make([]core.HeaderField, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, core.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

// msgLines renders name/value pairs the way TestPeer.WantHeaders does.
func msgLines(kv ...string) string {
	lines := make([]string, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		lines = append(lines, kv[i]+": "+kv[i+1])
	}
	return strings.Join(lines, "\n")
}

// msgSameFields reports whether got holds exactly the pairs kv, in order.
func msgSameFields(got []core.HeaderField, kv ...string) bool {
	if len(got) != len(kv)/2 {
		return false
	}
	for i := range got {
		if got[i].Name != kv[2*i] || got[i].Value != kv[2*i+1] {
			return false
		}
	}
	return true
}

// msgServer returns a server Conn opposite a scripted client, prefaces
// exchanged.
func msgServer(t *testing.T, cfg core.Config) *coretest.TestPeer {
	t.Helper()
	p := coretest.NewServerPeer(t, cfg)
	p.Handshake()
	return p
}

// msgClient returns a client Conn opposite a scripted server, prefaces
// exchanged; settings are the scripted server's SETTINGS.
func msgClient(t *testing.T, cfg core.Config, settings ...frame.Setting) *coretest.TestPeer {
	t.Helper()
	p := coretest.NewClientPeer(t, cfg)
	p.Handshake(settings...)
	return p
}

// msgPair returns a connected Pair with an empty event log.
func msgPair(t *testing.T, clientCfg, serverCfg core.Config) *coretest.Pair {
	t.Helper()
	pair, err := coretest.NewPair(7, clientCfg, serverCfg)
	if err != nil {
		t.Fatal(err)
	}
	pair.Drive()
	if pair.Client.Phase() != core.PhaseConnected || pair.Server.Phase() != core.PhaseConnected {
		t.Fatalf("pair not connected: client %v, server %v", pair.Client.Phase(), pair.Server.Phase())
	}
	pair.Log = pair.Log[:0]
	return pair
}

// msgDescribe renders the parts of an event the tests compare.
func msgDescribe(e core.Event) string {
	switch e.Kind {
	case core.EventRequest:
		return fmt.Sprintf("request %d %s end=%v", e.StreamID, e.Header(":method"), e.EndStream)
	case core.EventInformational:
		return fmt.Sprintf("informational %d %d", e.StreamID, e.Status)
	case core.EventResponse:
		return fmt.Sprintf("response %d %d end=%v", e.StreamID, e.Status, e.EndStream)
	case core.EventData:
		return fmt.Sprintf("data %d %q end=%v", e.StreamID, e.Data, e.EndStream)
	case core.EventTrailers:
		kv := make([]string, len(e.Headers))
		for i, h := range e.Headers {
			kv[i] = h.Name + "=" + h.Value
		}
		return fmt.Sprintf("trailers %d %s end=%v", e.StreamID, strings.Join(kv, ","), e.EndStream)
	case core.EventStreamReset:
		return fmt.Sprintf("reset %d %v %s remote=%v", e.StreamID, e.Code, e.Token, e.Remote)
	case core.EventStreamClosed:
		return fmt.Sprintf("closed %d", e.StreamID)
	}
	return fmt.Sprintf("%v %d", e.Kind, e.StreamID)
}

// msgWantSeq requires the events the TestPeer's Conn reported since the
// last check to be exactly want (as rendered by msgDescribe), and takes
// them.
func msgWantSeq(t *testing.T, p *coretest.TestPeer, why string, want ...string) {
	t.Helper()
	p.WantBytes("poll", nil) // drains PollTransmit and PollEvent, consumes nothing
	got := make([]string, len(p.Events))
	for i, e := range p.Events {
		got[i] = msgDescribe(e)
	}
	p.Events = p.Events[:0]
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s: events\n\t%s\nwant\n\t%s", why, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// msgPairSeq requires the events logged for side since the last check to
// be exactly want, and clears that side's log.
func msgPairSeq(t *testing.T, pair *coretest.Pair, side coretest.Side, why string, want ...string) {
	t.Helper()
	var got []string
	kept := pair.Log[:0]
	for _, l := range pair.Log {
		if l.Side == side {
			got = append(got, msgDescribe(l.Event))
		} else {
			kept = append(kept, l)
		}
	}
	pair.Log = kept
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s (%v): events\n\t%s\nwant\n\t%s", why, side, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// msgWantMessageError requires err to be a *core.MessageError naming the
// rule.
func msgWantMessageError(t *testing.T, err error, token, section, field string) {
	t.Helper()
	var me *core.MessageError
	if !errors.As(err, &me) {
		t.Fatalf("err = %v, want *core.MessageError %s (%s)", err, token, section)
	}
	if me.Token != token || me.Section != section || me.Field != field {
		t.Fatalf("MessageError{Token %q, Section %q, Field %q}, want {%q, %q, %q}",
			me.Token, me.Section, me.Field, token, section, field)
	}
	if !strings.Contains(me.Error(), token) {
		t.Fatalf("MessageError.Error() = %q does not name %s", me.Error(), token)
	}
}

// msgWantReset requires the client Conn to reset stream id with code (a
// RST_STREAM on the wire) and report EventStreamReset with token.
func msgWantReset(t *testing.T, p *coretest.TestPeer, id uint32, code frame.ErrCode, token string) {
	t.Helper()
	p.WantRST("malformed message: RST_STREAM (RFC 9113 §8.1.1)", id, code)
	e := p.WantEvent("malformed message: terminal event", core.EventStreamReset)
	if e.StreamID != id || e.Code != code || e.Remote || e.Retryable || e.Token != token || e.Err != nil {
		t.Fatalf("EventStreamReset{stream %d, code %v, remote %v, retryable %v, token %q, err %v}, want {%d, %v, false, false, %q, nil}",
			e.StreamID, e.Code, e.Remote, e.Retryable, e.Token, e.Err, id, code, token)
	}
	if se := e.StreamErr(); se == nil || se.StreamID != id || se.Token != token || se.Code != code || se.Remote {
		t.Fatalf("StreamErr() = %+v", se)
	}
}

// msgServerServes proves a server Conn still works: a GET on stream id
// completes with a 200 response.
func msgServerServes(t *testing.T, p *coretest.TestPeer, id uint32) {
	t.Helper()
	p.WriteFrames(p.FB.GET(id, "/after"))
	e := p.WantEvent("the connection still serves requests after a stream error (RFC 9113 §5.4.2)", core.EventRequest)
	if e.StreamID != id || e.Header(":path") != "/after" || !e.EndStream {
		t.Fatalf("request on stream %d path %q end %v, want stream %d /after end", e.StreamID, e.Header(":path"), e.EndStream, id)
	}
	if err := p.Conn.Respond(id, 200, nil, []byte("ok")); err != nil {
		t.Fatalf("Respond: %v", err)
	}
	if h := p.WantHeaders("response HEADERS", id, coretest.WithoutFlags(coretest.EndStream)); h != msgLines(":status", "200", "content-length", "2") {
		t.Fatalf("response fields %q", h)
	}
	p.WantFrame("response DATA", frame.TypeData, coretest.OnStream(id), coretest.WithData("ok"), coretest.WithFlags(frame.FlagDataEndStream))
	msgWantSeq(t, p, "follow-up stream", fmt.Sprintf("closed %d", id))
	p.WantIdle("nothing more after the follow-up stream")
	p.Invariants()
}

// msgClientServes proves a client Conn still works: a GET completes with a
// 200 response. It returns the stream the GET used.
func msgClientServes(t *testing.T, p *coretest.TestPeer) uint32 {
	t.Helper()
	id, err := p.Conn.OpenStream(msgFields(coretest.Request("GET", "/after")...), core.StreamOptions{EndStream: true})
	if err != nil {
		t.Fatalf("OpenStream after a stream error: %v", err)
	}
	p.WantHeaders("follow-up request", id, coretest.WithFlags(coretest.EndStream))
	p.WriteFrames(p.FB.Headers(id, coretest.EndHeaders, ":status", "200", "content-length", "2"), p.FB.Data(id, true, []byte("ok")))
	msgWantSeq(t, p, "follow-up stream", fmt.Sprintf("response %d 200 end=false", id), fmt.Sprintf("data %d \"ok\" end=true", id),
		fmt.Sprintf("closed %d", id))
	p.WantIdle("nothing more after the follow-up stream")
	p.Invariants()
	return id
}

// ---------------------------------------------------------------------------
// RFC 9113 §8 rules on header sections, checked inbound (the peer sends them:
// RST_STREAM PROTOCOL_ERROR) and outbound (the application asks to send
// them: *MessageError or a sentinel, and nothing is sent).

// msgRule is one row of a header-section rule table.
type msgRule struct {
	name    string   // the rule and its section
	fields  []string // name/value pairs, in wire order
	body    string   // content after the HEADERS; "" puts END_STREAM on HEADERS
	open    bool     // no END_STREAM and no content (the stream stays open)
	relax   core.Relax
	token   string // the rule's token; "" means the section is accepted
	section string
	field   string // MessageError.Field
	outErr  error  // outbound sentinel returned in place of a MessageError
}

func msgReq(extra ...string) []string { return coretest.Request("GET", "/", extra...) }

// msgRequestRules: RFC 9113 §8.2, §8.3, §8.3.1 and RFC 9110 §8.6 on requests.
var msgRequestRules = []msgRule{
	{name: "RFC9113_8.3.1_valid_GET_is_accepted", fields: msgReq()},
	{name: "RFC9113_8.3_pseudo_header_after_regular_field_is_malformed",
		fields: []string{":method", "GET", ":scheme", "https", "x-a", "1", ":path", "/", ":authority", "example.com"},
		token:  "pseudo_after_regular", section: msgS83, field: ":path"},
	{name: "RFC9113_8.3_unknown_pseudo_header_is_malformed", fields: msgReq(":foo", "bar"),
		token: "unknown_pseudo_header", section: msgS83, field: ":foo"},
	{name: "RFC9113_8.3_response_pseudo_header_status_in_request_is_malformed", fields: msgReq(":status", "200"),
		token: "unknown_pseudo_header", section: msgS83, field: ":status"},
	{name: "RFC9113_8.3_duplicate_method_is_malformed", fields: msgReq(":method", "GET"),
		token: "duplicate_pseudo_header", section: msgS83, field: ":method"},
	{name: "RFC9113_8.3_duplicate_scheme_is_malformed", fields: msgReq(":scheme", "https"),
		token: "duplicate_pseudo_header", section: msgS83, field: ":scheme"},
	{name: "RFC9113_8.3_duplicate_path_is_malformed", fields: msgReq(":path", "/x"),
		token: "duplicate_pseudo_header", section: msgS83, field: ":path"},
	{name: "RFC9113_8.3_duplicate_authority_is_malformed", fields: msgReq(":authority", "example.com"),
		token: "duplicate_pseudo_header", section: msgS83, field: ":authority"},
	{name: "RFC9113_8.3.1_missing_method_is_malformed",
		fields: []string{":scheme", "https", ":authority", "example.com", ":path", "/"},
		token:  "missing_pseudo_header", section: msgS831},
	{name: "RFC9113_8.3.1_missing_scheme_is_malformed",
		fields: []string{":method", "GET", ":authority", "example.com", ":path", "/"},
		token:  "missing_pseudo_header", section: msgS831},
	{name: "RFC9113_8.3.1_missing_path_is_malformed",
		fields: []string{":method", "GET", ":scheme", "https", ":authority", "example.com"},
		token:  "missing_pseudo_header", section: msgS831},
	{name: "RFC9113_8.3.1_empty_path_is_malformed", fields: coretest.Request("GET", ""),
		token: "empty_path", section: msgS831},
	{name: "RFC9113_8.3.1_path_not_starting_with_slash_is_malformed", fields: coretest.Request("GET", "index.html"),
		token: "invalid_path", section: msgS831},
	{name: "RFC9113_8.3.1_asterisk_path_with_GET_is_malformed", fields: coretest.Request("GET", "*"),
		token: "invalid_path", section: msgS831},
	{name: "RFC9113_8.3.1_OPTIONS_asterisk_is_accepted", fields: coretest.Request("OPTIONS", "*")},
	{name: "RFC9113_8.3.1_path_with_query_is_accepted", fields: coretest.Request("GET", "/a/b?c=d")},
	{name: "RFC9113_8.2.1_uppercase_field_name_is_malformed", fields: msgReq("X-Custom", "1"),
		token: "uppercase_field_name", section: msgS821, field: "X-Custom"},
	{name: "RFC9113_8.2.1_uppercase_pseudo_header_name_is_malformed", fields: msgReq(":Path", "/"),
		token: "unknown_pseudo_header", section: msgS83, field: ":Path"},
	{name: "RFC9113_8.2.1_field_name_with_space_is_malformed", fields: msgReq("x custom", "1"),
		token: "invalid_field_name", section: msgS821, field: "x custom"},
	{name: "RFC9113_8.2.1_field_name_with_colon_is_malformed", fields: msgReq("x:custom", "1"),
		token: "invalid_field_name", section: msgS821, field: "x:custom"},
	{name: "RFC9113_8.2.1_field_name_with_NUL_is_malformed", fields: msgReq("x\x00y", "1"),
		token: "invalid_field_name", section: msgS821, field: "x\x00y"},
	{name: "RFC9113_8.2.1_field_name_with_DEL_is_malformed", fields: msgReq("x\x7fy", "1"),
		token: "invalid_field_name", section: msgS821, field: "x\x7fy"},
	{name: "RFC9113_8.2.1_field_name_with_non_ASCII_is_malformed", fields: msgReq("x-caf\xc3\xa9", "1"),
		token: "invalid_field_name", section: msgS821, field: "x-caf\xc3\xa9"},
	{name: "RFC9113_8.2.1_empty_field_name_is_malformed", fields: msgReq("", "1"),
		token: "empty_field_name", section: msgS821, field: ""},
	{name: "RFC9113_8.2.1_tchar_field_name_is_accepted", fields: msgReq("x-a!#$%&'*+.^_`|~0", "1")},
	{name: "RFC9113_8.2.1_field_value_with_NUL_is_malformed", fields: msgReq("x-v", "a\x00b"),
		token: "invalid_field_value", section: msgS821, field: "x-v"},
	{name: "RFC9113_8.2.1_field_value_with_CR_is_malformed", fields: msgReq("x-v", "a\rb"),
		token: "invalid_field_value", section: msgS821, field: "x-v"},
	{name: "RFC9113_8.2.1_field_value_with_LF_is_malformed", fields: msgReq("x-v", "a\nb"),
		token: "invalid_field_value", section: msgS821, field: "x-v"},
	{name: "RFC9113_8.2.1_pseudo_header_value_with_LF_is_malformed", fields: coretest.Request("GET", "/a\nb"),
		token: "invalid_field_value", section: msgS821, field: ":path"},
	{name: "RFC9113_8.2.1_field_value_leading_SP_is_malformed", fields: msgReq("x-v", " a"),
		token: "invalid_field_value", section: msgS821, field: "x-v"},
	{name: "RFC9113_8.2.1_field_value_trailing_SP_is_malformed", fields: msgReq("x-v", "a "),
		token: "invalid_field_value", section: msgS821, field: "x-v"},
	{name: "RFC9113_8.2.1_field_value_leading_HTAB_is_malformed", fields: msgReq("x-v", "\ta"),
		token: "invalid_field_value", section: msgS821, field: "x-v"},
	{name: "RFC9113_8.2.1_field_value_trailing_HTAB_is_malformed", fields: msgReq("x-v", "a\t"),
		token: "invalid_field_value", section: msgS821, field: "x-v"},
	{name: "RFC9113_8.2.1_field_value_only_SP_is_malformed", fields: msgReq("x-v", " "),
		token: "invalid_field_value", section: msgS821, field: "x-v"},
	{name: "RFC9113_8.2.1_Relax.FieldValueWhitespace_accepts_leading_SP", fields: msgReq("x-v", " a"),
		relax: core.Relax{FieldValueWhitespace: true}},
	{name: "RFC9113_8.2.1_Relax.FieldValueWhitespace_accepts_trailing_HTAB", fields: msgReq("x-v", "a\t"),
		relax: core.Relax{FieldValueWhitespace: true}},
	{name: "RFC9113_8.2.1_Relax.FieldValueWhitespace_still_rejects_CR", fields: msgReq("x-v", " a\r"),
		relax: core.Relax{FieldValueWhitespace: true}, token: "invalid_field_value", section: msgS821, field: "x-v"},
	{name: "RFC9113_8.2.1_interior_whitespace_and_empty_value_are_accepted", fields: msgReq("x-v", "a \tb", "x-empty", "")},
	{name: "RFC9113_8.2.2_connection_is_malformed", fields: msgReq("connection", "close"),
		token: "connection_specific_field", section: msgS822, field: "connection"},
	{name: "RFC9113_8.2.2_proxy-connection_is_malformed", fields: msgReq("proxy-connection", "keep-alive"),
		token: "connection_specific_field", section: msgS822, field: "proxy-connection"},
	{name: "RFC9113_8.2.2_keep-alive_is_malformed", fields: msgReq("keep-alive", "timeout=5"),
		token: "connection_specific_field", section: msgS822, field: "keep-alive"},
	{name: "RFC9113_8.2.2_transfer-encoding_is_malformed", fields: msgReq("transfer-encoding", "chunked"),
		token: "connection_specific_field", section: msgS822, field: "transfer-encoding"},
	{name: "RFC9113_8.2.2_upgrade_is_malformed", fields: msgReq("upgrade", "h2c"),
		token: "connection_specific_field", section: msgS822, field: "upgrade"},
	{name: "RFC9113_8.2.2_te_gzip_is_malformed", fields: msgReq("te", "gzip"),
		token: "te_not_trailers", section: msgS822, field: "te"},
	{name: "RFC9113_8.2.2_te_trailers_with_other_coding_is_malformed", fields: msgReq("te", "trailers, deflate"),
		token: "te_not_trailers", section: msgS822, field: "te"},
	{name: "RFC9113_8.2.2_te_trailers_is_accepted", fields: msgReq("te", "trailers")},
	{name: "RFC9113_8.3.1_host_differing_from_authority_is_malformed", fields: msgReq("host", "other.example"),
		token: "host_authority_mismatch", section: msgS831},
	{name: "RFC9113_8.3.1_Relax.HostAuthorityMismatch_accepts_differing_host", fields: msgReq("host", "other.example"),
		relax: core.Relax{HostAuthorityMismatch: true}},
	{name: "RFC9113_8.3.1_host_equal_to_authority_is_accepted", fields: msgReq("host", "example.com")},
	{name: "RFC9113_8.3.1_host_without_authority_is_accepted",
		fields: []string{":method", "GET", ":scheme", "https", ":path", "/", "host", "example.com"}},
	{name: "RFC9110_8.6_content_length_not_a_number_is_malformed", fields: msgReq("content-length", "abc"), body: "abc",
		token: "invalid_content_length", section: msgCL, field: "content-length"},
	{name: "RFC9110_8.6_content_length_negative_is_malformed", fields: msgReq("content-length", "-1"), body: "abc",
		token: "invalid_content_length", section: msgCL, field: "content-length"},
	{name: "RFC9110_8.6_content_length_empty_is_malformed", fields: msgReq("content-length", ""), body: "abc",
		token: "invalid_content_length", section: msgCL, field: "content-length"},
	{name: "RFC9110_8.6_content_length_plus_sign_is_malformed", fields: msgReq("content-length", "+3"), body: "abc",
		token: "invalid_content_length", section: msgCL, field: "content-length"},
	{name: "RFC9110_8.6_content_length_list_is_malformed", fields: msgReq("content-length", "3, 3"), body: "abc",
		token: "invalid_content_length", section: msgCL, field: "content-length"},
	{name: "RFC9110_8.6_content_length_19_digits_is_malformed", fields: msgReq("content-length", "1234567890123456789"), body: "abc",
		token: "invalid_content_length", section: msgCL, field: "content-length"},
	{name: "RFC9110_8.6_duplicate_differing_content_length_is_malformed",
		fields: msgReq("content-length", "3", "content-length", "4"), body: "abc",
		token: "invalid_content_length", section: msgCL, field: "content-length"},
	{name: "RFC9110_8.6_duplicate_equal_content_length_is_accepted",
		fields: msgReq("content-length", "3", "content-length", "3"), body: "abc"},
	{name: "RFC9113_8.1.1_content_length_matching_DATA_is_accepted", fields: msgReq("content-length", "3"), body: "abc"},
	{name: "RFC9113_8.1.1_content_length_0_with_END_STREAM_on_HEADERS_is_accepted", fields: msgReq("content-length", "0")},
	{name: "RFC9113_8.1.1_END_STREAM_on_HEADERS_with_content_length_above_0_is_malformed",
		fields: msgReq("content-length", "3"),
		token:  "content_length_mismatch", section: msgS811, outErr: core.ErrContentLength},
}

// msgSectionFrames returns HEADERS for r on stream id, and DATA for its body.
func msgSectionFrames(fb *coretest.FrameBuilder, id uint32, r msgRule) [][]byte {
	flags := coretest.EndHeaders
	if r.body == "" && !r.open {
		flags |= coretest.EndStream
	}
	out := [][]byte{fb.Headers(id, flags, r.fields...)}
	if r.body != "" {
		out = append(out, fb.Data(id, true, []byte(r.body)))
	}
	return out
}

// msgCheckOutbound checks the error a command returned for r.
func msgCheckOutbound(t *testing.T, err error, r msgRule) {
	t.Helper()
	switch {
	case r.token == "":
		if err != nil {
			t.Fatalf("valid section refused: %v", err)
		}
	case r.outErr != nil:
		if !errors.Is(err, r.outErr) {
			t.Fatalf("err = %v, want %v", err, r.outErr)
		}
	default:
		msgWantMessageError(t, err, r.token, r.section, r.field)
	}
}

// TestMsgRequestRulesInbound: a server receiving a request that breaks an
// RFC 9113 §8 rule resets the stream with PROTOCOL_ERROR ("malformed",
// §8.1.1) without surfacing it, and keeps serving other streams.
func TestMsgRequestRulesInbound(t *testing.T) {
	for _, r := range msgRequestRules {
		t.Run(r.name, func(t *testing.T) {
			p := msgServer(t, core.Config{Relax: r.relax})
			p.WriteFrames(msgSectionFrames(p.FB, 1, r)...)
			if r.token != "" {
				p.WantRST("malformed request: RST_STREAM PROTOCOL_ERROR (RFC 9113 §8.1.1)", 1, frame.ErrCodeProtocol)
				p.WantNoEvent("a malformed request is never surfaced")
				p.WantIdle("one RST_STREAM and nothing else")
				p.Invariants()
				msgServerServes(t, p, 3)
				return
			}
			e := p.WantEvent("valid request surfaced", core.EventRequest)
			if e.StreamID != 1 || !msgSameFields(e.Headers, r.fields...) || e.EndStream != (r.body == "") {
				t.Fatalf("EventRequest{stream %d, headers %v, end %v}", e.StreamID, e.Headers, e.EndStream)
			}
			if r.body != "" {
				d := p.WantEvent("request content", core.EventData)
				if string(d.Data) != r.body || !d.EndStream {
					t.Fatalf("EventData %q end %v", d.Data, d.EndStream)
				}
			}
			if err := p.Conn.Respond(1, 204, nil, nil); err != nil {
				t.Fatal(err)
			}
			if h := p.WantHeaders("204 response", 1, coretest.WithFlags(coretest.EndStream)); h != ":status: 204" {
				t.Fatalf("response fields %q", h)
			}
			msgWantSeq(t, p, "accepted request", "closed 1")
			p.Invariants()
			msgServerServes(t, p, 3)
		})
	}
}

// TestMsgRequestRulesOutbound: OpenStream refuses the same requests with a
// *MessageError naming the rule (or the rule's sentinel) and sends nothing;
// the stream ID is not used up.
func TestMsgRequestRulesOutbound(t *testing.T) {
	for _, r := range msgRequestRules {
		t.Run(r.name, func(t *testing.T) {
			p := msgClient(t, core.Config{Relax: r.relax})
			id, err := p.Conn.OpenStream(msgFields(r.fields...), core.StreamOptions{EndStream: r.body == ""})
			msgCheckOutbound(t, err, r)
			if r.token != "" {
				if id != 0 {
					t.Fatalf("refused OpenStream returned stream %d", id)
				}
				p.WantIdle("a refused OpenStream sends nothing")
				p.WantNoEvent("a refused OpenStream reports nothing")
				if next := msgClientServes(t, p); next != 1 {
					t.Fatalf("next stream is %d, want 1: a refused OpenStream must not use an ID", next)
				}
				return
			}
			if id != 1 {
				t.Fatalf("stream %d, want 1", id)
			}
			var checks []coretest.FrameCheck
			if r.body == "" {
				checks = append(checks, coretest.WithFlags(coretest.EndStream))
			} else {
				checks = append(checks, coretest.WithoutFlags(coretest.EndStream))
			}
			if h := p.WantHeaders("request HEADERS", 1, checks...); h != msgLines(r.fields...) {
				t.Fatalf("request fields\n%s\nwant\n%s", h, msgLines(r.fields...))
			}
			if r.body != "" {
				if _, err := p.Conn.SendData(1, []byte(r.body), true); err != nil {
					t.Fatal(err)
				}
				p.WantFrame("request DATA", frame.TypeData, coretest.OnStream(1), coretest.WithData(r.body), coretest.WithFlags(frame.FlagDataEndStream))
			}
			p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders|coretest.EndStream, ":status", "204"))
			msgWantSeq(t, p, "accepted request", "response 1 204 end=true", "closed 1")
			if next := msgClientServes(t, p); next != 3 {
				t.Fatalf("next stream %d, want 3", next)
			}
		})
	}
}

// msgResponseRules: RFC 9113 §8.2, §8.3.2, §8.6 and §8.1 on response
// header sections.
var msgResponseRules = []msgRule{
	{name: "RFC9113_8.3.2_valid_response_is_accepted", fields: []string{":status", "200", "content-type", "text/plain"}},
	// §8.3.2 states the rule: ":status" MUST be included in all responses.
	{name: "RFC9113_8.3.2_missing_status_is_malformed", fields: []string{"content-type", "text/plain"},
		token: "missing_status", section: msgS832},
	{name: "RFC9113_8.3.2_two_digit_status_is_malformed", fields: []string{":status", "20"},
		token: "invalid_status", section: msgS832, field: ":status"},
	{name: "RFC9113_8.3.2_four_digit_status_is_malformed", fields: []string{":status", "2000"},
		token: "invalid_status", section: msgS832, field: ":status"},
	{name: "RFC9113_8.3.2_non_numeric_status_is_malformed", fields: []string{":status", "abc"},
		token: "invalid_status", section: msgS832, field: ":status"},
	{name: "RFC9113_8.3.2_status_with_inner_non_digit_is_malformed", fields: []string{":status", "2x0"},
		token: "invalid_status", section: msgS832, field: ":status"},
	{name: "RFC9113_8.3.2_status_below_100_is_malformed", fields: []string{":status", "099"},
		token: "invalid_status", section: msgS832, field: ":status"},
	{name: "RFC9113_8.3.2_empty_status_is_malformed", fields: []string{":status", ""},
		token: "invalid_status", section: msgS832, field: ":status"},
	{name: "RFC9113_8.3_duplicate_status_is_malformed", fields: []string{":status", "200", ":status", "200"},
		token: "duplicate_pseudo_header", section: msgS83, field: ":status"},
	{name: "RFC9113_8.3_request_pseudo_header_method_in_response_is_malformed", fields: []string{":status", "200", ":method", "GET"},
		token: "unknown_pseudo_header", section: msgS83, field: ":method"},
	{name: "RFC9113_8.3_request_pseudo_header_path_in_response_is_malformed", fields: []string{":path", "/", ":status", "200"},
		token: "unknown_pseudo_header", section: msgS83, field: ":path"},
	{name: "RFC9113_8.3_pseudo_header_after_regular_field_is_malformed", fields: []string{"x-a", "1", ":status", "200"},
		token: "pseudo_after_regular", section: msgS83, field: ":status"},
	{name: "RFC9113_8.6_status_101_is_malformed", fields: []string{":status", "101"}, open: true,
		token: "status_101", section: msgS86},
	{name: "RFC9113_8.1_informational_with_END_STREAM_is_malformed", fields: []string{":status", "103", "link", "</a.css>; rel=preload"},
		token: "informational_end_stream", section: msgS81},
	{name: "RFC9113_8.1_100_continue_with_END_STREAM_is_malformed", fields: []string{":status", "100"},
		token: "informational_end_stream", section: msgS81},
	{name: "RFC9113_8.2.1_uppercase_field_name_is_malformed", fields: []string{":status", "200", "Content-Type", "text/plain"},
		token: "uppercase_field_name", section: msgS821, field: "Content-Type"},
	{name: "RFC9113_8.2.1_invalid_field_name_is_malformed", fields: []string{":status", "200", "x(y)", "1"},
		token: "invalid_field_name", section: msgS821, field: "x(y)"},
	{name: "RFC9113_8.2.1_field_value_with_LF_is_malformed", fields: []string{":status", "200", "x-v", "a\nb"},
		token: "invalid_field_value", section: msgS821, field: "x-v"},
	{name: "RFC9113_8.2.1_field_value_trailing_SP_is_malformed", fields: []string{":status", "200", "x-v", "a "},
		token: "invalid_field_value", section: msgS821, field: "x-v"},
	{name: "RFC9113_8.2.1_Relax.FieldValueWhitespace_accepts_trailing_SP", fields: []string{":status", "200", "x-v", "a "},
		relax: core.Relax{FieldValueWhitespace: true}},
	{name: "RFC9113_8.2.2_connection_in_response_is_malformed", fields: []string{":status", "200", "connection", "close"},
		token: "connection_specific_field", section: msgS822, field: "connection"},
	{name: "RFC9113_8.2.2_transfer-encoding_in_response_is_malformed", fields: []string{":status", "200", "transfer-encoding", "chunked"},
		token: "connection_specific_field", section: msgS822, field: "transfer-encoding"},
	{name: "RFC9113_8.2.2_keep-alive_in_response_is_malformed", fields: []string{":status", "200", "keep-alive", "timeout=5"},
		token: "connection_specific_field", section: msgS822, field: "keep-alive"},
	{name: "RFC9113_8.2.2_te_in_response_other_than_trailers_is_malformed", fields: []string{":status", "200", "te", "gzip"},
		token: "te_not_trailers", section: msgS822, field: "te"},
	{name: "RFC9110_8.6_invalid_content_length_in_response_is_malformed", fields: []string{":status", "200", "content-length", "x"}, body: "abc",
		token: "invalid_content_length", section: msgCL, field: "content-length"},
	{name: "RFC9110_8.6_duplicate_differing_content_length_in_response_is_malformed",
		fields: []string{":status", "200", "content-length", "3", "content-length", "2"}, body: "abc",
		token: "invalid_content_length", section: msgCL, field: "content-length"},
	{name: "RFC9113_8.1.1_response_content_length_matching_DATA_is_accepted", fields: []string{":status", "200", "content-length", "3"}, body: "abc"},
	{name: "RFC9113_8.1.1_END_STREAM_on_response_HEADERS_with_content_length_above_0_is_malformed",
		fields: []string{":status", "200", "content-length", "3"},
		token:  "content_length_mismatch", section: msgS811, outErr: core.ErrContentLength},
}

// TestMsgResponseRulesInbound: a client receiving a response that breaks
// an RFC 9113 §8 rule resets the stream with PROTOCOL_ERROR and reports
// EventStreamReset with the rule's token; the connection keeps working.
func TestMsgResponseRulesInbound(t *testing.T) {
	for _, r := range msgResponseRules {
		t.Run(r.name, func(t *testing.T) {
			p := msgClient(t, core.Config{Relax: r.relax})
			id, err := p.Conn.OpenStream(msgFields(msgReq()...), core.StreamOptions{EndStream: true})
			if err != nil || id != 1 {
				t.Fatalf("OpenStream = %d, %v", id, err)
			}
			p.WantHeaders("request", 1)
			p.WriteFrames(msgSectionFrames(p.FB, 1, r)...)
			if r.token != "" {
				msgWantReset(t, p, 1, frame.ErrCodeProtocol, r.token)
				p.WantIdle("one RST_STREAM and nothing else")
				p.WantNoEvent("nothing after the terminal event")
				p.Invariants()
				msgClientServes(t, p)
				return
			}
			e := p.WantEvent("valid response", core.EventResponse)
			if e.StreamID != 1 || !msgSameFields(e.Headers, r.fields...) || e.EndStream != (r.body == "") {
				t.Fatalf("EventResponse{stream %d, headers %v, end %v}", e.StreamID, e.Headers, e.EndStream)
			}
			want := []string{}
			if r.body != "" {
				want = append(want, fmt.Sprintf("data 1 %q end=true", r.body))
			}
			msgWantSeq(t, p, "valid response", append(want, "closed 1")...)
			msgClientServes(t, p)
		})
	}
}

// TestMsgResponseRulesOutbound: SendHeaders refuses the same responses
// with a *MessageError (or the rule's sentinel) and sends nothing; a valid
// response on the same stream still goes out and decodes (the HPACK
// encoder was not touched).
func TestMsgResponseRulesOutbound(t *testing.T) {
	for _, r := range msgResponseRules {
		t.Run(r.name, func(t *testing.T) {
			p := msgServer(t, core.Config{Relax: r.relax})
			p.WriteFrames(p.FB.GET(1, "/"))
			p.WantEvent("request", core.EventRequest)
			err := p.Conn.SendHeaders(1, msgFields(r.fields...), r.body == "" && !r.open)
			msgCheckOutbound(t, err, r)
			if r.token != "" {
				p.WantIdle("a refused SendHeaders sends nothing")
				p.WantNoEvent("a refused SendHeaders reports nothing")
				if st := p.Conn.StreamState(1); st != core.StateHalfClosedRemote {
					t.Fatalf("stream state %v after a refused SendHeaders, want half_closed_remote", st)
				}
				if err := p.Conn.Respond(1, 200, nil, []byte("ok")); err != nil {
					t.Fatalf("Respond after a refused SendHeaders: %v", err)
				}
				if h := p.WantHeaders("valid response after the refusal", 1); h != msgLines(":status", "200", "content-length", "2") {
					t.Fatalf("response fields %q", h)
				}
				p.WantFrame("response DATA", frame.TypeData, coretest.WithData("ok"), coretest.WithFlags(frame.FlagDataEndStream))
				msgWantSeq(t, p, "stream ends", "closed 1")
				msgServerServes(t, p, 3)
				return
			}
			var check coretest.FrameCheck = coretest.WithFlags(coretest.EndStream)
			if r.body != "" {
				check = coretest.WithoutFlags(coretest.EndStream)
			}
			if h := p.WantHeaders("response HEADERS", 1, check); h != msgLines(r.fields...) {
				t.Fatalf("response fields\n%s\nwant\n%s", h, msgLines(r.fields...))
			}
			if r.body != "" {
				if _, err := p.Conn.SendData(1, []byte(r.body), true); err != nil {
					t.Fatal(err)
				}
				p.WantFrame("response DATA", frame.TypeData, coretest.WithData(r.body), coretest.WithFlags(frame.FlagDataEndStream))
			}
			msgWantSeq(t, p, "stream ends", "closed 1")
			msgServerServes(t, p, 3)
		})
	}
}

// ---------------------------------------------------------------------------
// Content vs content-length (RFC 9113 §8.1.1), both roles inbound.

type msgBodyCase struct {
	name     string
	cl       string
	data     []string // DATA payloads; the last carries END_STREAM unless trailers
	trailers bool     // end with a trailer section
	want     []string // events after the request/response event, %d = stream
}

var msgBodyCases = []msgBodyCase{
	{name: "RFC9113_8.1.1_DATA_equal_to_content_length_is_accepted", cl: "3", data: []string{"abc"},
		want: []string{`data %d "abc" end=true`}},
	{name: "RFC9113_8.1.1_DATA_split_equal_to_content_length_is_accepted", cl: "3", data: []string{"a", "bc"},
		want: []string{`data %d "a" end=false`, `data %d "bc" end=true`}},
	{name: "RFC9113_8.1.1_content_length_0_with_empty_END_STREAM_DATA_is_accepted", cl: "0", data: []string{""},
		want: []string{`data %d "" end=true`}},
	{name: "RFC9113_8.1.1_DATA_exceeding_content_length_is_malformed", cl: "3", data: []string{"abcd"},
		want: []string{"reset %d PROTOCOL_ERROR content_length_mismatch remote=false"}},
	{name: "RFC9113_8.1.1_DATA_exceeding_content_length_across_frames_is_malformed", cl: "3", data: []string{"ab", "cd", "e"},
		want: []string{`data %d "ab" end=false`, "reset %d PROTOCOL_ERROR content_length_mismatch remote=false"}},
	{name: "RFC9113_8.1.1_END_STREAM_short_of_content_length_is_malformed", cl: "3", data: []string{"ab"},
		want: []string{"reset %d PROTOCOL_ERROR content_length_mismatch remote=false"}},
	{name: "RFC9113_8.1.1_empty_END_STREAM_DATA_short_of_content_length_is_malformed", cl: "3", data: []string{"ab", ""},
		want: []string{`data %d "ab" end=false`, "reset %d PROTOCOL_ERROR content_length_mismatch remote=false"}},
	{name: "RFC9113_8.1.1_trailers_short_of_content_length_is_malformed", cl: "3", data: []string{"ab"}, trailers: true,
		want: []string{`data %d "ab" end=false`, "reset %d PROTOCOL_ERROR content_length_mismatch remote=false"}},
	{name: "RFC9113_8.1.1_trailers_after_exact_content_length_are_accepted", cl: "3", data: []string{"abc"}, trailers: true,
		want: []string{`data %d "abc" end=false`, "trailers %d x-sum=1 end=true"}},
}

func msgBodyFrames(fb *coretest.FrameBuilder, id uint32, c msgBodyCase) [][]byte {
	var out [][]byte
	for i, d := range c.data {
		out = append(out, fb.Data(id, i == len(c.data)-1 && !c.trailers, []byte(d)))
	}
	if c.trailers {
		out = append(out, fb.Headers(id, coretest.EndHeaders|coretest.EndStream, "x-sum", "1"))
	}
	return out
}

func msgExpand(want []string, id uint32) []string {
	out := make([]string, len(want))
	for i, w := range want {
		out[i] = fmt.Sprintf(w, id)
	}
	return out
}

func msgMalformed(want []string) bool {
	return strings.HasPrefix(want[len(want)-1], "reset")
}

// TestMsgRequestContentLength: a server checks request content against
// content-length (RFC 9113 §8.1.1); a mismatch resets the surfaced stream
// with PROTOCOL_ERROR and EventStreamReset names content_length_mismatch.
func TestMsgRequestContentLength(t *testing.T) {
	for _, c := range msgBodyCases {
		t.Run(c.name, func(t *testing.T) {
			p := msgServer(t, core.Config{})
			p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, coretest.Request("POST", "/up", "content-length", c.cl)...))
			p.WriteFrames(msgBodyFrames(p.FB, 1, c)...)
			want := append([]string{"request 1 POST end=false"}, msgExpand(c.want, 1)...)
			if msgMalformed(c.want) {
				p.WantRST("content-length mismatch: RST_STREAM PROTOCOL_ERROR", 1, frame.ErrCodeProtocol)
				msgWantSeq(t, p, "request with mismatched content", want...)
				p.WantIdle("one RST_STREAM and nothing else")
				if err := p.Conn.ReleaseStream(1); err != nil {
					t.Fatal(err)
				}
				p.WantIdle("releasing a reset stream sends nothing")
			} else {
				msgWantSeq(t, p, "request with matching content", want...)
				if err := p.Conn.Respond(1, 204, nil, nil); err != nil {
					t.Fatal(err)
				}
				p.WantHeaders("response", 1, coretest.WithFlags(coretest.EndStream))
				msgWantSeq(t, p, "end", "closed 1")
			}
			if held, _ := p.Conn.HeldStreams(); held != 0 {
				t.Fatalf("%d streams held", held)
			}
			p.Invariants()
			msgServerServes(t, p, 3)
		})
	}
}

// TestMsgResponseContentLength: the same checks on response content at a
// client.
func TestMsgResponseContentLength(t *testing.T) {
	for _, c := range msgBodyCases {
		t.Run(c.name, func(t *testing.T) {
			p := msgClient(t, core.Config{})
			if _, err := p.Conn.OpenStream(msgFields(msgReq()...), core.StreamOptions{EndStream: true}); err != nil {
				t.Fatal(err)
			}
			p.WantHeaders("request", 1)
			p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, ":status", "200", "content-length", c.cl))
			p.WriteFrames(msgBodyFrames(p.FB, 1, c)...)
			want := append([]string{"response 1 200 end=false"}, msgExpand(c.want, 1)...)
			if msgMalformed(c.want) {
				p.WantRST("content-length mismatch: RST_STREAM PROTOCOL_ERROR", 1, frame.ErrCodeProtocol)
				msgWantSeq(t, p, "response with mismatched content", want...)
			} else {
				msgWantSeq(t, p, "response with matching content", append(want, "closed 1")...)
			}
			p.WantIdle("nothing else sent")
			p.Invariants()
			msgClientServes(t, p)
		})
	}
}

// TestMsgNoContentResponses: responses to HEAD and 204/304 responses have
// no content (RFC 9113 §8.1.1, RFC 9110 §6.4.1): DATA with bytes resets the
// stream with PROTOCOL_ERROR; content-length on them is not checked
// against DATA; a content-length on a HEAD response is fine.
func TestMsgNoContentResponses(t *testing.T) {
	type tc struct {
		name   string
		method string
		frames func(fb *coretest.FrameBuilder) [][]byte
		want   []string
		reset  bool
	}
	cases := []tc{
		{"RFC9113_8.1.1_HEAD_response_with_content_length_and_END_STREAM_is_accepted", "HEAD",
			func(fb *coretest.FrameBuilder) [][]byte {
				return [][]byte{fb.Headers(1, coretest.EndHeaders|coretest.EndStream, ":status", "200", "content-length", "100")}
			}, []string{"response 1 200 end=true", "closed 1"}, false},
		{"RFC9113_8.1.1_HEAD_response_with_content_length_and_empty_DATA_is_accepted", "HEAD",
			func(fb *coretest.FrameBuilder) [][]byte {
				return [][]byte{fb.Headers(1, coretest.EndHeaders, ":status", "200", "content-length", "100"), fb.Data(1, true, nil)}
			}, []string{"response 1 200 end=false", `data 1 "" end=true`, "closed 1"}, false},
		{"RFC9113_8.1.1_HEAD_response_with_DATA_bytes_is_malformed", "HEAD",
			func(fb *coretest.FrameBuilder) [][]byte {
				return [][]byte{fb.Headers(1, coretest.EndHeaders, ":status", "200", "content-length", "1"), fb.Data(1, true, []byte("x"))}
			}, []string{"response 1 200 end=false", "reset 1 PROTOCOL_ERROR content_not_allowed remote=false"}, true},
		{"RFC9113_8.1.1_204_response_with_DATA_bytes_is_malformed", "GET",
			func(fb *coretest.FrameBuilder) [][]byte {
				return [][]byte{fb.Headers(1, coretest.EndHeaders, ":status", "204"), fb.Data(1, true, []byte("x"))}
			}, []string{"response 1 204 end=false", "reset 1 PROTOCOL_ERROR content_not_allowed remote=false"}, true},
		{"RFC9113_8.1.1_304_response_with_DATA_bytes_is_malformed", "GET",
			func(fb *coretest.FrameBuilder) [][]byte {
				return [][]byte{fb.Headers(1, coretest.EndHeaders, ":status", "304", "content-length", "1"), fb.Data(1, true, []byte("x"))}
			}, []string{"response 1 304 end=false", "reset 1 PROTOCOL_ERROR content_not_allowed remote=false"}, true},
		{"RFC9113_8.1.1_304_response_with_content_length_and_END_STREAM_is_accepted", "GET",
			func(fb *coretest.FrameBuilder) [][]byte {
				return [][]byte{fb.Headers(1, coretest.EndHeaders|coretest.EndStream, ":status", "304", "content-length", "10")}
			}, []string{"response 1 304 end=true", "closed 1"}, false},
		{"RFC9113_8.1_DATA_before_any_response_is_malformed", "GET",
			func(fb *coretest.FrameBuilder) [][]byte { return [][]byte{fb.Data(1, true, []byte("x"))} },
			[]string{"reset 1 PROTOCOL_ERROR data_before_response remote=false"}, true},
		{"RFC9113_8.1_DATA_after_1xx_before_final_response_is_malformed", "GET",
			func(fb *coretest.FrameBuilder) [][]byte {
				return [][]byte{fb.Headers(1, coretest.EndHeaders, ":status", "100"), fb.Data(1, false, []byte("x"))}
			}, []string{"informational 1 100", "reset 1 PROTOCOL_ERROR data_before_response remote=false"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := msgClient(t, core.Config{})
			if _, err := p.Conn.OpenStream(msgFields(coretest.Request(c.method, "/")...), core.StreamOptions{EndStream: true}); err != nil {
				t.Fatal(err)
			}
			p.WantHeaders("request", 1)
			p.WriteFrames(c.frames(p.FB)...)
			if c.reset {
				p.WantRST("content on a response without content: RST_STREAM PROTOCOL_ERROR", 1, frame.ErrCodeProtocol)
			}
			msgWantSeq(t, p, "events", c.want...)
			p.WantIdle("nothing else sent")
			p.Invariants()
			msgClientServes(t, p)
		})
	}
}

// TestMsgInformationalThenFinal: a client accepts any number of 1xx
// responses before the final one (RFC 9113 §8.1), reporting each as
// EventInformational, then EventResponse.
func TestMsgInformationalThenFinal(t *testing.T) {
	p := msgClient(t, core.Config{})
	if _, err := p.Conn.OpenStream(msgFields(coretest.Request("POST", "/", "expect", "100-continue")...), core.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	p.WantHeaders("request", 1, coretest.WithoutFlags(coretest.EndStream))
	p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, ":status", "100"))
	msgWantSeq(t, p, "100 Continue", "informational 1 100")
	if _, err := p.Conn.SendData(1, []byte("body"), true); err != nil {
		t.Fatal(err)
	}
	p.WantFrame("request body", frame.TypeData, coretest.WithData("body"), coretest.WithFlags(frame.FlagDataEndStream))
	p.WriteFrames(
		p.FB.Headers(1, coretest.EndHeaders, ":status", "103", "link", "</a.css>; rel=preload"),
		p.FB.Headers(1, coretest.EndHeaders, ":status", "103", "link", "</b.js>; rel=preload"),
		p.FB.Headers(1, coretest.EndHeaders, ":status", "199"),
		p.FB.Headers(1, coretest.EndHeaders, ":status", "200", "content-length", "2"),
		p.FB.Data(1, true, []byte("ok")))
	p.WantBytes("poll", nil)
	if len(p.Events) < 2 || p.Events[1].Header("link") != "</b.js>; rel=preload" {
		t.Fatalf("the second 103 must carry its own fields, got %v", p.Events)
	}
	msgWantSeq(t, p, "1xx ×3 then final",
		"informational 1 103", "informational 1 103", "informational 1 199",
		"response 1 200 end=false", `data 1 "ok" end=true`, "closed 1")
	p.WantIdle("nothing sent")
	p.Invariants()
}

// TestMsgInformationalOutbound: a server may send several 1xx responses
// before the final one; 101 (RFC 9113 §8.6) and 1xx with END_STREAM (§8.1)
// are refused; headers after the final response are refused.
func TestMsgInformationalOutbound(t *testing.T) {
	p := msgServer(t, core.Config{})
	p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, coretest.Request("POST", "/")...))
	p.WantEvent("request", core.EventRequest)
	if err := p.Conn.SendHeaders(1, msgFields(":status", "100"), false); err != nil {
		t.Fatal(err)
	}
	if h := p.WantHeaders("100", 1, coretest.WithoutFlags(coretest.EndStream)); h != ":status: 100" {
		t.Fatalf("%q", h)
	}
	msgWantMessageError(t, p.Conn.SendHeaders(1, msgFields(":status", "101"), false), "status_101", msgS86, "")
	msgWantMessageError(t, p.Conn.SendHeaders(1, msgFields(":status", "103"), true), "informational_end_stream", msgS81, "")
	p.WantIdle("refused 1xx sends nothing")
	if err := p.Conn.SendHeaders(1, msgFields(":status", "103", "link", "</a.css>; rel=preload"), false); err != nil {
		t.Fatal(err)
	}
	p.WantHeaders("103", 1, coretest.WithoutFlags(coretest.EndStream))
	if err := p.Conn.SendHeaders(1, msgFields(":status", "200"), false); err != nil {
		t.Fatal(err)
	}
	p.WantHeaders("final", 1, coretest.WithoutFlags(coretest.EndStream))
	if err := p.Conn.SendHeaders(1, msgFields(":status", "200"), false); !errors.Is(err, core.ErrInvalidStreamState) {
		t.Fatalf("second final SendHeaders: %v, want ErrInvalidStreamState", err)
	}
	if err := p.Conn.SendHeaders(1, msgFields(":status", "100"), false); !errors.Is(err, core.ErrInvalidStreamState) {
		t.Fatalf("1xx after the final response: %v, want ErrInvalidStreamState", err)
	}
	if err := p.Conn.Respond(1, 200, nil, nil); !errors.Is(err, core.ErrInvalidStreamState) {
		t.Fatalf("Respond after the final response: %v, want ErrInvalidStreamState", err)
	}
	p.WantIdle("refused commands send nothing")
	p.WantNoEvent("nothing reported")
	p.Invariants()
}

// ---------------------------------------------------------------------------
// Trailers (RFC 9113 §8.1).

type msgTrailerCase struct {
	name    string
	fields  []string
	noEnd   bool
	token   string
	section string
	field   string
}

var msgTrailerCases = []msgTrailerCase{
	{name: "RFC9113_8.1_valid_trailers_are_accepted", fields: []string{"x-checksum", "abc", "grpc-status", "0"}},
	{name: "RFC9113_8.1_trailers_without_END_STREAM_are_malformed", fields: []string{"x-checksum", "abc"}, noEnd: true,
		token: "trailers_without_end_stream", section: msgS81},
	{name: "RFC9113_8.1_pseudo_header_path_in_trailers_is_malformed", fields: []string{":path", "/"},
		token: "pseudo_header_in_trailers", section: msgS81, field: ":path"},
	{name: "RFC9113_8.1_pseudo_header_status_in_trailers_is_malformed", fields: []string{":status", "200"},
		token: "pseudo_header_in_trailers", section: msgS81, field: ":status"},
	{name: "RFC9113_8.2.1_uppercase_name_in_trailers_is_malformed", fields: []string{"X-Checksum", "abc"},
		token: "uppercase_field_name", section: msgS821, field: "X-Checksum"},
	{name: "RFC9113_8.2.2_connection_specific_field_in_trailers_is_malformed", fields: []string{"transfer-encoding", "chunked"},
		token: "connection_specific_field", section: msgS822, field: "transfer-encoding"},
	{name: "RFC9113_8.2.1_CR_in_trailer_value_is_malformed", fields: []string{"x-checksum", "a\rb"},
		token: "invalid_field_value", section: msgS821, field: "x-checksum"},
}

func msgTrailerFrame(fb *coretest.FrameBuilder, id uint32, c msgTrailerCase) []byte {
	flags := coretest.EndHeaders
	if !c.noEnd {
		flags |= coretest.EndStream
	}
	return fb.Headers(id, flags, c.fields...)
}

func msgTrailerWant(id uint32, c msgTrailerCase) string {
	if c.token != "" {
		return fmt.Sprintf("reset %d PROTOCOL_ERROR %s remote=false", id, c.token)
	}
	kv := make([]string, 0, len(c.fields)/2)
	for i := 0; i < len(c.fields); i += 2 {
		kv = append(kv, c.fields[i]+"="+c.fields[i+1])
	}
	return fmt.Sprintf("trailers %d %s end=true", id, strings.Join(kv, ","))
}

// TestMsgTrailersInbound: request trailers at a server and response
// trailers at a client; a malformed trailer section resets the stream.
func TestMsgTrailersInbound(t *testing.T) {
	for _, c := range msgTrailerCases {
		t.Run("server/"+c.name, func(t *testing.T) {
			p := msgServer(t, core.Config{})
			p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, coretest.Request("POST", "/", "te", "trailers")...),
				p.FB.Data(1, false, []byte("x")), msgTrailerFrame(p.FB, 1, c))
			if c.token != "" {
				p.WantRST("malformed trailers: RST_STREAM PROTOCOL_ERROR", 1, frame.ErrCodeProtocol)
			}
			msgWantSeq(t, p, "request with trailers", "request 1 POST end=false", `data 1 "x" end=false`, msgTrailerWant(1, c))
			p.WantIdle("nothing else sent")
			if c.token == "" {
				if st := p.Conn.StreamState(1); st != core.StateHalfClosedRemote {
					t.Fatalf("state %v after request trailers, want half_closed_remote", st)
				}
				if err := p.Conn.Respond(1, 204, nil, nil); err != nil {
					t.Fatal(err)
				}
				p.WantHeaders("response", 1, coretest.WithFlags(coretest.EndStream))
				msgWantSeq(t, p, "end", "closed 1")
			} else if err := p.Conn.ReleaseStream(1); err != nil {
				t.Fatal(err)
			}
			p.Invariants()
			msgServerServes(t, p, 3)
		})
		t.Run("client/"+c.name, func(t *testing.T) {
			p := msgClient(t, core.Config{})
			if _, err := p.Conn.OpenStream(msgFields(msgReq("te", "trailers")...), core.StreamOptions{EndStream: true}); err != nil {
				t.Fatal(err)
			}
			p.WantHeaders("request", 1)
			p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, ":status", "200"), p.FB.Data(1, false, []byte("x")), msgTrailerFrame(p.FB, 1, c))
			want := []string{"response 1 200 end=false", `data 1 "x" end=false`, msgTrailerWant(1, c)}
			if c.token != "" {
				p.WantRST("malformed trailers: RST_STREAM PROTOCOL_ERROR", 1, frame.ErrCodeProtocol)
			} else {
				want = append(want, "closed 1")
			}
			msgWantSeq(t, p, "response with trailers", want...)
			p.WantIdle("nothing else sent")
			p.Invariants()
			msgClientServes(t, p)
		})
	}
}

// TestMsgTrailersOutbound: SendTrailers refuses a malformed trailer
// section with a *MessageError and sends nothing, from either role.
func TestMsgTrailersOutbound(t *testing.T) {
	for _, c := range msgTrailerCases {
		if c.noEnd {
			continue // SendTrailers always ends the stream
		}
		t.Run("client/"+c.name, func(t *testing.T) {
			p := msgClient(t, core.Config{})
			if _, err := p.Conn.OpenStream(msgFields(coretest.Request("POST", "/", "te", "trailers")...), core.StreamOptions{}); err != nil {
				t.Fatal(err)
			}
			p.WantHeaders("request", 1, coretest.WithoutFlags(coretest.EndStream))
			if _, err := p.Conn.SendData(1, []byte("x"), false); err != nil {
				t.Fatal(err)
			}
			p.WantFrame("request DATA", frame.TypeData, coretest.WithData("x"), coretest.WithoutFlags(frame.FlagDataEndStream))
			err := p.Conn.SendTrailers(1, msgFields(c.fields...))
			if c.token != "" {
				msgWantMessageError(t, err, c.token, c.section, c.field)
				p.WantIdle("refused SendTrailers sends nothing")
				if st := p.Conn.StreamState(1); st != core.StateOpen {
					t.Fatalf("state %v, want open", st)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h := p.WantHeaders("trailers", 1, coretest.WithFlags(coretest.EndStream)); h != msgLines(c.fields...) {
				t.Fatalf("trailers %q", h)
			}
			if st := p.Conn.StreamState(1); st != core.StateHalfClosedLocal {
				t.Fatalf("state %v, want half_closed_local", st)
			}
			p.Invariants()
		})
		t.Run("server/"+c.name, func(t *testing.T) {
			p := msgServer(t, core.Config{})
			p.WriteFrames(p.FB.GET(1, "/"))
			p.WantEvent("request", core.EventRequest)
			if err := p.Conn.SendTrailers(1, msgFields("x-a", "1")); !errors.Is(err, core.ErrInvalidStreamState) {
				t.Fatalf("trailers before the final response: %v, want ErrInvalidStreamState", err)
			}
			if err := p.Conn.SendHeaders(1, msgFields(":status", "200"), false); err != nil {
				t.Fatal(err)
			}
			p.WantHeaders("response", 1, coretest.WithoutFlags(coretest.EndStream))
			err := p.Conn.SendTrailers(1, msgFields(c.fields...))
			if c.token != "" {
				msgWantMessageError(t, err, c.token, c.section, c.field)
				p.WantIdle("refused SendTrailers sends nothing")
				p.WantNoEvent("nothing reported")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h := p.WantHeaders("trailers", 1, coretest.WithFlags(coretest.EndStream)); h != msgLines(c.fields...) {
				t.Fatalf("trailers %q", h)
			}
			msgWantSeq(t, p, "end", "closed 1")
			p.Invariants()
		})
	}
}

// TestMsgTrailersBothDirectionsPair: request trailers travel client to
// server and response trailers server to client through a Pair, after
// content, with every event in order.
func TestMsgTrailersBothDirectionsPair(t *testing.T) {
	pair := msgPair(t, core.Config{}, core.Config{})
	pair.MaxChunk = 9
	id, err := pair.Client.OpenStream(msgFields(coretest.Request("POST", "/upload", "te", "trailers", "trailer", "x-checksum")...), core.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pair.Client.SendData(id, []byte("part1"), false); err != nil {
		t.Fatal(err)
	}
	if _, err := pair.Client.SendData(id, []byte("part2"), false); err != nil {
		t.Fatal(err)
	}
	if err := pair.Client.SendTrailers(id, msgFields("x-checksum", "c0ffee")); err != nil {
		t.Fatal(err)
	}
	if st := pair.Client.StreamState(id); st != core.StateOpen {
		t.Fatalf("state %v before trailers left, want open", st)
	}
	pair.Drive()
	msgPairSeq(t, pair, coretest.Server, "request with trailers",
		"request 1 POST end=false", `data 1 "part1part2" end=false`, "trailers 1 x-checksum=c0ffee end=true")
	msgPairSeq(t, pair, coretest.Client, "nothing yet")
	if st := pair.Client.StreamState(id); st != core.StateHalfClosedLocal {
		t.Fatalf("client state %v, want half_closed_local", st)
	}
	if err := pair.Server.SendHeaders(id, msgFields(":status", "200", "trailer", "x-digest"), false); err != nil {
		t.Fatal(err)
	}
	if _, err := pair.Server.SendData(id, []byte("stored"), false); err != nil {
		t.Fatal(err)
	}
	if err := pair.Server.SendTrailers(id, msgFields("x-digest", "sha-256=abc")); err != nil {
		t.Fatal(err)
	}
	pair.Drive()
	msgPairSeq(t, pair, coretest.Client, "response with trailers",
		"response 1 200 end=false", `data 1 "stored" end=false`, "trailers 1 x-digest=sha-256=abc end=true", "closed 1")
	msgPairSeq(t, pair, coretest.Server, "server stream ends", "closed 1")
	if err := pair.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestMsgGRPCBidiStream: a gRPC-style bidirectional stream — interleaved
// DATA both ways on one stream, the client half-closing with SendData(nil,
// true), the server ending with grpc-status trailers — with every event in
// order on both sides.
func TestMsgGRPCBidiStream(t *testing.T) {
	pair := msgPair(t, core.Config{}, core.Config{})
	pair.MaxChunk = 5
	req := msgFields(":method", "POST", ":scheme", "https", ":authority", "grpc.example", ":path", "/echo.Echo/Chat",
		"content-type", "application/grpc", "te", "trailers")
	id, err := pair.Client.OpenStream(req, core.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pair.Drive()
	msgPairSeq(t, pair, coretest.Server, "request", "request 1 POST end=false")
	if err := pair.Server.SendHeaders(id, msgFields(":status", "200", "content-type", "application/grpc"), false); err != nil {
		t.Fatal(err)
	}
	pair.Drive()
	msgPairSeq(t, pair, coretest.Client, "response headers", "response 1 200 end=false")
	for i := 0; i < 4; i++ {
		ping, pong := fmt.Sprintf("\x00\x00\x00\x00\x05ping%d", i), fmt.Sprintf("\x00\x00\x00\x00\x05pong%d", i)
		if _, err := pair.Client.SendData(id, []byte(ping), false); err != nil {
			t.Fatal(err)
		}
		pair.Drive()
		msgPairSeq(t, pair, coretest.Server, "client message", fmt.Sprintf("data 1 %q end=false", ping))
		msgPairSeq(t, pair, coretest.Client, "no echo yet")
		if _, err := pair.Server.SendData(id, []byte(pong), false); err != nil {
			t.Fatal(err)
		}
		pair.Drive()
		msgPairSeq(t, pair, coretest.Client, "server message", fmt.Sprintf("data 1 %q end=false", pong))
	}
	if _, err := pair.Client.SendData(id, nil, true); err != nil {
		t.Fatal(err)
	}
	pair.Drive()
	msgPairSeq(t, pair, coretest.Server, "client half-close", `data 1 "" end=true`)
	if st := pair.Client.StreamState(id); st != core.StateHalfClosedLocal {
		t.Fatalf("client state %v, want half_closed_local", st)
	}
	if st := pair.Server.StreamState(id); st != core.StateHalfClosedRemote {
		t.Fatalf("server state %v, want half_closed_remote", st)
	}
	if _, err := pair.Client.SendData(id, []byte("late"), false); !errors.Is(err, core.ErrStreamClosed) {
		t.Fatalf("SendData after half-close: %v, want ErrStreamClosed", err)
	}
	if _, err := pair.Server.SendData(id, []byte("tail"), false); err != nil {
		t.Fatal(err)
	}
	if err := pair.Server.SendTrailers(id, msgFields("grpc-status", "0", "grpc-message", "OK")); err != nil {
		t.Fatal(err)
	}
	pair.Drive()
	msgPairSeq(t, pair, coretest.Client, "tail and trailers",
		`data 1 "tail" end=false`, "trailers 1 grpc-status=0,grpc-message=OK end=true", "closed 1")
	msgPairSeq(t, pair, coretest.Server, "server end", "closed 1")
	if err := pair.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	if l, r := pair.Client.ActiveStreams(); l != 0 || r != 0 {
		t.Fatalf("client active streams %d/%d", l, r)
	}
}

// ---------------------------------------------------------------------------
// Outbound content rules: Respond, SendData, SendTrailers, OpenStream.

// TestMsgRespondContentLength: Respond adds content-length when the
// application gave none and keeps the application's when present; a
// mismatch returns ErrContentLength and sends nothing.
func TestMsgRespondContentLength(t *testing.T) {
	cases := []struct {
		name    string
		method  string
		status  int
		headers []string
		body    string
		err     error
		fields  string // the response's fields on the wire
		end     bool   // END_STREAM on HEADERS
	}{
		{name: "RFC9113_8.1.1_Respond_adds_content_length", method: "GET", status: 200,
			headers: []string{"content-type", "text/plain"}, body: "hello",
			fields: msgLines(":status", "200", "content-type", "text/plain", "content-length", "5")},
		{name: "RFC9113_8.1.1_Respond_adds_content_length_0_for_empty_body", method: "GET", status: 200,
			fields: msgLines(":status", "200", "content-length", "0"), end: true},
		{name: "RFC9113_8.1.1_Respond_keeps_application_content_length", method: "GET", status: 200,
			headers: []string{"content-length", "5", "x-a", "1"}, body: "hello",
			fields: msgLines(":status", "200", "content-length", "5", "x-a", "1")},
		{name: "RFC9113_8.1.1_Respond_content_length_mismatch_is_ErrContentLength", method: "GET", status: 200,
			headers: []string{"content-length", "4"}, body: "hello", err: core.ErrContentLength},
		{name: "RFC9113_8.1.1_Respond_content_length_without_body_is_ErrContentLength", method: "GET", status: 200,
			headers: []string{"content-length", "4"}, err: core.ErrContentLength},
		{name: "RFC9113_8.1.1_Respond_204_adds_no_content_length", method: "GET", status: 204,
			fields: ":status: 204", end: true},
		{name: "RFC9113_8.1.1_Respond_204_with_body_is_ErrBodyNotAllowed", method: "GET", status: 204, body: "x",
			err: core.ErrBodyNotAllowed},
		{name: "RFC9113_8.1.1_Respond_304_with_body_is_ErrBodyNotAllowed", method: "GET", status: 304, body: "x",
			err: core.ErrBodyNotAllowed},
		{name: "RFC9113_8.1.1_Respond_to_HEAD_with_body_is_ErrBodyNotAllowed", method: "HEAD", status: 200, body: "x",
			err: core.ErrBodyNotAllowed},
		{name: "RFC9113_8.1.1_Respond_to_HEAD_keeps_application_content_length", method: "HEAD", status: 200,
			headers: []string{"content-length", "100"}, fields: msgLines(":status", "200", "content-length", "100"), end: true},
		{name: "RFC9113_8.1.1_Respond_to_HEAD_adds_no_content_length", method: "HEAD", status: 200,
			fields: ":status: 200", end: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := msgServer(t, core.Config{})
			p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders|coretest.EndStream, coretest.Request(c.method, "/")...))
			p.WantEvent("request", core.EventRequest)
			var body []byte
			if c.body != "" {
				body = []byte(c.body)
			}
			err := p.Conn.Respond(1, c.status, msgFields(c.headers...), body)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("Respond = %v, want %v", err, c.err)
				}
				p.WantIdle("a refused Respond sends nothing")
				p.WantNoEvent("a refused Respond reports nothing")
				if p.Conn.Buffered(1) != 0 {
					t.Fatalf("%d bytes buffered after a refused Respond", p.Conn.Buffered(1))
				}
				msgServerServes(t, p, 3)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			check := coretest.WithoutFlags(coretest.EndStream)
			if c.end {
				check = coretest.WithFlags(coretest.EndStream)
			}
			if h := p.WantHeaders("response", 1, check); h != c.fields {
				t.Fatalf("response fields\n%s\nwant\n%s", h, c.fields)
			}
			if c.body != "" {
				p.WantFrame("response DATA", frame.TypeData, coretest.WithData(c.body), coretest.WithFlags(frame.FlagDataEndStream))
			}
			msgWantSeq(t, p, "end", "closed 1")
			p.WantIdle("nothing more")
			p.Invariants()
		})
	}
}

// TestMsgRespondFieldRules: Respond takes regular fields only and a final
// status; violations are *MessageError and nothing is sent.
func TestMsgRespondFieldRules(t *testing.T) {
	cases := []struct {
		name                  string
		status                int
		headers               []string
		token, section, field string
	}{
		{"RFC9113_8.3_Respond_with_pseudo_header_is_malformed", 200, []string{":status", "200"}, "unknown_pseudo_header", msgS83, ":status"},
		{"RFC9113_8.2.1_Respond_with_uppercase_name_is_malformed", 200, []string{"Content-Type", "x"}, "uppercase_field_name", msgS821, "Content-Type"},
		{"RFC9113_8.2.2_Respond_with_connection_is_malformed", 200, []string{"connection", "close"}, "connection_specific_field", msgS822, "connection"},
		{"RFC9113_8.2.1_Respond_with_NUL_in_value_is_malformed", 200, []string{"x-a", "\x00"}, "invalid_field_value", msgS821, "x-a"},
		{"RFC9113_8.3.2_Respond_with_status_99_is_malformed", 99, nil, "invalid_status", msgS832, ""},
		{"RFC9113_8.3.2_Respond_with_status_1000_is_malformed", 1000, nil, "invalid_status", msgS832, ""},
		{"RFC9113_8.3.2_Respond_with_1xx_status_is_refused", 100, nil, "invalid_status", msgS832, ""},
		{"RFC9113_8.6_Respond_with_101_is_refused", 101, nil, "invalid_status", msgS832, ""},
		{"RFC9110_8.6_Respond_with_invalid_content_length_is_malformed", 200, []string{"content-length", "x"}, "invalid_content_length", msgCL, "content-length"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := msgServer(t, core.Config{})
			p.WriteFrames(p.FB.GET(1, "/"))
			p.WantEvent("request", core.EventRequest)
			msgWantMessageError(t, p.Conn.Respond(1, c.status, msgFields(c.headers...), []byte("x")), c.token, c.section, c.field)
			p.WantIdle("a refused Respond sends nothing")
			if p.Conn.Buffered(0) != 0 {
				t.Fatal("bytes buffered after a refused Respond")
			}
			if err := p.Conn.Respond(1, 200, nil, []byte("ok")); err != nil {
				t.Fatal(err)
			}
			p.WantHeaders("valid response", 1)
			p.WantFrame("DATA", frame.TypeData, coretest.WithData("ok"))
			msgWantSeq(t, p, "end", "closed 1")
			p.Invariants()
		})
	}
}

// TestMsgSendDataContentRules: SendData and SendTrailers enforce the
// content-length the application announced and the no-content rule of
// 204/304/HEAD (RFC 9113 §8.1.1), returning the sentinel and sending
// nothing.
func TestMsgSendDataContentRules(t *testing.T) {
	t.Run("RFC9113_8.1.1_server_SendData_after_204_is_ErrBodyNotAllowed", func(t *testing.T) {
		p := msgServer(t, core.Config{})
		p.WriteFrames(p.FB.GET(1, "/"))
		p.WantEvent("request", core.EventRequest)
		if err := p.Conn.SendHeaders(1, msgFields(":status", "204"), false); err != nil {
			t.Fatal(err)
		}
		p.WantHeaders("204", 1, coretest.WithoutFlags(coretest.EndStream))
		if n, err := p.Conn.SendData(1, []byte("x"), true); n != 0 || !errors.Is(err, core.ErrBodyNotAllowed) {
			t.Fatalf("SendData = %d, %v, want 0, ErrBodyNotAllowed", n, err)
		}
		p.WantIdle("nothing sent")
		if _, err := p.Conn.SendData(1, nil, true); err != nil {
			t.Fatalf("empty END_STREAM on a 204: %v", err)
		}
		p.WantFrame("END_STREAM", frame.TypeData, coretest.WithData(""), coretest.WithFlags(frame.FlagDataEndStream))
		msgWantSeq(t, p, "end", "closed 1")
	})
	t.Run("RFC9113_8.1.1_server_SendData_to_HEAD_is_ErrBodyNotAllowed", func(t *testing.T) {
		p := msgServer(t, core.Config{})
		p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders|coretest.EndStream, coretest.Request("HEAD", "/")...))
		p.WantEvent("request", core.EventRequest)
		if err := p.Conn.SendHeaders(1, msgFields(":status", "200", "content-length", "10"), false); err != nil {
			t.Fatal(err)
		}
		p.WantHeaders("200", 1)
		if _, err := p.Conn.SendData(1, []byte("0123456789"), true); !errors.Is(err, core.ErrBodyNotAllowed) {
			t.Fatalf("SendData = %v, want ErrBodyNotAllowed", err)
		}
		p.WantIdle("nothing sent")
	})
	t.Run("RFC9113_8.1.1_server_SendHeaders_END_STREAM_with_content_length_is_ErrContentLength", func(t *testing.T) {
		p := msgServer(t, core.Config{})
		p.WriteFrames(p.FB.GET(1, "/"))
		p.WantEvent("request", core.EventRequest)
		if err := p.Conn.SendHeaders(1, msgFields(":status", "200", "content-length", "5"), true); !errors.Is(err, core.ErrContentLength) {
			t.Fatalf("SendHeaders = %v, want ErrContentLength", err)
		}
		p.WantIdle("nothing sent")
	})
	for _, role := range []string{"client", "server"} {
		t.Run("RFC9113_8.1.1_"+role+"_content_length_enforced_on_SendData_and_SendTrailers", func(t *testing.T) {
			var p *coretest.TestPeer
			if role == "client" {
				p = msgClient(t, core.Config{})
				if _, err := p.Conn.OpenStream(msgFields(coretest.Request("POST", "/", "content-length", "5")...), core.StreamOptions{}); err != nil {
					t.Fatal(err)
				}
				p.WantHeaders("request", 1)
			} else {
				p = msgServer(t, core.Config{})
				p.WriteFrames(p.FB.GET(1, "/"))
				p.WantEvent("request", core.EventRequest)
				if err := p.Conn.SendHeaders(1, msgFields(":status", "200", "content-length", "5"), false); err != nil {
					t.Fatal(err)
				}
				p.WantHeaders("response", 1)
			}
			if n, err := p.Conn.SendData(1, []byte("123456"), false); n != 0 || !errors.Is(err, core.ErrContentLength) {
				t.Fatalf("SendData past content-length = %d, %v, want 0, ErrContentLength", n, err)
			}
			if _, err := p.Conn.SendData(1, []byte("12"), true); !errors.Is(err, core.ErrContentLength) {
				t.Fatalf("END_STREAM short of content-length = %v, want ErrContentLength", err)
			}
			p.WantIdle("refused SendData sends nothing")
			if _, err := p.Conn.SendData(1, []byte("12"), false); err != nil {
				t.Fatal(err)
			}
			p.WantFrame("partial content", frame.TypeData, coretest.WithData("12"), coretest.WithoutFlags(frame.FlagDataEndStream))
			if err := p.Conn.SendTrailers(1, msgFields("x-a", "1")); !errors.Is(err, core.ErrContentLength) {
				t.Fatalf("trailers short of content-length = %v, want ErrContentLength", err)
			}
			if _, err := p.Conn.SendData(1, []byte("3456"), false); !errors.Is(err, core.ErrContentLength) {
				t.Fatalf("SendData crossing content-length = %v, want ErrContentLength", err)
			}
			p.WantIdle("refused commands send nothing")
			if _, err := p.Conn.SendData(1, []byte("345"), false); err != nil {
				t.Fatal(err)
			}
			if err := p.Conn.SendTrailers(1, msgFields("x-a", "1")); err != nil {
				t.Fatalf("trailers after exact content: %v", err)
			}
			p.WantFrame("rest of the content", frame.TypeData, coretest.WithData("345"), coretest.WithoutFlags(frame.FlagDataEndStream))
			p.WantHeaders("trailers", 1, coretest.WithFlags(coretest.EndStream))
			p.Invariants()
		})
	}
	t.Run("RFC9113_8.1.1_client_OpenStream_END_STREAM_with_content_length_is_ErrContentLength", func(t *testing.T) {
		p := msgClient(t, core.Config{})
		if _, err := p.Conn.OpenStream(msgFields(coretest.Request("POST", "/", "content-length", "1")...), core.StreamOptions{EndStream: true}); !errors.Is(err, core.ErrContentLength) {
			t.Fatalf("OpenStream = %v, want ErrContentLength", err)
		}
		p.WantIdle("nothing sent")
	})
}

// ---------------------------------------------------------------------------
// PUSH_PROMISE and PRIORITY.

// TestMsgPushPromiseRefused: we never enable push, so a PUSH_PROMISE is a
// connection error PROTOCOL_ERROR (RFC 9113 §6.6, §8.4).
func TestMsgPushPromiseRefused(t *testing.T) {
	t.Run("RFC9113_8.4_client_receiving_PUSH_PROMISE_is_connection_PROTOCOL_ERROR", func(t *testing.T) {
		p := msgClient(t, core.Config{})
		if p.Conn.LocalSettings().EnablePush {
			t.Fatal("client acknowledged settings still allow push")
		}
		if _, err := p.Conn.OpenStream(msgFields(msgReq()...), core.StreamOptions{EndStream: true}); err != nil {
			t.Fatal(err)
		}
		p.WantHeaders("request", 1)
		p.WriteFrames(frame.AppendPushPromise(nil, frame.PushPromiseParam{StreamID: 1, PromisedID: 2,
			Fragment: p.FB.Block(coretest.Request("GET", "/pushed.css")...), EndHeaders: true}))
		g := p.WantGoAway("PUSH_PROMISE without ENABLE_PUSH: GOAWAY PROTOCOL_ERROR", frame.ErrCodeProtocol)
		if g.LastStreamID != 0 || string(g.Data) != "push_promise_not_enabled" {
			t.Fatalf("GOAWAY last %d debug %q", g.LastStreamID, g.Data)
		}
		var ce *core.ConnError
		if !errors.As(p.Conn.Err(), &ce) || ce.Code != frame.ErrCodeProtocol || ce.Remote || ce.Token != "push_promise_not_enabled" {
			t.Fatalf("Err() = %v", p.Conn.Err())
		}
		e := p.WantEvent("the open stream ends with the connection", core.EventStreamReset)
		if e.StreamID != 1 || e.Token != "connection_closed" || !errors.As(e.Err, &ce) {
			t.Fatalf("stream reset %+v", e)
		}
		c := p.WantEvent("connection closed", core.EventClosed)
		if !errors.As(c.Err, &ce) {
			t.Fatalf("EventClosed.Err = %v", c.Err)
		}
		if _, err := p.Conn.OpenStream(msgFields(msgReq()...), core.StreamOptions{EndStream: true}); !errors.Is(err, core.ErrClosed) {
			t.Fatalf("OpenStream after the connection error: %v", err)
		}
		p.Invariants()
	})
	t.Run("RFC9113_8.4_server_receiving_PUSH_PROMISE_is_connection_PROTOCOL_ERROR", func(t *testing.T) {
		p := msgServer(t, core.Config{})
		p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, coretest.Request("POST", "/")...))
		p.WantEvent("request", core.EventRequest)
		p.WriteFrames(frame.AppendPushPromise(nil, frame.PushPromiseParam{StreamID: 1, PromisedID: 2,
			Fragment: p.FB.Block(coretest.Request("GET", "/x")...), EndHeaders: true}))
		g := p.WantGoAway("a client cannot push: GOAWAY PROTOCOL_ERROR", frame.ErrCodeProtocol)
		if g.LastStreamID != 1 {
			t.Fatalf("GOAWAY last stream %d, want 1", g.LastStreamID)
		}
		p.Invariants()
	})
}

// TestMsgPriorityIgnored: PRIORITY frames and HEADERS priority fields are
// parsed and otherwise ignored (RFC 9113 §5.3.2, §6.3); a stream depending
// on itself is a stream error PROTOCOL_ERROR (§5.3.1).
func TestMsgPriorityIgnored(t *testing.T) {
	t.Run("RFC9113_6.3_PRIORITY_frames_are_ignored_and_the_request_completes", func(t *testing.T) {
		p := msgServer(t, core.Config{})
		p.WriteFrames(
			p.FB.Priority(1, 0, false, 15), // idle stream about to open
			p.FB.Priority(7, 1, true, 255), // idle stream never opened
			p.FB.Priority(9, 0x7fffffff, false, 0),
		)
		p.WantIdle("PRIORITY is never answered")
		p.WantNoEvent("PRIORITY reports nothing")
		p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, coretest.Request("POST", "/")...),
			p.FB.Priority(1, 7, false, 3), // on an open stream
			p.FB.Data(1, true, []byte("x")))
		msgWantSeq(t, p, "request", "request 1 POST end=false", `data 1 "x" end=true`)
		if err := p.Conn.Respond(1, 200, nil, []byte("done")); err != nil {
			t.Fatal(err)
		}
		p.WantHeaders("response", 1)
		p.WantFrame("DATA", frame.TypeData, coretest.WithData("done"), coretest.WithFlags(frame.FlagDataEndStream))
		msgWantSeq(t, p, "end", "closed 1")
		p.WriteFrames(p.FB.Priority(1, 0, false, 1)) // on a closed stream
		p.WantIdle("PRIORITY on a closed stream is ignored")
		p.Invariants()
		msgServerServes(t, p, 3)
	})
	t.Run("RFC9113_5.3.2_HEADERS_priority_fields_are_ignored", func(t *testing.T) {
		p := msgServer(t, core.Config{})
		p.WriteFrames(frame.AppendHeaders(nil, frame.HeadersParam{StreamID: 1, Fragment: p.FB.Block(coretest.Request("GET", "/p")...),
			EndStream: true, EndHeaders: true, HasPriority: true, Priority: frame.Priority{StreamDep: 0, Exclusive: true, Weight: 200}}))
		e := p.WantEvent("request with priority fields", core.EventRequest)
		if e.Header(":path") != "/p" {
			t.Fatalf("path %q", e.Header(":path"))
		}
		if err := p.Conn.Respond(1, 204, nil, nil); err != nil {
			t.Fatal(err)
		}
		p.WantHeaders("response", 1, coretest.WithFlags(coretest.EndStream))
		msgWantSeq(t, p, "end", "closed 1")
		p.Invariants()
	})
	t.Run("RFC9113_5.3.1_HEADERS_self_dependency_on_new_stream_is_stream_PROTOCOL_ERROR", func(t *testing.T) {
		p := msgServer(t, core.Config{})
		p.WriteFrames(frame.AppendHeaders(nil, frame.HeadersParam{StreamID: 1, Fragment: p.FB.Block(coretest.Request("GET", "/self", "x-fill", "dynamic-table-entry")...),
			EndStream: true, EndHeaders: true, HasPriority: true, Priority: frame.Priority{StreamDep: 1, Weight: 16}}))
		p.WantRST("self-dependent HEADERS: RST_STREAM PROTOCOL_ERROR", 1, frame.ErrCodeProtocol)
		p.WantNoEvent("the request is not surfaced")
		p.WantIdle("no GOAWAY: a stream error")
		if p.Conn.Err() != nil {
			t.Fatalf("connection failed: %v", p.Conn.Err())
		}
		// The block was still decoded: the next block references the
		// dynamic table entries it added (RFC 9113 §4.3).
		p.WriteFrames(p.FB.Headers(3, coretest.EndHeaders|coretest.EndStream, coretest.Request("GET", "/self", "x-fill", "dynamic-table-entry")...))
		e := p.WantEvent("next request decodes", core.EventRequest)
		if e.StreamID != 3 || e.Header("x-fill") != "dynamic-table-entry" {
			t.Fatalf("request %d x-fill %q", e.StreamID, e.Header("x-fill"))
		}
		p.Invariants()
	})
	t.Run("RFC9113_5.3.1_PRIORITY_self_dependency_is_stream_PROTOCOL_ERROR", func(t *testing.T) {
		p := msgServer(t, core.Config{})
		p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, coretest.Request("POST", "/")...))
		p.WantEvent("request", core.EventRequest)
		p.WriteFrames(p.FB.Priority(1, 1, false, 16))
		p.WantRST("self-dependent PRIORITY: RST_STREAM PROTOCOL_ERROR", 1, frame.ErrCodeProtocol)
		e := p.WantEvent("stream reset", core.EventStreamReset)
		if e.StreamID != 1 || e.Code != frame.ErrCodeProtocol || e.Remote || e.Token != "priority_self_dependency" {
			t.Fatalf("reset %+v", e)
		}
		p.Invariants()
		msgServerServes(t, p, 3)
	})
	t.Run("RFC9113_5.3.1_client_response_HEADERS_self_dependency_is_stream_PROTOCOL_ERROR", func(t *testing.T) {
		p := msgClient(t, core.Config{})
		if _, err := p.Conn.OpenStream(msgFields(msgReq()...), core.StreamOptions{EndStream: true}); err != nil {
			t.Fatal(err)
		}
		p.WantHeaders("request", 1)
		p.WriteFrames(p.FB.Priority(1, 0, false, 7)) // ignored
		p.WriteFrames(frame.AppendHeaders(nil, frame.HeadersParam{StreamID: 1, Fragment: p.FB.Block(":status", "200"),
			EndStream: true, EndHeaders: true, HasPriority: true, Priority: frame.Priority{StreamDep: 1}}))
		msgWantReset(t, p, 1, frame.ErrCodeProtocol, "headers_self_dependency")
		p.WantIdle("nothing else")
		msgClientServes(t, p)
	})
}

// TestMsgNoContentLengthOn204Or1xx: "A server MUST NOT send a
// Content-Length header field in any response with a status code of 1xx
// (Informational) or 204 (No Content)" (RFC 9110 §8.6). The core refuses
// the analogous RFC 9110 §9.3.6 rule for 2xx to CONNECT, so it should
// refuse these too, sending nothing.
func TestMsgNoContentLengthOn204Or1xx(t *testing.T) {
	cases := []struct {
		name string
		send func(c *core.Conn) error
	}{
		{"RFC9110_8.6_Respond_204_with_content_length_is_refused", func(c *core.Conn) error {
			return c.Respond(1, 204, msgFields("content-length", "0"), nil)
		}},
		{"RFC9110_8.6_SendHeaders_204_with_content_length_is_refused", func(c *core.Conn) error {
			return c.SendHeaders(1, msgFields(":status", "204", "content-length", "0"), true)
		}},
		{"RFC9110_8.6_SendHeaders_1xx_with_content_length_is_refused", func(c *core.Conn) error {
			return c.SendHeaders(1, msgFields(":status", "103", "content-length", "0"), false)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := msgServer(t, core.Config{})
			p.WriteFrames(p.FB.GET(1, "/"))
			p.WantEvent("request", core.EventRequest)
			err := c.send(p.Conn)
			var me *core.MessageError
			if !errors.Is(err, core.ErrBodyNotAllowed) && !errors.As(err, &me) {
				t.Fatalf("err = %v, want ErrBodyNotAllowed or a *MessageError", err)
			}
			p.WantIdle("a refused response sends nothing")
		})
	}
}
