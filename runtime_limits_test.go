package h2_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// limRawServer answers the first request on a net.Pipe with n interim
// (103) responses and a final 204, writing raw frames.
func limRawServer(t *testing.T, nc net.Conn, n int) {
	t.Helper()
	headers := make(chan uint32, 1)
	go func() { // read the client's bytes; report its first HEADERS
		buf := make([]byte, 0, 64<<10)
		tmp := make([]byte, 16<<10)
		skip := len(coretest.ClientPreface)
		for {
			m, err := nc.Read(tmp)
			if err != nil {
				return
			}
			buf = append(buf, tmp[:m]...)
			if skip > 0 {
				k := min(skip, len(buf))
				buf, skip = buf[k:], skip-k
			}
			for skip == 0 {
				f, used, err := frame.Parse(buf, frame.MaxMaxFrameSize)
				if err != nil {
					break
				}
				if f.Type == frame.TypeHeaders {
					select {
					case headers <- f.StreamID:
					default:
					}
				}
				buf = buf[used:]
			}
		}
	}()
	fb := coretest.NewFrameBuilder()
	out := frame.AppendSettings(nil, nil)
	out = frame.AppendSettingsAck(out)
	if _, err := nc.Write(out); err != nil {
		t.Error(err)
		return
	}
	id := <-headers
	out = out[:0]
	for range n {
		out = append(out, fb.Headers(id, frame.FlagHeadersEndHeaders, ":status", "103", "link", "</a.css>; rel=preload")...)
	}
	out = append(out, fb.Headers(id, frame.FlagHeadersEndHeaders|frame.FlagHeadersEndStream, ":status", "204")...)
	_, _ = nc.Write(out)
}

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
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			a, b := net.Pipe()
			defer b.Close()
			go limRawServer(t, b, tc.n)
			c, err := h2.NewClientConn(a, &h2.ClientOptions{Options: h2.Options{MaxInformational: max}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
			if err != nil {
				t.Fatal(err)
			}
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
