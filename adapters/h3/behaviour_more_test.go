package h3_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

func init() {
	behaviours = append(behaviours,
		behaviour{
			name: "request_head",
			want: "GET /p?q=1 authority=true x-a=1,2 body-end=EOF",
			run: func(t *testing.T, p proto) string {
				got := make(chan string, 1)
				var authority string
				c, _ := p.start(t, serverOpts{}, func(s stream) {
					r := s.Request()
					var xa []string
					for _, f := range r.Header {
						if f.Name == "x-a" {
							xa = append(xa, f.Value)
						}
					}
					_, err := s.Read(make([]byte, 1))
					got <- fmt.Sprintf("%s %s authority=%s x-a=%s,%s body-end=%v", r.Method, r.Path, r.Authority, xa[0], xa[1], err)
					_ = s.Respond(204, nil, nil)
				})
				switch cs := c.(type) {
				case h2Client:
					authority = field(cs.c.NewRequest("GET", "/"), ":authority")
				case h3Client:
					authority = field(cs.c.NewRequest("GET", "/"), ":authority")
				}
				ctx := testCtx(t)
				s, _ := c.request(ctx, "GET", "/p?q=1", reqOpts{endStream: true},
					h2.HeaderField{Name: "x-a", Value: "1"}, h2.HeaderField{Name: "x-a", Value: "2"})
				_, _ = s.ReadAll()
				return strings.Replace(<-got, "authority="+authority, "authority=true", 1)
			},
		},
		behaviour{
			name: "server_write_before_headers",
			want: "write: h2: operation not allowed in the stream's state",
			run: func(t *testing.T, p proto) string {
				got := make(chan string, 1)
				c, _ := p.start(t, serverOpts{}, func(s stream) {
					_, err := s.Write([]byte("x"))
					got <- fmt.Sprintf("write: %v", err)
					_ = s.Respond(204, nil, nil)
				})
				ctx := testCtx(t)
				s, _ := c.request(ctx, "GET", "/", reqOpts{endStream: true})
				_, _ = s.ReadAll()
				return <-got
			},
		},
		behaviour{
			name: "client_reset_code",
			want: "Reset(ENHANCE_YOUR_CALM): nil; server saw: reset ENHANCE_YOUR_CALM remote=true",
			// quic-go's RoundTrip cancels only with H3_REQUEST_CANCELLED.
			wantBy: map[string]string{"h3": "Reset(ENHANCE_YOUR_CALM): not supported; server saw: reset CANCEL remote=true"},
			run: func(t *testing.T, p proto) string {
				got := make(chan string, 1)
				started := make(chan struct{})
				c, _ := p.start(t, serverOpts{}, func(s stream) {
					_ = s.WriteHeaders(200, nil)
					close(started)
					_, err := s.ReadAll()
					got <- resetOf(err)
				})
				ctx := testCtx(t)
				s, _ := c.request(ctx, "POST", "/", reqOpts{})
				<-started
				err := s.Reset(frame.ErrCodeEnhanceYourCalm)
				if err != nil {
					_ = s.Cancel()
				}
				return fmt.Sprintf("Reset(ENHANCE_YOUR_CALM): %s; server saw: %s", resetOf(err), <-got)
			},
		},
		behaviour{
			name: "goaway_event_on_open_stream",
			want: "goaway event: true; stream: closed",
			// quic-go's ClientConn keeps the GOAWAY to itself.
			wantBy: map[string]string{"h3": "goaway event: false; stream: closed"},
			run: func(t *testing.T, p proto) string {
				release := make(chan struct{})
				started := make(chan struct{})
				c, shutdown := p.start(t, serverOpts{}, func(s stream) {
					close(started)
					<-release
					_ = s.Respond(200, nil, nil)
				})
				ctx := testCtx(t)
				s, _ := c.request(ctx, "GET", "/", reqOpts{endStream: true})
				evs := make(chan h2.Event, 16)
				p.setHandler(s, func(e h2.Event) { evs <- e })
				<-started
				shut := make(chan error, 1)
				go func() { shut <- shutdown(ctx) }()
				// Wait a bounded time for a GOAWAY event, which h2 delivers
				// at once and h3 never does.
				sawGoAway, end := false, ""
				timeout := time.After(500 * time.Millisecond)
			wait:
				for {
					select {
					case e := <-evs:
						if e.Kind == core.EventGoAway {
							sawGoAway = true
							break wait
						}
					case <-timeout:
						break wait
					}
				}
				close(release)
				for e := range evs {
					if e.Kind == core.EventStreamClosed || e.Kind == core.EventStreamReset {
						end = map[bool]string{true: "closed", false: "reset"}[e.Kind == core.EventStreamClosed]
						break
					}
				}
				<-shut
				return fmt.Sprintf("goaway event: %v; stream: %s", sawGoAway, end)
			},
		},
	)
}

func init() {
	behaviours = append(behaviours, behaviour{
		name: "server_ignores_request_body",
		want: `body "early" err=<nil>; stream ended: true`,
		run: func(t *testing.T, p proto) string {
			c, _ := p.start(t, serverOpts{}, func(s stream) {
				_ = s.Respond(200, nil, []byte("early"))
			})
			ctx := testCtx(t)
			s, _ := c.request(ctx, "POST", "/", reqOpts{})
			go func() {
				// The server never reads: h2 discards the content, h3 stops
				// it (STOP_SENDING); either way the writer gets through.
				for range 64 {
					if _, err := s.Write(make([]byte, 64<<10)); err != nil {
						return
					}
				}
				_ = s.CloseWrite()
			}()
			body, err := s.ReadAll()
			select {
			case <-s.Done():
			case <-ctx.Done():
			}
			return fmt.Sprintf("body %q err=%v; stream ended: %v", body, err, ctx.Err() == nil)
		},
	})
}

func init() {
	behaviours = append(behaviours, behaviour{
		name: "server_ends_response_before_request",
		want: `response ended first: true; body "a" err=<nil>; server read "req"`,
		// quic-go finishes a response only when its handler returns, which
		// the adapter delays until the request is over (see the docs).
		wantBy: map[string]string{"h3": `response ended first: false; body "a" err=<nil>; server read "req"`},
		run: func(t *testing.T, p proto) string {
			got := make(chan string, 1)
			c, _ := p.start(t, serverOpts{}, func(s stream) {
				_ = s.WriteHeaders(200, nil)
				_, _ = s.Write([]byte("a"))
				_ = s.CloseWrite()
				body, _ := s.ReadAll()
				got <- fmt.Sprintf("server read %q", body)
			})
			ctx := testCtx(t)
			s, _ := c.request(ctx, "POST", "/", reqOpts{})
			_, _ = s.Write([]byte("req"))
			// The reader records whether our side was still open when the
			// response ended. h2 ends it first: wait for that (bounded by
			// ctx). h3 cannot until the request is over: close it first,
			// or the case would hang.
			type result struct {
				body  []byte
				err   error
				first bool
			}
			var closed atomic.Bool
			done := make(chan result, 1)
			go func() {
				b, err := s.ReadAll()
				done <- result{b, err, !closed.Load()}
			}()
			var r result
			if p.name == "h2" {
				select {
				case r = <-done:
				case <-ctx.Done():
					t.Fatal("the response did not end while the request was open")
				}
			}
			closed.Store(true)
			_ = s.CloseWrite()
			if p.name != "h2" {
				r = <-done
			}
			first := r.first
			return fmt.Sprintf("response ended first: %v; body %q err=%v; %s", first, r.body, r.err, <-got)
		},
	})
}

func init() {
	behaviours = append(behaviours, behaviour{
		name: "body_not_allowed",
		want: "Respond(204, body): h2: message must not have content (HEAD, 1xx, 204, 304); Write after 304: h2: message must not have content (HEAD, 1xx, 204, 304); client: 304 \"\" <nil>",
		run: func(t *testing.T, p proto) string {
			got := make(chan string, 1)
			c, _ := p.start(t, serverOpts{}, func(s stream) {
				e1 := s.Respond(204, nil, []byte("x"))
				_ = s.WriteHeaders(304, nil)
				_, e2 := s.Write([]byte("x"))
				_ = s.CloseWrite()
				got <- fmt.Sprintf("Respond(204, body): %v; Write after 304: %v", e1, e2)
			})
			ctx := testCtx(t)
			s, _ := c.request(ctx, "GET", "/", reqOpts{endStream: true})
			resp, err := s.Response(ctx)
			if err != nil {
				t.Fatal(err)
			}
			body, err := s.ReadAll()
			return fmt.Sprintf("%s; client: %d %q %v", <-got, resp.Status, body, err)
		},
	})
}
