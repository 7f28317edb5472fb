package h2_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// rtStepServer answers in two parts: a 103, the response head and part1,
// then — after one byte of request body — part2 and trailers.
func rtStepServer(part1, part2 []byte) *h2.Server {
	return &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		if s.WriteHeaders(103, []h2.HeaderField{{Name: "link", Value: "</x>"}}) != nil {
			return
		}
		if s.WriteHeaders(200, nil) != nil {
			return
		}
		if _, err := s.Write(part1); err != nil {
			return
		}
		b := make([]byte, 1)
		if _, err := io.ReadFull(s, b); err != nil {
			return
		}
		if _, err := s.Write(part2); err != nil {
			return
		}
		_ = s.WriteTrailers([]h2.HeaderField{{Name: "x-end", Value: "yes"}})
	})}
}

// TestRuntimeEventsReplayAfterDone: events that arrived before SetHandler
// are replayed in order once it is set.
func TestRuntimeEventsReplayAfterDone(t *testing.T) {
	body := rtPattern(11, 40<<10) // several DATA frames
	srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		if s.WriteHeaders(103, nil) != nil || s.WriteHeaders(200, nil) != nil {
			return
		}
		if _, err := s.Write(body); err != nil {
			return
		}
		_ = s.WriteTrailers([]h2.HeaderField{{Name: "x-end", Value: "yes"}})
	})}
	env := rtStart(t, rtOverPipe, srv, nil)
	c := env.client
	ctx := rtCtx(t)
	s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	rtDone(t, ctx, s.Done(), "stream to end") // every event is queued now
	rec := rtNewRecorder()
	s.SetHandler(rec.handle)
	rtDone(t, ctx, rec.done, "replay")
	evs, data, terminal := rec.snapshot()
	want := []string{"informational", "response", "data", "trailers", "stream_closed"}
	if got := rtCompact(evs); fmt.Sprint(got) != fmt.Sprint(want) || terminal != 1 {
		t.Errorf("replayed %v, want %v", rtKinds(evs), want)
	}
	if !bytes.Equal(data, body) {
		t.Errorf("replayed %d bytes, want %d", len(data), len(body))
	}
	if got := rtGet(evs[len(evs)-2].Headers, "x-end"); got != "yes" {
		t.Errorf("trailers %v", evs[len(evs)-2].Headers)
	}
}

// rtCompact lists event kinds with runs of data merged.
func rtCompact(evs []h2.Event) []string {
	var out []string
	for _, e := range evs {
		k := e.Kind.String()
		if len(out) > 0 && out[len(out)-1] == k && e.Kind == core.EventData {
			continue
		}
		out = append(out, k)
	}
	return out
}

// TestRuntimeEventsReplayThenLive: part of a response is pulled (Response,
// one byte of Read), the rest of what is queued is replayed to the handler
// set next — the unread remainder of a partly read DATA first — and events
// arriving after it go straight to the handler, in order.
func TestRuntimeEventsReplayThenLive(t *testing.T) {
	part1, part2 := []byte("first part"), rtPattern(12, 30<<10)
	env := rtStart(t, rtOverPipe, rtStepServer(part1, part2), nil)
	c := env.client
	ctx := rtCtx(t)
	s, err := c.Request(ctx, c.NewRequest("POST", "/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Response(ctx)
	if err != nil || resp.Status != 200 || len(resp.Informational) != 1 {
		t.Fatalf("Response %+v, %v", resp, err)
	}
	if b, err := rtReadFull(t, ctx, s, 1); err != nil || b[0] != part1[0] {
		t.Fatalf("Read: %q, %v", b, err)
	}
	rec := rtNewRecorder()
	s.SetHandler(rec.handle)
	rec.waitFor(t, ctx, "the rest of part 1", func(_ []h2.Event, data []byte) bool { return len(data) >= len(part1)-1 })
	if _, err := s.Write([]byte("!")); err != nil { // let the server go on
		t.Fatal(err)
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	rtDone(t, ctx, rec.done, "the end")
	evs, data, terminal := rec.snapshot()
	if want := append(append([]byte(nil), part1[1:]...), part2...); !bytes.Equal(data, want) {
		t.Errorf("handler got %d bytes, want %d (the remainder of part 1, then part 2)", len(data), len(want))
	}
	if got, want := rtCompact(evs), []string{"data", "trailers", "stream_closed"}; fmt.Sprint(got) != fmt.Sprint(want) || terminal != 1 {
		t.Errorf("handler got %v, want %v", rtKinds(evs), want)
	}
}

// TestRuntimeEventsSetHandlerNil: SetHandler(nil) returns the stream to
// queueing: later events are left for the pull API, and Response still
// returns the head the handler saw.
func TestRuntimeEventsSetHandlerNil(t *testing.T) {
	part1, part2 := []byte("one"), []byte("two")
	env := rtStart(t, rtOverPipe, rtStepServer(part1, part2), nil)
	c := env.client
	ctx := rtCtx(t)
	rec := rtNewRecorder()
	s, err := c.Request(ctx, c.NewRequest("POST", "/"), &h2.RequestOptions{Handler: rec.handle})
	if err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, ctx, "part 1", func(_ []h2.Event, data []byte) bool { return string(data) == "one" })
	s.SetHandler(nil)
	if _, err := s.Write([]byte("!")); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	rest, err := rtReadAll(t, ctx, s)
	if err != nil || string(rest) != "two" {
		t.Fatalf("pulled %q, %v; want the events after SetHandler(nil)", rest, err)
	}
	if tr := s.Trailers(); rtGet(tr, "x-end") != "yes" {
		t.Errorf("Trailers() = %v", tr)
	}
	resp, err := s.Response(ctx)
	if err != nil || resp.Status != 200 || len(resp.Informational) != 1 {
		t.Errorf("Response() = %+v, %v", resp, err)
	}
	evs, data, terminal := rec.snapshot()
	if string(data) != "one" || terminal != 0 {
		t.Errorf("the handler got %v (%q) after it was removed", rtKinds(evs), data)
	}
}

// TestRuntimeEventsDrain: DrainEvents returns the queued events as one
// batch, in order, and leaves the queue empty.
func TestRuntimeEventsDrain(t *testing.T) {
	body := rtPattern(13, 20<<10)
	srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		_ = s.Respond(200, []h2.HeaderField{{Name: "x-a", Value: "1"}}, body)
	})}
	env := rtStart(t, rtOverPipe, srv, nil)
	c := env.client
	ctx := rtCtx(t)
	s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	rtDone(t, ctx, s.Done(), "stream")
	evs, err := s.DrainEvents()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rtCompact(evs), []string{"response", "data", "stream_closed"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("DrainEvents = %v, want %v", rtKinds(evs), want)
	}
	var data []byte
	for _, e := range evs {
		data = append(data, e.Data...)
	}
	if !bytes.Equal(data, body) || evs[0].Status != 200 || evs[0].Header("x-a") != "1" {
		t.Errorf("drained %d bytes, head %d %v", len(data), evs[0].Status, evs[0].Headers)
	}
	if again, err := s.DrainEvents(); err != nil || len(again) != 0 {
		t.Errorf("second DrainEvents = %v, %v; want nothing", rtKinds(again), err)
	}
	// The drained events were noted: Response is known, Read is at EOF.
	if resp, err := s.Response(ctx); err != nil || resp.Status != 200 {
		t.Errorf("Response after DrainEvents: %v, %v", resp, err)
	}
	if _, err := rtRead(t, ctx, s, 1); err != io.EOF {
		t.Errorf("Read after DrainEvents: %v, want io.EOF", err)
	}
}

// TestRuntimeEventsHandlerSetRefusesPull: while a handler is set, Response,
// Read and DrainEvents return ErrHandlerSet.
func TestRuntimeEventsHandlerSetRefusesPull(t *testing.T) {
	release := make(chan struct{})
	srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		select {
		case <-release:
		case <-s.Context().Done():
			return
		}
		_ = s.Respond(200, nil, []byte("late"))
	})}
	env := rtStart(t, rtOverPipe, srv, nil)
	c := env.client
	ctx := rtCtx(t)
	rec := rtNewRecorder()
	s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true, Handler: rec.handle})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Response(ctx); !errors.Is(err, h2.ErrHandlerSet) {
		t.Errorf("Response with a handler: %v, want ErrHandlerSet", err)
	}
	if _, err := rtRead(t, ctx, s, 10); !errors.Is(err, h2.ErrHandlerSet) {
		t.Errorf("Read with a handler: %v, want ErrHandlerSet", err)
	}
	if _, err := s.DrainEvents(); !errors.Is(err, h2.ErrHandlerSet) {
		t.Errorf("DrainEvents with a handler: %v, want ErrHandlerSet", err)
	}
	close(release)
	rtDone(t, ctx, rec.done, "stream")
	if _, data, _ := rec.snapshot(); string(data) != "late" {
		t.Errorf("handler got %q", data)
	}
}

// TestRuntimeEventsReadAfterHandlerTookReset: a handler took every event,
// the terminal reset included, and was then removed. Read must report the
// reset (RFC: the stream is over) instead of waiting forever, and Response
// the same error instead of waiting for its context.
func TestRuntimeEventsReadAfterHandlerTookReset(t *testing.T) {
	srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		_ = s.Reset(frame.ErrCodeRefusedStream)
	})}
	env := rtStart(t, rtOverPipe, srv, nil)
	c := env.client
	ctx := rtCtx(t)
	rec := rtNewRecorder()
	s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true, Handler: rec.handle})
	if err != nil {
		t.Fatal(err)
	}
	rtDone(t, ctx, rec.done, "reset")
	s.SetHandler(nil)
	rtStreamErr(t, "Err", s.Err(), frame.ErrCodeRefusedStream, true)

	read := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 10))
		read <- err
	}()
	// The stream is over: Read has nothing to wait for.
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	select {
	case err := <-read:
		rtStreamErr(t, "Read after the handler took the reset", err, frame.ErrCodeRefusedStream, true)
	case <-rctx.Done():
		t.Errorf("Read after the handler took the terminal reset blocks forever; want the *core.StreamError")
	}
	rctx2, cancel2 := context.WithTimeout(ctx, time.Second)
	defer cancel2()
	_, err = s.Response(rctx2)
	rtStreamErr(t, "Response after the handler took the reset", err, frame.ErrCodeRefusedStream, true)
}

// TestRuntimeEventsInlineServer: an Inline server's handler runs on the
// connection goroutine and answers at once with Respond; concurrent
// requests all get their answers.
func TestRuntimeEventsInlineServer(t *testing.T) {
	for _, kind := range rtTransports {
		t.Run(string(kind), func(t *testing.T) {
			srv := &h2.Server{Inline: true, Handler: h2.HandlerFunc(func(s *h2.Stream) {
				if s.Request().Method == "GET" {
					_ = s.Respond(200, nil, []byte("inline "+s.Request().Path))
					return
				}
				// Echo a small body, collected with a stream handler: no
				// blocking call on the connection goroutine.
				var buf bytes.Buffer
				s.SetHandler(func(s *h2.Stream, e h2.Event) {
					switch e.Kind {
					case core.EventData:
						buf.Write(e.Data)
						if e.EndStream {
							_ = s.Respond(200, nil, buf.Bytes())
						}
					case core.EventTrailers:
						_ = s.Respond(200, nil, buf.Bytes())
					}
				})
			})}
			env := rtStart(t, kind, srv, nil)
			c := env.client
			ctx := rtCtx(t)
			const n = 20
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					path := fmt.Sprintf("/%d", i)
					var s *h2.Stream
					var err error
					want := "inline " + path
					if i%2 == 0 {
						s, err = c.Request(ctx, c.NewRequest("GET", path), &h2.RequestOptions{EndStream: true})
					} else {
						want = fmt.Sprintf("echo %d %s", i, bytes.Repeat([]byte("z"), i*100))
						s, err = c.Request(ctx, c.NewRequest("POST", path), nil)
						if err == nil {
							_, err = s.Write([]byte(want))
						}
						if err == nil {
							err = s.CloseWrite()
						}
					}
					if err != nil {
						errs <- err
						return
					}
					body, err := s.ReadAll()
					if err == nil && string(body) != want {
						err = fmt.Errorf("%s: got %q", path, body)
					}
					if err != nil {
						errs <- err
					}
				}()
			}
			finished := make(chan struct{})
			go func() { wg.Wait(); close(finished) }()
			rtDone(t, ctx, finished, "inline requests")
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// TestRuntimeEventsInlineAnswerLater: an Inline handler may return without
// answering; the stream stays open and another goroutine answers later.
func TestRuntimeEventsInlineAnswerLater(t *testing.T) {
	pending := make(chan *h2.Stream, 1)
	srv := &h2.Server{Inline: true, Handler: h2.HandlerFunc(func(s *h2.Stream) { pending <- s })}
	env := rtStart(t, rtOverPipe, srv, nil)
	c := env.client
	ctx := rtCtx(t)
	s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	ss := rtWait(t, ctx, pending, "handler")
	// Answer from this goroutine with a body larger than the send buffer:
	// Respond may block here, which is allowed off the connection
	// goroutine.
	body := rtPattern(14, 200<<10)
	if err := ss.Respond(200, nil, body); err != nil {
		t.Fatal(err)
	}
	got, err := rtReadAll(t, ctx, s)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("body %d bytes, %v", len(got), err)
	}
	rtDone(t, ctx, ss.Done(), "server stream")
}
