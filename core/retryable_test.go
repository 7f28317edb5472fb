package core_test

// StreamError.Retryable: a reset says the request may be sent again only when
// the server provably did not process it — REFUSED_STREAM (RFC 9113 §8.7) or
// a stream above the last stream ID of the server's GOAWAY (§6.8).

import (
	"testing"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

var retryGET = []core.HeaderField{
	{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
	{Name: ":authority", Value: "example.test"}, {Name: ":path", Value: "/"},
}

// retryOpen opens n requests on a client peer and returns their IDs.
func retryOpen(t *testing.T, p *coretest.TestPeer, n int) []uint32 {
	t.Helper()
	var ids []uint32
	for range n {
		id, err := p.Conn.OpenStream(retryGET, core.StreamOptions{EndStream: true})
		if err != nil {
			t.Fatal(err)
		}
		p.WantHeaders("request", id)
		ids = append(ids, id)
	}
	return ids
}

// retryResets returns the stream errors of the EventStreamReset events
// waiting, by stream.
func retryResets(p *coretest.TestPeer) map[uint32]*core.StreamError {
	for {
		if _, ok := p.NextFrame(); !ok {
			break
		}
	}
	out := map[uint32]*core.StreamError{}
	for _, e := range p.Events {
		if e.Kind == core.EventStreamReset {
			if se := e.StreamErr(); se != nil && se.Retryable != e.Retryable {
				p.T.Fatalf("stream %d: StreamErr().Retryable %v, event %v", e.StreamID, se.Retryable, e.Retryable)
			}
			out[e.StreamID] = e.StreamErr()
		}
	}
	return out
}

func TestStreamErrorRetryable(t *testing.T) {
	t.Run("REFUSED_STREAM_is_retryable", func(t *testing.T) {
		p := coretest.NewClientPeer(t, core.Config{})
		p.Handshake()
		ids := retryOpen(t, p, 1)
		p.WriteFrames(p.FB.RST(ids[0], frame.ErrCodeRefusedStream))
		se := retryResets(p)[ids[0]]
		if se == nil || !se.Retryable || se.Code != frame.ErrCodeRefusedStream || !se.Remote {
			t.Fatalf("StreamError %+v, want remote REFUSED_STREAM, Retryable", se)
		}
	})

	for _, code := range []frame.ErrCode{frame.ErrCodeCancel, frame.ErrCodeInternal, frame.ErrCodeNo, frame.ErrCodeProtocol} {
		t.Run("RST_"+code.String()+"_is_not_retryable", func(t *testing.T) {
			p := coretest.NewClientPeer(t, core.Config{})
			p.Handshake()
			ids := retryOpen(t, p, 1)
			p.WriteFrames(p.FB.RST(ids[0], code))
			se := retryResets(p)[ids[0]]
			if se == nil || se.Retryable || se.Code != code {
				t.Fatalf("StreamError %+v, want %v, not Retryable", se, code)
			}
		})
	}

	t.Run("GOAWAY_above_last_stream_id_is_retryable_below_is_not", func(t *testing.T) {
		p := coretest.NewClientPeer(t, core.Config{})
		p.Handshake()
		ids := retryOpen(t, p, 3) // 1, 3, 5
		p.WriteFrames(p.FB.GoAway(ids[0], frame.ErrCodeNo, "drain"))
		resets := retryResets(p)
		if _, ok := resets[ids[0]]; ok {
			t.Fatalf("stream %d at the last stream ID was reset", ids[0])
		}
		for _, id := range ids[1:] {
			if se := resets[id]; se == nil || !se.Retryable {
				t.Fatalf("stream %d above the GOAWAY: %+v, want Retryable", id, se)
			}
		}
		// The processed stream, reset later by the server, is not.
		p.Events = p.Events[:0]
		p.WriteFrames(p.FB.RST(ids[0], frame.ErrCodeInternal))
		if se := retryResets(p)[ids[0]]; se == nil || se.Retryable {
			t.Fatalf("stream %d reset after GOAWAY: %+v, want not Retryable", ids[0], se)
		}
	})

	t.Run("local_reset_is_not_retryable", func(t *testing.T) {
		p := coretest.NewClientPeer(t, core.Config{})
		p.Handshake()
		ids := retryOpen(t, p, 1)
		if err := p.Conn.ResetStream(ids[0], frame.ErrCodeRefusedStream); err != nil {
			t.Fatal(err)
		}
		if se := retryResets(p)[ids[0]]; se == nil || se.Retryable || se.Remote {
			t.Fatalf("own REFUSED_STREAM reset: %+v, want local, not Retryable", se)
		}
	})

	t.Run("server_stream_refused_by_client_is_not_retryable", func(t *testing.T) {
		// Retryable is a client notion: a server's stream reset by the
		// client with REFUSED_STREAM has nothing to send again.
		p := coretest.NewServerPeer(t, core.Config{})
		p.Handshake()
		p.WriteFrames(p.FB.GET(1, "/"))
		p.WantEvent("request", core.EventRequest)
		p.WriteFrames(p.FB.RST(1, frame.ErrCodeRefusedStream))
		if se := retryResets(p)[1]; se == nil || se.Retryable {
			t.Fatalf("server stream: %+v, want not Retryable", se)
		}
	})

	t.Run("Event_StreamErr_copies_Retryable", func(t *testing.T) {
		e := core.Event{Kind: core.EventStreamReset, StreamID: 7, Code: frame.ErrCodeRefusedStream, Retryable: true}
		if se := e.StreamErr(); !se.Retryable || se.StreamID != 7 {
			t.Fatalf("%+v", se)
		}
	})
}
