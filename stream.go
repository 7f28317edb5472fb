package h2

import (
	"context"
	"log"
	"strings"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// HeaderField is a header or trailer field (the core's type).
type HeaderField = core.HeaderField

// Event is what a stream handler receives: the core's event type, with
// Headers and Data owned by the runtime (see SetHandler for how long).
type Event = core.Event

// Stream is one HTTP/2 stream: a client's request or a request a server
// received. Its events — response headers, 1xx, body, trailers, the end —
// are queued in order until the application takes them, either pulling with
// the methods below (Response, Read, Trailers) or having them pushed to a
// handler (SetHandler). Connection-wide events reach each open stream too:
// a GOAWAY from the peer is queued as an EventGoAway (the pull methods skip
// it), and the end of the connection ends every stream with an
// EventStreamReset whose Err says why.
//
// One goroutine may read a stream while another writes it. Stream methods
// are safe for concurrent use, but two concurrent readers (or two writers)
// see an unspecified interleaving.
type Stream struct {
	c      *Conn
	id     uint32
	server bool
	manual bool // the application calls Consume

	// Guarded by c.mu.
	q         []qitem // events not yet taken, from qhead on
	qhead     int
	rbuf      []byte  // content of queued EventData
	rbox      *buffer // the pool's box rbuf came in (see takeBuffer)
	handler   func(*Stream, Event)
	running   bool // a delivery to handler is scheduled or running
	inHandler bool // handler holds a slice of rbuf
	terminal  bool
	eof       bool // the receive side ended (END_STREAM, trailers)
	err       error
	req       *Request
	resp      *Response // &respVal once the final response is taken
	respVal   Response
	reqVal    Request  // a server stream's request (req points here)
	qbuf      [2]qitem // q's first array: most streams queue two events at most
	infos     []Informational
	trailers  []HeaderField
	// Made on first use (most streams of an inline handler never wait):
	// done is closed when terminal is set; rsig and wsig (capacity 1)
	// wake a blocked reader and writer. A signal to a channel not yet
	// made is lost, so a waiter makes its channel before releasing c.mu.
	done    chan struct{}
	rsig    chan struct{}
	wsig    chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	stopCtx func() bool // client: stops the request context's AfterFunc

	handlerDone bool   // server: the Handler returned (goroutine mode)
	sentEnd     bool   // our side was ended (END_STREAM or trailers queued)
	goaways     int    // EventGoAway queued (at most 2)
	goawayLast  uint32 // LastStreamID of the latest queued
	interim     int    // 1xx responses received
	refused     bool   // reset by the runtime (MaxInformational); events dropped
}

type qitem struct {
	ev     core.Event // Data is nil; its bytes are rbuf[off:off+n]
	off, n int        // a partial Read advances off and shrinks n
}

func newStream(c *Conn, id uint32, server bool) *Stream {
	s := &Stream{c: c, id: id, server: server}
	s.q = s.qbuf[:0]
	return s
}

// readSignal returns the channel that wakes a blocked reader. c.mu is
// held.
func (s *Stream) readSignal() chan struct{} {
	if s.rsig == nil {
		s.rsig = make(chan struct{}, 1)
	}
	return s.rsig
}

// writeSignal returns the channel that wakes a blocked writer. c.mu is
// held.
func (s *Stream) writeSignal() chan struct{} {
	if s.wsig == nil {
		s.wsig = make(chan struct{}, 1)
	}
	return s.wsig
}

// doneChan returns Done's channel. c.mu is held.
func (s *Stream) doneChan() chan struct{} {
	if s.done == nil {
		s.done = make(chan struct{})
		if s.terminal {
			close(s.done)
		}
	}
	return s.done
}

// markTerminal records that the stream is over: Done's channel closes.
// c.mu is held.
func (s *Stream) markTerminal() {
	s.terminal = true
	if s.done != nil {
		close(s.done)
	}
}

// ID returns the stream identifier.
func (s *Stream) ID() uint32 { return s.id }

// Conn returns the connection the stream belongs to.
func (s *Stream) Conn() *Conn { return s.c }

// Done is closed when the stream has ended, normally or by a reset.
func (s *Stream) Done() <-chan struct{} {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.doneChan()
}

// Err reports why the stream ended: nil while it runs or after a normal
// end, else a *core.StreamError (a reset) or the connection's error.
func (s *Stream) Err() error {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.err
}

// Context returns a context that is cancelled when the stream ends (and,
// for a server stream, when its goroutine-mode handler returns).
func (s *Stream) Context() context.Context {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.ctx == nil {
		s.ctx, s.cancel = context.WithCancel(s.c.ctx)
		if s.terminal || s.handlerDone {
			s.cancel()
		}
	}
	return s.ctx
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// push queues a copy of e. c.mu is held.
func (s *Stream) push(e *core.Event) {
	if e.Kind == core.EventData && s.qhead < len(s.q) {
		// Content following content still queued joins it: one queue
		// entry per burst, not per DATA frame, so that a peer sending its
		// window a byte per frame costs bytes, not entries.
		last := &s.q[len(s.q)-1]
		if last.ev.Kind == core.EventData && !last.ev.EndStream && last.off+last.n == len(s.rbuf) {
			s.rbuf = append(s.rbuf, e.Data...)
			last.n += len(e.Data)
			last.ev.EndStream = e.EndStream
			signal(s.rsig)
			return
		}
	}
	it := qitem{ev: *e}
	it.ev.Headers = cloneFields(e.Headers)
	it.ev.Data = nil
	if len(e.Data) > 0 {
		if e.Kind == core.EventGoAway {
			it.ev.Data = []byte(string(e.Data)) // each holder gets its own copy
		} else {
			if s.rbuf == nil {
				s.takeBuffer()
			}
			it.off, it.n = len(s.rbuf), len(e.Data)
			s.rbuf = append(s.rbuf, e.Data...)
		}
	}
	s.q = append(s.q, it)
	signal(s.rsig)
	if s.handler != nil && !s.running {
		s.running = true
		s.c.enqueue(delivery{s: s})
	}
}

// end records the stream's terminal event. c.mu is held.
func (s *Stream) end(e *core.Event) {
	s.push(e)
	if e.Kind == core.EventStreamReset {
		if e.Err != nil {
			s.err = e.Err
		} else {
			s.err = e.StreamErr()
		}
	}
	if s.stopCtx != nil {
		s.stopCtx()
		s.stopCtx = nil
	}
	s.markTerminal() // before the context, so a waiter woken by it sees the end
	if s.cancel != nil {
		s.cancel()
	}
	signal(s.wsig)
}

// cloneFields copies a field list the core lent us: the fields in one
// slice, their names and values in one string (two allocations, not one
// per string; any field kept keeps the whole block alive).
func cloneFields(fs []HeaderField) []HeaderField {
	if fs == nil {
		return nil
	}
	n := 0
	for i := range fs {
		n += len(fs[i].Name) + len(fs[i].Value)
	}
	var b strings.Builder
	b.Grow(n)
	for i := range fs {
		b.WriteString(fs[i].Name)
		b.WriteString(fs[i].Value)
	}
	all := b.String()
	out := make([]HeaderField, len(fs))
	off := 0
	for i, f := range fs {
		name := all[off : off+len(f.Name)]
		off += len(f.Name)
		out[i] = HeaderField{Name: name, Value: all[off : off+len(f.Value)], Sensitive: f.Sensitive}
		off += len(f.Value)
	}
	return out
}

// peek returns the oldest queued event. c.mu is held.
func (s *Stream) peek() (*qitem, bool) {
	if s.qhead == len(s.q) {
		return nil, false
	}
	return &s.q[s.qhead], true
}

// pop drops the oldest queued event. c.mu is held.
func (s *Stream) pop() {
	s.q[s.qhead] = qitem{}
	s.qhead++
	s.reclaim()
}

// reclaim frees what the queue no longer needs: everything once it is
// empty, else the consumed front of rbuf and q when it is most of them, so
// that a reader that keeps up only partly does not grow them without
// bound. Nothing moves while a handler holds a slice of rbuf. c.mu is held.
func (s *Stream) reclaim() {
	if s.inHandler {
		return
	}
	if s.qhead == len(s.q) {
		s.q, s.qhead = s.q[:0], 0
		s.rbuf = s.rbuf[:0]
		if s.terminal {
			s.recycle()
		}
		return
	}
	if base := s.q[s.qhead].off; base >= 64<<10 && 2*base >= len(s.rbuf) {
		n := copy(s.rbuf, s.rbuf[base:])
		s.rbuf = s.rbuf[:n]
		for i := s.qhead; i < len(s.q); i++ {
			if s.q[i].n > 0 {
				s.q[i].off -= base
			}
		}
	}
	if s.qhead >= 64 && 2*s.qhead >= len(s.q) {
		n := copy(s.q, s.q[s.qhead:])
		clear(s.q[n:])
		s.q, s.qhead = s.q[:n], 0
	}
}

// takeBuffer gives the stream a receive buffer from streamBuffers. c.mu
// is held.
func (s *Stream) takeBuffer() {
	s.rbox = streamBuffers.get(0)
	s.rbuf = s.rbox.b
}

// recycle gives back the receive buffer of a stream that has no content
// left queued and will receive none. c.mu is held.
func (s *Stream) recycle() {
	if cap(s.rbuf) > 0 {
		if s.rbox == nil {
			s.rbox = new(buffer)
		}
		s.rbox.b = s.rbuf
		streamBuffers.put(s.rbox)
	}
	s.rbuf, s.rbox = nil, nil
}

// SetHandler routes the stream's events to h, first replaying, in order,
// those queued before; nil returns to queueing them for the pull methods.
// h runs on a connection goroutine, one event at a time, and must not block
// (see Conn). Headers in the events h receives are its own; Data is valid
// until h returns. In automatic mode the bytes of each EventData are
// credited to the flow-control windows when h returns; with ManualConsume,
// call Consume.
func (s *Stream) SetHandler(h func(*Stream, Event)) {
	c := s.c
	c.mu.Lock()
	s.handler = h
	signal(s.rsig) // a blocked Read or Response returns ErrHandlerSet
	if h != nil && !s.running && s.qhead < len(s.q) {
		s.running = true
		c.enqueue(delivery{s: s})
	}
	finished := c.finished
	c.unlock()
	// A handler set from a connection goroutine (in a callback) runs when
	// that callback returns; from elsewhere the writer delivers it — or,
	// once the connection has ended and its goroutines are gone, a
	// goroutine of its own.
	if finished {
		go c.deliver()
	}
}

// DrainEvents takes every queued event at once — the replay SetHandler
// would perform, as one batch. The events and their Data are the caller's.
// In automatic mode their content is credited to the flow-control windows.
func (s *Stream) DrainEvents() ([]Event, error) {
	c := s.c
	c.mu.Lock()
	if s.handler != nil {
		c.mu.Unlock()
		return nil, ErrHandlerSet
	}
	out := make([]Event, 0, len(s.q)-s.qhead)
	credit := 0
	for i := s.qhead; i < len(s.q); i++ {
		it := s.q[i]
		ev := it.ev
		if it.n > 0 {
			ev.Data = s.rbuf[it.off : it.off+it.n : it.off+it.n]
			credit += len(ev.Data)
		}
		s.note(&ev)
		out = append(out, ev)
	}
	clear(s.q)
	s.q, s.qhead = s.q[:0], 0
	s.rbuf, s.rbox = nil, nil // the returned Data slices own it now
	if credit > 0 && !s.manual {
		_ = c.core.Consume(s.id, credit)
	}
	c.unlock()
	return out, nil
}

// note updates the pull state with an event taken from the queue. c.mu is
// held.
func (s *Stream) note(e *core.Event) {
	switch e.Kind {
	case core.EventInformational:
		s.infos = append(s.infos, Informational{Status: e.Status, Header: e.Headers})
	case core.EventResponse:
		s.respVal = Response{Status: e.Status, Header: e.Headers, Informational: s.infos, EndStream: e.EndStream}
		s.resp = &s.respVal
		s.eof = s.eof || e.EndStream
	case core.EventData:
		s.eof = s.eof || e.EndStream
	case core.EventTrailers:
		s.trailers = e.Headers
		s.eof = true
	}
}

// runHandler hands queued events to the stream's handler, on a connection
// goroutine (see Conn.deliver).
func (s *Stream) runHandler() {
	c := s.c
	c.mu.Lock()
	for {
		it, ok := s.peek()
		h := s.handler
		if h == nil || !ok {
			s.running = false
			break
		}
		ev := it.ev
		if it.n > 0 {
			ev.Data = s.rbuf[it.off : it.off+it.n : it.off+it.n]
		}
		s.note(&ev)
		s.inHandler = true
		s.pop()
		c.mu.Unlock()
		s.call(h, ev)
		c.mu.Lock()
		s.inHandler = false
		s.reclaim()
		if len(ev.Data) > 0 && !s.manual {
			_ = c.core.Consume(s.id, len(ev.Data))
		}
	}
	c.unlock()
}

// call runs a stream handler, turning a panic into a reset of the stream
// (INTERNAL_ERROR) rather than the end of the process.
func (s *Stream) call(h func(*Stream, Event), ev Event) {
	defer func() {
		if r := recover(); r != nil {
			_ = s.Reset(frame.ErrCodeInternal)
			log.Printf("h2: stream handler panic on stream %d: %v", s.id, r)
		}
	}()
	h(s, ev)
}

// Consume returns n bytes of received content to the flow-control windows
// (RFC 9113 §6.9) of a stream opened with ManualConsume: the peer may send
// only as much as the application has consumed plus the window. It is an
// error (core.ErrNotManualFlowControl) in automatic mode, where reading
// consumes.
func (s *Stream) Consume(n int) error {
	c := s.c
	c.mu.Lock()
	if !s.manual {
		c.mu.Unlock()
		return core.ErrNotManualFlowControl
	}
	err := c.core.Consume(s.id, n)
	c.unlock()
	return err
}

// Reset resets the stream with RST_STREAM(code) (RFC 9113 §6.4), dropping
// what it had buffered to send. Resetting a finished stream does nothing.
func (s *Stream) Reset(code core.ErrCode) error {
	c := s.c
	c.mu.Lock()
	err := c.core.ResetStream(s.id, code)
	c.unlock()
	if err != nil && s.isOver() {
		return nil
	}
	return err
}

// Cancel resets the stream with CANCEL: the application no longer wants it.
func (s *Stream) Cancel() error { return s.Reset(frame.ErrCodeCancel) }

func (s *Stream) isOver() bool {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.terminal
}
