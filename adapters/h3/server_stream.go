package h3

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// WriteHeaders queues a response head (server side): an interim 1xx
// response (not 101), which may be repeated, or the final response, which
// content then follows (Write, CloseWrite, WriteTrailers). headers are
// regular fields with lower-case names; :status is added. quic-go adds no
// date, content-type or content-length field the application did not
// give. Content then must match a content-length field given
// (core.ErrContentLength from Write, TryWrite and CloseWrite otherwise).
func (s *Stream) WriteHeaders(status int, headers []HeaderField) error {
	return s.writeHeaders(status, headers, false, nil)
}

func (s *Stream) writeHeaders(status int, headers []HeaderField, end bool, body []byte) error {
	if s.sv == nil {
		return ErrWrongRole
	}
	if status < 100 || status > 999 || status == 101 {
		return &core.MessageError{Field: ":status", Token: "invalid_status", Section: "RFC 9114 §4.3.2"}
	}
	for _, f := range headers {
		if strings.HasPrefix(f.Name, ":") {
			return &core.MessageError{Field: f.Name, Token: "pseudo_header_in_response", Section: "RFC 9114 §4.3"}
		}
		if f.Name != strings.ToLower(f.Name) {
			return &core.MessageError{Field: f.Name, Token: "uppercase_field_name", Section: "RFC 9114 §4.2"}
		}
	}
	noBody := status == 204 || status == 304 || s.req.Method == "HEAD"
	switch {
	case end && status < 200:
		return &core.MessageError{Field: ":status", Token: "interim_status_in_respond", Section: "RFC 9114 §4.1"}
	case len(body) > 0 && noBody:
		return core.ErrBodyNotAllowed
	}
	cl := int64(-1) // enforced only where content may follow
	if status >= 200 && !noBody {
		var err error
		if cl, err = contentLength(headers); err != nil {
			return err
		}
		if end && cl >= 0 && cl != int64(len(body)) {
			return core.ErrContentLength
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.terminal && s.err != nil:
		return s.err
	case s.terminal || s.snd.ended:
		return core.ErrStreamClosed
	case s.snd.final:
		return core.ErrInvalidStreamState // one final head per response
	}
	s.snd.noBody = noBody && status >= 200
	s.snd.heads = append(s.snd.heads, head{status: status, fields: append([]HeaderField(nil), headers...)})
	if status >= 200 {
		s.snd.final = true
		s.snd.cl, s.snd.queued = cl, int64(len(body))
		s.snd.data = append(s.snd.data, body...) // Respond: beyond the send buffer on purpose
		s.snd.ended = end
	}
	signal(s.snd.dsig)
	return nil
}

// Respond queues a whole response (server side): head, body and the end,
// written in one go by quic-go when the body is small (under 4 KiB the
// head and body leave together). A content-length field is added when
// headers has none; one that does not match body is core.ErrContentLength.
// The body is copied; Respond does not block.
func (s *Stream) Respond(status int, headers []HeaderField, body []byte) error {
	hasCL := false
	for _, f := range headers {
		hasCL = hasCL || f.Name == "content-length"
	}
	if !hasCL && status >= 200 && status != 204 && status != 304 && s.req != nil && s.req.Method != "HEAD" {
		headers = append(headers[:len(headers):len(headers)], HeaderField{Name: "content-length", Value: strconv.Itoa(len(body))})
	}
	return s.writeHeaders(status, headers, true, body)
}

// serveLoop writes what the stream queues to w, on quic-go's handler
// goroutine, until the response is finished (ended and the request
// received, or the Handler returned) or the stream is reset.
func (s *Stream) serveLoop(handlerDone <-chan struct{}) {
	w := s.sv.w
	var buf *[]byte // taken from the pool on first use
	defer func() {
		if buf != nil {
			putScratch(buf)
		}
	}()
	handlerReturned := false
	gone := s.gone
	dirty := false // written since the last flush
	for {
		s.mu.Lock()
		switch {
		case s.sv.aborting:
			s.mu.Unlock()
			s.abortStream()
			return
		case s.terminal:
			// The peer reset the stream (or the connection ended).
			s.mu.Unlock()
			return
		case len(s.snd.heads) > 0:
			h := s.snd.heads[0]
			s.snd.heads = s.snd.heads[1:]
			s.mu.Unlock()
			writeHead(w, h)
			dirty = true
			continue
		case s.snd.buffered() > 0:
			if buf == nil {
				buf = getScratch()
			}
			n := s.snd.take(*buf)
			s.mu.Unlock()
			if _, err := w.Write((*buf)[:n]); err != nil {
				s.mu.Lock()
				s.fail(err) // nothing if the stream was reset meanwhile
				aborting := s.sv.aborting
				s.mu.Unlock()
				if aborting {
					// Reset cut the write short (serverReset's deadline).
					s.abortStream()
				}
				return
			}
			dirty = true
			continue
		case s.snd.ended && (s.recvEnd || handlerReturned):
			hdr := w.Header()
			for _, f := range s.snd.trailers {
				k := http.TrailerPrefix + f.Name
				hdr[k] = append(hdr[k], f.Value)
			}
			// quic-go sends the trailers and the FIN when this returns, and
			// stops reading the request (H3_NO_ERROR) if it is not over.
			s.sendDone = true
			s.recvEnd = true
			s.maybeClose()
			s.mu.Unlock()
			return
		case handlerReturned:
			// The response was not ended: reset, as h2 does.
			s.resetLocal(frame.ErrCodeCancel, "handler_returned")
			s.sv.aborting, s.sv.code = true, http3.ErrCodeRequestCanceled
			s.mu.Unlock()
			continue
		}
		s.mu.Unlock()
		if dirty {
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			dirty = false
			continue // the flush may have taken long: look again
		}
		select {
		case <-s.snd.dsig:
		case <-handlerDone:
			handlerReturned = true
		case <-gone:
			// The peer stopped the stream or the connection ended. While
			// the request is still coming, its reader reports how.
			gone = nil
			s.mu.Lock()
			switch {
			case !s.recvEnd:
			case s.conn != nil && s.conn.Err() != nil:
				s.fail(context.Cause(s.conn))
			default:
				// The peer stopped our side (STOP_SENDING, RFC 9000
				// §3.5): quic-go keeps the code to itself; a client
				// stops a response it cancelled.
				s.end(Event{Kind: core.EventStreamReset, StreamID: s.id, Code: frame.ErrCodeCancel, Remote: true, Token: "stop_sending"})
			}
			s.mu.Unlock()
		}
	}
}

// writeHead writes a response head to w.
func writeHead(w http.ResponseWriter, h head) {
	hdr := w.Header()
	for _, f := range h.fields {
		k := http.CanonicalHeaderKey(f.Name)
		hdr[k] = append(hdr[k], f.Value)
	}
	if h.status < 200 {
		w.WriteHeader(h.status) // quic-go writes a 1xx head at once
		for _, f := range h.fields {
			delete(hdr, http.CanonicalHeaderKey(f.Name))
		}
		return
	}
	// nil values keep quic-go from adding a date, sniffing a type or
	// adding the length of a response it holds whole when its handler
	// returns (content-length: 0 after WriteHeaders and CloseWrite).
	for _, k := range []string{"Date", "Content-Type", "Content-Length"} {
		if _, ok := hdr[k]; !ok {
			hdr[k] = nil
		}
	}
	w.WriteHeader(h.status)
}

// serverReset asks the writer loop to reset the stream. quic-go can reset
// a handler's stream with a code of our choosing only by handing the
// stream over (http3.HTTPStreamer), which it refuses once content was
// written; after that the only resets are H3_INTERNAL_ERROR (a handler
// aborting with http.ErrAbortHandler) and H3_REQUEST_CANCELLED (a handler
// returning with a DATA frame unfinished, see cancelMidFrame).
func (s *Stream) serverReset(code core.ErrCode) error {
	h3code, ok := CodeToH3(code)
	if !ok {
		return notSupported("HTTP/3 has no error code for %v (RFC 9114 §8.1)", code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.terminal {
		return nil
	}
	var err error
	if s.snd.taken && h3code != http3.ErrCodeInternalError && h3code != http3.ErrCodeRequestCanceled {
		err = notSupported("stream reset with H3_INTERNAL_ERROR, not %v: once content was written quic-go's ResponseWriter resets only with H3_INTERNAL_ERROR or H3_REQUEST_CANCELLED", code)
		code, h3code = frame.ErrCodeInternal, http3.ErrCodeInternalError
	}
	s.resetLocal(code, "reset")
	s.sv.aborting, s.sv.code = true, h3code
	if s.snd.taken {
		// The writer loop may be blocked in w.Write by QUIC flow control:
		// a past deadline returns it, and it then resets the stream.
		setWriteDeadline(s.sv.w, time.Now())
	}
	return err
}

func setWriteDeadline(w http.ResponseWriter, t time.Time) bool {
	d, ok := w.(interface{ SetWriteDeadline(time.Time) error })
	if ok {
		_ = d.SetWriteDeadline(t)
	}
	return ok
}

// cancelMidFrame makes quic-go reset the stream with H3_REQUEST_CANCELLED
// once its handler returns: a write past the write deadline leaves a DATA
// frame unfinished (or the response unflushed), and quic-go cancels a
// stream whose handler returned so with that code (http3.RawServerConn.
// handleRequestStream). It returns false if w has no write deadline.
func cancelMidFrame(w http.ResponseWriter) bool {
	if !setWriteDeadline(w, time.Now()) {
		return false
	}
	_, _ = w.Write([]byte{0}) // fails: the deadline has passed
	return true
}

// abortStream resets the stream on the writer loop's goroutine, which
// then returns from quic-go's handler: with the code asked for through
// http3.HTTPStreamer when no content went out; after content, with
// H3_REQUEST_CANCELLED by leaving a DATA frame unfinished, else by
// aborting the handler (H3_INTERNAL_ERROR).
func (s *Stream) abortStream() {
	s.mu.Lock()
	taken, code := s.snd.taken, s.sv.code
	s.mu.Unlock()
	if hs, ok := s.sv.w.(http3.HTTPStreamer); ok && !taken {
		if str, err := hs.HTTPStream(); err == nil {
			str.CancelRead(quic.StreamErrorCode(code))
			str.CancelWrite(quic.StreamErrorCode(code))
			return
		}
	}
	if code == http3.ErrCodeRequestCanceled && cancelMidFrame(s.sv.w) {
		return
	}
	panic(http.ErrAbortHandler)
}
