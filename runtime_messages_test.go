package h2_test

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"testing"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
)

func rtGet(fs []h2.HeaderField, name string) string {
	for _, f := range fs {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// TestRuntimeMessagesTrailersBothWays: the client's WriteTrailers reach the
// server's Trailers() after its Read returns io.EOF, and the server's
// WriteTrailers reach the client's Trailers().
func TestRuntimeMessagesTrailersBothWays(t *testing.T) {
	for _, kind := range rtTransports {
		t.Run(string(kind), func(t *testing.T) {
			type got struct {
				body     []byte
				trailers []h2.HeaderField
				err      error
			}
			seen := make(chan got, 1)
			srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
				if tr := s.Trailers(); tr != nil {
					seen <- got{err: fmt.Errorf("trailers before the body was read: %v", tr)}
					return
				}
				body, err := io.ReadAll(s)
				seen <- got{body: body, trailers: s.Trailers(), err: err}
				if err != nil {
					return
				}
				if s.WriteHeaders(200, nil) != nil {
					return
				}
				if _, err := s.Write(body); err != nil {
					return
				}
				sum := rtSum(body)
				_ = s.WriteTrailers([]h2.HeaderField{
					{Name: "x-sha256", Value: fmt.Sprintf("%x", sum[:])},
					{Name: "x-len", Value: strconv.Itoa(len(body))},
				})
			})}
			env := rtStart(t, kind, srv, nil)
			c := env.client
			ctx := rtCtx(t)
			body := rtPattern(8, 100<<10)
			s, err := c.Request(ctx, c.NewRequest("POST", "/"), nil)
			if err != nil {
				t.Fatal(err)
			}
			wrote := make(chan error, 1)
			go func() {
				if _, err := s.Write(body); err != nil {
					wrote <- err
					return
				}
				wrote <- s.WriteTrailers([]h2.HeaderField{{Name: "x-client", Value: "done"}, {Name: "x-count", Value: "1"}})
			}()
			g := rtWait(t, ctx, seen, "the server to read the request")
			if g.err != nil || !bytes.Equal(g.body, body) {
				t.Fatalf("server read %d bytes, %v", len(g.body), g.err)
			}
			if rtGet(g.trailers, "x-client") != "done" || rtGet(g.trailers, "x-count") != "1" || len(g.trailers) != 2 {
				t.Errorf("server Trailers() = %v", g.trailers)
			}
			if err := rtWait(t, ctx, wrote, "client write"); err != nil {
				t.Fatal(err)
			}
			if s.Trailers() != nil {
				t.Errorf("client Trailers() before the body was read: %v", s.Trailers())
			}
			echo, err := rtReadAll(t, ctx, s)
			if err != nil || !bytes.Equal(echo, body) {
				t.Fatalf("echo %d bytes, %v", len(echo), err)
			}
			sum := rtSum(body)
			tr := s.Trailers()
			if rtGet(tr, "x-sha256") != fmt.Sprintf("%x", sum[:]) || rtGet(tr, "x-len") != strconv.Itoa(len(body)) {
				t.Errorf("client Trailers() = %v", tr)
			}
			for _, f := range tr {
				if f.Name[0] == ':' {
					t.Errorf("trailer pseudo-header %q", f.Name)
				}
			}
			// Writing after the trailers is refused.
			if _, err := s.Write([]byte("late")); err == nil {
				t.Errorf("Write after WriteTrailers succeeded")
			}
		})
	}
}

// TestRuntimeMessagesEarlyHints: 103 responses sent with WriteHeaders
// before the final response reach the client in Response().Informational,
// in order.
func TestRuntimeMessagesEarlyHints(t *testing.T) {
	handler := h2.HandlerFunc(func(s *h2.Stream) {
		if s.WriteHeaders(103, []h2.HeaderField{{Name: "link", Value: "</a.css>; rel=preload"}}) != nil {
			return
		}
		if s.WriteHeaders(103, []h2.HeaderField{{Name: "link", Value: "</b.js>; rel=preload"}}) != nil {
			return
		}
		_ = s.Respond(200, []h2.HeaderField{{Name: "content-type", Value: "text/html"}}, []byte("<html>"))
	})
	for _, kind := range rtTransports {
		t.Run(string(kind), func(t *testing.T) {
			env := rtStart(t, kind, &h2.Server{Handler: handler}, nil)
			c := env.client
			ctx := rtCtx(t)
			s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := s.Response(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != 200 || resp.Get("content-type") != "text/html" || resp.Get(":status") != "200" {
				t.Errorf("response %+v", resp)
			}
			if len(resp.Informational) != 2 {
				t.Fatalf("Informational = %+v, want two 103s", resp.Informational)
			}
			for i, want := range []string{"</a.css>; rel=preload", "</b.js>; rel=preload"} {
				inf := resp.Informational[i]
				if inf.Status != 103 || rtGet(inf.Header, "link") != want {
					t.Errorf("Informational[%d] = %+v, want 103 link %q", i, inf, want)
				}
			}
			if b, err := rtReadAll(t, ctx, s); err != nil || string(b) != "<html>" {
				t.Errorf("body %q, %v", b, err)
			}
		})
	}
}

// TestRuntimeMessagesContinue: a 100-continue exchange. The client sends
// its head with "expect: 100-continue", waits for the 100 (an
// EventInformational through its handler) before sending the body, then
// gets the final response.
func TestRuntimeMessagesContinue(t *testing.T) {
	for _, kind := range rtTransports {
		t.Run(string(kind), func(t *testing.T) {
			srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
				if s.Request().Get("expect") != "100-continue" {
					_ = s.Respond(417, nil, nil)
					return
				}
				if s.WriteHeaders(100, nil) != nil {
					return
				}
				body, err := io.ReadAll(s)
				if err != nil {
					return
				}
				_ = s.Respond(200, nil, []byte(strconv.Itoa(len(body))))
			})}
			env := rtStart(t, kind, srv, nil)
			c := env.client
			ctx := rtCtx(t)
			rec := rtNewRecorder()
			s, err := c.Request(ctx, c.NewRequest("PUT", "/upload", h2.HeaderField{Name: "expect", Value: "100-continue"}),
				&h2.RequestOptions{Handler: rec.handle})
			if err != nil {
				t.Fatal(err)
			}
			rec.waitFor(t, ctx, "100 Continue", func(evs []h2.Event, _ []byte) bool { return len(evs) > 0 })
			evs, _, _ := rec.snapshot()
			if evs[0].Kind != core.EventInformational || evs[0].Status != 100 {
				t.Fatalf("first event %v %d, want informational 100", evs[0].Kind, evs[0].Status)
			}
			body := rtPattern(9, 50<<10)
			if _, err := s.WriteContext(ctx, body); err != nil {
				t.Fatal(err)
			}
			if err := s.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			rtDone(t, ctx, rec.done, "the final response")
			evs, data, terminal := rec.snapshot()
			var kinds []core.EventKind
			for _, e := range evs {
				if e.Kind != core.EventData {
					kinds = append(kinds, e.Kind)
				}
			}
			want := []core.EventKind{core.EventInformational, core.EventResponse, core.EventStreamClosed}
			if fmt.Sprint(kinds) != fmt.Sprint(want) || terminal != 1 {
				t.Errorf("events %v, want %v with data between", rtKinds(evs), want)
			}
			if string(data) != strconv.Itoa(len(body)) {
				t.Errorf("server counted %q bytes, want %d", data, len(body))
			}
			// The pull API agrees once the handler is gone.
			s.SetHandler(nil)
			resp, err := s.Response(ctx)
			if err != nil || resp.Status != 200 || len(resp.Informational) != 1 || resp.Informational[0].Status != 100 {
				t.Errorf("Response() after the handler: %+v, %v", resp, err)
			}
		})
	}
}
