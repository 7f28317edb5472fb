package core

import (
	"github.com/h2proto/h2/core/frame"
)

// peerParity reports whether id is of the kind the peer initiates: odd for
// a client peer, even for a server peer (RFC 9113 §5.1.1).
func (c *Conn) peerParity(id uint32) bool {
	return (id%2 == 1) == (c.role == RoleServer)
}

// isIdle reports whether id names a stream neither side has opened yet
// (RFC 9113 §5.1 "idle"). A new stream implicitly closes idle streams with
// lower identifiers (RFC 9113 §5.1.1), so only identifiers above the highest
// used are idle.
func (c *Conn) isIdle(id uint32) bool {
	if id == 0 {
		return false
	}
	if c.peerParity(id) {
		return id > c.lastPeerID
	}
	return id >= c.nextLocalID
}

// newStream creates and tracks a stream record in state open.
func (c *Conn) newStream(id uint32, local bool) *stream {
	var s *stream
	if n := len(c.free); n > 0 {
		s = c.free[n-1]
		c.free = c.free[:n-1]
	} else {
		s = &stream{}
	}
	s.id, s.local, s.state = id, local, StateOpen
	s.recvCL, s.sendCL = -1, -1
	s.in.init(int64(c.local.acked.InitialWindowSize), int64(c.local.acked.InitialWindowSize))
	s.out.avail = int64(c.peer.InitialWindowSize)
	c.streams[id] = s
	c.all.push(s)
	if local {
		c.activeLocal++
	} else {
		c.activePeer++
	}
	c.updateIdle()
	return s
}

// closeReason says how a stream ended.
type closeReason struct {
	reset     bool // abnormally, with RST_STREAM (sent or received) or GOAWAY
	remote    bool // the peer ended it
	code      ErrCode
	token     string
	retryable bool
	err       error // the connection ended
	released  bool  // the application ended it (a command), so it releases its hold
}

// closeStream moves s to closed, emits its terminal event and releases what
// it holds. Server streams surfaced to the application stay tracked while
// the application holds them (DESIGN §5): only a normal end or the
// application's own reset releases them implicitly.
func (c *Conn) closeStream(s *stream, why closeReason) {
	if s.state == StateClosed {
		return
	}
	if s.state != StateIdle {
		if s.local {
			c.activeLocal--
		} else {
			c.activePeer--
		}
	}
	s.state = StateClosed
	c.sched.remove(s)
	c.sendBuffered -= s.buffered()
	s.buf, s.off, s.endQueued, s.trailers = s.buf[:0], 0, false, nil
	if cap(s.buf) > recycledBufferCap {
		c.setSendBuf(s, nil) // nothing more will be sent
	}
	// Bytes received and never consumed go back to the connection window,
	// so a closed stream cannot keep it shut.
	if back := s.unconsumed + int64(len(s.pendData)); back > 0 && why.err == nil {
		c.returnConnCredit(back)
	}
	c.mem.pending -= cap(s.pendData)
	s.unconsumed, s.pendData = 0, nil
	if why.reset && !why.remote && why.err == nil {
		s.resetByUs = true
		// A command (why.released) takes no time: c.now is the time of the
		// last input, which may be long past (up to Timeouts.KeepAlive, or
		// more with keep-alive off), and the grace would have run out
		// already. Such a reset is dated by the next input instead. (The
		// idle timer is still dated from the last input, so it may fire
		// early by as much.)
		c.resets.add(s.id, c.now.Add(c.cfg.Timeouts.ResetGrace), c.cfg.Limits.MaxResetStreams, why.released)
	}
	c.rememberClosed(s.id)
	if s.pending {
		s.pending = false
		c.pending.remove(s.id)
	}
	if s.surfaced {
		if why.reset {
			c.emit(Event{Kind: EventStreamReset, StreamID: s.id, Code: why.code, Remote: why.remote,
				Retryable: why.retryable, Token: why.token, Err: why.err})
		} else {
			c.emit(Event{Kind: EventStreamClosed, StreamID: s.id})
		}
	}
	if s.held && (!why.reset || why.released) {
		c.release(s)
	}
	if !s.held {
		c.forget(s)
	}
	c.maybeFinish()
}

// release ends the application's hold on a server stream and surfaces the
// next pending one.
func (c *Conn) release(s *stream) {
	if !s.held {
		return
	}
	s.held = false
	s.blocked = false
	c.held--
	c.surfacePending()
}

// surfacePending announces waiting server streams while the application
// holds fewer than the concurrency limit.
func (c *Conn) surfacePending() {
	for c.held < int(c.recvMaxConc) && !c.closing {
		id, ok := c.pending.pop()
		if !ok {
			break
		}
		p := c.streams[id]
		if p == nil || !p.pending {
			continue
		}
		c.replay(p)
	}
}

// replay surfaces a pending server stream with what it received meanwhile.
func (c *Conn) replay(s *stream) {
	s.pending = false
	fields, data, trailers := s.pendHeaders, s.pendData, s.pendTrailers
	c.mem.pending -= pendingBytes(s) // handed to events
	s.pendHeaders, s.pendData, s.pendTrailers = nil, nil, nil
	ended := s.pendEnd
	s.surfaced, s.held = true, true
	c.held++
	c.emit(Event{Kind: EventRequest, StreamID: s.id, Headers: fields, EndStream: ended && len(data) == 0 && trailers == nil})
	if len(data) > 0 {
		c.emit(Event{Kind: EventData, StreamID: s.id, Data: data, EndStream: ended && trailers == nil})
	}
	if trailers != nil {
		c.emit(Event{Kind: EventTrailers, StreamID: s.id, Headers: trailers, EndStream: true})
	}
	// Credit last: it queues frames, after every event of s is out.
	if s.manual {
		s.unconsumed += int64(len(data))
	} else if len(data) > 0 {
		c.credit(s, int64(len(data)))
	}
}

// forget drops a closed, unheld stream record and recycles it.
func (c *Conn) forget(s *stream) {
	if c.streams[s.id] != s {
		return
	}
	delete(c.streams, s.id)
	c.all.remove(s)
	c.mem.pending -= pendingBytes(s)
	if cap(s.buf) > recycledBufferCap {
		c.setSendBuf(s, nil)
	}
	s.reset()
	if len(c.free) < 16 {
		c.free = append(c.free, s)
	} else {
		c.mem.sendCap -= cap(s.buf) // dropped with the record
	}
	c.updateIdle()
}

// rememberClosed notes a recently closed stream, so that HEADERS on it is
// reported as STREAM_CLOSED rather than as a stream-ID violation.
func (c *Conn) rememberClosed(id uint32) {
	c.recentClosed[c.recentNext] = id
	c.recentNext = (c.recentNext + 1) % len(c.recentClosed)
}

func (c *Conn) recentlyClosed(id uint32) bool {
	for _, r := range c.recentClosed {
		if r == id {
			return true
		}
	}
	return false
}

// chargeProvoked counts a reset the peer made us send (MadeYouReset,
// CVE-2025-8671), reporting false if that closed the connection.
func (c *Conn) chargeProvoked() bool {
	c.forcedResets++
	if c.forcedResets > c.cfg.Limits.MaxForcedResets {
		c.abuse(AbuseForcedResets)
		return false
	}
	c.glitch()
	return !c.closing
}

// peerStreamError handles a stream error caused by the peer (RFC 9113
// §5.4.2): RST_STREAM with the error's code. A stream error on an idle stream
// cannot be answered with RST_STREAM (RFC 9113 §6.4) and becomes a
// connection error; one on a stream already closed is only charged to the
// glitch budget.
func (c *Conn) peerStreamError(id uint32, e *frame.Error) {
	s := c.streams[id]
	if s == nil || s.state == StateClosed {
		if s == nil && c.isIdle(id) {
			c.connError(&frame.Error{Code: e.Code, Token: e.Token, Section: e.Section})
			return
		}
		// The stream is already closed and "an endpoint MUST NOT send frames
		// other than PRIORITY on a closed stream" (RFC 9113 §5.1): nothing
		// to reset. A frame of the wrong length (a PRIORITY frame not 5
		// octets long, §6.3) shows broken framing, and the error it calls
		// for must reach the peer, so it becomes a connection error (any
		// endpoint may end a connection, §5.4). Other mistakes only cost
		// the peer glitch budget.
		if e.Code == frame.ErrCodeFrameSize {
			c.connError(&frame.Error{Code: e.Code, Token: e.Token, Section: e.Section})
			return
		}
		c.glitch()
		return
	}
	if !c.chargeProvoked() {
		return
	}
	c.queueRST(id, e.Code)
	c.closeStream(s, closeReason{reset: true, code: e.Code, token: e.Token})
}

// maybeFinish starts closing once no stream is left after a GOAWAY, in
// either direction. A field block still arriving counts as a stream: its
// HEADERS opened one (RFC 9113 §5.1) that our final GOAWAY's last stream
// ID covers, and Timeouts.HeaderBlock bounds the wait.
func (c *Conn) maybeFinish() {
	if c.closing || c.activeLocal+c.activePeer > 0 || c.pending.len() > 0 || c.hb.active {
		return
	}
	if c.goAway.sent == 2 || c.goAway.recv {
		c.closeWith(nil)
	}
}
