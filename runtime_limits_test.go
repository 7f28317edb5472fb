package h2_test

import (
	"errors"
	"net"
	"testing"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// TestLimitsMaxInformational: Options.MaxInformational interim responses
// on a stream are accepted and kept; one more resets the stream with
// ENHANCE_YOUR_CALM, so a server cannot grow the client's memory with 1xx
// responses without end.
func TestLimitsMaxInformational(t *testing.T) {
	const max = 3
	for _, tc := range []struct {
		name string
		n    int
	}{{"at_the_limit_all_kept", max}, {"one_past_the_limit_resets", max + 1}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := rtCtx(t)
			a, b := net.Pipe()
			peer := rtStartRawPeer(t, b)
			c, err := h2.NewClientConn(a, &h2.ClientOptions{Options: h2.Options{MaxInformational: max}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			peer.handshake(ctx)
			s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
			if err != nil {
				t.Fatal(err)
			}
			id := peer.next(ctx, frame.TypeHeaders).StreamID
			var out []byte // all in one write: the final response arrives with the last 1xx
			for range tc.n {
				out = append(out, peer.fb.Headers(id, frame.FlagHeadersEndHeaders, ":status", "103", "link", "</a.css>; rel=preload")...)
			}
			peer.write(append(out, peer.fb.Headers(id, frame.FlagHeadersEndHeaders|frame.FlagHeadersEndStream, ":status", "204")...))
			resp, err := s.Response(ctx)
			if tc.n <= max {
				if err != nil || resp.Status != 204 || len(resp.Informational) != tc.n {
					t.Fatalf("Response: %v, %+v; want 204 after %d interim responses", err, resp, tc.n)
				}
				return
			}
			var se *core.StreamError
			if !errors.As(err, &se) || se.Code != frame.ErrCodeEnhanceYourCalm || se.Remote {
				t.Fatalf("Response: %v; want a local reset ENHANCE_YOUR_CALM", err)
			}
		})
	}
}
