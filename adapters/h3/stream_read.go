package h3

import (
	"context"
	"io"

	"github.com/h2proto/h2/core"
)

// Response waits for the final response's head and returns it, with the
// 1xx responses before it (client side). It fails with the stream's error
// if the stream is reset first, with ErrHandlerSet if a handler takes the
// events, or with ctx's error.
func (s *Stream) Response(ctx context.Context) (*Response, error) {
	if s.sv != nil {
		return nil, ErrWrongRole
	}
	s.mu.Lock()
	for {
		if s.resp != nil {
			s.mu.Unlock()
			return s.resp, nil
		}
		if s.handler != nil {
			s.mu.Unlock()
			return nil, ErrHandlerSet
		}
		if len(s.q) > 0 {
			e := &s.q[0]
			switch e.Kind {
			case core.EventStreamReset:
				s.mu.Unlock()
				return nil, s.err
			case core.EventStreamClosed:
				s.mu.Unlock()
				return nil, core.ErrStreamClosed
			}
			s.note(e)
			s.pop()
			continue
		}
		if s.terminal {
			err := s.err
			s.mu.Unlock()
			if err == nil {
				err = core.ErrStreamClosed
			}
			return nil, err
		}
		s.mu.Unlock()
		select {
		case <-s.rsig:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		s.mu.Lock()
	}
}

// Read reads the stream's content (the response body for a client, the
// request body for a server) and returns io.EOF after the last byte, or
// the reset as an error. In automatic mode the bytes read are released to
// the flow control. A client's Read skips over the response head.
func (s *Stream) Read(p []byte) (int, error) {
	s.mu.Lock()
	for {
		if s.eof && (len(s.q) == 0 || s.q[0].Kind != core.EventData || len(s.q[0].Data) == s.qoff) {
			s.mu.Unlock()
			return 0, io.EOF
		}
		if s.handler != nil {
			s.mu.Unlock()
			return 0, ErrHandlerSet
		}
		if len(s.q) == 0 {
			if s.terminal {
				err := s.err
				s.mu.Unlock()
				if err == nil {
					err = io.EOF
				}
				return 0, err
			}
			s.mu.Unlock()
			<-s.rsig
			s.mu.Lock()
			continue
		}
		e := &s.q[0]
		switch e.Kind {
		case core.EventData:
			n := copy(p, e.Data[s.qoff:])
			s.qoff += n
			if s.qoff == len(e.Data) {
				s.note(e)
				s.pop()
			}
			if !s.manual {
				s.release(n)
			}
			if n > 0 || len(p) == 0 {
				s.mu.Unlock()
				return n, nil
			}
		case core.EventStreamReset:
			err := s.err
			s.mu.Unlock()
			return 0, err
		case core.EventStreamClosed:
			s.eof = true
		default:
			s.note(e)
			s.pop()
		}
	}
}

// ReadAll reads the content to its end.
func (s *Stream) ReadAll() ([]byte, error) { return io.ReadAll(s) }

// Trailers returns the trailer fields once Read has returned io.EOF, or
// nil if the message had none.
func (s *Stream) Trailers() []HeaderField {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.trailers
}
