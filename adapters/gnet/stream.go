package h2gnet

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// HeaderField is one header or trailer field (core.HeaderField).
type HeaderField = core.HeaderField

// Event is what happened on a stream (core.Event); see Stream.OnEvent.
type Event = core.Event

// Errors of the adapter's own; the core's sentinels (core.ErrSendBufferFull,
// core.ErrStreamClosed, …) come through unchanged.
var (
	// ErrConnClosed: the connection is gone; a Detached call cannot run.
	ErrConnClosed = errors.New("h2gnet: connection closed")
	// ErrStreamDone: the stream has ended (or was never known), so no
	// callback can be registered on it.
	ErrStreamDone = errors.New("h2gnet: stream has ended")
	// ErrAlreadyDetached: Detach was called twice for one stream, or a
	// Stream method was called after Detach (the Detached handle owns the
	// stream then).
	ErrAlreadyDetached = errors.New("h2gnet: stream already detached")
	// ErrZeroStream: a method was called on a zero Stream or Detached,
	// not one the server handed out.
	ErrZeroStream = errors.New("h2gnet: zero Stream or Detached (not from the server)")
	// ErrOnLoop: a Detached method that waits for the event loop was
	// called on that loop (from ServeH2 or an event callback), where it
	// would wait for ever.
	ErrOnLoop = errors.New("h2gnet: Detached method called on its connection's event loop")
)

// A Handler answers requests. ServeH2 runs on the connection's event
// loop, once per request, and must not block: it answers at once (Respond,
// or WriteHeaders and Write), registers an event callback (OnEvent) to go
// on as the request body arrives and the send window opens, or hands the
// stream to a goroutine (Detach). When it returns without having done one
// of the last two, the stream is released (core.Conn.ReleaseStream): a
// response queued in full is still sent and the rest of the request body
// is discarded, and a stream whose response was not ended is reset with
// CANCEL (RFC 9113 §8.1): nothing else could ever finish it.
//
// req and everything it refers to are valid only until ServeH2 returns;
// copy what must live longer (Detach copies it).
type Handler interface {
	ServeH2(s Stream, req *Request)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(s Stream, req *Request)

// ServeH2 calls f(s, req).
func (f HandlerFunc) ServeH2(s Stream, req *Request) { f(s, req) }

// Stream is a request stream as seen on its connection's event loop: a
// small value naming the connection and the stream ID. Its methods are the
// core's commands for the stream and must be called only on that loop —
// from ServeH2 or an event callback — never from another goroutine (use
// Detach for that). They do not block. Output is written when the callback
// returns. A Stream kept after its stream ended only gets errors
// (core.ErrStreamClosed and the like); after Detach they return
// ErrAlreadyDetached, and on a zero Stream ErrZeroStream.
type Stream struct {
	c  *conn
	id uint32
}

// ID returns the stream identifier.
func (s Stream) ID() uint32 { return s.id }

// conn returns the stream's connection, or why its methods may not be
// used: a zero Stream, or a stream handed to a Detached handle.
func (s Stream) conn() (*conn, error) {
	c := s.c
	if c == nil {
		return nil, ErrZeroStream
	}
	if len(c.streams) > 0 {
		if st := c.streams[s.id]; st != nil && st.det != nil {
			return nil, ErrAlreadyDetached
		}
	}
	return c, nil
}

// Respond sends a complete response: status, headers (regular fields
// only) and body, with a content-length added when headers has none
// (core.Conn.Respond). It is all or nothing: a body larger than the send
// buffers (core.Limits.StreamSendBuffer, 64 KiB by default) returns
// core.ErrSendBufferFull; send such bodies with WriteHeaders and Write.
func (s Stream) Respond(status int, headers []HeaderField, body []byte) error {
	c, err := s.conn()
	if err != nil {
		return err
	}
	return c.core.Respond(s.id, status, headers, body)
}

// WriteHeaders sends the response head: an informational (1xx) response,
// which may be repeated, or the final one. With endStream the response has
// no content.
func (s Stream) WriteHeaders(status int, headers []HeaderField, endStream bool) error {
	c, err := s.conn()
	if err != nil {
		return err
	}
	return c.writeHeaders(s.id, status, headers, endStream)
}

func (c *conn) writeHeaders(id uint32, status int, headers []HeaderField, endStream bool) error {
	c.hdr = append(c.hdr[:0], HeaderField{Name: ":status", Value: statusValue(status)})
	c.hdr = append(c.hdr, headers...)
	err := c.core.SendHeaders(id, c.hdr, endStream)
	clear(c.hdr)
	return err
}

// Write queues response content. It takes as much of p as the send buffers
// allow and returns how much; if that is less than len(p) the error is
// core.ErrSendBufferFull and an EventWritable follows when there is room
// (register OnEvent to get it). The bytes leave as the peer's flow-control
// windows allow (RFC 9113 §6.9); p may be reused at once.
func (s Stream) Write(p []byte) (int, error) {
	c, err := s.conn()
	if err != nil {
		return 0, err
	}
	return c.core.SendData(s.id, p, false)
}

// CloseWrite ends the response (END_STREAM after the queued content).
func (s Stream) CloseWrite() error {
	c, err := s.conn()
	if err != nil {
		return err
	}
	_, err = c.core.SendData(s.id, nil, true)
	return err
}

// WriteTrailers ends the response with a trailer section (RFC 9113 §8.1).
func (s Stream) WriteTrailers(trailers []HeaderField) error {
	c, err := s.conn()
	if err != nil {
		return err
	}
	return c.core.SendTrailers(s.id, trailers)
}

// Reset resets the stream with RST_STREAM(code) (RFC 9113 §6.4), dropping
// what was queued for it. No event follows for it.
func (s Stream) Reset(code core.ErrCode) error {
	c, err := s.conn()
	if err != nil {
		return err
	}
	err = c.core.ResetStream(s.id, code)
	c.dropState(s.id, &core.StreamError{StreamID: s.id, Code: code, Token: "local_reset"})
	return err
}

// OnEvent registers fn for the stream's further events, called on the loop
// in order: EventData (the request body; Data is valid only during the
// call), EventTrailers, EventWritable (room in the send buffer after
// ErrSendBufferFull), and exactly one terminal event, EventStreamClosed or
// EventStreamReset, after which fn is dropped. Received content is
// credited back to the peer's window when fn returns, unless
// SetManualConsume was called. Registering again replaces fn. It fails with
// ErrStreamDone if the stream has already ended.
func (s Stream) OnEvent(fn func(s Stream, e *Event)) error {
	st, err := s.state()
	if err != nil {
		return err
	}
	st.fn = fn
	return nil
}

// SetManualConsume stops the automatic crediting of received content for
// this stream: only Consume returns it to the flow-control windows, so the
// peer can send no more than the stream's window (Config.InitialWindowSize)
// beyond what the handler has used. Use it when content cannot be passed on
// at once (an echo whose send buffer is full).
func (s Stream) SetManualConsume() error {
	st, err := s.state()
	if err != nil {
		return err
	}
	st.manual = true
	return nil
}

// Consume returns n bytes of received content to the stream's and the
// connection's flow-control windows (see SetManualConsume).
func (s Stream) Consume(n int) error {
	c, err := s.conn()
	if err != nil {
		return err
	}
	return c.core.Consume(s.id, n)
}

// Request returns the request head during ServeH2, nil after it.
func (s Stream) Request() *Request {
	if s.c == nil || s.c.curID != s.id {
		return nil
	}
	return &s.c.req
}

// state returns the stream's state for a Stream method, creating it.
func (s Stream) state() (*streamState, error) {
	if s.c == nil {
		return nil, ErrZeroStream
	}
	st, err := s.c.state(s.id)
	if err == nil && st.det != nil {
		return nil, ErrAlreadyDetached
	}
	return st, err
}

// streamState is what the adapter keeps for a stream that has a callback
// or a Detached handle; plain streams have none.
type streamState struct {
	fn       func(Stream, *Event)
	det      *Detached
	manual   bool
	ended    bool // the request's content ended
	terminal bool // its terminal event is being delivered
}

// state returns the stream's state, creating it for a live stream.
func (c *conn) state(id uint32) (*streamState, error) {
	if st := c.streams[id]; st != nil {
		return st, nil
	}
	switch c.core.StreamState(id) {
	case core.StateIdle, core.StateClosed:
		return nil, ErrStreamDone
	}
	if c.streams == nil {
		c.streams = make(map[uint32]*streamState)
	}
	var st *streamState
	if n := len(c.free); n > 0 {
		st, c.free = c.free[n-1], c.free[:n-1]
	} else {
		st = new(streamState)
	}
	c.streams[id] = st
	return st, nil
}

// dropState forgets the stream's state; a Detached handle still attached
// ends with err (the stream was reset here: no terminal event follows).
func (c *conn) dropState(id uint32, err error) {
	if st := c.streams[id]; st != nil {
		delete(c.streams, id)
		if st.det != nil {
			st.det.ended(err)
			return
		}
		*st = streamState{}
		c.free = append(c.free, st)
	}
}

// serve runs the handler for a new request.
func (c *conn) serve(e *Event) {
	id := e.StreamID
	c.req.Set(e.Headers, e.EndStream)
	c.curID = id
	c.call(func() { c.srv.Handler.ServeH2(Stream{c, id}, &c.req) }, id)
	c.curID = 0
	if c.streams[id] == nil {
		// Nobody will see this stream again: a response queued in full is
		// still sent (and a request body still credited), anything else is
		// reset with CANCEL (core.Conn.ReleaseStream).
		_ = c.core.ReleaseStream(id)
	}
}

// call runs handler code, turning a panic into a logged stream reset so
// that one handler cannot take the event loop (and every connection on it)
// down.
//
// While f runs, the loop is marked as inside a callback, so that a
// Detached call made there fails with ErrOnLoop instead of deadlocking.
func (c *conn) call(f func(), id uint32) {
	l := c.loop
	if l.gid == 0 {
		l.gid = goid() // published to other goroutines by inCallback
	}
	l.inCallback.Store(true)
	defer func() {
		l.inCallback.Store(false)
		if r := recover(); r != nil {
			c.srv.logger().Printf("h2gnet: handler panic on stream %d: %v\n%s", id, r, debug.Stack())
			_ = c.core.ResetStream(id, frame.ErrCodeInternal)
			c.dropState(id, &core.StreamError{StreamID: id, Code: frame.ErrCodeInternal, Token: "handler_panic"})
		}
	}()
	f()
}

// streamEvent routes a stream's event to its callback or Detached handle;
// a stream with neither gets its content credited and, if the peer reset
// it, released (core.Conn.ReleaseStream).
func (c *conn) streamEvent(e *Event) {
	id := e.StreamID
	var st *streamState
	if len(c.streams) > 0 {
		st = c.streams[id]
	}
	if st == nil {
		switch e.Kind {
		case core.EventData:
			if len(e.Data) > 0 {
				_ = c.core.Consume(id, len(e.Data))
			}
		case core.EventStreamReset:
			if e.Err == nil {
				_ = c.core.ReleaseStream(id)
			}
		}
		return
	}
	if e.Kind == core.EventTrailers || (e.Kind == core.EventData && e.EndStream) {
		st.ended = true
	}
	terminal := e.Kind == core.EventStreamClosed || e.Kind == core.EventStreamReset
	// Read before the callback, which may Detach (making it manual): the
	// content it was handed is still credited.
	manual := st.manual
	if terminal {
		st.terminal = true // Detach is refused from now on
	}
	switch {
	case st.det != nil:
		st.det.event(e)
		if terminal {
			delete(c.streams, id)
		}
		return
	case st.fn != nil:
		fn := st.fn
		c.call(func() { fn(Stream{c, id}, e) }, id)
	}
	if e.Kind == core.EventData && len(e.Data) > 0 && !manual {
		_ = c.core.Consume(id, len(e.Data))
	}
	if terminal {
		c.dropState(id, ErrStreamDone)
		if e.Kind == core.EventStreamReset && e.Err == nil {
			_ = c.core.ReleaseStream(id)
		}
	}
}

// statusValues holds the :status values 100-999, so that WriteHeaders does
// not format one per response.
var statusValues = func() (t [900]string) {
	for i := range t {
		t[i] = strconv.Itoa(100 + i)
	}
	return
}()

func statusValue(status int) string {
	if status >= 100 && status <= 999 {
		return statusValues[status-100]
	}
	return fmt.Sprint(status) // refused by the core as malformed
}
