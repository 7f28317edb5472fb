package nethttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
	"golang.org/x/net/http/httpguts"
)

// srvBufSize is how much of a response the writer holds before sending:
// a response that fits, written before the handler returns, leaves in one
// piece with a Content-Length (net/http's HTTP/2 server holds 4 KiB too).
const srvBufSize = 4 << 10

var srvBufPool = sync.Pool{New: func() any { b := make([]byte, 0, srvBufSize); return &b }}

// srvWriter is the http.ResponseWriter of one request stream. Like
// net/http's, it is for the handler's goroutine; the request body may be
// read on another (full duplex), which is why the one thing both touch —
// whether a final response head went out, for 100 Continue — is locked.
type srvWriter struct {
	s    *h2.Stream
	req  *http.Request
	a    *srvAdapter
	body *srvBody

	header      http.Header // the handler's
	status      int         // the final status once WriteHeader ran; 0 before
	fields      []h2.HeaderField
	clen        int64    // declared Content-Length; -1 when none
	hasCT       bool     // the handler set Content-Type (or Content-Encoding)
	hasDate     bool     // the handler set (or removed with nil) Date
	trailers    []string // declared with the Trailer field
	written     int64
	noBody      bool // 204 or 304: the content must be empty
	head        bool // a HEAD response: content is counted and dropped
	tunnel      bool // a 2xx answer to CONNECT (RFC 9113 §8.5)
	handlerDone bool
	err         error // sticky

	bufp *[]byte
	buf  []byte

	mu           sync.Mutex
	headSent     bool // the final response head is queued
	continueSent bool

	wtimer    *time.Timer
	wTimedOut atomic.Bool
}

func srvNewWriter(s *h2.Stream, req *http.Request, a *srvAdapter) *srvWriter {
	w := &srvWriter{s: s, req: req, a: a, header: make(http.Header), clen: -1}
	w.body, _ = req.Body.(*srvBody)
	w.head = req.Method == http.MethodHead
	return w
}

// Header returns the response header map. Changes after WriteHeader (or
// the first Write) have no effect, except on trailers.
func (w *srvWriter) Header() http.Header { return w.header }

// WriteHeader sends an interim 1xx response (not 101, which HTTP/2 has no
// use for, RFC 9113 §8.6) with the current header, or sets the final
// status, sent with the first flush of content or when the handler returns.
func (w *srvWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if w.status != 0 {
		w.a.logf("nethttp: superfluous response.WriteHeader(%d) for %s", code, w.req.URL)
		return
	}
	if code < 200 {
		w.writeInformational(code)
		return
	}
	w.status = code
	h := w.header
	w.noBody = code == 204 || code == 304
	w.tunnel = w.req.Method == http.MethodConnect && code/100 == 2
	_, w.hasCT = h["Content-Type"]
	w.hasCT = w.hasCT || h.Get("Content-Encoding") != ""
	_, w.hasDate = h["Date"]
	if v := h.Get("Content-Length"); v != "" && code != 204 && !w.tunnel {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			w.clen = n
		}
	}
	for k := range declaredTrailers(h["Trailer"]) {
		w.trailers = append(w.trailers, k)
	}
	w.fields = srvAppendFields(make([]h2.HeaderField, 0, len(h)+3), h)
	if w.clen >= 0 {
		w.fields = append(w.fields, h2.HeaderField{Name: "content-length", Value: strconv.FormatInt(w.clen, 10)})
	}
}

// writeInformational sends a 1xx response head at once.
func (w *srvWriter) writeInformational(code int) {
	if code == 101 {
		w.a.logf("nethttp: WriteHeader(101) ignored: HTTP/2 has no protocol switch (RFC 9113 §8.6)")
		return
	}
	fields := srvAppendFields(nil, w.header)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.headSent {
		return
	}
	if code == 100 {
		if w.continueSent {
			return
		}
		w.continueSent = true
	}
	if err := w.s.WriteHeaders(code, fields); err != nil && w.err == nil {
		w.err = w.mapErr(err)
	}
}

// sendContinue sends 100 Continue for a request that asked for it (RFC
// 9110 §10.1.1), when the handler first reads the body, unless the final
// response went first. Called from the body's Read.
func (w *srvWriter) sendContinue() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.headSent || w.continueSent {
		return
	}
	w.continueSent = true
	_ = w.s.WriteHeaders(100, nil)
}

// Write sends content, holding up to 4 KiB before the first flush so that
// the head can carry a sniffed Content-Type (http.DetectContentType, as
// net/http does) and, for a short response, a Content-Length.
func (w *srvWriter) Write(p []byte) (int, error) {
	if err := w.beforeWrite(len(p)); err != nil {
		return 0, err
	}
	if len(w.buf)+len(p) <= srvBufSize {
		w.takeBuf()
		w.buf = append(w.buf, p...)
		return len(p), nil
	}
	if err := w.flush(p); err != nil {
		return 0, err
	}
	if len(p) < srvBufSize {
		w.takeBuf()
		w.buf = append(w.buf, p...)
		return len(p), nil
	}
	if err := w.send(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteString is Write for a string, without converting it when it fits the
// buffer.
func (w *srvWriter) WriteString(s string) (int, error) {
	if len(w.buf)+len(s) > srvBufSize {
		return w.Write([]byte(s))
	}
	if err := w.beforeWrite(len(s)); err != nil {
		return 0, err
	}
	w.takeBuf()
	w.buf = append(w.buf, s...)
	return len(s), nil
}

// beforeWrite checks a write of n bytes against the response's state.
func (w *srvWriter) beforeWrite(n int) error {
	if w.handlerDone {
		return errors.New("nethttp: Write after the handler returned")
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	switch {
	case w.err != nil:
		return w.err
	case w.noBody && n > 0:
		return http.ErrBodyNotAllowed
	case w.clen >= 0 && w.written+int64(n) > w.clen:
		return http.ErrContentLength
	}
	w.written += int64(n)
	return nil
}

func (w *srvWriter) takeBuf() {
	if w.bufp == nil {
		w.bufp = srvBufPool.Get().(*[]byte)
		w.buf = (*w.bufp)[:0]
	}
}

// flush sends the head if it is not out yet (sniffing the Content-Type
// from the held content, or next when nothing is held) and the held
// content.
func (w *srvWriter) flush(next []byte) error {
	if w.err != nil {
		return w.err
	}
	if !w.sent() {
		sniff := w.buf
		if len(sniff) == 0 {
			sniff = next
		}
		if err := w.sendHead(sniff, -1); err != nil {
			return err
		}
	}
	if len(w.buf) > 0 {
		err := w.send(w.buf)
		w.buf = w.buf[:0]
		return err
	}
	return nil
}

// markSent records that the final head is going out: from then on no 100
// Continue may precede it. One sent before is queued first.
func (w *srvWriter) markSent() {
	w.mu.Lock()
	w.headSent = true
	w.mu.Unlock()
}

func (w *srvWriter) sent() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.headSent
}

// headFields completes the final head: Content-Type sniffed from sniff
// (http.DetectContentType) when the handler set none, Date (RFC 9110
// §6.6.1) unless it set its own, and Content-Length n when n ≥ 0 and it
// declared none.
func (w *srvWriter) headFields(sniff []byte, n int) []h2.HeaderField {
	fs := w.fields
	if !w.hasCT && !w.noBody && !w.tunnel && len(sniff) > 0 {
		fs = append(fs, h2.HeaderField{Name: "content-type", Value: http.DetectContentType(sniff)})
	}
	if !w.hasDate {
		fs = append(fs, h2.HeaderField{Name: "date", Value: srvDateValue()})
	}
	if n >= 0 && w.clen < 0 && !w.noBody && !w.tunnel && (n > 0 || !w.head) {
		fs = append(fs, h2.HeaderField{Name: "content-length", Value: strconv.Itoa(n)})
	}
	return fs
}

// sendHead queues the final response head; contentLength ≥ 0 declares
// the length when the handler did not.
func (w *srvWriter) sendHead(sniff []byte, contentLength int) error {
	fs := w.headFields(sniff, contentLength)
	w.markSent()
	if err := w.s.WriteHeaders(w.status, fs); err != nil {
		w.err = w.mapErr(err)
	}
	return w.err
}

// send writes content to the stream (dropped for HEAD), blocking while
// the flow-control windows are closed.
func (w *srvWriter) send(p []byte) error {
	if w.head {
		return nil
	}
	if _, err := w.s.Write(p); err != nil {
		w.err = w.mapErr(err)
	}
	return w.err
}

// mapErr turns a stream error into what net/http handlers expect.
func (w *srvWriter) mapErr(err error) error {
	switch {
	case w.wTimedOut.Load():
		return os.ErrDeadlineExceeded
	case errors.Is(err, core.ErrContentLength):
		return http.ErrContentLength
	}
	return err
}

// Flush sends the head and the content held (http.Flusher).
func (w *srvWriter) Flush() { _ = w.FlushError() }

// FlushError is Flush reporting a failure (see http.ResponseController).
func (w *srvWriter) FlushError() error {
	if w.handlerDone {
		return errors.New("nethttp: Flush after the handler returned")
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.flush(nil)
}

// SetReadDeadline bounds reads of the request body: a Read still waiting
// at t returns os.ErrDeadlineExceeded, and the stream stays usable (the
// response can still be written). A deadline changed while a Read waits
// applies from the next Read. Zero means none.
func (w *srvWriter) SetReadDeadline(t time.Time) error {
	if w.body != nil {
		w.body.setDeadline(t)
	}
	return nil
}

// SetWriteDeadline bounds the rest of the response: if it is not complete
// by t the stream is reset with INTERNAL_ERROR, as net/http's HTTP/2
// server does, and writes fail with os.ErrDeadlineExceeded. Zero means
// none.
func (w *srvWriter) SetWriteDeadline(t time.Time) error {
	if w.wtimer != nil {
		w.wtimer.Stop()
		w.wtimer = nil
	}
	if t.IsZero() {
		return nil
	}
	expire := func() {
		w.wTimedOut.Store(true)
		_ = w.s.Reset(frame.ErrCodeInternal)
	}
	d := time.Until(t)
	if d <= 0 {
		expire()
		return nil
	}
	w.wtimer = time.AfterFunc(d, expire)
	return nil
}

// EnableFullDuplex does nothing: HTTP/2 streams are always full duplex
// (the body may be read while the response is written).
func (w *srvWriter) EnableFullDuplex() error { return nil }

// finish completes the response when the handler has returned: the head,
// if not sent yet, with the content held in one piece (and a
// Content-Length), then the end of the stream or the trailers. A failure
// resets the stream with INTERNAL_ERROR.
func (w *srvWriter) finish() {
	defer w.stop()
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		_ = w.s.Reset(frame.ErrCodeInternal)
		return
	}
	if w.clen >= 0 && w.written < w.clen && !w.head && !w.noBody {
		w.finishShort()
		return
	}
	var trailers []h2.HeaderField
	if !w.head { // a HEAD response ends with its head (RFC 9110 §9.3.2)
		trailers = w.trailerFields()
	}
	var err error
	if !w.sent() {
		n := len(w.buf)
		if len(trailers) == 0 && !w.tunnel {
			// One call queues head and content together.
			fs := w.headFields(w.buf, n)
			body := w.buf
			if w.head {
				body = nil
			}
			w.markSent()
			if err := w.s.Respond(w.status, fs, body); err != nil {
				_ = w.s.Reset(frame.ErrCodeInternal)
			}
			return
		}
		if w.tunnel {
			n = -1
		}
		err = w.sendHead(w.buf, n)
	}
	if err == nil && len(w.buf) > 0 {
		err = w.send(w.buf)
	}
	if err == nil {
		if len(trailers) > 0 && !w.tunnel {
			err = w.s.WriteTrailers(trailers)
		} else {
			err = w.s.CloseWrite()
		}
	}
	if err != nil {
		_ = w.s.Reset(frame.ErrCodeInternal)
	}
}

// srvFlushTimeout bounds the wait, before a short response's reset, for
// the content queued before it to leave: a PING round trip (see
// finishShort). Long enough for any live peer's ACK; a dead one loses
// nothing by it.
const srvFlushTimeout = time.Second

// finishShort ends a response with less content than its declared
// Content-Length, which the stream cannot end with (RFC 9113 §8.1.1): the
// head and the content go out, then the stream is reset with
// INTERNAL_ERROR, so that the client gets what the handler wrote and an
// error. (net/http's own server sends the same head and content and ends
// the stream short, which Go's client reports as io.ErrUnexpectedEOF.) A
// reset drops content still queued, so it waits for a PING round trip
// first: the PING leaves with, or after, that content.
func (w *srvWriter) finishShort() {
	var err error
	if !w.sent() {
		err = w.sendHead(w.buf, -1)
	}
	if err == nil && len(w.buf) > 0 {
		err = w.send(w.buf)
	}
	if err == nil {
		ctx, cancel := context.WithTimeout(w.s.Context(), srvFlushTimeout)
		_, _ = w.s.Conn().Ping(ctx)
		cancel()
	}
	_ = w.s.Reset(frame.ErrCodeInternal)
}

// trailerFields returns the trailers to send: the fields declared with
// Trailer before the head went out, and those under http.TrailerPrefix,
// with their values at the handler's return; empty ones are dropped.
func (w *srvWriter) trailerFields() []h2.HeaderField {
	var fs []h2.HeaderField
	add := func(k string, vv []string) {
		name := lowerKey(k)
		if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidTrailerHeader(http.CanonicalHeaderKey(k)) || connSpecific(name) {
			return
		}
		for _, v := range vv {
			if httpguts.ValidHeaderFieldValue(v) {
				fs = append(fs, h2.HeaderField{Name: name, Value: v})
			}
		}
	}
	for _, k := range w.trailers {
		add(k, w.header[k])
	}
	for k, vv := range w.header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			add(k[len(http.TrailerPrefix):], vv)
		}
	}
	return fs
}

// stop releases the writer's timer and buffer once the response is over.
func (w *srvWriter) stop() {
	w.handlerDone = true
	if w.wtimer != nil {
		w.wtimer.Stop()
		w.wtimer = nil
	}
	if w.bufp != nil {
		*w.bufp = w.buf[:0]
		srvBufPool.Put(w.bufp)
		w.bufp, w.buf = nil, nil
	}
}
