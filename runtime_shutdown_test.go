package h2_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
)

// rtBlockingServer answers each request, once release is closed, with
// status 200 and rtPattern(stream ID, size) streamed with Write. started
// receives each stream as its handler begins.
func rtBlockingServer(size int, started chan<- *h2.Stream, release <-chan struct{}) *h2.Server {
	return &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		started <- s
		select {
		case <-release:
		case <-s.Context().Done():
			return
		}
		if err := s.WriteHeaders(200, nil); err != nil {
			return
		}
		if _, err := s.Write(rtPattern(uint64(s.ID()), size)); err != nil {
			return
		}
		_ = s.CloseWrite()
	})}
}

// TestRuntimeShutdownServerGraceful: Server.Shutdown with streams in flight.
// Every open stream sees the GOAWAY as an event, a request made after it
// fails with core.ErrGoAwayReceived (nothing was sent: safe to retry), the
// streams in flight complete with their whole bodies, Shutdown returns nil,
// Serve returns ErrServerClosed and the client's connection ends cleanly.
func TestRuntimeShutdownServerGraceful(t *testing.T) {
	for _, kind := range []rtTransport{rtOverPipe, rtOverTCP, rtOverTLS} {
		t.Run(string(kind), func(t *testing.T) {
			// More than a stream window: the client sends WINDOW_UPDATEs
			// while the server finishes and hangs up (over net.Pipe, which
			// cannot half-close, some of those writes fail; see
			// TestRuntimeShutdownPipeKeepsFinalFrames).
			const n, size = 4, 300 << 10
			started := make(chan *h2.Stream, n)
			release := make(chan struct{})
			env := rtStart(t, kind, rtBlockingServer(size, started, release), nil)
			c := env.client
			ctx := rtCtx(t)

			// Half the streams take their events through a handler, half
			// through the pull API.
			recs := make([]*rtRecorder, n)
			streams := make([]*h2.Stream, n)
			for i := range n {
				o := &h2.RequestOptions{EndStream: true}
				if i%2 == 0 {
					recs[i] = rtNewRecorder()
					o.Handler = recs[i].handle
				}
				s, err := c.Request(ctx, c.NewRequest("GET", fmt.Sprintf("/%d", i)), o)
				if err != nil {
					t.Fatal(err)
				}
				streams[i] = s
			}
			for range n {
				rtWait(t, ctx, started, "handlers to start")
			}

			shutdown := make(chan error, 1)
			go func() { shutdown <- env.srv.Shutdown(ctx) }()

			for i, r := range recs {
				if r != nil {
					r.waitFor(t, ctx, fmt.Sprintf("GOAWAY event on stream %d", i), func(evs []h2.Event, _ []byte) bool {
						return rtHas(evs, core.EventGoAway)
					})
				}
			}
			if g, ok := c.GoAway(); !ok || g.Code != 0 {
				t.Fatalf("Conn.GoAway = %+v, %v; want a NO_ERROR GOAWAY", g, ok)
			}
			if _, err := c.Request(ctx, c.NewRequest("GET", "/late"), &h2.RequestOptions{EndStream: true}); !errors.Is(err, core.ErrGoAwayReceived) {
				t.Fatalf("Request after GOAWAY: %v, want core.ErrGoAwayReceived", err)
			}

			close(release)
			for i, s := range streams {
				want := rtPattern(uint64(s.ID()), size)
				if r := recs[i]; r != nil {
					rtDone(t, ctx, r.done, "handler stream to end")
					evs, body, terminal := r.snapshot()
					if terminal != 1 || evs[len(evs)-1].Kind != core.EventStreamClosed {
						t.Errorf("stream %d: events %v, want exactly one terminal stream_closed last", s.ID(), rtKinds(evs))
					}
					if !bytes.Equal(body, want) {
						t.Errorf("stream %d: got %d bytes, want the %d sent", s.ID(), len(body), len(want))
					}
					for _, e := range evs {
						if e.Kind == core.EventGoAway && e.LastStreamID < s.ID() && e.Code == 0 {
							// The final GOAWAY must cover the streams the
							// server processes.
							t.Errorf("stream %d: GOAWAY last stream %d excludes a stream being served", s.ID(), e.LastStreamID)
						}
					}
					continue
				}
				resp, err := s.Response(ctx)
				if err != nil || resp.Status != 200 {
					t.Fatalf("stream %d: Response: %v, %v", s.ID(), resp, err)
				}
				body, err := rtReadAll(t, ctx, s)
				if err != nil || !bytes.Equal(body, want) {
					t.Errorf("stream %d: ReadAll %d bytes, %v; want %d bytes", s.ID(), len(body), err, len(want))
				}
			}
			if err := rtWait(t, ctx, shutdown, "Shutdown"); err != nil {
				t.Errorf("Shutdown: %v, want nil", err)
			}
			rtDone(t, ctx, c.Done(), "client connection to end")
			if err := c.Err(); err != nil {
				t.Errorf("client Err after graceful shutdown: %v, want nil", err)
			}
			err := rtWait(t, ctx, env.serveErr, "Serve to return")
			switch kind {
			case rtOverPipe:
				// ServeConn: nil after a clean close (its doc), or
				// ErrServerClosed (errors.go says ServeConn returns it too).
				if err != nil && !errors.Is(err, h2.ErrServerClosed) {
					t.Errorf("ServeConn after Shutdown: %v", err)
				}
			default:
				if !errors.Is(err, h2.ErrServerClosed) {
					t.Errorf("Serve after Shutdown: %v, want h2.ErrServerClosed", err)
				}
			}
			env.serveErr <- err // for the cleanup
			for _, sc := range env.conns() {
				rtDone(t, ctx, sc.Done(), "server connection to end")
			}
			// Serve on a shut-down server returns at once.
			if err := env.srv.Serve(rtNeverListener{}); !errors.Is(err, h2.ErrServerClosed) {
				t.Errorf("Serve after Shutdown: %v, want h2.ErrServerClosed", err)
			}
		})
	}
}

// rtNeverListener is a listener Serve must not use.
type rtNeverListener struct{}

func (rtNeverListener) Accept() (net.Conn, error) { return nil, errors.New("rtNeverListener: Accept") }
func (rtNeverListener) Close() error              { return nil }
func (rtNeverListener) Addr() net.Addr            { return &net.TCPAddr{} }

// TestRuntimeShutdownServerDeadline: when Shutdown's context ends before the
// streams do, it closes the connections at once and returns the context's
// error; the stream in flight ends with exactly one terminal reset.
func TestRuntimeShutdownServerDeadline(t *testing.T) {
	started := make(chan *h2.Stream, 1)
	release := make(chan struct{}) // never closed
	env := rtStart(t, rtOverTCP, rtBlockingServer(10, started, release), nil)
	c := env.client
	ctx := rtCtx(t)
	rec := rtNewRecorder()
	if _, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true, Handler: rec.handle}); err != nil {
		t.Fatal(err)
	}
	ss := rtWait(t, ctx, started, "handler")
	sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := env.srv.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want context.DeadlineExceeded", err)
	}
	rtDone(t, ctx, rec.done, "client stream to end")
	rtDone(t, ctx, ss.Done(), "server stream to end")
	rtDone(t, ctx, ss.Context().Done(), "server stream context")
	evs, _, terminal := rec.snapshot()
	if terminal != 1 || evs[len(evs)-1].Kind != core.EventStreamReset {
		t.Errorf("client stream events %v, want exactly one terminal stream_reset", rtKinds(evs))
	}
	rtDone(t, ctx, c.Done(), "client connection")
	if err := rtWait(t, ctx, env.serveErr, "Serve"); !errors.Is(err, h2.ErrServerClosed) {
		t.Errorf("Serve: %v, want ErrServerClosed", err)
	}
	env.serveErr <- nil
}

// TestRuntimeShutdownClientGraceful: Conn.Shutdown on the client lets the
// stream in flight finish, refuses new requests with core.ErrGoAwaySent,
// tells the server's streams with an EventGoAway, and ends both
// connections cleanly.
func TestRuntimeShutdownClientGraceful(t *testing.T) {
	for _, kind := range rtTransports {
		t.Run(string(kind), func(t *testing.T) {
			const size = 200 << 10
			goaway := make(chan h2.Event, 1)
			release := make(chan struct{})
			srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
				s.SetHandler(func(_ *h2.Stream, e h2.Event) {
					if e.Kind == core.EventGoAway {
						select {
						case goaway <- e:
						default:
						}
					}
				})
				select {
				case <-release:
				case <-s.Context().Done():
					return
				}
				if err := s.WriteHeaders(200, nil); err != nil {
					return
				}
				if _, err := s.Write(rtPattern(7, size)); err != nil {
					return
				}
				_ = s.CloseWrite()
				<-s.Done()
			})}
			env := rtStart(t, kind, srv, nil)
			c := env.client
			ctx := rtCtx(t)
			s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
			if err != nil {
				t.Fatal(err)
			}
			shutdown := make(chan error, 1)
			go func() { shutdown <- c.Shutdown(ctx) }()
			g := rtWait(t, ctx, goaway, "the server stream's GOAWAY event")
			if g.Code != 0 {
				t.Errorf("GOAWAY code %v, want NO_ERROR", g.Code)
			}
			if _, err := c.Request(ctx, c.NewRequest("GET", "/late"), &h2.RequestOptions{EndStream: true}); !errors.Is(err, core.ErrGoAwaySent) {
				t.Errorf("Request after Conn.Shutdown: %v, want core.ErrGoAwaySent", err)
			}
			close(release)
			if resp, err := s.Response(ctx); err != nil || resp.Status != 200 {
				t.Fatalf("Response: %v, %v", resp, err)
			}
			body, err := rtReadAll(t, ctx, s)
			if err != nil || !bytes.Equal(body, rtPattern(7, size)) {
				t.Fatalf("body: %d bytes, %v", len(body), err)
			}
			if err := rtWait(t, ctx, shutdown, "Conn.Shutdown"); err != nil {
				t.Errorf("Conn.Shutdown: %v", err)
			}
			if err := c.Err(); err != nil {
				t.Errorf("client Err: %v", err)
			}
			for _, sc := range env.conns() {
				rtDone(t, ctx, sc.Done(), "server connection to end")
				if err := sc.Err(); err != nil {
					t.Errorf("server connection Err: %v", err)
				}
			}
			if kind == rtOverPipe {
				if err := rtWait(t, ctx, env.serveErr, "ServeConn"); err != nil {
					t.Errorf("ServeConn after the client's graceful shutdown: %v, want nil", err)
				}
				env.serveErr <- nil
			}
		})
	}
}

// rtRawPeer is a scripted HTTP/2 server on the other end of a net.Pipe: the
// test reads the client's frames and writes raw ones.
type rtRawPeer struct {
	t      *testing.T
	nc     net.Conn
	fb     *coretest.FrameBuilder
	frames chan frame.Frame
	mu     sync.Mutex // serialises writes
}

// rtRawClient connects a runtime client (opts; Authority example.test
// when nil) over a memory pipe to a scripted raw peer, completes the
// SETTINGS exchange, and returns both.
func rtRawClient(t *testing.T, ctx context.Context, opts *h2.ClientOptions) (*h2.Conn, *rtRawPeer) {
	t.Helper()
	if opts == nil {
		opts = &h2.ClientOptions{Authority: "example.test"}
	}
	a, b := net.Pipe()
	peer := rtStartRawPeer(t, b)
	c, err := h2.NewClientConn(a, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	peer.handshake(ctx)
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	return c, peer
}

func rtStartRawPeer(t *testing.T, nc net.Conn) *rtRawPeer {
	p := &rtRawPeer{t: t, nc: nc, fb: coretest.NewFrameBuilder(), frames: make(chan frame.Frame, 1024)}
	go p.readLoop()
	t.Cleanup(func() { _ = nc.Close() })
	return p
}

func (p *rtRawPeer) readLoop() {
	defer close(p.frames)
	pre := make([]byte, len(coretest.ClientPreface))
	if _, err := io.ReadFull(p.nc, pre); err != nil || string(pre) != coretest.ClientPreface {
		return
	}
	var buf []byte
	tmp := make([]byte, 32<<10)
	for {
		n, err := p.nc.Read(tmp)
		buf = append(buf, tmp[:n]...)
		for {
			f, m, perr := frame.Parse(buf, 1<<24-1)
			if perr != nil {
				break
			}
			f.Data = bytes.Clone(f.Data)
			buf = buf[m:]
			p.frames <- f
		}
		if err != nil {
			return
		}
	}
}

func (p *rtRawPeer) write(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = p.nc.Write(b)
}

// next returns the next frame of type typ, skipping others.
func (p *rtRawPeer) next(ctx context.Context, typ frame.Type) frame.Frame {
	p.t.Helper()
	for {
		select {
		case f, ok := <-p.frames:
			if !ok {
				p.t.Fatalf("client closed the connection while waiting for %v", typ)
			}
			if f.Type == typ {
				return f
			}
		case <-ctx.Done():
			p.t.Fatalf("timed out waiting for a %v frame", typ)
		}
	}
}

// handshake answers the client's preface: SETTINGS, then the ACK of the
// client's SETTINGS.
func (p *rtRawPeer) handshake(ctx context.Context) {
	p.t.Helper()
	p.write(p.fb.Settings())
	for {
		f := p.next(ctx, frame.TypeSettings)
		if !f.IsAck() {
			p.write(p.fb.SettingsAck())
			return
		}
	}
}

// TestRuntimeShutdownRefusedIsRetryable: the client side of a refusal. A
// server's GOAWAY whose last stream ID is below a request, and a
// RST_STREAM(REFUSED_STREAM), both end the request with a *core.StreamError
// of code REFUSED_STREAM and an EventStreamReset marked Retryable (the
// server did not process it).
func TestRuntimeShutdownRefusedIsRetryable(t *testing.T) {
	ctx := rtCtx(t)
	c, peer := rtRawClient(t, ctx, nil)

	// Stream 1: refused with RST_STREAM; pull API.
	s1, err := c.Request(ctx, c.NewRequest("GET", "/1"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	// Stream 3: refused by the GOAWAY; events through a handler.
	rec := rtNewRecorder()
	s3, err := c.Request(ctx, c.NewRequest("GET", "/3"), &h2.RequestOptions{EndStream: true, Handler: rec.handle})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []uint32{s1.ID(), s3.ID()} {
		if f := peer.next(ctx, frame.TypeHeaders); f.StreamID != id {
			t.Fatalf("HEADERS on stream %d, want %d", f.StreamID, id)
		}
	}
	peer.write(peer.fb.RST(s1.ID(), frame.ErrCodeRefusedStream))
	_, err = s1.Response(ctx)
	rtStreamErr(t, "RST_STREAM(REFUSED_STREAM): Response", err, frame.ErrCodeRefusedStream, true)
	evs, err := s1.DrainEvents()
	if err != nil || len(evs) != 1 || evs[0].Kind != core.EventStreamReset || !evs[0].Retryable {
		t.Errorf("RST_STREAM(REFUSED_STREAM): DrainEvents = %+v, %v; want one Retryable stream_reset", evs, err)
	}

	peer.write(peer.fb.GoAway(s1.ID(), frame.ErrCodeNo, "bye"))
	rtDone(t, ctx, rec.done, "stream above the GOAWAY to end")
	evs, _, terminal := rec.snapshot()
	if terminal != 1 || len(evs) != 2 || evs[0].Kind != core.EventGoAway || evs[1].Kind != core.EventStreamReset {
		t.Fatalf("events %v, want [goaway stream_reset]", rtKinds(evs))
	}
	if g := evs[0]; g.LastStreamID != s1.ID() || string(g.Data) != "bye" {
		t.Errorf("GOAWAY event %+v", g)
	}
	if r := evs[1]; !r.Retryable || r.Code != frame.ErrCodeRefusedStream {
		t.Errorf("reset %+v, want Retryable REFUSED_STREAM", r)
	}
	rtStreamErr(t, "stream above GOAWAY: Err", s3.Err(), frame.ErrCodeRefusedStream, true)
	if _, err := c.Request(ctx, c.NewRequest("GET", "/5"), &h2.RequestOptions{EndStream: true}); !errors.Is(err, core.ErrGoAwayReceived) && !errors.Is(err, core.ErrClosed) {
		t.Errorf("Request after GOAWAY: %v, want core.ErrGoAwayReceived", err)
	}
	rtCheckInvariants(t, c)
}

// rtGateConn wraps the client's end of a net.Pipe. Once armed, a Read that
// gets bytes holds them back until a Write has failed and the connection
// has dealt with it (stream done, or half a second), as a kernel buffer
// holds bytes a peer sent just before hanging up.
type rtGateConn struct {
	net.Conn
	armed       chan struct{}
	writeFailed chan struct{}
	failOnce    sync.Once
	after       <-chan struct{} // set before arming
}

func (g *rtGateConn) Write(p []byte) (int, error) {
	n, err := g.Conn.Write(p)
	if err != nil {
		g.failOnce.Do(func() { close(g.writeFailed) })
	}
	return n, err
}

func (g *rtGateConn) Read(p []byte) (int, error) {
	n, err := g.Conn.Read(p)
	select {
	case <-g.armed:
	default:
		return n, err
	}
	if n > 0 {
		bound := time.NewTimer(2 * time.Second)
		defer bound.Stop()
		select {
		case <-g.writeFailed:
			select {
			case <-g.after:
			case <-time.After(500 * time.Millisecond):
			}
		case <-bound.C:
		}
	}
	return n, err
}

// TestRuntimeShutdownPipeKeepsFinalFrames: a server finishing a graceful
// shutdown sends the last response and closes its transport at once (a
// net.Pipe cannot half-close). If the client writes anything at that
// moment (here a PING; in practice a WINDOW_UPDATE for the body it is
// reading) the write fails — and the response the client's transport had
// already delivered must still reach the stream: the server ended the
// connection cleanly after sending it.
func TestRuntimeShutdownPipeKeepsFinalFrames(t *testing.T) {
	ctx := rtCtx(t)
	release := make(chan struct{})
	started := make(chan *h2.Stream, 1)
	srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		started <- s
		select {
		case <-release:
		case <-s.Context().Done():
			return
		}
		_ = s.Respond(200, nil, []byte("hello"))
		<-s.Done()
	})}
	a, b := net.Pipe()
	gate := &rtGateConn{Conn: a, armed: make(chan struct{}), writeFailed: make(chan struct{})}
	served := make(chan error, 1)
	go func() { served <- srv.ServeConn(b) }()
	t.Cleanup(func() {
		_ = srv.Close()
		_ = b.Close()
		_ = a.Close()
		<-served
	})
	c, err := h2.NewClientConn(gate, &h2.ClientOptions{Authority: "example.test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	rec := rtNewRecorder()
	s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true, Handler: rec.handle})
	if err != nil {
		t.Fatal(err)
	}
	ss := rtWait(t, ctx, started, "handler")
	sc := ss.Conn()
	shutdown := make(chan error, 1)
	go func() { shutdown <- srv.Shutdown(ctx) }()
	// Wait for the final GOAWAY (the one naming the last stream).
	rec.waitFor(t, ctx, "the final GOAWAY", func(evs []h2.Event, _ []byte) bool {
		for _, e := range evs {
			if e.Kind == core.EventGoAway && e.LastStreamID == s.ID() {
				return true
			}
		}
		return false
	})
	gate.after = s.Done()
	close(gate.armed)
	close(release)
	rtDone(t, ctx, sc.Done(), "the server to finish and close its transport")
	go func() { _, _ = c.Ping(ctx) }() // the client writes after the hang-up
	rtDone(t, ctx, rec.done, "the client stream to end")
	evs, data, _ := rec.snapshot()
	last := evs[len(evs)-1]
	if last.Kind != core.EventStreamClosed || string(data) != "hello" {
		t.Errorf("client stream: events %v, body %q, last Err %v; want the complete response the server sent before closing",
			rtKinds(evs), data, last.Err)
	}
	if err := rtWait(t, ctx, shutdown, "Shutdown"); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	rtCheckInvariants(t, c)
	rtCheckInvariants(t, sc)
}
