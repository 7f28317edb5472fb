package h2

import (
	"context"
	"io"

	"github.com/h2proto/h2/core"
)

// Response is a final response's head (client side).
type Response struct {
	Status int
	// Header holds the response's fields, the :status pseudo-header first.
	Header []HeaderField
	// Informational lists the 1xx responses that came before it, in order.
	Informational []Informational
	// EndStream reports that the response's HEADERS ended the stream (RFC
	// 9113 §8.1): it has no content, and Read returns io.EOF at once.
	EndStream bool
}

// Get returns the value of the first field called name, or "".
func (r *Response) Get(name string) string { return get(r.Header, name) }

// Informational is an interim 1xx response (RFC 9113 §8.1), other than 101.
type Informational struct {
	Status int
	Header []HeaderField
}

func get(fs []HeaderField, name string) string {
	for _, f := range fs {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// Response waits for the final response's head and returns it, with the
// 1xx responses before it. It fails with the stream's error if the stream
// is reset first, with ErrHandlerSet if a handler takes the events, or with
// ctx's error.
func (s *Stream) Response(ctx context.Context) (*Response, error) {
	if s.server {
		return nil, ErrWrongRole
	}
	c := s.c
	c.mu.Lock()
	for {
		if s.resp != nil {
			c.mu.Unlock()
			return s.resp, nil
		}
		if s.handler != nil {
			c.mu.Unlock()
			return nil, ErrHandlerSet
		}
		if it, ok := s.peek(); ok {
			switch it.ev.Kind {
			case core.EventStreamReset:
				c.mu.Unlock()
				return nil, s.err
			case core.EventStreamClosed:
				c.mu.Unlock()
				return nil, core.ErrStreamClosed
			}
			s.note(&it.ev)
			s.pop()
			continue
		}
		if s.terminal {
			// A handler took the terminal event before this call.
			err := s.err
			c.mu.Unlock()
			if err == nil {
				err = core.ErrStreamClosed
			}
			return nil, err
		}
		rsig := s.readSignal()
		c.mu.Unlock()
		select {
		case <-rsig:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		c.mu.Lock()
	}
}

// Read reads the stream's content (the response body for a client, the
// request body for a server) and returns io.EOF after the last byte. If the
// stream is reset first it returns the reset as an error. In automatic mode
// the bytes read are credited to the flow-control windows (RFC 9113 §6.9),
// so a reader that stops reading stops the peer once the stream window is
// used up. A client's Read skips over the response head (see Response).
func (s *Stream) Read(p []byte) (int, error) {
	c := s.c
	c.mu.Lock()
	for {
		if s.eof && s.nextIsNotData() {
			if s.rbuf != nil && !s.inHandler {
				s.recycle() // no content follows the end
			}
			c.mu.Unlock()
			return 0, io.EOF
		}
		if s.handler != nil {
			c.mu.Unlock()
			return 0, ErrHandlerSet
		}
		it, ok := s.peek()
		if !ok {
			if s.terminal {
				// A handler took the terminal event before this Read.
				err := s.err
				c.mu.Unlock()
				if err == nil {
					err = io.EOF
				}
				return 0, err
			}
			rsig := s.readSignal()
			c.mu.Unlock()
			<-rsig
			c.mu.Lock()
			continue
		}
		switch it.ev.Kind {
		case core.EventData:
			n := copy(p, s.rbuf[it.off:it.off+it.n])
			it.off += n
			if it.n -= n; it.n == 0 {
				s.note(&it.ev)
				s.pop()
			} else {
				s.reclaim() // the sender may keep appending to this entry
			}
			if n > 0 && !s.manual {
				_ = c.core.Consume(s.id, n)
			}
			if n > 0 || len(p) == 0 {
				c.unlock()
				return n, nil
			}
		case core.EventStreamReset:
			c.mu.Unlock()
			return 0, s.err
		case core.EventStreamClosed:
			s.eof = true
		default:
			s.note(&it.ev)
			s.pop()
		}
	}
}

// nextIsNotData reports whether no content is left queued. c.mu is held.
func (s *Stream) nextIsNotData() bool {
	it, ok := s.peek()
	return !ok || it.ev.Kind != core.EventData || it.n == 0
}

// Trailers returns the trailer fields (RFC 9113 §8.1) once Read has
// returned io.EOF, or nil if the message had none.
func (s *Stream) Trailers() []HeaderField {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.trailers
}

// ReadAll reads the content to its end (io.ReadAll: a complete body gives
// a nil error, a reset the reset).
func (s *Stream) ReadAll() ([]byte, error) { return io.ReadAll(s) }
