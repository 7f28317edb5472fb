package h2gnet

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/h2proto/h2/core"
)

// conn is one connection: a core.Conn and the gnet.Conn it is driven
// over. All fields but those under mu are touched only on the loop.
type conn struct {
	srv  *Server
	loop *loop
	gc   gnet.Conn
	core *core.Conn
	idx  int // in loop.conns

	closed    bool  // the transport is gone (OnClose ran)
	blocked   bool  // gnet's outbound buffer is over Server.MaxWriteBuffer
	polled    bool  // blocked and in loop.blocked (no writeWatcher)
	watchFd   int32 // duplicate descriptor in the writeWatcher, or -1
	lingering bool  // final GOAWAY written and write side shut down

	// Deadlines: the core's (PollTimeout), and the adapter's own, zero
	// when not running: closeBy (Server.CloseTimeout, from PhaseClosing),
	// stallBy (Server.WriteTimeout, while blocked), lingerBy
	// (Server.Linger, while lingering). deadline is the earliest.
	coreAt      time.Time
	hasCore     bool
	closeBy     time.Time
	stallBy     time.Time
	lingerBy    time.Time
	deadline    time.Time
	hasDeadline bool
	heapAt      time.Time // the conn's key in loop.deadlines
	hpos        int       // its index there + 1; 0 when not in it

	ev      core.Event // the event being dispatched (a field: no escape per event)
	req     Request    // the request whose ServeH2 runs
	curID   uint32     // that request's stream, 0 outside ServeH2
	streams map[uint32]*streamState
	free    []*streamState
	hdr     []HeaderField // scratch for WriteHeaders

	// Commands queued by Detached handles from other goroutines.
	opsPending  atomic.Bool
	mu          sync.Mutex
	ops, spare  []op
	wakePending bool
	dead        bool // closed: no more ops accepted
}

// pump drives the core after any input (bytes, a timer, a command): it
// applies queued commands, feeds input while the core takes it, dispatches
// events, and writes output while gnet's buffer has room, until nothing
// moves. It reports whether the transport must be closed now.
func (c *conn) pump(now time.Time) bool {
	if c.closed {
		return true
	}
	if c.lingering {
		// Detached calls still get their answers (errors) at once.
		if c.opsPending.Load() {
			c.applyOps()
		}
		_, _ = c.gc.Discard(-1)
		return false
	}
	l := c.loop
	maxOut := c.srv.maxWriteBuffer()
	out := l.out[:0]
	for {
		progress := false
		if c.opsPending.Load() {
			c.applyOps()
			progress = true
		}
		if c.gc.InboundBuffered() > 0 {
			if c.core.Phase() >= core.PhaseClosing {
				_, _ = c.gc.Discard(-1)
			} else if c.core.WantsInput() {
				buf, _ := c.gc.Peek(-1)
				n, _ := c.core.Receive(now, buf)
				// Events may borrow buf: dispatch them before discarding.
				c.dispatch()
				_, _ = c.gc.Discard(n)
				progress = progress || n > 0
			}
		}
		c.dispatch()
		for !c.blocked && c.core.WantsOutput() {
			// Hand the output over in chunks, and stop before gnet's buffer
			// passes maxOut by more than one PollTransmit's output.
			if len(out) >= outChunk || c.gc.OutboundBuffered()+len(out) >= maxOut {
				if len(out) > 0 {
					if !c.write(out) {
						return true
					}
					out = l.keep(out)
				}
				if c.gc.OutboundBuffered() >= maxOut {
					l.block(c, now)
					break
				}
			}
			n := len(out)
			out = c.core.PollTransmit(out)
			c.dispatch()
			if len(out) == n {
				break
			}
			progress = true
		}
		if !progress {
			break
		}
	}
	if len(out) > 0 && !c.write(out) {
		return true
	}
	l.keep(out)
	if c.closed {
		return true
	}
	if !c.blocked && c.gc.OutboundBuffered() >= maxOut {
		l.block(c, now)
	}
	phase := c.core.Phase()
	if phase >= core.PhaseClosing && c.closeBy.IsZero() {
		// The session is over: what is left to write gets CloseTimeout,
		// however little the peer reads.
		c.closeBy = now.Add(c.srv.closeTimeout())
	}
	if phase == core.PhaseClosed {
		if c.gc.OutboundBuffered() == 0 {
			return !c.startLinger(now)
		}
		if !c.blocked {
			l.block(c, now)
		}
	} else if !c.core.WantsInput() && c.gc.InboundBuffered() > c.srv.maxReadBuffer() {
		// The peer keeps sending while not reading our answers.
		return true
	}
	c.coreAt, c.hasCore = c.core.PollTimeout()
	c.schedule()
	return false
}

// schedule computes the connection's next deadline and tells the loop.
func (c *conn) schedule() {
	var t time.Time
	if c.hasCore && !c.lingering {
		t = c.coreAt
	}
	t = earliest(t, c.closeBy)
	t = earliest(t, c.stallBy)
	if c.lingering {
		t = earliest(t, c.lingerBy)
	}
	c.deadline, c.hasDeadline = t, !t.IsZero()
	if c.hasDeadline {
		c.loop.schedule(c, t)
	}
}

// earliest returns the earlier of a and b, a zero time meaning "none".
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// passed reports whether deadline t is set and not after now.
func passed(t, now time.Time) bool {
	return !t.IsZero() && !now.Before(t)
}

// write hands p to gnet, which writes what the socket takes and keeps the
// rest. It reports false if the transport failed (gnet then closed it).
func (c *conn) write(p []byte) bool {
	_, err := c.gc.Write(p)
	return err == nil && !c.closed
}

// retryWrite is the write poll of a blocked connection (loop timer).
func (c *conn) retryWrite(now time.Time) {
	if c.closed || !c.blocked {
		return
	}
	if err := c.gc.Flush(); err != nil || c.closed {
		return
	}
	ob := c.gc.OutboundBuffered()
	if ob > c.srv.maxWriteBuffer()/2 || (ob > 0 && c.core.Phase() == core.PhaseClosed) {
		c.loop.wait(c, now) // still full
		return
	}
	c.loop.unblock(c)
	if c.pump(now) {
		_ = c.gc.Close()
	}
}

// writable is the writeWatcher's notification, on the loop.
func (c *conn) writable() {
	c.srv.testWritable.Add(1)
	if !c.closed && c.blocked {
		c.retryWrite(time.Now())
	}
}

// timeout handles the connection's heap entry coming due (loop timer).
func (c *conn) timeout(now time.Time) {
	if c.closed {
		return
	}
	if !c.hasDeadline || now.Before(c.deadline) {
		// The entry was for an earlier deadline that has since moved.
		if c.hasDeadline {
			c.loop.schedule(c, c.deadline)
		}
		return
	}
	if passed(c.closeBy, now) || passed(c.stallBy, now) || (c.lingering && passed(c.lingerBy, now)) {
		// The peer has had its time to read what is left (CloseTimeout,
		// WriteTimeout) or to close (Linger): close, whatever is buffered.
		c.hasDeadline = false
		_ = c.gc.Close()
		return
	}
	if c.lingering || !c.hasCore || now.Before(c.coreAt) {
		c.schedule()
		return
	}
	c.core.HandleTimeout(now)
	if c.pump(now) {
		c.hasDeadline = false
		_ = c.gc.Close()
	}
}

// goAway starts a graceful shutdown of the connection (Server.Shutdown).
func (c *conn) goAway(now time.Time) {
	if c.closed || c.lingering {
		return
	}
	_ = c.core.GoAway(now)
	if c.pump(now) {
		_ = c.gc.Close()
	}
}

// startLinger begins the end of a connection whose session is over and
// whose output is all written: shut down the write side, then drop input
// until the peer closes or Server.Linger passes. It reports false if the
// transport cannot half-close (close it now).
func (c *conn) startLinger(now time.Time) bool {
	if !shutdownWrite(c.gc) {
		return false
	}
	c.lingering = true
	_, _ = c.gc.Discard(-1)
	c.lingerBy = now.Add(c.srv.linger())
	c.schedule()
	return true
}

// transportClosed is OnClose: the socket is gone. Every stream ends (their
// terminal events reach their callbacks and Detached handles) and queued
// commands fail.
func (c *conn) transportClosed(now time.Time, err error) {
	c.closed = true
	if w := c.srv.watcher; w != nil {
		w.forget(c)
	}
	c.core.HandleTransportClosed(now, err)
	c.dispatch()
	c.mu.Lock()
	c.dead = true
	ops := c.ops
	c.ops = nil
	c.mu.Unlock()
	for i := range ops {
		ops[i].fail(ErrConnClosed)
	}
	for id, st := range c.streams {
		if st.det != nil {
			st.det.ended(ErrConnClosed)
		}
		delete(c.streams, id)
	}
	c.loop.remove(c)
}

// dispatch polls the core's events and routes them until none is left.
func (c *conn) dispatch() {
	for {
		var ok bool
		if c.ev, ok = c.core.PollEvent(); !ok {
			return
		}
		e := &c.ev
		switch e.Kind {
		case core.EventRequest:
			c.serve(e)
		case core.EventData, core.EventTrailers, core.EventWritable,
			core.EventStreamClosed, core.EventStreamReset:
			c.streamEvent(e)
		}
	}
}
