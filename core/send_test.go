package core_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// The sending API: SendData and its send buffers (Limits.StreamSendBuffer,
// Limits.ConnSendBuffer), EventWritable, Respond, SendTrailers, the
// round-robin DATA scheduler and the RFC 9113 §8.1.1 content rules on what
// we send. Helpers (flowPeer, flowServer, ...) are in flow_test.go.

var flowStatus200 = []core.HeaderField{{Name: ":status", Value: "200"}}

// flowSendHeaders sends a 200 without END_STREAM on each stream.
func (p *flowPeer) sendHeaders(ids ...uint32) {
	p.T.Helper()
	for _, id := range ids {
		if err := p.Conn.SendHeaders(id, flowStatus200, false); err != nil {
			p.T.Fatalf("SendHeaders(%d): %v", id, err)
		}
	}
}

// sendData calls SendData and checks what it accepted and returned.
func (p *flowPeer) sendData(why string, id uint32, n int, end bool, wantN int, wantErr error) {
	p.T.Helper()
	got, err := p.Conn.SendData(id, flowBytes(n), end)
	if got != wantN || !errors.Is(err, wantErr) {
		p.T.Fatalf("%s: SendData(%d, %d octets, end=%v) = %d, %v; want %d, %v", why, id, n, end, got, err, wantN, wantErr)
	}
}

func (p *flowPeer) wantWritable(why string, id uint32) {
	p.T.Helper()
	if e := p.WantEvent(why, core.EventWritable); e.StreamID != id {
		p.T.Fatalf("%s: EventWritable on stream %d, want %d", why, e.StreamID, id)
	}
}

func (p *flowPeer) wantClosed(why string, id uint32) {
	p.T.Helper()
	if e := p.WantEvent(why, core.EventStreamClosed); e.StreamID != id {
		p.T.Fatalf("%s: EventStreamClosed on stream %d, want %d", why, e.StreamID, id)
	}
}

// TestFlowSendBufferLimits: SendData copies what fits the per-stream and
// per-connection send buffers and reports ErrSendBufferFull for the rest
// (DESIGN §5: 64 KiB per stream, 1 MiB per connection, every limit tested
// one past).
func TestFlowSendBufferLimits(t *testing.T) {
	t.Run("Limits.StreamSendBuffer_exactly_full_is_accepted_one_past_is_ErrSendBufferFull", func(t *testing.T) {
		p := flowServer(t, core.Config{Limits: core.Limits{StreamSendBuffer: 1000}}, flowIWS(0))
		p.openGET(1)
		p.sendHeaders(1)
		p.sendData("fill the buffer", 1, 1000, false, 1000, nil)
		p.sendData("one past the cap", 1, 1, false, 0, core.ErrSendBufferFull)
		flowCheck(t, "Buffered(1)", int64(p.Conn.Buffered(1)), 1000)
		flowCheck(t, "Buffered(0)", int64(p.Conn.Buffered(0)), 1000)
		p.want("zero window: headers only", "HEADERS(1)")
		p.Invariants()
	})
	t.Run("Limits.StreamSendBuffer_partial_acceptance", func(t *testing.T) {
		p := flowServer(t, core.Config{Limits: core.Limits{StreamSendBuffer: 1000}}, flowIWS(0))
		p.openGET(1)
		p.sendHeaders(1)
		p.sendData("one write past the cap", 1, 1001, false, 1000, core.ErrSendBufferFull)
		p.sendData("after a partial write", 1, 600, false, 0, core.ErrSendBufferFull)
		flowCheck(t, "Buffered(1)", int64(p.Conn.Buffered(1)), 1000)
		p.Invariants()
	})
	t.Run("Limits.StreamSendBuffer_default_64KiB", func(t *testing.T) {
		p := flowServer(t, core.Config{}, flowIWS(0))
		p.openGET(1)
		p.sendHeaders(1)
		p.sendData("64 KiB + 1", 1, 64<<10+1, false, 64<<10, core.ErrSendBufferFull)
		p.Invariants()
	})
	t.Run("Limits.ConnSendBuffer_across_streams", func(t *testing.T) {
		p := flowServer(t, core.Config{Limits: core.Limits{StreamSendBuffer: 1000, ConnSendBuffer: 1500}}, flowIWS(0))
		p.openGET(1, 3, 5)
		p.sendHeaders(1, 3, 5)
		p.sendData("first stream", 1, 1000, false, 1000, nil)
		p.sendData("second stream: 500 left in the connection", 3, 1000, false, 500, core.ErrSendBufferFull)
		p.sendData("third stream: connection buffer full", 5, 1, false, 0, core.ErrSendBufferFull)
		flowCheck(t, "Buffered(0)", int64(p.Conn.Buffered(0)), 1500)
		flowCheck(t, "Buffered(3)", int64(p.Conn.Buffered(3)), 500)
		flowCheck(t, "Buffered(5)", int64(p.Conn.Buffered(5)), 0)
		p.Invariants()
	})
	t.Run("buffered_DATA_leaves_as_the_window_opens_and_frees_room", func(t *testing.T) {
		p := flowServer(t, core.Config{Limits: core.Limits{StreamSendBuffer: 1000}}, flowIWS(0))
		p.openGET(1)
		p.sendHeaders(1)
		p.sendData("fill", 1, 1000, false, 1000, nil)
		p.want("headers", "HEADERS(1)")
		p.WriteFrames(p.FB.WindowUpdate(1, 300))
		p.want("300 octets", "DATA(1,300)")
		p.sendData("room for 300", 1, 301, false, 300, core.ErrSendBufferFull)
		p.Invariants()
	})
}

// TestFlowSendWritable: a stream on which SendData returned
// ErrSendBufferFull gets one EventWritable once its buffer, and the
// connection's, drained to half their caps; streams that never hit a cap
// get none (core/event.go EventWritable, transmit.go flushWritable).
func TestFlowSendWritable(t *testing.T) {
	t.Run("stream_cap_EventWritable_at_half_once_only_for_the_blocked_stream", func(t *testing.T) {
		p := flowServer(t, core.Config{Limits: core.Limits{StreamSendBuffer: 1000}}, flowIWS(0))
		p.openGET(1, 3)
		p.sendHeaders(1, 3)
		p.sendData("blocked", 1, 1200, true, 1000, core.ErrSendBufferFull)
		p.sendData("not blocked", 3, 100, false, 100, nil)
		p.want("headers", "HEADERS(1)", "HEADERS(3)")
		p.WantNoEvent("nothing drained")
		p.WriteFrames(p.FB.WindowUpdate(1, 499))
		p.want("499 octets", "DATA(1,499)")
		p.WantNoEvent("501 buffered: above half of 1000")
		p.WriteFrames(p.FB.WindowUpdate(1, 1))
		p.want("1 octet", "DATA(1,1)")
		p.wantWritable("500 buffered: half", 1)
		p.WantNoEvent("one event")
		p.WriteFrames(p.FB.WindowUpdate(3, 100))
		p.want("stream 3 drains", "DATA(3,100)")
		p.WantNoEvent("stream 3 never hit the cap")
		p.WriteFrames(p.FB.WindowUpdate(1, 500))
		p.want("stream 1 drains", "DATA(1,500)")
		p.WantNoEvent("no second EventWritable without another ErrSendBufferFull")
		p.sendData("the rest", 1, 200, true, 200, nil)
		p.WriteFrames(p.FB.WindowUpdate(1, 200))
		p.want("the rest with END_STREAM", "DATA(1,200,ES)")
		p.wantClosed("response done", 1)
		p.Invariants()
	})
	t.Run("blocked_again_gets_another_EventWritable", func(t *testing.T) {
		p := flowServer(t, core.Config{Limits: core.Limits{StreamSendBuffer: 100}}, flowIWS(0))
		p.openGET(1)
		p.sendHeaders(1)
		for round := 0; round < 3; round++ {
			p.sendData(fmt.Sprintf("round %d: fill", round), 1, 150, false, 100, core.ErrSendBufferFull)
			p.WriteFrames(p.FB.WindowUpdate(1, 50))
			p.drain()
			p.wantWritable(fmt.Sprintf("round %d: drained to half", round), 1)
			p.WriteFrames(p.FB.WindowUpdate(1, 50))
			p.drain()
			p.WantNoEvent("empty buffer, already notified")
		}
		p.Invariants()
	})
	t.Run("connection_cap_EventWritable_for_the_stream_refused_by_the_connection_buffer", func(t *testing.T) {
		p := flowServer(t, core.Config{Limits: core.Limits{StreamSendBuffer: 1000, ConnSendBuffer: 1000}}, flowIWS(0))
		p.openGET(1, 3)
		p.sendHeaders(1, 3)
		p.sendData("fills the connection buffer", 1, 1000, false, 1000, nil)
		p.sendData("no room in the connection", 3, 10, false, 0, core.ErrSendBufferFull)
		p.want("headers", "HEADERS(1)", "HEADERS(3)")
		p.WriteFrames(p.FB.WindowUpdate(1, 499))
		p.want("499", "DATA(1,499)")
		p.WantNoEvent("connection buffer 501 > 500")
		p.WriteFrames(p.FB.WindowUpdate(1, 1))
		p.want("1", "DATA(1,1)")
		p.wantWritable("connection buffer at half", 3)
		p.WantNoEvent("stream 1 was never refused")
		p.sendData("room again", 3, 10, false, 10, nil)
		p.Invariants()
	})
}

// TestFlowSendPartialWriteIgnoresEndStream: when SendData takes only part
// of p it ignores endStream (send.go SendData doc): the stream stays open
// until the rest is written with endStream.
func TestFlowSendPartialWriteIgnoresEndStream(t *testing.T) {
	p := flowServer(t, core.Config{Limits: core.Limits{StreamSendBuffer: 100}}, flowIWS(0))
	p.openGET(1)
	p.sendHeaders(1)
	p.sendData("partial", 1, 150, true, 100, core.ErrSendBufferFull)
	p.WriteFrames(p.FB.WindowUpdate(1, 1000))
	p.want("no END_STREAM on the partial write", "HEADERS(1)", "DATA(1,100)")
	if s := p.Conn.StreamState(1); s != core.StateHalfClosedRemote {
		t.Fatalf("stream state %v, want half_closed_remote", s)
	}
	p.wantWritable("room again", 1)
	p.sendData("the rest", 1, 50, true, 50, nil)
	p.want("END_STREAM now", "DATA(1,50,ES)")
	p.wantClosed("done", 1)
	p.Invariants()
}

// TestFlowRespondOneTransmit: Respond queues HEADERS and DATA so that one
// PollTransmit returns both (DESIGN §3), adding content-length when the
// response may have content and the caller gave none.
func TestFlowRespondOneTransmit(t *testing.T) {
	cases := []struct {
		name    string
		method  string
		status  int
		headers []core.HeaderField
		body    int
		want    []string
		fields  string
	}{
		{"DESIGN_3_HEADERS_and_DATA_in_one_PollTransmit_with_content-length", "GET", 200,
			[]core.HeaderField{{Name: "content-type", Value: "text/plain"}}, 11,
			[]string{"HEADERS(1)", "DATA(1,11,ES)"}, ":status: 200\ncontent-type: text/plain\ncontent-length: 11"},
		{"RFC9110_8.6_caller's_content-length_is_not_duplicated", "GET", 200,
			[]core.HeaderField{{Name: "content-length", Value: "11"}}, 11,
			[]string{"HEADERS(1)", "DATA(1,11,ES)"}, ":status: 200\ncontent-length: 11"},
		{"body_of_several_frames_in_one_PollTransmit", "GET", 200, nil, 20000,
			[]string{"HEADERS(1)", "DATA(1,16384)", "DATA(1,3616,ES)"}, ":status: 200\ncontent-length: 20000"},
		{"empty_body_is_HEADERS_with_END_STREAM_and_content-length_0", "GET", 200, nil, 0,
			[]string{"HEADERS(1,ES)"}, ":status: 200\ncontent-length: 0"},
		{"RFC9110_8.6_204_has_no_content-length", "GET", 204, nil, 0,
			[]string{"HEADERS(1,ES)"}, ":status: 204"},
		{"RFC9110_8.6_304_has_no_content-length", "GET", 304, nil, 0,
			[]string{"HEADERS(1,ES)"}, ":status: 304"},
		{"RFC9110_9.3.2_HEAD_response_gets_no_content-length_0", "HEAD", 200, nil, 0,
			[]string{"HEADERS(1,ES)"}, ":status: 200"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := flowServer(t, core.Config{})
			p.WriteFrames(p.FB.Headers(1, coretest.EndStream|coretest.EndHeaders, coretest.Request(tc.method, "/")...))
			p.WantEvent("request", core.EventRequest)
			p.want("nothing queued before Respond")
			if err := p.Conn.Respond(1, tc.status, tc.headers, flowBytes(tc.body)); err != nil {
				t.Fatal(err)
			}
			fs := p.parse(p.Conn.PollTransmit(nil))
			if got := flowDescs(fs); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("one PollTransmit returned %v, want %v", got, tc.want)
			}
			if fs[0].Fields != tc.fields {
				t.Fatalf("response fields:\n%s\nwant:\n%s", fs[0].Fields, tc.fields)
			}
			if more := p.Conn.PollTransmit(nil); len(more) != 0 {
				t.Fatalf("a second PollTransmit returned %d more bytes", len(more))
			}
			p.wantClosed("response complete", 1)
			p.Invariants()
		})
	}
}

// TestFlowRespondAllOrNothing: Respond with a body that does not fit the
// send buffers returns ErrSendBufferFull and sends nothing, not even the
// HEADERS (send.go Respond doc).
func TestFlowRespondAllOrNothing(t *testing.T) {
	t.Run("Limits.StreamSendBuffer_one_past", func(t *testing.T) {
		p := flowServer(t, core.Config{Limits: core.Limits{StreamSendBuffer: 100}})
		p.openGET(1)
		if err := p.Conn.Respond(1, 200, nil, flowBytes(101)); !errors.Is(err, core.ErrSendBufferFull) {
			t.Fatalf("Respond(101 octets) = %v, want ErrSendBufferFull", err)
		}
		p.want("nothing sent")
		if s := p.Conn.StreamState(1); s != core.StateHalfClosedRemote {
			t.Fatalf("stream state %v, want half_closed_remote", s)
		}
		flowCheck(t, "Buffered(1)", int64(p.Conn.Buffered(1)), 0)
		if err := p.Conn.Respond(1, 200, nil, flowBytes(100)); err != nil {
			t.Fatalf("Respond(100 octets) = %v", err)
		}
		p.want("the whole response", "HEADERS(1)", "DATA(1,100,ES)")
		p.Invariants()
	})
	t.Run("Limits.ConnSendBuffer_one_past", func(t *testing.T) {
		p := flowServer(t, core.Config{Limits: core.Limits{StreamSendBuffer: 100, ConnSendBuffer: 150}}, flowIWS(0))
		p.openGET(1, 3)
		if err := p.Conn.Respond(1, 200, nil, flowBytes(100)); err != nil {
			t.Fatal(err)
		}
		p.want("headers; the body waits for the window", "HEADERS(1)")
		if err := p.Conn.Respond(3, 200, nil, flowBytes(51)); !errors.Is(err, core.ErrSendBufferFull) {
			t.Fatalf("Respond(51 octets) with 50 left = %v, want ErrSendBufferFull", err)
		}
		p.want("nothing sent")
		if err := p.Conn.Respond(3, 200, nil, flowBytes(50)); err != nil {
			t.Fatal(err)
		}
		p.want("headers", "HEADERS(3)")
		flowCheck(t, "Buffered(0)", int64(p.Conn.Buffered(0)), 150)
		p.Invariants()
	})
}

// TestFlowSendTrailers: trailers queued while DATA is buffered leave after
// the last DATA frame, which then has no END_STREAM; the trailers carry it
// (RFC 9113 §8.1).
func TestFlowSendTrailers(t *testing.T) {
	trailers := []core.HeaderField{{Name: "x-checksum", Value: "abc"}}
	t.Run("RFC9113_8.1_trailers_wait_for_buffered_DATA", func(t *testing.T) {
		p := flowServer(t, core.Config{}, flowIWS(10))
		p.openGET(1)
		p.sendHeaders(1)
		p.sendData("body", 1, 25, false, 25, nil)
		if err := p.Conn.SendTrailers(1, trailers); err != nil {
			t.Fatal(err)
		}
		p.want("one window of DATA, no trailers yet", "HEADERS(1)", "DATA(1,10)")
		p.sendData("after trailers", 1, 1, false, 0, core.ErrStreamClosed)
		if err := p.Conn.SendTrailers(1, trailers); !errors.Is(err, core.ErrStreamClosed) {
			t.Fatalf("second SendTrailers = %v, want ErrStreamClosed", err)
		}
		p.WriteFrames(p.FB.WindowUpdate(1, 10))
		p.want("still DATA", "DATA(1,10)")
		p.WriteFrames(p.FB.WindowUpdate(1, 100))
		fs := p.want("last DATA without END_STREAM, then trailers with it", "DATA(1,5)", "HEADERS(1,ES)")
		if fs[1].Fields != "x-checksum: abc" {
			t.Fatalf("trailers %q", fs[1].Fields)
		}
		p.wantClosed("done", 1)
		p.Invariants()
	})
	t.Run("RFC9113_8.1_trailers_with_nothing_buffered_go_out_at_once", func(t *testing.T) {
		p := flowServer(t, core.Config{})
		p.openGET(1)
		p.sendHeaders(1)
		if err := p.Conn.SendTrailers(1, trailers); err != nil {
			t.Fatal(err)
		}
		p.want("headers then trailers", "HEADERS(1)", "HEADERS(1,ES)")
		p.wantClosed("done", 1)
	})
	t.Run("RFC9113_8.1_trailers_after_DATA_draining_in_the_same_PollTransmit", func(t *testing.T) {
		p := flowServer(t, core.Config{})
		p.openGET(1)
		p.sendHeaders(1)
		p.sendData("body", 1, 20000, false, 20000, nil)
		if err := p.Conn.SendTrailers(1, trailers); err != nil {
			t.Fatal(err)
		}
		fs := p.parse(p.Conn.PollTransmit(nil))
		if got, want := fmt.Sprint(flowDescs(fs)), fmt.Sprint([]string{"HEADERS(1)", "DATA(1,16384)", "DATA(1,3616)", "HEADERS(1,ES)"}); got != want {
			t.Fatalf("PollTransmit %s, want %s", got, want)
		}
		if fs[3].Fields != "x-checksum: abc" {
			t.Fatalf("trailers %q", fs[3].Fields)
		}
	})
	t.Run("RFC9113_8.1_client_request_trailers_after_buffered_DATA", func(t *testing.T) {
		p := flowClient(t, core.Config{}, flowIWS(4))
		id, err := p.Conn.OpenStream(flowPostFields, core.StreamOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.sendData("body", id, 6, false, 6, nil)
		if err := p.Conn.SendTrailers(id, trailers); err != nil {
			t.Fatal(err)
		}
		p.want("window of 4", "HEADERS(1)", "DATA(1,4)")
		p.WriteFrames(p.FB.WindowUpdate(id, 2))
		p.want("rest then trailers", "DATA(1,2)", "HEADERS(1,ES)")
		if s := p.Conn.StreamState(id); s != core.StateHalfClosedLocal {
			t.Fatalf("stream state %v, want half_closed_local", s)
		}
		p.Invariants()
	})
	t.Run("empty_trailers_end_the_stream_with_empty_DATA", func(t *testing.T) {
		// An empty field block could not carry the HPACK size update
		// owed after a lowered SETTINGS_HEADER_TABLE_SIZE (RFC 7541
		// §4.2); found by the rapid properties in ./fuzz.
		p := flowServer(t, core.Config{})
		p.openGET(1)
		p.sendHeaders(1)
		p.drain()
		p.WriteFrames(p.FB.Settings(frame.Setting{ID: frame.SettingHeaderTableSize, Val: 0}))
		p.WantFrame("SETTINGS ACK", frame.TypeSettings, coretest.IsAck)
		p.WantEvent("the smaller table applies", core.EventSettings)
		if err := p.Conn.SendTrailers(1, nil); err != nil {
			t.Fatal(err)
		}
		p.want("empty DATA with END_STREAM, no field block", "DATA(1,0,ES)")
		p.wantClosed("done", 1)
		p.Invariants()
	})
	t.Run("RFC9113_8.1_pseudo-header_in_trailers_is_refused", func(t *testing.T) {
		p := flowServer(t, core.Config{})
		p.openGET(1)
		p.sendHeaders(1)
		var me *core.MessageError
		if err := p.Conn.SendTrailers(1, flowStatus200); !errors.As(err, &me) {
			t.Fatalf("SendTrailers(:status) = %v, want *MessageError", err)
		}
		p.want("headers only", "HEADERS(1)")
	})
}

// TestFlowSendEmptyEndStream: SendData(nil, true) ends the stream with an
// empty DATA frame carrying END_STREAM, which no window holds back (RFC
// 9113 §6.9.1 counts the payload only), or sets END_STREAM on the last
// buffered DATA.
func TestFlowSendEmptyEndStream(t *testing.T) {
	cases := []struct {
		name string
		iws  uint32
		pre  int // octets buffered first
		wu   uint32
		want []string
	}{
		{"RFC9113_6.1_empty_DATA_with_END_STREAM", 65535, 0, 0, []string{"HEADERS(1)", "DATA(1,0,ES)"}},
		{"RFC9113_6.9.1_empty_DATA_with_END_STREAM_through_a_zero_window", 0, 0, 0, []string{"HEADERS(1)", "DATA(1,0,ES)"}},
		{"END_STREAM_joins_the_last_buffered_DATA", 65535, 10, 0, []string{"HEADERS(1)", "DATA(1,10,ES)"}},
		{"END_STREAM_waits_behind_DATA_held_by_the_window", 5, 10, 5, []string{"HEADERS(1)", "DATA(1,5)", "DATA(1,5,ES)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := flowServer(t, core.Config{}, flowIWS(tc.iws))
			p.openGET(1)
			p.sendHeaders(1)
			if tc.pre > 0 {
				p.sendData("body", 1, tc.pre, false, tc.pre, nil)
			}
			if n, err := p.Conn.SendData(1, nil, true); n != 0 || err != nil {
				t.Fatalf("SendData(nil, true) = %d, %v", n, err)
			}
			if tc.wu > 0 {
				p.drain()
				p.WriteFrames(p.FB.WindowUpdate(1, tc.wu))
				tc.want = tc.want[len(tc.want)-1:]
			}
			p.want("end of stream", tc.want...)
			p.wantClosed("done", 1)
			p.Invariants()
		})
	}
	t.Run("client_request_ended_by_empty_DATA", func(t *testing.T) {
		p := flowClient(t, core.Config{})
		id, err := p.Conn.OpenStream(flowPostFields, core.StreamOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := p.Conn.SendData(id, nil, true); n != 0 || err != nil {
			t.Fatalf("SendData(nil, true) = %d, %v", n, err)
		}
		p.want("request", "HEADERS(1)", "DATA(1,0,ES)")
		if s := p.Conn.StreamState(id); s != core.StateHalfClosedLocal {
			t.Fatalf("state %v, want half_closed_local", s)
		}
	})
}

// TestFlowSendRoundRobin: PollTransmit sends one DATA frame per stream per
// round (core/doc.go "Flow control"; DESIGN §4 fair scheduling).
func TestFlowSendRoundRobin(t *testing.T) {
	cases := []struct {
		name   string
		bodies []int // for streams 1, 3, 5, ...
		want   []string
	}{
		{"DESIGN_4_equal_bodies_interleave_one_frame_per_stream_per_round", []int{40000, 40000, 40000}, []string{
			"DATA(1,16384)", "DATA(3,16384)", "DATA(5,16384)",
			"DATA(1,16384)", "DATA(3,16384)", "DATA(5,16384)",
			"DATA(1,7232,ES)", "DATA(3,7232,ES)", "DATA(5,7232,ES)"}},
		{"DESIGN_4_short_streams_drop_out_of_the_rotation", []int{40000, 10000, 20000}, []string{
			"DATA(1,16384)", "DATA(3,10000,ES)", "DATA(5,16384)",
			"DATA(1,16384)", "DATA(5,3616,ES)",
			"DATA(1,7232,ES)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := flowServer(t, core.Config{}, flowIWS(1<<20))
			p.WriteFrames(p.FB.WindowUpdate(0, 1<<20))
			var ids []uint32
			for i := range tc.bodies {
				ids = append(ids, uint32(1+2*i))
			}
			p.openGET(ids...)
			p.sendHeaders(ids...)
			p.want("headers", "HEADERS(1)", "HEADERS(3)", "HEADERS(5)")
			for i, id := range ids {
				p.sendData("body", id, tc.bodies[i], true, tc.bodies[i], nil)
			}
			fs := p.parse(p.Conn.PollTransmit(nil))
			if got := flowDescs(fs); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("one PollTransmit:\n got  %v\n want %v", got, tc.want)
			}
			p.Invariants()
		})
	}
	t.Run("DESIGN_4_Respond_on_several_streams_interleaves_after_the_HEADERS", func(t *testing.T) {
		p := flowServer(t, core.Config{}, flowIWS(1<<20))
		p.WriteFrames(p.FB.WindowUpdate(0, 1<<20))
		p.openGET(1, 3)
		for _, id := range []uint32{1, 3} {
			if err := p.Conn.Respond(id, 200, nil, flowBytes(20000)); err != nil {
				t.Fatal(err)
			}
		}
		fs := p.parse(p.Conn.PollTransmit(nil))
		want := []string{"HEADERS(1)", "HEADERS(3)", "DATA(1,16384)", "DATA(3,16384)", "DATA(1,3616,ES)", "DATA(3,3616,ES)"}
		if got := flowDescs(fs); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("one PollTransmit:\n got  %v\n want %v", got, want)
		}
	})
}

// TestFlowSendBlockedStreamDoesNotBlockOthers: a stream whose own window
// is shut leaves the rotation; the others keep sending (RFC 9113 §5.2.2:
// flow control must not let one stream block the rest).
func TestFlowSendBlockedStreamDoesNotBlockOthers(t *testing.T) {
	p := flowServer(t, core.Config{}, flowIWS(100))
	p.openGET(1, 3, 5)
	for _, id := range []uint32{1, 3, 5} {
		if err := p.Conn.Respond(id, 200, nil, flowBytes(300)); err != nil {
			t.Fatal(err)
		}
	}
	p.want("one window each", "HEADERS(1)", "HEADERS(3)", "HEADERS(5)", "DATA(1,100)", "DATA(3,100)", "DATA(5,100)")
	p.WriteFrames(p.FB.WindowUpdate(3, 1000))
	p.want("stream 3 finishes while 1 and 5 wait", "DATA(3,200,ES)")
	p.WriteFrames(p.FB.WindowUpdate(5, 50))
	p.want("stream 5 moves", "DATA(5,50)")
	p.WriteFrames(p.FB.WindowUpdate(1, 200), p.FB.WindowUpdate(5, 150))
	p.want("both resume, in WINDOW_UPDATE order", "DATA(1,200,ES)", "DATA(5,150,ES)")
	flowCheck(t, "Buffered(0)", int64(p.Conn.Buffered(0)), 0)
	p.Invariants()
}

// TestFlowSendBuffered: Conn.Buffered reports per-stream and total bytes
// accepted by SendData and not yet sent; a reset discards them.
func TestFlowSendBuffered(t *testing.T) {
	p := flowServer(t, core.Config{}, flowIWS(0))
	p.openGET(1, 3)
	p.sendHeaders(1, 3)
	cases := []struct {
		id   uint32
		want int
	}{{1, 0}, {3, 0}, {0, 0}, {99, 0}}
	for _, tc := range cases {
		flowCheck(t, fmt.Sprintf("Buffered(%d) before SendData", tc.id), int64(p.Conn.Buffered(tc.id)), int64(tc.want))
	}
	p.sendData("s1", 1, 300, false, 300, nil)
	p.sendData("s3", 3, 200, false, 200, nil)
	flowCheck(t, "Buffered(1)", int64(p.Conn.Buffered(1)), 300)
	flowCheck(t, "Buffered(3)", int64(p.Conn.Buffered(3)), 200)
	flowCheck(t, "Buffered(0)", int64(p.Conn.Buffered(0)), 500)
	flowCheck(t, "Buffered(idle)", int64(p.Conn.Buffered(99)), 0)
	p.drain()
	p.WriteFrames(p.FB.WindowUpdate(1, 100))
	p.want("100 sent", "DATA(1,100)")
	flowCheck(t, "Buffered(1) after sending 100", int64(p.Conn.Buffered(1)), 200)
	flowCheck(t, "Buffered(0) after sending 100", int64(p.Conn.Buffered(0)), 400)
	if err := p.Conn.ResetStream(3, frame.ErrCodeCancel); err != nil {
		t.Fatal(err)
	}
	p.want("reset", "RST(3,CANCEL)")
	flowCheck(t, "Buffered(3) after reset", int64(p.Conn.Buffered(3)), 0)
	flowCheck(t, "Buffered(0) after reset", int64(p.Conn.Buffered(0)), 200)
	p.Invariants()
}

// TestFlowSendContentLength: what we send must match the content-length we
// declared (RFC 9113 §8.1.1); commands that would break it return
// ErrContentLength and send nothing.
func TestFlowSendContentLength(t *testing.T) {
	cl10 := []core.HeaderField{{Name: ":status", Value: "200"}, {Name: "content-length", Value: "10"}}
	server := func(t *testing.T) *flowPeer {
		p := flowServer(t, core.Config{})
		p.openGET(1)
		if err := p.Conn.SendHeaders(1, cl10, false); err != nil {
			t.Fatal(err)
		}
		p.want("headers", "HEADERS(1)")
		return p
	}
	t.Run("RFC9113_8.1.1_SendData_past_content-length", func(t *testing.T) {
		p := server(t)
		p.sendData("11 of 10", 1, 11, false, 0, core.ErrContentLength)
		flowCheck(t, "Buffered(1)", int64(p.Conn.Buffered(1)), 0)
		p.want("nothing sent")
		p.sendData("exactly 10", 1, 10, true, 10, nil)
		p.want("body", "DATA(1,10,ES)")
	})
	t.Run("RFC9113_8.1.1_SendData_past_content-length_across_writes", func(t *testing.T) {
		p := server(t)
		p.sendData("6", 1, 6, false, 6, nil)
		p.sendData("5 more", 1, 5, false, 0, core.ErrContentLength)
		p.sendData("4 more, end", 1, 4, true, 4, nil)
		p.want("body", "DATA(1,10,ES)")
	})
	t.Run("RFC9113_8.1.1_ending_short_of_content-length", func(t *testing.T) {
		p := server(t)
		p.sendData("5 with END_STREAM", 1, 5, true, 0, core.ErrContentLength)
		p.sendData("5", 1, 5, false, 5, nil)
		p.sendData("empty END_STREAM at 5", 1, 0, true, 0, core.ErrContentLength)
		p.want("5 octets, stream still open", "DATA(1,5)")
		if err := p.Conn.SendTrailers(1, []core.HeaderField{{Name: "x-t", Value: "1"}}); !errors.Is(err, core.ErrContentLength) {
			t.Fatalf("SendTrailers at 5 of 10 = %v, want ErrContentLength", err)
		}
		p.sendData("5 more with END_STREAM", 1, 5, true, 5, nil)
		p.want("rest", "DATA(1,5,ES)")
	})
	t.Run("RFC9113_8.1.1_trailers_once_content-length_is_reached", func(t *testing.T) {
		p := server(t)
		p.sendData("10", 1, 10, false, 10, nil)
		if err := p.Conn.SendTrailers(1, []core.HeaderField{{Name: "x-t", Value: "1"}}); err != nil {
			t.Fatal(err)
		}
		p.want("body and trailers", "DATA(1,10)", "HEADERS(1,ES)")
	})
	t.Run("RFC9113_8.1.1_partial_write_counts_only_what_was_taken", func(t *testing.T) {
		p := flowServer(t, core.Config{Limits: core.Limits{StreamSendBuffer: 6}})
		p.openGET(1)
		if err := p.Conn.SendHeaders(1, cl10, false); err != nil {
			t.Fatal(err)
		}
		p.sendData("10 into a 6-octet buffer", 1, 10, true, 6, core.ErrSendBufferFull)
		p.want("6 octets, no END_STREAM", "HEADERS(1)", "DATA(1,6)")
		p.wantWritable("room", 1)
		p.sendData("the last 4", 1, 4, true, 4, nil)
		p.want("rest", "DATA(1,4,ES)")
	})
	t.Run("RFC9113_8.1.1_SendHeaders_END_STREAM_with_content-length_above_0", func(t *testing.T) {
		p := flowServer(t, core.Config{})
		p.openGET(1)
		if err := p.Conn.SendHeaders(1, cl10, true); !errors.Is(err, core.ErrContentLength) {
			t.Fatalf("SendHeaders(content-length 10, END_STREAM) = %v, want ErrContentLength", err)
		}
		p.want("nothing sent")
		if err := p.Conn.SendHeaders(1, []core.HeaderField{{Name: ":status", Value: "200"}, {Name: "content-length", Value: "0"}}, true); err != nil {
			t.Fatal(err)
		}
		p.want("content-length 0 may end at once", "HEADERS(1,ES)")
	})
	t.Run("RFC9113_8.1.1_Respond_content-length_differs_from_body", func(t *testing.T) {
		p := flowServer(t, core.Config{})
		p.openGET(1)
		for _, n := range []int{4, 6} {
			if err := p.Conn.Respond(1, 200, []core.HeaderField{{Name: "content-length", Value: "5"}}, flowBytes(n)); !errors.Is(err, core.ErrContentLength) {
				t.Fatalf("Respond(content-length 5, %d octets) = %v, want ErrContentLength", n, err)
			}
		}
		p.want("nothing sent")
	})
	t.Run("RFC9113_8.1.1_client_request_content-length", func(t *testing.T) {
		p := flowClient(t, core.Config{})
		post5 := append(append([]core.HeaderField(nil), flowPostFields...), core.HeaderField{Name: "content-length", Value: "5"})
		if _, err := p.Conn.OpenStream(post5, core.StreamOptions{EndStream: true}); !errors.Is(err, core.ErrContentLength) {
			t.Fatalf("OpenStream(content-length 5, EndStream) = %v, want ErrContentLength", err)
		}
		p.want("nothing sent")
		id, err := p.Conn.OpenStream(post5, core.StreamOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.sendData("6 of 5", id, 6, true, 0, core.ErrContentLength)
		p.sendData("5 of 5", id, 5, true, 5, nil)
		p.want("request", "HEADERS(1)", "DATA(1,5,ES)")
	})
}

// TestFlowSendBodyNotAllowed: responses to HEAD and 204 and 304 responses
// have no content (RFC 9110 §6.4.1, RFC 9113 §8.1.1); sending some returns
// ErrBodyNotAllowed. An empty END_STREAM is still fine.
func TestFlowSendBodyNotAllowed(t *testing.T) {
	cases := []struct {
		name   string
		method string
		status string
	}{
		{"RFC9110_15.3.5_204", "GET", "204"},
		{"RFC9110_15.4.5_304", "GET", "304"},
		{"RFC9110_9.3.2_HEAD", "HEAD", "200"},
	}
	for _, tc := range cases {
		t.Run(tc.name+"_Respond_with_a_body", func(t *testing.T) {
			p := flowServer(t, core.Config{})
			p.WriteFrames(p.FB.Headers(1, coretest.EndStream|coretest.EndHeaders, coretest.Request(tc.method, "/")...))
			p.WantEvent("request", core.EventRequest)
			status := 200
			fmt.Sscan(tc.status, &status)
			if err := p.Conn.Respond(1, status, nil, []byte("x")); !errors.Is(err, core.ErrBodyNotAllowed) {
				t.Fatalf("Respond = %v, want ErrBodyNotAllowed", err)
			}
			p.want("nothing sent")
			if err := p.Conn.Respond(1, status, nil, nil); err != nil {
				t.Fatalf("Respond without body = %v", err)
			}
			p.want("headers only", "HEADERS(1,ES)")
			p.Invariants()
		})
		t.Run(tc.name+"_SendData_after_SendHeaders", func(t *testing.T) {
			p := flowServer(t, core.Config{})
			p.WriteFrames(p.FB.Headers(1, coretest.EndStream|coretest.EndHeaders, coretest.Request(tc.method, "/")...))
			p.WantEvent("request", core.EventRequest)
			fields := []core.HeaderField{{Name: ":status", Value: tc.status}}
			if tc.method == "HEAD" {
				// The length of the GET response: allowed, yet no content.
				fields = append(fields, core.HeaderField{Name: "content-length", Value: "100"})
			}
			if err := p.Conn.SendHeaders(1, fields, false); err != nil {
				t.Fatal(err)
			}
			p.sendData("content", 1, 1, false, 0, core.ErrBodyNotAllowed)
			p.sendData("empty END_STREAM", 1, 0, true, 0, nil)
			p.want("headers, then an empty DATA with END_STREAM", "HEADERS(1)", "DATA(1,0,ES)")
			p.Invariants()
		})
	}
	t.Run("SendData_before_the_final_response_is_ErrInvalidStreamState", func(t *testing.T) {
		p := flowServer(t, core.Config{})
		p.openGET(1)
		p.sendData("no response yet", 1, 1, false, 0, core.ErrInvalidStreamState)
		if err := p.Conn.SendHeaders(1, []core.HeaderField{{Name: ":status", Value: "103"}}, false); err != nil {
			t.Fatal(err)
		}
		p.sendData("after a 1xx", 1, 1, false, 0, core.ErrInvalidStreamState)
		p.want("the 103 only", "HEADERS(1)")
	})
}

// TestWantsOutput follows WantsOutput through a connection's life: true
// with the preface queued, false once written, false again with content
// held back by a shut window (nothing PollTransmit could send), true when
// a WINDOW_UPDATE opens it, and true while closing.
func TestWantsOutput(t *testing.T) {
	p, err := coretest.NewPair(1, core.Config{InitialWindowSize: 10}, core.Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := func(why string, side *core.Conn, w bool) {
		t.Helper()
		if side.WantsOutput() != w {
			t.Fatalf("%s: WantsOutput() = %v, want %v", why, !w, w)
		}
	}
	want("new client", p.Client, true)
	want("new server", p.Server, true)
	p.Drive()
	want("connected client", p.Client, false)
	want("connected server", p.Server, false)
	id, err := p.Client.OpenStream(flowGet, core.StreamOptions{EndStream: true, ManualFlowControl: true})
	if err != nil {
		t.Fatal(err)
	}
	want("request queued", p.Client, true)
	p.Drive()
	if err := p.Server.SendHeaders(id, flowStatus200, false); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Server.SendData(id, flowBytes(100), true); err != nil {
		t.Fatal(err)
	}
	want("response queued", p.Server, true)
	p.Drive()
	if p.Server.Buffered(id) != 90 {
		t.Fatalf("buffered %d, want 90 behind the 10-byte window", p.Server.Buffered(id))
	}
	want("content behind a shut window", p.Server, false)
	if err := p.Client.Consume(id, 10); err != nil {
		t.Fatal(err)
	}
	want("WINDOW_UPDATE queued", p.Client, true)
	if n, err := p.Server.Receive(p.Now, p.Client.PollTransmit(nil)); err != nil || n == 0 {
		t.Fatalf("the server took %d bytes of WINDOW_UPDATE: %v", n, err)
	}
	want("window reopened", p.Server, true)
	p.Drive()
	p.Server.Close(p.Now, frame.ErrCodeNo, "")
	want("closing", p.Server, true)
	p.Drive()
	want("closed", p.Server, false)
	if err := p.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}
