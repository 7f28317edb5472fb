package h2_test

import (
	"errors"
	"testing"

	"github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// TestRuntimeStreamErrorRetryable: the errors a client's Response and Read
// return carry core.StreamError.Retryable — true for REFUSED_STREAM and for
// a stream above a GOAWAY's last stream ID (RFC 9113 §8.7, §6.8), false for
// any other reset — so an application can tell a request that is safe to
// send again.
func TestRuntimeStreamErrorRetryable(t *testing.T) {
	ctx := rtCtx(t)
	c, peer := rtRawClient(t, ctx, nil)
	var ss []*h2.Stream
	for _, path := range []string{"/refused", "/internal", "/processed", "/above"} {
		s, err := c.Request(ctx, c.NewRequest("GET", path), &h2.RequestOptions{EndStream: true})
		if err != nil {
			t.Fatal(err)
		}
		if f := peer.next(ctx, frame.TypeHeaders); f.StreamID != s.ID() {
			t.Fatalf("HEADERS on stream %d, want %d", f.StreamID, s.ID())
		}
		ss = append(ss, s)
	}
	retryable := func(what string, err error, want bool) {
		t.Helper()
		var se *core.StreamError
		if !errors.As(err, &se) {
			t.Fatalf("%s: %v (%T), want a *core.StreamError", what, err, err)
		}
		if se.Retryable != want {
			t.Errorf("%s: %v Retryable = %v, want %v", what, se, se.Retryable, want)
		}
	}

	var err error
	peer.write(peer.fb.RST(ss[0].ID(), frame.ErrCodeRefusedStream))
	_, err = ss[0].Response(ctx)
	retryable("RST_STREAM(REFUSED_STREAM): Response", err, true)
	retryable("RST_STREAM(REFUSED_STREAM): Err", ss[0].Err(), true)

	peer.write(peer.fb.RST(ss[1].ID(), frame.ErrCodeInternal))
	_, err = ss[1].Response(ctx)
	retryable("RST_STREAM(INTERNAL_ERROR): Response", err, false)

	// GOAWAY naming the third stream: the fourth was not processed.
	peer.write(peer.fb.GoAway(ss[2].ID(), frame.ErrCodeNo, "drain"))
	_, err = ss[3].Response(ctx)
	retryable("above the GOAWAY: Response", err, true)

	// The third was processed: its response arrives, then a reset in the
	// middle of its body is not retryable.
	peer.write(peer.fb.Headers(ss[2].ID(), coretest.EndHeaders, ":status", "200"))
	if _, err := ss[2].Response(ctx); err != nil {
		t.Fatalf("processed stream: %v", err)
	}
	peer.write(peer.fb.RST(ss[2].ID(), frame.ErrCodeCancel))
	_, err = rtReadAll(t, ctx, ss[2])
	retryable("processed stream reset mid-body: Read", err, false)
}
