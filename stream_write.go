package h2

import (
	"context"
	"errors"
	"strconv"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// Write sends content, blocking while the send buffers are full until
// the peer's flow-control windows let it drain or the stream ends (a
// client's stream also ends when the context given to Request does: it is
// reset with CANCEL). If the stream was reset, the error says why. Use
// WriteContext to bound the wait, TryWrite not to wait.
func (s *Stream) Write(p []byte) (int, error) {
	return s.WriteContext(s.Context(), p)
}

// WriteContext is Write with its own context for the wait.
func (s *Stream) WriteContext(ctx context.Context, p []byte) (int, error) {
	total := 0
	for {
		n, wsig, done, err := s.tryWrite(p)
		total += n
		p = p[n:]
		if !errors.Is(err, core.ErrSendBufferFull) {
			return total, err
		}
		select {
		case <-wsig:
		case <-done:
		case <-ctx.Done():
			if !s.isOver() {
				return total, ctx.Err()
			}
			// The stream ended (its Context ends with it): report why.
		}
	}
}

// TryWrite sends as much of p as the send buffers take now
// (core.Limits.StreamSendBuffer, ConnSendBuffer) without waiting. If that is
// not all of p it returns core.ErrSendBufferFull with the count taken; the
// stream signals room again to a blocked Write.
func (s *Stream) TryWrite(p []byte) (int, error) {
	n, _, _, err := s.tryWrite(p)
	return n, err
}

// tryWrite is TryWrite, also returning, when the buffers are full, the
// channels a writer waits on: made before c.mu is released, so that no
// signal is lost.
func (s *Stream) tryWrite(p []byte) (n int, wsig, done chan struct{}, err error) {
	c := s.c
	if err := c.lostErr(); err != nil {
		return 0, nil, nil, err
	}
	c.mu.Lock()
	n, err = c.core.SendData(s.id, p, false)
	if errors.Is(err, core.ErrSendBufferFull) {
		wsig, done = s.writeSignal(), s.doneChan()
	}
	c.unlock()
	return n, wsig, done, s.sendErr(err)
}

// sendErr reports the reason a stream that ended refuses commands.
func (s *Stream) sendErr(err error) error {
	if err == nil || errors.Is(err, core.ErrSendBufferFull) {
		return err
	}
	if s.isOver() {
		s.c.mu.Lock()
		defer s.c.mu.Unlock()
		if s.err != nil {
			return s.err
		}
		return core.ErrStreamClosed
	}
	return err
}

// CloseWrite ends our side of the stream (END_STREAM after the content
// buffered): a client's request body is complete, or a server's response.
func (s *Stream) CloseWrite() error {
	c := s.c
	if err := c.lostErr(); err != nil {
		return err
	}
	c.mu.Lock()
	_, err := c.core.SendData(s.id, nil, true)
	s.sentEnd = s.sentEnd || err == nil
	c.unlock()
	return s.sendErr(err)
}

// WriteTrailers ends our side of the stream with trailer fields (RFC 9113
// §8.1), after the content buffered. Regular fields only; an empty list
// ends the stream as CloseWrite does (see core.Conn.SendTrailers).
func (s *Stream) WriteTrailers(trailers []HeaderField) error {
	c := s.c
	if err := c.lostErr(); err != nil {
		return err
	}
	c.mu.Lock()
	err := c.core.SendTrailers(s.id, trailers)
	s.sentEnd = s.sentEnd || err == nil
	c.unlock()
	return s.sendErr(err)
}

// Request returns the request's head (server side).
func (s *Stream) Request() *Request { return s.req }

// WriteHeaders sends a response head (server side): an interim 1xx
// response, which may be repeated, or the final response, which content
// then follows (Write, CloseWrite, WriteTrailers). headers are regular
// fields; the :status pseudo-header is added.
func (s *Stream) WriteHeaders(status int, headers []HeaderField) error {
	return s.writeHeaders(status, headers, false)
}

func (s *Stream) writeHeaders(status int, headers []HeaderField, end bool) error {
	if !s.server {
		return ErrWrongRole
	}
	fields := make([]HeaderField, 0, len(headers)+1)
	fields = append(fields, HeaderField{Name: ":status", Value: strconv.Itoa(status)})
	fields = append(fields, headers...)
	c := s.c
	if err := c.lostErr(); err != nil {
		return err
	}
	c.mu.Lock()
	err := c.core.SendHeaders(s.id, fields, end)
	s.sentEnd = s.sentEnd || (err == nil && end)
	c.unlock()
	return s.sendErr(err)
}

// Respond sends a whole response (server side). When the head and body fit
// the send buffers they are queued together and leave in one write as the
// peer's windows allow (the core's Respond). Otherwise the head and what
// fits are queued now and the rest is streamed: on a goroutine-mode
// handler's goroutine Respond blocks until it is all queued, as Write does;
// with Server.Inline it never blocks — the rest of the body is copied (body
// may be reused at once) and sent from a goroutine as the windows open,
// the stream reset if that fails. A content-length field is added when
// headers has none, except for a 2xx answer to CONNECT, which opens a
// tunnel (RFC 9113 §8.5) that stays open for more data.
func (s *Stream) Respond(status int, headers []HeaderField, body []byte) error {
	if !s.server {
		return ErrWrongRole
	}
	c := s.c
	if err := c.lostErr(); err != nil {
		return err
	}
	c.mu.Lock()
	err := c.core.Respond(s.id, status, headers, body)
	s.sentEnd = s.sentEnd || (err == nil && !s.tunnel(status))
	c.unlock()
	if !errors.Is(err, core.ErrSendBufferFull) {
		return s.sendErr(err)
	}
	// The body does not fit the send buffers: stream it.
	tunnel := s.tunnel(status)
	if !tunnel && get(headers, "content-length") == "" {
		headers = append(headers[:len(headers):len(headers)],
			HeaderField{Name: "content-length", Value: strconv.Itoa(len(body))})
	}
	if err := s.WriteHeaders(status, headers); err != nil {
		return err
	}
	n, err := s.TryWrite(body)
	if err == nil {
		if tunnel {
			return nil
		}
		return s.CloseWrite()
	}
	if !errors.Is(err, core.ErrSendBufferFull) {
		return err
	}
	if !c.srv.Inline {
		if _, err := s.Write(body[n:]); err != nil || tunnel {
			return err
		}
		return s.CloseWrite()
	}
	rest := append([]byte(nil), body[n:]...)
	go func() {
		if _, err := s.Write(rest); err != nil {
			return // the stream ended; its error says why
		}
		if !tunnel && s.CloseWrite() != nil {
			_ = s.Reset(frame.ErrCodeInternal)
		}
	}()
	return nil
}

// tunnel reports whether a response with status opens a CONNECT tunnel.
func (s *Stream) tunnel(status int) bool {
	return s.req != nil && s.req.Method == "CONNECT" && status/100 == 2
}
