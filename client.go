package h2

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/transport/tcp"
	h2tls "github.com/h2proto/h2/transport/tls"
)

// Dial connects to addr (host:port) and returns once the connection
// prefaces and SETTINGS are exchanged (RFC 9113 §3.4), or fails with an
// error naming what went wrong: the dial, the TLS handshake or certificate,
// an ALPN mismatch (*transport/tls.ALPNError), or the peer's GOAWAY. ctx
// bounds the whole of it. opts may be nil (TLS with verification).
func Dial(ctx context.Context, addr string, opts *ClientOptions) (*Conn, error) {
	if opts == nil {
		opts = &ClientOptions{}
	}
	var nc net.Conn
	var err error
	if opts.H2C {
		nc, err = tcp.Dial(ctx, addr, opts.TCP)
	} else {
		nc, err = h2tls.Dial(ctx, addr, clientTLS(opts), opts.TCP)
	}
	if err != nil {
		return nil, fmt.Errorf("h2: dial %s: %w", addr, err)
	}
	o := *opts
	if o.Authority == "" {
		o.Authority = addr
	}
	c, err := NewClientConn(nc, &o)
	if err != nil {
		_ = nc.Close()
		return nil, err
	}
	if err := c.WaitConnected(ctx); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("h2: connect %s: %w", addr, err)
	}
	return c, nil
}

func clientTLS(o *ClientOptions) *tls.Config {
	if o.TLSConfig != nil {
		return o.TLSConfig
	}
	return h2tls.ClientConfig(h2tls.ClientOptions{
		ServerName:         o.ServerName,
		InsecureSkipVerify: o.InsecureSkipVerify,
		RootCAs:            o.RootCAs,
	})
}

// NewClientConn starts a client connection over nc, which must be a
// cleartext connection to a server known to speak HTTP/2 (prior knowledge)
// or a TLS connection that negotiated ALPN "h2". It sends the preface at
// once and returns without waiting for the server: requests may be made
// straight away, and WaitConnected waits for the SETTINGS exchange.
func NewClientConn(nc net.Conn, opts *ClientOptions) (*Conn, error) {
	if opts == nil {
		opts = &ClientOptions{}
	}
	if tc, ok := nc.(*tls.Conn); ok {
		if err := h2tls.Check(tc.ConnectionState()); err != nil {
			return nil, err
		}
	}
	cc, err := core.NewClient(clockNow(opts.Clock), opts.Config)
	if err != nil {
		return nil, err
	}
	c := newConn(nc, cc, opts.Options, nil)
	c.authority = opts.Authority
	if c.authority == "" {
		c.authority = nc.RemoteAddr().String()
	}
	c.scheme = opts.Scheme
	if c.scheme == "" {
		c.scheme = "http"
		if _, ok := nc.(*tls.Conn); ok {
			c.scheme = "https"
		}
	}
	c.start()
	return c, nil
}

// WaitConnected waits until the server's preface arrived and it
// acknowledged our SETTINGS (core.EventConnected). It fails with the
// connection's error if the connection ends first, or with ctx's error.
func (c *Conn) WaitConnected(ctx context.Context) error {
	select {
	case <-c.connectedCh:
		return nil
	case <-c.done:
		c.mu.Lock()
		connected := c.connected
		c.mu.Unlock()
		if connected {
			return nil // it connected, then ended: that is for the streams to say
		}
		if err := c.Err(); err != nil {
			return err
		}
		return ErrNotConnected
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RequestOptions configure one request.
type RequestOptions struct {
	// EndStream sends the request without content (GET, HEAD): its
	// HEADERS frame carries END_STREAM. Otherwise write the body with the
	// stream's Write and end it with CloseWrite or WriteTrailers.
	EndStream bool

	// ManualConsume makes the application return received bytes to the
	// flow-control windows itself, with Stream.Consume, instead of Read
	// doing it: the peer can then have at most a window's worth of bytes
	// in flight beyond what the application has used.
	ManualConsume bool

	// Handler, when set, receives the stream's events from the start (see
	// Stream.SetHandler) instead of queueing them for the pull methods.
	Handler func(*Stream, Event)
}

// Request starts a request with the given header fields, pseudo-header
// fields first (RFC 9113 §8.3.1; NewRequest builds them), and returns its
// stream once the HEADERS frame is queued, without waiting for the
// response (see Stream.Response). If the server's
// SETTINGS_MAX_CONCURRENT_STREAMS is reached it waits for a stream to end.
// Cancelling ctx resets the stream with CANCEL. opts may be nil.
func (c *Conn) Request(ctx context.Context, headers []HeaderField, opts *RequestOptions) (*Stream, error) {
	if c.srv != nil {
		return nil, ErrWrongRole
	}
	if opts == nil {
		opts = &RequestOptions{}
	}
	for {
		c.mu.Lock()
		if c.finished {
			c.mu.Unlock()
			return nil, c.closedErr()
		}
		id, err := c.core.OpenStream(headers, core.StreamOptions{EndStream: opts.EndStream, ManualFlowControl: true})
		if err == nil {
			s := newStream(c, id, false)
			s.manual = opts.ManualConsume
			s.handler = opts.Handler
			c.streams[id] = s
			if ctx.Done() != nil {
				s.stopCtx = context.AfterFunc(ctx, func() { _ = s.Cancel() })
			}
			c.unlock()
			return s, nil
		}
		if c.openWait == nil {
			c.openWait = make(chan struct{})
		}
		wait := c.openWait
		c.mu.Unlock()
		if !errors.Is(err, core.ErrMaxStreams) {
			return nil, err
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// NewRequest builds the header fields of a request on this connection:
// :method, :scheme (https over TLS, else http), :authority and :path, then
// extra. For CONNECT (RFC 9113 §8.5) path is ignored and only :method and
// :authority are set.
func (c *Conn) NewRequest(method, path string, extra ...HeaderField) []HeaderField {
	if method == "CONNECT" {
		return append([]HeaderField{{Name: ":method", Value: method}, {Name: ":authority", Value: c.authority}}, extra...)
	}
	fs := make([]HeaderField, 0, 4+len(extra))
	fs = append(fs,
		HeaderField{Name: ":method", Value: method},
		HeaderField{Name: ":scheme", Value: c.scheme},
		HeaderField{Name: ":authority", Value: c.authority},
		HeaderField{Name: ":path", Value: path})
	return append(fs, extra...)
}
