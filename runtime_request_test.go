package h2_test

import (
	"testing"

	h2 "github.com/h2proto/h2"
)

// TestRuntimeRequestEndStream: Request.EndStream tells a handler whether the
// request's HEADERS ended the stream (RFC 9113 §8.1): true for a request
// without content, false for one whose body follows, even an empty one.
func TestRuntimeRequestEndStream(t *testing.T) {
	type seen struct {
		path string
		end  bool
	}
	got := make(chan seen, 4)
	srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		r := s.Request()
		got <- seen{r.Path, r.EndStream}
		_, _ = s.ReadAll()
		_ = s.Respond(204, nil, nil)
	})}
	env := rtStart(t, rtOverPipe, srv, nil)
	c := env.client
	ctx := rtCtx(t)
	for _, tc := range []struct {
		path      string
		endStream bool
		body      []byte
	}{
		{"/headers-only", true, nil},
		{"/empty-body", false, nil},
		{"/with-body", false, []byte("hello")},
	} {
		s, err := c.Request(ctx, c.NewRequest("POST", tc.path), &h2.RequestOptions{EndStream: tc.endStream})
		if err != nil {
			t.Fatal(err)
		}
		if !tc.endStream {
			if _, err := s.Write(tc.body); err != nil {
				t.Fatal(err)
			}
			if err := s.CloseWrite(); err != nil {
				t.Fatal(err)
			}
		}
		if resp, err := s.Response(ctx); err != nil || resp.Status != 204 {
			t.Fatalf("%s: Response %v, %v", tc.path, resp, err)
		}
		g := rtWait(t, ctx, got, "handler for "+tc.path)
		if g.path != tc.path || g.end != tc.endStream {
			t.Errorf("handler saw %+v, want path %s EndStream %v", g, tc.path, tc.endStream)
		}
	}
}

// TestRuntimeResponseEndStream: Response.EndStream tells a client whether
// the response's HEADERS ended the stream: true for a response without
// content, false when content follows, even none.
func TestRuntimeResponseEndStream(t *testing.T) {
	srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		switch s.Request().Path {
		case "/headers-only":
			_ = s.Respond(204, nil, nil)
		case "/empty-body":
			if err := s.WriteHeaders(200, nil); err == nil {
				_ = s.CloseWrite()
			}
		default:
			_ = s.Respond(200, nil, []byte("hello"))
		}
	})}
	env := rtStart(t, rtOverPipe, srv, nil)
	c := env.client
	ctx := rtCtx(t)
	for _, tc := range []struct {
		path string
		end  bool
		body string
	}{{"/headers-only", true, ""}, {"/empty-body", false, ""}, {"/with-body", false, "hello"}} {
		s, err := c.Request(ctx, c.NewRequest("GET", tc.path), &h2.RequestOptions{EndStream: true})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := s.Response(ctx)
		if err != nil {
			t.Fatal(err)
		}
		body, err := s.ReadAll()
		if resp.EndStream != tc.end || string(body) != tc.body || err != nil {
			t.Errorf("%s: EndStream %v, body %q, %v; want %v, %q", tc.path, resp.EndStream, body, err, tc.end, tc.body)
		}
	}
}

// TestRuntimeRequestSet: Request.Set reads the pseudo-header fields, which
// come first (RFC 9113 §8.3), and keeps the given slice as Header without
// copying it (adapters/gnet borrows the core's fields this way).
func TestRuntimeRequestSet(t *testing.T) {
	fs := []h2.HeaderField{
		{Name: ":method", Value: "CONNECT"}, {Name: ":protocol", Value: "websocket"},
		{Name: ":scheme", Value: "https"}, {Name: ":authority", Value: "example.com"},
		{Name: ":path", Value: "/chat"}, {Name: "x-a", Value: "1"},
	}
	var r h2.Request
	r.Set(fs, true)
	if r.Method != "CONNECT" || r.Protocol != "websocket" || r.Scheme != "https" ||
		r.Authority != "example.com" || r.Path != "/chat" || !r.EndStream || r.Get("x-a") != "1" {
		t.Fatalf("Set gave %+v", r)
	}
	if &r.Header[0] != &fs[0] {
		t.Error("Set copied the fields; its doc says it keeps them")
	}
	r.Set(fs[5:], false)
	if r.Method != "" || r.Path != "" || r.EndStream || len(r.Header) != 1 {
		t.Errorf("Set kept earlier values: %+v", r)
	}
}
