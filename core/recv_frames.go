package core

import (
	"time"

	"github.com/h2proto/h2/core/frame"
)

// onData handles DATA (RFC 9113 §6.1).
func (c *Conn) onData(f *frame.Frame) {
	// The whole payload, padding included, counts against both windows
	// (RFC 9113 §6.9.1), whatever happens to the frame afterwards.
	flowLen := int64(f.Length)
	if !c.connIn.take(flowLen) {
		c.connError(errConnFlowControl)
		return
	}
	if len(f.Data) == 0 && !f.Flags.Has(frame.FlagDataEndStream) {
		// Legal, but a flood of empty frames is work for nothing
		// (CVE-2019-9518), whichever stream it targets.
		c.glitch()
		if c.closing {
			return
		}
	}
	s := c.streams[f.StreamID]
	if s == nil || s.state == StateClosed {
		if s == nil && c.isIdle(f.StreamID) {
			c.connError(errIdleStreamFrame)
			return
		}
		// After our RST_STREAM the peer's in-flight DATA is ignored, but its
		// bytes are returned to the connection window (RFC 9113 §5.1).
		if (s != nil && s.resetByUs) || (s == nil && c.resets.has(f.StreamID, c.now)) || c.aboveFinalGoAway(f.StreamID) {
			c.returnConnCredit(flowLen)
			return
		}
		c.connError(errClosedStreamFrame)
		return
	}
	if t := step(s.state, recvData); !t.ok {
		c.returnConnCredit(flowLen)
		c.peerStreamError(s.id, t.err)
		return
	}
	if !s.in.take(flowLen) {
		c.returnConnCredit(flowLen)
		c.peerStreamError(s.id, errStreamFlow)
		return
	}
	n := int64(len(f.Data))
	if pad := flowLen - n; pad > 0 {
		// Padding never reaches the application: credit it now.
		c.credit(s, pad)
	}
	end := f.Flags.Has(frame.FlagDataEndStream)
	s.recvN += n
	var bad *frame.Error
	switch {
	case c.role == RoleClient && !s.gotFinal:
		// DATA before the final response, even empty (RFC 9113 §8.1).
		bad = ruleDataBeforeResponse
	case n > 0 && s.recvNoBody:
		bad = ruleBodyNotAllowed
	case s.recvCL >= 0 && (s.recvN > s.recvCL || (end && s.recvN != s.recvCL)):
		bad = ruleContentLength
	}
	if bad != nil {
		// The stream dies, so these bytes will never be consumed: return
		// them to the connection window now.
		c.returnConnCredit(n)
		c.peerStreamError(s.id, bad)
		return
	}
	if n == 0 && !end {
		return // charged above
	}
	switch {
	case s.pending:
		c.mem.pending -= cap(s.pendData)
		s.pendData = append(s.pendData, f.Data...)
		c.mem.pending += cap(s.pendData)
		s.pendEnd = s.pendEnd || end
	case !s.surfaced:
		// Released by the application (ReleaseStream): nothing is
		// reported any more; the bytes are credited back.
		c.credit(s, n)
	case s.manual:
		s.unconsumed += n
		c.emit(Event{Kind: EventData, StreamID: s.id, Data: f.Data, EndStream: end})
	default:
		c.emit(Event{Kind: EventData, StreamID: s.id, Data: f.Data, EndStream: end})
		c.credit(s, n)
	}
	if end {
		c.recvEnd(s)
	}
}

// credit returns n consumed bytes to the stream and connection windows,
// queueing WINDOW_UPDATEs when the batching threshold is reached.
func (c *Conn) credit(s *stream, n int64) {
	if canRecv(s.state) {
		if inc := s.in.consume(n); inc > 0 {
			c.queueWindowUpdate(s.id, inc)
		}
	}
	c.returnConnCredit(n)
}

func (c *Conn) returnConnCredit(n int64) {
	if inc := c.connIn.consume(n); inc > 0 {
		c.queueWindowUpdate(0, inc)
	}
}

// recvEnd applies a received END_STREAM.
func (c *Conn) recvEnd(s *stream) {
	t := step(s.state, recvEndStream)
	if s.pending {
		s.pendEnd = true
	}
	if t.next == StateClosed {
		c.closeStream(s, closeReason{})
		return
	}
	s.state = t.next
}

// onRSTStream handles RST_STREAM (RFC 9113 §6.4).
func (c *Conn) onRSTStream(f *frame.Frame) {
	s := c.streams[f.StreamID]
	if s == nil {
		if c.isIdle(f.StreamID) {
			c.connError(errRSTIdle)
		}
		return // closed: ignored
	}
	if s.state == StateClosed {
		return
	}
	// Rapid Reset (CVE-2023-44487): a peer resetting streams faster than
	// Limits.ResetRate is closed.
	if !c.resetBucket.take(c.now) {
		c.abuse(AbuseRapidReset)
		return
	}
	c.closeStream(s, closeReason{reset: true, remote: true, code: f.ErrCode, token: "peer_reset",
		retryable: f.ErrCode == frame.ErrCodeRefusedStream && s.local})
}

// onSettings handles SETTINGS (RFC 9113 §6.5).
func (c *Conn) onSettings(f *frame.Frame) {
	if f.Flags.Has(frame.FlagSettingsAck) {
		c.onSettingsAck()
		return
	}
	n := f.NumSettings()
	if n > c.cfg.Limits.MaxSettingsEntries {
		c.abuse(AbuseTooManySettings)
		return
	}
	// Validate every parameter before applying any (CVE-2026-33814's lesson).
	next := c.peer
	for i := 0; i < n; i++ {
		st := f.Setting(i)
		if err := st.Valid(); err != nil {
			c.connError(err.(*frame.Error))
			return
		}
		switch {
		case st.ID == frame.SettingEnablePush && st.Val == 1 && c.role == RoleClient:
			// "A client MUST treat receipt of a SETTINGS frame with
			// SETTINGS_ENABLE_PUSH set to 1 as a connection error."
			c.connError(errServerPush)
			return
		case st.ID == frame.SettingEnableConnectProtocol && st.Val == 0 && next.EnableConnectProtocol:
			c.connError(errConnectProtoRevoked)
			return
		}
		next.apply(st)
	}
	if delta := int64(next.InitialWindowSize) - int64(c.peer.InitialWindowSize); delta != 0 {
		// RFC 9113 §6.9.2: adjust every stream's send window; one pushed
		// above 2^31-1 is a connection FLOW_CONTROL_ERROR.
		for s := c.all.head; s != nil; s = s.allNext {
			if s.state != StateClosed && s.out.avail+delta > frame.MaxWindowSize {
				c.connError(errSettingsWindow)
				return
			}
		}
		for s := c.all.head; s != nil; s = s.allNext {
			if s.state == StateClosed {
				continue // no longer maintained (held closed streams)
			}
			s.out.avail += delta
			if delta > 0 && s.hasOutput() && !s.inSched && canSend(s.state) {
				c.sched.push(s)
			}
		}
	}
	if next.HeaderTableSize != c.peer.HeaderTableSize {
		c.enc.setMaxSize(next.HeaderTableSize)
	}
	c.peer = next
	c.queueSettingsAck()
	if !c.gotPreface {
		c.gotPreface = true
		c.stopTimer(timerPreface)
	}
	c.emit(Event{Kind: EventSettings})
}

// onSettingsAck applies our oldest unacknowledged SETTINGS.
func (c *Conn) onSettingsAck() {
	if len(c.local.pending) == 0 {
		c.connError(errUnsolicitedAck)
		return
	}
	old := c.local.acked
	c.local.acked = c.local.pending[0]
	c.local.pending = append(c.local.pending[:0], c.local.pending[1:]...)
	c.local.sentAt = append(c.local.sentAt[:0], c.local.sentAt[1:]...)
	c.ackedOnce = true
	now := &c.local.acked
	c.refreshCeilings()
	if now.InitialWindowSize != old.InitialWindowSize {
		for s := c.all.head; s != nil; s = s.allNext {
			s.in.retarget(int64(now.InitialWindowSize))
			// Credit held back for batching may now be a quarter of a
			// smaller window: send it, or the stream could stall.
			if !canRecv(s.state) {
				continue
			}
			if inc := s.in.consume(0); inc > 0 {
				c.queueWindowUpdate(s.id, inc)
			}
		}
	}
	c.localTableSizeAcked(now.HeaderTableSize, c.local.ceiling(func(s *Settings) uint32 { return s.HeaderTableSize }))
	if len(c.local.pending) > 0 && c.cfg.Timeouts.SettingsAck > 0 {
		// Each frame gets its own deadline, counted from when it was sent.
		c.timers[timerSettingsAck] = c.local.sentAt[0].Add(c.cfg.Timeouts.SettingsAck)
	} else {
		c.stopTimer(timerSettingsAck)
	}
	c.emit(Event{Kind: EventSettingsAck})
	if !c.connected {
		c.connected = true
		c.emit(Event{Kind: EventConnected})
	}
}

// onPing handles PING (RFC 9113 §6.7).
func (c *Conn) onPing(f *frame.Frame) {
	if !f.Flags.Has(frame.FlagPingAck) {
		c.queuePing(true, f.PingData)
		return
	}
	// The application's PINGs first, so that any payload it picks works.
	for i, p := range c.pings {
		if p.data == f.PingData {
			c.rtt = c.now.Sub(p.sent)
			c.pings = append(c.pings[:i], c.pings[i+1:]...)
			c.emit(Event{Kind: EventPingAck, PingData: f.PingData, RTT: c.rtt})
			return
		}
	}
	if c.goAway.sent == 1 && f.PingData == goAwayPing {
		c.finalGoAway()
	}
	if f.PingData == keepAlivePing && !c.keepAliveSent.IsZero() {
		// Our keep-alive PING's ACK measures the round trip too (no
		// event: the application did not ask). As liveness, any frame
		// already counts.
		c.rtt = c.now.Sub(c.keepAliveSent)
		c.keepAliveSent = time.Time{}
	}
	// An ACK for a PING we did not send is ignored.
}

// onGoAway handles GOAWAY (RFC 9113 §6.8).
func (c *Conn) onGoAway(f *frame.Frame) {
	last := f.LastStreamID
	if c.goAway.recv {
		// "Endpoints MUST NOT increase the value they send": keep the lower.
		last = min(last, c.goAway.lastRecv)
	}
	c.goAway.recv, c.goAway.lastRecv, c.goAway.recvCode = true, last, f.ErrCode
	c.emit(Event{Kind: EventGoAway, LastStreamID: last, Code: f.ErrCode, Data: f.Data})
	// Our streams above last were not processed: safe to retry elsewhere.
	for s, next := c.all.head, (*stream)(nil); s != nil; s = next {
		next = s.allNext
		if s.local && s.id > last && s.state != StateClosed {
			c.closeStream(s, closeReason{reset: true, remote: true, code: frame.ErrCodeRefusedStream,
				token: "goaway_refused", retryable: true})
		}
	}
	if f.ErrCode != frame.ErrCodeNo && c.err == nil {
		c.err = &ConnError{Code: f.ErrCode, Remote: true, Token: "peer_goaway", Reason: string(f.Data)}
	}
	c.maybeFinish()
}

// onWindowUpdate handles WINDOW_UPDATE (RFC 9113 §6.9).
func (c *Conn) onWindowUpdate(f *frame.Frame) {
	inc := int64(f.Increment)
	if f.StreamID == 0 {
		if !c.connOut.add(inc) {
			c.connError(errConnWindowOverflow)
		}
		return
	}
	s := c.streams[f.StreamID]
	if s == nil {
		if c.isIdle(f.StreamID) {
			c.connError(errIdleStreamFrame)
		}
		return
	}
	if s.state == StateClosed {
		return
	}
	if !s.out.add(inc) {
		c.peerStreamError(s.id, errStreamWindowOver)
		return
	}
	if s.out.avail > 0 && s.hasOutput() && !s.inSched && canSend(s.state) {
		c.sched.push(s)
	}
}

// onPriority handles PRIORITY (RFC 9113 §6.3): parsed, otherwise ignored,
// and charged to the glitch budget (CVE-2019-9513).
func (c *Conn) onPriority(*frame.Frame) {
	c.glitch()
}

// onPushPromise rejects PUSH_PROMISE: we never enable push, and clients
// cannot push (RFC 9113 §6.6, §8.4).
func (c *Conn) onPushPromise(*frame.Frame) {
	c.connError(errPushPromise)
}

// keepAlivePing is the payload of our keep-alive PINGs.
var keepAlivePing = [8]byte{'h', '2', 'p', 'k', 'e', 'e', 'p', 0}
