package h2_test

// Review tests: each one proves a defect of the runtime (package h2) or of
// the built-in handler of `h2 serve` (cmd/h2/serve.go). They fail until the
// defect is fixed. Helpers are prefixed rv.
//
// The review was of commit 920557f; every test up to
// TestReviewSmallDataFramesAmplifyMemory fails there and passes from
// 1178b42 ("fixes from review"). TestReviewWriteTimeoutOnVirtualPipe and
// TestReviewGoAwayDataIsTheCallers pass at 920557f and fail from 1178b42:
// they cover regressions those fixes introduced.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
	"github.com/h2proto/h2/transport/memory"
)

// rvCtx returns a context that ends after d (at most 10 s) or with the test.
func rvCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), min(d, 10*time.Second))
	t.Cleanup(cancel)
	return ctx
}

// rvTextPlain and rvHello are serve.go's textPlain and helloBody.
var rvTextPlain = []h2.HeaderField{{Name: "content-type", Value: "text/plain; charset=utf-8"}}

const rvHello = "hello from h2proto\n"

// TestReviewInlineRespondWedgesConnection: Stream.Respond falls back to a
// blocking Write whenever core.Respond returns ErrSendBufferFull — which
// happens for a body of any size once the connection-wide send buffer
// (Limits.ConnSendBuffer) is full, i.e. whenever the peer holds back its
// windows on other streams. From an inline handler — exactly what
// cmd/h2/serve.go does for "/" (Respond, then drain) — that Write blocks
// the connection's own goroutine: the reader stops, the peer's
// WINDOW_UPDATEs are never processed, and the whole connection wedges
// (until keep-alive kills it, 30 s later).
//
// The server here is serve.go's fileServer in miniature: "/fill" streams a
// body from a goroutine (as "/echo" and files do); "/" is answered inline.
// Small send buffers and a small client window make the buffer-full state
// deterministic; with the defaults a client only needs a few more streams.
func TestReviewInlineRespondWedgesConnection(t *testing.T) {
	for _, kind := range rtTransports {
		t.Run(string(kind), func(t *testing.T) {
			const window = 1024
			ctx := rvCtx(t, 10*time.Second)
			topUp := make(chan struct{})
			full := make(chan struct{})
			responding := make(chan struct{}, 1)
			srv := &h2.Server{Inline: true, Options: h2.Options{Config: core.Config{
				Limits: core.Limits{StreamSendBuffer: 16 << 10, ConnSendBuffer: 16 << 10},
			}}}
			srv.Handler = h2.HandlerFunc(func(s *h2.Stream) {
				if s.Request().Path != "/fill" {
					responding <- struct{}{}
					// cmd/h2/serve.go, fileServer.ServeH2, case "/".
					_ = s.Respond(200, rvTextPlain, []byte(rvHello))
					s.SetHandler(func(*h2.Stream, h2.Event) {}) // drain(s)
					return
				}
				go func() {
					if s.WriteHeaders(200, nil) != nil {
						return
					}
					body := rtPattern(1, 64<<10)
					n, _ := s.TryWrite(body[:window]) // what the client's window lets out
					body = body[n:]
					select {
					case <-topUp:
					case <-s.Done():
						return
					}
					for { // fill the (connection-wide) send buffer
						n, err := s.TryWrite(body)
						body = body[n:]
						if errors.Is(err, core.ErrSendBufferFull) {
							break
						}
						if err != nil {
							return
						}
					}
					close(full)
					if _, err := s.Write(body); err == nil {
						_ = s.CloseWrite()
					}
				}()
			})
			env := rtStart(t, kind, srv, &h2.ClientOptions{Options: h2.Options{Config: core.Config{InitialWindowSize: window}}})
			c := env.client

			fill, err := c.Request(ctx, c.NewRequest("GET", "/fill"), &h2.RequestOptions{EndStream: true, ManualConsume: true})
			if err != nil {
				t.Fatal(err)
			}
			// Take the first window without crediting it: nothing more can
			// leave the server's buffers until the client says so.
			if _, err := rtReadFull(t, ctx, fill, window); err != nil {
				t.Fatal(err)
			}
			close(topUp)
			rtDone(t, ctx, full, "the server's send buffer to fill")

			hello, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
			if err != nil {
				t.Fatal(err)
			}
			rtDone(t, ctx, responding, "the inline handler of GET /")
			// Now the client credits and reads /fill: with a working
			// server both bodies arrive at once.
			if err := fill.Consume(window); err != nil {
				t.Fatal(err)
			}
			fillDone := make(chan error, 1)
			go func() {
				buf := make([]byte, 8<<10)
				for {
					n, err := fill.Read(buf)
					if n > 0 {
						_ = fill.Consume(n)
					}
					if err != nil {
						if err == io.EOF {
							err = nil
						}
						fillDone <- err
						return
					}
				}
			}()
			helloDone := make(chan rtResult, 1)
			go func() {
				b, err := hello.ReadAll()
				helloDone <- rtResult{data: b, err: err}
			}()
			wait := rvCtx(t, 5*time.Second)
			select {
			case r := <-helloDone:
				if r.err != nil || string(r.data) != rvHello {
					t.Fatalf(`GET / (inline Respond): %q, %v`, r.data, r.err)
				}
			case <-wait.Done():
				t.Fatal(`GET / answered inline with Respond got no body within 5 s, although the client ` +
					`returned all its windows: the inline Respond fell back to a blocking Write on the ` +
					`connection's goroutine and the connection is wedged`)
			}
			select {
			case err := <-fillDone:
				if err != nil {
					t.Fatalf("/fill: %v", err)
				}
			case <-wait.Done():
				t.Fatal("/fill stalled: the server no longer processes the client's WINDOW_UPDATEs")
			}
		})
	}
}

// TestReviewShutdownHonoursContext: Conn.Shutdown promises to return with
// ctx's error "after closing the connection at once, if ctx ends first".
// It calls Close and then waits for Done without bound; but Close only
// queues a GOAWAY for the writer, and the writer is stuck in a Write to a
// peer that stopped reading. Shutdown therefore returns only when
// Options.WriteTimeout (30 s by default; never when it is disabled) breaks
// the write.
func TestReviewShutdownHonoursContext(t *testing.T) {
	a, b := net.Pipe() // b is never read: a's writer blocks in its first Write
	c, err := h2.NewClientConn(a, &h2.ClientOptions{Authority: "example.test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = b.Close() // breaks the stuck write
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Error("client connection did not end after its transport's peer closed")
		}
	})
	sctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	ret := make(chan error, 1)
	go func() { ret <- c.Shutdown(sctx) }()
	bound := rvCtx(t, 3*time.Second)
	select {
	case err := <-ret:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown = %v, want context.DeadlineExceeded", err)
		}
	case <-bound.Done():
		t.Fatal("Shutdown(ctx) still blocked 3 s after its 100 ms context ended: Close cannot " +
			"interrupt a writer stuck on a peer that does not read, and Shutdown waits for Done unbounded")
	}
}

// TestReviewSetHandlerAfterConnectionEnded: SetHandler promises to replay
// the events queued before it. It only enqueues a delivery and wakes the
// writer ("from elsewhere the writer delivers it"); once the connection has
// ended no goroutine is left to deliver, so a stream's queued response and
// terminal event are never handed to the handler. (Over TCP, Done closes
// only after the reader has exited; over net.Pipe the reader may outlive
// Done and happen to deliver, which is why this test uses TCP.)
func TestReviewSetHandlerAfterConnectionEnded(t *testing.T) {
	ctx := rvCtx(t, 10*time.Second)
	env := rtStart(t, rtOverTCP, &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		_ = s.Respond(200, nil, []byte("hi"))
	})}, nil)
	c := env.client
	s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	rtDone(t, ctx, s.Done(), "the stream to end")
	_ = c.Close()
	rtDone(t, ctx, c.Done(), "the client connection to end")

	rec := rtNewRecorder()
	s.SetHandler(rec.handle)
	wait := rvCtx(t, 3*time.Second)
	rec.waitFor(t, wait, "the replay of the stream's queued events (SetHandler after the connection ended)",
		func(evs []h2.Event, data []byte) bool { return rtHas(evs, core.EventStreamClosed) })
}

// TestReviewClockDrivesTransportDeadlines: Options.Clock is documented to
// supply time to the core and run its timer, and transport/memory.Clock is
// offered as the virtual clock for tests. But the runtime also computes the
// net.Conn's absolute deadlines from it (WriteTimeout on every write, the
// linger read deadline). Over any transport whose deadlines follow the
// wall clock (net.Pipe here, TCP, TLS), a virtual clock in the past makes
// every write time out at once — the connection cannot even exchange
// prefaces — and one in the future silently disables WriteTimeout. Here
// only the client has a (virtual) clock; the server uses the system clock.
func TestReviewClockDrivesTransportDeadlines(t *testing.T) {
	ctx := rvCtx(t, 5*time.Second)
	clk := memory.NewClock(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
	a, b := net.Pipe()
	srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		_ = s.Respond(200, nil, nil)
	})}
	served := make(chan error, 1)
	go func() { served <- srv.ServeConn(b) }()
	c, err := h2.NewClientConn(a, &h2.ClientOptions{Options: h2.Options{Clock: clk}, Authority: "example.test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		_ = srv.Close()
		_ = a.Close()
		_ = b.Close()
		<-c.Done()
		<-served
	})
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatalf("WaitConnected with a virtual Options.Clock over net.Pipe: %v (the runtime set the "+
			"transport's wall-clock deadlines from the virtual clock)", err)
	}
}

// TestReviewRespondLargeBodyToConnect: core.Respond opens a CONNECT tunnel
// with a 2xx (no content-length, stream left open). When the body does not
// fit the send buffers, Stream.Respond's fallback adds a content-length and
// would end the stream with CloseWrite; the core rightly refuses the
// content-length on a tunnel response, so Respond fails with a
// *core.MessageError and sends nothing — only because the body is large.
func TestReviewRespondLargeBodyToConnect(t *testing.T) {
	ctx := rvCtx(t, 10*time.Second)
	body := rtPattern(2, 100<<10) // above Limits.StreamSendBuffer (64 KiB)
	respondErr := make(chan error, 1)
	env := rtStart(t, rtOverPipe, &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		respondErr <- s.Respond(200, nil, body)
		<-s.Done()
	})}, &h2.ClientOptions{Authority: "tunnel.example:443"})
	c := env.client
	s, err := c.Request(ctx, c.NewRequest("CONNECT", ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rtWait(t, ctx, respondErr, "Respond"); err != nil {
		t.Fatalf("Respond(200, nil, 100 KiB) to CONNECT: %v (a small body opens the tunnel)", err)
	}
	if resp, err := s.Response(ctx); err != nil || resp.Status != 200 {
		t.Fatalf("tunnel response: %v, %v", resp, err)
	}
	if got, err := rtReadFull(t, ctx, s, len(body)); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("tunnel bytes: %d, %v", len(got), err)
	}
}

// rvRawClient is a scripted HTTP/2 client on one end of a net.Pipe: it
// sends the preface, acknowledges the server's SETTINGS, answers nothing
// else, and reports PING ACKs.
type rvRawClient struct {
	nc   net.Conn
	fb   *coretest.FrameBuilder
	mu   sync.Mutex
	acks chan [8]byte
}

func rvStartRawClient(t *testing.T, nc net.Conn) *rvRawClient {
	p := &rvRawClient{nc: nc, fb: coretest.NewFrameBuilder(), acks: make(chan [8]byte, 16)}
	t.Cleanup(func() { _ = nc.Close() })
	p.write([]byte(coretest.ClientPreface))
	p.write(p.fb.Settings())
	go p.readLoop()
	return p
}

func (p *rvRawClient) readLoop() {
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
			switch {
			case f.Type == frame.TypeSettings && !f.IsAck():
				go p.write(p.fb.SettingsAck())
			case f.Type == frame.TypePing && f.Flags.Has(frame.FlagPingAck):
				select {
				case p.acks <- f.PingData:
				default:
				}
			}
			buf = buf[m:]
		}
		if err != nil {
			return
		}
	}
}

func (p *rvRawClient) write(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = p.nc.Write(b)
}

// sync sends a PING and waits for its ACK: the server has processed
// everything sent before it.
func (p *rvRawClient) sync(t *testing.T, ctx context.Context) {
	t.Helper()
	data := [8]byte{'r', 'v', 's', 'y', 'n', 'c'}
	p.write(p.fb.Ping(false, data))
	for {
		select {
		case got := <-p.acks:
			if got == data {
				return
			}
		case <-ctx.Done():
			t.Fatal("no PING ACK from the server")
		}
	}
}

// TestReviewGoAwayFloodIsQueuedPerStream: every GOAWAY the peer sends is
// pushed, with its own copy of the debug data, onto every open stream
// (dispatch.go, EventGoAway). The core accepts any number of GOAWAY frames
// and charges them to no budget, and a stream whose body is finished never
// pops them (Read returns io.EOF without looking further). So each 16 KiB
// GOAWAY frame costs 16 KiB × open streams of memory, without bound, until
// the streams end: a client can grow a server's heap at will.
func TestReviewGoAwayFloodIsQueuedPerStream(t *testing.T) {
	const (
		streams  = 4
		goaways  = 64
		debugLen = 16000
	)
	ctx := rvCtx(t, 10*time.Second)
	a, b := net.Pipe()
	got := make(chan *h2.Stream, streams)
	srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		_, _ = io.Copy(io.Discard, s) // the request body: empty
		got <- s
		<-s.Done() // a long response, say
	})}
	served := make(chan error, 1)
	go func() { served <- srv.ServeConn(b) }()
	t.Cleanup(func() {
		_ = srv.Close()
		<-served
	})
	p := rvStartRawClient(t, a)
	for i := 0; i < streams; i++ {
		p.write(p.fb.GET(uint32(2*i+1), "/"))
	}
	var ss []*h2.Stream
	for i := 0; i < streams; i++ {
		ss = append(ss, rtWait(t, ctx, got, "the handlers"))
	}
	debug := strings.Repeat("x", debugLen)
	for i := 0; i < goaways; i++ {
		p.write(p.fb.GoAway(0, frame.ErrCodeNo, debug))
	}
	p.sync(t, ctx)
	var held, frames int
	for _, s := range ss {
		evs, err := s.DrainEvents()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Kind == core.EventGoAway {
				frames++
				held += len(e.Data)
			}
		}
	}
	if held > streams*debugLen {
		t.Fatalf("%d GOAWAY frames (%d KiB on the wire) left %d GOAWAY events holding %d KiB of debug data "+
			"queued on %d streams: memory grows with every GOAWAY × every open stream",
			goaways, goaways*debugLen>>10, frames, held>>10, streams)
	}
}

// TestReviewInformationalFloodRetained: a server may send any number of
// 1xx responses before the final one; the core passes each on, and the
// runtime keeps a clone of every one (stream.go note: s.infos grows, and
// Response returns them all). With HPACK, a repeated large field costs the
// server a couple of bytes per HEADERS frame and the client a full clone:
// a malicious server makes the client's memory grow without bound (Go's
// client caps 1xx responses for this reason).
func TestReviewInformationalFloodRetained(t *testing.T) {
	const infos = 2000
	ctx := rvCtx(t, 10*time.Second)
	c, peer := rtRawClient(t, ctx, nil)
	s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	id := peer.next(ctx, frame.TypeHeaders).StreamID
	big := strings.Repeat("v", 3000) // fits the 4 KiB HPACK table: indexed after the first frame
	wire := 0
	var batch []byte
	for i := 0; i < infos; i++ {
		f := peer.fb.Headers(id, frame.FlagHeadersEndHeaders, ":status", "103", "link", big)
		wire += len(f)
		batch = append(batch, f...)
	}
	peer.write(batch)
	peer.write(peer.fb.Headers(id, frame.FlagHeadersEndHeaders|frame.FlagHeadersEndStream, ":status", "204"))
	resp, err := s.Response(ctx)
	var se *core.StreamError
	if errors.As(err, &se) {
		return // the client refused the flood: memory stays bounded
	}
	if err != nil {
		t.Fatal(err)
	}
	retained := 0
	for _, in := range resp.Informational {
		for _, f := range in.Header {
			retained += len(f.Name) + len(f.Value)
		}
	}
	if limit := 64 << 10; retained > limit {
		t.Fatalf("%d informational responses (%d KiB on the wire) retained %d KiB of header fields "+
			"on one stream, beyond any limit (MaxHeaderListSize is 64 KiB)", len(resp.Informational), wire>>10, retained>>10)
	}
}

// rvServe builds cmd/h2 and runs `h2 serve -h2c -addr 127.0.0.1:0` with
// extra arguments, returning its address and the process. Cleanup kills it
// if it is still running.
func rvServe(t *testing.T, ctx context.Context, extra ...string) (string, *exec.Cmd, <-chan struct{}) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		if _, serr := os.Stat(goBin); serr != nil {
			t.Skip("the go command is not on PATH")
		}
	}
	bin := filepath.Join(t.TempDir(), "h2")
	build := exec.CommandContext(ctx, goBin, "build", "-o", bin, "github.com/h2proto/h2/cmd/h2")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/h2: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, append([]string{"serve", "-h2c", "-addr", "127.0.0.1:0"}, extra...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}) // closed when the process has exited
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "listening on "); ok {
				addr, _, _ := strings.Cut(rest, " ")
				addrCh <- addr
			}
		}
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	select {
	case addr := <-addrCh:
		return addr, cmd, exited
	case <-exited:
		t.Fatalf("h2 serve exited before listening: %v", cmd.ProcessState)
	case <-ctx.Done():
		t.Fatal("h2 serve did not start listening")
	}
	return "", nil, nil
}

// TestReviewServeShutdownIsNotGraceful: `h2 serve` promises a graceful
// shutdown on SIGINT/SIGTERM (Server.Shutdown with a 5 s bound). But
// Shutdown closes the listener first, Serve returns ErrServerClosed at
// once, serve() returns and main exits — while Shutdown is still draining
// on another goroutine. A stream in flight is cut off.
func TestReviewServeShutdownIsNotGraceful(t *testing.T) {
	ctx := rvCtx(t, 10*time.Second)
	addr, cmd, exited := rvServe(t, ctx)
	c, err := h2.Dial(ctx, addr, &h2.ClientOptions{H2C: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	s, err := c.Request(ctx, c.NewRequest("POST", "/echo"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteContext(ctx, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	if got, err := rtReadFull(t, ctx, s, 4); err != nil || string(got) != "ping" {
		t.Fatalf("echo: %q, %v", got, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// A graceful server keeps running while the stream is open (up to its
	// 5 s bound); give it 2 s.
	wait := rvCtx(t, 2*time.Second)
	select {
	case <-exited:
	case <-wait.Done():
	}
	if _, err := s.WriteContext(ctx, []byte("pong")); err != nil {
		t.Fatalf("after SIGTERM, writing to the in-flight /echo stream: %v (h2 serve exited without "+
			"waiting for its graceful shutdown)", err)
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatalf("after SIGTERM, ending the in-flight /echo stream: %v (h2 serve exited without "+
			"waiting for its graceful shutdown)", err)
	}
	if got, err := rtReadAll(t, ctx, s); err != nil || string(got) != "pong" {
		t.Fatalf("after SIGTERM, the in-flight /echo stream ended with %q, %v; want \"pong\" and a clean end "+
			"(h2 serve exited without waiting for its graceful shutdown)", got, err)
	}
}

// TestReviewServeShortFileLeavesStreamOpen: fileServer.file sends
// content-length from Stat, copies the file and ignores CloseWrite's error.
// When the file yields fewer bytes than Stat said (a file truncated while
// served; every sysfs attribute, which Stat reports as 4096 bytes), the
// core refuses END_STREAM (core.ErrContentLength), nothing resets the
// stream, and the client waits forever on a stream the inline server holds
// against MaxConcurrentStreams.
func TestReviewServeShortFileLeavesStreamOpen(t *testing.T) {
	const dir, name = "/sys/kernel/mm/transparent_hugepage", "hpage_pmd_size"
	st, err := os.Stat(filepath.Join(dir, name))
	if err != nil {
		t.Skipf("no sysfs attribute to serve: %v", err)
	}
	content, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil || int64(len(content)) >= st.Size() {
		t.Skipf("%s is not shorter than its Stat size", name)
	}
	ctx := rvCtx(t, 10*time.Second)
	addr, _, _ := rvServe(t, ctx, "-dir", dir)
	c, err := h2.Dial(ctx, addr, &h2.ClientOptions{H2C: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	s, err := c.Request(ctx, c.NewRequest("GET", "/"+name), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Response(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan rtResult, 1)
	go func() {
		b, err := s.ReadAll()
		done <- rtResult{data: b, err: err}
	}()
	wait := rvCtx(t, 3*time.Second)
	select {
	case r := <-done:
		t.Logf("GET /%s: %d, content-length %s, got %d bytes, %v", name, resp.Status, resp.Get("content-length"), len(r.data), r.err)
	case <-wait.Done():
		t.Fatalf("GET /%s: %d with content-length %s; the stream neither ended nor was reset within 3 s "+
			"(serve.go ignores CloseWrite's core.ErrContentLength)", name, resp.Status, resp.Get("content-length"))
	}
}

// TestReviewWaitConnectedAfterEnd: WaitConnected "fails with the
// connection's error if the connection ends first". Once a connection that
// did connect has ended, both connectedCh and done are closed and the
// select picks either at random: WaitConnected on a connection that
// connected may report an error (Dial then fails a connection that
// connected, if the server hangs up at once).
func TestReviewWaitConnectedAfterEnd(t *testing.T) {
	ctx := rvCtx(t, 10*time.Second)
	env := rtStart(t, rtOverPipe, &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {})}, nil)
	c := env.client
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	rtDone(t, ctx, c.Done(), "the client connection to end")
	for i := 0; i < 64; i++ {
		if err := c.WaitConnected(ctx); err != nil {
			t.Fatalf("WaitConnected on a connection that connected (then ended), call %d: %v", i+1, err)
		}
	}
}

// rvRaceEnabled reports whether the test binary runs under the race
// detector.
func rvRaceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// TestReviewServeConnGoAwayRace: ServeConn registers the connection in
// srv.conns, releases srv.mu and, if the server is closing, calls
// cs.GoAway on the core without c.mu — while Server.Close (or Shutdown's
// give-up path) may already have taken the connection from srv.conns and be
// calling c.Close → core.Close under c.mu. Two goroutines mutate the core at
// once (a data race on the core's state, its output queue included).
//
// The race detector reports a race only once per process, so the scenario
// runs in a child process (this test binary, re-run) and the parent looks
// for the report.
func TestReviewServeConnGoAwayRace(t *testing.T) {
	if os.Getenv("RV_SERVECONN_RACE_CHILD") == "1" {
		for i := 0; i < 200; i++ {
			srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {})}
			_ = srv.Shutdown(context.Background()) // closing, with no connection yet
			a, b := net.Pipe()
			served := make(chan struct{})
			go func() {
				_ = srv.ServeConn(b)
				close(served)
			}()
			stop := make(chan struct{})
			closed := make(chan struct{})
			go func() { // Close again and again, as Shutdown's give-up path does
				defer close(closed)
				for {
					select {
					case <-stop:
						return
					default:
					}
					_ = srv.Close()
				}
			}()
			_ = a.Close()
			<-served
			close(stop)
			<-closed
		}
		return
	}
	if !rvRaceEnabled() {
		t.Skip("needs the race detector (go test -race)")
	}
	ctx := rvCtx(t, 10*time.Second)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestReviewServeConnGoAwayRace$", "-test.count=1")
	cmd.Env = append(os.Environ(), "RV_SERVECONN_RACE_CHILD=1")
	out, _ := cmd.CombinedOutput()
	if i := bytes.Index(out, []byte("WARNING: DATA RACE")); i >= 0 && bytes.Contains(out, []byte("(*Server).ServeConn")) {
		report := out[i:]
		if j := bytes.Index(report[1:], []byte("==================")); j > 0 {
			report = report[:j+1]
		}
		t.Fatalf("ServeConn's unlocked cs.GoAway races with Server.Close on the same core:\n%s", report)
	}
	if ctx.Err() != nil {
		t.Fatal("the child process did not finish")
	}
}

// TestReviewSmallDataFramesAmplifyMemory: each received DATA frame becomes
// one queued qitem (a whole core.Event plus offsets, 160 bytes) besides its
// bytes in rbuf, and the core charges non-empty DATA frames to no budget.
// A stream "never buffers more than its window" in content, but a peer that
// sends its window as 1-byte frames makes the runtime hold ~160 bytes per
// byte of window: a 256 KiB stream window costs tens of MiB per stream, a
// 1 MiB connection window over 100 MiB, for ~10 bytes per frame on the wire.
func TestReviewSmallDataFramesAmplifyMemory(t *testing.T) {
	const frames = 200_000 // below the default 256 KiB stream window
	ctx := rvCtx(t, 10*time.Second)
	a, b := net.Pipe()
	got := make(chan *h2.Stream, 1)
	srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		got <- s
		<-s.Done() // reads the body later
	})}
	served := make(chan error, 1)
	go func() { served <- srv.ServeConn(b) }()
	t.Cleanup(func() {
		_ = srv.Close()
		<-served
	})
	p := rvStartRawClient(t, a)
	p.write(p.fb.Headers(1, frame.FlagHeadersEndHeaders, ":method", "POST", ":scheme", "http", ":authority", "example.test", ":path", "/"))
	s := rtWait(t, ctx, got, "the handler")
	p.sync(t, ctx)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	one := frame.AppendData(nil, 1, false, []byte{'x'})
	batch := bytes.Repeat(one, frames)
	p.write(batch)
	p.sync(t, ctx)
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	runtime.KeepAlive(s)
	if limit := int64(16 * frames); grew > limit {
		t.Fatalf("%d one-byte DATA frames (%d KiB of content, %d KiB on the wire) grew the live heap by %d MiB: "+
			"%d bytes held per byte of content", frames, frames>>10, len(batch)>>10, grew>>20, grew/frames)
	}
}

// rvWriteWatch is a transport/memory end that reports the size of each
// Write as it begins.
type rvWriteWatch struct {
	*memory.Conn
	writing chan int
}

func (w *rvWriteWatch) Write(p []byte) (int, error) {
	select {
	case w.writing <- len(p):
	default:
	}
	return w.Conn.Write(p)
}

// TestReviewWriteTimeoutOnVirtualPipe: transport/memory promises that "one
// Clock drives the runtime's timers, the pipes' latency and the
// connections' deadlines together" — a memory pipe with Config.Clock
// reads the deadlines it is given on that virtual clock. A runtime that
// computes transport deadlines from the wall clock (time.Now) hands such a
// pipe deadlines months away in virtual time (or already past, for a
// virtual clock ahead of the wall clock): WriteTimeout never fires in a
// simulation. Together with TestReviewClockDrivesTransportDeadlines this
// shows that neither clock is right for every transport: the deadline
// clock must come from the transport (or be configured), not be guessed.
func TestReviewWriteTimeoutOnVirtualPipe(t *testing.T) {
	ctx := rvCtx(t, 5*time.Second)
	clk := memory.NewClock(time.Time{})
	a, b := memory.Pipe(memory.Config{Clock: clk, Buffer: 16 << 10})
	noKeepAlive := core.Config{Timeouts: core.Timeouts{KeepAlive: -1}}
	srv := &h2.Server{Options: h2.Options{Clock: clk, Config: noKeepAlive}, Handler: h2.HandlerFunc(func(s *h2.Stream) {
		<-s.Done()
	})}
	served := make(chan error, 1)
	go func() { served <- srv.ServeConn(b) }()
	w := &rvWriteWatch{Conn: a, writing: make(chan int, 64)}
	c, err := h2.NewClientConn(w, &h2.ClientOptions{Options: h2.Options{Clock: clk, Config: noKeepAlive}, Authority: "example.test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.Break(nil)
		<-c.Done()
		_ = srv.Close()
		<-served
	})
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := c.Request(ctx, c.NewRequest("POST", "/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The server has read everything so far (our SETTINGS ACK included:
	// its SETTINGS timer must not end the connection).
	if _, err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	b.Stall(true) // the server stops reading
	go func() { _, _ = s.Write(make([]byte, 64<<10)) }()
	for n := 0; n <= 16<<10; { // a write larger than the pipe's buffer has begun: it blocks
		n = rtWait(t, ctx, w.writing, "the client's write of the body")
	}
	// Default WriteTimeout: 30 s. Move virtual time on until the
	// connection gives up (on the virtual clock: after 31 s and a 1 s
	// linger).
	for i := 0; ; i++ {
		select {
		case <-c.Done():
			if v := clk.Now().Sub(memory.Epoch); v < 30*time.Second || !errors.Is(c.Err(), os.ErrDeadlineExceeded) {
				t.Fatalf("the connection ended after %v of virtual time with %v, not by WriteTimeout", v, c.Err())
			}
			return
		case <-ctx.Done():
			t.Fatalf("WriteTimeout (30 s) never fired on the virtual clock shared by the runtime and the pipe: "+
				"the connection is still open after %v of virtual time, its writer stuck", clk.Now().Sub(memory.Epoch))
		default:
		}
		clk.Advance(100 * time.Millisecond)
		runtime.Gosched()
	}
}

// TestReviewGoAwayDataIsTheCallers: DrainEvents hands over events whose
// "Data are the caller's", and a handler may use an event's Data until it
// returns. Since GOAWAY events were capped per stream, every stream's
// EventGoAway (and Conn.GoAway) shares one copy of the debug data, so a
// caller that reuses the Data it was given rewrites what the other streams
// and the connection report.
func TestReviewGoAwayDataIsTheCallers(t *testing.T) {
	ctx := rvCtx(t, 10*time.Second)
	c, peer := rtRawClient(t, ctx, nil)
	var ss []*h2.Stream
	for i := 0; i < 2; i++ {
		s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
		if err != nil {
			t.Fatal(err)
		}
		peer.next(ctx, frame.TypeHeaders)
		ss = append(ss, s)
	}
	const debug = "shutting down"
	peer.write(peer.fb.GoAway(ss[1].ID(), frame.ErrCodeNo, debug))
	peer.write(peer.fb.Ping(false, [8]byte{'r', 'v'}))
	peer.next(ctx, frame.TypePing) // the client has dispatched the GOAWAY
	goAwayData := func(s *h2.Stream) []byte {
		evs, err := s.DrainEvents()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Kind == core.EventGoAway {
				return e.Data
			}
		}
		t.Fatalf("stream %d: no EventGoAway queued", s.ID())
		return nil
	}
	mine := goAwayData(ss[0])
	copy(mine, "XXXXXXXXXXXXX") // the caller's own bytes, reused
	if got := goAwayData(ss[1]); string(got) != debug {
		t.Errorf("stream %d's EventGoAway Data = %q after stream %d's caller reused its own, want %q", ss[1].ID(), got, ss[0].ID(), debug)
	}
	if g, ok := c.GoAway(); !ok || string(g.Data) != debug {
		t.Errorf("Conn.GoAway().Data = %q after a stream's caller reused its own, want %q", g.Data, debug)
	}
}
