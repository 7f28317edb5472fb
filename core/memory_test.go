package core

// Internal tests (package core, so they can reach the record sizes): they
// drive Conns directly, without coretest, which imports core.

import (
	"bytes"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/h2proto/h2/core/frame"
	"golang.org/x/net/http2/hpack"
)

var memEpoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// memPair connects a client and a server Conn in memory. onEvent plays the
// applications; pend holds bytes a side has not accepted yet.
type memPair struct {
	t        testing.TB
	cli, srv *Conn
	now      time.Time
	onEvent  func(c *Conn, e Event)
	pend     [2][]byte // to the server, to the client
	abuse    []AbuseKind
}

func newMemPair(t testing.TB, ccfg, scfg Config) *memPair {
	t.Helper()
	cli, err := NewClient(memEpoch, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(memEpoch, scfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &memPair{t: t, cli: cli, srv: srv, now: memEpoch}
	p.drive()
	return p
}

func (p *memPair) poll(c *Conn) {
	for e, ok := c.PollEvent(); ok; e, ok = c.PollEvent() {
		if e.Kind == EventAbuse {
			p.abuse = append(p.abuse, e.Abuse)
		}
		if p.onEvent != nil {
			p.onEvent(c, e)
		}
	}
}

// drive moves bytes both ways until neither side has anything to say.
func (p *memPair) drive() {
	p.t.Helper()
	for range 100000 {
		moved := p.flow(p.cli, p.srv, 0)
		moved = p.flow(p.srv, p.cli, 1) || moved
		if !moved {
			return
		}
	}
	p.t.Fatal("memPair: no quiescence")
}

func (p *memPair) flow(from, to *Conn, dir int) bool {
	p.poll(from)
	before := len(p.pend[dir])
	p.pend[dir] = from.PollTransmit(p.pend[dir])
	p.poll(from)
	moved := len(p.pend[dir]) > before
	for len(p.pend[dir]) > 0 {
		n, err := to.Receive(p.now, p.pend[dir])
		p.pend[dir] = p.pend[dir][n:]
		p.poll(to)
		if n > 0 {
			moved = true
		}
		if err != nil {
			p.pend[dir] = nil
			break
		}
		if n == 0 {
			break
		}
	}
	if len(p.pend[dir]) == 0 {
		p.pend[dir] = p.pend[dir][:0:0] // do not keep a flood's buffer
	}
	return moved
}

func (p *memPair) check() {
	p.t.Helper()
	for _, c := range []*Conn{p.cli, p.srv} {
		if err := c.CheckInvariants(); err != nil {
			p.t.Fatal(err)
		}
	}
}

var memGET = []HeaderField{
	{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
	{Name: ":authority", Value: "example.com"}, {Name: ":path", Value: "/"},
}

var memPOST = []HeaderField{
	{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "https"},
	{Name: ":authority", Value: "example.com"}, {Name: ":path", Value: "/"},
}

// memServer is a server Conn past the handshake opposite a scripted
// client whose frames the test builds; enc encodes its field blocks.
type memServer struct {
	t   testing.TB
	c   *Conn
	enc *hpack.Encoder
	blk bytes.Buffer
	evs []Event
}

func newMemServer(t testing.TB, cfg Config) *memServer {
	t.Helper()
	c, err := NewServer(memEpoch, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &memServer{t: t, c: c}
	s.enc = hpack.NewEncoder(&s.blk)
	in := append([]byte(clientPreface), frame.AppendSettings(nil, nil)...)
	s.feed(frame.AppendSettingsAck(in))
	c.PollTransmit(nil)
	s.poll()
	if c.Phase() != PhaseConnected {
		t.Fatalf("handshake: phase %v", c.Phase())
	}
	return s
}

// feed gives the server bytes, all of which it must take.
func (s *memServer) feed(b []byte) {
	s.t.Helper()
	n, err := s.c.Receive(memEpoch, b)
	if err != nil || n != len(b) {
		s.t.Fatalf("Receive took %d of %d: %v", n, len(b), err)
	}
	s.poll()
}

func (s *memServer) poll() {
	for e, ok := s.c.PollEvent(); ok; e, ok = s.c.PollEvent() {
		s.evs = append(s.evs, e)
	}
}

func (s *memServer) headers(id uint32, end bool, fields []HeaderField) []byte {
	s.blk.Reset()
	for _, f := range fields {
		if err := s.enc.WriteField(f); err != nil {
			s.t.Fatal(err)
		}
	}
	return frame.AppendHeaders(nil, frame.HeadersParam{StreamID: id, Fragment: s.blk.Bytes(),
		EndStream: end, EndHeaders: true})
}

// holdOne opens stream 1 and resets it: the application still holds it, so
// with MaxConcurrentStreams 1 the next request waits (pending).
func (s *memServer) holdOne() {
	s.t.Helper()
	s.feed(s.headers(1, true, memGET))
	s.feed(frame.AppendRSTStream(nil, 1, frame.ErrCodeCancel))
}

func (s *memServer) check() {
	s.t.Helper()
	if err := s.c.CheckInvariants(); err != nil {
		s.t.Fatal(err)
	}
}

// TestMemoryRecordSizes checks the size constants against reflect.
func TestMemoryRecordSizes(t *testing.T) {
	if n := reflect.TypeFor[HeaderField]().Size(); fieldSize != n {
		t.Errorf("fieldSize %d, HeaderField is %d bytes", fieldSize, n)
	}
	if n := reflect.TypeFor[Event]().Size(); eventSize != n {
		t.Errorf("eventSize %d, Event is %d bytes", eventSize, n)
	}
	if n := reflect.TypeFor[stream]().Size(); streamRecordSize < n || streamRecordSize > n+96 {
		t.Errorf("streamRecordSize %d, stream is %d bytes", streamRecordSize, n)
	}
	n := reflect.TypeFor[Conn]().Size() + reflect.TypeFor[hpack.Decoder]().Size()
	if connFixedSize < n || connFixedSize > n+512 {
		t.Errorf("connFixedSize %d, Conn and Decoder are %d bytes", connFixedSize, n)
	}
}

// TestMemoryIdle: an idle connection holds its fixed part, the output
// queue's capacity and the decoder's table allowance; nothing else.
func TestMemoryIdle(t *testing.T) {
	s := newMemServer(t, Config{})
	m := s.c.Memory()
	t.Logf("idle server: %+v total %d", m, m.Total())
	if m.Input != 0 || m.SendBuffers != 0 || m.Streams != 0 || m.Pending != 0 || m.HeaderBlock != 0 {
		t.Errorf("idle connection holds stream or input memory: %+v", m)
	}
	if m.HPACK != 4096 {
		t.Errorf("HPACK %d, want 4096 (the decoder's table allowance, empty encoder)", m.HPACK)
	}
	if m.Total() > 16<<10 {
		t.Errorf("idle connection accounts %d bytes, want under 16 KiB", m.Total())
	}
	s.check()
}

// TestMemoryInput: a frame cut across Receive calls is held in the input
// buffers and counted as it grows.
func TestMemoryInput(t *testing.T) {
	s := newMemServer(t, Config{})
	s.feed(s.headers(1, false, memPOST))
	payload := bytes.Repeat([]byte("x"), 12000)
	f := frame.AppendData(nil, 1, false, payload)
	held := 0
	for _, k := range []int{5, 4, 1000, 5000} {
		s.feed(f[held : held+k])
		held += k
		if in := s.c.Memory().Input; in < held || in > held+held/4+64 {
			t.Fatalf("after %d bytes of a frame: Input %d", held, in)
		}
		s.check()
	}
	s.feed(f[held:])
	if in := s.c.Memory().Input; in < held {
		t.Fatalf("buffers released early: Input %d", in)
	}
	if len(s.evs) == 0 || s.evs[len(s.evs)-1].Kind != EventData {
		t.Fatalf("no DATA event: %v", s.evs)
	}
	s.check()
}

// TestMemoryOutput: queued control frames are counted while the peer does
// not read; a queue above retainedOutputCap is given back once drained.
func TestMemoryOutput(t *testing.T) {
	cfg := Config{}
	cfg.Limits.MaxQueuedControlFrames = 10000
	cfg.Limits.MaxQueuedFrames = 10000
	s := newMemServer(t, cfg)
	var in []byte
	for i := range 5000 {
		in = frame.AppendPing(in, false, [8]byte{byte(i)})
	}
	s.feed(in)
	q := s.c.QueuedOutput()
	m := s.c.Memory()
	if q != 5000*17 || m.Output < q || m.Output > 2*q {
		t.Fatalf("5000 PING ACKs queued: QueuedOutput %d, Output %d", q, m.Output)
	}
	s.check()
	if out := s.c.PollTransmit(nil); len(out) != q {
		t.Fatalf("PollTransmit returned %d bytes, want %d", len(out), q)
	}
	if m := s.c.Memory(); m.Output != 0 {
		t.Fatalf("Output %d after draining a burst, want 0", m.Output)
	}
	s.check()
}

// TestMemorySendBuffers: DATA held by a shut window is counted by its
// buffer's capacity, and given back when the stream ends.
func TestMemorySendBuffers(t *testing.T) {
	ccfg := Config{InitialWindowSize: 1}
	p := newMemPair(t, ccfg, Config{})
	const body = 50000
	p.onEvent = func(c *Conn, e Event) {
		if c == p.srv && e.Kind == EventRequest {
			if err := c.SendHeaders(e.StreamID, []HeaderField{{Name: ":status", Value: "200"}}, false); err != nil {
				t.Error(err)
			}
			if _, err := c.SendData(e.StreamID, make([]byte, body), true); err != nil {
				t.Error(err)
			}
		}
	}
	id, err := p.cli.OpenStream(memGET, StreamOptions{EndStream: true, ManualFlowControl: true})
	if err != nil {
		t.Fatal(err)
	}
	p.drive()
	b := p.srv.Buffered(0)
	m := p.srv.Memory()
	t.Logf("GET in flight, 50000-byte response held by the window: %+v total %d", m, m.Total())
	if b != body-1 || m.SendBuffers < b || m.SendBuffers > b+b/4+8192 {
		t.Fatalf("Buffered %d, SendBuffers %d", b, m.SendBuffers)
	}
	p.check()
	if err := p.cli.ResetStream(id, ErrCodeCancelForTest); err != nil {
		t.Fatal(err)
	}
	p.drive()
	if m := p.srv.Memory(); m.SendBuffers != 0 || m.Streams > 16*streamRecordSize {
		t.Fatalf("after the reset: %+v", m)
	}
	p.check()
}

// ErrCodeCancelForTest is CANCEL (RFC 9113 §7).
const ErrCodeCancelForTest = frame.ErrCodeCancel

// TestMemoryHPACK: the decoder counts the table size we allow, the encoder
// its entries as RFC 7541 §4.1 sizes them.
func TestMemoryHPACK(t *testing.T) {
	p := newMemPair(t, Config{}, Config{HeaderTableSize: 65536})
	big := string(bytes.Repeat([]byte("v"), 3000))
	p.onEvent = func(c *Conn, e Event) {
		if c == p.srv && e.Kind == EventRequest {
			_ = c.Respond(e.StreamID, 200, []HeaderField{{Name: "x-big", Value: big}}, nil)
		}
	}
	if _, err := p.cli.OpenStream(memGET, StreamOptions{EndStream: true}); err != nil {
		t.Fatal(err)
	}
	p.drive()
	m := p.srv.Memory()
	if m.HPACK != 65536+int(p.srv.enc.size) || p.srv.enc.size < 3000+5+32 {
		t.Fatalf("server HPACK %d, encoder table %d", m.HPACK, p.srv.enc.size)
	}
	if m := p.cli.Memory(); m.HPACK != 4096+int(p.cli.enc.size) {
		t.Fatalf("client HPACK %d, encoder table %d", m.HPACK, p.cli.enc.size)
	}
	p.check()
}

// TestMemoryStreamsAndBaseline: open streams are counted per record, and
// once they end and output drains the figure returns near its baseline
// (recycled records and their small buffers are kept).
func TestMemoryStreamsAndBaseline(t *testing.T) {
	p := newMemPair(t, Config{}, Config{})
	base := p.srv.Memory().Total()
	var ids []uint32
	for range 100 {
		id, err := p.cli.OpenStream(memPOST, StreamOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	p.drive()
	for _, c := range []*Conn{p.cli, p.srv} {
		if m := c.Memory(); m.Streams != (100+len(c.free))*streamRecordSize {
			t.Fatalf("%v: Streams %d with 100 streams and %d recycled", c.Role(), m.Streams, len(c.free))
		}
	}
	t.Logf("100 open streams, server: %+v total %d", p.srv.Memory(), p.srv.Memory().Total())
	p.onEvent = func(c *Conn, e Event) {
		if c == p.srv && e.Kind == EventRequest {
			// Answered at once, as each request arrives.
			_ = c.Respond(e.StreamID, 200, nil, []byte("ok"))
		}
	}
	for _, id := range ids {
		if _, err := p.cli.SendData(id, []byte("body"), true); err != nil {
			t.Fatal(err)
		}
	}
	p.drive()
	p.check()
	// The requests were surfaced before the handler answered them: answer now.
	for s := p.srv.all.head; s != nil; {
		next := s.allNext
		_ = p.srv.Respond(s.id, 200, nil, []byte("ok"))
		s = next
	}
	p.drive()
	p.check()
	m := p.srv.Memory()
	t.Logf("after 100 streams: %+v total %d (baseline %d)", m, m.Total(), base)
	if m.Streams != len(p.srv.free)*streamRecordSize || len(p.srv.free) > 16 {
		t.Fatalf("streams left: %+v", m)
	}
	slack := 16*(streamRecordSize+recycledBufferCap) + 8<<10 // recycled records, field slots
	if m.Total() > base+m.Events+slack {
		t.Fatalf("total %d after the streams ended, baseline %d", m.Total(), base)
	}
}

// TestMemoryPending: a request waiting for a slot keeps its fields and
// data, counted until it is surfaced.
func TestMemoryPending(t *testing.T) {
	s := newMemServer(t, Config{MaxConcurrentStreams: 1})
	s.holdOne()
	s.feed(s.headers(3, false, memPOST))
	s.feed(frame.AppendData(nil, 3, false, make([]byte, 10000)))
	m := s.c.Memory()
	if m.Pending < 10000+len(memPOST)*fieldSize || m.Pending > 10000+10000/4+len(memPOST)*(fieldSize+32) {
		t.Fatalf("Pending %d with a waiting request of 10000 bytes", m.Pending)
	}
	s.check()
	if err := s.c.ReleaseStream(1); err != nil {
		t.Fatal(err)
	}
	s.poll()
	if m := s.c.Memory(); m.Pending != 0 {
		t.Fatalf("Pending %d after the request was surfaced", m.Pending)
	}
	s.check()
}

// TestMemoryEventCopies: events left unpolled across an input own copies
// of what they borrowed, and those copies are counted until polled.
func TestMemoryEventCopies(t *testing.T) {
	s := newMemServer(t, Config{})
	s.feed(s.headers(1, false, memPOST))
	s.evs = nil
	in := frame.AppendData(nil, 1, false, make([]byte, 5000))
	if n, err := s.c.Receive(memEpoch, in); n != len(in) || err != nil {
		t.Fatal(n, err)
	}
	// Not polled: the next input copies the borrowed Data.
	if _, err := s.c.Receive(memEpoch, frame.AppendPing(nil, false, [8]byte{})); err != nil {
		t.Fatal(err)
	}
	m := s.c.Memory()
	if m.Events < 5000 || s.c.mem.eventCopied != 1 {
		t.Fatalf("Events %d, copied events %d", m.Events, s.c.mem.eventCopied)
	}
	s.check()
	s.poll()
	if m := s.c.Memory(); m.Events != len(s.c.events.buf)*eventSize {
		t.Fatalf("Events %d after polling", m.Events)
	}
	s.check()
}

// memBudgetRun drives a server to a fixed state: a waiting request with
// 20000 bytes of DATA. It reports the abuse events seen and the total.
func memBudgetRun(t *testing.T, limit int) ([]AbuseKind, int) {
	s := newMemServer(t, Config{MaxConcurrentStreams: 1, Limits: Limits{MaxConnMemory: limit}})
	var abuse []AbuseKind
	s.holdOne()
	s.feed(s.headers(3, false, memPOST))
	for range 2 {
		if _, err := s.c.Receive(memEpoch, frame.AppendData(nil, 3, false, make([]byte, 10000))); err != nil {
			break
		}
	}
	s.poll()
	for _, e := range s.evs {
		if e.Kind == EventAbuse {
			abuse = append(abuse, e.Abuse)
		}
	}
	s.check()
	return abuse, s.c.Memory().Total()
}

// TestMemoryBudget: Limits.MaxConnMemory fires one byte past the limit,
// with GOAWAY ENHANCE_YOUR_CALM, and not at it.
func TestMemoryBudget(t *testing.T) {
	_, total := memBudgetRun(t, 1<<30)
	if abuse, got := memBudgetRun(t, total); len(abuse) != 0 || got != total {
		t.Fatalf("limit = total %d: abuse %v (total %d)", total, abuse, got)
	}
	s := newMemServer(t, Config{MaxConcurrentStreams: 1, Limits: Limits{MaxConnMemory: total - 1}})
	s.holdOne()
	s.feed(s.headers(3, false, memPOST))
	s.feed(frame.AppendData(nil, 3, false, make([]byte, 10000)))
	_, err := s.c.Receive(memEpoch, frame.AppendData(nil, 3, false, make([]byte, 10000)))
	ce, ok := err.(*ConnError)
	if !ok || ce.Code != frame.ErrCodeEnhanceYourCalm || ce.Token != "memory_budget_exceeded" {
		t.Fatalf("limit = total-1: err %v", err)
	}
	s.poll()
	found := false
	for _, e := range s.evs {
		found = found || e.Kind == EventAbuse && e.Abuse == AbuseMemory
	}
	if !found {
		t.Fatal("no EventAbuse(AbuseMemory)")
	}
	out := s.c.PollTransmit(nil)
	if !bytes.Contains(out, []byte("memory_budget_exceeded")) {
		t.Fatal("GOAWAY does not name memory_budget_exceeded")
	}
	if AbuseMemory.String() != "memory_budget_exceeded" {
		t.Fatal(AbuseMemory.String())
	}
}

// TestMemoryHeavyLegitimate: 100 streams whose responses fill the send
// buffers behind shut windows, then stream 256 KiB each as the client
// consumes, stay under the default 3 MiB: compacting the send buffers keeps
// the capacity of drained buffers from piling up (100 × 64 KiB otherwise).
func TestMemoryHeavyLegitimate(t *testing.T) {
	ccfg := Config{InitialWindowSize: 16384, ConnectionWindowSize: 1 << 24}
	p := newMemPair(t, ccfg, Config{})
	const perStream = 256 << 10
	sent := map[uint32]int{}
	owed := map[uint32]int{} // delivered to the client, not yet consumed
	consume := false
	chunk := make([]byte, 64<<10)
	fill := func(c *Conn, id uint32) {
		for sent[id] < perStream {
			k := min(len(chunk), perStream-sent[id])
			n, err := c.SendData(id, chunk[:k], sent[id]+k == perStream)
			sent[id] += n
			if err != nil {
				return
			}
		}
	}
	maxTotal, compacted := 0, 0
	p.onEvent = func(c *Conn, e Event) {
		switch {
		case c == p.srv && e.Kind == EventRequest:
			_ = c.SendHeaders(e.StreamID, []HeaderField{{Name: ":status", Value: "200"}}, false)
			fill(c, e.StreamID)
		case c == p.srv && e.Kind == EventWritable:
			fill(c, e.StreamID)
		case c == p.cli && e.Kind == EventData:
			owed[e.StreamID] += len(e.Data)
			if consume {
				_ = c.Consume(e.StreamID, owed[e.StreamID])
				owed[e.StreamID] = 0
			}
		}
		m := p.srv.Memory()
		if m.SendBuffers < p.srv.Buffered(0) {
			compacted++ // cannot happen: capacity holds the buffered bytes
		}
		maxTotal = max(maxTotal, m.Total())
	}
	var ids []uint32
	for range 100 {
		id, err := p.cli.OpenStream(memGET, StreamOptions{EndStream: true, ManualFlowControl: true})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	p.drive()
	p.check()
	m := p.srv.Memory()
	t.Logf("100 streams, send buffers full, output drained: %+v total %d", m, m.Total())
	if b := p.srv.Buffered(0); b < 512<<10 {
		t.Fatalf("send buffers not full: %d", b)
	}
	if m.Total() >= 3<<20 {
		t.Fatalf("total %d with full send buffers", m.Total())
	}
	consume = true
	for _, id := range ids {
		if owed[id] > 0 {
			_ = p.cli.Consume(id, owed[id])
			owed[id] = 0
		}
	}
	p.drive()
	p.check()
	done := 0
	for _, id := range ids {
		if p.cli.StreamState(id) == StateClosed && sent[id] == perStream {
			done++
		}
	}
	t.Logf("streamed 100 × 256 KiB: max total %d, now %+v", maxTotal, p.srv.Memory())
	if done != 100 || len(p.abuse) != 0 || compacted != 0 {
		t.Fatalf("%d streams finished, abuse %v", done, p.abuse)
	}
	if maxTotal >= 3<<20 {
		t.Fatalf("max total %d, want under 3 MiB", maxTotal)
	}
}

// TestMemorySendCompaction: a peer that lets each response through but
// its last byte (stream windows of 65,535, bodies of 65,536) would leave
// every stream holding a drained 64 KiB buffer for one byte — 100 streams,
// over 6 MiB, with only 100 bytes buffered. Compaction keeps the capacity
// within a quarter above Limits.ConnSendBuffer (plus one buffer's growth).
func TestMemorySendCompaction(t *testing.T) {
	p := newMemPair(t, Config{InitialWindowSize: 65535, ConnectionWindowSize: 1 << 24}, Config{})
	const body = 65536
	sent := map[uint32]int{}
	chunk := make([]byte, body)
	fill := func(c *Conn, id uint32) {
		n, _ := c.SendData(id, chunk[:body-sent[id]], true)
		sent[id] += n
	}
	high := p.srv.sendCapHigh() + body + body/4 + 8192
	maxCap := 0
	p.onEvent = func(c *Conn, e Event) {
		switch {
		case c == p.srv && e.Kind == EventRequest:
			_ = c.SendHeaders(e.StreamID, []HeaderField{{Name: ":status", Value: "200"}}, false)
			fill(c, e.StreamID)
		case c == p.srv && e.Kind == EventWritable:
			fill(c, e.StreamID)
		}
		maxCap = max(maxCap, p.srv.Memory().SendBuffers)
	}
	for range 100 {
		if _, err := p.cli.OpenStream(memGET, StreamOptions{EndStream: true, ManualFlowControl: true}); err != nil {
			t.Fatal(err)
		}
	}
	p.drive()
	p.check()
	m := p.srv.Memory()
	t.Logf("100 streams with one byte left each: buffered %d, %+v total %d, max send capacity %d",
		p.srv.Buffered(0), m, m.Total(), maxCap)
	if p.srv.Buffered(0) != 100 {
		t.Fatalf("buffered %d, want 100 (one byte per stream)", p.srv.Buffered(0))
	}
	if len(p.abuse) != 0 {
		t.Fatalf("abuse %v", p.abuse)
	}
	if maxCap > high {
		t.Fatalf("send-buffer capacity reached %d, want at most %d", maxCap, high)
	}
}

// TestMemoryHeapHonesty compares the accounted total of many connections
// with the heap they take, loosely: the figure is meant to bound the
// connection's own buffers, not the allocator's overhead.
func TestMemoryHeapHonesty(t *testing.T) {
	const n = 200
	conns := make([]*memServer, 0, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range n {
		s := newMemServer(t, Config{})
		s.feed(s.headers(1, false, memPOST))
		s.feed(frame.AppendData(nil, 1, false, make([]byte, 3000))[:2000]) // a partial frame
		conns = append(conns, s)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	accounted := 0
	for _, s := range conns {
		s.evs = nil
		accounted += s.c.Memory().Total()
	}
	heap := int(after.HeapAlloc) - int(before.HeapAlloc)
	t.Logf("%d connections: accounted %d bytes (%d each), heap delta %d (%d each)",
		n, accounted, accounted/n, heap, heap/n)
	if heap < accounted/2 || heap > 2*accounted {
		t.Fatalf("accounted %d, heap grew %d: off by more than 2×", accounted, heap)
	}
	runtime.KeepAlive(conns)
}

// memFieldFlood is n request blocks on streams 1, 3, … of fields
// "accept:" (static table index 19, one byte each) up to the header list
// limit: 1 KiB or so of input that decodes into ~1,700 field slots.
func memFieldFlood(s *memServer, first uint32, n int) []byte {
	var in []byte
	for i := range n {
		s.blk.Reset()
		for _, f := range memGET {
			_ = s.enc.WriteField(f)
		}
		block := append([]byte(nil), s.blk.Bytes()...)
		for range 1700 {
			block = append(block, 0x80|19)
		}
		in = frame.AppendHeaders(in, frame.HeadersParam{StreamID: first + 2*uint32(i), Fragment: block,
			EndStream: true, EndHeaders: true})
	}
	return in
}

// TestMemoryFieldAmplification: field blocks of one-byte indexed fields
// expand 40-fold into decoded-field slots. One Receive of 32 KiB (the
// runtime's read size) is counted and stays under the budget, and the
// slots are given back at the next input; one Receive of many more blocks
// trips Limits.MaxConnMemory instead of holding megabytes.
func TestMemoryFieldAmplification(t *testing.T) {
	s := newMemServer(t, Config{})
	in := memFieldFlood(s, 1, 18)
	if _, err := s.c.Receive(memEpoch, in); err != nil {
		t.Fatal(err)
	}
	m := s.c.Memory()
	t.Logf("%d bytes of field blocks in one Receive: %+v total %d", len(in), m, m.Total())
	if m.HeaderBlock < 18*1700*fieldSize {
		t.Fatalf("HeaderBlock %d, want at least %d", m.HeaderBlock, 18*1700*fieldSize)
	}
	s.check()
	s.poll()
	for id := uint32(1); id < 37; id += 2 {
		_ = s.c.Respond(id, 200, nil, nil)
	}
	s.c.PollTransmit(nil)
	s.feed(frame.AppendPing(nil, false, [8]byte{}))
	if m := s.c.Memory(); m.HeaderBlock != 0 {
		t.Fatalf("HeaderBlock %d after the next input, want 0", m.HeaderBlock)
	}
	s.check()

	s = newMemServer(t, Config{})
	_, err := s.c.Receive(memEpoch, memFieldFlood(s, 1, 100))
	if ce, ok := err.(*ConnError); !ok || ce.Token != AbuseMemory.String() {
		t.Fatalf("100 blocks of 1,700 fields in one Receive: err %v, memory %+v", err, s.c.Memory())
	}
	// Checked after each frame: the figure passes the limit by what the
	// last frame added, here one growth step of the field slice (×1.25).
	if m := s.c.Memory(); m.Total() > (3<<20)*5/4+80<<10 {
		t.Fatalf("closed at %d bytes, want within one frame's growth of 3 MiB", m.Total())
	}
	s.check()
}

// TestMemoryGETInFlight: a request the server has not answered yet costs a
// stream record and its fields' slots on either side.
func TestMemoryGETInFlight(t *testing.T) {
	p := newMemPair(t, Config{}, Config{})
	idleS, idleC := p.srv.Memory(), p.cli.Memory()
	if _, err := p.cli.OpenStream(memGET, StreamOptions{EndStream: true}); err != nil {
		t.Fatal(err)
	}
	p.drive()
	s, c := p.srv.Memory(), p.cli.Memory()
	t.Logf("GET in flight: server %+v total %d (idle %d); client total %d (idle %d)",
		s, s.Total(), idleS.Total(), c.Total(), idleC.Total())
	if s.Streams != streamRecordSize || c.Streams != streamRecordSize {
		t.Fatalf("Streams: server %d, client %d, want one record each", s.Streams, c.Streams)
	}
	if d := s.Total() - idleS.Total(); d < streamRecordSize || d > streamRecordSize+1024 {
		t.Fatalf("server grew by %d for one request", d)
	}
	p.check()
}

// TestMemoryLimitConfig: the default is 3 MiB and grows with the limits it
// sums; a budget below a connection's fixed cost is refused.
func TestMemoryLimitConfig(t *testing.T) {
	if got := DefaultConfig().Limits.MaxConnMemory; got != 3<<20 {
		t.Fatalf("default MaxConnMemory %d, want 3 MiB", got)
	}
	cfg := Config{MaxFrameSize: 1 << 20, HeaderTableSize: 1 << 20}
	cfg.fill()
	if want := 3<<20 + 2*(1<<20-16<<10) + (1<<20 - 4096); cfg.Limits.MaxConnMemory != want {
		t.Fatalf("MaxConnMemory %d with 1 MiB frames and table, want %d", cfg.Limits.MaxConnMemory, want)
	}
	// A large advertised table does not close connections by itself.
	s := newMemServer(t, Config{HeaderTableSize: 4 << 20})
	s.feed(s.headers(1, true, memGET))
	if s.c.Err() != nil {
		t.Fatal(s.c.Err())
	}
	s.check()
	bad := Config{}
	bad.Limits.MaxConnMemory = 1000
	if _, err := NewServer(memEpoch, bad); err == nil {
		t.Fatal("MaxConnMemory 1000 accepted")
	}
}

// TestMemoryParkedStreamsWorstCase: the largest figure the default limits
// allow a peer to build through pending streams: 100 streams reset but held
// by the application, 100 more waiting behind them, and the whole 1 MiB
// connection window of request content parked in the waiting ones. It
// stays under the default budget.
func TestMemoryParkedStreamsWorstCase(t *testing.T) {
	s := newMemServer(t, Config{})
	id := uint32(1)
	for range 100 { // held: reset by the peer, not released
		s.feed(s.headers(id, false, memPOST))
		s.feed(frame.AppendRSTStream(nil, id, frame.ErrCodeCancel))
		id += 2
	}
	first := id
	for range 100 { // waiting
		s.feed(s.headers(id, false, memPOST))
		id += 2
	}
	chunk := make([]byte, 16384)
	for sid := first; sid < id && s.c.RecvWindow(0) > 0; sid += 2 {
		for s.c.RecvWindow(sid) >= int64(len(chunk)) && s.c.RecvWindow(0) >= int64(len(chunk)) {
			s.feed(frame.AppendData(nil, sid, false, chunk))
		}
	}
	held, pending := s.c.HeldStreams()
	m := s.c.Memory()
	t.Logf("held %d, pending %d, connection window left %d: %+v total %d",
		held, pending, s.c.RecvWindow(0), m, m.Total())
	if held != 100 || pending != 100 || m.Pending < 1<<20-64<<10 {
		t.Fatalf("held %d pending %d, Pending %d", held, pending, m.Pending)
	}
	if s.c.Err() != nil || m.Total() >= 3<<20 {
		t.Fatalf("err %v, total %d", s.c.Err(), m.Total())
	}
	s.check()
}
