package h2_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
)

// TestRuntimeDisconnectServerTransportDies: the server's transport is
// closed abruptly while five client streams are mid-response. Each stream
// gets exactly one terminal event (an EventStreamReset whose Err says the
// connection went away), Read returns an error rather than io.EOF, and the
// connection ends with an error.
func TestRuntimeDisconnectServerTransportDies(t *testing.T) {
	for _, kind := range rtTransports {
		t.Run(string(kind), func(t *testing.T) {
			const n = 5
			srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
				if s.WriteHeaders(200, nil) != nil {
					return
				}
				if _, err := s.Write([]byte("partial")); err != nil {
					return
				}
				<-s.Context().Done() // never finishes the response
			})}
			env := rtStart(t, kind, srv, nil)
			c := env.client
			ctx := rtCtx(t)

			recs := make([]*rtRecorder, n)
			pulls := make([]*h2.Stream, n)
			for i := range n {
				recs[i] = rtNewRecorder()
				if _, err := c.Request(ctx, c.NewRequest("GET", fmt.Sprintf("/h%d", i)), &h2.RequestOptions{EndStream: true, Handler: recs[i].handle}); err != nil {
					t.Fatal(err)
				}
				s, err := c.Request(ctx, c.NewRequest("GET", fmt.Sprintf("/p%d", i)), &h2.RequestOptions{EndStream: true})
				if err != nil {
					t.Fatal(err)
				}
				pulls[i] = s
			}
			// Wait until every stream is mid-response.
			for i, r := range recs {
				r.waitFor(t, ctx, fmt.Sprintf("stream %d's partial body", i), func(_ []h2.Event, data []byte) bool {
					return string(data) == "partial"
				})
			}
			for _, s := range pulls {
				if b, err := rtReadFull(t, ctx, s, len("partial")); err != nil || string(b) != "partial" {
					t.Fatalf("partial body: %q, %v", b, err)
				}
			}

			_ = env.serverTransport(ctx).Close()

			for i, r := range recs {
				rtDone(t, ctx, r.done, fmt.Sprintf("stream %d's terminal event", i))
			}
			for _, s := range pulls {
				_, err := rtRead(t, ctx, s, 10)
				if err == nil || errors.Is(err, io.EOF) {
					t.Errorf("stream %d: Read after the transport died: %v, want an error other than io.EOF", s.ID(), err)
				}
				rtDone(t, ctx, s.Done(), "pull stream to end")
				if s.Err() == nil {
					t.Errorf("stream %d: Err() nil after the transport died", s.ID())
				}
			}
			rtDone(t, ctx, c.Done(), "client connection to end")
			if c.Err() == nil {
				t.Errorf("client connection Err nil after the server's transport died")
			}
			for i, r := range recs {
				evs, _, terminal := r.snapshot()
				last := evs[len(evs)-1]
				if terminal != 1 || last.Kind != core.EventStreamReset {
					t.Errorf("stream %d: events %v, want exactly one terminal stream_reset, last", i, rtKinds(evs))
					continue
				}
				if last.Err == nil {
					t.Errorf("stream %d: terminal reset without Err", i)
				}
				if !errors.Is(last.Err, core.ErrConnectionLost) {
					t.Logf("stream %d: terminal Err %v", i, last.Err)
				}
			}
			if _, err := c.Request(ctx, c.NewRequest("GET", "/after"), &h2.RequestOptions{EndStream: true}); err == nil {
				t.Errorf("Request on a dead connection succeeded")
			}
			if _, err := c.Ping(ctx); err == nil {
				t.Errorf("Ping on a dead connection succeeded")
			}
		})
	}
}

// TestRuntimeDisconnectClientTransportDies is the mirror: the client's
// transport dies while five server handlers are mid-request. Each server
// stream ends with exactly one terminal event, Read returns an error (not
// io.EOF), its Context is cancelled and Err is set; ServeConn returns an
// error.
func TestRuntimeDisconnectClientTransportDies(t *testing.T) {
	for _, kind := range rtTransports {
		t.Run(string(kind), func(t *testing.T) {
			const n = 5
			type outcome struct {
				path       string
				readErr    error
				streamErr  error
				ctxDone    bool
				terminals  int
				lastKind   core.EventKind
				lastHasErr bool
			}
			started := make(chan struct{}, 2*n)
			results := make(chan outcome, 2*n)
			srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
				path := s.Request().Path
				ctx := s.Context()
				if path[1] == 'h' {
					rec := rtNewRecorder()
					rec.onEvent = func(_ *h2.Stream, e h2.Event) {
						if e.Kind == core.EventData && len(e.Data) > 0 {
							select {
							case started <- struct{}{}:
							default:
							}
						}
					}
					s.SetHandler(rec.handle)
					<-s.Done()
					<-rec.done
					evs, _, terminal := rec.snapshot()
					last := evs[len(evs)-1]
					results <- outcome{path: path, streamErr: s.Err(), ctxDone: rtCancelled(ctx),
						terminals: terminal, lastKind: last.Kind, lastHasErr: last.Err != nil}
					return
				}
				buf := make([]byte, 4)
				if _, err := io.ReadFull(s, buf); err != nil {
					results <- outcome{path: path, readErr: fmt.Errorf("first read: %w", err)}
					return
				}
				started <- struct{}{}
				_, err := io.ReadAll(s)
				<-s.Done()
				results <- outcome{path: path, readErr: err, streamErr: s.Err(), ctxDone: rtCancelled(ctx)}
			})}
			env := rtStart(t, kind, srv, nil)
			c := env.client
			ctx := rtCtx(t)
			for i := range n {
				for _, p := range []string{"h", "p"} {
					s, err := c.Request(ctx, c.NewRequest("POST", fmt.Sprintf("/%s%d", p, i)), nil)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := s.Write([]byte("body")); err != nil {
						t.Fatal(err)
					}
				}
			}
			for range 2 * n {
				rtWait(t, ctx, started, "server handlers to get their first bytes")
			}
			serverConn := env.conns()[0]

			// The client's transport dies.
			_ = c.NetConn().Close()

			for range 2 * n {
				o := rtWait(t, ctx, results, "server handlers to see the end")
				if !o.ctxDone {
					t.Errorf("%s: stream Context not cancelled", o.path)
				}
				if o.streamErr == nil {
					t.Errorf("%s: stream Err nil", o.path)
				}
				if o.path[1] == 'h' {
					if o.terminals != 1 || o.lastKind != core.EventStreamReset || !o.lastHasErr {
						t.Errorf("%s: %d terminal events, last %v (Err set: %v); want exactly one stream_reset with Err",
							o.path, o.terminals, o.lastKind, o.lastHasErr)
					}
				} else if o.readErr == nil || errors.Is(o.readErr, io.EOF) {
					t.Errorf("%s: Read after the client died: %v, want an error other than io.EOF", o.path, o.readErr)
				}
			}
			rtDone(t, ctx, serverConn.Done(), "server connection to end")
			if serverConn.Err() == nil {
				t.Errorf("server connection Err nil after the client's transport died")
			}
			if kind == rtOverPipe {
				if err := rtWait(t, ctx, env.serveErr, "ServeConn"); err == nil {
					t.Errorf("ServeConn returned nil after the client's transport died")
				}
				env.serveErr <- nil
			}
		})
	}
}

// TestRuntimeDisconnectBeforeSettings: a transport that ends before the
// server's preface makes WaitConnected fail instead of hanging.
func TestRuntimeDisconnectBeforeSettings(t *testing.T) {
	ctx := rtCtx(t)
	a, b := net.Pipe()
	go func() {
		buf := make([]byte, 1)
		_, _ = b.Read(buf) // take a byte of the preface, then hang up
		_ = b.Close()
	}()
	c, err := h2.NewClientConn(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.WaitConnected(ctx); err == nil {
		t.Fatal("WaitConnected succeeded on a dead transport")
	} else if errors.Is(err, ctx.Err()) && ctx.Err() != nil {
		t.Fatal("WaitConnected waited for the context")
	}
	rtDone(t, ctx, c.Done(), "connection to end")
}

// TestRuntimeDisconnectConnErrNotEOF: a peer that vanishes without GOAWAY
// ends the connection with an error that does not read as a clean end:
// Conn.Err must not be io.EOF (which callers take for "graceful end of
// input"); the streams' ErrConnectionLost is the natural value.
func TestRuntimeDisconnectConnErrNotEOF(t *testing.T) {
	for _, kind := range rtTransports {
		t.Run(string(kind), func(t *testing.T) {
			started := make(chan struct{}, 1)
			srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
				started <- struct{}{}
				<-s.Context().Done()
			})}
			env := rtStart(t, kind, srv, nil)
			c := env.client
			ctx := rtCtx(t)
			s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
			if err != nil {
				t.Fatal(err)
			}
			rtWait(t, ctx, started, "handler")
			_ = env.serverTransport(ctx).Close()
			rtDone(t, ctx, c.Done(), "client connection")
			rtDone(t, ctx, s.Done(), "stream")
			if !errors.Is(s.Err(), core.ErrConnectionLost) {
				t.Errorf("stream Err %v, want core.ErrConnectionLost", s.Err())
			}
			if err := c.Err(); err == nil || errors.Is(err, io.EOF) {
				t.Errorf("Conn.Err() = %#v after the peer vanished; want an error that is not io.EOF (e.g. core.ErrConnectionLost)", err)
			}
		})
	}
}
