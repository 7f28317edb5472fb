package h2gnet

import (
	"context"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// loop is the adapter's state for one gnet event loop. Everything in it is
// touched only on that loop, except el (immutable) used by the timer's
// callback to post work back onto the loop.
type loop struct {
	srv   *Server
	el    gnet.EventLoop
	conns []*conn // every open connection, each knowing its index
	out   []byte  // PollTransmit's buffer, shared by the loop's connections

	// The one timer: armed for the earliest of the connections' core
	// deadlines (deadlineAt, a lower bound recomputed by each scan) and,
	// while some connection is blocked on a full outbound buffer, the next
	// write poll.
	timer      *time.Timer
	timerAt    time.Time // zero when not armed
	deadlineAt time.Time // zero when no connection has a deadline
	blocked    []*conn   // blocked connections polled by the timer
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
	last := len(l.conns) - 1
	if c.idx < 0 || c.idx > last || l.conns[c.idx] != c {
		return
	}
	l.conns[c.idx] = l.conns[last]
	l.conns[c.idx].idx = c.idx
	l.conns[last] = nil
	l.conns = l.conns[:last]
	c.idx = -1
	if c.blocked {
		l.unblock(c)
	}
}

// arm makes the timer fire at t at the latest.
func (l *loop) arm(t time.Time) {
	if !l.timerAt.IsZero() && !t.Before(l.timerAt) {
		return
	}
	l.timerAt = t
	l.timer.Reset(time.Until(t))
}

// noteDeadline records a connection's deadline.
func (l *loop) noteDeadline(t time.Time) {
	if l.deadlineAt.IsZero() || t.Before(l.deadlineAt) {
		l.deadlineAt = t
	}
	l.arm(t)
}

// block stops c taking output until its outbound buffer drains.
func (l *loop) block(c *conn, now time.Time) {
	c.blocked = true
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

func (l *loop) unblock(c *conn) {
	c.blocked = false
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
	if !l.deadlineAt.IsZero() && !now.Before(l.deadlineAt) {
		l.deadlineAt = time.Time{}
		for i := 0; i < len(l.conns); {
			c := l.conns[i]
			if c.hasDeadline && !now.Before(c.deadline) {
				c.timeout(now)
			}
			if i < len(l.conns) && l.conns[i] != c {
				continue // c closed; another connection moved to i
			}
			if c.hasDeadline && (l.deadlineAt.IsZero() || c.deadline.Before(l.deadlineAt)) {
				l.deadlineAt = c.deadline
			}
			i++
		}
	}
	if !l.deadlineAt.IsZero() {
		l.arm(l.deadlineAt)
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
