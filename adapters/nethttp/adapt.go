package nethttp

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core/frame"
	"golang.org/x/net/http/httpguts"
)

// Adapt returns an h2.Handler that serves h: each request stream becomes an
// *http.Request and an http.ResponseWriter, and h.ServeHTTP runs on the
// stream's goroutine (h2.Server in its default, goroutine-per-request mode;
// the adapter blocks, so it must not run with h2.Server.Inline).
//
// A panic in h resets the stream with INTERNAL_ERROR (RFC 9113 §5.4.2) and
// is logged with its stack, except http.ErrAbortHandler, which is quiet.
// Use Server for an http.Server-like front end. A nil h means
// http.DefaultServeMux.
func Adapt(h http.Handler) h2.Handler {
	if h == nil {
		h = http.DefaultServeMux
	}
	return &srvAdapter{h: h}
}

// srvAdapter is the h2.Handler that Adapt returns.
type srvAdapter struct {
	h        http.Handler
	errorLog *log.Logger // nil: the log package
}

func (a *srvAdapter) logf(format string, args ...any) {
	if a.errorLog != nil {
		a.errorLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}

// ServeH2 serves one request stream with the http.Handler.
func (a *srvAdapter) ServeH2(s *h2.Stream) {
	req, err := a.newRequest(s)
	if err != nil {
		// A request the core accepted but net/http cannot represent (a
		// :path url.ParseRequestURI rejects): 400, without the handler.
		_ = s.Respond(http.StatusBadRequest, []h2.HeaderField{{Name: "content-type", Value: "text/plain; charset=utf-8"}}, []byte(err.Error()+"\n"))
		return
	}
	rw := srvNewWriter(s, req, a)
	if b, ok := req.Body.(*srvBody); ok {
		b.rw = rw
	}
	defer a.finish(rw)
	a.h.ServeHTTP(rw, req)
	rw.handlerDone = true
}

// finish ends the response after ServeHTTP, or resets the stream after a
// panic.
func (a *srvAdapter) finish(rw *srvWriter) {
	if !rw.handlerDone {
		e := recover()
		if e != nil && e != http.ErrAbortHandler {
			// Logged before the reset, so that the log line is there
			// when the client sees the stream end.
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			a.logf("nethttp: panic serving %v: %v\n%s", rw.req.RemoteAddr, e, buf)
		}
		_ = rw.s.Reset(frame.ErrCodeInternal)
		rw.stop()
		return
	}
	rw.finish()
}

// newRequest builds the *http.Request of a request stream, as net/http's
// HTTP/2 server does (RFC 9113 §8.3.1 pseudo-header fields, §8.2.3 cookies).
func (a *srvAdapter) newRequest(s *h2.Stream) (*http.Request, error) {
	hr := s.Request()
	c := s.Conn()
	ctx := context.WithValue(s.Context(), http.LocalAddrContextKey, c.LocalAddr())
	req, err := http.NewRequestWithContext(ctx, hr.Method, "", nil)
	if err != nil {
		return nil, err
	}
	req.Proto, req.ProtoMajor, req.ProtoMinor = "HTTP/2.0", 2, 0
	req.RemoteAddr = srvRemoteAddr(c.RemoteAddr())
	req.Host = hr.Authority
	if tc, ok := c.NetConn().(*tls.Conn); ok {
		cs := tc.ConnectionState()
		req.TLS = &cs
	}
	req.Header = headerFromFields(hr.Header, true)
	if req.Host == "" {
		req.Host = req.Header.Get("Host")
	}
	delete(req.Header, "Host")
	if hr.Protocol != "" {
		// Extended CONNECT (RFC 8441): net/http keeps :protocol in Header.
		req.Header[":protocol"] = []string{hr.Protocol}
	}
	if hr.Method == http.MethodConnect && hr.Protocol == "" {
		// A tunnel (RFC 9113 §8.5): no :path, the target is :authority.
		req.URL = &url.URL{Host: hr.Authority}
		req.RequestURI = hr.Authority
	} else {
		u, err := url.ParseRequestURI(hr.Path)
		if err != nil {
			return nil, fmt.Errorf("bad :path %q: %w", hr.Path, err)
		}
		req.URL = u
		req.RequestURI = hr.Path
	}
	if hr.EndStream {
		req.ContentLength = 0
		req.Body = http.NoBody
	} else {
		req.ContentLength = -1
		if vv := req.Header["Content-Length"]; len(vv) > 0 {
			// The core checked it against the content (RFC 9113 §8.1.1).
			if n, err := strconv.ParseInt(vv[0], 10, 64); err == nil && n >= 0 {
				req.ContentLength = n
			}
		}
		b := &srvBody{s: s, req: req}
		if vv := req.Header["Expect"]; httpguts.HeaderValuesContainsToken(vv, "100-continue") {
			b.needContinue = true
			delete(req.Header, "Expect")
		}
		// Declared trailers (RFC 9110 §6.6.2): their keys now, values at
		// the body's io.EOF. As net/http, the Trailer field itself is not
		// left in Header.
		for k := range declaredTrailers(req.Header["Trailer"]) {
			if req.Trailer == nil {
				req.Trailer = make(http.Header)
			}
			req.Trailer[k] = nil
		}
		req.Body = b
	}
	delete(req.Header, "Trailer")
	return req, nil
}

// srvRemoteAddr is c's remote address as a string (net.Conn may have none).
func srvRemoteAddr(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
