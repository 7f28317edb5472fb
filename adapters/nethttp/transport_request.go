package nethttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"

	"github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
)

// trRequest is one RoundTrip: the request's fields, built once, and the
// state of the attempt in flight.
type trRequest struct {
	t      *Transport
	req    *http.Request
	ctx    context.Context
	trace  *httptrace.ClientTrace
	key    string // scheme://host:port
	addr   string // host:port dialled
	https  bool
	fields []h2.HeaderField

	body      io.ReadCloser // this attempt's body; nil without one
	bodyUsed  bool          // an attempt started reading body
	expect100 bool
}

// trNoBody reports whether req has no content to send.
func trNoBody(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody
}

// newRequest checks req and builds its header fields (RFC 9113 §8.3.1).
func (t *Transport) newRequest(req *http.Request) (*trRequest, error) {
	if req.URL == nil {
		return nil, errors.New("nethttp: request has no URL")
	}
	if req.Header == nil {
		return nil, errors.New("nethttp: request has no Header map")
	}
	tr := &trRequest{t: t, req: req, ctx: req.Context()}
	tr.trace = httptrace.ContextClientTrace(tr.ctx)
	var port string
	switch req.URL.Scheme {
	case "https":
		tr.https, port = true, "443"
	case "http":
		if !t.AllowHTTP {
			return nil, errors.New("nethttp: http:// URL needs Transport.AllowHTTP (cleartext HTTP/2 with prior knowledge); this transport does not speak HTTP/1.1")
		}
		port = "80"
	default:
		return nil, fmt.Errorf("nethttp: unsupported URL scheme %q", req.URL.Scheme)
	}
	host := req.URL.Host
	if host == "" {
		return nil, errors.New("nethttp: request URL has no host")
	}
	tr.addr = host
	if p := req.URL.Port(); p == "" {
		tr.addr = net.JoinHostPort(req.URL.Hostname(), port)
	}
	tr.key = req.URL.Scheme + "://" + tr.addr
	authority := req.Host
	if authority == "" {
		authority = host
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	if !trNoBody(req) {
		tr.body = req.Body
	}
	fs := make([]h2.HeaderField, 0, 5+len(req.Header))
	if method == http.MethodConnect {
		fs = append(fs, h2.HeaderField{Name: ":method", Value: method}, h2.HeaderField{Name: ":authority", Value: authority})
	} else {
		path, err := trPath(req.URL, authority)
		if err != nil {
			return nil, err
		}
		fs = append(fs,
			h2.HeaderField{Name: ":method", Value: method},
			h2.HeaderField{Name: ":scheme", Value: req.URL.Scheme},
			h2.HeaderField{Name: ":authority", Value: authority},
			h2.HeaderField{Name: ":path", Value: path})
	}
	for k, vs := range req.Header {
		name := lowerKey(k)
		switch name {
		case "host", "content-length", "trailer":
			continue // set below, from the request's fields
		case "te":
			// Only "trailers" may be sent (RFC 9113 §8.2.2).
			for _, v := range vs {
				if strings.EqualFold(strings.TrimSpace(v), "trailers") {
					fs = append(fs, h2.HeaderField{Name: "te", Value: "trailers"})
					break
				}
			}
			continue
		case "expect":
			for _, v := range vs {
				if strings.EqualFold(v, "100-continue") {
					tr.expect100 = tr.body != nil
				}
			}
		}
		if connSpecific(name) {
			continue // RFC 9113 §8.2.2
		}
		for _, v := range vs {
			fs = append(fs, h2.HeaderField{Name: name, Value: v})
		}
	}
	if cl := req.ContentLength; cl > 0 || (cl == 0 && tr.body == nil && trWantsLength(method)) {
		fs = append(fs, h2.HeaderField{Name: "content-length", Value: strconv.FormatInt(cl, 10)})
	}
	if len(req.Trailer) > 0 {
		keys := make([]string, 0, len(req.Trailer))
		for k := range req.Trailer {
			keys = append(keys, lowerKey(k))
		}
		fs = append(fs, h2.HeaderField{Name: "trailer", Value: strings.Join(keys, ", ")})
	}
	tr.fields = fs
	return tr, nil
}

// trWantsLength reports whether an empty request of method states its
// length, as net/http does: methods that normally carry content.
func trWantsLength(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}

// trPath is the :path of a request for u (RFC 9113 §8.3.1): its
// RequestURI, except that a URL.Opaque of the form "//host/path" (the way
// to send a path as is) gives "/path", as Go's client sends it, not the
// "scheme://host/path" RequestURI makes of it. A :path that neither starts
// with "/" nor is "*" is an error.
func trPath(u *url.URL, authority string) (string, error) {
	path := u.RequestURI()
	if trValidPath(path) {
		return path, nil
	}
	for _, host := range []string{u.Host, authority} {
		if p, ok := strings.CutPrefix(path, u.Scheme+"://"+host); ok && trValidPath(p) {
			return p, nil
		}
	}
	if u.Opaque != "" {
		return "", fmt.Errorf("nethttp: invalid request :path %q from URL.Opaque = %q", path, u.Opaque)
	}
	return "", fmt.Errorf("nethttp: invalid request :path %q", path)
}

func trValidPath(p string) bool { return strings.HasPrefix(p, "/") || p == "*" }

// rewind readies the body for another attempt: the same one if no attempt
// read it, else a fresh one from GetBody.
func (tr *trRequest) rewind() error {
	if tr.body == nil || !tr.bodyUsed {
		return nil
	}
	if tr.req.GetBody == nil {
		return errors.New("nethttp: request body was partly sent and Request.GetBody is nil")
	}
	b, err := tr.req.GetBody()
	if err != nil {
		return err
	}
	tr.body, tr.bodyUsed = b, false
	return nil
}

// retryable reports whether the failed attempt may be made again.
func (tr *trRequest) retryable(err error) bool {
	if !trRetryable(err) {
		return false
	}
	var ue *trUnusableError
	if errors.As(err, &ue) || tr.body == nil || !tr.bodyUsed {
		return true // nothing of the body was read
	}
	return tr.req.GetBody != nil
}

// closeBody closes the body of the last attempt if none of its writers
// will.
func (tr *trRequest) closeBody() {
	if tr.body != nil && !tr.bodyUsed {
		_ = tr.body.Close()
	}
}

// send makes one attempt on cc, which holds a stream reserved for it.
func (tr *trRequest) send(cc *trConn, reused bool) (*http.Response, error) {
	if tr.trace != nil && tr.trace.GotConn != nil {
		tr.trace.GotConn(httptrace.GotConnInfo{Conn: cc.c.NetConn(), Reused: reused})
	}
	opts := &h2.RequestOptions{EndStream: tr.body == nil}
	var cont *trContinue
	if tr.expect100 {
		cont = newTrContinue(tr.trace)
		opts.Handler = cont.handle
	}
	s, err := cc.c.Request(tr.ctx, tr.fields, opts)
	if err != nil {
		if tr.ctx.Err() != nil {
			cc.release()
			return nil, tr.ctx.Err()
		}
		if errors.Is(err, core.ErrGoAwayReceived) || errors.Is(err, core.ErrClosed) ||
			errors.Is(err, core.ErrStreamIDsExhausted) || errors.Is(err, core.ErrGoAwaySent) ||
			errors.Is(err, core.ErrConnectionLost) || cc.closedNow() {
			cc.abandon()
			return nil, &trUnusableError{err: err}
		}
		cc.release()
		return nil, err
	}
	if tr.trace != nil && tr.trace.WroteHeaders != nil {
		tr.trace.WroteHeaders()
	}
	st := &trStream{tr: tr, cc: cc, s: s, body: tr.body}
	st.refs.Store(1)
	if tr.body != nil {
		tr.bodyUsed = true
		st.refs.Add(1)
		go st.writeBody(cont)
	} else {
		st.sentEnd.Store(true)
		if tr.trace != nil && tr.trace.WroteRequest != nil {
			tr.trace.WroteRequest(httptrace.WroteRequestInfo{})
		}
	}
	if cont != nil && !cont.waitHandedBack(tr.ctx) {
		st.abort()
		return nil, tr.ctx.Err()
	}
	resp, err := s.Response(tr.ctx)
	if err != nil {
		// Read what the writer recorded before abort abandons the upload.
		serr := st.sendErr()
		st.abort()
		if ctxErr := tr.ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		if serr != nil {
			return nil, serr // the reset is ours, because of it
		}
		return nil, err
	}
	if cont != nil {
		cont.final(resp)
	} else if tr.trace != nil && tr.trace.Got1xxResponse != nil {
		trReport1xx(tr.trace, resp.Informational)
	}
	return st.response(resp), nil
}
