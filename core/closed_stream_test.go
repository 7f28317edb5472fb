package core_test

import (
	"testing"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// TestClosedStreamMalformedPriority: h2spec http2/6.3/2 over a real socket
// can deliver the bad PRIORITY after the response has closed stream 1. The
// FRAME_SIZE_ERROR must still reach the peer (RFC 9113 §6.3), and no frame
// may be sent on the closed stream (§5.1), so it is a connection error.
func TestClosedStreamMalformedPriority(t *testing.T) {
	p := coretest.NewServerPeer(t, core.Config{})
	p.Handler = coretest.Hello
	p.Handshake()
	p.WriteFrames(p.FB.GET(1, "/"))
	p.WantHeaders("response", 1)
	p.WantFrame("body ends the stream", frame.TypeData, coretest.OnStream(1), coretest.WithFlags(frame.FlagDataEndStream))
	if st := p.Conn.StreamState(1); st != core.StateClosed {
		t.Fatalf("stream 1 is %v, want closed", st)
	}
	p.WriteFrames(p.FB.Raw(frame.TypePriority, 0, 1, []byte{0x80, 0, 0, 1}))
	p.WantGoAway("RFC9113_6.3_PRIORITY_of_length_4_on_a_closed_stream_is_FRAME_SIZE_ERROR", frame.ErrCodeFrameSize)
	p.Invariants()
}
