package h3

import (
	"context"
	"crypto/tls"
	"errors"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2proto/h2/core/frame"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// A Handler answers the requests of a Server (as h2.Handler). ServeH3
// receives each new request stream: the head is s.Request(), the body
// s.Read (or events, with s.SetHandler), and the response goes out with
// s.Respond or s.WriteHeaders, s.Write, s.CloseWrite / s.WriteTrailers.
//
// Each call runs on its own goroutine and may block. When it returns the
// stream is finished off: a response not ended is reset with CANCEL
// (H3_REQUEST_CANCELLED), as in h2's goroutine mode, before or after
// content. CONNECT requests, plain or extended, never reach it: the
// adapter resets them with H3_REQUEST_REJECTED (see rejectConnect).
type Handler interface {
	ServeH3(s *Stream)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(*Stream)

// ServeH3 calls f(s).
func (f HandlerFunc) ServeH3(s *Stream) { f(s) }

// Server serves HTTP/3 over QUIC with a Handler, on top of quic-go's
// http3.Server. Its exported fields must be set before the first Serve.
//
// A response ends (its QUIC stream's FIN, or the trailers) once it was
// ended with CloseWrite, WriteTrailers or Respond and the request's
// content has been received to its end — or when the Handler returns:
// quic-go's ResponseWriter finishes a stream only when its
// http.Handler returns, and it stops reading the request then.
type Server struct {
	Handler Handler

	// TLSConfig holds the certificate (TLS 1.3 is required, RFC 9001
	// §4.2; ALPN "h3" is set). Required.
	TLSConfig *tls.Config

	// QUICConfig configures each QUIC connection; nil means quic-go's
	// defaults.
	QUICConfig *quic.Config

	// Addr is the UDP address ListenAndServe listens on; empty means
	// ":443".
	Addr string

	// IdleTimeout closes a connection without open streams after this
	// long; zero means quic-go's (none beyond QUIC's own idle timeout).
	IdleTimeout time.Duration

	// ManualConsume makes request bodies released only by Stream.Consume
	// (see RequestOptions.ManualConsume).
	ManualConsume bool

	// StreamOptions size each stream's buffers.
	StreamOptions

	// ErrorLog receives handler panics; nil means the log package.
	ErrorLog *log.Logger

	once   sync.Once
	hs     *http3.Server
	nextID atomic.Uint32
}

func (srv *Server) init() {
	srv.once.Do(func() {
		srv.hs = &http3.Server{
			Addr:        srv.Addr,
			TLSConfig:   srv.TLSConfig,
			QUICConfig:  srv.QUICConfig,
			IdleTimeout: srv.IdleTimeout,
			Handler:     http.HandlerFunc(srv.serveHTTP),
			ConnContext: func(ctx context.Context, qc *quic.Conn) context.Context {
				return context.WithValue(ctx, quicConnKey{}, qc)
			},
		}
	})
}

// Serve serves HTTP/3 on pc until Shutdown or Close, when it returns
// ErrServerClosed, or until pc fails. It does not close pc.
func (srv *Server) Serve(pc net.PacketConn) error {
	if srv.TLSConfig == nil {
		return errors.New("h3: Server.TLSConfig is required (a certificate for TLS 1.3)")
	}
	if srv.Handler == nil {
		return errors.New("h3: Server.Handler is nil")
	}
	srv.init()
	return srv.mapErr(srv.hs.Serve(pc))
}

// ListenAndServe listens on srv.Addr (UDP) and serves it; the socket is
// closed when it returns.
func (srv *Server) ListenAndServe() error {
	addr := srv.Addr
	if addr == "" {
		addr = ":443"
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	defer pc.Close()
	return srv.Serve(pc)
}

func (srv *Server) mapErr(err error) error {
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, quic.ErrServerClosed) {
		return ErrServerClosed
	}
	return err
}

// Shutdown stops the server gracefully: each connection gets GOAWAY (RFC
// 9114 §5.2), so that streams already started finish and new ones are
// refused; clients close their connections when their streams are done.
// It returns when every connection has ended, or, if ctx ends first,
// closes the rest and returns ctx's error.
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.init()
	return srv.hs.Shutdown(ctx)
}

// Close stops the server at once, closing every connection.
func (srv *Server) Close() error {
	srv.init()
	return srv.hs.Close()
}

// quicConnKey keys the *quic.Conn in a request's context.
type quicConnKey struct{}

// serverSide is what a server stream needs beyond the shared state.
type serverSide struct {
	srv      *Server
	w        http.ResponseWriter
	r        *http.Request
	aborting bool
	code     http3.ErrCode
	loopDone chan struct{} // closed when quic-go's handler (the writer loop) returns
}

// serveHTTP is quic-go's handler: it runs the Handler on a goroutine of
// its own and, on this one, writes what the stream queues to w — the only
// goroutine touching w.
func (srv *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		rejectConnect(w)
		return
	}
	s := newStream(srv.nextID.Add(1), r.Context(), &srv.StreamOptions, srv.ManualConsume)
	s.sv = &serverSide{srv: srv, w: w, r: r, loopDone: make(chan struct{})}
	defer close(s.sv.loopDone)
	s.gone = r.Context().Done()
	if qc, ok := r.Context().Value(quicConnKey{}).(*quic.Conn); ok {
		s.conn = qc.Context()
	}
	s.req = requestOf(r)
	go s.pump(r.Body, func() http.Header { return r.Trailer })
	handlerDone := make(chan struct{})
	go func() {
		defer close(handlerDone)
		defer s.cancel()
		srv.call(s)
	}()
	s.serveLoop(handlerDone)
}

// call runs the handler, turning a panic into a reset (INTERNAL_ERROR).
func (srv *Server) call(s *Stream) {
	defer func() {
		if r := recover(); r != nil {
			_ = s.Reset(frame.ErrCodeInternal)
			logf := log.Printf
			if srv.ErrorLog != nil {
				logf = srv.ErrorLog.Printf
			}
			logf("h3: handler panic on stream %d: %v", s.id, r)
		}
	}()
	srv.Handler.ServeH3(s)
}

// rejectConnect resets a CONNECT request, plain or extended (RFC 9114
// §4.4, RFC 9220), with H3_REQUEST_REJECTED before any processing: the
// adapter does not map CONNECT (a client gets ErrNotSupported), and
// quic-go's http.Request keeps neither its missing :scheme and :path nor
// its :protocol apart. The code promises the peer that nothing was done
// (RFC 9114 §8.1), which is true.
func rejectConnect(w http.ResponseWriter) {
	if hs, ok := w.(http3.HTTPStreamer); ok {
		if str, err := hs.HTTPStream(); err == nil {
			str.CancelRead(quic.StreamErrorCode(http3.ErrCodeRequestRejected))
			str.CancelWrite(quic.StreamErrorCode(http3.ErrCodeRequestRejected))
			return
		}
	}
	panic(http.ErrAbortHandler) // not reached with quic-go's ResponseWriter
}

// requestOf builds the request head: pseudo-header fields first, then the
// fields with lower-case names, sorted. :path is the request target as
// received (r.RequestURI); :scheme is "https", which quic-go does not keep
// (it is the only scheme HTTP/3 serves, RFC 9114 §3.1).
func requestOf(r *http.Request) *Request {
	req := &Request{Method: r.Method, Scheme: "https", Authority: r.Host, Path: r.RequestURI}
	if r.URL.Scheme != "" {
		req.Scheme = r.URL.Scheme
	}
	fs := []HeaderField{
		{Name: ":method", Value: req.Method},
		{Name: ":scheme", Value: req.Scheme},
		{Name: ":authority", Value: req.Authority},
		{Name: ":path", Value: req.Path},
	}
	req.Header = append(fs, fieldsOf(0, r.Header)...)
	return req
}

// Request returns the request's head (server side; nil on a client).
func (s *Stream) Request() *Request { return s.req }
