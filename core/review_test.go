package core_test

// Tests written during a code review of package core. Each one asserts the
// behaviour the RFC or the package's own documentation requires; those that
// fail document bugs in the core (see the review report).

import (
	"fmt"
	"strings"
	"testing"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

var reviewGET = []core.HeaderField{
	{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
	{Name: ":authority", Value: "example.com"}, {Name: ":path", Value: "/"},
}

// reviewNoPanic runs f and turns a panic into a test failure that says which
// rule broke, so that one bug does not take the whole test binary down.
func reviewNoPanic(t *testing.T, why string, f func()) (panicked bool) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			panicked = true
			t.Errorf("%s: the core panicked on peer input: %v (doc.go: \"Bad input from the peer never panics\")", why, r)
		}
	}()
	f()
	return false
}

// reviewClient returns a client TestPeer after the handshake, with stream 1
// opened (GET, END_STREAM) and its HEADERS consumed.
func reviewClient(t *testing.T, cfg core.Config, opts core.StreamOptions) *coretest.TestPeer {
	t.Helper()
	p := coretest.NewClientPeer(t, cfg)
	p.Handshake()
	id, err := p.Conn.OpenStream(reviewGET, opts)
	if err != nil || id != 1 {
		t.Fatalf("OpenStream: id %d, err %v", id, err)
	}
	p.WantHeaders("the request", 1)
	return p
}

// reviewEventsFor returns the events in evs about stream id.
func reviewEventsFor(evs []core.Event, id uint32) []core.Event {
	var out []core.Event
	for _, e := range evs {
		switch e.Kind {
		case core.EventGoAway, core.EventAbuse, core.EventClosed, core.EventSettings,
			core.EventSettingsAck, core.EventConnected, core.EventPingAck:
			continue
		}
		if e.StreamID == id {
			out = append(out, e)
		}
	}
	return out
}

func reviewKinds(evs []core.Event) string {
	s := make([]string, len(evs))
	for i, e := range evs {
		s[i] = fmt.Sprintf("%v(%d)", e.Kind, e.StreamID)
	}
	return strings.Join(s, " ")
}

// reviewOneTerminal checks the EventKind contract: exactly one terminal event
// for stream id, and no event for it after that one.
func reviewOneTerminal(t *testing.T, why string, evs []core.Event, id uint32) {
	t.Helper()
	mine := reviewEventsFor(evs, id)
	terminal := -1
	for i, e := range mine {
		if e.Kind == core.EventStreamClosed || e.Kind == core.EventStreamReset {
			if terminal >= 0 {
				t.Errorf("%s: stream %d got a second terminal event: %s", why, id, reviewKinds(mine))
				return
			}
			terminal = i
		}
	}
	switch {
	case terminal < 0:
		t.Errorf("%s: stream %d got no terminal event (event.go: every stream the application knows gets exactly one): %s",
			why, id, reviewKinds(evs))
	case terminal != len(mine)-1:
		t.Errorf("%s: stream %d got events after its terminal event: %s", why, id, reviewKinds(mine))
	}
}

// A field block is classified when its HEADERS frame arrives and acted on at
// END_HEADERS. Between the two, across Receive calls, the application may
// reset or release the stream; the CONTINUATION that ends the block must not
// then dereference the forgotten stream record. The block must still be
// decoded (HPACK state is connection-wide, RFC 9113 §4.3) and ignored.
func TestReviewAppResetDuringFieldBlockDoesNotPanic(t *testing.T) {
	cases := []struct {
		name   string
		server bool
		act    func(c *core.Conn) error
	}{
		{"client_ResetStream_between_response_HEADERS_and_CONTINUATION", false,
			func(c *core.Conn) error { return c.ResetStream(1, frame.ErrCodeCancel) }},
		{"server_ResetStream_between_trailer_HEADERS_and_CONTINUATION", true,
			func(c *core.Conn) error { return c.ResetStream(1, frame.ErrCodeCancel) }},
		{"server_ReleaseStream_between_trailer_HEADERS_and_CONTINUATION", true,
			func(c *core.Conn) error { return c.ReleaseStream(1) }},
		{"server_ResetStream_between_self_dependent_HEADERS_and_CONTINUATION", true,
			func(c *core.Conn) error { return c.ResetStream(1, frame.ErrCodeCancel) }},
	}
	for _, tc := range cases {
		t.Run("RFC9113_4.3_"+tc.name, func(t *testing.T) {
			var p *coretest.TestPeer
			var block []byte
			if tc.server {
				p = coretest.NewServerPeer(t, core.Config{})
				p.Handshake()
				p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, coretest.Request("POST", "/")...))
				p.WantEvent("the request", core.EventRequest)
				block = p.FB.Block("x-trailer-one", "1", "x-trailer-two", "2")
			} else {
				p = reviewClient(t, core.Config{}, core.StreamOptions{EndStream: true})
				block = p.FB.Block(coretest.Response("200", "x-one", "1", "x-two", "2")...)
			}
			// HEADERS without END_HEADERS: the block stays open across inputs.
			if strings.Contains(tc.name, "self_dependent") {
				// A stream error decided at HEADERS, raised at END_HEADERS.
				p.WriteFrames(frame.AppendHeaders(nil, frame.HeadersParam{StreamID: 1, Fragment: block[:2],
					EndStream: true, HasPriority: true, Priority: frame.Priority{StreamDep: 1}}))
			} else {
				p.WriteFrames(p.FB.HeadersBlock(1, coretest.EndStream, block[:2]))
			}
			if err := tc.act(p.Conn); err != nil {
				t.Fatalf("command: %v", err)
			}
			p.WantRST("the application's RST_STREAM", 1, frame.ErrCodeCancel)
			if reviewNoPanic(t, "CONTINUATION ending the block of a stream the application gave up", func() {
				p.WriteFrames(p.FB.Continuation(1, true, block[2:]))
			}) {
				return
			}
			if p.Conn.Err() != nil {
				t.Fatalf("connection failed: %v", p.Conn.Err())
			}
			// RFC 9113 §5.1 "closed": no second RST_STREAM on the stream we reset.
			p.WantIdle("the rest of the block is ignored")
			for _, e := range reviewEventsFor(p.Events, 1) {
				if e.Kind == core.EventResponse || e.Kind == core.EventTrailers {
					t.Errorf("event %v for stream 1 after the application reset it", e.Kind)
				}
			}
			p.Invariants()
		})
	}
}

// RFC 9113 §8.1: a response starts with a HEADERS frame carrying :status
// (§8.3.2: "all HTTP/2 responses MUST include exactly one :status"). A DATA
// frame with END_STREAM before any final response ends a response that has
// no status: a malformed response, which §8.1.1 says MUST be a stream error
// of type PROTOCOL_ERROR. The core rejects such DATA only when it carries
// bytes; an empty one closes the stream normally, so the application sees a
// successful EventStreamClosed for a request that got no response.
func TestReviewClientEmptyDataBeforeResponseIsMalformed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before func(p *coretest.TestPeer)
	}{
		{"RFC9113_8.1.1_empty_DATA_END_STREAM_before_HEADERS_is_stream_PROTOCOL_ERROR", func(*coretest.TestPeer) {}},
		{"RFC9113_8.1.1_empty_DATA_END_STREAM_after_only_1xx_is_stream_PROTOCOL_ERROR", func(p *coretest.TestPeer) {
			p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, coretest.Response("103")...))
			p.WantEvent("the 103", core.EventInformational)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := reviewClient(t, core.Config{}, core.StreamOptions{EndStream: true})
			tc.before(p)
			p.WriteFrames(p.FB.Data(1, true, nil))
			for _, e := range reviewEventsFor(p.Events, 1) {
				if e.Kind == core.EventStreamClosed {
					t.Fatalf("stream 1 closed normally without a final response: events %s", reviewKinds(p.Events))
				}
			}
			p.WantRST("malformed response", 1, frame.ErrCodeProtocol)
			p.SkipEvents(core.EventData)
			e := p.WantEvent("stream 1 reset", core.EventStreamReset)
			if e.StreamID != 1 || e.Code != frame.ErrCodeProtocol || e.Remote {
				t.Errorf("reset event: stream %d code %v remote %v, want 1 PROTOCOL_ERROR local", e.StreamID, e.Code, e.Remote)
			}
			p.Invariants()
		})
	}
}

// closeStream marks the stream closed, then returns its unconsumed bytes to
// the connection window. If that WINDOW_UPDATE pushes the control-frame
// queue over Limits.MaxQueuedControlFrames, the abuse close runs endStreams
// in the middle of closeStream: it finds the stream already closed, takes it
// for a held stream "whose terminal event is out", and forgets it. The
// stream never gets its terminal event.
func TestReviewTerminalEventSurvivesAbuseDuringClose(t *testing.T) {
	t.Run("event.go_manual_stream_reset_by_peer_while_control_queue_full_gets_terminal_event", func(t *testing.T) {
		cfg := core.Config{ConnectionWindowSize: 65535}
		p := reviewClient(t, cfg, core.StreamOptions{EndStream: true, ManualFlowControl: true})
		p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, coretest.Response("200")...),
			p.FB.Data(1, false, make([]byte, 16384)))
		p.WantEvent("the response", core.EventResponse)
		p.WantEvent("the data, not consumed", core.EventData)
		p.WantIdle("manual flow control: no WINDOW_UPDATE yet")

		// Fill the control queue to its limit without reading, then reset
		// the stream: its 16 KiB go back to the connection window.
		limit := core.DefaultConfig().Limits.MaxQueuedControlFrames
		var chunk [][]byte
		for i := 0; i < limit; i++ {
			chunk = append(chunk, p.FB.Ping(false, [8]byte{byte(i >> 8), byte(i)}))
		}
		chunk = append(chunk, p.FB.RST(1, frame.ErrCodeCancel))
		p.WriteFrames(chunk...)
		reviewOneTerminal(t, "stream 1", p.Events, 1)
	})
}

// A pending server stream is replayed (EventRequest, EventData,
// EventTrailers) when a slot frees. Crediting the replayed data can fire an
// abuse close, which ends and recycles the stream; replay then carries on
// with the recycled record and emits its trailers — after the stream's
// terminal event, and with StreamID 0.
func TestReviewReplayEmitsNothingAfterTerminal(t *testing.T) {
	t.Run("event.go_no_event_after_terminal_when_replay_credit_fires_abuse", func(t *testing.T) {
		cfg := core.Config{MaxConcurrentStreams: 2, ConnectionWindowSize: 65535}
		p := coretest.NewServerPeer(t, cfg)
		p.Handshake()
		post := coretest.Request("POST", "/")
		p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, post...), p.FB.Headers(3, coretest.EndHeaders, post...))
		p.WantEvent("request 1", core.EventRequest)
		p.WantEvent("request 3", core.EventRequest)
		if err := p.Conn.SendHeaders(1, []core.HeaderField{{Name: ":status", Value: "204"}}, true); err != nil {
			t.Fatal(err)
		}
		p.WantHeaders("response 1", 1, coretest.WithFlags(frame.FlagHeadersEndStream))
		p.WriteFrames(p.FB.RST(3, frame.ErrCodeCancel)) // 3 stays held
		p.WantEvent("3 reset", core.EventStreamReset)
		// Stream 5 waits: two streams are held.
		p.WriteFrames(p.FB.Headers(5, coretest.EndHeaders, post...),
			p.FB.Data(5, false, make([]byte, 16384)),
			p.FB.Headers(5, coretest.EndStream|coretest.EndHeaders, "x-trailer", "1"))
		p.WantNoEvent("stream 5 is pending")
		p.WantIdle("nothing to send")
		if held, pending := p.Conn.HeldStreams(); held != 2 || pending != 1 {
			t.Fatalf("held %d pending %d, want 2 1", held, pending)
		}

		limit := core.DefaultConfig().Limits.MaxQueuedControlFrames
		var chunk [][]byte
		for i := 0; i < limit; i++ {
			chunk = append(chunk, p.FB.Ping(false, [8]byte{byte(i >> 8), byte(i)}))
		}
		// Stream 1 ends normally: its slot frees and stream 5 is replayed.
		chunk = append(chunk, p.FB.Data(1, true, nil))
		p.WriteFrames(chunk...)
		reviewOneTerminal(t, "stream 5", p.Events, 5)
		for _, e := range p.Events {
			if e.StreamID == 0 && (e.Kind == core.EventTrailers || e.Kind == core.EventData || e.Kind == core.EventRequest) {
				t.Errorf("stream event %v on stream 0 (a recycled record): events %s", e.Kind, reviewKinds(p.Events))
			}
		}
	})
}

// RFC 9113 §5.4.1: "After sending the GOAWAY frame for an error condition,
// the endpoint MUST close the TCP connection." When the stream's
// WINDOW_UPDATE fires the control-flood close in the middle of onData, the
// core goes on crediting the (now recycled) stream and queues a connection
// WINDOW_UPDATE after its GOAWAY.
func TestReviewNoFrameAfterErrorGoAway(t *testing.T) {
	t.Run("RFC9113_5.4.1_nothing_after_GOAWAY_ENHANCE_YOUR_CALM", func(t *testing.T) {
		cfg := core.Config{InitialWindowSize: 65535, ConnectionWindowSize: 65535}
		cfg.Limits.MaxQueuedControlFrames = 1
		p := coretest.NewServerPeer(t, cfg)
		p.Handshake()
		p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, coretest.Request("POST", "/")...))
		p.WantEvent("request", core.EventRequest)
		p.WantIdle("nothing queued")
		// One queued PING ACK reaches the limit; the DATA's stream
		// WINDOW_UPDATE passes it.
		p.WriteFrames(p.FB.Ping(false, [8]byte{1}), p.FB.Data(1, true, make([]byte, 16384)))
		// Queue limits are checked between frames: the frames the DATA
		// produced go out, then the GOAWAY, then nothing.
		p.WantFrame("PING ACK", frame.TypePing, coretest.IsAck)
		for {
			f, ok := p.NextFrame()
			if !ok {
				t.Fatal("no GOAWAY")
			}
			if f.Type == frame.TypeGoAway {
				if f.ErrCode != frame.ErrCodeEnhanceYourCalm || string(f.Data) != "control_frame_flood" {
					t.Fatalf("GOAWAY %v %q, want ENHANCE_YOUR_CALM control_frame_flood", f.ErrCode, f.Data)
				}
				break
			}
			if f.Type != frame.TypeWindowUpdate {
				t.Fatalf("before the GOAWAY: %v", f.String())
			}
		}
		if f, ok := p.NextFrame(); ok {
			t.Errorf("frame after the error GOAWAY: %v", f.String())
		}
	})
}

// Pending streams wait for a slot (held < MaxConcurrentStreams). Raising
// MaxConcurrentStreams with UpdateSettings frees slots, but nothing surfaces
// the waiting stream: it stays hidden until some other stream is released,
// and a newer request is announced before it.
func TestReviewPendingStreamSurfacesWhenLimitRaised(t *testing.T) {
	t.Run("DESIGN5_pending_stream_announced_when_UpdateSettings_raises_MaxConcurrentStreams", func(t *testing.T) {
		p := coretest.NewServerPeer(t, core.Config{MaxConcurrentStreams: 1})
		p.Handshake()
		post := coretest.Request("POST", "/")
		p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, post...))
		p.WantEvent("request 1", core.EventRequest)
		p.WriteFrames(p.FB.RST(1, frame.ErrCodeCancel))
		p.WantEvent("1 reset, still held", core.EventStreamReset)
		p.WriteFrames(p.FB.Headers(3, coretest.EndHeaders, post...))
		p.WantNoEvent("3 waits for a slot")

		if err := p.Conn.UpdateSettings(p.Now, []frame.Setting{{ID: frame.SettingMaxConcurrentStreams, Val: 2}}); err != nil {
			t.Fatal(err)
		}
		p.WantFrame("our SETTINGS", frame.TypeSettings)
		p.WriteFrames(p.FB.SettingsAck())
		p.WriteFrames(p.FB.Headers(5, coretest.EndHeaders, post...))
		var order []uint32
		for _, e := range p.Events {
			if e.Kind == core.EventRequest {
				order = append(order, e.StreamID)
			}
		}
		if len(order) == 0 || order[0] != 3 {
			t.Errorf("requests announced %v, want stream 3 first (it waited for a slot that UpdateSettings freed)", order)
		}
		p.Invariants()
	})
}

// Ping's doc: "Its ACK produces an EventPingAck". The core keeps two
// payloads for itself (keep-alive and the graceful GOAWAY PING) and
// swallows their ACKs, so a Ping with one of those payloads never completes
// and holds one of Limits.MaxPings forever.
func TestReviewPingAckForAnyPayload(t *testing.T) {
	t.Run("RFC9113_6.7_Ping_with_keepalive_like_payload_gets_EventPingAck", func(t *testing.T) {
		p := coretest.NewServerPeer(t, core.Config{})
		p.Handshake()
		data := [8]byte{'h', '2', 'p', 'k', 'e', 'e', 'p', 0}
		if err := p.Conn.Ping(p.Now, data); err != nil {
			t.Fatal(err)
		}
		p.WantFrame("our PING", frame.TypePing)
		p.WriteFrames(p.FB.Ping(true, data))
		p.WantEvent("the ACK of our Ping", core.EventPingAck)
	})
}

// Limits.Glitch charges "empty non-final DATA" (CVE-2019-9518). On a stream
// we reset, empty DATA frames are dropped without any charge — and each one
// costs a linear scan of the reset ring — so the flood the budget exists
// for is free on any stream reset within Timeouts.ResetGrace.
func TestReviewEmptyDataOnResetStreamIsCharged(t *testing.T) {
	t.Run("CVE-2019-9518_empty_DATA_flood_on_reset_stream_exhausts_glitch_budget", func(t *testing.T) {
		cfg := core.Config{}
		cfg.Limits.Glitch = core.Rate{Burst: 10, PerSecond: 1}
		p := coretest.NewServerPeer(t, cfg)
		p.Handshake()
		p.WriteFrames(p.FB.Headers(1, coretest.EndHeaders, coretest.Request("POST", "/")...))
		p.WantEvent("request", core.EventRequest)
		if err := p.Conn.ResetStream(1, frame.ErrCodeCancel); err != nil {
			t.Fatal(err)
		}
		p.WantRST("our reset", 1, frame.ErrCodeCancel)
		var chunk [][]byte
		for i := 0; i < 100; i++ {
			chunk = append(chunk, p.FB.Data(1, false, nil))
		}
		p.WriteFrames(chunk...)
		p.WantGoAway("glitch budget", frame.ErrCodeEnhanceYourCalm)
	})
}

// ReleaseStream: "a response already queued is still sent, but no more
// events are reported". A stream that hit ErrSendBufferFull keeps its
// blocked flag after a later SendData succeeds; once released, draining its
// buffer still emits EventWritable for it.
func TestReviewNoEventAfterReleaseStream(t *testing.T) {
	t.Run("ReleaseStream_no_EventWritable_for_released_stream", func(t *testing.T) {
		p := coretest.NewServerPeer(t, core.Config{})
		p.Handshake(frame.Setting{ID: frame.SettingInitialWindowSize, Val: 10000})
		p.WriteFrames(p.FB.GET(1, "/"))
		p.WantEvent("request", core.EventRequest)
		if err := p.Conn.SendHeaders(1, []core.HeaderField{{Name: ":status", Value: "200"}}, false); err != nil {
			t.Fatal(err)
		}
		n, err := p.Conn.SendData(1, make([]byte, 70000), false)
		if err != core.ErrSendBufferFull || n != 65536 {
			t.Fatalf("SendData: %d, %v; want 65536, ErrSendBufferFull", n, err)
		}
		p.WantHeaders("response", 1)
		for sent := 0; sent < 10000; {
			f := p.WantFrame("DATA up to the 10000-byte window", frame.TypeData, coretest.OnStream(1))
			sent += len(f.Data)
		}
		p.WantIdle("stream window shut")
		p.WantNoEvent("55536 bytes still buffered: above half the buffer")
		if n, err := p.Conn.SendData(1, make([]byte, 10000), true); n != 10000 || err != nil {
			t.Fatalf("SendData of the rest: %d, %v", n, err)
		}
		if err := p.Conn.ReleaseStream(1); err != nil {
			t.Fatal(err)
		}
		p.WriteFrames(p.FB.WindowUpdate(1, 33000), p.FB.WindowUpdate(0, 33000))
		for sent := 0; sent < 33000; {
			f := p.WantFrame("DATA of the released stream keeps flowing", frame.TypeData, coretest.OnStream(1))
			sent += len(f.Data)
		}
		for _, e := range reviewEventsFor(p.Events, 1) {
			t.Errorf("event %v for stream 1 after ReleaseStream", e.Kind)
		}
		p.Invariants()
	})
}

// coretest.Pair hands each Conn a chunk of its flight buffer and then, before
// polling the events, shifts the unconsumed rest of the buffer over the bytes
// just consumed. Events borrow the slice given to Receive (doc.go: valid
// "only while the caller leaves the slice it gave to Receive untouched"), so
// with MaxChunk set the Pair logs corrupted EventData.
func TestReviewPairKeepsBorrowedDataIntact(t *testing.T) {
	for _, chunk := range []int{0, 200, 1000} {
		t.Run(fmt.Sprintf("doc.go_borrowed_Data_valid_until_next_Receive/MaxChunk=%d", chunk), func(t *testing.T) {
			pair, err := coretest.NewPair(7, core.Config{}, core.Config{})
			if err != nil {
				t.Fatal(err)
			}
			pair.MaxChunk = chunk
			pair.Drive()
			body := func(id uint32) []byte {
				b := make([]byte, 50)
				for i := range b {
					b[i] = byte('a' + (int(id)+i)%26)
				}
				return b
			}
			var ids []uint32
			for i := 0; i < 8; i++ {
				id, err := pair.Client.OpenStream(reviewGET, core.StreamOptions{EndStream: true})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			pair.Drive()
			for _, e := range pair.Events(coretest.Server, core.EventRequest) {
				if err := pair.Server.Respond(e.StreamID, 200, nil, body(e.StreamID)); err != nil {
					t.Fatal(err)
				}
			}
			pair.Drive()
			got := map[uint32][]byte{}
			for _, e := range pair.Events(coretest.Client, core.EventData) {
				got[e.StreamID] = append(got[e.StreamID], e.Data...)
			}
			for _, id := range ids {
				if string(got[id]) != string(body(id)) {
					t.Errorf("stream %d: client logged body %q, server sent %q", id, got[id], body(id))
				}
			}
			if err := pair.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
