package h2

import (
	"crypto/tls"
	"crypto/x509"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/transport/tcp"
)

// A Clock is the runtime's source of time. The default is the system clock;
// transport/memory.Clock is a virtual one for deterministic tests. AfterFunc
// calls f once, on any goroutine, after d has passed on this clock; the
// returned stop function cancels the call and reports whether it did. The
// runtime calls AfterFunc and stop with a connection's lock held, so
// AfterFunc must not call f before returning and stop must not wait for a
// running f (time.AfterFunc and memory.Clock do neither).
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// clockNow reads cl, or the system clock if cl is nil.
func clockNow(cl Clock) time.Time {
	if cl != nil {
		return cl.Now()
	}
	return time.Now()
}

// Options configure one connection, client or server.
type Options struct {
	// Config is the protocol core's configuration: settings, limits and
	// timers (see core.Config). The zero value means every default.
	Config core.Config

	// Clock supplies time to the core and runs its timer. Nil means the
	// system clock. Deadlines on the transport (WriteTimeout, the linger
	// when closing) follow the transport's own time: a net.Conn with a
	// Now() time.Time method (a transport/memory pipe) gives it, others
	// follow the wall clock, as sockets do.
	Clock Clock

	// WriteTimeout bounds one write to the transport. A peer that stops
	// reading for this long loses the connection (its streams end with
	// ErrConnectionLost). Zero means 30 s; negative disables it.
	WriteTimeout time.Duration

	// ReadBufferSize is the size of the buffer the reader hands to the core
	// while reads are large. An idle connection, or one whose reads are
	// small, holds only a 2 KiB buffer; a read that fills it borrows one of
	// this size from a pool shared by all connections until reads are
	// small again. Zero means 32 KiB.
	ReadBufferSize int

	// MaxInformational caps the interim (1xx) responses a client accepts
	// on one stream; each is kept for Stream.Response, so a server sending
	// them without end would grow the client's memory without bound. One
	// more resets the stream with ENHANCE_YOUR_CALM. Real servers send one
	// or two (100 Continue, 103 Early Hints). Zero means 16.
	MaxInformational int
}

func (o *Options) maxInformational() int {
	if o.MaxInformational <= 0 {
		return 16
	}
	return o.MaxInformational
}

func (o *Options) writeTimeout() time.Duration {
	switch {
	case o.WriteTimeout == 0:
		return 30 * time.Second
	case o.WriteTimeout < 0:
		return 0
	}
	return o.WriteTimeout
}

func (o *Options) readBufferSize() int {
	if o.ReadBufferSize <= 0 {
		return 32 << 10
	}
	return o.ReadBufferSize
}

// ClientOptions configure Dial and NewClientConn.
type ClientOptions struct {
	Options

	// H2C dials cleartext HTTP/2 with prior knowledge (RFC 9113 §3.3)
	// instead of TLS with ALPN "h2" (§3.2).
	H2C bool

	// TLSConfig, when set, is used as is for the TLS handshake (it should
	// offer ALPN "h2"); otherwise one is built from the fields below with
	// the RFC 9113 §9.2 rules (transport/tls.ClientConfig).
	TLSConfig *tls.Config

	// InsecureSkipVerify turns certificate verification off. For tests
	// and development only.
	InsecureSkipVerify bool

	// RootCAs are the certificate authorities trusted; nil means the
	// system's.
	RootCAs *x509.CertPool

	// ServerName is sent as SNI and verified against the certificate;
	// empty means the host part of the address dialed.
	ServerName string

	// TCP configures the socket (keep-alive, buffer sizes).
	TCP tcp.Config

	// Authority is the :authority of requests built by NewRequest; empty
	// means the address dialed (or the remote address of the connection).
	Authority string

	// Scheme is the :scheme of requests built by NewRequest; empty means
	// "https" over a *tls.Conn and "http" otherwise. Set it when nc wraps a
	// TLS connection in another type.
	Scheme string
}
