package h2gnet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

func TestGetAndHead(t *testing.T) {
	addr := startServer(t, &Server{Handler: testHandler{}})
	c := dial(t, addr)
	for range 3 {
		status, body := get(t, c, "/")
		if status != 200 || body != testHello {
			t.Fatalf("GET / = %d %q, want 200 %q", status, body, testHello)
		}
	}
	ctx := testCtx(t)
	s, err := c.Request(ctx, c.NewRequest("HEAD", "/"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Response(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := s.ReadAll(); resp.Status != 200 || len(body) != 0 || resp.Get("content-length") != fmt.Sprint(len(testHello)) {
		t.Fatalf("HEAD / = %d, content-length %q, %d body bytes", resp.Status, resp.Get("content-length"), len(body))
	}
}

// pattern returns n deterministic, non-repeating-looking bytes.
func pattern(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// postEcho sends body (and trailers) to /echo and returns what came back.
func postEcho(t *testing.T, c *h2.Conn, body []byte, trailers []HeaderField) ([]byte, []HeaderField) {
	t.Helper()
	ctx := testCtx(t)
	s, err := c.Request(ctx, c.NewRequest("POST", "/echo"), nil)
	if err != nil {
		t.Fatal(err)
	}
	werr := make(chan error, 1)
	go func() {
		for p := body; len(p) > 0; {
			n := min(len(p), 100_000)
			if _, err := s.Write(p[:n]); err != nil {
				werr <- err
				return
			}
			p = p[n:]
		}
		if len(trailers) > 0 {
			werr <- s.WriteTrailers(trailers)
		} else {
			werr <- s.CloseWrite()
		}
	}()
	resp, err := s.Response(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 {
		t.Fatalf("POST /echo: status %d", resp.Status)
	}
	got, err := s.ReadAll()
	if err != nil {
		t.Fatalf("POST /echo: reading: %v", err)
	}
	if err := <-werr; err != nil {
		t.Fatalf("POST /echo: writing: %v", err)
	}
	return got, s.Trailers()
}

func TestEchoLargeBodyWithTrailers(t *testing.T) {
	addr := startServer(t, &Server{Handler: testHandler{}})
	c := dial(t, addr)
	body := pattern(6 << 20) // many windows: flow control both ways
	trailers := []HeaderField{{Name: "x-checksum", Value: "abc123"}}
	got, gotTrailers := postEcho(t, c, body, trailers)
	if !bytes.Equal(got, body) {
		t.Fatalf("echo returned %d bytes, want the %d sent", len(got), len(body))
	}
	if len(gotTrailers) != 1 || gotTrailers[0].Name != "x-checksum" || gotTrailers[0].Value != "abc123" {
		t.Fatalf("echo trailers = %v, want x-checksum: abc123", gotTrailers)
	}
	// Without trailers, and empty.
	if got, tr := postEcho(t, c, []byte("short"), nil); string(got) != "short" || len(tr) != 0 {
		t.Fatalf("echo = %q %v, want \"short\" and no trailers", got, tr)
	}
	if got, _ := postEcho(t, c, nil, nil); len(got) != 0 {
		t.Fatalf("empty echo returned %d bytes", len(got))
	}
}

func TestConcurrentStreamsOneConn(t *testing.T) {
	addr := startServer(t, &Server{Handler: testHandler{}})
	c := dial(t, addr)
	const workers, each = 32, 25 // 800 requests, 32 in flight
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				ctx := testCtx(t)
				if (w+i)%4 == 0 {
					body := pattern(10_000 + w*100 + i)
					s, err := c.Request(ctx, c.NewRequest("POST", "/echo"), nil)
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
					if err == nil && !bytes.Equal(got, body) {
						err = fmt.Errorf("echo %d/%d: %d bytes back, want %d", w, i, len(got), len(body))
					}
					if err != nil {
						errs <- err
						return
					}
					continue
				}
				s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
				var body []byte
				if err == nil {
					body, err = s.ReadAll()
				}
				if err == nil && string(body) != testHello {
					err = fmt.Errorf("GET %d/%d: body %q", w, i, body)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSeveralConnections(t *testing.T) {
	addr := startServer(t, &Server{Handler: testHandler{}, Loops: 3})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		c := dial(t, addr)
		wg.Go(func() {
			for range 40 {
				ctx := testCtx(t)
				s, err := c.Request(ctx, c.NewRequest("GET", "/"), &h2.RequestOptions{EndStream: true})
				var body []byte
				if err == nil {
					body, err = s.ReadAll()
				}
				if err == nil && string(body) != testHello {
					err = fmt.Errorf("body %q", body)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// detachedHandler answers "/detached" from a goroutine: it reads the
// request body and sends it back with Respond (one call, however big),
// and "/detached-stream" with WriteHeaders, Writes and trailers.
func detachedHandler(s Stream, req *Request) bool {
	switch req.Path {
	case "/detached", "/detached-stream":
	default:
		return false
	}
	d, err := s.Detach()
	if err != nil {
		_ = s.Reset(frame.ErrCodeInternal)
		return true
	}
	go func() {
		defer d.Close()
		body, err := io.ReadAll(d)
		if err != nil {
			return
		}
		if d.Request().Path == "/detached" {
			_ = d.Respond(200, []HeaderField{{Name: "x-method", Value: d.Request().Method}}, body)
			return
		}
		if d.WriteHeaders(200, nil, false) != nil {
			return
		}
		for p := body; len(p) > 0; {
			n := min(len(p), 50_000)
			if _, err := d.Write(p[:n]); err != nil {
				return
			}
			p = p[n:]
		}
		_ = d.WriteTrailers([]HeaderField{{Name: "x-len", Value: fmt.Sprint(len(body))}})
	}()
	return true
}

func TestDetached(t *testing.T) {
	addr := startServer(t, &Server{Handler: testHandler{extra: detachedHandler}})
	c := dial(t, addr)
	for _, path := range []string{"/detached", "/detached-stream"} {
		for _, size := range []int{0, 1000, 3 << 20} {
			ctx := testCtx(t)
			body := pattern(size)
			s, err := c.Request(ctx, c.NewRequest("PUT", path), &h2.RequestOptions{EndStream: size == 0})
			if err != nil {
				t.Fatal(err)
			}
			if size > 0 {
				go func() {
					_, _ = s.Write(body)
					_ = s.CloseWrite()
				}()
			}
			resp, err := s.Response(ctx)
			if err != nil {
				t.Fatalf("%s %d: %v", path, size, err)
			}
			got, err := s.ReadAll()
			if err != nil {
				t.Fatalf("%s %d: reading: %v", path, size, err)
			}
			if resp.Status != 200 || !bytes.Equal(got, body) {
				t.Fatalf("%s %d: status %d, %d bytes back", path, size, resp.Status, len(got))
			}
			if path == "/detached" && resp.Get("x-method") != "PUT" {
				t.Fatalf("%s: x-method %q, want PUT (the copied request)", path, resp.Get("x-method"))
			}
			if tr := s.Trailers(); path == "/detached-stream" && (len(tr) != 1 || tr[0].Value != fmt.Sprint(size)) {
				t.Fatalf("%s %d: trailers %v", path, size, tr)
			}
		}
	}
}

// streamForever answers "/forever" with content until the client resets
// the stream, reporting the terminal event on ended.
func streamForever(ended chan<- *Event) func(s Stream, req *Request) bool {
	chunk := pattern(32 << 10)
	return func(s Stream, req *Request) bool {
		if req.Path != "/forever" {
			return false
		}
		if s.WriteHeaders(200, nil, false) != nil {
			return true
		}
		fill := func(s Stream) {
			for {
				if _, err := s.Write(chunk); err != nil {
					return
				}
			}
		}
		_ = s.OnEvent(func(s Stream, e *Event) {
			switch e.Kind {
			case core.EventWritable:
				fill(s)
			case core.EventStreamReset, core.EventStreamClosed:
				ev := *e
				ended <- &ev
			}
		})
		fill(s)
		return true
	}
}

func TestClientResetMidResponse(t *testing.T) {
	ended := make(chan *Event, 1)
	addr := startServer(t, &Server{Handler: testHandler{extra: streamForever(ended)}})
	c := dial(t, addr)
	// More rounds than MaxConcurrentStreams (100): a stream the peer reset
	// that the adapter failed to release would use a slot up for good.
	for i := range 120 {
		ctx := testCtx(t)
		s, err := c.Request(ctx, c.NewRequest("GET", "/forever"), &h2.RequestOptions{EndStream: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Response(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(s, make([]byte, 100_000)); err != nil {
			t.Fatalf("round %d: reading: %v", i, err)
		}
		if err := s.Reset(frame.ErrCodeCancel); err != nil {
			t.Fatal(err)
		}
		select {
		case e := <-ended:
			if e.Kind != core.EventStreamReset || !e.Remote || e.Code != frame.ErrCodeCancel {
				t.Fatalf("round %d: server saw %v (remote %v, code %v), want the peer's CANCEL", i, e.Kind, e.Remote, e.Code)
			}
		case <-ctx.Done():
			t.Fatalf("round %d: the server's callback never saw the reset", i)
		}
	}
	if status, body := get(t, c, "/"); status != 200 || body != testHello {
		t.Fatalf("GET / after resets = %d %q", status, body)
	}
}

func TestGracefulShutdown(t *testing.T) {
	release := make(chan struct{})
	var responded atomic.Bool // the in-flight stream's response is queued
	slow := func(s Stream, req *Request) bool {
		if req.Path != "/slow" {
			return false
		}
		d, err := s.Detach()
		if err != nil {
			return true
		}
		go func() {
			defer d.Close()
			<-release
			if d.Respond(200, nil, []byte("finished")) == nil {
				responded.Store(true)
			}
		}()
		return true
	}
	srv := &Server{Handler: testHandler{extra: slow}, Loops: 1}
	ready := make(chan net.Addr, 1)
	srv.Ready = func(a net.Addr) { ready <- a }
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe("127.0.0.1:0") }()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-served:
		t.Fatal(err)
	}
	c := dial(t, addr.String())
	ctx := testCtx(t)
	goaway := make(chan core.Event, 1)
	s, err := c.Request(ctx, c.NewRequest("GET", "/slow"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	// Make sure the request reached the handler before shutting down.
	if status, _ := get(t, c, "/"); status != 200 {
		t.Fatal("GET / failed")
	}
	type shutResult struct {
		err       error
		responded bool // whether the in-flight stream had answered by then
	}
	shut := make(chan shutResult, 1)
	go func() {
		err := srv.Shutdown(ctx)
		shut <- shutResult{err, responded.Load()}
	}()
	s.SetHandler(func(_ *h2.Stream, e h2.Event) {
		if e.Kind == core.EventGoAway {
			select {
			case goaway <- e:
			default:
			}
		}
	})
	select {
	case e := <-goaway:
		if e.Code != frame.ErrCodeNo {
			t.Fatalf("GOAWAY code %v, want NO_ERROR", e.Code)
		}
	case <-ctx.Done():
		t.Fatal("no GOAWAY reached the client")
	}
	s.SetHandler(nil)
	close(release)
	body, err := s.ReadAll()
	if err != nil || string(body) != "finished" {
		t.Fatalf("in-flight stream: %q, %v; want it to finish", body, err)
	}
	if r := <-shut; r.err != nil || !r.responded {
		t.Fatalf("Shutdown returned %v before the stream in flight had answered (%v)", r.err, r.responded)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("ListenAndServe returned %v, want ErrServerClosed", err)
	}
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatal("client connection still open after Shutdown")
	}
}

func TestGarbageClosesOnlyThatConnection(t *testing.T) {
	addr := startServer(t, &Server{Handler: testHandler{}})
	good := dial(t, addr)
	if status, _ := get(t, good, "/"); status != 200 {
		t.Fatal("GET / failed")
	}
	for _, garbage := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",                                                    // not HTTP/2
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00", // WINDOW_UPDATE before SETTINGS
	} {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := nc.Write([]byte(garbage)); err != nil {
			t.Fatal(err)
		}
		got := readToEOF(t, nc) // the server must close it
		_ = nc.Close()
		if code, ok := goAwayCode(got); !ok || code != frame.ErrCodeProtocol {
			t.Fatalf("for %q the server sent %x, want a GOAWAY(PROTOCOL_ERROR) before closing", garbage, got)
		}
	}
	for range 3 {
		if status, body := get(t, good, "/"); status != 200 || body != testHello {
			t.Fatalf("GET / on the good connection = %d %q", status, body)
		}
	}
	if status, _ := get(t, dial(t, addr), "/"); status != 200 {
		t.Fatal("a new connection fails after garbage")
	}
}

func TestPrefaceTimeout(t *testing.T) {
	cfg := core.Config{}
	cfg.Timeouts.Preface = 200 * time.Millisecond
	addr := startServer(t, &Server{Handler: testHandler{}, Config: cfg})
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	start := time.Now()
	got := readToEOF(t, nc) // our SETTINGS, then GOAWAY, then the end
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("closed after %v, before the 200 ms preface timeout", d)
	}
	if len(got) < 9 {
		t.Fatalf("got %d bytes before the close, want the server's preface and a GOAWAY", len(got))
	}
}

func TestBlockedWriterIsBoundedAndResumes(t *testing.T) {
	t.Run("watched", func(t *testing.T) { testBlockedWriter(t, false) })
	t.Run("polled", func(t *testing.T) { testBlockedWriter(t, true) })
}

// testBlockedWriter has a client that does not read ask for 48 MiB: the
// server must stop at MaxWriteBuffer, then resume when the client reads —
// told by the write watcher, or by polling.
func testBlockedWriter(t *testing.T, polled bool) {
	const total = 48 << 20
	const maxWrite = 256 << 10
	chunk := pattern(16 << 10)
	big := func(s Stream, req *Request) bool {
		if req.Path != "/big" {
			return false
		}
		sent := 0
		fill := func(s Stream) {
			for sent < total {
				n, err := s.Write(chunk[:min(len(chunk), total-sent)])
				sent += n
				if err != nil {
					return
				}
			}
			_ = s.CloseWrite()
		}
		if s.WriteHeaders(200, nil, false) != nil {
			return true
		}
		_ = s.OnEvent(func(s Stream, e *Event) {
			if e.Kind == core.EventWritable {
				fill(s)
			}
		})
		fill(s)
		return true
	}
	blocked := make(chan int, 1)
	srv := &Server{Handler: testHandler{extra: big}, MaxWriteBuffer: maxWrite, testNoWatcher: polled}
	srv.testHookBlocked = func(outbound int) {
		select {
		case blocked <- outbound:
		default:
		}
	}
	addr := startServer(t, srv)
	cfg := core.Config{InitialWindowSize: 1 << 30, ConnectionWindowSize: 1 << 30}
	r := newRawClient(t, addr, cfg)
	id, err := r.c.OpenStream([]HeaderField{
		{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: "test"}, {Name: ":path", Value: "/big"},
	}, core.StreamOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	r.flush()
	// Read nothing: the socket fills, then gnet's buffer up to the bound.
	select {
	case ob := <-blocked:
		// The bound plus one PollTransmit's output: here the one stream's
		// send buffer (StreamSendBuffer, 64 KiB) as DATA frames, and a few
		// control frames.
		if ob > maxWrite+64<<10+1024 {
			t.Fatalf("blocked with %d bytes in gnet's buffer, bound %d", ob, maxWrite)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the server never blocked on a client that does not read")
	}
	got := 0
	var mismatch bool
	r.until(func(e *core.Event) bool {
		if e.StreamID != id {
			return false
		}
		if e.Kind == core.EventData {
			for i, b := range e.Data {
				if b != chunk[(got+i)%len(chunk)] {
					mismatch = true
				}
			}
			got += len(e.Data)
		}
		return e.Kind == core.EventStreamClosed || e.Kind == core.EventStreamReset
	})
	if got != total || mismatch {
		t.Fatalf("received %d bytes (mismatch %v), want %d intact", got, mismatch, total)
	}
	if n := srv.testWritable.Load(); polled != (n == 0) {
		t.Fatalf("%d write-watcher notifications (polled %v)", n, polled)
	}
	// Unblocked, the connection (still open) holds no watched descriptor.
	if srv.watcher != nil {
		if n := srv.watcher.watching(); n != 0 {
			t.Fatalf("the write watcher holds %d descriptors after the connection drained", n)
		}
	}
}

// goAwayCode finds the GOAWAY frame in a server's output (RFC 9113 §6.8)
// and returns its error code.
func goAwayCode(b []byte) (frame.ErrCode, bool) {
	for len(b) >= 9 {
		n := int(b[0])<<16 | int(b[1])<<8 | int(b[2])
		if len(b) < 9+n {
			return 0, false
		}
		if b[3] == 0x7 && n >= 8 {
			p := b[9:]
			return frame.ErrCode(uint32(p[4])<<24 | uint32(p[5])<<16 | uint32(p[6])<<8 | uint32(p[7])), true
		}
		b = b[9+n:]
	}
	return 0, false
}

// TestDetachedWriteFailsOnReset: a detached goroutine blocked in Write
// (flow control) gets the peer's reset, and Close releases the stream —
// for more rounds than MaxConcurrentStreams, so a missed release stalls.
func TestDetachedWriteFailsOnReset(t *testing.T) {
	werr := make(chan error, 1)
	chunk := pattern(100_000)
	forever := func(s Stream, req *Request) bool {
		if req.Path != "/detached-forever" {
			return false
		}
		d, err := s.Detach()
		if err != nil {
			return true
		}
		go func() {
			defer d.Close()
			if err := d.WriteHeaders(200, nil, false); err != nil {
				werr <- err
				return
			}
			for {
				if _, err := d.Write(chunk); err != nil {
					werr <- err
					return
				}
			}
		}()
		return true
	}
	addr := startServer(t, &Server{Handler: testHandler{extra: forever}})
	c := dial(t, addr)
	for i := range 110 {
		ctx := testCtx(t)
		s, err := c.Request(ctx, c.NewRequest("GET", "/detached-forever"), &h2.RequestOptions{EndStream: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(s, make([]byte, 150_000)); err != nil {
			t.Fatalf("round %d: reading: %v", i, err)
		}
		_ = s.Reset(frame.ErrCodeCancel)
		select {
		case err := <-werr:
			var se *core.StreamError
			if !errors.As(err, &se) || !se.Remote || se.Code != frame.ErrCodeCancel {
				t.Fatalf("round %d: Write returned %v, want the peer's CANCEL", i, err)
			}
		case <-ctx.Done():
			t.Fatalf("round %d: the detached Write never returned", i)
		}
	}
	if status, body := get(t, c, "/"); status != 200 || body != testHello {
		t.Fatalf("GET / after resets = %d %q", status, body)
	}
}
