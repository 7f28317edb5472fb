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

	closed      bool  // the transport is gone (OnClose ran)
	blocked     bool  // gnet's outbound buffer is over Server.MaxWriteBuffer
	polled      bool  // blocked and in loop.blocked (no writeWatcher)
	watchFd     int32 // duplicate descriptor in the writeWatcher, or -1
	lingering   bool  // final GOAWAY written and write side shut down
	deadline    time.Time
	hasDeadline bool

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
			if len(out) >= outChunk {
				if !c.write(out) {
					return true
				}
				out = l.keep(out)
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
	if c.core.Phase() == core.PhaseClosed {
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
	c.deadline, c.hasDeadline = c.core.PollTimeout()
	if c.hasDeadline {
		l.noteDeadline(c.deadline)
	}
	return false
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

// timeout handles the connection's deadline passing (loop timer).
func (c *conn) timeout(now time.Time) {
	if c.closed {
		return
	}
	if c.lingering {
		c.hasDeadline = false
		_ = c.gc.Close()
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
	c.deadline, c.hasDeadline = now.Add(c.srv.linger()), true
	c.loop.noteDeadline(c.deadline)
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
