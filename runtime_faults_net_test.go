package h2_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
	"github.com/h2proto/h2/transport/tcp"
)

// ftProxy forwards loopback TCP connections to target until blackholed:
// from then on it reads and drops everything in both directions, ends
// included, while keeping every socket open — a peer that vanished without
// a FIN or RST (a cable pulled, a NAT entry dropped, a host powered off).
// While forwarding it counts the PING ACKs going each way.
type ftProxy struct {
	ln        net.Listener
	target    string
	blackhole atomic.Bool
	wg        sync.WaitGroup
	acks      chan bool // a PING ACK was forwarded: true from the client

	mu    sync.Mutex
	conns []net.Conn
}

func ftStartProxy(t *testing.T, target string) *ftProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &ftProxy{ln: ln, target: target, acks: make(chan bool, 64)}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *ftProxy) addr() string { return p.ln.Addr().String() }

func (p *ftProxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pump(out, in, &ftFrameScan{skip: len(coretest.ClientPreface), fromClient: true})
		go p.pump(in, out, &ftFrameScan{})
	}
}

// pump copies src to dst until src ends; blackholed, it drops what it
// reads and does not pass the end on.
func (p *ftProxy) pump(dst, src net.Conn, scan *ftFrameScan) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.blackhole.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			for range scan.feed(buf[:n]) {
				select {
				case p.acks <- scan.fromClient:
				default:
				}
			}
		}
		if err != nil {
			if !p.blackhole.Load() {
				if tc, ok := dst.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
				}
			}
			return
		}
	}
}

func (p *ftProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// waitAcks waits, bounded by ctx, until n PING ACKs went through from the
// client (fromClient) or from the server: keep-alive PINGs answered.
func (p *ftProxy) waitAcks(t *testing.T, ctx context.Context, fromClient bool, n int) {
	t.Helper()
	for n > 0 {
		select {
		case from := <-p.acks:
			if from == fromClient {
				n--
			}
		case <-ctx.Done():
			t.Fatalf("%d more keep-alive PING ACKs expected through the proxy", n)
		}
	}
}

// ftFrameScan follows the frame boundaries of one direction of an HTTP/2
// connection and counts PING ACK frames.
type ftFrameScan struct {
	fromClient bool
	skip       int    // bytes of preface or payload still to pass over
	hdr        []byte // a frame header being collected
}

// feed scans p and returns how many PING ACKs it completed.
func (sc *ftFrameScan) feed(p []byte) (acks int) {
	for len(p) > 0 {
		if sc.skip > 0 {
			k := min(sc.skip, len(p))
			sc.skip -= k
			p = p[k:]
			continue
		}
		k := min(frame.HeaderLen-len(sc.hdr), len(p))
		sc.hdr = append(sc.hdr, p[:k]...)
		p = p[k:]
		if len(sc.hdr) < frame.HeaderLen {
			return acks
		}
		h := sc.hdr
		sc.hdr = sc.hdr[:0]
		sc.skip = int(h[0])<<16 | int(h[1])<<8 | int(h[2])
		if frame.Type(h[3]) == frame.TypePing && frame.Flags(h[4]).Has(frame.FlagPingAck) {
			acks++
		}
	}
	return acks
}

// ftKeepAliveErr checks that err is the keep-alive timeout
// (core.Timeouts.KeepAlive, token "keepalive_timeout").
func ftKeepAliveErr(t *testing.T, what string, err error) {
	t.Helper()
	var ce *core.ConnError
	if !errors.As(err, &ce) || ce.Token != "keepalive_timeout" || ce.Remote || !strings.Contains(err.Error(), "keepalive_timeout") {
		t.Errorf("%s: %v (%T), want the local *core.ConnError keepalive_timeout", what, err, err)
	}
}

// ftKeepAlive is the keep-alive period of the half-open tests: a PING
// after this long without input, the connection closed after as long
// again without an answer.
const ftKeepAlive = 250 * time.Millisecond

// TestFaultHalfOpenClientKeepAlive: the client has keep-alive on (250 ms),
// the server off. Through a proxy, the client's PINGs are first answered;
// then the proxy blackholes both directions. The client's open stream ends
// with the keepalive_timeout ConnError within 2 × KeepAlive (+ slack), and
// its Conn is Done within one more linger (1 s: the runtime reads for up
// to that long after sending its GOAWAY).
func TestFaultHalfOpenClientKeepAlive(t *testing.T) {
	ctx := rtCtx(t)
	started := make(chan struct{}, 1)
	srv := &h2.Server{
		Options: h2.Options{Config: core.Config{Timeouts: core.Timeouts{KeepAlive: -1}}},
		Handler: h2.HandlerFunc(func(s *h2.Stream) {
			if s.WriteHeaders(200, nil) != nil {
				return
			}
			if _, err := s.Write([]byte("x")); err != nil {
				return
			}
			started <- struct{}{}
			<-s.Context().Done()
		}),
	}
	fs := ftServe(t, "127.0.0.1:0", srv, tcp.Config{})
	p := ftStartProxy(t, fs.addr)
	copts := &h2.ClientOptions{Options: h2.Options{Config: core.Config{Timeouts: core.Timeouts{KeepAlive: ftKeepAlive}}}}
	c := ftDial(t, ctx, p.addr(), copts)
	s, err := c.Request(ctx, c.NewRequest("GET", "/hang"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	rtWait(t, ctx, started, "the handler")
	if b, err := rtReadFull(t, ctx, s, 1); err != nil || string(b) != "x" {
		t.Fatalf("first byte: %q, %v", b, err)
	}
	p.waitAcks(t, ctx, false, 2) // two keep-alive PINGs answered: the connection is healthy

	p.blackhole.Store(true)
	vanished := time.Now()
	rtDone(t, ctx, s.Done(), "the stream to end by keep-alive")
	streamAfter := time.Since(vanished)
	rtDone(t, ctx, c.Done(), "the client connection to end by keep-alive")
	doneAfter := time.Since(vanished)
	t.Logf("keep-alive %v: stream ended %v after the peer vanished, Conn Done after %v; Err %v",
		ftKeepAlive, streamAfter, doneAfter, c.Err())

	ftKeepAliveErr(t, "client Conn.Err", c.Err())
	ftKeepAliveErr(t, "stream Err", s.Err())
	if _, err := rtRead(t, ctx, s, 1); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("Read after the keep-alive timeout: %v, want the connection's error", err)
	}
	if streamAfter < ftKeepAlive/2 || streamAfter > 2*ftKeepAlive+ftSlack {
		t.Errorf("stream ended %v after the peer vanished, want within [%v, %v]", streamAfter, ftKeepAlive/2, 2*ftKeepAlive+ftSlack)
	}
	if doneAfter > 2*ftKeepAlive+time.Second+ftSlack {
		t.Errorf("Conn Done %v after the peer vanished, want under 2 × %v + 1 s linger + %v", doneAfter, ftKeepAlive, ftSlack)
	}
}

// TestFaultHalfOpenServerKeepAlive is the mirror: the server has
// keep-alive on, the client off. Once the proxy blackholes, the server's
// handler sees its stream Context end and the server connection ends with
// keepalive_timeout within the same bounds, while the client — no
// keep-alive, nothing arriving — still believes its connection open: a
// half-open connection only the side with keep-alive can detect.
func TestFaultHalfOpenServerKeepAlive(t *testing.T) {
	ctx := rtCtx(t)
	streams := make(chan *h2.Stream, 1)
	srv := &h2.Server{
		Options: h2.Options{Config: core.Config{Timeouts: core.Timeouts{KeepAlive: ftKeepAlive}}},
		Handler: h2.HandlerFunc(func(s *h2.Stream) {
			if s.WriteHeaders(200, nil) != nil {
				return
			}
			streams <- s
			<-s.Context().Done()
		}),
	}
	fs := ftServe(t, "127.0.0.1:0", srv, tcp.Config{})
	p := ftStartProxy(t, fs.addr)
	copts := &h2.ClientOptions{Options: h2.Options{Config: core.Config{Timeouts: core.Timeouts{KeepAlive: -1}}}}
	c := ftDial(t, ctx, p.addr(), copts)
	s, err := c.Request(ctx, c.NewRequest("GET", "/hang"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := s.Response(ctx); err != nil || resp.Status != 200 {
		t.Fatalf("response: %v, %v", resp, err)
	}
	ss := rtWait(t, ctx, streams, "the handler")
	sc := ss.Conn()
	p.waitAcks(t, ctx, true, 2)

	p.blackhole.Store(true)
	vanished := time.Now()
	rtDone(t, ctx, ss.Context().Done(), "the handler's Context to end by keep-alive")
	streamAfter := time.Since(vanished)
	rtDone(t, ctx, sc.Done(), "the server connection to end by keep-alive")
	doneAfter := time.Since(vanished)
	t.Logf("keep-alive %v: server stream ended %v after the client vanished, server Conn Done after %v; Err %v",
		ftKeepAlive, streamAfter, doneAfter, sc.Err())

	ftKeepAliveErr(t, "server Conn.Err", sc.Err())
	rtDone(t, ctx, ss.Done(), "the server stream")
	ftKeepAliveErr(t, "server stream Err", ss.Err())
	if streamAfter < ftKeepAlive/2 || streamAfter > 2*ftKeepAlive+ftSlack {
		t.Errorf("server stream ended %v after the client vanished, want within [%v, %v]", streamAfter, ftKeepAlive/2, 2*ftKeepAlive+ftSlack)
	}
	if doneAfter > 2*ftKeepAlive+time.Second+ftSlack {
		t.Errorf("server Conn Done %v after the client vanished, want under 2 × %v + 1 s linger + %v", doneAfter, ftKeepAlive, ftSlack)
	}
	select {
	case <-c.Done():
		t.Errorf("the client connection (keep-alive off) ended too (%v): nothing reached it to say so", c.Err())
	default:
	}
}

// ftSlowReader is a raw client that sends its preface, a SETTINGS frame
// with the largest windows, the SETTINGS ACK and a GET, reads until the
// server's SETTINGS — then never reads again.
func ftSlowReader(t *testing.T, ctx context.Context, addr, path string) net.Conn {
	t.Helper()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.(*net.TCPConn).SetReadBuffer(4 << 10) // stall sooner
	fb := coretest.NewFrameBuilder()
	out := []byte(coretest.ClientPreface)
	out = append(out, fb.Settings(frame.Setting{ID: frame.SettingInitialWindowSize, Val: frame.MaxWindowSize})...)
	out = append(out, fb.WindowUpdate(0, frame.MaxWindowSize-65535)...)
	if _, err := nc.Write(out); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(rtTimeout))
	var buf []byte
	tmp := make([]byte, 4<<10)
	for {
		f, n, perr := frame.Parse(buf, 1<<24-1)
		if perr == nil {
			buf = buf[n:]
			if f.Type == frame.TypeSettings && !f.IsAck() {
				break
			}
			continue
		}
		if !errors.Is(perr, frame.ErrNeedMore) && len(buf) >= frame.HeaderLen {
			t.Fatalf("server preface: %v", perr)
		}
		m, err := nc.Read(tmp)
		if err != nil {
			t.Fatalf("reading the server's SETTINGS: %v", err)
		}
		buf = append(buf, tmp[:m]...)
	}
	out = append(fb.SettingsAck(), fb.GET(1, path)...)
	if _, err := nc.Write(out); err != nil {
		t.Fatal(err)
	}
	return nc
}

// ftHeap returns the live heap after a collection.
func ftHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestFaultSlowReader: a raw client asks for a large response and stops
// reading its socket. The server's writes stall once the socket buffers
// fill; Options.WriteTimeout (here 200 ms; there is no core timer for
// this: the core bounds what it queues, the runtime bounds how long a
// write may block) fails the write, and the connection ends with
// os.ErrDeadlineExceeded after at most WriteTimeout + the 1 s linger. The
// handler's Write then fails with core.ErrConnectionLost (during the
// linger it still succeeds, and the runtime discards what it is given),
// the connection's goroutines exit and the heap returns to where it was;
// a well-behaved client on another connection downloads 1 MiB meanwhile
// and afterwards.
func TestFaultSlowReader(t *testing.T) {
	ctx := rtCtx(t)
	const writeTimeout = 200 * time.Millisecond
	const chunk = 64 << 10
	type outcome struct {
		conn    *h2.Conn
		written int
		err     error
		start   time.Time
	}
	slowStarted := make(chan struct{}, 1)
	results := make(chan outcome, 1)
	block := rtPattern(8, chunk)
	big := rtPattern(9, 1<<20)
	srv := &h2.Server{
		Options: h2.Options{WriteTimeout: writeTimeout},
		Handler: h2.HandlerFunc(func(s *h2.Stream) {
			if s.Request().Path != "/slow" {
				_ = s.Respond(200, nil, big)
				return
			}
			if s.WriteHeaders(200, nil) != nil {
				return
			}
			o := outcome{conn: s.Conn(), start: time.Now()}
			slowStarted <- struct{}{}
			// Bounded in count (4 GiB) and time, not by a response size:
			// after the write timeout, Write keeps succeeding until the
			// linger ends (the runtime drops the data), which is about
			// 100 MB at memory speed.
			for i := 0; i < 1<<16 && time.Since(o.start) < rtTimeout; i++ {
				n, err := s.Write(block)
				o.written += n
				if err != nil {
					o.err = err
					break
				}
			}
			results <- o
		}),
	}
	fs := ftServe(t, "127.0.0.1:0", srv, tcp.Config{WriteBuffer: 16 << 10})
	good := ftDial(t, ctx, fs.addr, nil)
	get := func(what string) {
		t.Helper()
		status, body, err := ftRoundTrip(ctx, good, "GET", "/big", nil)
		if err != nil || status != 200 || len(body) != len(big) {
			t.Fatalf("%s: status %d, %d bytes, %v; want 200 and %d bytes", what, status, len(body), err, len(big))
		}
	}
	get("before the slow reader")
	heapBefore := ftHeap()
	base, _ := ftGoroutines()

	ftSlowReader(t, ctx, fs.addr, "/slow")
	rtWait(t, ctx, slowStarted, "the slow response to start")
	get("while the slow reader stalls its connection")

	o := rtWait(t, ctx, results, "the stalled handler's Write to fail")
	rtDone(t, ctx, o.conn.Done(), "the stalled server connection to end")
	ended := time.Since(o.start)
	if o.err == nil {
		t.Fatalf("the handler wrote all %d bytes to a client that reads nothing", o.written)
	}
	if !errors.Is(o.conn.Err(), os.ErrDeadlineExceeded) {
		t.Errorf("stalled server connection Err %v, want the write timeout (os.ErrDeadlineExceeded)", o.conn.Err())
	}
	if !errors.Is(o.err, core.ErrConnectionLost) {
		t.Errorf("stalled handler's Write: %v, want core.ErrConnectionLost", o.err)
	}
	if ended < writeTimeout || ended > writeTimeout+time.Second+ftSlack {
		t.Errorf("the connection ended %v after the response began, want within [%v, %v + 1 s linger + %v]",
			ended, writeTimeout, writeTimeout, ftSlack)
	}
	exitAfter := ftWaitGoroutines(t, ctx, base, "after the slow reader's connection ended")
	heapAfter := ftHeap()
	grew := int64(heapAfter) - int64(heapBefore)
	t.Logf("write timeout %v: handler Write accepted %d bytes; connection ended %v after the response began "+
		"(Err %v; Write error %v); goroutines back within %v; heap %d → %d bytes (%+d)",
		writeTimeout, o.written, ended, o.conn.Err(), o.err, exitAfter, heapBefore, heapAfter, grew)
	if grew > 4<<20 {
		t.Errorf("heap grew by %d bytes after the stalled connection ended, want under 4 MiB", grew)
	}
	get("after the slow reader's connection ended")
	rtCheckInvariants(t, good)
}
