package h2

import (
	"context"
	"crypto/tls"
	"errors"
	"log"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
	h2tls "github.com/h2proto/h2/transport/tls"
)

// A Handler answers the requests of a Server. ServeH2 receives each new
// request stream: the request head is s.Request(), the body s.Read (or
// events, with s.SetHandler), and the response goes out with s.Respond or
// s.WriteHeaders, s.Write, s.CloseWrite / s.WriteTrailers.
//
// By default each call runs on its own goroutine and may block; when it
// returns the stream is finished off (a response not ended is reset with
// CANCEL, RFC 9113 §8.1). With Server.Inline it runs on the connection's
// goroutine and must not block; returning then does not end the stream,
// which the application answers or resets later from any goroutine.
type Handler interface {
	ServeH2(s *Stream)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(*Stream)

// ServeH2 calls f(s).
func (f HandlerFunc) ServeH2(s *Stream) { f(s) }

// Request is a received request's head (server side).
type Request struct {
	Method    string
	Scheme    string
	Authority string
	Path      string
	Protocol  string // :protocol of an extended CONNECT (RFC 8441)
	// Header holds every field of the request, pseudo-header fields first.
	Header []HeaderField
	// EndStream reports that the request's HEADERS ended the stream (RFC
	// 9113 §8.1): the request has no content, and Read returns io.EOF at
	// once.
	EndStream bool
}

// Get returns the value of the first field called name, or "".
func (r *Request) Get(name string) string { return get(r.Header, name) }

// Set makes r the request whose header fields are fs, pseudo-header fields
// first (RFC 9113 §8.3), as received: it fills Method, Scheme, Authority,
// Path and Protocol from them, and keeps fs itself (no copy) as Header.
// endStream is Request.EndStream. For drivers of the core other than this
// runtime (adapters/gnet) that build Requests from core.EventRequest.
func (r *Request) Set(fs []HeaderField, endStream bool) {
	*r = Request{Header: fs, EndStream: endStream}
	for _, f := range fs {
		if len(f.Name) == 0 || f.Name[0] != ':' {
			break
		}
		switch f.Name {
		case ":method":
			r.Method = f.Value
		case ":scheme":
			r.Scheme = f.Value
		case ":authority":
			r.Authority = f.Value
		case ":path":
			r.Path = f.Value
		case ":protocol":
			r.Protocol = f.Value
		}
	}
}

// Server serves HTTP/2 connections with a Handler. Its exported fields must
// be set before the first Serve or ServeConn.
type Server struct {
	Handler Handler

	// Inline runs Handler on the connection's goroutine instead of one
	// goroutine per request (see Handler).
	Inline bool

	// ManualConsume makes request bodies credited to the flow-control
	// windows only by Stream.Consume (see RequestOptions.ManualConsume).
	ManualConsume bool

	// Options configure each connection.
	Options

	// HandshakeTimeout bounds the TLS handshake of ServeConn on a
	// *tls.Conn. Zero means 10 s.
	HandshakeTimeout time.Duration

	// ErrorLog receives handler panics; nil means the log package.
	ErrorLog *log.Logger

	mu        sync.Mutex
	conns     map[*Conn]struct{}
	listeners map[net.Listener]struct{}
	closing   bool
	idle      chan struct{} // closed when closing and conns is empty
}

// Serve accepts connections on l and serves each on its own pair of
// goroutines (see ServeConn) until Shutdown or Close, when it returns
// ErrServerClosed, or until Accept fails.
func Serve(l net.Listener, h Handler) error {
	return (&Server{Handler: h}).Serve(l)
}

// retryableAccept reports whether an Accept error is a passing shortage
// (file descriptors, an aborted handshake) rather than the listener's end.
func retryableAccept(err error) bool {
	var ne net.Error
	return (errors.As(err, &ne) && ne.Timeout()) ||
		errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ENOBUFS)
}

// ServeConn serves one connection the caller accepted with h; see
// Server.ServeConn.
func ServeConn(nc net.Conn, h Handler, opts *Options) error {
	srv := &Server{Handler: h}
	if opts != nil {
		srv.Options = *opts
	}
	return srv.ServeConn(nc)
}

// Serve accepts connections on l and serves each until Shutdown or Close,
// when it returns ErrServerClosed, or until Accept fails. Serve closes l
// when it returns because of Shutdown or Close (also when called after
// them).
func (srv *Server) Serve(l net.Listener) error {
	srv.mu.Lock()
	if srv.closing {
		srv.mu.Unlock()
		_ = l.Close()
		return ErrServerClosed
	}
	if srv.listeners == nil {
		srv.listeners = make(map[net.Listener]struct{})
	}
	srv.listeners[l] = struct{}{}
	srv.mu.Unlock()
	defer func() {
		srv.mu.Lock()
		delete(srv.listeners, l)
		srv.mu.Unlock()
	}()
	var delay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			srv.mu.Lock()
			closing := srv.closing
			srv.mu.Unlock()
			if closing {
				return ErrServerClosed
			}
			if retryableAccept(err) {
				// Out of file descriptors and the like: back off.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		go func() { _ = srv.ServeConn(nc) }()
	}
}

// ServeConn serves one connection the caller accepted — cleartext with
// prior knowledge (RFC 9113 §3.3), or TLS (a *tls.Conn, handshaken here if
// it was not yet; it must negotiate ALPN "h2" with TLS ≥ 1.2, §9.2) — and
// returns when it ends: nil after a clean close, else why it ended.
// A TLS peer that negotiated another protocol is dropped with a
// *transport/tls.ALPNError; one breaking §9.2 gets GOAWAY
// INADEQUATE_SECURITY.
func (srv *Server) ServeConn(nc net.Conn) error {
	cfg := srv.Config
	cfg.ManualFlowControl = true // the runtime consumes as bodies are read
	cs, err := core.NewServer(clockNow(srv.Clock), cfg)
	if err != nil {
		_ = nc.Close()
		return err
	}
	if tc, ok := nc.(*tls.Conn); ok {
		if err := srv.handshake(tc); err != nil {
			var se *h2tls.SecurityError
			if errors.As(err, &se) {
				cs.Close(clockNow(srv.Clock), frame.ErrCodeInadequateSecurity, se.Reason)
				_, _ = nc.Write(cs.PollTransmit(nil))
			}
			_ = nc.Close()
			return err
		}
	}
	c := newConn(nc, cs, srv.Options, srv)
	srv.mu.Lock()
	if srv.conns == nil {
		srv.conns = make(map[*Conn]struct{})
	}
	srv.conns[c] = struct{}{}
	closing := srv.closing
	srv.mu.Unlock()
	if closing {
		// Shutdown began while this connection was being set up; Close
		// may already hold it, so go through the lock.
		c.mu.Lock()
		_ = c.core.GoAway(c.now())
		c.mu.Unlock()
	}
	c.run()
	return c.Err()
}

func (srv *Server) handshake(tc *tls.Conn) error {
	d := srv.HandshakeTimeout
	if d <= 0 {
		d = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return h2tls.Handshake(ctx, tc)
}

// forget drops a finished connection.
func (srv *Server) forget(c *Conn) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	delete(srv.conns, c)
	if srv.closing && len(srv.conns) == 0 && srv.idle != nil {
		close(srv.idle)
		srv.idle = nil
	}
}

// Shutdown stops the server gracefully: listeners close, and every
// connection gets the two-phase GOAWAY (RFC 9113 §6.8), so that streams
// already started finish and new ones are refused as safe to retry. It
// returns when every connection has ended, or, if ctx ends first, closes
// the rest at once and returns ctx's error.
func (srv *Server) Shutdown(ctx context.Context) error {
	conns, idle := srv.beginClose()
	for _, c := range conns {
		c.mu.Lock()
		_ = c.core.GoAway(c.now())
		c.unlock()
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		for _, c := range srv.snapshot() {
			c.abort()
		}
		return ctx.Err()
	}
}

// Close stops the server at once: listeners close and every connection is
// closed with GOAWAY(NO_ERROR).
func (srv *Server) Close() error {
	conns, _ := srv.beginClose()
	for _, c := range conns {
		_ = c.Close()
	}
	return nil
}

func (srv *Server) beginClose() ([]*Conn, chan struct{}) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.closing = true
	for l := range srv.listeners {
		_ = l.Close()
	}
	if srv.idle == nil {
		srv.idle = make(chan struct{})
		if len(srv.conns) == 0 {
			close(srv.idle)
			idle := srv.idle
			srv.idle = nil
			return nil, idle
		}
	}
	return srv.connList(), srv.idle
}

// snapshot returns the connections being served.
func (srv *Server) snapshot() []*Conn {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.connList()
}

// connList lists srv.conns. srv.mu is held.
func (srv *Server) connList() []*Conn {
	conns := make([]*Conn, 0, len(srv.conns))
	for c := range srv.conns {
		conns = append(conns, c)
	}
	return conns
}

// startHandler runs the Handler for a new request stream (see deliver).
func (srv *Server) startHandler(s *Stream) {
	if srv.Inline {
		srv.call(s)
		return
	}
	go func() {
		defer srv.handlerReturned(s)
		srv.call(s)
	}()
}

// call runs the handler, turning a panic into a reset (INTERNAL_ERROR)
// rather than the end of the process.
func (srv *Server) call(s *Stream) {
	defer func() {
		if r := recover(); r != nil {
			_ = s.Reset(frame.ErrCodeInternal)
			logf := log.Printf
			if srv.ErrorLog != nil {
				logf = srv.ErrorLog.Printf
			}
			logf("h2: handler panic on stream %d: %v", s.id, r)
		}
	}()
	srv.Handler.ServeH2(s)
}

// handlerReturned finishes off a stream whose goroutine-mode handler
// returned: the core sends what is queued and resets what is unfinished.
func (srv *Server) handlerReturned(s *Stream) {
	c := s.c
	c.mu.Lock()
	s.handlerDone = true
	if s.cancel != nil {
		s.cancel()
	}
	if err := c.core.ReleaseStream(s.id); err == nil && !s.terminal && c.streams[s.id] == s {
		// The core reports nothing more for a released stream (a queued
		// response still goes out): the stream is over for the runtime.
		delete(c.streams, s.id)
		if !s.sentEnd {
			// The response was unfinished: the core reset the stream.
			s.err = &core.StreamError{StreamID: s.id, Code: frame.ErrCodeCancel, Token: "handler_returned"}
		}
		s.markTerminal()
		signal(s.rsig)
		signal(s.wsig)
		c.signalOpen()
	}
	c.unlock()
}
