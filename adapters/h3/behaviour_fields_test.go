package h3_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
)

// names lists the regular fields of a header list.
func names(fs []h2.HeaderField) string {
	var out []string
	for _, f := range fs {
		if !strings.HasPrefix(f.Name, ":") {
			out = append(out, f.Name)
		}
	}
	return "[" + strings.Join(out, " ") + "]"
}

func isCL(err error) string {
	switch {
	case err == nil:
		return "nil"
	case errors.Is(err, core.ErrContentLength):
		return "ErrContentLength"
	}
	return err.Error()
}

func init() {
	behaviours = append(behaviours,
		behaviour{
			// Neither side adds fields the application did not give —
			// except quic-go's content-length: 0 on a POST, PUT or PATCH
			// without content, which the adapter cannot suppress.
			name:   "no_fields_added",
			want:   "request GET [] POST []; response GET [] HEAD []",
			wantBy: map[string]string{"h3": "request GET [] POST [content-length]; response GET [] HEAD []"},
			run: func(t *testing.T, p proto) string {
				seen := make(chan string, 4)
				c, _ := p.start(t, serverOpts{}, func(s stream) {
					seen <- names(s.Request().Header)
					_ = s.WriteHeaders(200, nil)
					_ = s.CloseWrite()
				})
				ctx := testCtx(t)
				out := "request"
				var resp []string
				for _, m := range []string{"GET", "POST", "HEAD"} {
					s, _ := c.request(ctx, m, "/", reqOpts{endStream: true})
					r, err := s.Response(ctx)
					if err != nil {
						t.Fatal(err)
					}
					_, _ = s.ReadAll()
					if m != "HEAD" {
						out += " " + m + " " + <-seen
					} else {
						<-seen
					}
					if m != "POST" {
						resp = append(resp, m+" "+names(r.Header))
					}
				}
				return out + "; response " + strings.Join(resp, " ")
			},
		},
		behaviour{
			// Content must match the content-length field we sent (RFC 9114
			// §4.1.2, RFC 9113 §8.1.1): too much is refused by Write, too
			// little by CloseWrite, and a Respond body that does not match.
			name: "content_length_enforced",
			want: "request: EndStream=ErrContentLength over=ErrContentLength short=ErrContentLength; response: Respond=ErrContentLength over=ErrContentLength short=ErrContentLength end=nil; client got \"abcdefghij\" <nil>",
			run: func(t *testing.T, p proto) string {
				srv := make(chan string, 1)
				c, _ := p.start(t, serverOpts{}, func(s stream) {
					if s.Request().Method == "PUT" {
						_, _ = s.ReadAll()
						_ = s.Respond(204, nil, nil)
						return
					}
					e1 := s.Respond(200, []h2.HeaderField{{Name: "content-length", Value: "2"}}, []byte("abc"))
					_ = s.WriteHeaders(200, []h2.HeaderField{{Name: "content-length", Value: "10"}})
					_, _ = s.Write([]byte("abc"))
					_, e2 := s.Write([]byte("defghijk"))
					e3 := s.CloseWrite()
					_, _ = s.Write([]byte("defghij"))
					e4 := s.CloseWrite()
					srv <- fmt.Sprintf("Respond=%s over=%s short=%s end=%s", isCL(e1), isCL(e2), isCL(e3), isCL(e4))
				})
				ctx := testCtx(t)
				cl3 := h2.HeaderField{Name: "content-length", Value: "3"}
				_, e0 := c.request(ctx, "PUT", "/", reqOpts{endStream: true}, cl3)
				r, err := c.request(ctx, "PUT", "/", reqOpts{}, cl3)
				if err != nil {
					t.Fatal(err)
				}
				_, e1 := r.Write([]byte("abcd"))
				_, _ = r.Write([]byte("ab"))
				e2 := r.CloseWrite()
				_, _ = r.Write([]byte("c"))
				if err := r.CloseWrite(); err != nil {
					t.Fatal(err)
				}
				if _, err := r.ReadAll(); err != nil {
					t.Fatal(err)
				}
				s, _ := c.request(ctx, "GET", "/", reqOpts{endStream: true})
				body, err := s.ReadAll()
				return fmt.Sprintf("request: EndStream=%s over=%s short=%s; response: %s; client got %q %v",
					isCL(e0), isCL(e1), isCL(e2), <-srv, body, err)
			},
		},
	)
}
