package h3

import (
	"context"
	"errors"
	"strconv"

	"github.com/h2proto/h2/core"
)

// head is a response head queued by a server stream.
type head struct {
	status int
	fields []HeaderField
}

// sender is a stream's send side: what the application queued and the
// sink (the request body quic-go pulls, or the server's writer loop) has
// not yet taken. Guarded by the stream's mu.
type sender struct {
	heads    []head
	data     []byte
	off      int
	limit    int
	ended    bool // CloseWrite, WriteTrailers or Respond queued the end
	trailers []HeaderField
	final    bool  // a final response head was queued (server)
	noBody   bool  // that head allows no content (HEAD, 204, 304)
	taken    bool  // content was handed to the sink (server: it can no longer hijack)
	cl       int64 // the content-length we declared; -1 when none (or no content allowed)
	queued   int64 // content bytes queued so far
	wsig     chan struct{}
	dsig     chan struct{}
}

func (q *sender) init(limit int) {
	q.limit = limit
	q.cl = -1
	q.wsig = make(chan struct{}, 1)
	q.dsig = make(chan struct{}, 1)
}

// wake wakes both a blocked writer and the sink.
func (q *sender) wake() {
	signal(q.wsig)
	signal(q.dsig)
}

func (q *sender) buffered() int { return len(q.data) - q.off }

// take copies up to len(b) queued bytes into b.
func (q *sender) take(b []byte) int {
	n := copy(b, q.data[q.off:])
	q.off += n
	if q.off == len(q.data) {
		q.data, q.off = q.data[:0], 0
	} else if q.off > len(q.data)/2 {
		m := copy(q.data, q.data[q.off:])
		q.data, q.off = q.data[:m], 0
	}
	if n > 0 {
		q.taken = true
		signal(q.wsig)
	}
	return n
}

// writable reports why the stream takes no content now (s.mu held).
func (s *Stream) writable() error {
	switch {
	case s.terminal && s.err != nil:
		return s.err
	case s.terminal || s.snd.ended:
		return core.ErrStreamClosed
	case s.sv != nil && !s.snd.final:
		return core.ErrInvalidStreamState // no response head yet
	}
	return nil
}

// TryWrite queues as much of p as the send buffer (StreamOptions.
// SendBuffer) takes now, without waiting. If that is not all of p it
// returns core.ErrSendBufferFull with the count taken. Content beyond the
// content-length field we sent is core.ErrContentLength, and none of p is
// taken (RFC 9114 §4.1.2).
func (s *Stream) TryWrite(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tryWrite(p)
}

func (s *Stream) tryWrite(p []byte) (int, error) {
	if err := s.writable(); err != nil {
		return 0, err
	}
	if s.snd.noBody && len(p) > 0 {
		return 0, core.ErrBodyNotAllowed
	}
	if s.snd.cl >= 0 && s.snd.queued+int64(len(p)) > s.snd.cl {
		return 0, core.ErrContentLength // nothing taken, as h2's SendData
	}
	n := min(len(p), s.snd.limit-s.snd.buffered())
	if n > 0 {
		s.snd.queued += int64(n)
		s.snd.data = append(s.snd.data, p[:n]...)
		signal(s.snd.dsig)
	}
	if n < len(p) {
		return n, core.ErrSendBufferFull
	}
	return n, nil
}

// Write queues content, waiting while the send buffer is full until
// quic-go takes it (as QUIC flow control allows) or the stream ends. If the
// stream was reset the error says why.
func (s *Stream) Write(p []byte) (int, error) { return s.WriteContext(s.ctx, p) }

// WriteContext is Write with its own context for the wait.
func (s *Stream) WriteContext(ctx context.Context, p []byte) (int, error) {
	total := 0
	for {
		s.mu.Lock()
		n, err := s.tryWrite(p)
		s.mu.Unlock()
		total += n
		p = p[n:]
		if !errors.Is(err, core.ErrSendBufferFull) {
			return total, err
		}
		select {
		case <-s.snd.wsig:
		case <-s.done:
		case <-ctx.Done():
			s.mu.Lock()
			over := s.terminal
			s.mu.Unlock()
			if !over {
				return total, ctx.Err()
			}
		}
	}
}

// CloseWrite ends our side of the stream after the content queued: a
// client's request body is complete (the QUIC stream's FIN follows the
// last DATA frame), or a server's response (see Server for when). If we
// sent a content-length field and less content was queued, it returns
// core.ErrContentLength and the stream stays open.
func (s *Stream) CloseWrite() error { return s.closeWrite(nil) }

// WriteTrailers ends our side of the stream with trailer fields (RFC 9114
// §4.1), after the content queued. An empty list ends the stream as
// CloseWrite does.
func (s *Stream) WriteTrailers(trailers []HeaderField) error {
	for _, f := range trailers {
		if len(f.Name) > 0 && f.Name[0] == ':' {
			return &core.MessageError{Field: f.Name, Token: "pseudo_header_in_trailers", Section: "RFC 9114 §4.3"}
		}
	}
	return s.closeWrite(trailers)
}

func (s *Stream) closeWrite(trailers []HeaderField) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	if s.snd.cl >= 0 && s.snd.queued != s.snd.cl {
		return core.ErrContentLength
	}
	s.snd.ended = true
	s.snd.trailers = append([]HeaderField(nil), trailers...)
	signal(s.snd.dsig)
	return nil
}

// contentLength returns the value of a content-length field in fields, -1
// when there is none, or a *core.MessageError when it is not a number or
// repeated with another value (RFC 9110 §8.6).
func contentLength(fields []HeaderField) (int64, error) {
	cl := int64(-1)
	for _, f := range fields {
		if f.Name != "content-length" {
			continue
		}
		n, err := strconv.ParseInt(f.Value, 10, 64)
		if err != nil || n < 0 || (cl >= 0 && n != cl) {
			return 0, &core.MessageError{Field: f.Name, Token: "invalid_content_length", Section: "RFC 9114 §4.1.2"}
		}
		cl = n
	}
	return cl, nil
}
