package h3

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// ALPN is the protocol identifier of HTTP/3 (RFC 9114 §3.1).
const ALPN = http3.NextProtoH3

// Conn is one HTTP/3 client connection: a QUIC connection with quic-go's
// http3.ClientConn on top. Its methods and those of its streams are safe
// for concurrent use.
type Conn struct {
	qc        *quic.Conn
	cc        *http3.ClientConn
	tr        *quic.Transport
	opts      ClientOptions
	authority string

	mu      sync.Mutex
	nextID  uint32
	streams map[*Stream]struct{} // not yet ended
	closed  bool                 // the QUIC connection ended
}

// Dial connects to addr (host:port) over QUIC with TLS 1.3 and ALPN "h3"
// and returns once the server's SETTINGS (RFC 9114 §7.2.4) arrived, or
// fails with an error naming the step: resolving, the handshake (QUIC,
// TLS, certificate, ALPN), or the SETTINGS. ctx bounds it all; without a
// deadline DefaultHandshakeTimeout does. opts may be nil (verification on).
func Dial(ctx context.Context, addr string, opts *ClientOptions) (*Conn, error) {
	if opts == nil {
		opts = &ClientOptions{}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultHandshakeTimeout)
		defer cancel()
	}
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("h3: dial %s: %w", addr, err)
	}
	laddr := &net.UDPAddr{}
	if raddr.IP.IsLoopback() {
		laddr.IP = raddr.IP // stay on the loopback interface
	}
	udp, err := net.ListenUDP("udp", laddr)
	if err != nil {
		return nil, fmt.Errorf("h3: dial %s: %w", addr, err)
	}
	tr := &quic.Transport{Conn: udp}
	qc, err := tr.Dial(ctx, raddr, clientTLS(opts, addr), quicConfig(opts.QUICConfig))
	if err != nil {
		_ = tr.Close()
		_ = udp.Close()
		return nil, fmt.Errorf("h3: dial %s: %w", addr, err)
	}
	go func() {
		<-qc.Context().Done()
		_ = tr.Close()
		_ = udp.Close()
	}()
	t := &http3.Transport{DisableCompression: true, MaxResponseHeaderBytes: opts.MaxResponseHeaderBytes}
	c := &Conn{qc: qc, cc: t.NewClientConn(qc), tr: tr, opts: *opts, authority: opts.Authority,
		streams: make(map[*Stream]struct{})}
	if c.authority == "" {
		c.authority = addr
	}
	go c.watch()
	select {
	case <-c.cc.ReceivedSettings():
		return c, nil
	case <-qc.Context().Done():
		return nil, fmt.Errorf("h3: connect %s: %w", addr, context.Cause(qc.Context()))
	case <-ctx.Done():
		_ = c.Close()
		return nil, fmt.Errorf("h3: connect %s: waiting for SETTINGS: %w", addr, ctx.Err())
	}
}

func clientTLS(o *ClientOptions, addr string) *tls.Config {
	var cfg *tls.Config
	if o.TLSConfig != nil {
		cfg = o.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{
			InsecureSkipVerify: o.InsecureSkipVerify,
			RootCAs:            o.RootCAs,
			ServerName:         o.ServerName,
		}
	}
	if cfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg.ServerName = host
		}
	}
	cfg.MinVersion = tls.VersionTLS13
	cfg.NextProtos = []string{ALPN}
	return cfg
}

func quicConfig(c *quic.Config) *quic.Config {
	if c != nil {
		return c.Clone()
	}
	return &quic.Config{KeepAlivePeriod: 10 * time.Second}
}

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.qc.Context().Done() }

// Err reports why the connection ended: nil while it runs or after a clean
// close (H3_NO_ERROR, e.g. after the server's GOAWAY), else the QUIC error.
func (c *Conn) Err() error {
	if c.qc.Context().Err() == nil {
		return nil
	}
	return connErr(context.Cause(c.qc.Context()))
}

// Close closes the connection with H3_NO_ERROR; its open streams end with
// a reset whose Err is the connection's end.
func (c *Conn) Close() error {
	return c.cc.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeNoError), "")
}

// RemoteAddr returns the server's UDP address.
func (c *Conn) RemoteAddr() net.Addr { return c.qc.RemoteAddr() }

// NewRequest builds the header fields of a request on this connection:
// :method, :scheme "https", :authority and :path, then extra.
func (c *Conn) NewRequest(method, path string, extra ...HeaderField) []HeaderField {
	fs := make([]HeaderField, 0, 4+len(extra))
	fs = append(fs,
		HeaderField{Name: ":method", Value: method},
		HeaderField{Name: ":scheme", Value: "https"},
		HeaderField{Name: ":authority", Value: c.authority},
		HeaderField{Name: ":path", Value: path})
	return append(fs, extra...)
}

// Request starts a request with the given header fields, pseudo-header
// fields first (NewRequest builds them), and returns its stream at once,
// without waiting for the response (see Stream.Response). Cancelling ctx
// resets the stream with H3_REQUEST_CANCELLED. opts may be nil.
//
// Not supported (the error wraps ErrNotSupported): CONNECT, plain or
// extended (:protocol). A content-length field fixes how much content
// Write and CloseWrite accept (core.ErrContentLength otherwise); with
// EndStream it must be 0. Without one, quic-go adds none, except
// content-length: 0 on a POST, PUT or PATCH sent with EndStream.
func (c *Conn) Request(ctx context.Context, headers []HeaderField, opts *RequestOptions) (*Stream, error) {
	if opts == nil {
		opts = &RequestOptions{}
	}
	req, cl, err := c.buildRequest(headers)
	if err != nil {
		return nil, err
	}
	if cl > 0 && opts.EndStream {
		return nil, core.ErrContentLength // declared content, but none follows
	}
	s := newStream(0, context.WithoutCancel(ctx), &c.opts.StreamOptions, opts.ManualConsume)
	s.c = c
	s.gone = c.qc.Context().Done()
	s.conn = c.qc.Context()
	s.handler = opts.Handler
	s.snd.cl = cl
	if opts.EndStream {
		s.snd.ended = true
		s.sendDone = true
	} else {
		req.Body = &bodyReader{s: s, req: req}
	}
	reqCtx, abort := context.WithCancel(context.WithoutCancel(ctx))
	s.abort, s.reqCtx = abort, reqCtx // a reset calls abort: quic-go's per-request goroutine exits
	c.mu.Lock()
	if c.closed || c.qc.Context().Err() != nil {
		c.mu.Unlock()
		abort()
		s.cancel()
		return nil, fmt.Errorf("h3: connection closed: %w", context.Cause(c.qc.Context()))
	}
	c.nextID++
	s.id = c.nextID
	c.streams[s] = struct{}{}
	c.mu.Unlock()
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { _ = s.Cancel() })
		s.mu.Lock()
		if s.terminal {
			s.mu.Unlock()
			stop()
		} else {
			s.stopCtx = stop
			s.mu.Unlock()
		}
	}
	go s.runClient(req, reqCtx)
	return s, nil
}

// buildRequest turns header fields into the http.Request quic-go encodes.
// cl is the content-length field's value, -1 when there is none.
func (c *Conn) buildRequest(headers []HeaderField) (req *http.Request, cl int64, err error) {
	var method, scheme, authority, path string
	h := make(http.Header, len(headers))
	cl, err = contentLength(headers)
	if err != nil {
		return nil, 0, err
	}
	for _, f := range headers {
		switch f.Name {
		case ":method":
			method = f.Value
		case ":scheme":
			scheme = f.Value
		case ":authority":
			authority = f.Value
		case ":path":
			path = f.Value
		case ":protocol":
			return nil, 0, notSupported("extended CONNECT (:protocol, RFC 9220) is not mapped by this adapter")
		default:
			if strings.HasPrefix(f.Name, ":") {
				return nil, 0, &core.MessageError{Field: f.Name, Token: "unknown_pseudo_header", Section: "RFC 9114 §4.3.1"}
			}
			if f.Name != strings.ToLower(f.Name) {
				return nil, 0, &core.MessageError{Field: f.Name, Token: "uppercase_field_name", Section: "RFC 9114 §4.2"}
			}
			if f.Name == "content-length" {
				continue // quic-go writes it from ContentLength
			}
			h.Add(f.Name, f.Value)
		}
	}
	switch {
	case method == "":
		return nil, 0, &core.MessageError{Field: ":method", Token: "missing_pseudo_header", Section: "RFC 9114 §4.3.1"}
	case method == http.MethodConnect:
		return nil, 0, notSupported("CONNECT (RFC 9114 §4.4) is not mapped by this adapter")
	case path == "":
		return nil, 0, &core.MessageError{Field: ":path", Token: "missing_pseudo_header", Section: "RFC 9114 §4.3.1"}
	}
	if scheme == "" {
		scheme = "https"
	}
	if authority == "" {
		authority = c.authority
	}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = nil // quic-go would add "quic-go HTTP/3"
	}
	u, err := url.ParseRequestURI(path)
	if err != nil {
		return nil, 0, &core.MessageError{Field: ":path", Token: "invalid_path", Section: "RFC 9114 §4.3.1"}
	}
	u.Scheme, u.Host = scheme, authority
	req = &http.Request{
		Method:        method,
		URL:           u,
		Proto:         "HTTP/3.0",
		ProtoMajor:    3,
		Header:        h,
		Host:          authority,
		ContentLength: cl,
		Trailer:       http.Header{},
	}
	if cl < 0 {
		req.ContentLength = 0 // unknown with a body, none without
	}
	return req, cl, nil
}

// watch ends the streams still open when the QUIC connection ends whose
// goroutines wait on the application, not on quic-go.
func (c *Conn) watch() {
	<-c.qc.Context().Done()
	err := context.Cause(c.qc.Context())
	c.mu.Lock()
	c.closed = true
	open := make([]*Stream, 0, len(c.streams))
	for s := range c.streams {
		open = append(open, s)
	}
	c.mu.Unlock()
	for _, s := range open {
		s.mu.Lock()
		if s.recvEnd {
			// Only our side was left, waiting for the application.
			s.fail(err)
		}
		// Otherwise RoundTrip or the body's reader (woken through s.gone)
		// reports the end: a response completed just before a clean close
		// is not turned into a reset.
		s.mu.Unlock()
	}
}

// forget drops an ended stream. s.mu is held (c.mu is never held while
// taking a stream's).
func (c *Conn) forget(s *Stream) {
	c.mu.Lock()
	delete(c.streams, s)
	c.mu.Unlock()
}
