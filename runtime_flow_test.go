package h2_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
)

const rtSmallWindow = 16384

// rtNoMoreData asserts, after a PING round trip on c, that no content is
// queued on s (pulled with DrainEvents, which in manual mode returns no
// credit).
func rtNoMoreData(t *testing.T, ctx context.Context, c *h2.Conn, s *h2.Stream, what string) {
	t.Helper()
	for range 2 {
		if _, err := c.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	}
	evs, err := s.DrainEvents()
	if err != nil {
		t.Fatalf("DrainEvents: %v", err)
	}
	n := 0
	for _, e := range evs {
		if e.Kind == core.EventData {
			n += len(e.Data)
		}
	}
	if n > 0 {
		t.Fatalf("%s: %d more bytes arrived beyond the window before Consume", what, n)
	}
}

// TestRuntimeFlowManualConsumeClient: a client stream with ManualConsume
// and a 16 KiB window receives exactly the window of a 1 MiB response until
// it calls Consume; each Consume lets more in, and the whole body arrives.
func TestRuntimeFlowManualConsumeClient(t *testing.T) {
	for _, kind := range rtTransports {
		t.Run(string(kind), func(t *testing.T) {
			const size = 1 << 20
			body := rtPattern(3, size)
			srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
				if s.WriteHeaders(200, nil) != nil {
					return
				}
				if _, err := s.Write(body); err != nil {
					return
				}
				_ = s.CloseWrite()
			})}
			copts := &h2.ClientOptions{Options: h2.Options{Config: core.Config{InitialWindowSize: rtSmallWindow}}}
			env := rtStart(t, kind, srv, copts)
			c := env.client
			ctx := rtCtx(t)

			s, err := c.Request(ctx, c.NewRequest("GET", "/big"), &h2.RequestOptions{EndStream: true, ManualConsume: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Response(ctx); err != nil {
				t.Fatal(err)
			}
			first, err := rtReadFull(t, ctx, s, rtSmallWindow)
			if err != nil {
				t.Fatal(err)
			}
			rtNoMoreData(t, ctx, c, s, "client")
			if err := s.Consume(rtSmallWindow + 1); !errors.Is(err, core.ErrConsumeTooMuch) {
				t.Errorf("Consume beyond what was delivered: %v, want core.ErrConsumeTooMuch", err)
			}
			if err := s.Consume(rtSmallWindow); err != nil {
				t.Fatalf("Consume: %v", err)
			}
			// More arrives, and again no more than the window.
			second, err := rtReadFull(t, ctx, s, rtSmallWindow)
			if err != nil {
				t.Fatal(err)
			}
			rtNoMoreData(t, ctx, c, s, "client after one Consume")
			got := append(first, second...)
			if err := s.Consume(rtSmallWindow); err != nil {
				t.Fatal(err)
			}
			// The rest: read and consume as we go.
			rest := make(chan rtResult, 1)
			go func() {
				var out []byte
				buf := make([]byte, 8192)
				for {
					n, err := s.Read(buf)
					out = append(out, buf[:n]...)
					if n > 0 {
						if cerr := s.Consume(n); cerr != nil {
							rest <- rtResult{data: out, err: cerr}
							return
						}
					}
					if err != nil {
						if err == io.EOF {
							err = nil
						}
						rest <- rtResult{data: out, err: err}
						return
					}
				}
			}()
			r := rtWait(t, ctx, rest, "the rest of the body")
			if r.err != nil {
				t.Fatal(r.err)
			}
			got = append(got, r.data...)
			if !bytes.Equal(got, body) {
				t.Fatalf("body: %d bytes, want %d (equal: %v)", len(got), len(body), bytes.Equal(got, body))
			}
			// Consume after the end is harmless.
			if err := s.Consume(0); err != nil {
				t.Errorf("Consume(0) after the end: %v", err)
			}

			// Automatic mode refuses Consume.
			a, err := c.Request(ctx, c.NewRequest("GET", "/auto"), &h2.RequestOptions{EndStream: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Consume(1); !errors.Is(err, core.ErrNotManualFlowControl) {
				t.Errorf("Consume in automatic mode: %v, want core.ErrNotManualFlowControl", err)
			}
			if b, err := rtReadAll(t, ctx, a); err != nil || len(b) != size {
				t.Errorf("automatic stream: %d bytes, %v", len(b), err)
			}
		})
	}
}

// TestRuntimeFlowManualConsumeServer: Server.ManualConsume with a 16 KiB
// window: a 1 MiB request body stops at the window until the handler
// consumes, then arrives whole. A server in automatic mode refuses Consume.
func TestRuntimeFlowManualConsumeServer(t *testing.T) {
	for _, kind := range rtTransports {
		t.Run(string(kind), func(t *testing.T) {
			const size = 1 << 20
			body := rtPattern(4, size)
			type report struct {
				stage string
				err   error
			}
			reports := make(chan report, 4)
			srv := &h2.Server{
				ManualConsume: true,
				Options:       h2.Options{Config: core.Config{InitialWindowSize: rtSmallWindow}},
				Handler: h2.HandlerFunc(func(s *h2.Stream) {
					ctx := s.Context()
					first := make([]byte, rtSmallWindow)
					if _, err := io.ReadFull(s, first); err != nil {
						reports <- report{"first window", err}
						return
					}
					// No credit returned: after a PING round trip nothing
					// more may be queued.
					var extra int
					for range 2 {
						if _, err := s.Conn().Ping(ctx); err != nil {
							reports <- report{"ping", err}
							return
						}
					}
					evs, err := s.DrainEvents()
					for _, e := range evs {
						extra += len(e.Data)
					}
					if err == nil && extra > 0 {
						err = errors.New("more than the window arrived before Consume")
					}
					reports <- report{"window held", err}
					got := append([]byte(nil), first...)
					if err := s.Consume(len(first)); err != nil {
						reports <- report{"consume", err}
						return
					}
					buf := make([]byte, 8192)
					for {
						n, err := s.Read(buf)
						got = append(got, buf[:n]...)
						if n > 0 {
							if err := s.Consume(n); err != nil {
								reports <- report{"consume", err}
								return
							}
						}
						if err == io.EOF {
							break
						}
						if err != nil {
							reports <- report{"read", err}
							return
						}
					}
					if !bytes.Equal(got, body) {
						reports <- report{"body", errors.New("request body differs")}
						return
					}
					reports <- report{"body", nil}
					_ = s.Respond(200, nil, []byte("ok"))
				}),
			}
			env := rtStart(t, kind, srv, nil)
			c := env.client
			ctx := rtCtx(t)
			if w := c.PeerSettings().InitialWindowSize; w != rtSmallWindow {
				t.Fatalf("peer window %d, want %d", w, rtSmallWindow)
			}
			s, err := c.Request(ctx, c.NewRequest("POST", "/upload"), nil)
			if err != nil {
				t.Fatal(err)
			}
			wrote := make(chan error, 1)
			go func() {
				if _, err := s.WriteContext(ctx, body); err != nil {
					wrote <- err
					return
				}
				wrote <- s.CloseWrite()
			}()
			for _, stage := range []string{"window held", "body"} {
				r := rtWait(t, ctx, reports, stage)
				if r.stage != stage || r.err != nil {
					t.Fatalf("server %s: %v (want stage %s)", r.stage, r.err, stage)
				}
			}
			if err := rtWait(t, ctx, wrote, "client write"); err != nil {
				t.Fatal(err)
			}
			if b, err := rtReadAll(t, ctx, s); err != nil || string(b) != "ok" {
				t.Fatalf("response %q, %v", b, err)
			}
		})
	}
}

// TestRuntimeFlowConsumeAutomaticServer: Consume on a server stream in
// automatic mode is refused.
func TestRuntimeFlowConsumeAutomaticServer(t *testing.T) {
	errs := make(chan error, 1)
	srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		errs <- s.Consume(1)
		_ = s.Respond(204, nil, nil)
	})}
	env := rtStart(t, rtOverPipe, srv, nil)
	ctx := rtCtx(t)
	s, err := env.client.Request(ctx, env.client.NewRequest("POST", "/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := rtWait(t, ctx, errs, "handler"); !errors.Is(err, core.ErrNotManualFlowControl) {
		t.Errorf("server Consume in automatic mode: %v, want core.ErrNotManualFlowControl", err)
	}
	_ = s.CloseWrite()
	if resp, err := s.Response(ctx); err != nil || resp.Status != 204 {
		t.Errorf("response %v, %v", resp, err)
	}
}

// rtStallingServer is a ManualConsume server with a 16 KiB window whose
// handler reads the window's worth (without consuming), reports it on
// window, waits for consume to close, then reads and consumes the rest and
// answers with the body's length and whether it matched want.
func rtStallingServer(want []byte, window chan<- struct{}, consume <-chan struct{}) *h2.Server {
	return &h2.Server{
		ManualConsume: true,
		Options:       h2.Options{Config: core.Config{InitialWindowSize: rtSmallWindow}},
		Handler: h2.HandlerFunc(func(s *h2.Stream) {
			got := make([]byte, rtSmallWindow)
			if _, err := io.ReadFull(s, got); err != nil {
				return
			}
			window <- struct{}{}
			select {
			case <-consume:
			case <-s.Context().Done():
				return
			}
			if s.Consume(len(got)) != nil {
				return
			}
			buf := make([]byte, 32<<10)
			for {
				n, err := s.Read(buf)
				got = append(got, buf[:n]...)
				if n > 0 && s.Consume(n) != nil {
					return
				}
				if err != nil {
					break
				}
			}
			status := 200
			if !bytes.Equal(got, want) {
				status = 500
			}
			_ = s.Respond(status, nil, nil)
		}),
	}
}

// TestRuntimeFlowWriteContextDeadline: WriteContext against a peer that
// does not consume returns context.DeadlineExceeded with the part written
// (the window plus the send buffer, less than the whole); once the peer
// consumes, writing resumes and the whole body arrives.
func TestRuntimeFlowWriteContextDeadline(t *testing.T) {
	for _, kind := range rtTransports {
		t.Run(string(kind), func(t *testing.T) {
			const size = 1 << 20
			body := rtPattern(5, size)
			window := make(chan struct{}, 1)
			consume := make(chan struct{})
			env := rtStart(t, kind, rtStallingServer(body, window, consume), nil)
			c := env.client
			ctx := rtCtx(t)
			s, err := c.Request(ctx, c.NewRequest("POST", "/"), nil)
			if err != nil {
				t.Fatal(err)
			}
			wctx, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
			n, err := s.WriteContext(wctx, body)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("WriteContext: %d, %v; want context.DeadlineExceeded", n, err)
			}
			const maxTaken = rtSmallWindow + 64<<10 // window + default StreamSendBuffer
			if n <= 0 || n >= size || n > maxTaken {
				t.Fatalf("WriteContext wrote %d bytes, want a partial count in (0, %d]", n, maxTaken)
			}
			rtWait(t, ctx, window, "server to receive the window")
			close(consume)
			m, err := s.WriteContext(ctx, body[n:])
			if err != nil || m != size-n {
				t.Fatalf("WriteContext after the peer consumed: %d, %v; want %d, nil", m, err, size-n)
			}
			if err := s.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			resp, err := s.Response(ctx)
			if err != nil || resp.Status != 200 {
				t.Fatalf("response %v, %v (500: the body arrived damaged)", resp, err)
			}
		})
	}
}

// TestRuntimeFlowTryWriteSendBufferFull: with the peer's window closed,
// TryWrite takes exactly core.Limits.StreamSendBuffer bytes and then
// returns core.ErrSendBufferFull; nothing more is taken until the peer
// consumes.
func TestRuntimeFlowTryWriteSendBufferFull(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limit  int // 0: the default
		buffer int
	}{
		{"default", 0, 64 << 10},
		{"4KiB", 4096, 4096},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := rtPattern(6, rtSmallWindow+tc.buffer+1000)
			window := make(chan struct{}, 1)
			consume := make(chan struct{})
			copts := &h2.ClientOptions{Options: h2.Options{Config: core.Config{Limits: core.Limits{StreamSendBuffer: tc.limit}}}}
			env := rtStart(t, rtOverPipe, rtStallingServer(body, window, consume), copts)
			c := env.client
			ctx := rtCtx(t)
			s, err := c.Request(ctx, c.NewRequest("POST", "/"), nil)
			if err != nil {
				t.Fatal(err)
			}
			// Fill the peer's window exactly, and wait until it has it all:
			// the window is then closed and our send buffer empty.
			if n, err := s.WriteContext(ctx, body[:rtSmallWindow]); err != nil || n != rtSmallWindow {
				t.Fatalf("WriteContext: %d, %v", n, err)
			}
			rtWait(t, ctx, window, "server to receive the window")

			off := rtSmallWindow
			n, err := s.TryWrite(body[off:])
			if !errors.Is(err, core.ErrSendBufferFull) || n != tc.buffer {
				t.Fatalf("TryWrite with the window closed: %d, %v; want %d, core.ErrSendBufferFull", n, err, tc.buffer)
			}
			off += n
			if n, err := s.TryWrite(body[off : off+1]); n != 0 || !errors.Is(err, core.ErrSendBufferFull) {
				t.Fatalf("TryWrite with the buffer full: %d, %v; want 0, core.ErrSendBufferFull", n, err)
			}
			if n, err := s.TryWrite(nil); n != 0 || err != nil {
				t.Errorf("TryWrite(nil) with the buffer full: %d, %v; want 0, nil", n, err)
			}
			close(consume)
			if n, err := s.WriteContext(ctx, body[off:]); err != nil || n != len(body)-off {
				t.Fatalf("WriteContext after the peer consumed: %d, %v", n, err)
			}
			if err := s.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			if resp, err := s.Response(ctx); err != nil || resp.Status != 200 {
				t.Fatalf("response %v, %v", resp, err)
			}
		})
	}
}
