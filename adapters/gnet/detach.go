package h2gnet

import (
	"io"
	"strconv"
	"sync"

	"github.com/h2proto/h2/core"
)

// Detached is a stream handed off the event loop (Stream.Detach): a handle
// whose methods may be called from any goroutine but the event loops'. Each
// call is queued to
// the connection's loop (waking it with gnet.Conn.Wake) and applied there;
// the response calls wait until the loop has applied them — Write until
// all of p is in the core's send buffer, which is where flow control holds
// a large body back — and return the command's error. Calls are
// serialised: concurrent calls take turns.
//
// The request body is read with Read (and Trailers after io.EOF); it is
// credited to the peer's flow-control window only as it is read, so an
// unread body stops the peer after one stream window.
//
// Its methods must not be called on an event loop (in ServeH2 or an event
// callback): they wait for the connection's loop, so called on that loop
// they would wait for ever, and called on another loop they stall every
// connection of that one meanwhile. A call made on the connection's own
// loop is detected and fails with ErrOnLoop (Read only when it would
// wait); hand the handle to a goroutine instead.
//
// Once the stream has ended (the peer reset it, the handler panicked, the
// connection closed), blocked and later calls return why.
//
// Close must be called when the handler is done with the stream: it
// releases the stream's slot (core.Conn.ReleaseStream; a stream the peer
// reset stays counted against MaxConcurrentStreams until then, the Rapid
// Reset defence of DESIGN §5) and, if the response was not ended, resets
// it with CANCEL.
type Detached struct {
	c   *conn
	id  uint32
	req Request

	callMu sync.Mutex // one call at a time
	result chan error // the loop's answer to the call in flight

	mu       sync.Mutex
	body     []byte // received and not yet read, from off
	off      int
	bodyEnd  bool
	err      error // why the stream ended abnormally
	trailers []HeaderField
	readable chan struct{} // a token when body, bodyEnd or err changes

	// Loop side: a Write waiting for EventWritable.
	pending    bool
	pendData   []byte
	pendEnd    bool
	terminated bool
	termErr    error // why the stream ended, if abnormally
}

// Detach hands the stream to another goroutine: its events go to the
// returned handle instead of a callback, and its content is credited as
// the handle reads it. Call it on the loop (in ServeH2 or an event
// callback); the handle then belongs to whoever it is given to.
func (s Stream) Detach() (*Detached, error) {
	c := s.c
	if c == nil {
		return nil, ErrZeroStream
	}
	st, err := c.state(s.id)
	if err != nil {
		return nil, err
	}
	if st.det != nil {
		return nil, ErrAlreadyDetached
	}
	if st.terminal {
		// Called from the callback of the stream's terminal event: the
		// handle would never hear of the stream again.
		return nil, ErrStreamDone
	}
	d := &Detached{c: c, id: s.id, result: make(chan error, 1), readable: make(chan struct{}, 1)}
	if c.curID == s.id {
		d.req = cloneRequest(&c.req)
	}
	d.bodyEnd = st.ended || (c.curID == s.id && c.req.EndStream)
	st.det, st.fn, st.manual = d, nil, true
	return d, nil
}

// ID returns the stream identifier.
func (d *Detached) ID() uint32 { return d.id }

// Request returns a copy of the request head (empty if Detach was called
// after ServeH2 returned).
func (d *Detached) Request() *Request { return &d.req }

// Respond sends a complete response, like Stream.Respond, except that a
// body larger than the send buffers is sent too: the head first, then the
// body as flow control allows, the call returning once all of it is queued.
func (d *Detached) Respond(status int, headers []HeaderField, body []byte) error {
	return d.call(op{kind: opRespond, status: status, fields: headers, data: body})
}

// WriteHeaders sends the response head (see Stream.WriteHeaders).
func (d *Detached) WriteHeaders(status int, headers []HeaderField, endStream bool) error {
	return d.call(op{kind: opHeaders, status: status, fields: headers, end: endStream})
}

// Write queues p as response content, waiting while the stream's send
// buffer is full (RFC 9113 §6.9 flow control) until all of p is queued or
// the stream ends. p is not retained after Write returns.
func (d *Detached) Write(p []byte) (int, error) {
	if err := d.call(op{kind: opWrite, data: p}); err != nil {
		return 0, err
	}
	return len(p), nil
}

// CloseWrite ends the response after the queued content.
func (d *Detached) CloseWrite() error {
	return d.call(op{kind: opWrite, end: true})
}

// WriteTrailers ends the response with a trailer section (RFC 9113 §8.1).
func (d *Detached) WriteTrailers(trailers []HeaderField) error {
	return d.call(op{kind: opTrailers, fields: trailers})
}

// Reset resets the stream with RST_STREAM(code).
func (d *Detached) Reset(code core.ErrCode) error {
	return d.call(op{kind: opReset, code: code})
}

// Close releases the stream (see Detached); later calls fail.
func (d *Detached) Close() error {
	return d.call(op{kind: opRelease})
}

// Read reads the request body; io.EOF at its end, or the stream's error
// (a *core.StreamError, ErrConnClosed) if it ended abnormally.
func (d *Detached) Read(p []byte) (int, error) {
	if d == nil || d.c == nil {
		return 0, ErrZeroStream
	}
	for {
		d.mu.Lock()
		if d.off < len(d.body) {
			n := copy(p, d.body[d.off:])
			d.off += n
			if d.off == len(d.body) {
				d.body, d.off = d.body[:0], 0
			}
			d.mu.Unlock()
			if n > 0 {
				_ = d.c.enqueue(op{kind: opConsume, d: d, n: n})
			}
			return n, nil
		}
		end, err := d.bodyEnd, d.err
		d.mu.Unlock()
		switch {
		case end:
			return 0, io.EOF
		case err != nil:
			return 0, err
		case len(p) == 0:
			return 0, nil
		case d.c.loop.onLoop():
			return 0, ErrOnLoop
		}
		<-d.readable
	}
}

// Trailers returns the request's trailer fields once Read has returned
// io.EOF, or nil.
func (d *Detached) Trailers() []HeaderField {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.trailers
}

func (d *Detached) call(o op) error {
	if d == nil || d.c == nil {
		return ErrZeroStream
	}
	if d.c.loop.onLoop() {
		return ErrOnLoop
	}
	d.callMu.Lock()
	defer d.callMu.Unlock()
	o.d = d
	if err := d.c.enqueue(o); err != nil {
		return err
	}
	return <-d.result
}

func (d *Detached) signal() {
	select {
	case d.readable <- struct{}{}:
	default:
	}
}

// event takes one of the stream's events, on the loop.
func (d *Detached) event(e *Event) {
	switch e.Kind {
	case core.EventData:
		d.mu.Lock()
		if d.off > 0 {
			// Move the unread bytes to the front, so that the buffer is
			// bounded by the unread content (at most the stream's window:
			// it is credited only as it is read), not by all received.
			n := copy(d.body, d.body[d.off:])
			d.body, d.off = d.body[:n], 0
		}
		d.body = append(d.body, e.Data...)
		if e.EndStream {
			d.bodyEnd = true
		}
		d.mu.Unlock()
		d.signal()
	case core.EventTrailers:
		t := cloneFields(e.Headers)
		d.mu.Lock()
		d.trailers, d.bodyEnd = t, true
		d.mu.Unlock()
		d.signal()
	case core.EventWritable:
		if d.pending {
			d.pending = false
			d.c.sendData(d, d.pendData, d.pendEnd)
		}
	case core.EventStreamReset:
		var err error = e.StreamErr()
		if e.Err != nil {
			err = e.Err
		}
		d.ended(err)
	case core.EventStreamClosed:
		d.ended(nil)
	}
}

// ended records the end of the stream, on the loop: a reader waiting for
// more body and a Write waiting for room get err.
func (d *Detached) ended(err error) {
	if d.terminated {
		return
	}
	d.terminated, d.termErr = true, err
	d.mu.Lock()
	if d.err == nil && err != nil && !d.bodyEnd {
		d.err = err
	}
	d.mu.Unlock()
	d.signal()
	if d.pending {
		d.pending, d.pendData = false, nil
		if err == nil {
			err = core.ErrStreamClosed
		}
		d.result <- err
	}
}

// op is a command queued by a Detached handle.
type op struct {
	kind   opKind
	d      *Detached
	status int
	end    bool
	fields []HeaderField
	data   []byte
	code   core.ErrCode
	n      int
}

type opKind uint8

const (
	opRespond opKind = iota
	opHeaders
	opWrite
	opTrailers
	opReset
	opRelease
	opConsume // asynchronous: no answer
)

func (o *op) fail(err error) {
	if o.kind != opConsume {
		o.d.result <- err
	}
}

// enqueue queues o for the loop and wakes it.
func (c *conn) enqueue(o op) error {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return ErrConnClosed
	}
	c.ops = append(c.ops, o)
	wake := !c.wakePending
	c.wakePending = true
	c.opsPending.Store(true)
	c.mu.Unlock()
	if wake {
		// An error means the loop is going away; OnClose then fails the
		// queued ops.
		_ = c.gc.Wake(nil)
	}
	return nil
}

// applyOps runs the queued commands, on the loop.
func (c *conn) applyOps() {
	c.mu.Lock()
	ops := c.ops
	c.ops, c.spare = c.spare[:0], nil
	c.wakePending = false
	c.opsPending.Store(false)
	c.mu.Unlock()
	for i := range ops {
		c.apply(&ops[i])
		ops[i] = op{}
	}
	c.spare = ops[:0]
}

func (c *conn) apply(o *op) {
	d := o.d
	var err error
	switch o.kind {
	case opConsume:
		_ = c.core.Consume(d.id, o.n)
		return
	case opRespond, opHeaders, opWrite, opTrailers:
		if d.termErr != nil {
			// The stream was reset (or the connection lost): say why,
			// rather than the core's bare ErrStreamClosed.
			d.result <- d.termErr
			return
		}
	}
	switch o.kind {
	case opRespond:
		err = c.core.Respond(d.id, o.status, o.fields, o.data)
		if err == core.ErrSendBufferFull {
			// Too big for one go: the head, then the body as it fits.
			hdr := append([]HeaderField{{Name: ":status", Value: statusValue(o.status)}}, o.fields...)
			if !hasField(o.fields, "content-length") {
				hdr = append(hdr, HeaderField{Name: "content-length", Value: strconv.Itoa(len(o.data))})
			}
			if err = c.core.SendHeaders(d.id, hdr, false); err == nil {
				c.sendData(d, o.data, true)
				return
			}
		}
	case opHeaders:
		err = c.writeHeaders(d.id, o.status, o.fields, o.end)
	case opWrite:
		c.sendData(d, o.data, o.end)
		return
	case opTrailers:
		err = c.core.SendTrailers(d.id, o.fields)
	case opReset:
		err = c.core.ResetStream(d.id, o.code)
	case opRelease:
		if st := c.streams[d.id]; st != nil && st.det == d {
			delete(c.streams, d.id)
		}
		_ = c.core.ReleaseStream(d.id)
	}
	d.result <- err
}

// sendData queues p (and END_STREAM) for a Detached write, answering the
// call once all of it is in the core; a full send buffer parks the rest
// until EventWritable.
func (c *conn) sendData(d *Detached, p []byte, end bool) {
	n, err := c.core.SendData(d.id, p, end)
	if err == core.ErrSendBufferFull && !d.terminated {
		d.pending, d.pendData, d.pendEnd = true, p[n:], end
		return
	}
	d.result <- err
}

func hasField(fs []HeaderField, name string) bool {
	for _, f := range fs {
		if f.Name == name {
			return true
		}
	}
	return false
}
