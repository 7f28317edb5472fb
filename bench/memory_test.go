package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
	"github.com/h2proto/h2/transport/memory"
)

// The memory benchmarks hold many connections (or streams) at once and
// report what each costs while it sits there, from runtime.MemStats
// deltas (see readMem): B/conn or B/stream is heap plus goroutine stacks,
// heapB/… and stackB/… the two parts, goroutines/… the goroutines each
// keeps. Not counted: the runtime's goroutine descriptors (480 bytes each
// in Go 1.26), which Go never frees (see readMem). ns/op is the time to
// set up, measure and tear down the lot, and allocs/op counts the whole
// setup: neither is the point. -mem.n sets the number of connections (or
// streams), 10,000 by default (1,000 in a -race build), and
// -mem.heapprofile writes a heap profile while they are alive, e.g.
//
//	go test -run '^$' -bench 'IdleConnMemory/core$' -benchtime 1x -memprofilerate 1 \
//		./bench -mem.heapprofile=/tmp/idle
//	go tool pprof -sample_index=inuse_space -top /tmp/idle.BenchmarkIdleConnMemory_core.pprof
//
// (these flags go after the package, where go test passes them on; the
// profile holds everything alive, not only the delta: the connections are
// most of it).
//
// The runtime sub-benchmarks run over transport/memory pipes: 10,000
// loopback TCP connections would take 20,000 file descriptors, the whole
// of a common ulimit. Their peer is a rawPeer, which writes the preface
// and prebuilt frames and keeps nothing per connection, so what grows is
// the server's alone, plus the pipe; the pipe's own cost (pipeBaseline,
// reported as pipeB/conn) is measured in the same iteration and
// subtracted. What is left still includes costs a socket would not have
// in that form: a transport/memory deadline is a time.AfterFunc timer,
// where a socket's lives in its poll descriptor (h2proto sets a write
// deadline on every write; net/http, by default, none).

// BenchmarkIdleConnMemory is what an idle, established HTTP/2 connection
// holds, per connection, with N = -mem.n connections alive at once:
//
//   - "core": server core.Conns (default core.Config), each given the
//     client preface, an empty SETTINGS and the ACK of the server's
//     SETTINGS, its output drained: PhaseConnected, no I/O, no goroutine;
//   - "core-client": client core.Conns given the server's SETTINGS and
//     the ACK of theirs;
//   - "h2proto": h2.Server (defaults) serving over transport/memory, a
//     rawPeer at the other end of each pipe, pipe cost subtracted;
//   - "nethttp": net/http's server speaking h2c the same way;
//   - "h2proto-client": h2.NewClientConn over a pipe whose other end a
//     raw server answers, pipe cost subtracted.
func BenchmarkIdleConnMemory(b *testing.B) {
	b.Run("impl=core", benchIdleCore(core.RoleServer))
	b.Run("impl=core-client", benchIdleCore(core.RoleClient))
	b.Run("impl=h2proto", benchIdleServer(func(b *testing.B) memServer {
		return memStartH2proto(b, h2.HandlerFunc(func(*h2.Stream) {}))
	}))
	b.Run("impl=nethttp", benchIdleServer(func(b *testing.B) memServer {
		return memStartNetHTTP(b, http.NotFoundHandler())
	}))
	b.Run("impl=h2proto-client", benchIdleClient)
}

// BenchmarkOpenStreamMemory is what an open stream holds — a request
// whose headers have arrived and whose body is pending, its handler (or,
// in the core, the application) holding it — per stream, with N = -mem.n
// streams alive at once, 100 (streamsPerConn) on each of N/100
// connections. The figure is the growth from the established, idle
// connections to the same with their streams open, so it excludes the
// connections themselves, but it includes what a connection keeps after
// a burst of 100 requests in one read: buffers sized by the burst (the
// core's event queue and decoded-field list) count as the streams'.
//
//   - "core": server core.Conns given 100 HEADERS each (the requests held:
//     not answered, not released);
//   - "core-client": client core.Conns with 100 streams opened (OpenStream
//     without END_STREAM) each;
//   - "h2proto" and "nethttp": each server with a handler that blocks
//     until released, one goroutine per request in both (h2proto's default,
//     not Server.Inline), a rawPeer writing the HEADERS.
func BenchmarkOpenStreamMemory(b *testing.B) {
	b.Run("impl=core", benchStreamsCoreServer)
	b.Run("impl=core-client", benchStreamsCoreClient)
	b.Run("impl=h2proto", benchStreamsServer(func(b *testing.B, started *atomic.Int64, release chan struct{}) memServer {
		return memStartH2proto(b, h2.HandlerFunc(func(*h2.Stream) {
			started.Add(1)
			<-release
		}))
	}))
	b.Run("impl=nethttp", benchStreamsServer(func(b *testing.B, started *atomic.Int64, release chan struct{}) memServer {
		return memStartNetHTTP(b, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			started.Add(1)
			<-release
		}))
	}))
}

// memNow is the time every core is given; the core reads no clock, so any
// fixed time does.
var memNow = time.Unix(1_700_000_000, 0)

// memCoreHandshake returns what a core of the given role must receive to be
// established: the peer's preface (magic and SETTINGS, empty here) and the
// ACK of the core's own SETTINGS, which it queued when created.
func memCoreHandshake(role core.Role) []byte {
	var in []byte
	if role == core.RoleServer {
		in = append(in, memClientPreface...)
	}
	in = frame.AppendSettings(in, nil)
	return frame.AppendSettingsAck(in)
}

// memCoreConns fills conns with established cores of the given role.
func memCoreConns(b *testing.B, role core.Role, conns []*core.Conn, scratch *[]byte) {
	in := memCoreHandshake(role)
	for i := range conns {
		var c *core.Conn
		var err error
		if role == core.RoleServer {
			c, err = core.NewServer(memNow, core.Config{})
		} else {
			c, err = core.NewClient(memNow, core.Config{})
		}
		if err != nil {
			b.Fatal(err)
		}
		seen, err := memDrive(c, memNow, in, scratch, core.EventConnected)
		if err != nil || seen != 1 || c.Phase() != core.PhaseConnected || c.QueuedOutput() != 0 {
			b.Fatalf("%v core %d: %d EventConnected, phase %v, %d bytes queued, err %v",
				role, i, seen, c.Phase(), c.QueuedOutput(), err)
		}
		conns[i] = c
	}
}

func benchIdleCore(role core.Role) func(*testing.B) {
	return func(b *testing.B) {
		n := memCount()
		conns := make([]*core.Conn, n)
		scratch := make([]byte, 0, 4096)
		var r memReport
		b.ReportAllocs()
		for b.Loop() {
			before := readMem()
			memCoreConns(b, role, conns, &scratch)
			after := readMem()
			writeHeapProfile(b)
			r.add(perUnit(before, after, n), memFigure{})
			runtime.KeepAlive(conns)
			clear(conns)
		}
		r.report(b, "conn")
	}
}

// benchIdleServer measures the idle connections of the server start
// starts (see BenchmarkIdleConnMemory).
func benchIdleServer(start func(*testing.B) memServer) func(*testing.B) {
	return func(b *testing.B) {
		n := memCount()
		memWarmGoroutines(4 * n)
		conns := make([]net.Conn, 0, n)
		var r memReport
		b.ReportAllocs()
		for b.Loop() {
			base := pipeBaseline(b, n)
			goroutines := runtime.NumGoroutine()
			srv := start(b)
			before := readMem()
			conns = memDialPeers(b, srv.l, n, conns[:0])
			if extra := memDrainPeers(b, conns); extra > 0 {
				b.Logf("the server wrote %d bytes after the handshakes", extra)
			}
			after := readMem()
			writeHeapProfile(b)
			got := perUnit(before, after, n)
			if got.goroutines < 1 {
				b.Fatalf("%.2f goroutines per connection: the server is not serving them", got.goroutines)
			}
			r.add(got.minus(base), base)
			memCloseAll(conns)
			clear(conns[:cap(conns)])
			if err := srv.stop(); err != nil {
				b.Fatal(err)
			}
			memWaitGoroutines(b, goroutines)
		}
		r.report(b, "conn")
	}
}

// rawServerHandshake answers a client's preface on nc with an empty
// SETTINGS and the ACK of the client's, and reads until the client's ACK
// of ours, which proves it established the connection.
func rawServerHandshake(nc net.Conn, p *rawPeer) error {
	if err := nc.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return err
	}
	defer nc.SetReadDeadline(time.Time{})
	p.out = frame.AppendSettings(p.out[:0], nil)
	p.out = frame.AppendSettingsAck(p.out)
	if _, err := nc.Write(p.out); err != nil {
		return err
	}
	p.in = p.in[:0]
	var buf [4096]byte
	for len(p.in) < len(memClientPreface) {
		n, err := nc.Read(buf[:])
		p.in = append(p.in, buf[:n]...)
		if err != nil {
			return err
		}
	}
	if string(p.in[:len(memClientPreface)]) != memClientPreface {
		return fmt.Errorf("client preface %q", p.in[:len(memClientPreface)])
	}
	p.in = append(p.in[:0], p.in[len(memClientPreface):]...)
	err := p.readUntil(nc, func(f *frame.Frame) bool {
		return f.Type == frame.TypeSettings && f.Flags.Has(frame.FlagSettingsAck)
	})
	if err == nil && len(p.in) > 0 {
		err = fmt.Errorf("%d unexpected bytes after the SETTINGS ACK", len(p.in))
	}
	return err
}

func benchIdleClient(b *testing.B) {
	n := memCount()
	memWarmGoroutines(4 * n)
	clients := make([]*h2.Conn, n)
	peers := make([]net.Conn, n)
	var r memReport
	b.ReportAllocs()
	for b.Loop() {
		base := pipeBaseline(b, n)
		goroutines := runtime.NumGoroutine()
		before := readMem()
		memConnectClients(b, clients, peers)
		if extra := memDrainPeers(b, peers); extra > 0 {
			b.Logf("the clients wrote %d bytes after the handshakes", extra)
		}
		after := readMem()
		writeHeapProfile(b)
		got := perUnit(before, after, n)
		if got.goroutines < 1 {
			b.Fatalf("%.2f goroutines per connection: the clients are not running", got.goroutines)
		}
		r.add(got.minus(base), base)
		memCloseClients(clients, peers)
		memWaitGoroutines(b, goroutines)
	}
	r.report(b, "conn")
}

// memConnectClients fills clients with h2 client connections over
// transport/memory pipes whose other ends, in peers, a raw server has
// answered, memDialWorkers at a time (see memDialPeers).
func memConnectClients(b *testing.B, clients []*h2.Conn, peers []net.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errs := make(chan error, memDialWorkers)
	for w := range memDialWorkers {
		go func() {
			var p rawPeer
			for i := w; i < len(clients); i += memDialWorkers {
				a, srv := memory.Pipe(memory.Config{})
				peers[i] = srv
				cc, err := h2.NewClientConn(a, &h2.ClientOptions{H2C: true})
				if err != nil {
					errs <- err
					return
				}
				clients[i] = cc
				if err := rawServerHandshake(srv, &p); err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
				if err := cc.WaitConnected(ctx); err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
			}
			errs <- nil
		}()
	}
	var first error
	for range memDialWorkers {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	if first != nil {
		memCloseClients(clients, peers)
		b.Fatal(first)
	}
}

// memCloseClients closes the clients and their peers, waits for the
// clients to end, and clears both slices.
func memCloseClients(clients []*h2.Conn, peers []net.Conn) {
	for _, cc := range clients {
		if cc != nil {
			_ = cc.Close()
		}
	}
	memCloseAll(peers)
	for _, cc := range clients {
		if cc != nil {
			<-cc.Done()
		}
	}
	clear(clients)
	clear(peers)
}

// memStreamConns is how many connections carry the -mem.n streams.
func memStreamConns() (conns, streams int) {
	conns = max(1, memCount()/streamsPerConn)
	return conns, conns * streamsPerConn
}

func benchStreamsCoreServer(b *testing.B) {
	m, total := memStreamConns()
	blocks := memRequestBlocks(streamsPerConn)
	conns := make([]*core.Conn, m)
	scratch := make([]byte, 0, 4096)
	var r memReport
	b.ReportAllocs()
	for b.Loop() {
		memCoreConns(b, core.RoleServer, conns, &scratch)
		before := readMem()
		for i, c := range conns {
			seen, err := memDrive(c, memNow, blocks, &scratch, core.EventRequest)
			_, active := c.ActiveStreams()
			held, _ := c.HeldStreams()
			if err != nil || seen != streamsPerConn || active != streamsPerConn || held != streamsPerConn {
				b.Fatalf("core %d: %d EventRequest, %d active, %d held, err %v", i, seen, active, held, err)
			}
		}
		after := readMem()
		writeHeapProfile(b)
		r.add(perUnit(before, after, total), memFigure{})
		runtime.KeepAlive(conns)
		clear(conns)
	}
	r.report(b, "stream")
}

// memPostRequest is typicalRequest as a POST whose body is to follow.
var memPostRequest = func() []core.HeaderField {
	fs := append([]core.HeaderField(nil), typicalRequest...)
	fs[0].Value = "POST"
	return fs
}()

func benchStreamsCoreClient(b *testing.B) {
	m, total := memStreamConns()
	conns := make([]*core.Conn, m)
	scratch := make([]byte, 0, 4096)
	var r memReport
	b.ReportAllocs()
	for b.Loop() {
		memCoreConns(b, core.RoleClient, conns, &scratch)
		before := readMem()
		for i, c := range conns {
			for range streamsPerConn {
				if _, err := c.OpenStream(memPostRequest, core.StreamOptions{}); err != nil {
					b.Fatalf("core %d: %v", i, err)
				}
			}
			if _, err := memDrive(c, memNow, nil, &scratch, core.EventNone); err != nil {
				b.Fatal(err)
			}
			if active, _ := c.ActiveStreams(); active != streamsPerConn {
				b.Fatalf("core %d: %d streams active", i, active)
			}
		}
		after := readMem()
		writeHeapProfile(b)
		r.add(perUnit(before, after, total), memFigure{})
		runtime.KeepAlive(conns)
		clear(conns)
	}
	r.report(b, "stream")
}

// benchStreamsServer measures a server's open streams (see
// BenchmarkOpenStreamMemory); start serves a handler that counts itself
// in started and blocks until release is closed.
func benchStreamsServer(start func(b *testing.B, started *atomic.Int64, release chan struct{}) memServer) func(*testing.B) {
	return func(b *testing.B) {
		m, total := memStreamConns()
		memWarmGoroutines(4*m + 2*total)
		blocks := memRequestBlocks(streamsPerConn)
		conns := make([]net.Conn, 0, m)
		var r memReport
		b.ReportAllocs()
		for b.Loop() {
			goroutines := runtime.NumGoroutine()
			var started atomic.Int64
			release := make(chan struct{})
			released := false
			b.Cleanup(func() { // if the benchmark failed before releasing them
				if !released {
					close(release)
				}
			})
			srv := start(b, &started, release)
			conns = memDialPeers(b, srv.l, m, conns[:0])
			memDrainPeers(b, conns)
			before := readMem()
			for _, c := range conns {
				if _, err := c.Write(blocks); err != nil {
					b.Fatal(err)
				}
			}
			memWaitCount(b, &started, int64(total), "handlers started")
			if extra := memDrainPeers(b, conns); extra > 0 {
				b.Logf("the server wrote %d bytes after the requests", extra)
			}
			after := readMem()
			writeHeapProfile(b)
			r.add(perUnit(before, after, total), memFigure{})
			close(release)
			released = true
			memCloseAll(conns)
			clear(conns[:cap(conns)])
			if err := srv.stop(); err != nil {
				b.Fatal(err)
			}
			memWaitGoroutines(b, goroutines)
		}
		r.report(b, "stream")
	}
}
