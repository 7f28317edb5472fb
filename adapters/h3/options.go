package h3

import (
	"crypto/tls"
	"crypto/x509"
	"time"

	"github.com/quic-go/quic-go"
)

// Defaults of the knobs below.
const (
	// DefaultSendBuffer matches the HTTP/2 core's StreamSendBuffer default
	// (64 KiB), so TryWrite reports core.ErrSendBufferFull at the same
	// point under both protocols.
	DefaultSendBuffer = 64 << 10
	// DefaultReceiveBuffer bounds the received content a stream holds for
	// the application; beyond it the adapter stops reading and QUIC flow
	// control (RFC 9000 §4) holds the peer back, as HTTP/2's stream window
	// does. 256 KiB keeps a loopback 1 MiB transfer to a handful of turns.
	DefaultReceiveBuffer = 256 << 10
	// DefaultHandshakeTimeout bounds Dial when its ctx has no deadline.
	DefaultHandshakeTimeout = 10 * time.Second
)

// StreamOptions are the per-stream knobs shared by both roles.
type StreamOptions struct {
	// SendBuffer caps the bytes a stream holds while QUIC flow control
	// holds them back; past it TryWrite returns core.ErrSendBufferFull and
	// Write waits. Zero means DefaultSendBuffer.
	SendBuffer int

	// ReceiveBuffer caps the received bytes a stream holds that the
	// application has not consumed (read, or with ManualConsume, passed to
	// Consume). Zero means DefaultReceiveBuffer.
	ReceiveBuffer int
}

func (o *StreamOptions) sendBuffer() int {
	if o.SendBuffer <= 0 {
		return DefaultSendBuffer
	}
	return o.SendBuffer
}

func (o *StreamOptions) receiveBuffer() int {
	if o.ReceiveBuffer <= 0 {
		return DefaultReceiveBuffer
	}
	return o.ReceiveBuffer
}

// ClientOptions configure Dial. The zero value verifies the server's
// certificate against the system roots.
type ClientOptions struct {
	StreamOptions

	// TLSConfig, when set, is used for the QUIC handshake (TLS 1.3, RFC
	// 9001); its NextProtos are replaced by "h3" (RFC 9114 §3.1).
	// Otherwise one is built from the fields below.
	TLSConfig *tls.Config

	// InsecureSkipVerify turns certificate verification off. For tests
	// and development only.
	InsecureSkipVerify bool

	// RootCAs are the certificate authorities trusted; nil means the
	// system's.
	RootCAs *x509.CertPool

	// ServerName is sent as SNI and verified; empty means the host of the
	// address dialed.
	ServerName string

	// QUICConfig configures the QUIC connection (windows, idle timeout,
	// keep-alive); nil means quic-go's defaults with a 10 s keep-alive.
	QUICConfig *quic.Config

	// Authority is the :authority of requests built by NewRequest; empty
	// means the address dialed.
	Authority string

	// MaxResponseHeaderBytes caps a response's header section; zero means
	// quic-go's default (1 MiB).
	MaxResponseHeaderBytes int
}

// RequestOptions configure one request (as h2.RequestOptions).
type RequestOptions struct {
	// EndStream sends the request without content: the QUIC stream's send
	// side is closed after the HEADERS frame.
	EndStream bool

	// ManualConsume makes the application release received bytes with
	// Stream.Consume instead of reading releasing them; the peer is then
	// held back once ReceiveBuffer bytes plus the QUIC stream window are
	// outstanding.
	ManualConsume bool

	// Handler, when set, receives the stream's events from the start (see
	// Stream.SetHandler).
	Handler func(*Stream, Event)
}
