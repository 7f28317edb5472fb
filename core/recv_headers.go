package core

import (
	"github.com/h2proto/h2/core/frame"
)

// onHeaders starts a field block (RFC 9113 §6.2). What the block will do is
// decided now, from the stream's state; the block is decoded in every case,
// because HPACK state is shared by the whole connection (RFC 9113 §4.3).
func (c *Conn) onHeaders(f *frame.Frame) {
	action, serr, cerr := c.classifyHeaders(f.StreamID)
	if cerr != nil {
		c.connError(cerr)
		return
	}
	c.beginBlock(f, action, serr, false)
}

// onHeadersError handles a HEADERS frame with a stream-level defect (a
// self-dependent priority, RFC 9113 §5.3.1): its block is decoded, then the
// stream is reset.
func (c *Conn) onHeadersError(f *frame.Frame, fe *frame.Error) {
	action, _, cerr := c.classifyHeaders(f.StreamID)
	if cerr != nil {
		c.connError(cerr)
		return
	}
	newStream := action == actRequest || action == actRefuse
	if action != actIgnore {
		action = actStreamError
	}
	c.beginBlock(f, action, fe, newStream)
}

// classifyHeaders decides what a HEADERS frame on stream id will do, or
// returns the connection error it causes.
func (c *Conn) classifyHeaders(id uint32) (blockAction, *frame.Error, *frame.Error) {
	s := c.streams[id]
	if s == nil {
		if !c.peerParity(id) {
			if c.role == RoleServer {
				// "Streams initiated by a client MUST use odd-numbered
				// stream identifiers" (RFC 9113 §5.1.1).
				return 0, nil, errStreamIDParity
			}
			if id >= c.nextLocalID {
				return 0, nil, errIdleStreamFrame
			}
			return c.closedStreamFrame(id, true)
		}
		if id <= c.lastPeerID {
			return c.closedStreamFrame(id, true)
		}
		if c.role == RoleClient {
			// A server opens streams only with PUSH_PROMISE, which we
			// disabled.
			return 0, nil, errPushPromise
		}
		c.lastPeerID = id
		if c.aboveFinalGoAway(id) {
			// Above our final GOAWAY's last stream ID: ignored, and the peer
			// knows it may retry elsewhere (RFC 9113 §6.8).
			return actIgnore, nil, nil
		}
		if uint32(c.activePeer) >= c.recvMaxConc {
			// Over SETTINGS_MAX_CONCURRENT_STREAMS: refused with
			// REFUSED_STREAM (RFC 9113 §5.1.2); its fields are not kept.
			return actRefuse, nil, nil
		}
		return actRequest, nil, nil
	}
	switch t := step(s.state, recvHeaders); {
	case s.state == StateClosed:
		if s.resetByUs {
			return actIgnore, nil, nil
		}
		return 0, nil, errClosedStreamFrame
	case !t.ok && t.err.Stream:
		return actStreamError, t.err, nil
	case !t.ok:
		return 0, nil, t.err
	}
	if c.role == RoleClient && !s.gotFinal {
		return actResponse, nil, nil
	}
	return actTrailers, nil, nil
}

// closedStreamFrame decides the fate of DATA or HEADERS on a stream that is
// no longer tracked: ignored if we reset it within Timeouts.ResetGrace or
// ignored it for being above our final GOAWAY, otherwise a connection
// error — STREAM_CLOSED if the stream closed recently, PROTOCOL_ERROR for
// an identifier that was never opened or is long gone (RFC 9113 §5.1,
// §5.1.1).
func (c *Conn) closedStreamFrame(id uint32, headers bool) (blockAction, *frame.Error, *frame.Error) {
	if c.resets.has(id, c.now) || c.aboveFinalGoAway(id) {
		return actIgnore, nil, nil
	}
	if !headers || c.recentlyClosed(id) {
		return 0, nil, errClosedStreamFrame
	}
	return 0, nil, errStreamIDDecreased
}

// beginBlock starts decoding the block of a HEADERS frame.
func (c *Conn) beginBlock(f *frame.Frame, action blockAction, serr *frame.Error, newStream bool) {
	c.hb = headerBlock{
		active:    true,
		newStream: newStream,
		streamID:  f.StreamID,
		endStream: f.Flags.Has(frame.FlagHeadersEndStream),
		action:    action,
		streamErr: serr,
		collect:   action == actRequest || action == actResponse || action == actTrailers,
		start:     len(c.hdrs),
	}
	c.dec.SetEmitEnabled(c.hb.collect)
	if !f.Flags.Has(frame.FlagHeadersEndHeaders) {
		c.setTimer(timerHeaderBlock, c.cfg.Timeouts.HeaderBlock)
		if len(f.Data) == 0 {
			c.glitch() // an empty fragment that is not the last
			if c.closing {
				return
			}
		}
	}
	c.feedBlock(f.Data, f.Flags.Has(frame.FlagHeadersEndHeaders))
}

// onContinuation continues a field block (RFC 9113 §6.10).
func (c *Conn) onContinuation(f *frame.Frame) {
	if !c.hb.active {
		// onFrame already rejected a CONTINUATION for another stream.
		c.connError(errContinuationUnexp)
		return
	}
	c.hb.continuations++
	if c.hb.continuations > c.cfg.Limits.MaxContinuations {
		c.abuse(AbuseContinuationFlood)
		return
	}
	end := f.Flags.Has(frame.FlagContinuationEndHeaders)
	if len(f.Data) == 0 && !end {
		c.glitch()
		if c.closing {
			return
		}
	}
	c.feedBlock(f.Data, end)
}

// feedBlock decodes one fragment and, at END_HEADERS, acts on the block.
func (c *Conn) feedBlock(p []byte, end bool) {
	hb := &c.hb
	hb.size += len(p)
	if hb.size > c.cfg.Limits.MaxHeaderBlockSize {
		c.abuse(AbuseHeaderBlockTooLarge)
		return
	}
	if !hb.sawFirst && len(p) > 0 {
		n, e := c.applySizeUpdates(p)
		if e != nil {
			c.connError(e)
			return
		}
		p = p[n:]
		hb.sawFirst = len(p) > 0
	}
	if _, err := c.dec.Write(p); err != nil {
		c.connError(errCompression)
		return
	}
	if !end {
		return
	}
	if hb.updLen > 0 {
		c.connError(errCompression) // the block ends inside a size update
		return
	}
	if !hb.sawFirst && c.hpk.needUpdate {
		c.connError(errSizeUpdateMissing)
		return
	}
	if err := c.dec.Close(); err != nil {
		c.connError(errCompression)
		return
	}
	c.stopTimer(timerHeaderBlock)
	hb.active = false
	fields := c.hdrs[hb.start:len(c.hdrs):len(c.hdrs)]
	// The block may have spanned several Receive calls, and a command in
	// between (ResetStream, ReleaseStream) may have closed its stream: look
	// it up again, and ignore the block if it is gone.
	s := c.streams[hb.streamID]
	live := s != nil && s.state != StateClosed
	c.fieldsLent = false
	switch {
	case hb.action == actRefuse:
		c.refuse(hb.streamID, errRefused)
	case hb.action == actStreamError && hb.newStream:
		c.refuse(hb.streamID, hb.streamErr) // the HEADERS opened it
	case hb.action == actStreamError && live:
		c.peerStreamError(hb.streamID, hb.streamErr)
	case hb.action == actRequest:
		c.onRequest(hb.streamID, fields, hb.endStream, hb.tooLarge)
	case hb.action == actResponse && live:
		c.onResponse(s, fields, hb.endStream, hb.tooLarge)
	case hb.action == actTrailers && live:
		c.onTrailers(s, fields, hb.endStream, hb.tooLarge)
	}
	if !c.fieldsLent {
		c.hdrs = c.hdrs[:hb.start] // no event holds them: reuse the space
	}
	c.maybeFinish() // a graceful close may have waited for this block
}

// onRequest opens a stream for a request (server role).
func (c *Conn) onRequest(id uint32, fields []HeaderField, endStream, tooLarge bool) {
	if tooLarge {
		c.respond431(id, endStream)
		return
	}
	info, _, e := checkRequest(fields, c.recvExtConnect, &c.cfg.Relax)
	if e == nil && endStream && info.contentLength > 0 {
		e = ruleContentLength
	}
	if e != nil {
		c.refuse(id, e)
		return
	}
	s := c.newStream(id, false)
	s.head = info.method == "HEAD"
	s.connect = info.method == "CONNECT"
	s.recvCL = info.contentLength
	s.sendCL = -1
	s.manual = c.cfg.ManualFlowControl
	if endStream {
		s.state = StateHalfClosedRemote
	}
	if c.held < int(c.recvMaxConc) && c.pending.len() == 0 {
		c.surface(s, fields)
		return
	}
	// The application already holds as many streams as it may run: this
	// one waits until it releases one (DESIGN §5, Rapid Reset).
	if c.pending.len() >= c.cfg.Limits.MaxPendingStreams {
		c.abuse(AbusePendingStreams)
		return
	}
	s.pending = true
	s.pendHeaders = append([]HeaderField(nil), fields...)
	c.mem.pending += pendingBytes(s) // the stream kept nothing before
	s.pendEnd = endStream
	c.pending.push(id)
}

// surface announces a server stream to the application.
func (c *Conn) surface(s *stream, fields []HeaderField) {
	s.surfaced, s.held = true, true
	c.held++
	c.fieldsLent = true
	c.emit(Event{Kind: EventRequest, StreamID: s.id, Headers: fields, EndStream: s.state == StateHalfClosedRemote && len(s.pendData) == 0 && s.pendTrailers == nil})
}

// refuse resets a request that never became a stream.
func (c *Conn) refuse(id uint32, e *frame.Error) {
	if !c.chargeProvoked() {
		return
	}
	c.queueRST(id, e.Code)
	c.resets.add(id, c.now.Add(c.cfg.Timeouts.ResetGrace), c.cfg.Limits.MaxResetStreams, false)
	c.rememberClosed(id)
}

// respond431 answers a request whose header list exceeded our
// SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §10.5.1, RFC 6585 §5) without
// involving the application.
func (c *Conn) respond431(id uint32, endStream bool) {
	if !c.chargeProvoked() {
		return
	}
	c.out = c.appendFieldBlock(c.out, id, 431, nil, 0, true)
	c.outFrames++
	if !endStream {
		// Stop the request body: RFC 9113 §8.1 allows RST_STREAM(NO_ERROR)
		// after a complete response.
		c.queueRST(id, frame.ErrCodeNo)
		c.resets.add(id, c.now.Add(c.cfg.Timeouts.ResetGrace), c.cfg.Limits.MaxResetStreams, false)
	}
	c.rememberClosed(id)
}

// onResponse handles response headers (client role): 1xx or final.
func (c *Conn) onResponse(s *stream, fields []HeaderField, endStream, tooLarge bool) {
	if tooLarge {
		c.peerStreamError(s.id, errHeaderListLarge)
		return
	}
	info, _, e := checkResponse(fields, &c.cfg.Relax)
	switch {
	case e != nil:
	case info.status == 101:
		e = ruleStatus101
	case info.status < 200 && endStream:
		e = ruleInfoEndStream
	case endStream && info.contentLength > 0 && !s.head && info.status != 204 && info.status != 304 &&
		!(s.connect && info.status < 300):
		e = ruleContentLength
	}
	if e != nil {
		c.peerStreamError(s.id, e)
		return
	}
	c.fieldsLent = true
	if info.status < 200 {
		c.emit(Event{Kind: EventInformational, StreamID: s.id, Status: info.status, Headers: fields})
		return
	}
	s.gotFinal = true
	s.recvNoBody = s.head || info.status == 204 || info.status == 304
	// "A client MUST ignore any Content-Length or Transfer-Encoding header
	// fields received in a successful response to CONNECT" (RFC 9110 §9.3.6).
	s.tunnel = s.connect && info.status < 300
	if !s.recvNoBody && !s.tunnel {
		s.recvCL = info.contentLength
	}
	c.emit(Event{Kind: EventResponse, StreamID: s.id, Status: info.status, Headers: fields, EndStream: endStream})
	if endStream {
		c.recvEnd(s)
	}
}

// onTrailers handles a trailer section, which must end the stream (RFC 9113
// §8.1).
func (c *Conn) onTrailers(s *stream, fields []HeaderField, endStream, tooLarge bool) {
	var e *frame.Error
	switch {
	case !endStream:
		e = ruleTrailersNoEnd
	case tooLarge:
		e = errHeaderListLarge
	case s.tunnel || (s.connect && c.role == RoleServer):
		e = ruleTunnelTrailers
	default:
		_, e = checkTrailers(fields, &c.cfg.Relax)
	}
	if e == nil && s.recvCL >= 0 && s.recvN != s.recvCL {
		e = ruleContentLength
	}
	if e != nil {
		c.peerStreamError(s.id, e)
		return
	}
	if s.pending {
		before := pendingBytes(s)
		s.pendTrailers = append([]HeaderField(nil), fields...)
		c.mem.pending += pendingBytes(s) - before
	} else if s.surfaced {
		c.fieldsLent = true
		c.emit(Event{Kind: EventTrailers, StreamID: s.id, Headers: fields, EndStream: true})
	}
	c.recvEnd(s)
}

// aboveFinalGoAway reports whether id is a stream the peer opened above
// the last stream ID of our final GOAWAY: every frame on it is ignored (RFC
// 9113 §6.8), the HEADERS that opened it and any that follow.
func (c *Conn) aboveFinalGoAway(id uint32) bool {
	return c.goAway.sent == 2 && c.peerParity(id) && id > c.goAway.lastSent
}
