package core_test

// Stream identifiers and concurrency (RFC 9113 §5.1.1, §5.1.2), exactly one
// terminal event per stream (core/doc.go), and the server's held streams
// (DESIGN §5, the Rapid Reset defence).

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// stateDrain takes every frame the Conn has to send.
func stateDrain(p *coretest.TestPeer) []frame.Frame {
	var out []frame.Frame
	for {
		f, ok := p.NextFrame()
		if !ok {
			return out
		}
		out = append(out, f)
	}
}

// stateHeld requires Conn.HeldStreams.
func stateHeld(t *testing.T, c *core.Conn, why string, held, pending int) {
	t.Helper()
	if h, q := c.HeldStreams(); h != held || q != pending {
		t.Fatalf("%s: HeldStreams() = (%d held, %d pending), want (%d, %d)", why, h, q, held, pending)
	}
}

func stateWantState(t *testing.T, c *core.Conn, id uint32, want core.StreamState, why string) {
	t.Helper()
	if got := c.StreamState(id); got != want {
		t.Fatalf("%s: StreamState(%d) = %v, want %v", why, id, got, want)
	}
}

// statePostHeaders is HEADERS(id, END_HEADERS) opening a POST.
func statePostHeaders(fb *coretest.FrameBuilder, id uint32) []byte {
	return fb.Headers(id, coretest.EndHeaders, coretest.Request("POST", "/")...)
}

// ---------------------------------------------------------------------------
// Stream identifiers (RFC 9113 §5.1.1).

// TestStateRFC9113_5_1_1_StreamIDParity: "Streams initiated by a client MUST
// use odd-numbered stream identifiers; those initiated by the server MUST use
// even-numbered stream identifiers"; an unexpected identifier is a connection
// error PROTOCOL_ERROR.
func TestStateRFC9113_5_1_1_StreamIDParity(t *testing.T) {
	cases := []struct {
		name  string
		role  core.Role
		open  bool // client: open stream 1 first
		frame func(fb *coretest.FrameBuilder) []byte
	}{
		{"server_recv_HEADERS_on_even_stream_2", core.RoleServer, false, func(fb *coretest.FrameBuilder) []byte { return fb.GET(2, "/") }},
		{"server_recv_DATA_on_even_stream_2", core.RoleServer, false, func(fb *coretest.FrameBuilder) []byte { return fb.Data(2, true, []byte("x")) }},
		{"client_recv_HEADERS_on_even_unpromised_stream_2", core.RoleClient, true, func(fb *coretest.FrameBuilder) []byte {
			return fb.Headers(2, coretest.EndStream|coretest.EndHeaders, coretest.Response("200")...)
		}},
		{"client_recv_HEADERS_on_odd_unopened_stream_3", core.RoleClient, true, func(fb *coretest.FrameBuilder) []byte {
			return fb.Headers(3, coretest.EndStream|coretest.EndHeaders, coretest.Response("200")...)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name+"_is_conn_PROTOCOL_ERROR", func(t *testing.T) {
			p := stateNewPeer(t, tc.role, core.Config{})
			if tc.open {
				if _, err := p.Conn.OpenStream(stateGET, core.StreamOptions{EndStream: true}); err != nil {
					t.Fatal(err)
				}
				p.WantHeaders("request on stream 1", 1)
			}
			p.WriteFrames(tc.frame(p.FB))
			stateWantConnErr(p, "RFC 9113 §5.1.1: unexpected stream identifier", frame.ErrCodeProtocol)
			p.Invariants()
		})
	}
}

// TestStateRFC9113_5_1_1_StreamIDMustIncrease: "The identifier of a newly
// established stream MUST be numerically greater than all streams that the
// initiating endpoint has opened or reserved"; a lower one is a connection
// error PROTOCOL_ERROR, whether the higher stream is still open or done.
func TestStateRFC9113_5_1_1_StreamIDMustIncrease(t *testing.T) {
	for _, tc := range []struct {
		name    string
		finish5 bool
		lower   uint32
	}{
		{"HEADERS_3_after_open_5", false, 3},
		{"HEADERS_1_after_open_5", false, 1},
		{"HEADERS_3_after_closed_5", true, 3},
	} {
		t.Run(tc.name+"_is_conn_PROTOCOL_ERROR", func(t *testing.T) {
			p := stateNewPeer(t, core.RoleServer, core.Config{})
			p.WriteFrames(p.FB.GET(5, "/"))
			stateWantEv(p, "request on 5", core.EventRequest, 5)
			if tc.finish5 {
				if err := p.Conn.Respond(5, 204, nil, nil); err != nil {
					t.Fatal(err)
				}
				p.WantHeaders("response", 5, coretest.WithFlags(coretest.EndStream))
				stateWantEv(p, "stream 5 done", core.EventStreamClosed, 5)
			}
			p.WriteFrames(p.FB.GET(tc.lower, "/"))
			stateWantConnErr(p, "RFC 9113 §5.1.1: stream identifier not increasing", frame.ErrCodeProtocol)
			p.Invariants()
		})
	}
}

// TestStateRFC9113_5_1_1_ImplicitCloseOfLowerIdleStreams: "The first use of a
// new stream identifier implicitly closes all streams in the idle state that
// might have been initiated by that peer with a lower-valued stream
// identifier." HEADERS on 5 closes idle 1 and 3; frames on them are then
// frames on closed streams.
func TestStateRFC9113_5_1_1_ImplicitCloseOfLowerIdleStreams(t *testing.T) {
	open5 := func(t *testing.T) *coretest.TestPeer {
		p := stateNewPeer(t, core.RoleServer, core.Config{})
		p.WriteFrames(statePostHeaders(p.FB, 5))
		stateWantEv(p, "request on 5", core.EventRequest, 5)
		for _, tc := range []struct {
			id   uint32
			want core.StreamState
		}{{1, core.StateClosed}, {3, core.StateClosed}, {5, core.StateOpen}, {7, core.StateIdle}} {
			stateWantState(t, p.Conn, tc.id, tc.want, "RFC 9113 §5.1.1 after HEADERS on 5")
		}
		return p
	}
	t.Run("states_after_HEADERS_5", func(t *testing.T) { open5(t).Invariants() })
	t.Run("DATA_on_3_is_conn_STREAM_CLOSED", func(t *testing.T) {
		p := open5(t)
		p.WriteFrames(p.FB.Data(3, true, []byte("x")))
		stateWantConnErr(p, "RFC 9113 §5.1: DATA on a closed stream", frame.ErrCodeStreamClosed)
	})
	t.Run("HEADERS_on_3_is_conn_PROTOCOL_ERROR", func(t *testing.T) {
		p := open5(t)
		p.WriteFrames(p.FB.GET(3, "/"))
		stateWantConnErr(p, "RFC 9113 §5.1.1: a lower identifier cannot open a stream", frame.ErrCodeProtocol)
	})
	for _, kind := range []string{"WINDOW_UPDATE", "RST_STREAM", "PRIORITY"} {
		t.Run(kind+"_on_3_is_ignored", func(t *testing.T) {
			p := open5(t)
			p.WriteFrames(stateFrameOn(p.FB, core.RoleServer, kind, 3))
			stateWantQuiet(p, stateWhyClosedX)
			stateWantState(t, p.Conn, 3, core.StateClosed, "still closed")
			stateWantState(t, p.Conn, 5, core.StateOpen, "stream 5 untouched")
			p.Invariants()
		})
	}
	t.Run("PRIORITY_on_idle_9_neither_opens_nor_closes_7", func(t *testing.T) {
		p := open5(t)
		p.WriteFrames(p.FB.Priority(9, 0, false, 15))
		stateWantQuiet(p, "RFC 9113 §5.1: PRIORITY on an idle stream")
		stateWantState(t, p.Conn, 9, core.StateIdle, "PRIORITY does not open")
		stateWantState(t, p.Conn, 7, core.StateIdle, "PRIORITY does not implicitly close")
		p.WriteFrames(p.FB.GET(7, "/"))
		stateWantEv(p, "HEADERS on 7 still opens it", core.EventRequest, 7)
		stateWantState(t, p.Conn, 7, core.StateHalfClosedRemote, "GET on 7")
		p.Invariants()
	})
}

// TestStateRFC9113_5_1_1_ClientAllocatesOddIncreasingIDs: a client uses 1, 3,
// 5, … in order, never reusing an identifier after its stream closes.
func TestStateRFC9113_5_1_1_ClientAllocatesOddIncreasingIDs(t *testing.T) {
	p := stateNewPeer(t, core.RoleClient, core.Config{})
	for i, want := range []uint32{1, 3, 5, 7} {
		id, err := p.Conn.OpenStream(stateGET, core.StreamOptions{EndStream: true})
		if err != nil || id != want {
			t.Fatalf("OpenStream #%d = %d, %v; want %d", i+1, id, err, want)
		}
		p.WantHeaders("HEADERS on the new stream", want, coretest.WithFlags(coretest.EndStream))
		stateWantState(t, p.Conn, want, core.StateHalfClosedLocal, "request sent with END_STREAM")
	}
	stateWantState(t, p.Conn, 9, core.StateIdle, "next identifier unused")
	p.WriteFrames(p.FB.Headers(1, coretest.EndStream|coretest.EndHeaders, coretest.Response("204")...))
	stateWantState(t, p.Conn, 1, core.StateClosed, "stream 1 done")
	id, err := p.Conn.OpenStream(stateGET, core.StreamOptions{EndStream: true})
	if err != nil || id != 9 {
		t.Fatalf("OpenStream after stream 1 closed = %d, %v; want 9 (identifiers cannot be reused, RFC 9113 §5.1.1)", id, err)
	}
	p.WantHeaders("HEADERS on 9", 9)
	p.Invariants()
}

// TestStateRFC9113_5_1_1_ClientIDsExhausted: "Stream identifiers cannot be
// reused"; once a client has used 2^31-1, OpenStream returns
// ErrStreamIDsExhausted and sends nothing. Reaching that takes 2^30 streams:
// about 6 minutes without -race and over an hour with it, so the full run is
// opt-in (H2_STATE_EXHAUST=1). The always-run part checks what a short run
// can: CanOpenStream agrees with OpenStream and the sentinels are distinct.
func TestStateRFC9113_5_1_1_ClientIDsExhausted(t *testing.T) {
	if errors.Is(core.ErrStreamIDsExhausted, core.ErrMaxStreams) || errors.Is(core.ErrMaxStreams, core.ErrStreamIDsExhausted) {
		t.Fatal("ErrStreamIDsExhausted and ErrMaxStreams must be distinguishable")
	}
	p := stateNewPeer(t, core.RoleClient, core.Config{})
	c := p.Conn
	if !c.CanOpenStream() {
		t.Fatal("CanOpenStream() = false on a fresh connection")
	}
	if os.Getenv("H2_STATE_EXHAUST") == "" {
		t.Skip("exhausting 2^30 client stream identifiers takes minutes; set H2_STATE_EXHAUST=1 to run it")
	}
	// Tight loop straight on the Conn: the response is the static-table
	// ":status: 200" (0x88), so the HPACK state never changes.
	resp := frame.AppendHeaders(nil, frame.HeadersParam{StreamID: 1, Fragment: []byte{0x88}, EndStream: true, EndHeaders: true})
	var out []byte
	var last uint32
	for {
		id, err := c.OpenStream(stateGET, core.StreamOptions{EndStream: true})
		if err != nil {
			if !errors.Is(err, core.ErrStreamIDsExhausted) {
				t.Fatalf("after stream %d: OpenStream = %v, want ErrStreamIDsExhausted", last, err)
			}
			break
		}
		if id != last+2 && !(last == 0 && id == 1) {
			t.Fatalf("OpenStream = %d after %d", id, last)
		}
		last = id
		resp[5], resp[6], resp[7], resp[8] = byte(id>>24), byte(id>>16), byte(id>>8), byte(id)
		if _, err := c.Receive(p.Now, resp); err != nil {
			t.Fatal(err)
		}
		for _, ok := c.PollEvent(); ok; _, ok = c.PollEvent() {
		}
		out = c.PollTransmit(out[:0])
	}
	if last != frame.MaxStreamID {
		t.Fatalf("last stream %d, want 2^31-1", last)
	}
	if c.CanOpenStream() {
		t.Fatal("CanOpenStream() = true with identifiers exhausted")
	}
	if out = c.PollTransmit(out[:0]); len(out) != 0 {
		t.Fatalf("a refused OpenStream sent %d bytes", len(out))
	}
	if c.Phase() != core.PhaseConnected {
		t.Fatalf("phase %v: exhaustion is the application's cue to open a new connection, not an error", c.Phase())
	}
}

// ---------------------------------------------------------------------------
// SETTINGS_MAX_CONCURRENT_STREAMS (RFC 9113 §5.1.2).

// TestStateRFC9113_5_1_2_ServerRefusesStreamOverLimit: with
// Config.MaxConcurrentStreams = 2, the third concurrent stream (open or
// half-closed both count) is refused with RST_STREAM(REFUSED_STREAM) and
// never surfaced; once a stream ends, a new one is accepted.
func TestStateRFC9113_5_1_2_ServerRefusesStreamOverLimit(t *testing.T) {
	p := stateNewPeer(t, core.RoleServer, core.Config{MaxConcurrentStreams: 2})
	if got := p.Conn.LocalSettings().MaxConcurrentStreams; got != 2 {
		t.Fatalf("acknowledged MAX_CONCURRENT_STREAMS = %d, want 2", got)
	}
	p.WriteFrames(statePostHeaders(p.FB, 1)) // open
	stateWantEv(p, "request 1", core.EventRequest, 1)
	p.WriteFrames(p.FB.GET(3, "/")) // half-closed (remote): counts too
	stateWantEv(p, "request 3", core.EventRequest, 3)
	p.WriteFrames(statePostHeaders(p.FB, 5))
	p.WantRST("RFC 9113 §5.1.2: a stream over the advertised limit is refused", 5, frame.ErrCodeRefusedStream)
	stateWantQuiet(p, "the refused stream is not surfaced")
	stateWantState(t, p.Conn, 5, core.StateClosed, "refused")
	if l, r := p.Conn.ActiveStreams(); l != 0 || r != 2 {
		t.Fatalf("ActiveStreams() = (%d, %d), want (0, 2)", l, r)
	}
	// The refused stream's body in flight is discarded, its bytes returned.
	before := p.Conn.RecvWindow(0)
	p.WriteFrames(p.FB.Data(5, true, []byte("body")))
	stateWantQuiet(p, "DATA on the refused stream is discarded")
	if got := p.Conn.RecvWindow(0); got != before-4 {
		// Returned credit is batched: the window shows the bytes as consumed
		// but not yet re-advertised.
		t.Fatalf("RecvWindow(0) = %d, want %d", got, before-4)
	}
	// Stream 1 ends both ways: a slot frees.
	p.WriteFrames(p.FB.Data(1, true, nil))
	stateWantEv(p, "end of request 1", core.EventData, 1)
	if err := p.Conn.Respond(1, 204, nil, nil); err != nil {
		t.Fatal(err)
	}
	p.WantHeaders("response 1", 1, coretest.WithFlags(coretest.EndStream))
	stateWantEv(p, "stream 1 done", core.EventStreamClosed, 1)
	p.WriteFrames(p.FB.GET(7, "/"))
	stateWantEv(p, "a slot freed: stream 7 accepted", core.EventRequest, 7)
	p.WantIdle("no refusal for 7")
	p.Invariants()
}

// TestStateRFC9113_5_1_2_ClientRespectsPeerLimit: with the server's
// MAX_CONCURRENT_STREAMS = 2, OpenStream returns ErrMaxStreams at the limit
// and sends nothing, and succeeds again once a stream closes (normally or by
// the peer's RST_STREAM).
func TestStateRFC9113_5_1_2_ClientRespectsPeerLimit(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(fb *coretest.FrameBuilder) []byte
	}{
		{"slot_freed_by_response", func(fb *coretest.FrameBuilder) []byte {
			return fb.Headers(1, coretest.EndStream|coretest.EndHeaders, coretest.Response("204")...)
		}},
		{"slot_freed_by_peer_RST_STREAM", func(fb *coretest.FrameBuilder) []byte { return fb.RST(1, frame.ErrCodeRefusedStream) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := stateNewPeer(t, core.RoleClient, core.Config{}, frame.Setting{ID: frame.SettingMaxConcurrentStreams, Val: 2})
			c := p.Conn
			for _, want := range []uint32{1, 3} {
				id, err := c.OpenStream(stateGET, core.StreamOptions{EndStream: true})
				if err != nil || id != want {
					t.Fatalf("OpenStream = %d, %v; want %d", id, err, want)
				}
				p.WantHeaders("request", want)
			}
			if c.CanOpenStream() {
				t.Fatal("CanOpenStream() = true at the peer's limit")
			}
			if id, err := c.OpenStream(stateGET, core.StreamOptions{EndStream: true}); !errors.Is(err, core.ErrMaxStreams) {
				t.Fatalf("third OpenStream = %d, %v; want ErrMaxStreams (RFC 9113 §5.1.2)", id, err)
			}
			p.WantIdle("a refused OpenStream sends nothing")
			stateWantState(t, c, 5, core.StateIdle, "identifier 5 not consumed")
			p.WriteFrames(tc.end(p.FB))
			stateWantState(t, c, 1, core.StateClosed, "stream 1 ended")
			if !c.CanOpenStream() {
				t.Fatal("CanOpenStream() = false after a stream closed")
			}
			id, err := c.OpenStream(stateGET, core.StreamOptions{EndStream: true})
			if err != nil || id != 5 {
				t.Fatalf("OpenStream after a slot freed = %d, %v; want 5", id, err)
			}
			p.WantHeaders("request 5", 5)
			p.Invariants()
		})
	}
}

// ---------------------------------------------------------------------------
// Exactly one terminal event per stream (core/doc.go, event.go).

// stateTerminalOnce requires that each of ids got exactly one terminal event
// and that no stream got any event after its terminal one. It returns the
// terminal events by stream.
func stateTerminalOnce(t *testing.T, side string, events []core.Event, ids ...uint32) map[uint32]core.Event {
	t.Helper()
	term := map[uint32]core.Event{}
	for _, e := range events {
		if e.StreamID == 0 {
			continue
		}
		if prev, ok := term[e.StreamID]; ok {
			t.Errorf("%s: stream %d: %v after its terminal %v", side, e.StreamID, e.Kind, prev.Kind)
			continue
		}
		if stateIsTerminal(e.Kind) {
			term[e.StreamID] = e
		}
	}
	for _, id := range ids {
		if _, ok := term[id]; !ok {
			t.Errorf("%s: stream %d got no terminal event; events %v", side, id, stateEventNames(events))
		}
	}
	if len(term) != len(ids) {
		t.Errorf("%s: terminal events for %d streams, want %d (%v)", side, len(term), len(ids), stateEventNames(events))
	}
	return term
}

func stateWantReset(t *testing.T, e core.Event, code frame.ErrCode, remote, retryable bool) {
	t.Helper()
	if e.Kind != core.EventStreamReset || e.Code != code || e.Remote != remote || e.Retryable != retryable {
		t.Fatalf("stream %d: %v code %v remote %v retryable %v; want EventStreamReset %v remote %v retryable %v",
			e.StreamID, e.Kind, e.Code, e.Remote, e.Retryable, code, remote, retryable)
	}
}

// stateNewPair returns a connected Pair logging events.
func stateNewPair(t *testing.T, cc, sc core.Config) *coretest.Pair {
	t.Helper()
	pr, err := coretest.NewPair(7, cc, sc)
	if err != nil {
		t.Fatal(err)
	}
	pr.MaxChunk = 7
	pr.Drive()
	if pr.Client.Phase() != core.PhaseConnected || pr.Server.Phase() != core.PhaseConnected {
		t.Fatalf("handshake: client %v server %v", pr.Client.Phase(), pr.Server.Phase())
	}
	pr.Log = nil
	return pr
}

func stateCheckPair(t *testing.T, pr *coretest.Pair) {
	t.Helper()
	if err := pr.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestStateOneTerminalEventPerStream: every stream the application knows of
// gets exactly one EventStreamClosed or EventStreamReset, and no event after
// it, however it ends.
func TestStateOneTerminalEventPerStream(t *testing.T) {
	t.Run("normal_completion", func(t *testing.T) {
		pr := stateNewPair(t, core.Config{}, core.Config{})
		for _, want := range []uint32{1, 3} {
			if id, err := pr.Client.OpenStream(stateGET, core.StreamOptions{EndStream: true}); err != nil || id != want {
				t.Fatalf("OpenStream = %d, %v", id, err)
			}
		}
		pr.Drive()
		for _, e := range pr.Events(coretest.Server, core.EventRequest) {
			if err := pr.Server.Respond(e.StreamID, 200, nil, []byte("hi")); err != nil {
				t.Fatal(err)
			}
		}
		pr.Drive()
		for _, side := range []coretest.Side{coretest.Client, coretest.Server} {
			for id, e := range stateTerminalOnce(t, side.String(), pr.Events(side), 1, 3) {
				if e.Kind != core.EventStreamClosed {
					t.Errorf("%v stream %d: %v, want EventStreamClosed", side, id, e.Kind)
				}
			}
		}
		stateCheckPair(t, pr)
	})

	t.Run("client_ResetStream_is_local_on_client_and_remote_on_server", func(t *testing.T) {
		pr := stateNewPair(t, core.Config{}, core.Config{})
		if _, err := pr.Client.OpenStream(statePOST, core.StreamOptions{}); err != nil {
			t.Fatal(err)
		}
		pr.Drive()
		if err := pr.Client.ResetStream(1, frame.ErrCodeCancel); err != nil {
			t.Fatal(err)
		}
		pr.Drive()
		// The server application is done with the peer-reset stream.
		if err := pr.Server.ReleaseStream(1); err != nil {
			t.Fatal(err)
		}
		if err := pr.Server.Respond(1, 200, nil, nil); !errors.Is(err, core.ErrStreamClosed) {
			t.Fatalf("Respond on a reset stream = %v, want ErrStreamClosed", err)
		}
		pr.Drive()
		stateWantReset(t, stateTerminalOnce(t, "client", pr.Events(coretest.Client), 1)[1], frame.ErrCodeCancel, false, false)
		stateWantReset(t, stateTerminalOnce(t, "server", pr.Events(coretest.Server), 1)[1], frame.ErrCodeCancel, true, false)
		stateCheckPair(t, pr)
	})

	t.Run("server_ResetStream_is_local_on_server_and_remote_on_client", func(t *testing.T) {
		pr := stateNewPair(t, core.Config{}, core.Config{})
		if _, err := pr.Client.OpenStream(stateGET, core.StreamOptions{EndStream: true}); err != nil {
			t.Fatal(err)
		}
		pr.Drive()
		if err := pr.Server.ResetStream(1, frame.ErrCodeInternal); err != nil {
			t.Fatal(err)
		}
		pr.Drive()
		stateWantReset(t, stateTerminalOnce(t, "server", pr.Events(coretest.Server), 1)[1], frame.ErrCodeInternal, false, false)
		stateWantReset(t, stateTerminalOnce(t, "client", pr.Events(coretest.Client), 1)[1], frame.ErrCodeInternal, true, false)
		if h, _ := pr.Server.HeldStreams(); h != 0 {
			t.Fatalf("server holds %d streams after its own ResetStream", h)
		}
		stateCheckPair(t, pr)
	})

	t.Run("stream_error_then_late_frames", func(t *testing.T) {
		p := stateNewPeer(t, core.RoleServer, core.Config{})
		p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, coretest.Request("POST", "/", "content-length", "1")...),
			p.FB.Data(1, true, []byte("too long")))
		p.WantRST("RFC 9113 §8.1.1: content-length mismatch is a stream PROTOCOL_ERROR", 1, frame.ErrCodeProtocol)
		p.WriteFrames(p.FB.Data(1, true, []byte("more")), p.FB.RST(1, frame.ErrCodeCancel), p.FB.WindowUpdate(1, 10))
		p.WantIdle("late frames on the stream we reset are discarded")
		e := stateTerminalOnce(t, "server", p.Events, 1)[1]
		stateWantReset(t, e, frame.ErrCodeProtocol, false, false)
		if e.Token == "" {
			t.Error("stream error without a Token naming the rule")
		}
		p.Invariants()
	})

	t.Run("GOAWAY_refuses_streams_above_last_stream_id_as_retryable", func(t *testing.T) {
		p := stateNewPeer(t, core.RoleClient, core.Config{})
		for _, id := range []uint32{1, 3, 5} {
			if _, err := p.Conn.OpenStream(stateGET, core.StreamOptions{EndStream: true}); err != nil {
				t.Fatal(err)
			}
			p.WantHeaders("request", id)
		}
		p.WriteFrames(p.FB.GoAway(1, frame.ErrCodeNo, "bye"))
		stateWantState(t, p.Conn, 3, core.StateClosed, "refused by GOAWAY")
		stateWantState(t, p.Conn, 5, core.StateClosed, "refused by GOAWAY")
		stateWantState(t, p.Conn, 1, core.StateHalfClosedLocal, "at or below last-stream-id: still running")
		if _, err := p.Conn.OpenStream(stateGET, core.StreamOptions{EndStream: true}); !errors.Is(err, core.ErrGoAwayReceived) {
			t.Fatalf("OpenStream after GOAWAY = %v, want ErrGoAwayReceived", err)
		}
		p.WriteFrames(p.FB.Headers(1, coretest.EndStream|coretest.EndHeaders, coretest.Response("204")...))
		stateDrain(p)
		term := stateTerminalOnce(t, "client", p.Events, 1, 3, 5)
		if term[1].Kind != core.EventStreamClosed {
			t.Errorf("stream 1: %v, want EventStreamClosed", term[1].Kind)
		}
		for _, id := range []uint32{3, 5} {
			stateWantReset(t, term[id], frame.ErrCodeRefusedStream, true, true)
		}
		if p.Conn.Phase() != core.PhaseClosed {
			t.Errorf("phase %v: after GOAWAY and the last stream, the connection closes", p.Conn.Phase())
		}
		p.Invariants()
	})

	t.Run("Close_NO_ERROR_ends_every_stream_with_CANCEL", func(t *testing.T) {
		p := stateNewPeer(t, core.RoleClient, core.Config{})
		if _, err := p.Conn.OpenStream(statePOST, core.StreamOptions{}); err != nil { // open
			t.Fatal(err)
		}
		if _, err := p.Conn.OpenStream(stateGET, core.StreamOptions{EndStream: true}); err != nil { // half-closed (local)
			t.Fatal(err)
		}
		p.Conn.Close(p.Now, frame.ErrCodeNo, "bye")
		frames := stateDrain(p)
		if len(frames) == 0 || frames[len(frames)-1].Type != frame.TypeGoAway || frames[len(frames)-1].ErrCode != frame.ErrCodeNo {
			t.Fatalf("frames %v, want GOAWAY(NO_ERROR) last", stateFrameNames(frames))
		}
		term := stateTerminalOnce(t, "client", p.Events, 1, 3)
		for _, id := range []uint32{1, 3} {
			stateWantReset(t, term[id], frame.ErrCodeCancel, false, false)
			if !errors.Is(term[id].Err, core.ErrClosed) {
				t.Errorf("stream %d: Err %v, want ErrClosed", id, term[id].Err)
			}
		}
		if err := p.Conn.ResetStream(1, frame.ErrCodeCancel); !errors.Is(err, core.ErrClosed) {
			t.Errorf("ResetStream after Close = %v, want ErrClosed", err)
		}
		p.Invariants()
	})

	t.Run("Close_with_error_spares_held_and_pending_server_streams", func(t *testing.T) {
		p := stateNewPeer(t, core.RoleServer, core.Config{MaxConcurrentStreams: 2})
		p.WriteFrames(statePostHeaders(p.FB, 1), p.FB.GET(3, "/"), p.FB.RST(3, frame.ErrCodeCancel), statePostHeaders(p.FB, 5),
			p.FB.RST(1, frame.ErrCodeCancel), p.FB.GET(7, "/"))
		// 1 and 3 were surfaced, then reset by the peer: held. 5 and 7 wait.
		stateHeld(t, p.Conn, "before Close", 2, 2)
		p.Conn.Close(p.Now, frame.ErrCodeInternal, "shutting down")
		stateDrain(p)
		term := stateTerminalOnce(t, "server", p.Events, 1, 3)
		for _, id := range []uint32{1, 3} {
			stateWantReset(t, term[id], frame.ErrCodeCancel, true, false)
		}
		for _, e := range p.Events {
			if e.StreamID == 5 || e.StreamID == 7 {
				t.Errorf("pending stream %d, never surfaced, got %v", e.StreamID, e.Kind)
			}
		}
		var ce *core.ConnError
		if !errors.As(p.Conn.Err(), &ce) || ce.Code != frame.ErrCodeInternal {
			t.Errorf("Err() = %v, want *ConnError INTERNAL_ERROR", p.Conn.Err())
		}
		p.Invariants()
	})

	t.Run("Close_with_error_resets_live_server_streams_with_that_code", func(t *testing.T) {
		p := stateNewPeer(t, core.RoleServer, core.Config{})
		p.WriteFrames(statePostHeaders(p.FB, 1), p.FB.GET(3, "/"))
		p.Conn.Close(p.Now, frame.ErrCodeInternal, "oops")
		stateDrain(p)
		term := stateTerminalOnce(t, "server", p.Events, 1, 3)
		for _, id := range []uint32{1, 3} {
			stateWantReset(t, term[id], frame.ErrCodeInternal, false, false)
			var ce *core.ConnError
			if !errors.As(term[id].Err, &ce) || ce.Code != frame.ErrCodeInternal {
				t.Errorf("stream %d: Err %v, want the connection's *ConnError", id, term[id].Err)
			}
		}
		p.Invariants()
	})

	t.Run("protocol_error_ends_every_stream", func(t *testing.T) {
		p := stateNewPeer(t, core.RoleServer, core.Config{})
		p.WriteFrames(statePostHeaders(p.FB, 1), p.FB.GET(3, "/"), p.FB.Data(0, true, []byte("x")))
		frames := stateDrain(p)
		if len(frames) != 1 || frames[0].Type != frame.TypeGoAway || frames[0].ErrCode != frame.ErrCodeProtocol {
			t.Fatalf("frames %v, want only GOAWAY(PROTOCOL_ERROR) (RFC 9113 §6.1: DATA on stream 0)", stateFrameNames(frames))
		}
		if frames[0].LastStreamID != 3 {
			t.Errorf("GOAWAY last-stream-id %d, want 3", frames[0].LastStreamID)
		}
		term := stateTerminalOnce(t, "server", p.Events, 1, 3)
		for _, id := range []uint32{1, 3} {
			stateWantReset(t, term[id], frame.ErrCodeProtocol, false, false)
			if term[id].Err == nil {
				t.Errorf("stream %d: terminal event without the connection's Err", id)
			}
		}
		p.Invariants()
	})

	t.Run("transport_closed_is_ErrConnectionLost", func(t *testing.T) {
		p := stateNewPeer(t, core.RoleClient, core.Config{})
		for range 2 {
			if _, err := p.Conn.OpenStream(statePOST, core.StreamOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		stateDrain(p)
		p.Conn.HandleTransportClosed(p.Now, nil)
		if frames := stateDrain(p); len(frames) != 0 {
			t.Errorf("sent %v after the transport closed", stateFrameNames(frames))
		}
		term := stateTerminalOnce(t, "client", p.Events, 1, 3)
		for _, id := range []uint32{1, 3} {
			if term[id].Kind != core.EventStreamReset || !errors.Is(term[id].Err, core.ErrConnectionLost) {
				t.Errorf("stream %d: %v err %v, want EventStreamReset with ErrConnectionLost", id, term[id].Kind, term[id].Err)
			}
		}
		last := p.Events[len(p.Events)-1]
		if last.Kind != core.EventClosed || !errors.Is(last.Err, core.ErrConnectionLost) || !errors.Is(p.Conn.Err(), core.ErrConnectionLost) {
			t.Errorf("last event %v err %v, Conn.Err %v; want EventClosed with ErrConnectionLost", last.Kind, last.Err, p.Conn.Err())
		}
		if p.Conn.Phase() != core.PhaseClosed {
			t.Errorf("phase %v, want closed", p.Conn.Phase())
		}
		p.Invariants()
	})
}

// ---------------------------------------------------------------------------
// Held streams (DESIGN §5, core/doc.go, Conn.ReleaseStream).

// stateHoldReset makes the peer open stream id and reset it: the server
// application still holds it (DESIGN §5) but it is no longer active, so it
// fills a slot without counting against SETTINGS_MAX_CONCURRENT_STREAMS.
func stateHoldReset(p *coretest.TestPeer, id uint32) {
	p.T.Helper()
	p.WriteFrames(statePostHeaders(p.FB, id), p.FB.RST(id, frame.ErrCodeCancel))
	stateWantEv(p, "request", core.EventRequest, id)
	stateWantEv(p, "peer reset", core.EventStreamReset, id)
}

// TestStateHeldPeerResetStaysHeldUntilRelease: a server stream reset by the
// peer stays counted until ReleaseStream; releasing a closed stream sends
// nothing (RFC 9113 §5.1: no frames other than PRIORITY on a closed stream).
func TestStateHeldPeerResetStaysHeldUntilRelease(t *testing.T) {
	p := stateNewPeer(t, core.RoleServer, core.Config{})
	c := p.Conn
	p.WriteFrames(statePostHeaders(p.FB, 1))
	stateWantEv(p, "request", core.EventRequest, 1)
	stateHeld(t, c, "surfaced", 1, 0)
	p.WriteFrames(p.FB.RST(1, frame.ErrCodeCancel))
	stateWantReset(t, stateWantEv(p, "peer reset", core.EventStreamReset, 1), frame.ErrCodeCancel, true, false)
	stateWantState(t, c, 1, core.StateClosed, "reset by the peer")
	stateHeld(t, c, "DESIGN §5: a stream reset by the peer stays held", 1, 0)
	if l, r := c.ActiveStreams(); l != 0 || r != 0 {
		t.Fatalf("ActiveStreams() = (%d, %d), want (0, 0): a closed stream is not active", l, r)
	}
	p.Invariants()
	if err := c.ReleaseStream(1); err != nil {
		t.Fatal(err)
	}
	stateWantQuiet(p, "releasing a closed stream sends nothing and reports nothing")
	stateHeld(t, c, "released", 0, 0)
	stateWantState(t, c, 1, core.StateClosed, "still closed")
	if err := c.ReleaseStream(1); err != nil {
		t.Fatalf("second ReleaseStream = %v, want a no-op", err)
	}
	stateWantQuiet(p, "second release")
	p.Invariants()
}

// TestStateHeldStreamErrorStaysHeldUntilRelease: a stream error the peer
// provoked resets the stream (RST_STREAM from us, EventStreamReset with
// Remote=false), yet only "a normal end or the application's own
// ResetStream" releases a server stream (core/doc.go): it stays held until
// ReleaseStream, so provoked resets (MadeYouReset) cannot start more work
// than the limit either.
func TestStateHeldStreamErrorStaysHeldUntilRelease(t *testing.T) {
	p := stateNewPeer(t, core.RoleServer, core.Config{MaxConcurrentStreams: 1})
	c := p.Conn
	p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, coretest.Request("POST", "/", "content-length", "1")...))
	stateWantEv(p, "request", core.EventRequest, 1)
	p.WriteFrames(p.FB.Data(1, true, []byte("too long")))
	p.WantRST("RFC 9113 §8.1.1: content-length mismatch", 1, frame.ErrCodeProtocol)
	stateWantReset(t, stateWantEv(p, "stream error", core.EventStreamReset, 1), frame.ErrCodeProtocol, false, false)
	stateHeld(t, c, "a provoked reset does not release the application's hold", 1, 0)
	p.WriteFrames(p.FB.GET(3, "/"))
	stateWantQuiet(p, "3 waits for the application")
	stateHeld(t, c, "3 pending", 1, 1)
	if err := c.ReleaseStream(1); err != nil {
		t.Fatal(err)
	}
	p.WantIdle("no second RST_STREAM for 1")
	stateWantEv(p, "released: 3 surfaced", core.EventRequest, 3)
	stateHeld(t, c, "3 held", 1, 0)
	p.Invariants()
}

// TestStateHeldLimitQueuesAndReplaysInOrder: with MaxConcurrentStreams held
// streams, the next request waits; released, it is surfaced with the DATA and
// trailers that arrived meanwhile, in order.
func TestStateHeldLimitQueuesAndReplaysInOrder(t *testing.T) {
	p := stateNewPeer(t, core.RoleServer, core.Config{MaxConcurrentStreams: 2})
	c := p.Conn
	for _, id := range []uint32{1, 3} {
		p.WriteFrames(statePostHeaders(p.FB, id), p.FB.RST(id, frame.ErrCodeCancel))
		stateWantEv(p, "request", core.EventRequest, id)
		stateWantEv(p, "peer reset", core.EventStreamReset, id)
	}
	stateHeld(t, c, "two peer-reset streams held", 2, 0)
	p.WriteFrames(p.FB.Headers(5, coretest.EndHeaders, coretest.Request("POST", "/upload", "x-req", "5")...),
		p.FB.Data(5, false, []byte("ab")), p.FB.Data(5, false, []byte("cd")),
		p.FB.Headers(5, coretest.EndStream|coretest.EndHeaders, "x-trailer", "t"))
	stateWantQuiet(p, "DESIGN §5: stream 5 waits; not refused (only 0 streams are active) and not surfaced")
	stateHeld(t, c, "5 pending", 2, 1)
	stateWantState(t, c, 5, core.StateHalfClosedRemote, "pending stream follows RFC 9113 §5.1 meanwhile")
	if err := c.ReleaseStream(1); err != nil {
		t.Fatal(err)
	}
	p.WantIdle("no frame on release of a closed stream")
	req := stateWantEv(p, "surfaced on release", core.EventRequest, 5)
	if req.EndStream || req.Header(":path") != "/upload" || req.Header("x-req") != "5" {
		t.Fatalf("replayed request EndStream=%v headers %v", req.EndStream, req.Headers)
	}
	var body []byte
	for len(p.Events) > 0 && p.Events[0].Kind == core.EventData {
		e := stateWantEv(p, "replayed DATA", core.EventData, 5)
		if e.EndStream {
			t.Fatal("replayed DATA has EndStream although trailers follow")
		}
		body = append(body, e.Data...)
	}
	if string(body) != "abcd" {
		t.Fatalf("replayed body %q, want \"abcd\" in order", body)
	}
	tr := stateWantEv(p, "replayed trailers", core.EventTrailers, 5)
	if !tr.EndStream || tr.Header("x-trailer") != "t" {
		t.Fatalf("replayed trailers EndStream=%v headers %v", tr.EndStream, tr.Headers)
	}
	p.WantNoEvent("nothing else")
	stateHeld(t, c, "5 now held in 1's place", 2, 0)
	if err := c.Respond(5, 200, nil, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	p.WantHeaders("response to the replayed stream", 5)
	p.WantFrame("body", frame.TypeData, coretest.OnStream(5), coretest.WithFlags(frame.FlagDataEndStream), coretest.WithData("ok"))
	stateWantEv(p, "stream 5 done", core.EventStreamClosed, 5)
	stateHeld(t, c, "normal end releases", 1, 0)
	p.Invariants()
}

// TestStateHeldPendingResetByPeerIsDroppedSilently: a stream waiting to be
// surfaced and reset by the peer never produces any event, not even after a
// slot frees.
func TestStateHeldPendingResetByPeerIsDroppedSilently(t *testing.T) {
	p := stateNewPeer(t, core.RoleServer, core.Config{MaxConcurrentStreams: 1})
	c := p.Conn
	p.WriteFrames(statePostHeaders(p.FB, 1), p.FB.RST(1, frame.ErrCodeCancel))
	stateWantEv(p, "request", core.EventRequest, 1)
	stateWantEv(p, "peer reset", core.EventStreamReset, 1)
	p.WriteFrames(statePostHeaders(p.FB, 3), p.FB.Data(3, false, []byte("x")))
	stateHeld(t, c, "3 pending", 1, 1)
	p.WriteFrames(p.FB.RST(3, frame.ErrCodeCancel))
	stateWantQuiet(p, "a pending stream reset by the peer reports nothing")
	stateHeld(t, c, "3 dropped", 1, 0)
	stateWantState(t, c, 3, core.StateClosed, "reset")
	if err := c.ReleaseStream(1); err != nil {
		t.Fatal(err)
	}
	stateWantQuiet(p, "releasing the slot surfaces nothing: 3 is gone")
	stateHeld(t, c, "all released", 0, 0)
	p.WriteFrames(p.FB.GET(5, "/"))
	stateWantEv(p, "a new request surfaces at once", core.EventRequest, 5)
	for _, e := range p.Events {
		if e.StreamID == 3 {
			t.Fatalf("stream 3 got %v", e.Kind)
		}
	}
	p.Invariants()
}

// TestStateHeldPendingStreamErrorIsDroppedSilently: a stream error on a
// stream waiting to be surfaced resets it with the RFC's code, as on any
// stream (RFC 9113 §5.4.2), but the application never knew the stream, so
// no event follows (core/doc.go: the terminal event is owed only to streams
// the application knows), it takes no slot, and it never surfaces. The
// trailers case is what the rapid properties met: trailers the client's
// SendTrailers accepted before the server lowered
// SETTINGS_MAX_HEADER_LIST_SIZE, encoded only once the content before them
// could go, reached the server while the stream waited (RFC 9113 §10.5.1:
// the setting is advisory, and a larger field section may be refused).
func TestStateHeldPendingStreamErrorIsDroppedSilently(t *testing.T) {
	for _, tc := range []struct {
		name string
		late func(fb *coretest.FrameBuilder) []byte // what the peer sends on pending stream 3
		code frame.ErrCode
	}{
		{"RFC9113_10.5.1_trailers_over_max_header_list_size", func(fb *coretest.FrameBuilder) []byte {
			return fb.Headers(3, coretest.EndHeaders|coretest.EndStream, "x-e", strings.Repeat("h", 400))
		}, frame.ErrCodeCancel},
		{"RFC9113_8.1.1_content_length_mismatch", func(fb *coretest.FrameBuilder) []byte {
			return fb.Data(3, true, []byte("too long"))
		}, frame.ErrCodeProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := stateNewPeer(t, core.RoleServer, core.Config{MaxConcurrentStreams: 1, MaxHeaderListSize: 400})
			c := p.Conn
			stateHoldReset(p, 1)
			p.WriteFrames(p.FB.Headers(3, coretest.EndHeaders, ":method", "POST", ":scheme", "https",
				":path", "/", "content-length", "1"), p.FB.Data(3, false, []byte("x")))
			stateWantQuiet(p, "3 waits for a slot")
			stateHeld(t, c, "3 pending", 1, 1)
			p.WriteFrames(tc.late(p.FB))
			p.WantRST("the stream error is answered", 3, tc.code)
			stateWantQuiet(p, "the application never knew stream 3: no event")
			stateHeld(t, c, "3 dropped", 1, 0)
			stateWantState(t, c, 3, core.StateClosed, "reset")
			if err := c.ReleaseStream(1); err != nil {
				t.Fatal(err)
			}
			stateWantQuiet(p, "releasing the slot surfaces nothing: 3 is gone")
			stateHeld(t, c, "all released", 0, 0)
			p.WriteFrames(p.FB.GET(5, "/"))
			stateWantEv(p, "a new request surfaces at once", core.EventRequest, 5)
			p.WantNoEvent("nothing about stream 3")
			p.Invariants()
		})
	}
}

// TestStateReleaseStreamFinishesOpenStreams: ReleaseStream on a stream still
// open sends RST_STREAM(NO_ERROR) after a complete response (RFC 9113 §8.1)
// and RST_STREAM(CANCEL) before one; it reports no further event, frees the
// slot, and late frames on the stream are discarded.
func TestStateReleaseStreamFinishesOpenStreams(t *testing.T) {
	for _, tc := range []struct {
		name    string
		get     bool // request without content: half-closed (remote)
		respond func(c *core.Conn) error
		state   core.StreamState
		code    frame.ErrCode
	}{
		{"half_closed_local_after_complete_response_sends_RST_NO_ERROR", false,
			func(c *core.Conn) error { return c.Respond(1, 200, nil, nil) }, core.StateHalfClosedLocal, frame.ErrCodeNo},
		{"open_with_nothing_queued_sends_RST_CANCEL", false, nil, core.StateOpen, frame.ErrCodeCancel},
		{"open_after_response_headers_only_sends_RST_CANCEL", false,
			func(c *core.Conn) error { return c.SendHeaders(1, stateStatus200, false) }, core.StateOpen, frame.ErrCodeCancel},
		{"half_closed_remote_with_nothing_queued_sends_RST_CANCEL", true, nil, core.StateHalfClosedRemote, frame.ErrCodeCancel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := stateNewPeer(t, core.RoleServer, core.Config{MaxConcurrentStreams: 2})
			c := p.Conn
			if tc.get {
				p.WriteFrames(p.FB.GET(1, "/"))
			} else {
				p.WriteFrames(statePostHeaders(p.FB, 1))
			}
			stateWantEv(p, "request", core.EventRequest, 1)
			if tc.respond != nil {
				if err := tc.respond(c); err != nil {
					t.Fatal(err)
				}
				p.WantHeaders("response", 1)
			}
			stateWantState(t, c, 1, tc.state, "before release")
			stateHoldReset(p, 3)
			p.WriteFrames(p.FB.GET(5, "/"))
			stateHeld(t, c, "5 waits for a slot", 2, 1)
			if err := c.ReleaseStream(1); err != nil {
				t.Fatal(err)
			}
			p.WantRST("ReleaseStream finishes the stream off", 1, tc.code)
			stateWantState(t, c, 1, core.StateClosed, "released")
			stateWantEv(p, "slot freed: 5 surfaced", core.EventRequest, 5)
			p.WantNoEvent("ReleaseStream: no more events are reported for 1")
			stateHeld(t, c, "3 and 5 held", 2, 0)
			if !tc.get {
				p.WriteFrames(p.FB.Data(1, true, []byte("late")))
				stateWantQuiet(p, "DATA in flight after our RST_STREAM is discarded")
			}
			p.Invariants()
		})
	}
}

// TestStateReleaseStreamWithQueuedResponseReportsNothingMore: ReleaseStream
// on an open stream whose response is queued lets the response go out, and
// per its doc "no more events are reported" for the stream — including the
// rest of the request body.
func TestStateReleaseStreamWithQueuedResponseReportsNothingMore(t *testing.T) {
	for _, tc := range []struct {
		name string
		get  bool
	}{{"request_complete", true}, {"request_body_still_arriving", false}} {
		t.Run(tc.name, func(t *testing.T) {
			p := stateNewPeer(t, core.RoleServer, core.Config{})
			c := p.Conn
			if tc.get {
				p.WriteFrames(p.FB.GET(1, "/"))
			} else {
				p.WriteFrames(statePostHeaders(p.FB, 1))
			}
			stateWantEv(p, "request", core.EventRequest, 1)
			if err := c.Respond(1, 200, nil, []byte("hello")); err != nil {
				t.Fatal(err)
			}
			if err := c.ReleaseStream(1); err != nil {
				t.Fatal(err)
			}
			stateHeld(t, c, "released at once", 0, 0)
			p.WantHeaders("the queued response is still sent", 1)
			p.WantFrame("the queued body is still sent", frame.TypeData, coretest.OnStream(1),
				coretest.WithFlags(frame.FlagDataEndStream), coretest.WithData("hello"))
			if !tc.get {
				// RFC 9113 §8.1: a complete response to a request still
				// arriving is followed by RST_STREAM(NO_ERROR).
				p.WantRST("the request side is finished off once the response is sent", 1, frame.ErrCodeNo)
			}
			stateWantState(t, c, 1, core.StateClosed, "response done")
			if !tc.get {
				p.WriteFrames(p.FB.Data(1, false, []byte("more")), p.FB.Headers(1, coretest.EndStream|coretest.EndHeaders, "x-trailer", "t"))
				stateWantQuiet(p, "frames in flight after our RST_STREAM are discarded")
			}
			p.WantIdle("nothing more on the wire")
			for _, e := range p.Events {
				t.Errorf("event %v on stream %d after ReleaseStream; its doc says no more events are reported", e.Kind, e.StreamID)
			}
			p.Invariants()
		})
	}
}

// TestStateReleaseStreamEndHeldByFlowControl: a server releases a stream
// whose response is queued behind the client's stream window while the
// request is still open. The response is sent as the window opens, and its
// END_STREAM is followed by RST_STREAM(NO_ERROR) (RFC 9113 §8.1), so the
// client stops sending a request nobody reads. (Found by interop/grpc: the
// END_STREAM left the stream half-closed for good.)
func TestStateReleaseStreamEndHeldByFlowControl(t *testing.T) {
	p := stateNewPeer(t, core.RoleServer, core.Config{})
	c := p.Conn
	p.WriteFrames(p.FB.Settings(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 10}))
	stateWantEv(p, "client settings", core.EventSettings, 0)
	p.WantFrame("SETTINGS ack", frame.TypeSettings, coretest.WithFlags(frame.FlagSettingsAck))
	p.WriteFrames(statePostHeaders(p.FB, 1))
	stateWantEv(p, "request", core.EventRequest, 1)
	if err := c.Respond(1, 200, nil, []byte("0123456789abcdef")); err != nil {
		t.Fatal(err)
	}
	if err := c.ReleaseStream(1); err != nil {
		t.Fatal(err)
	}
	p.WantHeaders("response", 1)
	p.WantFrame("first 10 bytes: the stream window", frame.TypeData, coretest.OnStream(1), coretest.WithData("0123456789"))
	stateWantState(t, c, 1, core.StateOpen, "END_STREAM waits for window")
	p.WantIdle("no RST_STREAM before the response is complete")
	p.WriteFrames(p.FB.WindowUpdate(1, 100))
	p.WantFrame("the rest, ending the response", frame.TypeData, coretest.OnStream(1),
		coretest.WithFlags(frame.FlagDataEndStream), coretest.WithData("abcdef"))
	p.WantRST("then the request side is finished off", 1, frame.ErrCodeNo)
	stateWantState(t, c, 1, core.StateClosed, "closed")
	p.WriteFrames(p.FB.Data(1, true, []byte("late")))
	stateWantQuiet(p, "request DATA in flight after the RST_STREAM is discarded")
	for _, e := range p.Events {
		t.Errorf("event %v on stream %d after ReleaseStream", e.Kind, e.StreamID)
	}
	p.Invariants()
}

// TestStateResetStreamReleases: ResetStream on a held server stream releases
// its slot, whether the stream is open (RST_STREAM sent, terminal event) or
// was already reset by the peer (nothing sent, no second terminal event).
func TestStateResetStreamReleases(t *testing.T) {
	for _, tc := range []struct {
		name      string
		peerReset bool
	}{{"open_stream", false}, {"stream_reset_by_peer", true}} {
		t.Run(tc.name, func(t *testing.T) {
			p := stateNewPeer(t, core.RoleServer, core.Config{MaxConcurrentStreams: 2})
			c := p.Conn
			p.WriteFrames(statePostHeaders(p.FB, 1))
			stateWantEv(p, "request", core.EventRequest, 1)
			if tc.peerReset {
				p.WriteFrames(p.FB.RST(1, frame.ErrCodeCancel))
				stateWantEv(p, "peer reset", core.EventStreamReset, 1)
			}
			stateHoldReset(p, 3)
			p.WriteFrames(p.FB.GET(5, "/"))
			stateHeld(t, c, "5 waits", 2, 1)
			if err := c.ResetStream(1, frame.ErrCodeCancel); err != nil {
				t.Fatal(err)
			}
			if tc.peerReset {
				p.WantIdle("no RST_STREAM on a closed stream (RFC 9113 §5.1)")
			} else {
				p.WantRST("our reset", 1, frame.ErrCodeCancel)
				stateWantReset(t, stateWantEv(p, "terminal event of our reset", core.EventStreamReset, 1), frame.ErrCodeCancel, false, false)
			}
			stateWantEv(p, "ResetStream released the slot: 5 surfaced", core.EventRequest, 5)
			p.WantNoEvent("nothing else")
			stateHeld(t, c, "3 and 5 held", 2, 0)
			p.Invariants()
		})
	}
}
