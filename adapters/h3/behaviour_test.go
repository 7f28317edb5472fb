package h3_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/adapters/h3"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// A behaviour case runs against one protocol and returns what it
// observed, as text. Every protocol must observe want, unless wantBy
// names a documented difference (docs/adapters-h3.md).
type behaviour struct {
	name   string
	want   string
	wantBy map[string]string
	run    func(t *testing.T, p proto) string
}

func TestBehaviour(t *testing.T) {
	for _, bc := range behaviours {
		t.Run(bc.name, func(t *testing.T) {
			got := map[string]string{}
			for _, p := range protos {
				t.Run(p.name, func(t *testing.T) {
					got[p.name] = bc.run(t, p)
					want := bc.want
					if w, ok := bc.wantBy[p.name]; ok {
						want = w
					}
					if got[p.name] != want {
						t.Errorf("observed\n%s\nwant\n%s", got[p.name], want)
					}
				})
			}
			if bc.wantBy == nil && got["h2"] != got["h3"] {
				t.Errorf("h2 and h3 differ:\nh2: %s\nh3: %s", got["h2"], got["h3"])
			}
		})
	}
}

// resetOf describes an error as the table compares it.
func resetOf(err error) string {
	var se *core.StreamError
	switch {
	case err == nil:
		return "nil"
	case errors.As(err, &se):
		return fmt.Sprintf("reset %v remote=%v", se.Code, se.Remote)
	case errors.Is(err, h3.ErrNotSupported):
		return "not supported"
	}
	return "error " + err.Error()
}

// compact describes events with the content of adjacent data events
// joined: HTTP/2 sets END_STREAM on the last DATA frame, quic-go reports
// the end after it.
func compact(evs []h2.Event) string {
	var parts []string
	var data []byte
	inData, end := false, false
	flush := func() {
		if inData {
			parts = append(parts, fmt.Sprintf("data %q end=%v", data, end))
		}
		inData, data, end = false, nil, false
	}
	for _, e := range evs {
		if e.Kind == core.EventData {
			inData = true
			data = append(data, e.Data...)
			end = end || e.EndStream
			continue
		}
		flush()
		switch e.Kind {
		case core.EventResponse:
			parts = append(parts, fmt.Sprintf("response %d", e.Status))
		default:
			parts = append(parts, e.Kind.String())
		}
	}
	flush()
	return strings.Join(parts, ", ")
}

func field(fs []h2.HeaderField, name string) string {
	for _, f := range fs {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func echo(s stream) {
	if s.WriteHeaders(200, nil) != nil {
		return
	}
	if _, err := io.Copy(s, s); err != nil {
		return
	}
	_ = s.WriteTrailers(s.Trailers())
}

var behaviours = []behaviour{
	{
		name: "get_with_body",
		want: `200 x-test=yes "hello" err=<nil> trailers=0`,
		run: func(t *testing.T, p proto) string {
			c, _ := p.start(t, serverOpts{}, func(s stream) {
				_ = s.Respond(200, []h2.HeaderField{{Name: "x-test", Value: "yes"}}, []byte("hello"))
			})
			ctx := testCtx(t)
			s, err := c.request(ctx, "GET", "/", reqOpts{endStream: true})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := s.Response(ctx)
			if err != nil {
				t.Fatal(err)
			}
			body, err := s.ReadAll()
			return fmt.Sprintf("%d x-test=%s %q err=%v trailers=%d", resp.Status, resp.Get("x-test"), body, err, len(s.Trailers()))
		},
	},
	{
		name: "post_echo_1MiB",
		want: "200 equal=true len=1048576 err=<nil>",
		run: func(t *testing.T, p proto) string {
			c, _ := p.start(t, serverOpts{}, echo)
			ctx := testCtx(t)
			s, err := c.request(ctx, "POST", "/echo", reqOpts{})
			if err != nil {
				t.Fatal(err)
			}
			msg := pattern(1 << 20)
			go func() {
				for off := 0; off < len(msg); off += 50000 {
					if _, err := s.Write(msg[off:min(off+50000, len(msg))]); err != nil {
						return
					}
				}
				_ = s.CloseWrite()
			}()
			resp, err := s.Response(ctx)
			if err != nil {
				t.Fatal(err)
			}
			body, err := s.ReadAll()
			return fmt.Sprintf("%d equal=%v len=%d err=%v", resp.Status, bytes.Equal(body, msg), len(body), err)
		},
	},
	{
		name: "response_trailers",
		want: `"abc" x-sum=6 x-other=z`,
		run: func(t *testing.T, p proto) string {
			c, _ := p.start(t, serverOpts{}, func(s stream) {
				_ = s.WriteHeaders(200, []h2.HeaderField{{Name: "trailer", Value: "x-sum"}})
				_, _ = s.Write([]byte("abc"))
				_ = s.WriteTrailers([]h2.HeaderField{{Name: "x-sum", Value: "6"}, {Name: "x-other", Value: "z"}})
			})
			ctx := testCtx(t)
			s, _ := c.request(ctx, "GET", "/", reqOpts{endStream: true})
			body, err := s.ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			tr := s.Trailers()
			return fmt.Sprintf("%q x-sum=%s x-other=%s", body, field(tr, "x-sum"), field(tr, "x-other"))
		},
	},
	{
		name: "request_trailers",
		want: `body="data" x-req=42 end=<nil>`,
		run: func(t *testing.T, p proto) string {
			got := make(chan string, 1)
			c, _ := p.start(t, serverOpts{}, func(s stream) {
				body, err := s.ReadAll()
				got <- fmt.Sprintf("body=%q x-req=%s end=%v", body, field(s.Trailers(), "x-req"), err)
				_ = s.Respond(204, nil, nil)
			})
			ctx := testCtx(t)
			s, _ := c.request(ctx, "POST", "/", reqOpts{})
			_, _ = s.Write([]byte("data"))
			if err := s.WriteTrailers([]h2.HeaderField{{Name: "x-req", Value: "42"}}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ReadAll(); err != nil {
				t.Fatal(err)
			}
			return <-got
		},
	},
	{
		name: "informational_1xx",
		want: "103 link=</a> then 200",
		run: func(t *testing.T, p proto) string {
			c, _ := p.start(t, serverOpts{}, func(s stream) {
				_ = s.WriteHeaders(103, []h2.HeaderField{{Name: "link", Value: "</a>"}})
				_ = s.Respond(200, nil, nil)
			})
			ctx := testCtx(t)
			s, _ := c.request(ctx, "GET", "/", reqOpts{endStream: true})
			resp, err := s.Response(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Informational) != 1 {
				return fmt.Sprintf("%d informational", len(resp.Informational))
			}
			i := resp.Informational[0]
			return fmt.Sprintf("%d link=%s then %d", i.Status, field(i.Header, "link"), resp.Status)
		},
	},
	{
		name: "server_reset_before_content",
		want: "client: reset ENHANCE_YOUR_CALM remote=true; server Reset: nil",
		run: func(t *testing.T, p proto) string {
			res := make(chan error, 1)
			c, _ := p.start(t, serverOpts{}, func(s stream) {
				res <- s.Reset(frame.ErrCodeEnhanceYourCalm)
			})
			ctx := testCtx(t)
			s, _ := c.request(ctx, "GET", "/", reqOpts{endStream: true})
			_, err := s.Response(ctx)
			<-s.Done()
			return fmt.Sprintf("client: %s; server Reset: %s", resetOf(err), resetOf(<-res))
		},
	},
	{
		name: "server_reset_after_content",
		want: "client: reset ENHANCE_YOUR_CALM remote=true; server Reset: nil",
		// quic-go can only abort a handler (H3_INTERNAL_ERROR) once
		// content went out; the adapter says so.
		wantBy: map[string]string{"h3": "client: reset INTERNAL_ERROR remote=true; server Reset: not supported"},
		run: func(t *testing.T, p proto) string {
			res := make(chan error, 1)
			c, _ := p.start(t, serverOpts{}, func(s stream) {
				_ = s.WriteHeaders(200, nil)
				_, _ = s.Write([]byte("partial"))
				_, _ = s.Read(make([]byte, 1)) // the client's byte: the content reached it
				res <- s.Reset(frame.ErrCodeEnhanceYourCalm)
			})
			ctx := testCtx(t)
			s, _ := c.request(ctx, "POST", "/", reqOpts{})
			if _, err := s.Response(ctx); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 7)
			if _, err := io.ReadFull(s, buf); err != nil {
				t.Fatal(err)
			}
			_, _ = s.Write([]byte("x"))
			_, err := s.ReadAll()
			return fmt.Sprintf("client: %s; server Reset: %s", resetOf(err), resetOf(<-res))
		},
	},
	{
		name: "client_cancel",
		want: "server read: reset CANCEL remote=true ctx=context canceled; client Err: reset CANCEL remote=false",
		run: func(t *testing.T, p proto) string {
			got := make(chan string, 1)
			started := make(chan struct{})
			c, _ := p.start(t, serverOpts{}, func(s stream) {
				_ = s.WriteHeaders(200, nil)
				buf := make([]byte, 3)
				_, _ = io.ReadFull(s, buf)
				close(started)
				_, err := s.Read(buf)
				<-s.Context().Done()
				got <- fmt.Sprintf("server read: %s ctx=%v", resetOf(err), s.Context().Err())
			})
			ctx := testCtx(t)
			s, _ := c.request(ctx, "POST", "/", reqOpts{})
			_, _ = s.Write([]byte("abc"))
			<-started
			if err := s.Cancel(); err != nil {
				t.Fatal(err)
			}
			<-s.Done()
			return fmt.Sprintf("%s; client Err: %s", <-got, resetOf(s.Err()))
		},
	},
	{
		name: "request_context_cancel",
		want: "client Err: reset CANCEL remote=false",
		run: func(t *testing.T, p proto) string {
			c, _ := p.start(t, serverOpts{}, func(s stream) { <-s.Context().Done() })
			ctx, cancel := context.WithCancel(testCtx(t))
			s, _ := c.request(ctx, "GET", "/", reqOpts{endStream: true})
			cancel()
			<-s.Done()
			return "client Err: " + resetOf(s.Err())
		},
	},
	{
		name: "handler_replay",
		want: `response 200, data "hello" end=true, stream_closed`,
		run: func(t *testing.T, p proto) string {
			c, _ := p.start(t, serverOpts{}, func(s stream) { _ = s.Respond(200, nil, []byte("hello")) })
			ctx := testCtx(t)
			s, _ := c.request(ctx, "GET", "/", reqOpts{endStream: true})
			<-s.Done() // every event is queued by now
			evs := make(chan h2.Event, 16)
			p.setHandler(s, func(e h2.Event) {
				e.Data = append([]byte(nil), e.Data...)
				evs <- e
			})
			var all []h2.Event
			for e := range evs {
				all = append(all, e)
				if e.Kind == core.EventStreamClosed || e.Kind == core.EventStreamReset {
					break
				}
			}
			return compact(all)
		},
	},
	{
		name: "drain_events",
		want: `response 200, data "bye" end=true, stream_closed; read after: EOF`,
		run: func(t *testing.T, p proto) string {
			c, _ := p.start(t, serverOpts{}, func(s stream) { _ = s.Respond(200, nil, []byte("bye")) })
			ctx := testCtx(t)
			s, _ := c.request(ctx, "GET", "/", reqOpts{endStream: true})
			<-s.Done()
			evs, err := s.DrainEvents()
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Read(make([]byte, 1))
			return fmt.Sprintf("%s; read after: %v", compact(evs), err)
		},
	},
	{
		name: "bidi_ping_pong",
		want: "rounds=20 tail=\"\" trailers=grpc-status:0 err=<nil> server=EOF",
		run: func(t *testing.T, p proto) string {
			srvEnd := make(chan error, 1)
			c, _ := p.start(t, serverOpts{}, func(s stream) {
				_ = s.WriteHeaders(200, nil)
				buf := make([]byte, 4)
				for {
					if _, err := io.ReadFull(s, buf); err != nil {
						srvEnd <- err
						break
					}
					buf[0] = 'q'
					if _, err := s.Write(buf); err != nil {
						srvEnd <- err
						return
					}
				}
				_ = s.WriteTrailers([]h2.HeaderField{{Name: "grpc-status", Value: "0"}})
			})
			ctx := testCtx(t)
			s, _ := c.request(ctx, "POST", "/pp", reqOpts{})
			rounds := 0
			buf := make([]byte, 4)
			for i := range 20 {
				msg := fmt.Sprintf("p%03d", i)
				if _, err := s.Write([]byte(msg)); err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadFull(s, buf); err != nil {
					t.Fatal(err)
				}
				if string(buf) == "q"+msg[1:] {
					rounds++
				}
			}
			if err := s.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			tail, err := s.ReadAll()
			return fmt.Sprintf("rounds=%d tail=%q trailers=grpc-status:%s err=%v server=%v",
				rounds, tail, field(s.Trailers(), "grpc-status"), err, <-srvEnd)
		},
	},
	{
		name: "server_shutdown",
		want: `in-flight: "done" nil; conn Err: <nil>; shutdown: <nil>; new request fails: true`,
		run: func(t *testing.T, p proto) string {
			release := make(chan struct{})
			started := make(chan struct{})
			c, shutdown := p.start(t, serverOpts{}, func(s stream) {
				close(started)
				<-release
				_ = s.Respond(200, nil, []byte("done"))
			})
			ctx := testCtx(t)
			s, _ := c.request(ctx, "GET", "/slow", reqOpts{endStream: true})
			<-started
			shut := make(chan error, 1)
			go func() { shut <- shutdown(ctx) }()
			close(release)
			body, err := s.ReadAll()
			<-c.done()
			serr := <-shut
			s2, rerr := c.request(ctx, "GET", "/", reqOpts{endStream: true})
			if rerr == nil {
				_, rerr = s2.Response(ctx)
			}
			return fmt.Sprintf("in-flight: %q %s; conn Err: %v; shutdown: %v; new request fails: %v",
				body, resetOf(err), c.err(), serr, rerr != nil)
		},
	},
	{
		name: "try_write_send_buffer_full",
		want: "partial=true full=true; received 1048576 equal=true",
		run: func(t *testing.T, p proto) string {
			got := make(chan string, 1)
			c, _ := p.start(t, serverOpts{}, func(s stream) {
				body, _ := s.ReadAll()
				got <- fmt.Sprintf("received %d equal=%v", len(body), bytes.Equal(body, pattern(1<<20)))
				_ = s.Respond(204, nil, nil)
			})
			ctx := testCtx(t)
			s, _ := c.request(ctx, "POST", "/", reqOpts{})
			msg := pattern(1 << 20)
			n, err := s.TryWrite(msg)
			head := fmt.Sprintf("partial=%v full=%v", n < len(msg), errors.Is(err, core.ErrSendBufferFull))
			if _, err := s.Write(msg[n:]); err != nil {
				t.Fatal(err)
			}
			_ = s.CloseWrite()
			return head + "; " + <-got
		},
	},
	{
		// The receiver holds the sender back until it consumes: with the
		// client's receive side shrunk to smallWindow, what the server's
		// Write takes while the client consumes nothing is bounded by
		// its send buffer (64 KiB), the stream window and, for h3, the
		// ReceiveBuffer the adapter reads ahead into — far below total.
		// The write deadline only ends the observation: the check is the
		// bound, not the time.
		name: "manual_consume",
		want: "auto Consume: h2: stream uses automatic flow control; held back within bound: true; consumed 1048576 err=<nil>",
		run: func(t *testing.T, p proto) string {
			const total = 1 << 20
			const bound = 64<<10 + smallWindow + smallWindow + 64<<10 // send buffer + window + ReceiveBuffer + slack
			stalled := make(chan int, 1)
			c, _ := p.start(t, serverOpts{small: true}, func(s stream) {
				_ = s.WriteHeaders(200, nil)
				wctx, cancel := context.WithTimeout(s.Context(), 300*time.Millisecond)
				n, err := s.WriteContext(wctx, pattern(total))
				cancel()
				if !errors.Is(err, context.DeadlineExceeded) {
					n = total + 1 // not held back at all
				}
				stalled <- n
				if _, err := s.Write(pattern(total)[n:]); err != nil {
					return
				}
				_ = s.CloseWrite()
			})
			ctx := testCtx(t)
			auto, _ := c.request(ctx, "GET", "/", reqOpts{endStream: true})
			autoErr := auto.Consume(1)
			s, _ := c.request(ctx, "GET", "/big", reqOpts{endStream: true, manual: true})
			if _, err := s.Response(ctx); err != nil {
				t.Fatal(err)
			}
			taken := <-stalled
			if taken > bound {
				t.Logf("the server wrote %d bytes with nothing consumed (bound %d)", taken, bound)
			}
			n := 0
			buf := make([]byte, 64<<10)
			var err error
			for {
				var k int
				k, err = s.Read(buf)
				n += k
				if k > 0 {
					if cerr := s.Consume(k); cerr != nil {
						t.Fatal(cerr)
					}
				}
				if err != nil {
					break
				}
			}
			if err == io.EOF {
				err = nil
			}
			return fmt.Sprintf("auto Consume: %v; held back within bound: %v; consumed %d err=%v", autoErr, taken <= bound, n, err)
		},
	},
}
