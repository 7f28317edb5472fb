package core

import (
	"time"

	"github.com/h2proto/h2/core/frame"
)

// inputBuffer holds the bytes of a frame that straddles Receive calls. Two
// buffers alternate: events may borrow the one a completed frame was parsed
// from until the next input, while the other takes the next partial frame.
type inputBuffer struct {
	b    [2][]byte
	cur  int
	lent [2]bool
}

func (in *inputBuffer) partial() []byte { return in.b[in.cur] }

func (in *inputBuffer) setPartial(p []byte) { in.b[in.cur] = p }

// done marks the current buffer as holding a completed frame that events may
// borrow, and switches to the other one for the next partial frame.
func (in *inputBuffer) done() {
	in.lent[in.cur] = true
	in.b[in.cur] = in.b[in.cur][:0]
	in.cur = 1 - in.cur
}

// stash copies the beginning of a frame into the free buffer.
func (in *inputBuffer) stash(p []byte) {
	if in.lent[in.cur] {
		in.cur = 1 - in.cur
	}
	in.b[in.cur] = append(in.b[in.cur][:0], p...)
}

// Receive consumes bytes read from the transport and returns how many it
// consumed. It consumes fewer than len(p) while output or events are
// backed up (see WantsInput), once the connection is closing, and when
// the frames it took have queued half of Limits.MaxQueuedControlFrames
// or of Limits.MaxQueuedFrames (a yield: the peer's burst of PINGs or
// SETTINGS should be answered before more is read, so that those limits
// count only what the peer leaves unread, not what one large read holds).
// The caller keeps the rest and offers it again after draining
// PollTransmit and PollEvent; offered again without draining, Receive goes
// on, up to the limits. A frame cut short is buffered internally, so p may
// end anywhere.
//
// The error is non-nil once the connection has failed (a *ConnError, whose
// GOAWAY is queued for PollTransmit) or closed (ErrClosed). Events queued by
// Receive may borrow p: do not modify p until they are polled.
func (c *Conn) Receive(now time.Time, p []byte) (int, error) {
	if c.closing || c.closed {
		return 0, c.inputErr()
	}
	c.advance(now)
	if c.inputBlocked() {
		return 0, nil
	}
	n := 0
	frames := c.framesIn
	// Yield marks: once half a queue limit is reached within this call,
	// Receive returns so that the driver writes the frames out before it
	// offers more; the limits (checkQueues) then count only what the peer
	// leaves unread, not what one large read happens to hold (a reading
	// client's burst of 2,000 PINGs is served, as by net/http and nghttpd).
	// A driver that offers the rest without draining goes on to the limits.
	yieldControl, yieldFrames := c.cfg.Limits.MaxQueuedControlFrames/2, c.cfg.Limits.MaxQueuedFrames/2
	control0, frames0 := c.outControl, c.outFrames
	if c.role == RoleServer && c.prefaceRead < len(clientPreface) {
		m := c.readPreface(p)
		n += m
		p = p[m:]
	}
	if len(p) > 0 && len(c.in.partial()) > 0 && !c.closing {
		m := c.completePartial(p)
		n += m
		p = p[m:]
	}
	for len(p) > 0 && !c.closing && len(c.in.partial()) == 0 && !c.inputBlocked() {
		var m int
		var err error
		c.fr, m, err = frame.Parse(p, c.recvMaxFrame)
		if err == frame.ErrNeedMore {
			c.in.stash(p)
			n += len(p)
			break
		}
		if err == frame.ErrFrameTooLarge {
			c.connError(frame.ErrFrameTooLarge)
			break
		}
		c.onFrame(&c.fr, err)
		c.checkQueues()
		n += m
		p = p[m:]
		if control0 < yieldControl && c.outControl >= yieldControl || frames0 < yieldFrames && c.outFrames >= yieldFrames {
			break
		}
	}
	if c.framesIn != frames && !c.closing {
		// Any frame proves the peer alive (keep-alive, Timeouts.KeepAlive).
		c.lastRecv = c.now
		c.keepAlive = false
		c.setTimer(timerKeepAlive, c.cfg.Timeouts.KeepAlive)
	}
	return n, c.inputErr()
}

func (c *Conn) inputErr() error {
	if c.err != nil {
		return c.err
	}
	if c.closing || c.closed {
		return ErrClosed
	}
	return nil
}

// advance starts an input: it moves the clock and ends the loans of the
// previous input, copying the borrowed slices of events still queued so
// that skipping a drain costs a copy, never correctness.
func (c *Conn) advance(now time.Time) {
	if now.After(c.now) {
		c.now = now
	}
	if c.resets.undated > 0 { // resets made by commands since the last input
		c.resets.stamp(c.now.Add(c.cfg.Timeouts.ResetGrace))
	}
	copied := 0 // Memory's Events part: every queued event now owns copies
	for i := 0; i < c.events.n; i++ {
		e := c.events.at(i)
		if e.Headers != nil {
			e.Headers = append([]HeaderField(nil), e.Headers...)
		}
		if e.Data != nil {
			e.Data = append([]byte(nil), e.Data...)
		}
		copied += eventBytes(e)
	}
	c.mem.eventCopied, c.mem.eventBytes = c.events.n, copied
	if c.hb.active {
		k := copy(c.hdrs, c.hdrs[c.hb.start:])
		c.hdrs, c.hb.start = c.hdrs[:k], 0
	} else {
		c.hdrs = c.hdrs[:0]
		if cap(c.hdrs) > retainedFields {
			c.hdrs = nil // a burst of field blocks is over: give the slots back
		}
	}
	c.in.lent = [2]bool{}
}

// readPreface matches the client connection preface (RFC 9113 §3.4), which
// may arrive in pieces.
func (c *Conn) readPreface(p []byte) int {
	n := 0
	for n < len(p) && c.prefaceRead < len(clientPreface) {
		if p[n] != clientPreface[c.prefaceRead] {
			c.connError(errBadPreface)
			return n
		}
		c.prefaceRead++
		n++
	}
	return n
}

// completePartial adds bytes to a buffered partial frame and processes the
// frame once it is whole.
func (c *Conn) completePartial(p []byte) int {
	buf := c.in.partial()
	taken := 0
	if len(buf) < frame.HeaderLen {
		k := min(frame.HeaderLen-len(buf), len(p))
		buf = append(buf, p[:k]...)
		taken, p = k, p[k:]
		if len(buf) < frame.HeaderLen {
			c.in.setPartial(buf)
			return taken
		}
	}
	h, _ := frame.ParseHeader(buf)
	if h.Length > c.recvMaxFrame {
		c.connError(frame.ErrFrameTooLarge)
		return taken
	}
	need := frame.HeaderLen + int(h.Length) - len(buf)
	k := min(need, len(p))
	buf = append(buf, p[:k]...)
	taken += k
	c.in.setPartial(buf)
	if k < need {
		return taken
	}
	var err error
	c.fr, _, err = frame.Parse(buf, c.recvMaxFrame)
	c.in.done()
	c.onFrame(&c.fr, err)
	c.checkQueues()
	return taken
}

// frameHandlers is the core's dispatch table, indexed by frame type.
var frameHandlers = [...]func(*Conn, *frame.Frame){
	frame.TypeData:         (*Conn).onData,
	frame.TypeHeaders:      (*Conn).onHeaders,
	frame.TypePriority:     (*Conn).onPriority,
	frame.TypeRSTStream:    (*Conn).onRSTStream,
	frame.TypeSettings:     (*Conn).onSettings,
	frame.TypePushPromise:  (*Conn).onPushPromise,
	frame.TypePing:         (*Conn).onPing,
	frame.TypeGoAway:       (*Conn).onGoAway,
	frame.TypeWindowUpdate: (*Conn).onWindowUpdate,
	frame.TypeContinuation: (*Conn).onContinuation,
}

// onFrame handles one parsed frame; ferr is its parse error, if any.
func (c *Conn) onFrame(f *frame.Frame, ferr error) {
	c.framesIn++
	if c.hb.active && (f.Type != frame.TypeContinuation || f.StreamID != c.hb.streamID) {
		// "A receiver MUST treat the receipt of any other type of frame or a
		// frame on a different stream as a connection error of type
		// PROTOCOL_ERROR" (RFC 9113 §6.10).
		c.connError(errHeaderBlockBroken)
		return
	}
	if !c.gotPreface && (f.Type != frame.TypeSettings || f.Flags.Has(frame.FlagSettingsAck)) {
		// "The server connection preface consists of a potentially empty
		// SETTINGS frame ... that MUST be the first frame" (RFC 9113 §3.4).
		c.connError(errFirstNotSettings)
		return
	}
	if ferr != nil {
		fe := ferr.(*frame.Error)
		switch {
		case !fe.Stream:
			c.connError(fe)
		case f.Type == frame.TypeHeaders:
			c.onHeadersError(f, fe)
		default:
			c.peerStreamError(f.StreamID, fe)
		}
		return
	}
	if f.Type.Known() {
		frameHandlers[f.Type](c, f)
		return
	}
	// Unknown frame types are ignored (RFC 9113 §5.5) but charged to the
	// glitch budget: a flood of them is work for nothing.
	c.glitch()
}
