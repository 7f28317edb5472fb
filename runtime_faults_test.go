package h2_test

// Reliability under faults, over loopback TCP (issue 7, item 5): a server
// restarted mid-stream and a client killed mid-upload here; a half-open
// connection and a slow reader in runtime_faults_net_test.go; a graceful
// shutdown under load in runtime_faults_shutdown_test.go. Helpers are
// prefixed ft. Every wait is bounded; time is measured with the wall clock
// and checked against generous upper bounds, never slept on.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/transport/tcp"
)

// ftSlack is added to every timing bound: the race detector on two CPUs
// can delay a goroutine by hundreds of milliseconds.
const ftSlack = 3 * time.Second

// ftServer is a Server on a loopback listener whose accepted sockets the
// test can reach, to crash it without any goodbye.
type ftServer struct {
	t      *testing.T
	srv    *h2.Server
	ln     net.Listener
	addr   string
	served chan error

	mu  sync.Mutex
	ncs []net.Conn
}

// ftListener records every accepted socket.
type ftListener struct {
	net.Listener
	fs *ftServer
}

func (l *ftListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err == nil {
		l.fs.mu.Lock()
		l.fs.ncs = append(l.fs.ncs, nc)
		l.fs.mu.Unlock()
	}
	return nc, err
}

// ftServe serves srv on addr ("127.0.0.1:0" for a fresh port). Cleanup
// closes the server and waits for Serve to return.
func ftServe(t *testing.T, addr string, srv *h2.Server, cfg tcp.Config) *ftServer {
	t.Helper()
	if srv.ErrorLog == nil {
		srv.ErrorLog = log.New(io.Discard, "", 0)
	}
	l, err := tcp.Listen(addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	fs := &ftServer{t: t, srv: srv, addr: l.Addr().String(), served: make(chan error, 1)}
	fs.ln = &ftListener{Listener: l, fs: fs}
	go func() { fs.served <- srv.Serve(fs.ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		select {
		case <-fs.served:
		case <-time.After(rtTimeout):
			t.Errorf("Serve on %s did not return after Close", fs.addr)
		}
	})
	return fs
}

// crash ends the server the way a killed process does: the listener and
// every accepted socket close at once, without GOAWAY. With reset, the
// sockets close with SO_LINGER 0, so the peer gets a TCP RST instead of a
// FIN.
func (fs *ftServer) crash(reset bool) {
	_ = fs.ln.Close()
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, nc := range fs.ncs {
		if tc, ok := nc.(*net.TCPConn); ok && reset {
			_ = tc.SetLinger(0)
		}
		_ = nc.Close()
	}
}

// ftDial connects an h2c client to addr; cleanup closes it.
func ftDial(t *testing.T, ctx context.Context, addr string, o *h2.ClientOptions) *h2.Conn {
	t.Helper()
	var opts h2.ClientOptions
	if o != nil {
		opts = *o
	}
	opts.H2C = true
	c, err := h2.Dial(ctx, addr, &opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// ftRoundTrip sends method path with body on c and returns the response
// status and body.
func ftRoundTrip(ctx context.Context, c *h2.Conn, method, path string, body []byte, extra ...h2.HeaderField) (int, []byte, error) {
	s, err := c.Request(ctx, c.NewRequest(method, path, extra...), &h2.RequestOptions{EndStream: body == nil})
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		if _, err := s.WriteContext(ctx, body); err != nil {
			// The stream's own error (a refusal, say) says more.
			if _, rerr := s.Response(ctx); rerr != nil {
				return 0, nil, rerr
			}
			return 0, nil, err
		}
		if err := s.CloseWrite(); err != nil {
			if _, rerr := s.Response(ctx); rerr != nil {
				return 0, nil, rerr
			}
			return 0, nil, err
		}
	}
	resp, err := s.Response(ctx)
	if err != nil {
		return 0, nil, err
	}
	data, err := s.ReadAll()
	return resp.Status, data, err
}

// ftEcho answers with the request body.
func ftEcho(s *h2.Stream) {
	body, err := s.ReadAll()
	if err != nil {
		return
	}
	_ = s.Respond(200, nil, body)
}

// ftCheckEcho makes one echo round trip on c.
func ftCheckEcho(t *testing.T, ctx context.Context, c *h2.Conn, seed uint64, size int) {
	t.Helper()
	want := rtPattern(seed, size)
	status, got, err := ftRoundTrip(ctx, c, "POST", "/echo", want)
	if err != nil || status != 200 || !bytes.Equal(got, want) {
		t.Fatalf("echo of %d bytes: status %d, %d bytes back, %v", size, status, len(got), err)
	}
}

// ftGoroutines returns how many goroutines run, and how many of them are
// this package's connection readers (one per live connection, client or
// server), for messages.
func ftGoroutines() (total, readers int) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	return runtime.NumGoroutine(), strings.Count(string(buf), "h2proto/h2.(*Conn).readLoop(")
}

// ftWaitGoroutines waits, bounded by ctx, until no more goroutines run than
// base: the connections and handlers a test ended have all exited. It
// returns how long that took.
func ftWaitGoroutines(t *testing.T, ctx context.Context, base int, what string) time.Duration {
	t.Helper()
	start := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		n, readers := ftGoroutines()
		if n <= base {
			return time.Since(start)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("%s: %d goroutines (%d connection readers) still run, want at most the %d before", what, n, readers, base)
		}
	}
}

// TestFaultServerRestartMidStream: a server is killed (listener and
// sockets closed, no GOAWAY) while a client downloads a response and
// uploads a request body on one connection. Both streams fail promptly
// with core.ErrConnectionLost — a read of the download, a write of the
// upload, not a hang, not io.EOF, not marked retryable (the server had
// started on both) — the Conn's Done fires with an error, and a request on
// it fails at once. A new server on the same address then serves a new
// Dial normally. Run with a FIN (a process that exits) and with a TCP RST
// (SO_LINGER 0).
func TestFaultServerRestartMidStream(t *testing.T) {
	for _, mode := range []struct {
		name  string
		reset bool
	}{{"fin", false}, {"rst", true}} {
		t.Run(mode.name, func(t *testing.T) {
			ctx := rtCtx(t)
			const chunk = 64 << 10
			started := make(chan string, 2)
			srvA := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
				switch s.Request().Path {
				case "/download":
					if s.WriteHeaders(200, nil) != nil {
						return
					}
					if _, err := s.Write(rtPattern(1, chunk)); err != nil {
						return
					}
					started <- "download"
					<-s.Context().Done() // the rest never comes
				case "/upload":
					if _, err := io.ReadFull(s, make([]byte, chunk)); err != nil {
						return
					}
					started <- "upload"
					_, _ = io.Copy(io.Discard, s)
				}
			})}
			a := ftServe(t, "127.0.0.1:0", srvA, tcp.Config{})
			c := ftDial(t, ctx, a.addr, nil)

			down, err := c.Request(ctx, c.NewRequest("GET", "/download"), &h2.RequestOptions{EndStream: true})
			if err != nil {
				t.Fatal(err)
			}
			up, err := c.Request(ctx, c.NewRequest("POST", "/upload"), nil)
			if err != nil {
				t.Fatal(err)
			}
			// The uploader writes until the connection dies (bounded: far
			// more than the windows let through).
			upErr := make(chan error, 1)
			go func() {
				block := rtPattern(2, chunk)
				for range 1 << 10 {
					if _, err := up.WriteContext(ctx, block); err != nil {
						upErr <- err
						return
					}
				}
				upErr <- nil
			}()
			if resp, err := down.Response(ctx); err != nil || resp.Status != 200 {
				t.Fatalf("download response: %v, %v", resp, err)
			}
			if b, err := rtReadFull(t, ctx, down, chunk); err != nil || !bytes.Equal(b, rtPattern(1, chunk)) {
				t.Fatalf("download first chunk: %d bytes, %v", len(b), err)
			}
			rtWait(t, ctx, started, "both handlers mid-stream")
			rtWait(t, ctx, started, "both handlers mid-stream")

			crashed := time.Now()
			a.crash(mode.reset)

			_, rerr := rtRead(t, ctx, down, 1)
			readAfter := time.Since(crashed)
			werr := rtWait(t, ctx, upErr, "the uploader's Write to fail")
			writeAfter := time.Since(crashed)
			rtDone(t, ctx, c.Done(), "client connection Done")
			doneAfter := time.Since(crashed)
			t.Logf("after the crash: download Read failed in %v (%v), upload Write in %v (%v), Done in %v, Conn.Err %v",
				readAfter, rerr, writeAfter, werr, doneAfter, c.Err())
			for _, r := range []struct {
				what string
				err  error
			}{{"download Read", rerr}, {"upload Write", werr}, {"download Err", down.Err()}, {"upload Err", up.Err()}} {
				if !errors.Is(r.err, core.ErrConnectionLost) {
					t.Errorf("%s after the server crashed: %v, want core.ErrConnectionLost", r.what, r.err)
				}
				var se *core.StreamError
				if errors.As(r.err, &se) && se.Retryable {
					t.Errorf("%s: %v marked Retryable, but the server had begun processing", r.what, r.err)
				}
			}
			if err := c.Err(); err == nil || errors.Is(err, io.EOF) {
				t.Errorf("Conn.Err after the crash: %v, want an error other than io.EOF", err)
			}
			if doneAfter > ftSlack {
				t.Errorf("the client took %v to notice the crash, want under %v", doneAfter, ftSlack)
			}
			if _, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true}); err == nil {
				t.Errorf("Request on the dead connection succeeded")
			}

			// Server B on the same address: a new connection works.
			b := ftServe(t, a.addr, &h2.Server{Handler: h2.HandlerFunc(ftEcho)}, tcp.Config{})
			if b.addr != a.addr {
				t.Fatalf("restarted server on %s, want %s", b.addr, a.addr)
			}
			c2 := ftDial(t, ctx, b.addr, nil)
			ftCheckEcho(t, ctx, c2, 3, 300<<10)
			rtCheckInvariants(t, c2)
		})
	}
}

// TestFaultClientKilledMidUpload: a client's socket is reset (SO_LINGER 0,
// Close: what the kernel does for a killed process with unread input)
// while the server reads its upload. The handler's Read fails promptly
// with core.ErrConnectionLost, its stream Context ends, the server
// connection ends with an error, every goroutine of that connection (both
// ends) exits, and the server goes on serving: an existing connection and
// a new one both complete requests.
func TestFaultClientKilledMidUpload(t *testing.T) {
	ctx := rtCtx(t)
	const chunk = 64 << 10
	type outcome struct {
		conn    *h2.Conn
		readErr error
		at      time.Time
		ctxDone bool
	}
	got := make(chan *h2.Conn, 1)
	results := make(chan outcome, 1)
	srv := &h2.Server{Handler: h2.HandlerFunc(func(s *h2.Stream) {
		if s.Request().Path != "/upload" {
			ftEcho(s)
			return
		}
		if _, err := io.ReadFull(s, make([]byte, chunk)); err != nil {
			results <- outcome{readErr: err}
			return
		}
		got <- s.Conn()
		_, err := io.Copy(io.Discard, s)
		at := time.Now()
		select {
		case <-s.Context().Done():
		case <-time.After(ftSlack):
		}
		results <- outcome{conn: s.Conn(), readErr: err, at: at, ctxDone: rtCancelled(s.Context())}
	})}
	fs := ftServe(t, "127.0.0.1:0", srv, tcp.Config{})
	other := ftDial(t, ctx, fs.addr, nil)
	ftCheckEcho(t, ctx, other, 4, 100<<10)
	base, baseReaders := ftGoroutines()

	victim := ftDial(t, ctx, fs.addr, nil)
	s, err := victim.Request(ctx, victim.NewRequest("POST", "/upload"), nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		block := rtPattern(5, chunk)
		for range 1 << 10 {
			if _, err := s.WriteContext(ctx, block); err != nil {
				return
			}
		}
	}()
	serverConn := rtWait(t, ctx, got, "the upload to reach the handler")

	tc, ok := victim.NetConn().(*net.TCPConn)
	if !ok {
		t.Fatalf("client transport is %T, want *net.TCPConn", victim.NetConn())
	}
	_ = tc.SetLinger(0)
	killed := time.Now()
	_ = tc.Close()

	o := rtWait(t, ctx, results, "the handler's Read to fail")
	readAfter := o.at.Sub(killed)
	if !errors.Is(o.readErr, core.ErrConnectionLost) {
		t.Errorf("handler Read after the client was killed: %v, want core.ErrConnectionLost", o.readErr)
	}
	if !o.ctxDone {
		t.Errorf("handler stream Context not done after the client was killed")
	}
	if readAfter > ftSlack {
		t.Errorf("handler Read failed %v after the kill, want under %v", readAfter, ftSlack)
	}
	rtDone(t, ctx, serverConn.Done(), "server connection Done")
	if err := serverConn.Err(); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("server connection Err %v, want an error other than io.EOF", err)
	}
	rtDone(t, ctx, victim.Done(), "killed client connection Done")
	exitAfter := ftWaitGoroutines(t, ctx, base, "after the client was killed")
	t.Logf("handler Read failed %v after the kill (%v); server Conn.Err %v; goroutines back to %d (%d readers) within %v more",
		readAfter, o.readErr, serverConn.Err(), base, baseReaders, exitAfter)

	ftCheckEcho(t, ctx, other, 6, 200<<10)
	fresh := ftDial(t, ctx, fs.addr, nil)
	ftCheckEcho(t, ctx, fresh, 7, 200<<10)
	rtCheckInvariants(t, other)
	rtCheckInvariants(t, fresh)
}
