package h3_test

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/adapters/h3"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/transport/tcp"
	h2tls "github.com/h2proto/h2/transport/tls"
	"github.com/quic-go/quic-go"
)

// stream is what the behaviour table uses of h2.Stream and h3.Stream:
// the same method set, checked at compile time for both.
type stream interface {
	Response(ctx context.Context) (*h2.Response, error)
	Read(p []byte) (int, error)
	ReadAll() ([]byte, error)
	Trailers() []h2.HeaderField
	Write(p []byte) (int, error)
	WriteContext(ctx context.Context, p []byte) (int, error)
	TryWrite(p []byte) (int, error)
	CloseWrite() error
	WriteTrailers(trailers []h2.HeaderField) error
	Cancel() error
	Reset(code core.ErrCode) error
	Consume(n int) error
	DrainEvents() ([]h2.Event, error)
	Done() <-chan struct{}
	Err() error
	Context() context.Context
	Request() *h2.Request
	Respond(status int, headers []h2.HeaderField, body []byte) error
	WriteHeaders(status int, headers []h2.HeaderField) error
}

var (
	_ stream = (*h2.Stream)(nil)
	_ stream = (*h3.Stream)(nil)
)

type reqOpts struct{ endStream, manual bool }

// client abstracts the two connection types.
type client interface {
	request(ctx context.Context, method, path string, opts reqOpts, extra ...h2.HeaderField) (stream, error)
	done() <-chan struct{}
	err() error
}

// serverOpts configure a test connection. small shrinks the client's
// receive side to smallWindow each: the HTTP/2 stream window; the QUIC
// stream window and the adapter's ReceiveBuffer.
type serverOpts struct{ manual, small bool }

const smallWindow = 64 << 10

// proto is one protocol under test: the constructors are all that differ.
type proto struct {
	name string
	// start serves handler on loopback and returns a connected client and
	// the server's Shutdown.
	start      func(t *testing.T, so serverOpts, handler func(stream)) (client, func(context.Context) error)
	setHandler func(s stream, f func(h2.Event))
}

var protos = []proto{
	{name: "h2", start: startH2, setHandler: func(s stream, f func(h2.Event)) {
		s.(*h2.Stream).SetHandler(func(_ *h2.Stream, e h2.Event) { f(e) })
	}},
	{name: "h3", start: startH3, setHandler: func(s stream, f func(h2.Event)) {
		s.(*h3.Stream).SetHandler(func(_ *h3.Stream, e h3.Event) { f(e) })
	}},
}

type h2Client struct{ c *h2.Conn }

func (c h2Client) request(ctx context.Context, method, path string, o reqOpts, extra ...h2.HeaderField) (stream, error) {
	s, err := c.c.Request(ctx, c.c.NewRequest(method, path, extra...), &h2.RequestOptions{EndStream: o.endStream, ManualConsume: o.manual})
	if err != nil {
		return nil, err
	}
	return s, nil
}
func (c h2Client) done() <-chan struct{} { return c.c.Done() }
func (c h2Client) err() error            { return c.c.Err() }

type h3Client struct{ c *h3.Conn }

func (c h3Client) request(ctx context.Context, method, path string, o reqOpts, extra ...h2.HeaderField) (stream, error) {
	s, err := c.c.Request(ctx, c.c.NewRequest(method, path, extra...), &h3.RequestOptions{EndStream: o.endStream, ManualConsume: o.manual})
	if err != nil {
		return nil, err
	}
	return s, nil
}
func (c h3Client) done() <-chan struct{} { return c.c.Done() }
func (c h3Client) err() error            { return c.c.Err() }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func startH2(t *testing.T, so serverOpts, handler func(stream)) (client, func(context.Context) error) {
	l, err := tcp.Listen("127.0.0.1:0", tcp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := &h2.Server{ManualConsume: so.manual, Handler: h2.HandlerFunc(func(s *h2.Stream) { handler(s) })}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	co := &h2.ClientOptions{H2C: true}
	if so.small {
		co.Config.InitialWindowSize = smallWindow
	}
	c, err := h2.Dial(testCtx(t), l.Addr().String(), co)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return h2Client{c}, srv.Shutdown
}

var testCert = func() tls.Certificate {
	cert, err := h2tls.SelfSigned()
	if err != nil {
		panic(err)
	}
	return cert
}()

func startH3(t *testing.T, so serverOpts, handler func(stream)) (client, func(context.Context) error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	srv := &h3.Server{
		ManualConsume: so.manual,
		TLSConfig:     &tls.Config{Certificates: []tls.Certificate{testCert}},
		Handler:       h3.HandlerFunc(func(s *h3.Stream) { handler(s) }),
	}
	go func() { _ = srv.Serve(pc) }()
	t.Cleanup(func() { _ = srv.Close() })
	co := &h3.ClientOptions{RootCAs: h2tls.CertPool(testCert)}
	if so.small {
		co.QUICConfig = &quic.Config{InitialStreamReceiveWindow: smallWindow, MaxStreamReceiveWindow: smallWindow}
		co.ReceiveBuffer = smallWindow
	}
	c, err := h3.Dial(testCtx(t), pc.LocalAddr().String(), co)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return h3Client{c}, srv.Shutdown
}
