package nethttp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
)

// Transport is an http.RoundTripper that sends requests over HTTP/2 with
// the h2proto runtime client (h2.Conn): https URLs over TLS with ALPN "h2"
// (RFC 9113 §3.2), http URLs over cleartext HTTP/2 with prior knowledge
// (§3.3) when AllowHTTP is set. It keeps connections per scheme and
// host:port and multiplexes requests on them up to the server's
// SETTINGS_MAX_CONCURRENT_STREAMS (§5.1.2), dialling another when all are
// full or going away (§6.8).
//
// It never falls back to HTTP/1.1 and does not decompress responses (no
// Accept-Encoding is added). A request is sent again, on a fresh stream,
// only when the server provably did not process it: REFUSED_STREAM (§8.7),
// a stream above the last stream ID of the server's GOAWAY (§6.8), or a
// connection that could not take the request before any of it was sent —
// and, once the body was started, only if it can be replayed (no body,
// http.NoBody, or Request.GetBody). At most three attempts are made.
//
// The zero value is ready to use (TLS with the system's roots). A
// Transport is safe for concurrent use; its fields must not change after
// its first request.
type Transport struct {
	// TLSClientConfig configures TLS for https URLs. It is cloned; "h2" is
	// put first in NextProtos and ServerName defaults to the URL's host.
	// Nil means a default configuration (system roots, verification on).
	TLSClientConfig *tls.Config

	// AllowHTTP lets http:// URLs be fetched over cleartext HTTP/2 with
	// prior knowledge (h2c, RFC 9113 §3.3): the server must speak HTTP/2
	// without negotiation. Without it an http:// URL is an error, since
	// this Transport cannot speak HTTP/1.1.
	AllowHTTP bool

	// DialContext makes the TCP (or other stream) connection to
	// "host:port"; TLS, for https, is layered on what it returns. Nil
	// means a net.Dialer with a 30 s timeout.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// Options configure each connection: the core's settings and limits,
	// the write timeout, the buffer sizes (see h2.ClientOptions). Its
	// dialling fields (H2C, TLSConfig, InsecureSkipVerify, RootCAs,
	// ServerName, TCP) and Authority and Scheme are ignored: the URL and the
	// fields above decide them. Nil means every default.
	Options *h2.ClientOptions

	// MaxConnsPerHost caps the connections per scheme and host:port,
	// counting those being dialled. When all are full, requests wait on
	// the least busy one for a stream to end (the runtime honours the
	// server's SETTINGS_MAX_CONCURRENT_STREAMS). Zero means no limit, as in
	// http.Transport: each connection already carries many requests.
	MaxConnsPerHost int

	// IdleConnTimeout closes a connection that has carried no request for
	// this long, so that idle connections do not pile up on either side.
	// Zero means 90 s (http.DefaultTransport's value); negative keeps them
	// until CloseIdleConnections or the server closes them. It also sets
	// the core's idle timer (Options.Config.Timeouts.Idle, 60 s by
	// default), which would otherwise close them first, unless Options
	// set that timer.
	IdleConnTimeout time.Duration

	// HandshakeTimeout bounds the setup of a new connection once dialled:
	// the TLS handshake (https) and the HTTP/2 preface and SETTINGS
	// exchange (RFC 9113 §3.4), so that a server that accepts but never
	// answers fails the requests waiting for that connection instead of
	// holding them as long as their contexts allow. Zero means 10 s
	// (http.DefaultTransport's TLSHandshakeTimeout); negative means no
	// bound of its own (the request's context, and the core's
	// Timeouts.Preface for the server's first SETTINGS, still apply).
	HandshakeTimeout time.Duration

	// ExpectContinueTimeout is how long a request with "Expect:
	// 100-continue" waits for the 100 (Continue) response before sending
	// its body anyway (RFC 9110 §10.1.1). A final response before then
	// means the body is not sent. Zero means 1 s (http.DefaultTransport's
	// value); negative sends the body without waiting.
	ExpectContinueTimeout time.Duration

	mu      sync.Mutex
	conns   map[string][]*trConn // by trKey
	dialing map[string]*trDial
}

// trMaxAttempts bounds the attempts of one RoundTrip (the first and its
// retries): a server that refuses every stream is not hammered.
const trMaxAttempts = 3

// trUnusableError wraps the error of a connection that could not take a
// request before any of it was sent (closed, going away, stream IDs
// exhausted): the request is safe to send on another connection.
type trUnusableError struct{ err error }

func (e *trUnusableError) Error() string {
	return "nethttp: connection unusable before the request was sent: " + e.err.Error()
}
func (e *trUnusableError) Unwrap() error { return e.err }

func (t *Transport) idleTimeout() time.Duration {
	switch {
	case t.IdleConnTimeout == 0:
		return 90 * time.Second
	case t.IdleConnTimeout < 0:
		return 0
	}
	return t.IdleConnTimeout
}

// coreIdleTimeout is the core's Timeouts.Idle that matches
// IdleConnTimeout: negative disables the core's timer.
func (t *Transport) coreIdleTimeout() time.Duration {
	if t.IdleConnTimeout < 0 {
		return -1
	}
	return t.idleTimeout()
}

func (t *Transport) handshakeTimeout() time.Duration {
	switch {
	case t.HandshakeTimeout == 0:
		return 10 * time.Second
	case t.HandshakeTimeout < 0:
		return 0
	}
	return t.HandshakeTimeout
}

func (t *Transport) continueTimeout() time.Duration {
	switch {
	case t.ExpectContinueTimeout == 0:
		return time.Second
	case t.ExpectContinueTimeout < 0:
		return 0
	}
	return t.ExpectContinueTimeout
}

// RoundTrip sends req over HTTP/2 and returns the response once its head
// has arrived; the body streams from the connection as it is read. Close
// the body before reading it to the end and the stream is reset with
// CANCEL. Once the stream has ended, its slot on the connection is given
// back even if the body is not closed (what was received stays readable).
//
// req.Body is always closed: when the request is done with it, or when
// the response ends (or fails) before it was all sent — the stream is then
// reset with CANCEL (RFC 9113 §8.1) and the body closed, so that a Read
// blocked in it returns. A failure to send the request (the body's Read
// error, a body length that contradicts req.ContentLength, trailers the
// protocol refuses) is what RoundTrip, or a Read of the response body,
// returns, rather than the reset it causes. Cancelling req's context
// resets the stream with CANCEL (RFC 9113 §8.7) and makes RoundTrip, or a
// Read of the body, return the context's error.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tr, err := t.newRequest(req)
	if err != nil {
		trCloseBody(req)
		return nil, err
	}
	ctx := req.Context()
	var lastErr error
	for attempt := 0; attempt < trMaxAttempts; attempt++ {
		if attempt > 0 {
			if err := tr.rewind(); err != nil {
				return nil, fmt.Errorf("%w (and the body cannot be replayed: %v)", lastErr, err)
			}
		}
		cc, reused, err := t.getConn(ctx, tr.key, tr.addr, tr.https)
		if err != nil {
			tr.closeBody()
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, ctxErr
			}
			return nil, err
		}
		resp, err := tr.send(cc, reused)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		if ctxErr := ctx.Err(); ctxErr != nil {
			tr.closeBody()
			return nil, ctxErr
		}
		if !tr.retryable(err) {
			tr.closeBody()
			return nil, err
		}
	}
	tr.closeBody()
	return nil, lastErr
}

// trRetryable reports whether err says the server did not process the
// request.
func trRetryable(err error) bool {
	var ue *trUnusableError
	if errors.As(err, &ue) {
		return true
	}
	var se *core.StreamError
	return errors.As(err, &se) && se.Retryable
}

// CloseIdleConnections closes the connections carrying no request. Busy
// ones are left to finish.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	var idle []*trConn
	for key, list := range t.conns {
		kept := list[:0]
		for _, cc := range list {
			if cc.active == 0 {
				cc.stopIdleTimer()
				cc.dead = true
				idle = append(idle, cc)
			} else {
				kept = append(kept, cc)
			}
		}
		clear(list[len(kept):])
		t.setConns(key, kept)
	}
	t.mu.Unlock()
	for _, cc := range idle {
		_ = cc.c.Close()
	}
}

func trCloseBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
