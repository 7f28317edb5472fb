package h2_test

// Helpers shared by the runtime_*_test.go files: servers over net.Pipe,
// loopback TCP and TLS; event recorders for stream handlers; bounded
// waits. Every name is prefixed rt to stay clear of other test files.

import (
	"bytes"
	"context"
	"crypto/sha256"
	ctls "crypto/tls"
	"errors"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/transport/tcp"
	h2tls "github.com/h2proto/h2/transport/tls"
)

// rtTimeout bounds every test.
const rtTimeout = 10 * time.Second

// rtCtx returns a context that ends after rtTimeout or with the test.
func rtCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), rtTimeout)
	t.Cleanup(cancel)
	return ctx
}

// rtTransport names how a test connects.
type rtTransport string

const (
	rtOverPipe rtTransport = "pipe"
	rtOverTCP  rtTransport = "tcp"
	rtOverTLS  rtTransport = "tls"
)

var rtTransports = []rtTransport{rtOverPipe, rtOverTCP}

// rtEnv is a server and one client connected to it.
type rtEnv struct {
	t      *testing.T
	srv    *h2.Server
	client *h2.Conn
	kind   rtTransport

	// serverNC is the server's end of the transport (pipe: at once; TCP and
	// TLS: once accepted, see serverTransport).
	accepted chan net.Conn
	serveErr chan error // what Serve (TCP, TLS) or ServeConn (pipe) returned

	mu          sync.Mutex
	serverConns map[*h2.Conn]struct{}
}

// rtTrackingListener hands each accepted connection to a channel too.
type rtTrackingListener struct {
	net.Listener
	accepted chan net.Conn
}

func (l *rtTrackingListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err == nil {
		select {
		case l.accepted <- nc:
		default:
		}
	}
	return nc, err
}

// rtStart serves srv over kind and connects a client with copts (nil for
// defaults), waiting for the SETTINGS exchange. Cleanup checks every
// connection's invariants, closes the client and the server and waits for
// both to end.
func rtStart(t *testing.T, kind rtTransport, srv *h2.Server, copts *h2.ClientOptions) *rtEnv {
	t.Helper()
	env := &rtEnv{
		t:           t,
		srv:         srv,
		kind:        kind,
		accepted:    make(chan net.Conn, 16),
		serveErr:    make(chan error, 1),
		serverConns: make(map[*h2.Conn]struct{}),
	}
	if srv.ErrorLog == nil {
		srv.ErrorLog = log.New(io.Discard, "", 0)
	}
	inner := srv.Handler
	srv.Handler = h2.HandlerFunc(func(s *h2.Stream) {
		env.mu.Lock()
		env.serverConns[s.Conn()] = struct{}{}
		env.mu.Unlock()
		inner.ServeH2(s)
	})
	o := h2.ClientOptions{}
	if copts != nil {
		o = *copts
	}
	ctx := rtCtx(t)
	var c *h2.Conn
	switch kind {
	case rtOverPipe:
		a, b := net.Pipe()
		env.accepted <- b
		go func() { env.serveErr <- srv.ServeConn(b) }()
		if o.Authority == "" {
			o.Authority = "example.test"
		}
		var err error
		c, err = h2.NewClientConn(a, &o)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
	case rtOverTCP, rtOverTLS:
		l, err := tcp.Listen("127.0.0.1:0", tcp.Config{})
		if err != nil {
			t.Fatal(err)
		}
		var ln net.Listener = &rtTrackingListener{Listener: l, accepted: env.accepted}
		if kind == rtOverTLS {
			cert, err := h2tls.SelfSigned()
			if err != nil {
				t.Fatal(err)
			}
			ln = ctls.NewListener(ln, h2tls.ServerConfig(cert))
			o.RootCAs = h2tls.CertPool(cert)
		} else {
			o.H2C = true
		}
		go func() { env.serveErr <- srv.Serve(ln) }()
		c, err = h2.Dial(ctx, l.Addr().String(), &o)
		if err != nil {
			_ = srv.Close()
			<-env.serveErr
			t.Fatal(err)
		}
	default:
		t.Fatalf("unknown transport %q", kind)
	}
	env.client = c
	t.Cleanup(env.cleanup)
	return env
}

// serverTransport returns the server's end of the (first) connection.
func (env *rtEnv) serverTransport(ctx context.Context) net.Conn {
	env.t.Helper()
	select {
	case nc := <-env.accepted:
		return nc
	case <-ctx.Done():
		env.t.Fatal("no server transport")
		return nil
	}
}

// conns returns the server connections seen by the handler.
func (env *rtEnv) conns() []*h2.Conn {
	env.mu.Lock()
	defer env.mu.Unlock()
	out := make([]*h2.Conn, 0, len(env.serverConns))
	for c := range env.serverConns {
		out = append(out, c)
	}
	return out
}

// check runs CheckInvariants on the client and every server connection.
func (env *rtEnv) check() {
	env.t.Helper()
	rtCheckInvariants(env.t, env.client)
	for _, c := range env.conns() {
		rtCheckInvariants(env.t, c)
	}
}

func (env *rtEnv) cleanup() {
	t := env.t
	env.check()
	_ = env.client.Close()
	_ = env.srv.Close()
	timer := time.NewTimer(rtTimeout)
	defer timer.Stop()
	select {
	case <-env.client.Done():
	case <-timer.C:
		t.Errorf("client connection did not end after Close")
	}
	for _, c := range env.conns() {
		select {
		case <-c.Done():
		case <-timer.C:
			t.Errorf("server connection did not end after Server.Close")
		}
	}
	select {
	case <-env.serveErr:
	case <-timer.C:
		t.Errorf("Serve/ServeConn did not return after Server.Close")
	}
}

func rtCheckInvariants(t testing.TB, c *h2.Conn) {
	t.Helper()
	if err := c.CheckInvariants(); err != nil {
		t.Errorf("CheckInvariants (%s): %v", c.LocalAddr(), err)
	}
}

// rtLogger records what the server logs; safe for concurrent use.
type rtLogger struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *rtLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *rtLogger) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// rtWait waits for ch to close or deliver, failing the test after the
// context ends.
func rtWait[T any](t testing.TB, ctx context.Context, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// rtDone waits for a Done channel.
func rtDone(t testing.TB, ctx context.Context, ch <-chan struct{}, what string) {
	t.Helper()
	rtWait(t, ctx, ch, what)
}

// rtResult is the outcome of a blocking call run in a goroutine.
type rtResult struct {
	data []byte
	err  error
}

// rtReadAll reads s to its end on another goroutine, bounded by ctx.
func rtReadAll(t testing.TB, ctx context.Context, s *h2.Stream) ([]byte, error) {
	t.Helper()
	ch := make(chan rtResult, 1)
	go func() {
		b, err := s.ReadAll()
		ch <- rtResult{data: b, err: err}
	}()
	r := rtWait(t, ctx, ch, "ReadAll")
	return r.data, r.err
}

// rtReadFull reads exactly n bytes from s on another goroutine, bounded by
// ctx.
func rtReadFull(t testing.TB, ctx context.Context, s *h2.Stream, n int) ([]byte, error) {
	t.Helper()
	ch := make(chan rtResult, 1)
	go func() {
		b := make([]byte, n)
		m, err := io.ReadFull(s, b)
		ch <- rtResult{data: b[:m], err: err}
	}()
	r := rtWait(t, ctx, ch, "ReadFull")
	return r.data, r.err
}

// rtRead does one Read on another goroutine, bounded by ctx.
func rtRead(t testing.TB, ctx context.Context, s *h2.Stream, size int) ([]byte, error) {
	t.Helper()
	ch := make(chan rtResult, 1)
	go func() {
		b := make([]byte, size)
		m, err := s.Read(b)
		ch <- rtResult{data: b[:m], err: err}
	}()
	r := rtWait(t, ctx, ch, "Read")
	return r.data, r.err
}

// rtPattern returns n deterministic pseudo-random bytes.
func rtPattern(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func rtSum(b []byte) [32]byte { return sha256.Sum256(b) }

// rtRecorder collects a stream's events through a handler (copying Data),
// counting terminal events.
type rtRecorder struct {
	mu       sync.Mutex
	events   []h2.Event
	data     bytes.Buffer
	terminal int
	notify   chan struct{} // signalled on every event
	done     chan struct{} // closed at the first terminal event
	onEvent  func(*h2.Stream, h2.Event)
}

func rtNewRecorder() *rtRecorder {
	return &rtRecorder{notify: make(chan struct{}, 1), done: make(chan struct{})}
}

func (r *rtRecorder) handle(s *h2.Stream, e h2.Event) {
	e.Data = bytes.Clone(e.Data)
	r.mu.Lock()
	r.events = append(r.events, e)
	if e.Kind == core.EventData {
		r.data.Write(e.Data)
	}
	if e.Kind == core.EventStreamClosed || e.Kind == core.EventStreamReset {
		r.terminal++
		if r.terminal == 1 {
			close(r.done)
		}
	}
	r.mu.Unlock()
	if r.onEvent != nil {
		r.onEvent(s, e)
	}
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// snapshot returns the events so far and the content.
func (r *rtRecorder) snapshot() ([]h2.Event, []byte, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]h2.Event(nil), r.events...), bytes.Clone(r.data.Bytes()), r.terminal
}

// waitFor waits until cond holds on the events so far.
func (r *rtRecorder) waitFor(t testing.TB, ctx context.Context, what string, cond func([]h2.Event, []byte) bool) {
	t.Helper()
	for {
		evs, data, _ := r.snapshot()
		if cond(evs, data) {
			return
		}
		select {
		case <-r.notify:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s; events so far: %v", what, rtKinds(evs))
		}
	}
}

// rtKinds lists the kinds of events, for messages.
func rtKinds(evs []h2.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Kind.String()
	}
	return out
}

// rtHas reports whether evs holds an event of kind k.
func rtHas(evs []h2.Event, k core.EventKind) bool {
	for _, e := range evs {
		if e.Kind == k {
			return true
		}
	}
	return false
}

// rtStreamErr asserts that err is a *core.StreamError with code and
// remote.
func rtStreamErr(t testing.TB, what string, err error, code core.ErrCode, remote bool) {
	t.Helper()
	var se *core.StreamError
	if !errors.As(err, &se) {
		t.Errorf("%s: got %v (%T), want a *core.StreamError %v", what, err, err, code)
		return
	}
	if se.Code != code || se.Remote != remote {
		t.Errorf("%s: got %v (code %v remote %v), want code %v remote %v", what, se, se.Code, se.Remote, code, remote)
	}
}

// rtCancelled reports whether ctx is already done.
func rtCancelled(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}
