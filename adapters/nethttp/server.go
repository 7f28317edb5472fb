package nethttp

import (
	"context"
	"crypto/tls"
	"errors"
	"log"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	h2 "github.com/h2proto/h2"
)

// Server serves an http.Handler over HTTP/2 with the h2proto runtime: an
// h2.Server running Adapt(Handler), one goroutine per request. Its
// exported fields must be set before the first Serve or ServeConn; the
// zero value (plus Handler) serves cleartext HTTP/2 with prior knowledge
// (h2c, RFC 9113 §3.3). There is no HTTP/1.1 and no Upgrade: h2c.
type Server struct {
	// Handler answers every request; nil means http.DefaultServeMux.
	Handler http.Handler

	// Options configure each connection: protocol settings and limits
	// (Options.Config), write timeout, buffers (see h2.Options).
	h2.Options

	// TLSConfig, when set, makes Serve accept TLS: each accepted
	// connection is wrapped with tls.Server on a clone of it whose
	// NextProtos is ["h2"] if it offered none (RFC 9113 §3.2; a client
	// that does not choose h2 is dropped). ServeConn handshakes a
	// *tls.Conn itself whatever this field says. Nil means cleartext h2c.
	TLSConfig *tls.Config

	// HandshakeTimeout bounds the TLS handshake. Zero means 10 s (the
	// h2.Server default).
	HandshakeTimeout time.Duration

	// ErrorLog receives handler panics and misuse reports; nil means the
	// log package.
	ErrorLog *log.Logger

	once  sync.Once
	inner *h2.Server
}

// ErrServerClosed is what Serve returns after Shutdown or Close.
var ErrServerClosed = h2.ErrServerClosed

// server returns the h2.Server behind srv, made on first use from srv's
// fields.
func (srv *Server) server() *h2.Server {
	srv.once.Do(func() {
		h := srv.Handler
		if h == nil {
			h = http.DefaultServeMux
		}
		srv.inner = &h2.Server{
			Handler:          &srvAdapter{h: h, errorLog: srv.ErrorLog},
			Options:          srv.Options,
			HandshakeTimeout: srv.HandshakeTimeout,
			ErrorLog:         srv.ErrorLog,
		}
	})
	return srv.inner
}

// Serve accepts connections on l (wrapped in TLS when TLSConfig is set)
// and serves each until Shutdown or Close, when it returns
// ErrServerClosed, or until Accept fails. It closes l when it returns
// because of Shutdown or Close.
func (srv *Server) Serve(l net.Listener) error {
	if l == nil {
		return errors.New("nethttp: Serve with a nil listener")
	}
	cfg, err := srv.tlsConfig()
	if err != nil {
		return err
	}
	if cfg != nil {
		l = tls.NewListener(l, cfg)
	}
	return srv.server().Serve(l)
}

// tlsConfig returns the clone of TLSConfig that Serve uses, nil for h2c,
// or why TLSConfig cannot serve HTTP/2.
func (srv *Server) tlsConfig() (*tls.Config, error) {
	if srv.TLSConfig == nil {
		return nil, nil
	}
	cfg := srv.TLSConfig.Clone()
	if len(cfg.NextProtos) == 0 {
		cfg.NextProtos = []string{"h2"}
	} else if !slices.Contains(cfg.NextProtos, "h2") {
		return nil, errors.New(`nethttp: TLSConfig.NextProtos does not offer "h2"`)
	}
	return cfg, nil
}

// ListenAndServe listens on the TCP address addr (":http", or ":https"
// with TLSConfig, when empty) and calls Serve. A TLSConfig Serve would
// refuse is refused before listening.
func (srv *Server) ListenAndServe(addr string) error {
	if _, err := srv.tlsConfig(); err != nil {
		return err
	}
	if addr == "" {
		addr = ":http"
		if srv.TLSConfig != nil {
			addr = ":https"
		}
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return srv.Serve(l)
}

// ServeConn serves one connection the caller accepted: cleartext with
// prior knowledge, or a *tls.Conn (handshaken here if it was not yet; it
// must negotiate ALPN "h2"). It returns when the connection ends: nil
// after a clean close, else why it ended (see h2.Server.ServeConn).
func (srv *Server) ServeConn(c net.Conn) error {
	if c == nil {
		return errors.New("nethttp: ServeConn with a nil connection")
	}
	return srv.server().ServeConn(c)
}

// Shutdown stops the server gracefully: listeners close, every connection
// gets the two-phase GOAWAY (RFC 9113 §6.8), requests already started run
// to completion and new ones are refused as safe to retry. It returns when
// every connection has ended, or, if ctx ends first, closes the rest at
// once and returns ctx's error.
func (srv *Server) Shutdown(ctx context.Context) error {
	return srv.server().Shutdown(ctx)
}

// Close stops the server at once: listeners close and every connection is
// closed with GOAWAY(NO_ERROR); running handlers see their request
// contexts cancelled.
func (srv *Server) Close() error {
	return srv.server().Close()
}
