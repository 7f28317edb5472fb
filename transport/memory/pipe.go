package memory

import (
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// pipeSeq numbers pipes for their addresses.
var pipeSeq atomic.Uint64

// Pipe returns the two ends of a full-duplex in-memory connection shaped
// by cfg. Bytes written to a are read from b and the other way round; the
// two directions are independent (each has its own buffer, chunking and
// latency). See Conn for the semantics.
func Pipe(cfg Config) (a, b *Conn) {
	n := strconv.FormatUint(pipeSeq.Add(1), 10)
	ab := newHalf(cfg, 1)
	ba := newHalf(cfg, 2)
	na, nb := Addr("memory:"+n+":a"), Addr("memory:"+n+":b")
	return newConn(ba, ab, cfg.Clock, na, nb), newConn(ab, ba, cfg.Clock, nb, na)
}

// half is one direction of a pipe: the writer's end appends, the
// reader's end consumes. Every field below mu is guarded by it; every
// change that could unblock a waiter closes changed (see wake).
type half struct {
	clock    *Clock
	latency  time.Duration // zero without a clock
	limit    int
	maxChunk int

	mu       sync.Mutex
	changed  chan struct{}
	rng      *rand.Rand
	ready    []byte    // arrived: readable unless stalled
	pending  []arrival // written, still travelling (Latency)
	inFlight int       // len(ready) + bytes in pending
	shut     bool      // the writer closed its side: no more writes
	eof      bool      // the writer's end of file has arrived
	gone     bool      // the reader closed: writes fail
	err      error     // the pipe broke (Break)
	stalled  bool      // Stall: nothing becomes readable
}

// arrival is a write, or the end of file (eof), on its way.
type arrival struct {
	at   time.Time
	data []byte
	eof  bool
}

func newHalf(cfg Config, dir uint64) *half {
	h := &half{
		clock:    cfg.Clock,
		limit:    cfg.Buffer,
		maxChunk: cfg.MaxChunk,
		changed:  make(chan struct{}),
		rng:      rand.New(rand.NewPCG(cfg.Seed, dir)),
	}
	if h.limit <= 0 {
		h.limit = DefaultBuffer
	}
	if cfg.Clock != nil && cfg.Latency > 0 {
		h.latency = cfg.Latency
	}
	return h
}

// wake wakes everyone waiting on h. h.mu is held.
func (h *half) wake() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// poke wakes h's waiters so that they look again (at a deadline).
func (h *half) poke() {
	h.mu.Lock()
	h.wake()
	h.mu.Unlock()
}

// wait releases h.mu until the next change and takes it again.
func (h *half) wait() {
	ch := h.changed
	h.mu.Unlock()
	<-ch
	h.mu.Lock()
}

// send puts a copy of p on its way. h.mu is held; the caller made room.
func (h *half) send(p []byte) {
	h.inFlight += len(p)
	if h.latency == 0 {
		h.ready = append(h.ready, p...)
		h.wake()
		return
	}
	data := append([]byte(nil), p...)
	h.pending = append(h.pending, arrival{at: h.clock.Now().Add(h.latency), data: data})
	h.clock.AfterFunc(h.latency, h.arrive)
}

// shutdown ends the writer's side: the reader gets io.EOF after what is on
// its way. h.mu is held.
func (h *half) shutdown() {
	if h.shut {
		return
	}
	h.shut = true
	if h.latency == 0 {
		h.eof = true
		h.wake()
		return
	}
	h.pending = append(h.pending, arrival{at: h.clock.Now().Add(h.latency), eof: true})
	h.clock.AfterFunc(h.latency, h.arrive)
	h.wake() // writers blocked on room now fail
}

// arrive moves what has finished travelling to the readable side. It runs
// as a Clock callback.
func (h *half) arrive() {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.clock.Now()
	i := 0
	for ; i < len(h.pending) && !h.pending[i].at.After(now); i++ {
		if h.pending[i].eof {
			h.eof = true
		}
		h.ready = append(h.ready, h.pending[i].data...)
	}
	if i > 0 {
		clear(h.pending[:i])
		h.pending = h.pending[i:]
		h.wake()
	}
}

// take moves up to len(p) readable bytes into p, at most one seeded
// chunk. h.mu is held; ready is not empty and h is not stalled.
func (h *half) take(p []byte) int {
	n := len(p)
	if h.maxChunk > 0 {
		n = min(n, 1+h.rng.IntN(h.maxChunk))
	}
	n = copy(p[:n], h.ready)
	h.ready = h.ready[n:]
	if len(h.ready) == 0 {
		h.ready = nil // let the backing array go
	}
	h.inFlight -= n
	h.wake() // room for the writer
	return n
}

// drop discards everything in flight. h.mu is held.
func (h *half) drop() {
	h.ready, h.pending, h.inFlight = nil, nil, 0
	h.wake()
}
