package h2_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"
	"sync"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core/frame"
)

// rtEchoHandler streams the request body back, then ends the response.
func rtEchoHandler(s *h2.Stream) {
	if s.WriteHeaders(200, nil) != nil {
		return
	}
	if _, err := io.Copy(s, s); err != nil {
		return
	}
	_ = s.CloseWrite()
}

// rtEchoMany runs n concurrent /echo streams of size bytes each and
// compares SHA-256 sums of what was sent and what came back.
func rtEchoMany(t *testing.T, ctx context.Context, c *h2.Conn, n, size int) {
	t.Helper()
	for _, err := range rtEchoManyErrs(ctx, c, n, size) {
		t.Error(err)
	}
}

// rtEchoManyErrs is rtEchoMany returning the failures, for use off the
// test goroutine.
func rtEchoManyErrs(ctx context.Context, c *h2.Conn, n, size int) []error {
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := c.Request(ctx, c.NewRequest("POST", "/echo"), nil)
			if err != nil {
				errs <- err
				return
			}
			body := rtPattern(uint64(100+i), size)
			go func() {
				if _, err := s.WriteContext(ctx, body); err != nil {
					errs <- fmt.Errorf("stream %d write: %w", i, err)
					return
				}
				if err := s.CloseWrite(); err != nil {
					errs <- fmt.Errorf("stream %d close: %w", i, err)
				}
			}()
			resp, err := s.Response(ctx)
			if err != nil || resp.Status != 200 {
				errs <- fmt.Errorf("stream %d response %v, %v", i, resp, err)
				return
			}
			h := sha256.New()
			m, err := io.Copy(h, s)
			if err != nil {
				errs <- fmt.Errorf("stream %d read: %w", i, err)
				return
			}
			if m != int64(size) || string(h.Sum(nil)) != string(rtSumSlice(body)) {
				errs <- fmt.Errorf("stream %d: echoed %d bytes, SHA-256 differs or short (want %d)", i, m, size)
			}
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-ctx.Done():
		return []error{errors.New("echo streams did not finish in time")}
	}
	close(errs)
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	return out
}

func rtSumSlice(b []byte) []byte {
	s := rtSum(b)
	return s[:]
}

// TestRuntimeLoadEchoConcurrent: 8 concurrent streams each echo 4 MiB over
// loopback TCP (and 1 MiB over TLS and net.Pipe), intact.
func TestRuntimeLoadEchoConcurrent(t *testing.T) {
	for _, tc := range []struct {
		kind rtTransport
		size int
	}{
		{rtOverTCP, 4 << 20},
		{rtOverTLS, 1 << 20},
		{rtOverPipe, 1 << 20},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			if testing.Short() && tc.size > 1<<20 {
				tc.size = 1 << 20
			}
			env := rtStart(t, tc.kind, &h2.Server{Handler: h2.HandlerFunc(rtEchoHandler)}, nil)
			rtEchoMany(t, rtCtx(t), env.client, 8, tc.size)
			env.check()
		})
	}
}

// TestRuntimeLoadHandlerPanic: a handler that panics resets only its own
// stream with INTERNAL_ERROR and is logged; streams around it carry on.
func TestRuntimeLoadHandlerPanic(t *testing.T) {
	for _, inline := range []bool{false, true} {
		t.Run(fmt.Sprintf("inline=%v", inline), func(t *testing.T) {
			logs := &rtLogger{}
			srv := &h2.Server{
				Inline:   inline,
				ErrorLog: log.New(logs, "", 0),
				Handler: h2.HandlerFunc(func(s *h2.Stream) {
					switch s.Request().Path {
					case "/panic":
						panic("boom")
					case "/echo":
						rtEchoHandler(s)
					default:
						_ = s.Respond(200, nil, []byte("fine"))
					}
				}),
			}
			env := rtStart(t, rtOverTCP, srv, nil)
			c := env.client
			ctx := rtCtx(t)

			echoErrs := make(chan []error, 1)
			if inline { // the echo handler blocks: goroutine mode only
				echoErrs <- nil
			} else {
				go func() { echoErrs <- rtEchoManyErrs(ctx, c, 3, 256<<10) }()
			}
			for range 3 {
				s, err := c.Request(ctx, c.NewRequest("GET", "/panic"), &h2.RequestOptions{EndStream: true})
				if err != nil {
					t.Fatal(err)
				}
				_, err = s.Response(ctx)
				rtStreamErr(t, "panicking handler", err, frame.ErrCodeInternal, true)
				s, err = c.Request(ctx, c.NewRequest("GET", "/ok"), &h2.RequestOptions{EndStream: true})
				if err != nil {
					t.Fatal(err)
				}
				if body, err := rtReadAll(t, ctx, s); err != nil || string(body) != "fine" {
					t.Errorf("request after a panic: %q, %v", body, err)
				}
			}
			for _, err := range rtWait(t, ctx, echoErrs, "echo streams") {
				t.Error(err)
			}
			if err := c.Err(); err != nil {
				t.Errorf("connection Err after panics: %v", err)
			}
			if out := logs.String(); strings.Count(out, "boom") != 3 || !strings.Contains(out, "panic") {
				t.Errorf("log: %q, want three panics logged", out)
			}
		})
	}
}

// TestRuntimeLoadServerStreamDone: a server stream's Done closes (and it
// leaves the connection's stream table) when the stream ends, also when its
// goroutine-mode handler returned while the response was still queued
// behind flow control.
func TestRuntimeLoadServerStreamDone(t *testing.T) {
	const size = 300 << 10 // more than the client's 256 KiB window
	body := rtPattern(15, size)
	returned := make(chan *h2.Stream, 1)
	srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		defer func() { returned <- s }()
		_ = s.Respond(200, nil, body) // blocks until all of it is buffered
	})}
	env := rtStart(t, rtOverPipe, srv, nil)
	c := env.client
	ctx := rtCtx(t)
	s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	ss := rtWait(t, ctx, returned, "the handler to return") // part of the body is still queued
	got, err := rtReadAll(t, ctx, s)
	if err != nil || len(got) != size {
		t.Fatalf("body %d bytes, %v", len(got), err)
	}
	rtDone(t, ctx, s.Done(), "client stream")
	// The server stream has ended: both sides sent END_STREAM.
	if _, err := c.Ping(ctx); err != nil { // the server has seen everything
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	select {
	case <-ss.Done():
	case <-short.Done():
		t.Errorf("server Stream.Done never closes for a stream whose handler returned before its response left; " +
			"the runtime keeps the stream in its table forever")
	}
	if err := ss.Err(); err != nil {
		t.Errorf("server stream Err %v, want nil after a complete response", err)
	}
	if ss.Context().Err() == nil {
		t.Errorf("server stream Context not cancelled after the handler returned")
	}
}
