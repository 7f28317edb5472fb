package h2gnet

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// forever is the request for streamForever's "/forever".
var forever = []HeaderField{
	{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
	{Name: ":authority", Value: "test"}, {Name: ":path", Value: "/forever"},
}

// TestNeverReaderIsClosed: a peer that never reads fills the socket and
// gnet's buffer; the connection must still close — by CloseTimeout once the
// core has ended the session (here its keep-alive PING goes unanswered), or
// by WriteTimeout while it is blocked — and not live for ever.
func TestNeverReaderIsClosed(t *testing.T) {
	for _, tc := range []struct {
		name string
		srv  func(cfg *core.Config) *Server
	}{
		{"closing", func(cfg *core.Config) *Server {
			cfg.Timeouts.KeepAlive = 100 * time.Millisecond
			return &Server{Config: *cfg, CloseTimeout: 300 * time.Millisecond, WriteTimeout: time.Hour}
		}},
		{"stalled", func(cfg *core.Config) *Server {
			return &Server{Config: *cfg, WriteTimeout: 300 * time.Millisecond, CloseTimeout: time.Hour}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.srv(&core.Config{})
			srv.Handler = testHandler{extra: streamForever(make(chan *Event, 1))}
			srv.MaxWriteBuffer = 64 << 10
			closed := make(chan struct{}, 1)
			blocked := make(chan struct{}, 1)
			srv.testHookClosed = func() { closed <- struct{}{} }
			srv.testHookBlocked = func(int) {
				select {
				case blocked <- struct{}{}:
				default:
				}
			}
			addr := startServer(t, srv)
			r := newRawClient(t, addr, core.Config{InitialWindowSize: 1 << 30, ConnectionWindowSize: 1 << 30})
			_ = r.nc.(*net.TCPConn).SetReadBuffer(4096)
			if _, err := r.c.OpenStream(forever, core.StreamOptions{EndStream: true}); err != nil {
				t.Fatal(err)
			}
			r.flush()
			select {
			case <-blocked:
			case <-time.After(20 * time.Second):
				t.Fatal("the server never blocked on a client that does not read")
			}
			select {
			case <-closed:
			case <-time.After(10 * time.Second):
				t.Fatal("connection of a peer that never reads still open 10 s after blocking")
			}
		})
	}
}

// TestDetachedEndsWhenStreamDropped: a Detached handle whose stream ends
// without a terminal event reaching it — the handler panicked after Detach —
// gets an error at once, not when the connection ends; and Detach from the
// callback of the terminal event is refused (the handle would hear nothing).
func TestDetachedEndsWhenStreamDropped(t *testing.T) {
	readErr := make(chan error, 1)
	detachErr := make(chan error, 1)
	h := func(s Stream, req *Request) bool {
		switch req.Path {
		case "/panic":
			d, err := s.Detach()
			if err != nil {
				t.Error(err)
				return true
			}
			go func() {
				defer d.Close()
				_, err := d.Read(make([]byte, 10)) // the body never ends
				readErr <- err
			}()
			panic("handler bug after Detach")
		case "/detach-at-end":
			_ = s.OnEvent(func(s Stream, e *Event) {
				if e.Kind == core.EventStreamClosed || e.Kind == core.EventStreamReset {
					d, err := s.Detach()
					if d != nil {
						go d.Close()
					}
					detachErr <- err
				}
			})
			_ = s.Respond(200, nil, []byte("ok"))
			return true
		}
		return false
	}
	srv := &Server{Handler: testHandler{extra: h}, ErrorLog: log.New(io.Discard, "", 0)}
	addr := startServer(t, srv)
	c := dial(t, addr)
	ctx := testCtx(t)
	if _, err := c.Request(ctx, c.NewRequest("PUT", "/panic"), nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-readErr:
		var se *core.StreamError
		if !errors.As(err, &se) || se.Code != frame.ErrCodeInternal {
			t.Fatalf("Read after the handler panicked: %v, want a stream error INTERNAL_ERROR", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Detached.Read still blocked 10 s after the handler panicked (connection open)")
	}
	if status, _ := get(t, c, "/detach-at-end"); status != 200 {
		t.Fatalf("GET /detach-at-end: %d", status)
	}
	select {
	case err := <-detachErr:
		if !errors.Is(err, ErrStreamDone) {
			t.Fatalf("Detach in the terminal event's callback: %v, want ErrStreamDone", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no terminal event")
	}
}

// TestDetachedOnLoopFails: Detached calls made on the connection's own
// event loop fail with ErrOnLoop instead of deadlocking it, in ServeH2 and
// in an event callback.
func TestDetachedOnLoopFails(t *testing.T) {
	type result struct {
		respond, read, write error
	}
	results := make(chan result, 2)
	h := func(s Stream, req *Request) bool {
		switch req.Path {
		case "/serve":
			d, err := s.Detach()
			if err != nil {
				t.Error(err)
				return true
			}
			var r result
			r.respond = d.Respond(200, nil, nil)
			_, r.read = d.Read(make([]byte, 10)) // the body has not ended
			results <- r
			go func() {
				defer d.Close()
				_, _ = io.Copy(io.Discard, d)
				_ = d.Respond(200, nil, []byte("from a goroutine"))
			}()
			return true
		case "/callback":
			_ = s.OnEvent(func(s Stream, e *Event) {
				if e.Kind != core.EventData {
					return
				}
				d, err := s.Detach()
				if err != nil {
					t.Error(err)
					return
				}
				var r result
				_, r.write = d.Write([]byte("x"))
				results <- r
				go func() {
					defer d.Close()
					_, _ = io.Copy(io.Discard, d)
					_ = d.Respond(200, nil, []byte("from a goroutine"))
				}()
			})
			return true
		}
		return false
	}
	addr := startServer(t, &Server{Handler: testHandler{extra: h}})
	c := dial(t, addr)
	for _, path := range []string{"/serve", "/callback"} {
		ctx := testCtx(t)
		s, err := c.Request(ctx, c.NewRequest("PUT", path), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write([]byte("body")); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-results:
			if path == "/serve" && (!errors.Is(r.respond, ErrOnLoop) || !errors.Is(r.read, ErrOnLoop)) {
				t.Fatalf("%s: Respond %v, Read %v on the loop; want ErrOnLoop", path, r.respond, r.read)
			}
			if path == "/callback" && !errors.Is(r.write, ErrOnLoop) {
				t.Fatalf("%s: Write %v on the loop; want ErrOnLoop", path, r.write)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the handler did not finish in 10 s (the loop deadlocked?)", path)
		}
		if err := s.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		body, err := s.ReadAll()
		if err != nil || string(body) != "from a goroutine" {
			t.Fatalf("%s: %q, %v", path, body, err)
		}
	}
}

// TestDetachedCallsDuringLinger: once the session is over and the
// connection lingers (Server.Linger), a Detached call is answered at once
// (with the stream's error), not when the lingering ends.
func TestDetachedCallsDuringLinger(t *testing.T) {
	const linger = 10 * time.Second
	release := make(chan struct{})
	type answer struct {
		took time.Duration
		err  error
	}
	answered := make(chan answer, 1)
	served := make(chan struct{})
	h := func(s Stream, req *Request) bool {
		d, err := s.Detach()
		if err != nil {
			t.Error(err)
		}
		close(served)
		go func() {
			<-release
			start := time.Now()
			err := d.Respond(200, nil, []byte("x"))
			_ = d.Close()
			answered <- answer{time.Since(start), err}
		}()
		return true
	}
	addr := startServer(t, &Server{Handler: testHandler{extra: h}, Linger: linger})
	r := newRawClient(t, addr, core.Config{})
	if _, err := r.c.OpenStream(forever, core.StreamOptions{EndStream: true}); err != nil {
		t.Fatal(err)
	}
	r.flush()
	<-served
	// DATA on stream 0: a connection error (RFC 9113 §6.1), GOAWAY.
	if _, err := r.nc.Write([]byte("\x00\x00\x00\x00\x00\x00\x00\x00\x00")); err != nil {
		t.Fatal(err)
	}
	// The server's FIN: the GOAWAY is written and the connection lingers.
	if code, ok := goAwayCode(readToEOF(t, r.nc)); !ok || code != frame.ErrCodeProtocol {
		t.Fatalf("no GOAWAY(PROTOCOL_ERROR) before the server's FIN")
	}
	close(release)
	select {
	case a := <-answered:
		if a.err == nil || a.took > linger/2 {
			t.Fatalf("Respond on a lingering connection: %v after %v; want an error at once", a.err, a.took)
		}
	case <-time.After(2 * linger):
		t.Fatal("Detached.Respond never returned")
	}
}

// TestDetachInDataCallbackKeepsCredit: the content handed to an EventData
// callback that detaches the stream is still credited to the peer. The
// stream window here is one frame, so the first chunk fills it: without its
// credit the rest of the body could never be sent.
func TestDetachInDataCallbackKeepsCredit(t *testing.T) {
	h := func(s Stream, req *Request) bool {
		if req.Path != "/late" {
			return false
		}
		_ = s.OnEvent(func(s Stream, e *Event) {
			if e.Kind != core.EventData {
				return
			}
			first := len(e.Data)
			d, err := s.Detach()
			if err != nil {
				t.Error(err)
				return
			}
			go func() {
				defer d.Close()
				rest, err := io.ReadAll(d)
				if err != nil {
					_ = d.Reset(frame.ErrCodeInternal)
					return
				}
				_ = d.Respond(200, nil, []byte(strconv.Itoa(first+len(rest))))
			}()
		})
		return true
	}
	cfg := core.Config{InitialWindowSize: 16384}
	addr := startServer(t, &Server{Handler: testHandler{extra: h}, Config: cfg})
	c := dial(t, addr)
	body := pattern(32 << 10)
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := c.Request(ctx, c.NewRequest("PUT", "/late"), nil)
		if err == nil {
			_, err = s.Write(body)
		}
		if err == nil {
			err = s.CloseWrite()
		}
		var got []byte
		if err == nil {
			got, err = s.ReadAll()
		}
		cancel()
		if err != nil {
			t.Fatalf("request %d: %v (the first chunk's credit lost?)", i, err)
		}
		if string(got) != strconv.Itoa(len(body)) {
			t.Fatalf("request %d: the server saw %s bytes, want %d", i, got, len(body))
		}
	}
}

// TestDetachedBodyCompacts: the handle's body buffer holds what is unread,
// not everything received since the reader last caught up completely.
func TestDetachedBodyCompacts(t *testing.T) {
	d := &Detached{c: &conn{dead: true, loop: &loop{}}, readable: make(chan struct{}, 1)}
	chunk := make([]byte, 16<<10)
	buf := make([]byte, 16<<10)
	d.event(&Event{Kind: core.EventData, Data: make([]byte, 20<<10)})
	maxCap := 0
	for range 1000 { // 16 MiB through, never fully read
		if n, err := d.Read(buf); n != len(buf) || err != nil {
			t.Fatalf("Read: %d, %v", n, err)
		}
		d.event(&Event{Kind: core.EventData, Data: chunk})
		maxCap = max(maxCap, cap(d.body))
	}
	if maxCap > 64<<10 {
		t.Fatalf("body buffer grew to %d KiB with at most 20 KiB unread", maxCap>>10)
	}
}

// TestShutdownRacesFirstConnection: a Shutdown that lists the loops while
// the first connection of a loop is being opened (so the loop is not listed
// yet) must still reach that connection, which starts with a GOAWAY.
func TestShutdownRacesFirstConnection(t *testing.T) {
	cfg := core.Config{}
	cfg.Timeouts.GoAwayDrain = 100 * time.Millisecond // the client never answers the PING
	srv := &Server{Handler: testHandler{}, Loops: 1, Config: cfg, Linger: 100 * time.Millisecond}
	listed := make(chan struct{})
	shut := make(chan error, 1)
	srv.testHookShutdown = func() { close(listed) }
	srv.testHookOpen = func() {
		srv.testHookOpen = nil // the first connection only
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			shut <- srv.Shutdown(ctx)
		}()
		<-listed
	}
	addr := startServer(t, srv)
	// A client that stays connected and answers nothing: only the server's
	// GOAWAY (then its timers) can end the connection.
	newRawClient(t, addr, core.Config{})
	select {
	case err := <-shut:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown still waiting 10 s later: the new connection got no GOAWAY")
	}
}
