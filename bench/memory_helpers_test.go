package bench

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
	"github.com/h2proto/h2/transport/memory"
	"golang.org/x/net/http2/hpack"
)

// Flags of the memory benchmarks (memory_test.go). Pass them to go test
// after the package, in the -flag=value form: go test -bench Memory
// ./bench -mem.n=1000.
var (
	memN = flag.Int("mem.n", 10000,
		"connections held by BenchmarkIdleConnMemory, streams by BenchmarkOpenStreamMemory "+
			"(unless set, 1,000 in a -race build)")
	memHeapProfile = flag.String("mem.heapprofile", "",
		"write a heap profile, taken while everything measured is alive, to PREFIX.<sub-benchmark>.pprof "+
			"(add -memprofilerate=1 for exact figures)")
)

// memCount is -mem.n; unless it was set, a -race build, which runs some
// ten times slower and whose goroutines carry the detector's state, uses
// a tenth, so that CI's -race run stays short (its figures are not the
// ones to quote).
func memCount() int {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "mem.n" })
	if !set && raceBuild() {
		return *memN / 10
	}
	return *memN
}

// raceBuild reports whether the test binary was built with -race.
func raceBuild() bool {
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

// streamsPerConn is how many streams BenchmarkOpenStreamMemory opens on
// each connection: core.Config's default MaxConcurrentStreams (100), which
// is also below net/http's (250).
const streamsPerConn = 100

// memClientPreface is the client connection preface (RFC 9113 §3.4).
const memClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// memStats is one reading of what the process holds.
type memStats struct {
	heap       uint64 // runtime.MemStats.HeapAlloc: bytes of live heap objects
	stack      uint64 // runtime.MemStats.StackInuse: bytes of goroutine stacks
	goroutines int
}

// readMem collects garbage twice (the first cycle can leave objects whose
// finalizers or sweeping the second settles) and reads the heap and stacks.
//
// Heap is HeapAlloc, not HeapInuse: after a collection HeapAlloc is the
// live objects, each rounded to its size class, which is what a smaller
// struct saves; HeapInuse adds the unused slots of partly filled spans,
// which depend on how the setup's garbage was interleaved with what
// survived, not on the connection. Stacks are StackInuse, reported apart
// from the heap: a runtime's goroutines cost stack per connection that
// HeapAlloc does not show. Neither counts the runtime's goroutine
// descriptors (the g structs, a few hundred bytes each), which Go never
// frees and reuses from a free list; memWarmGoroutines fills that list so
// that no sub-benchmark pays for them and another not.
func readMem() memStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memStats{heap: m.HeapAlloc, stack: m.StackInuse, goroutines: runtime.NumGoroutine()}
}

// memFigure is a cost per unit (connection or stream).
type memFigure struct {
	heap, stack, goroutines float64
}

// perUnit is what was added between two readings, per unit of n.
func perUnit(before, after memStats, n int) memFigure {
	return memFigure{
		heap:       (float64(after.heap) - float64(before.heap)) / float64(n),
		stack:      (float64(after.stack) - float64(before.stack)) / float64(n),
		goroutines: float64(after.goroutines-before.goroutines) / float64(n),
	}
}

func (f memFigure) minus(g memFigure) memFigure {
	return memFigure{heap: f.heap - g.heap, stack: f.stack - g.stack, goroutines: f.goroutines - g.goroutines}
}

// memReport averages the figures of the benchmark's iterations.
type memReport struct {
	sum, base memFigure
	runs      int
}

// add records one iteration's figure and the baseline subtracted from it
// (the zero memFigure if none).
func (r *memReport) add(f, base memFigure) {
	r.sum.heap += f.heap
	r.sum.stack += f.stack
	r.sum.goroutines += f.goroutines
	r.base.heap += base.heap
	r.base.stack += base.stack
	r.runs++
}

// report states the averages as B/unit (heap and stack), heapB/unit,
// stackB/unit and goroutines/unit, and the subtracted baseline as
// pipeB/unit where there was one.
func (r *memReport) report(b *testing.B, unit string) {
	if r.runs == 0 {
		return
	}
	n := float64(r.runs)
	heap, stack := r.sum.heap/n, r.sum.stack/n
	b.ReportMetric(heap+stack, "B/"+unit)
	b.ReportMetric(heap, "heapB/"+unit)
	b.ReportMetric(stack, "stackB/"+unit)
	b.ReportMetric(r.sum.goroutines/n, "goroutines/"+unit)
	if base := (r.base.heap + r.base.stack) / n; base != 0 {
		b.ReportMetric(base, "pipeB/"+unit)
	}
}

// writeHeapProfile writes the heap profile asked for by -mem.heapprofile,
// once per sub-benchmark, while what is measured is alive.
func writeHeapProfile(b *testing.B) {
	if *memHeapProfile == "" {
		return
	}
	name := *memHeapProfile + "." + strings.NewReplacer("/", "_", " ", "_").Replace(b.Name()) + ".pprof"
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// memWarmGoroutines starts n goroutines and lets them end, so that the
// runtime's free list holds n goroutine descriptors for the measured
// goroutines to reuse (see readMem).
func memWarmGoroutines(n int) {
	release := make(chan struct{})
	done := make(chan struct{}, n)
	for range n {
		go func() {
			<-release
			done <- struct{}{}
		}()
	}
	close(release)
	for range n {
		<-done
	}
}

// memWaitGoroutines fails b unless the goroutine count falls back to base
// within 10 s: everything a sub-benchmark started must be gone.
func memWaitGoroutines(b *testing.B, base int) {
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			b.Fatalf("leak: %d goroutines, want %d", runtime.NumGoroutine(), base)
		}
		time.Sleep(time.Millisecond)
	}
}

// memWaitCount waits until c reaches want, for at most 10 s.
func memWaitCount(b *testing.B, c *atomic.Int64, want int64, what string) {
	deadline := time.Now().Add(10 * time.Second)
	for c.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("%s: %d of %d after 10 s", what, c.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// memDrive hands p to a core and drains its events and output until both are
// empty, counting the events of kind count. The output goes to *scratch and
// is dropped.
func memDrive(c *core.Conn, now time.Time, p []byte, scratch *[]byte, count core.EventKind) (int, error) {
	seen := 0
	if len(p) > 0 {
		n, err := c.Receive(now, p)
		if err != nil {
			return seen, err
		}
		if n != len(p) {
			return seen, fmt.Errorf("core took %d of %d bytes", n, len(p))
		}
	}
	for {
		polled := false
		for {
			e, ok := c.PollEvent()
			if !ok {
				break
			}
			polled = true
			if e.Kind == count {
				seen++
			}
		}
		*scratch = c.PollTransmit((*scratch)[:0])
		if !polled && len(*scratch) == 0 {
			return seen, nil
		}
	}
}

// rawPeer is the least an HTTP/2 client can be: it writes the connection
// preface and frames built in advance, reads only during the handshake,
// and keeps no state per connection but the net.Conn, so that what a
// server holds per connection is all that grows. One rawPeer serves many
// connections in turn, not at once.
type rawPeer struct {
	in, out []byte
}

var rawPingData = [8]byte{'h', '2', 'p', 'r', 'o', 't', 'o', 0}

// handshake establishes an HTTP/2 connection over c: preface and an empty
// SETTINGS, then, once the server's SETTINGS arrived, its ACK and a PING;
// the PING's ACK proves the server processed everything before it, our
// SETTINGS' ACK that it applied them. It leaves no deadline set on c.
func (p *rawPeer) handshake(c net.Conn) error {
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return err
	}
	defer c.SetReadDeadline(time.Time{}) // stops the pipe's deadline timer
	p.in = p.in[:0]
	p.out = append(p.out[:0], memClientPreface...)
	p.out = frame.AppendSettings(p.out, nil)
	if _, err := c.Write(p.out); err != nil {
		return err
	}
	err := p.readUntil(c, func(f *frame.Frame) bool {
		return f.Type == frame.TypeSettings && !f.Flags.Has(frame.FlagSettingsAck)
	})
	if err != nil {
		return fmt.Errorf("waiting for the server's SETTINGS: %w", err)
	}
	p.out = frame.AppendSettingsAck(p.out[:0])
	p.out = frame.AppendPing(p.out, false, rawPingData)
	if _, err := c.Write(p.out); err != nil {
		return err
	}
	acked := false
	err = p.readUntil(c, func(f *frame.Frame) bool {
		if f.Type == frame.TypeSettings && f.Flags.Has(frame.FlagSettingsAck) {
			acked = true
		}
		return f.Type == frame.TypePing && f.Flags.Has(frame.FlagPingAck) && f.PingData == rawPingData
	})
	switch {
	case err != nil:
		return fmt.Errorf("waiting for the PING ACK: %w", err)
	case !acked:
		return errors.New("PING ACK before the SETTINGS ACK")
	case len(p.in) > 0:
		return fmt.Errorf("%d unexpected bytes after the PING ACK", len(p.in))
	}
	return nil
}

// readUntil reads and parses frames until done accepts one, keeping the
// bytes after it in p.in.
func (p *rawPeer) readUntil(c net.Conn, done func(*frame.Frame) bool) error {
	var buf [4096]byte
	for {
		for {
			f, n, err := frame.Parse(p.in, frame.MaxMaxFrameSize)
			if errors.Is(err, frame.ErrNeedMore) {
				break
			}
			if err != nil {
				return err
			}
			if f.Type == frame.TypeGoAway {
				return fmt.Errorf("GOAWAY %v %q", f.ErrCode, f.Data)
			}
			stop := done(&f)
			p.in = append(p.in[:0], p.in[n:]...)
			if stop {
				return nil
			}
		}
		n, err := c.Read(buf[:])
		p.in = append(p.in, buf[:n]...)
		if err != nil {
			return err
		}
	}
}

// memDrainPeers reads and drops whatever the servers wrote to the peers since
// the handshake, without waiting, so that no pipe holds output at the
// measurement; it returns how many bytes that was.
func memDrainPeers(b *testing.B, conns []net.Conn) int {
	var buf [4096]byte
	total := 0
	for _, c := range conns {
		for {
			n, err := c.(*memory.Conn).TryRead(buf[:])
			if err != nil {
				b.Fatalf("draining a peer: %v", err)
			}
			if n == 0 {
				break
			}
			total += n
		}
	}
	return total
}

// memRequestBlocks returns the HEADERS frames (without END_STREAM: the body
// is pending) of streams requests on one connection, stream IDs 1, 3, …,
// encoded with a fresh HPACK encoder, as a new client's would be.
func memRequestBlocks(streams int) []byte {
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	var out []byte
	for i := range streams {
		block.Reset()
		for _, f := range typicalRequest {
			if f.Name == ":method" {
				f.Value = "POST"
			}
			_ = enc.WriteField(f)
		}
		out = frame.AppendHeaders(out, frame.HeadersParam{
			StreamID: uint32(2*i + 1), Fragment: block.Bytes(), EndHeaders: true,
		})
	}
	return out
}

// memServer is a server under measurement, listening on a transport/memory
// listener.
type memServer struct {
	l    *memory.Listener
	stop func() error // closes the server and waits for Serve to return
}

// onceStop makes stop idempotent and has b call it at the end if the
// benchmark did not (because it failed), so that no server outlives it.
func onceStop(b *testing.B, stop func() error) func() error {
	var once sync.Once
	var err error
	f := func() error {
		once.Do(func() { err = stop() })
		return err
	}
	b.Cleanup(func() { _ = f() })
	return f
}

// memStartH2proto serves h with h2.Server and its defaults.
func memStartH2proto(b *testing.B, h h2.Handler) memServer {
	l := memory.Listen(memory.Config{})
	srv := &h2.Server{Handler: h}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	return memServer{l: l, stop: onceStop(b, func() error {
		_ = srv.Close()
		if err := <-errc; !errors.Is(err, h2.ErrServerClosed) {
			return err
		}
		return nil
	})}
}

// memStartNetHTTP serves h with net/http's server speaking h2c with prior
// knowledge, and its defaults.
func memStartNetHTTP(b *testing.B, h http.Handler) memServer {
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	l := memory.Listen(memory.Config{})
	srv := &http.Server{Protocols: &protos, Handler: h}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	return memServer{l: l, stop: onceStop(b, func() error {
		_ = srv.Close()
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})}
}

// memDialPeers opens n connections to l, each handshaken by a rawPeer, and
// returns them in conns (whose capacity must hold them, so that it does
// not grow while measured). memDialWorkers dial at once: the handshakes
// are round trips through several goroutines, which one dialer would wait
// for one after the other.
func memDialPeers(b *testing.B, l *memory.Listener, n int, conns []net.Conn) []net.Conn {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conns = conns[:n]
	errs := make(chan error, memDialWorkers)
	for w := range memDialWorkers {
		go func() {
			var p rawPeer
			for i := w; i < n; i += memDialWorkers {
				c, err := l.Dial(ctx)
				if err != nil {
					errs <- err
					return
				}
				conns[i] = c
				if err := p.handshake(c); err != nil {
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
		memCloseAll(conns)
		b.Fatal(first)
	}
	return conns
}

// memDialWorkers is how many goroutines memDialPeers dials with.
const memDialWorkers = 16

// memCloseAll closes every connection in conns.
func memCloseAll(conns []net.Conn) {
	for _, c := range conns {
		if c != nil {
			_ = c.Close()
		}
	}
}

// pipeBaseline measures n idle transport/memory pipes, dialed and accepted
// through a listener like the servers' and held at both ends, per pipe:
// the transport's share of a connection, which the runtime sub-benchmarks
// subtract.
func pipeBaseline(b *testing.B, n int) memFigure {
	l := memory.Listen(memory.Config{})
	accepted := make([]net.Conn, 0, n)
	dialed := make([]net.Conn, 0, n)
	done := make(chan struct{})
	before := readMem()
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted = append(accepted, c)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for range n {
		c, err := l.Dial(ctx)
		if err != nil {
			b.Fatal(err)
		}
		dialed = append(dialed, c)
	}
	_ = l.Close()
	<-done
	after := readMem()
	if len(accepted) != n {
		b.Fatalf("pipe baseline: %d of %d accepted", len(accepted), n)
	}
	memCloseAll(accepted)
	memCloseAll(dialed)
	return perUnit(before, after, n)
}
