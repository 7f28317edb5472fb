package h3

import (
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// runClient performs the request on its own goroutine, turning what
// quic-go reports into the stream's events: 1xx heads (through
// httptrace.ClientTrace.Got1xxResponse), the response, its content and
// trailers, and the end.
func (s *Stream) runClient(req *http.Request, ctx context.Context) {
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		s.mu.Lock()
		s.push(Event{Kind: core.EventInformational, StreamID: s.id, Status: code, Headers: fieldsOf(code, http.Header(h))})
		s.mu.Unlock()
		return nil
	}}
	res, err := s.c.cc.RoundTrip(req.WithContext(httptrace.WithClientTrace(ctx, trace)))
	if err != nil {
		s.mu.Lock()
		s.fail(err)
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	s.push(Event{Kind: core.EventResponse, StreamID: s.id, Status: res.StatusCode, Headers: fieldsOf(res.StatusCode, res.Header)})
	s.mu.Unlock()
	s.pump(res.Body, func() http.Header { return res.Trailer })
}

// pump reads received content into the stream's queue, at most
// recvCap bytes ahead of the application, then the trailers and the end.
func (s *Stream) pump(body io.ReadCloser, trailers func() http.Header) {
	defer body.Close()
	scratch := getScratch()
	defer putScratch(scratch)
	for {
		room, ok := s.waitBudget()
		if !ok {
			return
		}
		n, err := body.Read((*scratch)[:min(room, len(*scratch))])
		s.mu.Lock()
		if n > 0 {
			s.push(Event{Kind: core.EventData, StreamID: s.id, Data: append([]byte(nil), (*scratch)[:n]...)})
		}
		switch {
		case err == io.EOF:
			if tr := fieldsOf(0, trailers()); len(tr) > 0 {
				s.push(Event{Kind: core.EventTrailers, StreamID: s.id, Headers: tr})
			} else {
				s.push(Event{Kind: core.EventData, StreamID: s.id, EndStream: true})
			}
			s.recvEnd = true
			s.snd.wake() // a server's writer loop waits for the end of the request
			s.maybeClose()
			if s.c != nil && !s.terminal && s.c.qc.Context().Err() != nil {
				s.fail(context.Cause(s.c.qc.Context())) // the watcher has passed
			}
			s.mu.Unlock()
			return
		case err != nil:
			s.fail(err)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
}

// fieldsOf turns an http.Header into header fields: :status first when
// status is set, then the fields with lower-case names (as on the wire,
// RFC 9114 §4.2) sorted by name, values in order.
func fieldsOf(status int, h http.Header) []HeaderField {
	if status == 0 && len(h) == 0 {
		return nil
	}
	names := make([]string, 0, len(h))
	n := 0
	for k, vs := range h {
		names = append(names, k)
		n += len(vs)
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	fs := make([]HeaderField, 0, n+1)
	if status != 0 {
		fs = append(fs, HeaderField{Name: ":status", Value: strconv.Itoa(status)})
	}
	for _, k := range names {
		name := strings.ToLower(k)
		for _, v := range h[k] {
			fs = append(fs, HeaderField{Name: name, Value: v})
		}
	}
	return fs
}

// bodyReader is the request body quic-go pulls from the stream's send
// buffer; at the end it fills in the request's trailers.
type bodyReader struct {
	s   *Stream
	req *http.Request
}

func (r *bodyReader) Read(p []byte) (int, error) {
	s := r.s
	s.mu.Lock()
	for {
		if s.terminal && !s.sendDone {
			s.mu.Unlock()
			return 0, errStreamReset // quic-go resets the send side
		}
		if s.snd.buffered() > 0 {
			n := s.snd.take(p)
			s.mu.Unlock()
			return n, nil
		}
		if s.snd.ended {
			for _, f := range s.snd.trailers {
				r.req.Trailer[f.Name] = append(r.req.Trailer[f.Name], f.Value)
			}
			// Our side is over for the application; quic-go writes the
			// trailers and the FIN after this EOF, on its own goroutine,
			// with no signal when done. The stream may therefore end
			// (Done) before they are on the wire; they still go out
			// unless the connection is closed first.
			s.sendDone = true
			s.maybeClose()
			s.mu.Unlock()
			return 0, io.EOF
		}
		s.mu.Unlock()
		<-s.snd.dsig
		s.mu.Lock()
	}
}

// Close is quic-go giving up the request body: after its end, or because
// sending failed — typically the server stopped reading (STOP_SENDING
// with H3_NO_ERROR after a complete response, RFC 9114 §4.1). Our side is
// then over: content still queued is dropped and writes fail.
func (r *bodyReader) Close() error {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sendDone {
		s.sendDone = true
		s.snd.ended = true
		s.snd.data, s.snd.off = nil, 0
		s.snd.wake()
		s.maybeClose()
	}
	return nil
}

var errStreamReset = &core.StreamError{Code: frame.ErrCodeCancel, Token: "cancel"}

// clientReset resets a client stream. The adapter sends requests with
// quic-go's ClientConn.RoundTrip, the API that writes request trailers and
// reports 1xx responses; RoundTrip cancels a request only through its
// context, with H3_REQUEST_CANCELLED in both directions, so that is the
// only code a client stream can send. (quic-go's OpenRequestStream takes
// any code, but cannot send request trailers.)
func (s *Stream) clientReset(code core.ErrCode) error {
	if code != frame.ErrCodeCancel {
		return notSupported("a client stream resets with H3_REQUEST_CANCELLED (CANCEL) only: the adapter sends requests with quic-go's ClientConn.RoundTrip (for request trailers and 1xx), which cancels through its context; asked for %v", code)
	}
	s.mu.Lock()
	if s.terminal {
		s.mu.Unlock()
		return nil
	}
	s.resetLocal(code, "cancel") // end cancels the request's context
	s.mu.Unlock()
	return nil
}

// scratchPool holds the buffers pumps and writer loops copy through, so
// that a stream costs the bytes it carries, not a buffer of its own.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func getScratch() *[]byte  { return scratchPool.Get().(*[]byte) }
func putScratch(b *[]byte) { scratchPool.Put(b) }
