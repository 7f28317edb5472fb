package h2gnet

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// loop is the adapter's state for one gnet event loop. Everything in it is
// touched only on that loop, except el (immutable) used by the timer's
// callback to post work back onto the loop, and gid and inCallback, read by
// Detached calls to refuse being made on the loop (see onLoop).
type loop struct {
	srv   *Server
	el    gnet.EventLoop
	conns []*conn // every open connection, each knowing its index
	out   []byte  // PollTransmit's buffer, shared by the loop's connections

	// The one timer: armed for the earliest entry of the deadline heap
	// and, while some connection is blocked on a full outbound buffer
	// without a write watcher, the next write poll.
	timer   *time.Timer
	timerAt time.Time // zero when not armed
	// deadlines is a min-heap of the connections with a deadline, ordered
	// by conn.heapAt, a lower bound of the connection's deadline: a
	// deadline that moves later leaves the entry alone (the entry fires
	// early, and the connection is put back with its real deadline), one
	// that moves earlier sifts it up. A firing therefore costs O(log n)
	// per due connection, never a scan of the loop's connections.
	deadlines []*conn
	due       []*conn // scratch for Run
	blocked   []*conn // blocked connections polled by the timer

	// gid is the loop goroutine's ID, recorded by the first handler call;
	// inCallback is true while handler code runs on the loop.
	gid        uint64
	inCallback atomic.Bool
}

// outChunk is the amount of output gathered before it is handed to gnet:
// big enough to fill a socket write, small enough to stay in cache.
const outChunk = 64 << 10

func newLoop(srv *Server, el gnet.EventLoop) *loop {
	l := &loop{srv: srv, el: el, out: make([]byte, 0, outChunk+16<<10)}
	l.timer = time.AfterFunc(time.Hour, func() {
		_ = el.Execute(context.Background(), l)
	})
	l.timer.Stop()
	return l
}

// maxKeptOut bounds the output buffer a loop keeps between rounds: one
// PollTransmit can append a frame per stream, far past outChunk, and a
// buffer grown that far once is reused rather than reallocated, up to this.
const maxKeptOut = 1 << 20

// keep takes back the output buffer (grown by append) after its bytes were
// handed to gnet, and returns it emptied.
func (l *loop) keep(out []byte) []byte {
	if cap(out) > cap(l.out) && cap(out) <= maxKeptOut {
		l.out = out[:0]
	}
	return l.out[:0]
}

func (l *loop) add(c *conn) {
	c.idx = len(l.conns)
	l.conns = append(l.conns, c)
}

func (l *loop) remove(c *conn) {
	l.unschedule(c)
	if c.blocked {
		l.unblock(c)
	}
	last := len(l.conns) - 1
	if c.idx < 0 || c.idx > last || l.conns[c.idx] != c {
		return
	}
	l.conns[c.idx] = l.conns[last]
	l.conns[c.idx].idx = c.idx
	l.conns[last] = nil
	l.conns = l.conns[:last]
	c.idx = -1
}

// arm makes the timer fire at t at the latest.
func (l *loop) arm(t time.Time) {
	if !l.timerAt.IsZero() && !t.Before(l.timerAt) {
		return
	}
	l.timerAt = t
	if l.timer != nil {
		l.timer.Reset(time.Until(t))
	}
}

// onLoop reports whether the calling goroutine is this loop running
// handler code: a Detached call made there would wait for the loop, which
// waits for the call. Only a caller that finds the loop inside a callback
// pays for reading its goroutine ID.
func (l *loop) onLoop() bool {
	return l.inCallback.Load() && goid() == l.gid
}

// schedule makes the loop call c.timeout at t at the latest.
func (l *loop) schedule(c *conn, t time.Time) {
	if c.hpos > 0 {
		if !t.Before(c.heapAt) {
			return // the entry fires first; timeout puts c back
		}
		c.heapAt = t
		l.up(c.hpos - 1)
	} else {
		c.heapAt = t
		l.deadlines = append(l.deadlines, c)
		c.hpos = len(l.deadlines)
		l.up(c.hpos - 1)
	}
	l.arm(t)
}

// unschedule takes c out of the deadline heap (it closed).
func (l *loop) unschedule(c *conn) {
	if c.hpos == 0 {
		return
	}
	i, last := c.hpos-1, len(l.deadlines)-1
	c.hpos = 0
	if i != last {
		l.deadlines[i] = l.deadlines[last]
		l.deadlines[i].hpos = i + 1
	}
	l.deadlines[last] = nil
	l.deadlines = l.deadlines[:last]
	if i < last {
		l.down(i)
		l.up(i)
	}
}

// popDue takes the connections whose heap entry is due at now off the
// heap, appending them to dst.
func (l *loop) popDue(now time.Time, dst []*conn) []*conn {
	for len(l.deadlines) > 0 {
		c := l.deadlines[0]
		if now.Before(c.heapAt) {
			break
		}
		l.unschedule(c)
		dst = append(dst, c)
	}
	return dst
}

func (l *loop) less(i, j int) bool {
	return l.deadlines[i].heapAt.Before(l.deadlines[j].heapAt)
}

func (l *loop) swap(i, j int) {
	h := l.deadlines
	h[i], h[j] = h[j], h[i]
	h[i].hpos, h[j].hpos = i+1, j+1
}

func (l *loop) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !l.less(i, p) {
			return
		}
		l.swap(i, p)
		i = p
	}
}

func (l *loop) down(i int) {
	n := len(l.deadlines)
	for {
		m := i
		if a := 2*i + 1; a < n && l.less(a, m) {
			m = a
		}
		if b := 2*i + 2; b < n && l.less(b, m) {
			m = b
		}
		if m == i {
			return
		}
		l.swap(i, m)
		i = m
	}
}

// block stops c taking output until its outbound buffer drains, and starts
// its Server.WriteTimeout.
func (l *loop) block(c *conn, now time.Time) {
	c.blocked = true
	if c.stallBy.IsZero() {
		c.stallBy = now.Add(l.srv.writeTimeout())
	}
	if h := l.srv.testHookBlocked; h != nil {
		h(c.gc.OutboundBuffered())
	}
	l.wait(c, now)
}

// wait arranges for c.retryWrite to run when the socket may take more:
// on writability (Linux, writeWatcher), else at the next write poll.
func (l *loop) wait(c *conn, now time.Time) {
	if w := l.srv.watcher; w != nil && w.watch(c) {
		return
	}
	if !c.polled {
		c.polled = true
		l.blocked = append(l.blocked, c)
	}
	l.arm(now.Add(l.srv.writePoll()))
}

// unblock lets c take output again: its write timeout stops and its
// descriptor leaves the write watcher.
func (l *loop) unblock(c *conn) {
	c.blocked = false
	c.stallBy = time.Time{}
	if w := l.srv.watcher; w != nil {
		w.forget(c)
	}
	if !c.polled {
		return
	}
	c.polled = false
	for i, b := range l.blocked {
		if b == c {
			l.blocked = append(l.blocked[:i], l.blocked[i+1:]...)
			return
		}
	}
}

// Run is the timer firing, on the loop (gnet.Runnable).
func (l *loop) Run(context.Context) error {
	l.timerAt = time.Time{}
	now := time.Now()
	if len(l.blocked) > 0 {
		// Copy: a connection may close (and leave the list) meanwhile.
		bl := append([]*conn(nil), l.blocked...)
		for _, c := range bl {
			c.retryWrite(now)
		}
	}
	l.due = l.popDue(now, l.due[:0])
	for i, c := range l.due {
		l.due[i] = nil
		c.timeout(now)
	}
	if len(l.deadlines) > 0 {
		l.arm(l.deadlines[0].heapAt)
	}
	if len(l.blocked) > 0 {
		l.arm(now.Add(l.srv.writePoll()))
	}
	return nil
}

// goAwayAll starts a graceful shutdown of every connection (Server.Shutdown).
func (l *loop) goAwayAll() {
	now := time.Now()
	for _, c := range append([]*conn(nil), l.conns...) {
		c.goAway(now)
	}
}
