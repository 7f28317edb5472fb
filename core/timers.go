package core

import "time"

// The timer table (DESIGN §3): fixed slots, fired in this order when several
// are due at once. A zero deadline is disarmed.
const (
	timerPreface     = iota // the peer's preface must arrive
	timerSettingsAck        // our oldest SETTINGS must be acknowledged
	timerHeaderBlock        // the open field block must end
	timerGoAway             // graceful GOAWAY, first phase → final GOAWAY
	timerKeepAlive          // send a keep-alive PING, or give up on the peer
	timerIdle               // no stream for Timeouts.Idle
	numTimers
)

// setTimer arms slot t to fire d after the current time; d ≤ 0 disarms it.
func (c *Conn) setTimer(t int, d time.Duration) {
	if d <= 0 {
		c.timers[t] = time.Time{}
		return
	}
	c.timers[t] = c.now.Add(d)
}

func (c *Conn) stopTimer(t int) { c.timers[t] = time.Time{} }

// PollTimeout returns the earliest deadline at which HandleTimeout must be
// called, and false if no timer is armed. It may change after any input or
// command.
func (c *Conn) PollTimeout() (time.Time, bool) {
	var first time.Time
	if c.closed {
		return first, false
	}
	for _, d := range c.timers {
		if !d.IsZero() && (first.IsZero() || d.Before(first)) {
			first = d
		}
	}
	return first, !first.IsZero()
}

// HandleTimeout fires every timer due at now. Calling it early, late or more
// than once is harmless.
func (c *Conn) HandleTimeout(now time.Time) {
	if c.closed {
		return
	}
	c.advance(now)
	for t := range c.timers {
		d := c.timers[t]
		if d.IsZero() || now.Before(d) || c.closing {
			continue
		}
		c.timers[t] = time.Time{}
		c.fire(t)
	}
	c.checkQueues()
}

func (c *Conn) fire(t int) {
	switch t {
	case timerPreface:
		c.connError(errPrefaceTimeout)
	case timerSettingsAck:
		c.connError(errSettingsTimeout)
	case timerHeaderBlock:
		c.abuse(AbuseHeaderBlockTimeout)
	case timerGoAway:
		c.finalGoAway()
	case timerKeepAlive:
		if c.keepAlive {
			// A PING went out a whole period ago and nothing has come back.
			c.connError(errKeepAliveTimeout)
			return
		}
		c.keepAlive = true
		c.keepAliveSent = c.now
		c.queuePing(false, keepAlivePing)
		c.setTimer(timerKeepAlive, c.cfg.Timeouts.KeepAlive)
	case timerIdle:
		switch {
		case c.hb.active:
			// A field block is arriving: a stream is opening. Look again
			// later; Timeouts.HeaderBlock bounds the block.
			c.setTimer(timerIdle, c.cfg.Timeouts.Idle)
		case len(c.streams) == 0 && c.pending.len() == 0:
			c.closeWith(errIdleTimeout)
		}
	}
}

// updateIdle arms the idle timer when no stream is tracked and disarms it
// otherwise.
func (c *Conn) updateIdle() {
	if len(c.streams) > 0 || c.closing {
		c.stopTimer(timerIdle)
		return
	}
	if c.timers[timerIdle].IsZero() {
		c.setTimer(timerIdle, c.cfg.Timeouts.Idle)
	}
}
