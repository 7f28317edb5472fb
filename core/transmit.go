package core

import (
	"github.com/h2proto/h2/core/frame"
)

// PollTransmit appends the bytes to write to the transport to dst and returns
// the extended slice: first the queued frames (control frames and field
// blocks, in the order they were queued), then DATA from the streams' send
// buffers, one frame per stream per round (round-robin), as far as the flow
// control windows allow. A HEADERS frame and the DATA that follows it (see
// Respond) therefore leave in one call.
//
// Call it after every input and command until it appends nothing; once the
// connection is closing, the call that hands out the last bytes moves it to
// PhaseClosed.
func (c *Conn) PollTransmit(dst []byte) []byte {
	if c.closed {
		return dst
	}
	dst = c.takeQueued(dst)
	if !c.closing {
		dst = c.writeData(dst)
		dst = c.takeQueued(dst) // a stream that just ended may close the connection
	}
	if c.closing && len(c.out) == 0 {
		c.finishClosed()
	}
	c.flushWritable()
	return dst
}

func (c *Conn) takeQueued(dst []byte) []byte {
	dst = append(dst, c.out...)
	c.out = c.out[:0]
	if cap(c.out) > retainedOutputCap {
		c.out = nil // a burst is over: give its memory back
	}
	c.outFrames, c.outControl, c.outApp = 0, 0, 0
	return dst
}

// queueFields queues a field block the application sends (OpenStream,
// SendHeaders, Respond, SendTrailers).
func (c *Conn) queueFields(id uint32, status int, fields []HeaderField, cl int64, end bool) {
	c.queueCommand(c.appendFieldBlock(c.out, id, status, fields, cl, end), 1)
}

// queueCommand makes out, which is c.out with the given number of frames
// appended by a command, the output queue. Receive's back-pressure
// (Limits.OutputHighWater) and the flood limit Limits.MaxQueuedFrames
// bound what the peer makes us queue. A server's commands answer the
// peer's requests, so they count: a client that sends requests and never
// reads the responses must not grow our output without bound. A client's
// commands are its own initiative and are counted apart (outApp):
// counting them would let a client and a server whose transports are full
// each stop reading, waiting for the other to read first.
func (c *Conn) queueCommand(out []byte, frames int) {
	if c.role == RoleClient {
		c.outApp += len(out) - len(c.out)
	} else {
		c.outFrames += frames
	}
	c.out = out
}

// countControl accounts one queued control frame. The queue limits are
// checked by checkQueues between received frames, never here: an abuse close
// in the middle of an operation (a WINDOW_UPDATE queued while a stream
// closes) would tear down state that operation is still using.
func (c *Conn) countControl() {
	c.outFrames++
	c.outControl++
}

// checkQueues closes the connection if the frame queue has outgrown its
// limits (CVE-2019-9512, -9514, -9515: a peer that floods us and never reads
// must not grow our output without bound). It runs after every received
// frame and timer.
func (c *Conn) checkQueues() {
	switch {
	case c.closing:
	case c.outControl > c.cfg.Limits.MaxQueuedControlFrames:
		c.abuse(AbuseControlFlood)
	case c.outFrames > c.cfg.Limits.MaxQueuedFrames:
		c.abuse(AbuseOutboundFlood)
	}
	c.checkMemory()
}

// The queue* helpers add control frames. Once the connection is closing
// nothing follows the GOAWAY (RFC 9113 §5.4.1), so they do nothing.

func (c *Conn) queueRST(id uint32, code ErrCode) {
	if c.closing {
		return
	}
	c.out = frame.AppendRSTStream(c.out, id, code)
	c.countControl()
}

func (c *Conn) queueWindowUpdate(id, inc uint32) {
	if c.closing {
		return
	}
	c.out = frame.AppendWindowUpdate(c.out, id, inc)
	c.countControl()
}

func (c *Conn) queuePing(ack bool, data [8]byte) {
	if c.closing {
		return
	}
	c.out = frame.AppendPing(c.out, ack, data)
	c.countControl()
}

func (c *Conn) queueSettingsAck() {
	if c.closing {
		return
	}
	c.out = frame.AppendSettingsAck(c.out)
	c.countControl()
}

// queueGoAway queues a GOAWAY. It bypasses the queue limits: it is the
// frame that reports them. Once a final GOAWAY is out, later ones never
// carry a higher last-stream-id: "Endpoints MUST NOT increase the value they
// send in the last stream identifier" (RFC 9113 §6.8).
func (c *Conn) queueGoAway(last uint32, code ErrCode, debug string) {
	if c.goAway.sent == 2 {
		last = min(last, c.goAway.lastSent)
	}
	c.out = frame.AppendGoAway(c.out, last, code, []byte(debug))
	c.outFrames++
	if c.goAway.sent < 2 {
		c.goAway.sent, c.goAway.lastSent = 2, last
	}
}

// sendSettings queues a SETTINGS frame moving our advertised settings to
// want, and arms the ACK timer (RFC 9113 §6.5.3).
func (c *Conn) sendSettings(want Settings) {
	prev := *c.local.latest()
	c.settingsBuf = want.appendDiff(c.settingsBuf[:0], &prev)
	c.out = frame.AppendSettings(c.out, c.settingsBuf)
	c.outFrames++
	c.local.pending = append(c.local.pending, want)
	c.local.sentAt = append(c.local.sentAt, c.now)
	c.localTableSizeSent(prev.HeaderTableSize, want.HeaderTableSize)
	c.refreshCeilings()
	if len(c.local.pending) == 1 {
		c.setTimer(timerSettingsAck, c.cfg.Timeouts.SettingsAck)
	}
}

// refreshCeilings recomputes the limits on what we accept, which follow the
// most generous of the acknowledged and pending settings.
//
// Before the first ACK the acknowledged snapshot holds the RFC's initial
// values, under which the header list and concurrency are unlimited. Both
// limits are ours to enforce at any time (RFC 9113 §6.5.2 calls the first
// advisory; §5.1.2 lets us refuse streams), so until then only what we sent
// counts: a peer cannot escape them by delaying its ACK.
func (c *Conn) refreshCeilings() {
	c.recvMaxFrame = c.local.ceiling(func(s *Settings) uint32 { return s.MaxFrameSize })
	c.recvMaxList = c.local.ceiling(func(s *Settings) uint32 { return s.MaxHeaderListSize })
	c.recvMaxConc = c.local.ceiling(func(s *Settings) uint32 { return s.MaxConcurrentStreams })
	c.recvExtConnect = c.local.ceiling(func(s *Settings) uint32 { return b2u(s.EnableConnectProtocol) }) == 1
	if !c.ackedOnce && len(c.local.pending) > 0 {
		c.recvMaxList = c.local.pendingCeiling(func(s *Settings) uint32 { return s.MaxHeaderListSize })
		c.recvMaxConc = c.local.pendingCeiling(func(s *Settings) uint32 { return s.MaxConcurrentStreams })
	}
	c.surfacePending() // a higher limit may free slots
}

// sendFrameSize is the largest payload we put in one frame.
func (c *Conn) sendFrameSize() int {
	return int(min(c.peer.MaxFrameSize, c.cfg.MaxSendFrameSize))
}

// appendFieldBlock HPACK-encodes a field section (with a :status field first
// when status is not 0, and a content-length field last when cl ≥ 0) and
// appends it as HEADERS plus as many CONTINUATION
// frames as the peer's frame size requires (RFC 9113 §4.3). Field blocks are
// encoded in the order they go on the wire, since the HPACK dynamic table is
// shared by the connection.
func (c *Conn) appendFieldBlock(dst []byte, id uint32, status int, fields []HeaderField, cl int64, endStream bool) []byte {
	// The block is encoded in place, after room for the HEADERS frame
	// header, which is filled in once the block's length is known: no
	// copy for the common block that fits in one frame.
	start := len(dst)
	dst = append(dst, make([]byte, frame.HeaderLen)...)
	if status != 0 {
		dst = c.enc.appendField(dst, &HeaderField{Name: ":status", Value: statusStrings[status]})
	}
	for i := range fields {
		dst = c.enc.appendField(dst, &fields[i])
	}
	if cl >= 0 {
		dst = c.enc.appendField(dst, &HeaderField{Name: "content-length", Value: c.lengthString(cl)})
	}
	blockLen := len(dst) - start - frame.HeaderLen
	maxLen := c.sendFrameSize()
	if blockLen <= maxLen {
		flags := frame.FlagHeadersEndHeaders
		if endStream {
			flags |= frame.FlagHeadersEndStream
		}
		// Appending to a zero-length slice of the reserved room writes
		// the header in place.
		frame.AppendHeader(dst[start:start], frame.Header{Length: uint32(blockLen),
			Type: frame.TypeHeaders, Flags: flags, StreamID: id})
		return dst
	}
	// Too long for one frame: HEADERS and CONTINUATION frames (RFC 9113
	// §4.3), from a copy of the block.
	block := append(c.hbuf[:0], dst[start+frame.HeaderLen:]...)
	c.hbuf = block[:0]
	dst = dst[:start]
	n := maxLen
	dst = frame.AppendHeaders(dst, frame.HeadersParam{StreamID: id, Fragment: block[:n],
		EndStream: endStream, EndHeaders: false})
	for rest := block[n:]; len(rest) > 0; rest = rest[n:] {
		n = min(len(rest), maxLen)
		dst = frame.AppendContinuation(dst, id, n == len(rest), rest[:n])
	}
	return dst
}

// headerListSize is the RFC 7541 §4.1 size of a field section, as
// SETTINGS_MAX_HEADER_LIST_SIZE counts it.
func headerListSize(status int, fields []HeaderField) uint64 {
	var n uint64
	if status != 0 {
		n += uint64(len(":status") + 3 + 32)
	}
	for i := range fields {
		n += uint64(len(fields[i].Name) + len(fields[i].Value) + 32)
	}
	return n
}

// writeData appends DATA frames, one per stream per round, until no stream
// can send. A stream whose own window is shut leaves the queue until a
// WINDOW_UPDATE or SETTINGS re-opens it; a shut connection window stops the
// round with the stream kept first in line. Trailers and a final empty
// END_STREAM follow a stream's last DATA.
func (c *Conn) writeData(dst []byte) []byte {
	maxLen := int64(c.sendFrameSize())
	for c.sched.head != nil {
		s := c.sched.head
		c.sched.remove(s)
		if b := int64(s.buffered()); b > 0 {
			n := min(b, maxLen, s.out.avail, c.connOut.avail)
			if n <= 0 {
				if s.out.avail > 0 {
					// Connection window shut: keep s first and stop.
					c.sched.pushFront(s)
					break
				}
				continue // stream window shut: wait for its WINDOW_UPDATE
			}
			end := n == b && s.endQueued && s.trailers == nil
			dst = frame.AppendData(dst, s.id, end, s.buf[s.off:s.off+int(n)])
			s.off += int(n)
			s.out.avail -= n
			c.connOut.avail -= n
			c.sendBuffered -= int(n)
			if s.off == len(s.buf) {
				s.buf, s.off = s.buf[:0], 0
			}
			if s.blocked {
				c.noteWritable(s)
			}
			switch {
			case end:
				s.endQueued = false
				c.sendEnd(s)
				continue
			case s.buffered() > 0:
				c.sched.push(s)
				continue
			case !s.endQueued:
				continue
			}
		}
		// The buffer is empty and the stream ends: trailers or END_STREAM.
		if s.trailers != nil {
			dst = c.appendFieldBlock(dst, s.id, 0, s.trailers, -1, true)
			s.trailers = nil
		} else {
			dst = frame.AppendData(dst, s.id, true, nil)
		}
		s.endQueued = false
		c.sendEnd(s)
	}
	return dst
}

// sendEnd applies our END_STREAM to s.
func (c *Conn) sendEnd(s *stream) {
	t := step(s.state, sendEndStream)
	if t.next == StateClosed {
		c.closeStream(s, closeReason{})
		return
	}
	s.state = t.next
	if s.abandoned {
		// Released with the response queued, now complete, while the
		// request is still open: nobody will read the rest of it, so ask
		// the peer to stop sending (RFC 9113 §8.1), as ReleaseStream does
		// for a response that was complete when released.
		c.queueCommand(frame.AppendRSTStream(c.out, s.id, frame.ErrCodeNo), 1)
		c.closeStream(s, closeReason{reset: true, code: frame.ErrCodeNo, released: true})
	}
}

// schedule queues s for DATA if it has something to send and may send it.
func (c *Conn) schedule(s *stream) {
	if s.inSched || !s.hasOutput() {
		return
	}
	if s.out.avail > 0 || s.buffered() == 0 {
		c.sched.push(s)
	}
}

// noteWritable remembers that s is owed an EventWritable once it has room.
func (c *Conn) noteWritable(s *stream) {
	if !s.owedWritable {
		s.owedWritable = true
		c.writeBlocked = append(c.writeBlocked, s.id)
	}
}

// flushWritable emits EventWritable for blocked streams whose buffer, and
// the connection's, drained to half their caps (hysteresis keeps a writer
// from waking for every frame).
func (c *Conn) flushWritable() {
	if len(c.writeBlocked) == 0 || c.sendBuffered > c.cfg.Limits.ConnSendBuffer/2 {
		return
	}
	kept := c.writeBlocked[:0]
	for _, id := range c.writeBlocked {
		s := c.streams[id]
		switch {
		case s == nil:
		case !s.blocked || !s.surfaced || !canSend(s.state):
			s.owedWritable = false
		case s.buffered() <= c.cfg.Limits.StreamSendBuffer/2:
			s.blocked, s.owedWritable = false, false
			c.emit(Event{Kind: EventWritable, StreamID: id})
		default:
			kept = append(kept, id)
		}
	}
	c.writeBlocked = kept
}

// lengthString formats a content-length value, remembering the last two so
// that a server answering with same-sized bodies does not allocate.
func (c *Conn) lengthString(n int64) string {
	for _, e := range c.clCache {
		if e.s != "" && e.n == int(n) {
			return e.s
		}
	}
	s := itoa(n)
	c.clCache[1], c.clCache[0] = c.clCache[0], lengthString{n: int(n), s: s}
	return s
}
