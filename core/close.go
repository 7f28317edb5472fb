package core

import (
	"time"

	"github.com/h2proto/h2/core/frame"
)

// connError ends the connection because of a connection error (RFC 9113
// §5.4.1) we detected: GOAWAY with the error's code, its token as debug data,
// and the highest peer stream we may have processed; every stream gets its
// terminal event.
func (c *Conn) connError(e *frame.Error) {
	if c.closing {
		return
	}
	c.err = &ConnError{Code: e.Code, Token: e.Token, Reason: e.Section}
	c.queueGoAway(c.lastPeerID, e.Code, e.Token)
	c.beginClosing()
	c.endStreams(c.err, e.Code)
}

// closeWith closes the connection cleanly: GOAWAY(NO_ERROR) unless our final
// GOAWAY is already out, then drain. A non-nil why (a timeout) is recorded
// as the connection's Err.
func (c *Conn) closeWith(why *frame.Error) {
	if c.closing {
		return
	}
	if why != nil {
		c.err = &ConnError{Code: why.Code, Token: why.Token, Reason: why.Section}
	}
	if c.goAway.sent < 2 {
		debug := ""
		if why != nil {
			debug = why.Token
		}
		c.queueGoAway(c.lastPeerID, frame.ErrCodeNo, debug)
	}
	var err error
	if c.err != nil {
		err = c.err
	}
	c.beginClosing()
	c.endStreams(err, frame.ErrCodeCancel)
}

// endStreams gives every stream still tracked its terminal event and drops
// it: the connection is going away.
func (c *Conn) endStreams(err error, code ErrCode) {
	if err == nil {
		err = ErrClosed
	}
	for s := c.all.head; s != nil; {
		next := s.allNext
		s.held = false // the connection, not the application, ends it
		if s.state == StateClosed {
			c.forget(s) // held after a reset; its terminal event is out
		} else {
			c.closeStream(s, closeReason{reset: true, code: code, token: "connection_closed", err: err})
		}
		s = next
	}
	c.held = 0
	c.pending.clear()
	c.writeBlocked = c.writeBlocked[:0]
}

func (c *Conn) beginClosing() {
	c.closing = true
	c.hb.active = false
	for t := range c.timers {
		c.timers[t] = time.Time{}
	}
}

// Close ends the connection now: GOAWAY with code and debug data (RFC 9113
// §6.8), every stream reset. Use GoAway for a graceful shutdown. Close after
// the connection closed is a no-op.
func (c *Conn) Close(now time.Time, code ErrCode, debug string) {
	if c.closing || c.closed {
		return
	}
	c.advanceCommand(now)
	if code != frame.ErrCodeNo {
		c.err = &ConnError{Code: code, Token: "local_close", Reason: debug}
	}
	c.queueGoAway(c.lastPeerID, code, debug)
	streamCode := code
	if code == frame.ErrCodeNo {
		streamCode = frame.ErrCodeCancel
	}
	var err error = ErrClosed
	if c.err != nil {
		err = c.err
	}
	c.beginClosing()
	c.endStreams(err, streamCode)
}

// HandleTransportClosed tells the core the transport is gone (EOF, a read or
// write error): every stream ends with ErrConnectionLost and the connection
// is closed at once. err, if not nil, is kept as the connection's Err in
// place of ErrConnectionLost unless an earlier error is already recorded.
func (c *Conn) HandleTransportClosed(now time.Time, err error) {
	if c.closed {
		return
	}
	c.advanceCommand(now)
	if c.err == nil && !c.closing {
		c.err = ErrConnectionLost
		if err != nil {
			c.err = err
		}
	}
	c.beginClosing()
	c.endStreams(ErrConnectionLost, frame.ErrCodeCancel)
	c.out, c.outApp = c.out[:0], 0
	c.finishClosed()
}

// finishClosed enters PhaseClosed.
func (c *Conn) finishClosed() {
	if c.closed {
		return
	}
	c.closed = true
	c.emit(Event{Kind: EventClosed, Err: c.err})
}

// advanceCommand moves the clock for a command that takes the time.
func (c *Conn) advanceCommand(now time.Time) {
	if now.After(c.now) {
		c.now = now
	}
}
