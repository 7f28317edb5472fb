package h3_test

import (
	"fmt"
	"io"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core/frame"
)

func init() {
	behaviours = append(behaviours,
		behaviour{
			// A panicking stream handler resets its stream: h2 with
			// INTERNAL_ERROR, an h3 client with CANCEL (the only code
			// quic-go's RoundTrip sends).
			name:   "client_handler_panic",
			want:   "reset INTERNAL_ERROR remote=false",
			wantBy: map[string]string{"h3": "reset CANCEL remote=false"},
			run: func(t *testing.T, p proto) string {
				c, _ := p.start(t, serverOpts{}, func(s stream) { _ = s.WriteHeaders(200, nil); <-s.Context().Done() })
				ctx := testCtx(t)
				s, _ := c.request(ctx, "GET", "/", reqOpts{endStream: true})
				p.setHandler(s, func(h2.Event) { panic("test: handler panic") })
				select {
				case <-s.Done():
					return resetOf(s.Err())
				case <-time.After(5 * time.Second):
					return "still open 5 s after its handler panicked"
				}
			},
		},
		behaviour{
			// A Handler returning after content without ending the
			// response resets with CANCEL, on the wire too.
			name: "handler_returns_mid_body",
			want: "client: reset CANCEL remote=true; server: reset CANCEL remote=false",
			run: func(t *testing.T, p proto) string {
				local := make(chan string, 1)
				c, _ := p.start(t, serverOpts{}, func(s stream) {
					_ = s.WriteHeaders(200, nil)
					_, _ = s.Write([]byte("partial"))
					_, _ = s.Read(make([]byte, 1)) // the client's byte: the content reached it
					go func() { <-s.Done(); local <- resetOf(s.Err()) }()
				})
				ctx := testCtx(t)
				s, _ := c.request(ctx, "POST", "/", reqOpts{})
				if _, err := io.ReadFull(s, make([]byte, 7)); err != nil {
					t.Fatal(err)
				}
				_, _ = s.Write([]byte("x"))
				_, err := s.ReadAll()
				return fmt.Sprintf("client: %s; server: %s", resetOf(err), <-local)
			},
		},
		behaviour{
			// Reset(CANCEL) after content is sent as such under h3 too.
			name: "server_cancel_after_content",
			want: "client: reset CANCEL remote=true; server Reset: nil",
			run: func(t *testing.T, p proto) string {
				res := make(chan error, 1)
				c, _ := p.start(t, serverOpts{}, func(s stream) {
					_ = s.WriteHeaders(200, nil)
					_, _ = s.Write([]byte("partial"))
					_, _ = s.Read(make([]byte, 1))
					res <- s.Reset(frame.ErrCodeCancel)
				})
				ctx := testCtx(t)
				s, _ := c.request(ctx, "POST", "/", reqOpts{})
				if _, err := io.ReadFull(s, make([]byte, 7)); err != nil {
					t.Fatal(err)
				}
				_, _ = s.Write([]byte("x"))
				_, err := s.ReadAll()
				return fmt.Sprintf("client: %s; server Reset: %s", resetOf(err), resetOf(<-res))
			},
		},
	)
}
