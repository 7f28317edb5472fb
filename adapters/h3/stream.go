package h3

import (
	"context"
	"log"
	"sync"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// Types shared with the HTTP/2 runtime, so that code written against one
// compiles against the other.
type (
	// HeaderField is a header or trailer field.
	HeaderField = h2.HeaderField
	// Event is what a stream handler receives (core.Event).
	Event = h2.Event
	// Response is a final response's head (client side).
	Response = h2.Response
	// Informational is an interim 1xx response.
	Informational = h2.Informational
	// Request is a received request's head (server side).
	Request = h2.Request
)

// Stream is one HTTP/3 request stream (RFC 9114 §4.1): a client's request
// or a request a server received. Like h2.Stream, its events — 1xx and
// final response heads, content, trailers, the end — are queued in order
// until the application takes them with the pull methods (Response, Read,
// Trailers), a handler (SetHandler) or DrainEvents; the end of the stream
// is exactly one terminal event, core.EventStreamClosed or
// core.EventStreamReset. Resets read as under HTTP/2: a *core.StreamError
// whose Code is the HTTP/3 code mapped by CodeFromH3.
//
// One goroutine may read a stream while another writes it; its methods are
// safe for concurrent use.
type Stream struct {
	c       *Conn       // client; nil on a server stream
	sv      *serverSide // server; nil on a client stream
	id      uint32
	manual  bool
	recvCap int

	mu       sync.Mutex
	q        []Event // Data owned by the stream
	qoff     int     // bytes of q[0].Data already read
	handler  func(*Stream, Event)
	running  bool // a handler delivery goroutine runs
	terminal bool
	eof      bool
	err      error
	resp     *Response
	infos    []Informational
	trailers []HeaderField
	held     int  // received bytes not yet released to the pump
	recvEnd  bool // the content (and trailers) ended
	sendDone bool // our side ended and was handed to quic-go
	done     chan struct{}
	rsig     chan struct{} // wakes a reader (capacity 1)
	budget   chan struct{} // wakes the pump (capacity 1)
	ctx      context.Context
	cancel   context.CancelFunc
	snd      sender
	abort    context.CancelFunc // client: cancels the request's context
	reqCtx   context.Context    // client: the request's context
	req      *Request           // server: the request's head
	stopCtx  func() bool        // client: stops the request context's AfterFunc
	gone     <-chan struct{}    // closed when quic-go is done with the stream or connection
	conn     context.Context    // the QUIC connection's: done when it ended
}

func newStream(id uint32, parent context.Context, o *StreamOptions, manual bool) *Stream {
	s := &Stream{
		id:      id,
		manual:  manual,
		recvCap: o.receiveBuffer(),
		done:    make(chan struct{}),
		rsig:    make(chan struct{}, 1),
		budget:  make(chan struct{}, 1),
	}
	s.ctx, s.cancel = context.WithCancel(parent)
	s.snd.init(o.sendBuffer())
	return s
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// ID returns the stream's ordinal on its connection and side (1, 2, …):
// quic-go's http3 RoundTrip and Handler do not expose the QUIC stream ID.
func (s *Stream) ID() uint32 { return s.id }

// Conn returns the client connection of a client stream (nil on a server).
func (s *Stream) Conn() *Conn { return s.c }

// Done is closed when the stream has ended, normally or by a reset.
func (s *Stream) Done() <-chan struct{} { return s.done }

// Err reports why the stream ended: nil while it runs or after a normal
// end, else a *core.StreamError (a reset) or the connection's error.
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Context returns a context cancelled when the stream ends (and, on a
// server, when the Handler returns).
func (s *Stream) Context() context.Context { return s.ctx }

// push queues e (whose Data the stream owns). s.mu is held.
func (s *Stream) push(e Event) {
	if s.terminal {
		return
	}
	s.held += len(e.Data)
	s.q = append(s.q, e)
	signal(s.rsig)
	if s.handler != nil && !s.running {
		s.running = true
		go s.runHandler()
	}
}

// end queues the terminal event e. s.mu is held.
func (s *Stream) end(e Event) {
	if s.terminal {
		return
	}
	s.push(e)
	if e.Kind == core.EventStreamReset {
		if e.Err != nil {
			s.err = e.Err
		} else {
			s.err = e.StreamErr()
		}
	}
	s.terminal = true
	close(s.done)
	s.cancel()
	if s.stopCtx != nil {
		s.stopCtx()
	}
	if s.abort != nil && e.Kind == core.EventStreamReset {
		// Only a reset cancels the request's context: after a normal end
		// quic-go may still be writing the request's trailers and FIN, and
		// a cancelled context would make it reset a finished stream.
		s.abort()
	}
	if s.c != nil {
		s.c.forget(s)
	}
	signal(s.budget)
	s.snd.wake()
}

// resetLocal ends the stream with a reset of ours. s.mu is held.
func (s *Stream) resetLocal(code core.ErrCode, token string) {
	s.end(Event{Kind: core.EventStreamReset, StreamID: s.id, Code: code, Token: token})
}

// fail ends the stream because of err from quic-go: a reset (mapped
// code), the connection's end (INTERNAL_ERROR "connection_ended" whose
// Err is the connection's error), or a malformed message from the peer
// (PROTOCOL_ERROR, see malformed). s.mu is held.
func (s *Stream) fail(err error) {
	if serr, _ := classify(s.id, err); serr != nil {
		s.end(Event{Kind: core.EventStreamReset, StreamID: s.id, Code: serr.Code, Remote: serr.Remote, Token: serr.Token, Retryable: serr.Retryable})
		return
	}
	if s.conn != nil && s.conn.Err() != nil {
		s.end(Event{Kind: core.EventStreamReset, StreamID: s.id, Code: frame.ErrCodeInternal, Token: "connection_ended", Err: context.Cause(s.conn)})
		return
	}
	if isConnUnusable(err) {
		// RoundTrip did not open the stream (GOAWAY received, RFC 9114
		// §5.2): nothing was sent, so the request may be retried.
		s.end(Event{Kind: core.EventStreamReset, StreamID: s.id, Code: frame.ErrCodeRefusedStream, Token: "connection_unusable", Retryable: true})
		return
	}
	s.end(Event{Kind: core.EventStreamReset, StreamID: s.id, Code: frame.ErrCodeProtocol, Token: s.malformed(err)})
}

// maybeClose ends the stream normally once both directions ended. s.mu is
// held.
func (s *Stream) maybeClose() {
	if s.recvEnd && s.sendDone {
		s.end(Event{Kind: core.EventStreamClosed, StreamID: s.id})
	}
}

// release returns n received bytes to the pump's budget. s.mu is held.
func (s *Stream) release(n int) {
	if n > 0 {
		s.held -= n
		signal(s.budget)
	}
}

// note updates the pull state with an event taken from the queue. s.mu is
// held.
func (s *Stream) note(e *Event) {
	switch e.Kind {
	case core.EventInformational:
		s.infos = append(s.infos, Informational{Status: e.Status, Header: e.Headers})
	case core.EventResponse:
		s.resp = &Response{Status: e.Status, Header: e.Headers, Informational: s.infos}
		s.eof = s.eof || e.EndStream
	case core.EventData:
		s.eof = s.eof || e.EndStream
	case core.EventTrailers:
		s.trailers = e.Headers
		s.eof = true
	}
}

// pop drops the oldest queued event. s.mu is held.
func (s *Stream) pop() {
	s.q[0] = Event{}
	s.q = s.q[1:]
	s.qoff = 0
	if len(s.q) == 0 {
		s.q = nil
	}
}

// SetHandler routes the stream's events to h, first replaying, in order,
// those queued before; nil returns to queueing them for the pull methods.
// h runs on a goroutine of the stream, one event at a time. Data is valid
// until h returns; in automatic mode its bytes are released to the flow
// control when h returns, with ManualConsume by Consume.
func (s *Stream) SetHandler(h func(*Stream, Event)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handler = h
	signal(s.rsig) // a blocked Read or Response returns ErrHandlerSet
	if h != nil && !s.running && len(s.q) > 0 {
		s.running = true
		go s.runHandler()
	}
}

func (s *Stream) runHandler() {
	s.mu.Lock()
	for {
		h := s.handler
		if h == nil || len(s.q) == 0 {
			s.running = false
			s.mu.Unlock()
			return
		}
		e := s.q[0]
		if e.Kind == core.EventData {
			e.Data = e.Data[s.qoff:]
		}
		s.note(&e)
		s.pop()
		s.mu.Unlock()
		s.call(h, e)
		s.mu.Lock()
		if !s.manual {
			s.release(len(e.Data))
		}
	}
}

// call runs a stream handler, turning a panic into a reset (INTERNAL).
func (s *Stream) call(h func(*Stream, Event), e Event) {
	defer func() {
		if r := recover(); r != nil {
			if s.sv != nil {
				_ = s.Reset(frame.ErrCodeInternal)
			} else {
				_ = s.Cancel() // a client resets with CANCEL only
			}
			log.Printf("h3: stream handler panic on stream %d: %v", s.id, r)
		}
	}()
	h(s, e)
}

// DrainEvents takes every queued event at once; they and their Data are
// the caller's. In automatic mode their content is released to the flow
// control.
func (s *Stream) DrainEvents() ([]Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handler != nil {
		return nil, ErrHandlerSet
	}
	out := make([]Event, 0, len(s.q))
	n := 0
	for i, e := range s.q {
		if i == 0 && e.Kind == core.EventData {
			e.Data = e.Data[s.qoff:]
		}
		n += len(e.Data)
		s.note(&e)
		out = append(out, e)
	}
	s.q, s.qoff = nil, 0
	if !s.manual {
		s.release(n)
	}
	return out, nil
}

// Consume releases n received bytes of a stream opened with ManualConsume
// (core.ErrNotManualFlowControl otherwise): the adapter reads on from
// quic-go, which extends the QUIC stream window as it reads (RFC 9000
// §4.2). More than was received is core.ErrConsumeTooMuch.
func (s *Stream) Consume(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.manual {
		return core.ErrNotManualFlowControl
	}
	if n < 0 || n > s.held {
		return core.ErrConsumeTooMuch
	}
	s.release(n)
	return nil
}

// Cancel resets the stream with CANCEL (H3_REQUEST_CANCELLED).
func (s *Stream) Cancel() error { return s.Reset(frame.ErrCodeCancel) }

// Reset resets both directions of the stream (RFC 9114 §4.1.1) with the
// HTTP/3 code mapped from code by CodeToH3, dropping what was buffered to
// send. Resetting a finished stream does nothing. Where quic-go cannot send
// that code the error wraps ErrNotSupported: a client can send only
// H3_REQUEST_CANCELLED (CANCEL; nothing is sent for another code); a
// server, once content was written, only H3_REQUEST_CANCELLED and
// H3_INTERNAL_ERROR — for another code it resets with H3_INTERNAL_ERROR
// anyway and says so. Codes HTTP/3 lacks (CodeToH3) send nothing.
func (s *Stream) Reset(code core.ErrCode) error {
	if s.sv != nil {
		return s.serverReset(code)
	}
	return s.clientReset(code)
}

// waitBudget waits until the pump may read: it returns how many bytes,
// or false when the stream ended.
func (s *Stream) waitBudget() (int, bool) {
	for {
		s.mu.Lock()
		if s.terminal {
			s.mu.Unlock()
			return 0, false
		}
		if room := s.recvCap - s.held; room > 0 {
			s.mu.Unlock()
			return room, true
		}
		s.mu.Unlock()
		select {
		case <-s.budget:
		case <-s.gone:
			// The stream or connection is going away: read on regardless,
			// so that the read reports how.
			return 32 << 10, true
		}
	}
}
