package nethttp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
)

// trStream is one attempt's stream. Two holders share it — the response
// side and, when there is one, the request body's writer — and the last to
// let go gives the stream back to the connection (trConn.release). The
// response side lets go when the stream ends (even with the body unread:
// its content stays readable), at the body's EOF, error or Close, or when
// the attempt fails.
type trStream struct {
	tr      *trRequest
	cc      *trConn
	s       *h2.Stream
	refs    atomic.Int32
	sentEnd atomic.Bool           // our side ended: END_STREAM or trailers queued
	bodyErr atomic.Pointer[error] // sending the request failed on our side
	once    sync.Once             // the response side let go
	unwatch func() bool           // stops the watch on the stream's end

	body      io.ReadCloser // the request body; nil without one
	bodyOnce  sync.Once     // closes body
	abandoned atomic.Bool   // the response side closed body: its errors are ours
}

// unref drops one holder; the last releases the connection's stream.
func (st *trStream) unref() {
	if st.refs.Add(-1) == 0 {
		st.cc.release()
	}
}

// closeBody closes the request body, once, whoever gets there first: the
// writer when it is done, or the response side abandoning the upload.
func (st *trStream) closeBody() {
	if st.body != nil {
		st.bodyOnce.Do(func() { _ = st.body.Close() })
	}
}

// doneReading lets go of the response side. A request still being sent
// after the response ended is abandoned: the stream is reset with CANCEL,
// which RFC 9113 §8.1 allows once the response is complete, and which
// frees the stream on the server too; and the request body is closed, so
// that a writer blocked in its Read returns and lets go of the stream.
func (st *trStream) doneReading(complete bool) {
	st.once.Do(func() {
		unsent := !st.sentEnd.Load()
		if !complete || unsent {
			_ = st.s.Cancel()
		}
		if unsent && st.body != nil {
			st.abandoned.Store(true)
			st.closeBody()
		}
		st.unref()
	})
}

// watch lets go of the response side when the stream ends, so that a
// response whose body is left unread or unclosed does not hold its
// connection's stream slot: the connection can go idle and be closed
// (CloseIdleConnections, IdleConnTimeout). The content already received
// stays readable.
func (st *trStream) watch(r *h2.Response) {
	if r.EndStream {
		// The response is complete: nothing arrives after its HEADERS.
		st.doneReading(true)
		return
	}
	st.unwatch = context.AfterFunc(st.s.Context(), func() { st.doneReading(true) })
}

// stopWatching ends the watch once the body let go by itself.
func (st *trStream) stopWatching() {
	if st.unwatch != nil {
		st.unwatch()
	}
}

// abort ends a failed attempt.
func (st *trStream) abort() { st.doneReading(false) }

// failed records why sending the request failed on our side (the body's
// Read, a content length or trailer the core refused), unless the response
// side abandoned the upload or the stream had ended anyway (a reset by the
// server, the connection's end, the context: those speak for themselves).
// RoundTrip and the body's Read then return it rather than the CANCEL reset
// that follows.
func (st *trStream) failed(err error) {
	if st.abandoned.Load() || st.tr.ctx.Err() != nil {
		return
	}
	select {
	case <-st.s.Done():
		return
	default:
	}
	st.bodyErr.CompareAndSwap(nil, &err)
}

// sendErr is the error recorded by failed, or nil.
func (st *trStream) sendErr() error {
	if p := st.bodyErr.Load(); p != nil {
		return *p
	}
	return nil
}

// trBufPool holds the buffers request bodies are copied through.
var trBufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// writeBody copies the request body to the stream, blocking while flow
// control holds it (RFC 9113 §6.9), then ends the stream with the request's
// trailers, if any (§8.1). It runs on its own goroutine and closes body.
// A failure on our side is recorded (failed) before the stream is reset.
func (st *trStream) writeBody(cont *trContinue) {
	defer st.unref()
	defer st.closeBody()
	tr := st.tr
	if cont != nil {
		if tr.trace != nil && tr.trace.Wait100Continue != nil {
			tr.trace.Wait100Continue()
		}
		if !cont.wait(tr.ctx, tr.t.continueTimeout()) {
			return // a final response came first: the body is not sent
		}
	}
	bp := trBufPool.Get().(*[]byte)
	defer trBufPool.Put(bp)
	buf := *bp
	var sent int64
	for {
		n, err := st.body.Read(buf)
		if n > 0 {
			if _, werr := st.s.WriteContext(tr.ctx, buf[:n]); werr != nil {
				st.failed(tr.lengthErr(werr, sent+int64(n), true))
				_ = st.s.Cancel()
				return
			}
			sent += int64(n)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			st.failed(fmt.Errorf("nethttp: reading the request body: %w", err))
			_ = st.s.Cancel()
			return
		}
	}
	var err error
	if len(tr.req.Trailer) > 0 {
		fs := make([]h2.HeaderField, 0, len(tr.req.Trailer))
		for k, vs := range tr.req.Trailer {
			name := lowerKey(k)
			for _, v := range vs {
				fs = append(fs, h2.HeaderField{Name: name, Value: v})
			}
		}
		if err = st.s.WriteTrailers(fs); err != nil && !errors.Is(err, core.ErrContentLength) {
			err = fmt.Errorf("nethttp: request trailers refused: %w", err)
		}
	} else {
		err = st.s.CloseWrite()
	}
	if err != nil {
		st.failed(tr.lengthErr(err, sent, false))
		_ = st.s.Cancel()
		return
	}
	st.sentEnd.Store(true)
	if tr.trace != nil && tr.trace.WroteRequest != nil {
		tr.trace.WroteRequest(httptrace.WroteRequestInfo{})
	}
}

// lengthErr words a content-length mismatch (core.ErrContentLength) as
// net/http does, naming the declared length and the body's: n bytes, or
// at least n when the body was longer. Other errors pass through, those of
// a write wrapped.
func (tr *trRequest) lengthErr(err error, n int64, writing bool) error {
	if errors.Is(err, core.ErrContentLength) {
		more := ""
		if writing {
			more = " or more"
		}
		return fmt.Errorf("http: ContentLength=%d with Body length %d%s: %w", tr.req.ContentLength, n, more, err)
	}
	if writing {
		return fmt.Errorf("nethttp: sending the request body: %w", err)
	}
	return err
}

// response builds the http.Response for the response head r.
func (st *trStream) response(r *h2.Response) *http.Response {
	req := st.tr.req
	res := &http.Response{
		Status:        strconv.Itoa(r.Status) + " " + http.StatusText(r.Status),
		StatusCode:    r.Status,
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
		Header:        headerFromFields(r.Header, false),
		ContentLength: -1,
		Request:       req,
	}
	if vv, ok := res.Header["Trailer"]; ok {
		// Declared trailers (RFC 9110 §6.6.2): keys now, values at EOF;
		// the Trailer field itself is not left in Header, as net/http.
		delete(res.Header, "Trailer")
		for k := range declaredTrailers(vv) {
			if res.Trailer == nil {
				res.Trailer = make(http.Header)
			}
			res.Trailer[k] = nil
		}
	}
	if cl := res.Header["Content-Length"]; len(cl) == 1 {
		if n, err := strconv.ParseInt(cl[0], 10, 64); err == nil && n >= 0 {
			res.ContentLength = n
		}
	} else if len(cl) == 0 && (r.EndStream || r.Status == http.StatusNoContent || r.Status == http.StatusNotModified) {
		// The HEADERS ended the stream, or no content is allowed (RFC 9110
		// §15.3.5, §15.4.5): the length is known to be 0, as Go's HTTP/2
		// client reports it.
		res.ContentLength = 0
	}
	if tc, ok := st.cc.c.NetConn().(*tls.Conn); ok {
		cs := tc.ConnectionState()
		res.TLS = &cs
	}
	res.Body = &trBody{st: st, res: res}
	st.watch(r)
	return res
}

// errTrBodyClosed is what a Read of a closed response body returns (the
// text of net/http's own).
var errTrBodyClosed = errors.New("http: read on closed response body")

// trBody is a response body: it reads the stream, fills the response's
// Trailer at EOF, and gives the stream back at EOF, error or Close.
type trBody struct {
	st     *trStream
	res    *http.Response
	closed atomic.Bool
	mu     sync.Mutex // serialises Reads
	eof    bool
	err    error
}

func (b *trBody) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, errTrBodyClosed
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.eof {
		return 0, io.EOF
	}
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.st.s.Read(p)
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		b.eof = true
		b.fillTrailers()
		b.st.doneReading(true)
		b.st.stopWatching()
		return n, io.EOF
	}
	if ctxErr := b.st.tr.ctx.Err(); ctxErr != nil {
		err = ctxErr
	} else if b.closed.Load() {
		err = errTrBodyClosed
	} else if serr := b.st.sendErr(); serr != nil {
		err = serr // the reset came from our failure to send the request
	}
	b.err = err
	b.st.doneReading(false)
	b.st.stopWatching()
	return n, err
}

// fillTrailers copies the received trailer fields into res.Trailer, as
// net/http does: into the map of the declared keys (RFC 9113 §8.1).
func (b *trBody) fillTrailers() {
	fs := b.st.s.Trailers()
	if len(fs) == 0 {
		return
	}
	if b.res.Trailer == nil {
		b.res.Trailer = make(http.Header, len(fs))
	}
	for k, vs := range headerFromFields(fs, false) {
		b.res.Trailer[k] = vs
	}
}

// Close ends the body; before EOF it resets the stream with CANCEL.
func (b *trBody) Close() error {
	b.closed.Store(true)
	b.st.doneReading(false) // after EOF or the stream's end: already done
	b.st.stopWatching()
	return nil
}
