package core

import (
	"time"

	"github.com/h2proto/h2/core/frame"
)

// Ping sends a PING with the given opaque data (RFC 9113 §6.7). Its ACK
// produces an EventPingAck with the round-trip time, also kept for RTT. At
// most Limits.MaxPings may be outstanding.
func (c *Conn) Ping(now time.Time, data [8]byte) error {
	if c.closing || c.closed {
		return ErrClosed
	}
	if len(c.pings) >= c.cfg.Limits.MaxPings {
		return ErrTooManyPings
	}
	c.advanceCommand(now)
	c.pings = append(c.pings, pendingPing{data: data, sent: c.now})
	c.queueCommand(frame.AppendPing(c.out, false, data), 1)
	return nil
}

// goAwayPing is the payload of the PING that times a graceful GOAWAY.
var goAwayPing = [8]byte{'h', '2', 'p', 'g', 'o', 'a', 'w', 'y'}

// GoAway starts a graceful shutdown (RFC 9113 §6.8). A server sends
// GOAWAY(2^31-1, NO_ERROR) and a PING; when the PING is acknowledged, or after
// Timeouts.GoAwayDrain, it sends the final GOAWAY carrying the last stream it
// will process. A client, which has no peer streams to count, sends its
// final GOAWAY at once. Streams already started finish; new ones are
// refused; the connection closes when the last stream ends. Calling GoAway
// again is a no-op.
func (c *Conn) GoAway(now time.Time) error {
	if c.closing || c.closed {
		return ErrClosed
	}
	if c.goAway.sent > 0 {
		return nil
	}
	c.advanceCommand(now)
	if c.role == RoleClient {
		c.queueGoAway(c.lastPeerID, frame.ErrCodeNo, "")
		c.maybeFinish()
		return nil
	}
	c.queueCommand(frame.AppendPing(frame.AppendGoAway(c.out, frame.MaxStreamID, frame.ErrCodeNo, nil), false, goAwayPing), 2)
	c.goAway.sent = 1
	c.setTimer(timerGoAway, c.cfg.Timeouts.GoAwayDrain)
	return nil
}

// finalGoAway sends the second GOAWAY of a graceful shutdown.
func (c *Conn) finalGoAway() {
	if c.goAway.sent != 1 || c.closing {
		return
	}
	c.stopTimer(timerGoAway)
	c.queueGoAway(c.lastPeerID, frame.ErrCodeNo, "")
	c.maybeFinish()
}

// UpdateSettings advertises new values for some of our settings (RFC 9113
// §6.5). They take effect when the peer acknowledges them; until then limits
// on what we accept follow the more generous of the old and new values.
// Unknown identifiers are not sent. It fails without sending anything on a
// value outside its legal range, on ENABLE_PUSH = 1 (push is not
// supported), on ENABLE_CONNECT_PROTOCOL from a client or turned back to 0
// (RFC 8441 §3), or with Limits.MaxPendingSettings frames unacknowledged.
func (c *Conn) UpdateSettings(now time.Time, changes []frame.Setting) error {
	if c.closing || c.closed {
		return ErrClosed
	}
	if len(c.local.pending) >= c.cfg.Limits.MaxPendingSettings {
		return ErrTooManySettings
	}
	next := *c.local.latest()
	for _, st := range changes {
		if st.Valid() != nil {
			return ErrInvalidSetting
		}
		switch st.ID {
		case frame.SettingEnablePush:
			if st.Val == 1 {
				return ErrPushUnsupported
			}
			if c.role == RoleServer {
				continue // servers do not send ENABLE_PUSH
			}
		case frame.SettingEnableConnectProtocol:
			if c.role == RoleClient || (next.EnableConnectProtocol && st.Val == 0) {
				return ErrInvalidSetting
			}
		}
		next.apply(st)
	}
	c.advanceCommand(now)
	c.sendSettings(next)
	return nil
}
