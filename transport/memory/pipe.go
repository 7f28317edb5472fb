package memory

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ErrBroken is the error of reads and writes on a pipe broken by Break
// with a nil error: the in-memory analogue of a TCP reset.
var ErrBroken = errors.New("memory: connection broken")

// Config shapes a pipe. The zero value is an unchunked, instant pipe with
// real-time deadlines.
type Config struct {
	// Seed drives the chunking of reads; the same Seed gives the same
	// sequence of read sizes.
	Seed uint64
	// MaxChunk bounds each Read to a seeded-random 1..MaxChunk bytes; zero
	// means no bound beyond the caller's buffer.
	MaxChunk int
	// Latency delays the bytes written until the Clock has advanced this
	// much. It needs Clock.
	Latency time.Duration
	// Clock, when set, is the time of Latency and of deadlines; nil means
	// no latency and real-time deadlines.
	Clock *Clock
	// Buffer bounds the bytes in flight in each direction, after which
	// Write blocks until the reader catches up. Zero means 1 MiB.
	Buffer int
}

// Addr is the address of a pipe end.
type Addr string

// Network returns "memory".
func (Addr) Network() string { return "memory" }

func (a Addr) String() string { return string(a) }

var pipeSeq atomic.Uint64

// Pipe returns the two ends of a full-duplex in-memory connection.
func Pipe(cfg Config) (a, b *Conn) {
	if cfg.Buffer <= 0 {
		cfg.Buffer = 1 << 20
	}
	n := strconv.FormatUint(pipeSeq.Add(1), 10)
	ab := newHalf(cfg, 0)
	ba := newHalf(cfg, 1)
	a = &Conn{cfg: cfg, in: ba, out: ab, local: Addr("memory:" + n + ":a"), remote: Addr("memory:" + n + ":b")}
	b = &Conn{cfg: cfg, in: ab, out: ba, local: a.remote, remote: a.local}
	a.peer, b.peer = b, a
	return a, b
}

// half is one direction of a pipe.
type half struct {
	cfg      Config
	mu       sync.Mutex
	notify   chan struct{} // closed and replaced on every change
	buf      []byte        // readable now
	pending  []chunk       // written, not yet arrived (Latency)
	inFlight int
	eof      bool  // the writer closed: EOF after what is left
	gone     bool  // the reader closed: writes fail
	broken   error // Break
	stalled  bool
	rng      *rand.Rand
}

type chunk struct {
	at   time.Time
	data []byte
}

func newHalf(cfg Config, dir uint64) *half {
	return &half{cfg: cfg, notify: make(chan struct{}), rng: rand.New(rand.NewPCG(cfg.Seed, dir))}
}

// changed wakes everyone waiting on h. h.mu is held.
func (h *half) changed() {
	close(h.notify)
	h.notify = make(chan struct{})
}

func (h *half) poke() {
	h.mu.Lock()
	h.changed()
	h.mu.Unlock()
}

// arrive moves bytes whose latency has passed into the readable buffer.
func (h *half) arrive() {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.cfg.Clock.Now()
	i := 0
	for ; i < len(h.pending) && !h.pending[i].at.After(now); i++ {
		h.buf = append(h.buf, h.pending[i].data...)
	}
	if i > 0 {
		h.pending = h.pending[i:]
		h.changed()
	}
}

// Conn is one end of a Pipe. It implements net.Conn.
type Conn struct {
	cfg           Config
	in, out       *half
	peer          *Conn
	local, remote Addr

	closed    atomic.Bool
	readDL    atomic.Pointer[time.Time]
	writeDL   atomic.Pointer[time.Time]
	nRead     atomic.Int64
	nWritten  atomic.Int64
	closeOnce sync.Once
}

func (c *Conn) now() time.Time {
	if c.cfg.Clock != nil {
		return c.cfg.Clock.Now()
	}
	return time.Now()
}

func (c *Conn) passed(dl *atomic.Pointer[time.Time]) bool {
	d := dl.Load()
	return d != nil && !d.IsZero() && !c.now().Before(*d)
}

// timeoutError is a deadline's error: os.ErrDeadlineExceeded, as net does.
var timeoutError = os.ErrDeadlineExceeded

// Read reads what has arrived, at most a chunk (Config.MaxChunk), blocking
// until something arrives, the peer closes (io.EOF), the pipe breaks, or
// the read deadline passes.
func (c *Conn) Read(p []byte) (int, error) {
	h := c.in
	h.mu.Lock()
	for {
		switch {
		case c.closed.Load():
			h.mu.Unlock()
			return 0, net.ErrClosed
		case h.broken != nil:
			h.mu.Unlock()
			return 0, h.broken
		case len(h.buf) > 0 && !h.stalled:
			n := len(p)
			if c.cfg.MaxChunk > 0 {
				n = min(n, 1+h.rng.IntN(c.cfg.MaxChunk))
			}
			n = copy(p[:n], h.buf)
			h.buf = h.buf[n:]
			if len(h.buf) == 0 {
				h.buf = nil
			}
			h.inFlight -= n
			h.changed()
			h.mu.Unlock()
			c.nRead.Add(int64(n))
			return n, nil
		case h.eof && len(h.buf) == 0 && len(h.pending) == 0:
			h.mu.Unlock()
			return 0, io.EOF
		case len(p) == 0:
			h.mu.Unlock()
			return 0, nil
		case c.passed(&c.readDL):
			h.mu.Unlock()
			return 0, timeoutError
		}
		ch := h.notify
		h.mu.Unlock()
		<-ch
		h.mu.Lock()
	}
}

// Write copies p into the pipe, blocking while Config.Buffer bytes are in
// flight, until the reader drains them, the pipe closes or breaks, or the
// write deadline passes.
func (c *Conn) Write(p []byte) (int, error) {
	h := c.out
	total := 0
	h.mu.Lock()
	defer h.mu.Unlock()
	for len(p) > 0 {
		switch {
		case c.closed.Load() || h.eof:
			return total, net.ErrClosed
		case h.broken != nil:
			return total, h.broken
		case h.gone:
			return total, io.ErrClosedPipe
		case c.passed(&c.writeDL):
			return total, timeoutError
		}
		if room := c.cfg.Buffer - h.inFlight; room > 0 {
			n := min(room, len(p))
			data := append([]byte(nil), p[:n]...)
			if c.cfg.Clock != nil && c.cfg.Latency > 0 {
				h.pending = append(h.pending, chunk{at: c.cfg.Clock.Now().Add(c.cfg.Latency), data: data})
				c.cfg.Clock.AfterFunc(c.cfg.Latency, h.arrive)
			} else {
				h.buf = append(h.buf, data...)
			}
			h.inFlight += n
			h.changed()
			p = p[n:]
			total += n
			c.nWritten.Add(int64(n))
			continue
		}
		ch := h.notify
		h.mu.Unlock()
		<-ch
		h.mu.Lock()
	}
	return total, nil
}

// Close closes this end: the peer reads what was written, then io.EOF;
// its writes fail. Local reads and writes return net.ErrClosed.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.out.mu.Lock()
		c.out.eof = true
		c.out.changed()
		c.out.mu.Unlock()
		c.in.mu.Lock()
		c.in.gone = true
		c.in.buf, c.in.pending, c.in.inFlight = nil, nil, 0
		c.in.changed()
		c.in.mu.Unlock()
	})
	return nil
}

// CloseWrite half-closes: the peer reads what was written, then io.EOF;
// this end can still read.
func (c *Conn) CloseWrite() error {
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	c.out.eof = true
	c.out.changed()
	return nil
}

// Break breaks the whole pipe at once, like a TCP reset: every blocked and
// later Read and Write on both ends fails with err (ErrBroken if nil), and
// bytes not yet read are lost.
func (c *Conn) Break(err error) {
	if err == nil {
		err = ErrBroken
	}
	for _, h := range []*half{c.in, c.out} {
		h.mu.Lock()
		if h.broken == nil {
			h.broken = err
		}
		h.buf, h.pending, h.inFlight = nil, nil, 0
		h.changed()
		h.mu.Unlock()
	}
}

// Stall stops (true) or resumes (false) the arrival of bytes at this end:
// its reads block as if the network stalled, and once Config.Buffer bytes
// are in flight the peer's writes block too.
func (c *Conn) Stall(on bool) {
	c.in.mu.Lock()
	c.in.stalled = on
	c.in.changed()
	c.in.mu.Unlock()
}

// BytesRead and BytesWritten count the bytes this end has read and written.
func (c *Conn) BytesRead() int64 { return c.nRead.Load() }

// BytesWritten counts the bytes this end has written.
func (c *Conn) BytesWritten() int64 { return c.nWritten.Load() }

// LocalAddr returns this end's address.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the other end's address.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets both deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	_ = c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

// SetReadDeadline makes blocked and later reads fail with
// os.ErrDeadlineExceeded once t passes (on Config.Clock, if set); the zero
// time removes it.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.readDL.Store(&t)
	c.wakeAt(t, c.in)
	return nil
}

// SetWriteDeadline is SetReadDeadline for writes.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.writeDL.Store(&t)
	c.wakeAt(t, c.out)
	return nil
}

// wakeAt wakes h's waiters now and when t passes, so they see the deadline.
func (c *Conn) wakeAt(t time.Time, h *half) {
	h.poke()
	if t.IsZero() {
		return
	}
	d := t.Sub(c.now())
	if d <= 0 {
		return
	}
	if c.cfg.Clock != nil {
		c.cfg.Clock.AfterFunc(d, h.poke)
		return
	}
	time.AfterFunc(d, h.poke)
}
