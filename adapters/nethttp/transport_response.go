package nethttp

import (
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/h2proto/h2"
)

// trStream is one attempt's stream. Two holders share it — the response
// body and, when there is one, the request body's writer — and the last to
// let go gives the stream back to the connection (trConn.release).
type trStream struct {
	tr      *trRequest
	cc      *trConn
	s       *h2.Stream
	refs    atomic.Int32
	sentEnd atomic.Bool           // our side ended: END_STREAM or trailers queued
	bodyErr atomic.Pointer[error] // reading the request body failed
	once    sync.Once             // the response side let go
}

// unref drops one holder; the last releases the connection's stream.
func (st *trStream) unref() {
	if st.refs.Add(-1) == 0 {
		st.cc.release()
	}
}

// doneReading lets go of the response side. A request still being sent
// after the response ended is abandoned: the stream is reset with CANCEL,
// which RFC 9113 §8.1 allows once the response is complete, and which
// frees the stream on the server too.
func (st *trStream) doneReading(complete bool) {
	st.once.Do(func() {
		if !complete || !st.sentEnd.Load() {
			_ = st.s.Cancel()
		}
		st.unref()
	})
}

// abort ends a failed attempt.
func (st *trStream) abort() { st.doneReading(false) }

// trBufPool holds the buffers request bodies are copied through.
var trBufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// writeBody copies the request body to the stream, blocking while flow
// control holds it (RFC 9113 §6.9), then ends the stream with the request's
// trailers, if any (§8.1). It runs on its own goroutine and closes body.
func (st *trStream) writeBody(body io.ReadCloser, cont *trContinue) {
	defer st.unref()
	defer body.Close()
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
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := st.s.WriteContext(tr.ctx, buf[:n]); werr != nil {
				_ = st.s.Cancel()
				return
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			st.bodyErr.Store(&err)
			_ = st.s.Cancel()
			return
		}
	}
	var err error
	if len(tr.req.Trailer) > 0 {
		fs := make([]h2.HeaderField, 0, len(tr.req.Trailer))
		for k, vs := range tr.req.Trailer {
			name := strings.ToLower(k)
			for _, v := range vs {
				fs = append(fs, h2.HeaderField{Name: name, Value: v})
			}
		}
		err = st.s.WriteTrailers(fs)
	} else {
		err = st.s.CloseWrite()
	}
	if err != nil {
		_ = st.s.Cancel()
		return
	}
	st.sentEnd.Store(true)
	if tr.trace != nil && tr.trace.WroteRequest != nil {
		tr.trace.WroteRequest(httptrace.WroteRequestInfo{})
	}
}

// response builds the http.Response for the response head r.
func (st *trStream) response(r *h2.Response) *http.Response {
	req := st.tr.req
	res := &http.Response{
		Status:        strconv.Itoa(r.Status) + " " + http.StatusText(r.Status),
		StatusCode:    r.Status,
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
		Header:        make(http.Header, len(r.Header)),
		ContentLength: -1,
		Request:       req,
	}
	for _, f := range r.Header {
		if strings.HasPrefix(f.Name, ":") {
			continue
		}
		k := http.CanonicalHeaderKey(f.Name)
		if k == "Trailer" {
			// Declared trailers (RFC 9110 §6.6.2): keys now, values at EOF.
			if res.Trailer == nil {
				res.Trailer = make(http.Header)
			}
			for v := range strings.SplitSeq(f.Value, ",") {
				if v = strings.TrimSpace(v); v != "" {
					res.Trailer[http.CanonicalHeaderKey(v)] = nil
				}
			}
			continue
		}
		res.Header[k] = append(res.Header[k], f.Value)
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
		return n, io.EOF
	}
	if ctxErr := b.st.tr.ctx.Err(); ctxErr != nil {
		err = ctxErr
	} else if b.closed.Load() {
		err = errTrBodyClosed
	}
	b.err = err
	b.st.doneReading(false)
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
	got := trHeader(fs)
	for k, vs := range got {
		b.res.Trailer[k] = vs
	}
}

// Close ends the body; before EOF it resets the stream with CANCEL.
func (b *trBody) Close() error {
	b.closed.Store(true)
	b.st.doneReading(false) // after EOF: already done
	return nil
}
