package core

import (
	"github.com/h2proto/h2/core/frame"
)

// StreamOptions configures a stream opened with OpenStream.
type StreamOptions struct {
	// EndStream sends the request without content: its HEADERS frame
	// carries END_STREAM.
	EndStream bool

	// ManualFlowControl opens the stream's receive window, and returns its
	// bytes to the connection window, only as the application calls Consume
	// for the data it has used. Otherwise data is credited as it is
	// delivered.
	ManualFlowControl bool
}

// OpenStream starts a request (client role) with the given header fields,
// pseudo-header fields first (RFC 9113 §8.3.1), and returns its stream ID.
// The HEADERS frame is queued for PollTransmit; send content with SendData.
//
// It fails without sending anything if the fields break an RFC 9113 §8 rule
// (*MessageError), exceed the peer's SETTINGS_MAX_HEADER_LIST_SIZE, use
// :protocol before the server enabled extended CONNECT (RFC 8441), or if no
// stream can be opened now (see CanOpenStream).
func (c *Conn) OpenStream(headers []HeaderField, opts StreamOptions) (uint32, error) {
	if err := c.openStreamErr(); err != nil {
		return 0, err
	}
	info, idx, e := checkRequest(headers, true, &c.cfg.Relax)
	switch {
	case e != nil:
		return 0, messageError(headers, idx, e)
	case info.protocol != "" && !c.peer.EnableConnectProtocol:
		return 0, ErrExtendedConnectDisabled
	case opts.EndStream && info.contentLength > 0:
		return 0, ErrContentLength
	case headerListSize(0, headers) > uint64(c.peer.MaxHeaderListSize):
		return 0, ErrHeaderListTooLarge
	}
	id := c.nextLocalID
	c.nextLocalID += 2
	c.queueFields(id, 0, headers, -1, opts.EndStream)
	s := c.newStream(id, true)
	s.surfaced = true
	s.manual = opts.ManualFlowControl
	s.head = info.method == "HEAD"
	s.connect = info.method == "CONNECT"
	s.sendCL = info.contentLength
	if opts.EndStream {
		c.sendEnd(s)
	}
	return id, nil
}

func (c *Conn) openStreamErr() error {
	switch {
	case c.role != RoleClient:
		return ErrNotClient
	case c.closing || c.closed:
		return ErrClosed
	case c.goAway.sent > 0:
		return ErrGoAwaySent
	case c.goAway.recv:
		return ErrGoAwayReceived
	case uint32(c.activeLocal) >= c.peer.MaxConcurrentStreams:
		return ErrMaxStreams
	case c.nextLocalID > frame.MaxStreamID:
		return ErrStreamIDsExhausted
	}
	return nil
}

// sendable returns the stream the application may send on.
func (c *Conn) sendable(id uint32) (*stream, error) {
	if c.closing || c.closed {
		return nil, ErrClosed
	}
	s := c.streams[id]
	switch {
	case s == nil && c.isIdle(id):
		return nil, ErrStreamNotFound
	case s == nil || s.state == StateClosed:
		return nil, ErrStreamClosed
	case !s.surfaced:
		return nil, ErrStreamNotFound
	case !canSend(s.state) || s.endQueued:
		return nil, ErrStreamClosed
	}
	return s, nil
}

// SendHeaders sends response headers (server role): an informational 1xx
// response, which may be repeated, or the final response. headers must start
// with the :status pseudo-header field. With endStream the response has no
// content. Use Respond to send headers and a body in one call, SendTrailers
// for trailers.
func (c *Conn) SendHeaders(id uint32, headers []HeaderField, endStream bool) error {
	s, err := c.responding(id)
	if err != nil {
		return err
	}
	info, idx, e := checkResponse(headers, &c.cfg.Relax)
	if e != nil {
		return messageError(headers, idx, e)
	}
	st := info.status
	noBody, tunnel := s.head || st == 204 || st == 304, s.connect && st >= 200 && st < 300
	switch {
	case st == 101:
		return messageError(headers, -1, ruleStatus101)
	case st < 200 && endStream:
		return messageError(headers, -1, ruleInfoEndStream)
	case tunnel && info.contentLength >= 0:
		return messageError(headers, -1, ruleTunnelLength)
	case (st < 200 || st == 204) && info.contentLength >= 0:
		// "A server MUST NOT send a Content-Length header field in any
		// response with a status code of 1xx or 204" (RFC 9110 §8.6).
		return messageError(headers, -1, ruleNoContentLength)
	case endStream && !noBody && info.contentLength > 0:
		return ErrContentLength
	case headerListSize(0, headers) > uint64(c.peer.MaxHeaderListSize):
		return ErrHeaderListTooLarge
	}
	c.queueFields(id, 0, headers, -1, endStream)
	if st >= 200 {
		c.finalSent(s, st, info.contentLength, noBody, tunnel)
	}
	if endStream {
		c.sendEnd(s)
	}
	return nil
}

// responding returns a server stream whose final response is not sent yet.
func (c *Conn) responding(id uint32) (*stream, error) {
	if c.role != RoleServer {
		return nil, ErrNotServer
	}
	s, err := c.sendable(id)
	if err == nil && s.sentFinal {
		err = ErrInvalidStreamState
	}
	return s, err
}

func (c *Conn) finalSent(s *stream, status int, cl int64, noBody, tunnel bool) {
	s.sentFinal, s.sendNoBody, s.tunnel = true, noBody, tunnel
	if !noBody && !tunnel {
		s.sendCL = cl
	}
}

// Respond sends a complete response (server role): HEADERS with status and
// headers (regular fields only, no pseudo-header fields), then body, queued
// together so that one PollTransmit returns both when the flow-control
// windows allow. A content-length field is added when headers has none and
// the response may have content. To a CONNECT request, a 2xx Respond opens
// the tunnel instead of ending the stream.
//
// Respond is all or nothing: if body does not fit the send buffers
// (Limits.StreamSendBuffer, Limits.ConnSendBuffer) it returns
// ErrSendBufferFull and sends nothing; use SendHeaders and SendData for
// larger bodies.
func (c *Conn) Respond(id uint32, status int, headers []HeaderField, body []byte) error {
	s, err := c.responding(id)
	if err != nil {
		return err
	}
	info := msgInfo{contentLength: -1}
	if idx, e := checkFields(headers, &c.cfg.Relax, &info, ruleUnknownPseudo); e != nil {
		return messageError(headers, idx, e)
	}
	noBody, tunnel := s.head || status == 204 || status == 304, s.connect && status >= 200 && status < 300
	cl := int64(-1)
	if info.contentLength < 0 && !noBody && !tunnel {
		cl = int64(len(body))
	}
	switch {
	case status < 200 || status > 999:
		return messageError(headers, -1, ruleBadStatus)
	case len(body) > 0 && noBody:
		return ErrBodyNotAllowed
	case tunnel && info.contentLength >= 0:
		return messageError(headers, -1, ruleTunnelLength)
	case status == 204 && info.contentLength >= 0:
		return messageError(headers, -1, ruleNoContentLength)
	case info.contentLength >= 0 && !noBody && info.contentLength != int64(len(body)):
		return ErrContentLength
	case len(body) > c.sendRoom(s):
		return ErrSendBufferFull
	case headerListSize(status, headers)+clFieldSize(cl) > uint64(c.peer.MaxHeaderListSize):
		return ErrHeaderListTooLarge
	}
	end := len(body) == 0 && !tunnel
	c.queueFields(id, status, headers, cl, end)
	c.finalSent(s, status, max(info.contentLength, cl), noBody, tunnel)
	if len(body) > 0 {
		c.buffer(s, body)
		s.endQueued = !tunnel
		c.schedule(s)
	} else if end {
		c.sendEnd(s)
	}
	return nil
}

// sendRoom is how many more bytes SendData may buffer for s.
func (c *Conn) sendRoom(s *stream) int {
	return max(0, min(c.cfg.Limits.StreamSendBuffer-s.buffered(), c.cfg.Limits.ConnSendBuffer-c.sendBuffered))
}

func (c *Conn) buffer(s *stream, p []byte) {
	if s.off > 0 && cap(s.buf)-len(s.buf) < len(p) {
		n := copy(s.buf, s.buf[s.off:])
		s.buf, s.off = s.buf[:n], 0
	}
	c.setSendBuf(s, append(s.buf, p...))
	s.sendQueued += int64(len(p))
	c.sendBuffered += len(p)
	if c.mem.sendCap > c.sendCapHigh() {
		c.compactSendBuffers()
	}
}

// SendData queues content for a stream; with endStream, END_STREAM follows
// it. It copies as much of p as the send buffers allow
// (Limits.StreamSendBuffer, Limits.ConnSendBuffer) and returns how much; if
// that is less than len(p) it returns ErrSendBufferFull, ignores endStream,
// and emits EventWritable once there is room again. The bytes leave through
// PollTransmit as the flow-control windows allow (RFC 9113 §6.9).
func (c *Conn) SendData(id uint32, p []byte, endStream bool) (int, error) {
	s, err := c.sendable(id)
	if err != nil {
		return 0, err
	}
	switch {
	case c.role == RoleServer && !s.sentFinal:
		return 0, ErrInvalidStreamState
	case len(p) > 0 && s.sendNoBody:
		return 0, ErrBodyNotAllowed
	case s.sendCL >= 0 && (s.sendQueued+int64(len(p)) > s.sendCL ||
		(endStream && s.sendQueued+int64(len(p)) != s.sendCL)):
		return 0, ErrContentLength
	}
	n := min(len(p), c.sendRoom(s))
	c.buffer(s, p[:n])
	if n < len(p) {
		s.blocked = true
		c.noteWritable(s)
		c.schedule(s)
		return n, ErrSendBufferFull
	}
	s.endQueued = endStream
	c.schedule(s)
	return n, nil
}

// SendTrailers ends a stream with a trailer section (RFC 9113 §8.1): regular
// fields only. It is sent after all buffered content. An empty list ends
// the stream with an empty DATA frame instead, as SendData(id, nil, true)
// does: an empty field block says nothing, and it could not carry a dynamic
// table size update the HPACK encoder owes (RFC 7541 §4.2).
func (c *Conn) SendTrailers(id uint32, trailers []HeaderField) error {
	s, err := c.sendable(id)
	if err != nil {
		return err
	}
	var info msgInfo
	info.contentLength = -1
	idx, e := checkFields(trailers, &c.cfg.Relax, &info, rulePseudoInTrailers)
	switch {
	case c.role == RoleServer && !s.sentFinal:
		return ErrInvalidStreamState
	case s.connect:
		return ErrTunnelTrailers
	case e != nil:
		return messageError(trailers, idx, e)
	case s.sendCL >= 0 && s.sendQueued != s.sendCL:
		return ErrContentLength
	case headerListSize(0, trailers) > uint64(c.peer.MaxHeaderListSize):
		return ErrHeaderListTooLarge
	case len(trailers) == 0:
		_, err := c.SendData(id, nil, true)
		return err
	}
	if s.buffered() == 0 && !s.inSched {
		c.queueFields(id, 0, trailers, -1, true)
		c.sendEnd(s)
		return nil
	}
	// Encode when the last DATA leaves, so that field blocks stay in wire
	// order for HPACK.
	s.trailers = append([]HeaderField(nil), trailers...)
	s.endQueued = true
	c.schedule(s)
	return nil
}

// ResetStream resets a stream with RST_STREAM(code) (RFC 9113 §6.4),
// discarding its buffered content. The stream gets its terminal
// EventStreamReset; for a server stream this also releases the
// application's hold on it. On a stream already closed it sends nothing; a
// server stream the application still holds is then released (as with
// ReleaseStream).
func (c *Conn) ResetStream(id uint32, code ErrCode) error {
	if c.closing || c.closed {
		return ErrClosed
	}
	s := c.streams[id]
	switch {
	case s == nil && c.isIdle(id):
		return ErrStreamNotFound
	case s == nil:
		return nil
	case !s.surfaced && !s.held:
		return ErrStreamNotFound
	case s.state == StateClosed:
		c.release(s)
		c.forget(s)
		return nil
	}
	c.queueCommand(frame.AppendRSTStream(c.out, id, code), 1)
	c.closeStream(s, closeReason{reset: true, code: code, token: "local_reset", released: true})
	return nil
}

// ReleaseStream tells the core that the application is done with a server
// stream: its slot counts again towards Config.MaxConcurrentStreams for
// surfacing new requests (DESIGN §5: a stream reset by the peer stays held
// until then, so that resets cannot start more work than the limit). If the
// stream is still open it is finished off: a response already queued is
// still sent, but no more events are reported, and if the request is still
// open once its END_STREAM is sent, RST_STREAM(NO_ERROR) follows it;
// otherwise RST_STREAM is sent at once (NO_ERROR after a complete response,
// RFC 9113 §8.1; CANCEL before).
func (c *Conn) ReleaseStream(id uint32) error {
	if c.role != RoleServer {
		return ErrNotServer
	}
	s := c.streams[id]
	switch {
	case s == nil && c.isIdle(id):
		return ErrStreamNotFound
	case s == nil || !s.held:
		return nil
	case s.state == StateClosed:
		c.release(s)
		c.forget(s)
	case s.state == StateHalfClosedLocal:
		c.queueCommand(frame.AppendRSTStream(c.out, id, frame.ErrCodeNo), 1)
		s.surfaced = false
		c.closeStream(s, closeReason{reset: true, code: frame.ErrCodeNo, released: true})
	case s.endQueued:
		s.surfaced = false // keep sending what is queued; report nothing more
		s.abandoned = true // and finish the request side once it is sent (sendEnd)
		c.release(s)
		// Nobody will Consume what was delivered: credit it now, as what
		// arrives from here on is (onData), so that the peer can finish
		// its side and the stream can close.
		if s.unconsumed > 0 {
			c.credit(s, s.unconsumed)
			s.unconsumed = 0
		}
	default:
		c.queueCommand(frame.AppendRSTStream(c.out, id, frame.ErrCodeCancel), 1)
		s.surfaced = false
		c.closeStream(s, closeReason{reset: true, code: frame.ErrCodeCancel, released: true})
	}
	return nil
}

// Consume returns n bytes of received content to the flow-control windows
// of a stream in manual mode (StreamOptions.ManualFlowControl) and of the
// connection; WINDOW_UPDATE frames follow once enough credit has gathered.
// Consuming on a stream that has closed, or that a server released
// (ReleaseStream), is a no-op: its unconsumed bytes were returned then.
func (c *Conn) Consume(id uint32, n int) error {
	if n < 0 {
		return ErrConsumeTooMuch
	}
	if c.closing || c.closed {
		return ErrClosed
	}
	s := c.streams[id]
	switch {
	case s == nil && c.isIdle(id):
		return ErrStreamNotFound
	case s == nil || s.state == StateClosed || (!s.surfaced && !s.pending):
		return nil // closed, or released: its content was credited already
	case !s.manual:
		return ErrNotManualFlowControl
	case int64(n) > s.unconsumed:
		return ErrConsumeTooMuch
	}
	s.unconsumed -= int64(n)
	c.credit(s, int64(n))
	return nil
}

// clFieldSize bounds the RFC 7541 §4.1 size of the content-length field
// Respond adds (at most 19 digits).
func clFieldSize(cl int64) uint64 {
	if cl < 0 {
		return 0
	}
	return uint64(len("content-length") + 19 + 32)
}
