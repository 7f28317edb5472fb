package h2gnet

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"

	"github.com/h2proto/h2/core"
)

// ErrServerClosed is returned by ListenAndServe after Shutdown or Close.
var ErrServerClosed = errors.New("h2gnet: server closed")

// Defaults of the Server's knobs; see the fields for the reasons.
const (
	DefaultMaxWriteBuffer = 1 << 20
	DefaultMaxReadBuffer  = 4 << 20 // the floor; see Server.MaxReadBuffer
	DefaultWritePoll      = time.Millisecond
	DefaultWriteTimeout   = 30 * time.Second
	DefaultCloseTimeout   = 10 * time.Second
	DefaultLinger         = time.Second
)

// Server serves HTTP/2 with prior knowledge (h2c, RFC 9113 §3.3) on gnet's
// event loops: each connection is a core.Conn driven by the loop that owns
// its socket, and handlers run on that loop. Its exported fields must be set
// before ListenAndServe and not changed afterwards.
type Server struct {
	// Handler answers every request, on the connection's event loop (see
	// Handler). Required.
	Handler Handler

	// Config configures each connection's core (zero fields take the
	// core's defaults). ManualFlowControl is always switched on: the
	// adapter returns request-body credit itself (see Stream.OnEvent), so
	// a handler that falls behind bounds what the peer may send.
	Config core.Config

	// Loops is the number of event loops, each a goroutine serving its
	// share of the connections (assigned round-robin as they are
	// accepted). Zero means one per CPU the process may run on
	// (runtime.NumCPU), gnet's multicore mode: a loop never blocks, so
	// more loops than CPUs buy nothing. Negative is an error.
	Loops int

	// MaxWriteBuffer bounds the bytes a connection may have waiting in
	// gnet's outbound buffer (accepted by a write but not yet by the
	// kernel). Past it the adapter stops taking output from the core, which
	// keeps its send buffers full and so holds handlers back through
	// EventWritable, until the socket drains to half of it. The check is
	// made before each core.Conn.PollTransmit, so the buffer can exceed
	// the bound by one PollTransmit's output: the queued control frames and
	// field blocks (Limits.OutputHighWater stops input past 512 KiB of
	// them) and whatever response content the send buffers hold and the
	// peer's windows let go (at most Limits.ConnSendBuffer, 1 MiB, and
	// StreamSendBuffer, 64 KiB, per stream). Zero means
	// DefaultMaxWriteBuffer (1 MiB): a few socket buffers' worth, enough to
	// keep a fast reader busy between two checks.
	MaxWriteBuffer int

	// WriteTimeout bounds how long a connection may stay blocked on a full
	// outbound buffer (over MaxWriteBuffer, not yet drained to half of it)
	// before it is closed: a peer that stops reading would otherwise hold
	// the connection, its streams and their buffers for ever. Zero means
	// DefaultWriteTimeout (30 s): a peer must take MaxWriteBuffer/2 in that
	// time (17 KiB/s with the defaults), far below any working link.
	WriteTimeout time.Duration

	// CloseTimeout bounds the end of a connection: once its HTTP/2 session
	// is over (core.PhaseClosing: the last stream finished after a GOAWAY,
	// or an error or timeout ended it), the socket is closed at most this
	// long afterwards, Linger included, even if the peer has not read the
	// final frames. Zero means DefaultCloseTimeout (10 s): ample for the
	// last frames of any live peer.
	CloseTimeout time.Duration

	// WritePoll is how often a connection whose outbound buffer is over
	// MaxWriteBuffer is checked for room where the adapter cannot be told
	// (gnet reports no "drained" event; on Linux the adapter watches
	// blocked sockets with an epoll set of its own and polls only if that
	// fails). Zero means DefaultWritePoll (1 ms).
	WritePoll time.Duration

	// MaxReadBuffer bounds the received bytes a connection may leave
	// unprocessed while the core refuses input (its output or event queue
	// is backed up because the peer does not read what it asked for).
	// gnet keeps reading the socket regardless, so past this bound the
	// connection is closed. Zero means the larger of DefaultMaxReadBuffer
	// (4 MiB) and 2×Config.ConnectionWindowSize + Limits.OutputHighWater
	// (their effective values): a peer that plays by the rules can have a
	// connection window of request body in flight, so the bound must not
	// close it for that.
	MaxReadBuffer int

	// Linger bounds how long a connection whose HTTP/2 session ended keeps
	// reading (and dropping) input after its final GOAWAY and a write
	// shutdown: closing a socket with unread input makes the kernel send a
	// reset, which can destroy the GOAWAY in flight. Zero means
	// DefaultLinger (1 s).
	Linger time.Duration

	// Ready, if set, is called once with the listening address before the
	// first connection is accepted. It runs on gnet's boot path and must
	// not block.
	Ready func(addr net.Addr)

	// ErrorLog receives gnet's warnings and errors and handler panics; nil
	// means the log package's standard logger.
	ErrorLog *log.Logger

	mu      sync.Mutex
	eng     gnet.Engine
	booted  bool
	closing bool
	addr    net.Addr
	loops   map[gnet.EventLoop]*loop
	nconns  int
	idle    chan struct{} // closed when closing and no connection is left
	cfg     core.Config
	started bool

	defReadBuffer int // MaxReadBuffer's default for cfg

	watcher *writeWatcher // nil: blocked connections are polled

	// testNoWatcher makes blocked connections polled even on Linux.
	testNoWatcher bool
	// testWritable counts writeWatcher notifications.
	testWritable atomic.Int64
	// testHookBlocked, if set, is called on the loop when a connection
	// stops taking output, with gnet's outbound bytes.
	testHookBlocked func(outbound int)
	// testHookOpen is called in OnOpen after the closing check;
	// testHookShutdown in Shutdown once it has listed the loops;
	// testHookClosed after OnClose.
	testHookOpen     func()
	testHookShutdown func()
	testHookClosed   func()
}

// ListenAndServe listens on addr (HOST:PORT, TCP) and serves until Shutdown
// or Close, when it returns ErrServerClosed. It blocks; Ready reports the
// address (useful with port 0).
func (srv *Server) ListenAndServe(addr string) error {
	if srv.Handler == nil {
		return errors.New("h2gnet: Server.Handler is nil")
	}
	if err := srv.checkKnobs(); err != nil {
		return err
	}
	srv.mu.Lock()
	if srv.started {
		srv.mu.Unlock()
		return errors.New("h2gnet: ListenAndServe called twice on one Server")
	}
	srv.started = true
	if srv.closing {
		srv.mu.Unlock()
		return ErrServerClosed
	}
	srv.loops = make(map[gnet.EventLoop]*loop)
	srv.idle = make(chan struct{})
	srv.cfg = srv.Config
	srv.cfg.ManualFlowControl = true
	srv.defReadBuffer = defaultReadBuffer(srv.cfg)
	srv.mu.Unlock()
	if _, err := core.NewServer(time.Now(), srv.cfg); err != nil {
		return fmt.Errorf("h2gnet: Server.Config: %w", err)
	}
	opts := []gnet.Option{
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		// As net.Listen does: a restarted server can bind its port while
		// the previous one's connections sit in TIME_WAIT.
		gnet.WithReuseAddr(true),
		gnet.WithLogger(gnetLogger{srv.logger()}),
		gnet.WithLogLevel(logging.WarnLevel),
	}
	if srv.Loops > 0 {
		opts = append(opts, gnet.WithNumEventLoop(srv.Loops))
	} else {
		opts = append(opts, gnet.WithMulticore(true))
	}
	if !srv.testNoWatcher {
		srv.watcher = newWriteWatcher()
	}
	err := gnet.Run(&engine{srv: srv}, "tcp://"+addr, opts...)
	if srv.watcher != nil {
		srv.watcher.stop() // every connection is closed by now
	}
	srv.mu.Lock()
	closing := srv.closing
	srv.mu.Unlock()
	if err == nil && closing {
		return ErrServerClosed
	}
	if err == nil {
		return errors.New("h2gnet: engine stopped")
	}
	return err
}

// checkKnobs refuses negative knobs, naming the field.
func (srv *Server) checkKnobs() error {
	for _, k := range []struct {
		name string
		v    int64
	}{
		{"Loops", int64(srv.Loops)},
		{"MaxWriteBuffer", int64(srv.MaxWriteBuffer)},
		{"MaxReadBuffer", int64(srv.MaxReadBuffer)},
		{"WritePoll", int64(srv.WritePoll)},
		{"WriteTimeout", int64(srv.WriteTimeout)},
		{"CloseTimeout", int64(srv.CloseTimeout)},
		{"Linger", int64(srv.Linger)},
	} {
		if k.v < 0 {
			return fmt.Errorf("h2gnet: Server.%s is negative (%d)", k.name, k.v)
		}
	}
	return nil
}

// Addr returns the listening address, or nil before the server is ready.
func (srv *Server) Addr() net.Addr {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.addr
}

// Shutdown stops the server gracefully: every connection starts a two-phase
// GOAWAY (RFC 9113 §6.8; core.Conn.GoAway), streams in flight finish, new
// connections are refused, and once no connection is left — or ctx ends,
// whichever is first — the engine stops, closing what remains, and
// ListenAndServe returns ErrServerClosed. It returns ctx's error if ctx
// ended first.
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.mu.Lock()
	srv.closing = true
	if !srv.booted {
		srv.mu.Unlock()
		return nil // OnBoot sees closing and stops the engine
	}
	loops := make([]*loop, 0, len(srv.loops))
	for _, l := range srv.loops {
		loops = append(loops, l)
	}
	srv.checkIdleLocked()
	idle, eng := srv.idle, srv.eng
	srv.mu.Unlock()
	if h := srv.testHookShutdown; h != nil {
		h()
	}
	for _, l := range loops {
		_ = l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			l.goAwayAll()
			return nil
		}))
	}
	var err error
	select {
	case <-idle:
	case <-ctx.Done():
		err = ctx.Err()
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := eng.Stop(stopCtx); serr != nil && err == nil && !errors.Is(serr, context.DeadlineExceeded) {
		err = serr
	}
	return err
}

// Close stops the server at once: the engine closes every connection
// without GOAWAY. ListenAndServe returns ErrServerClosed.
func (srv *Server) Close() error {
	srv.mu.Lock()
	srv.closing = true
	booted, eng := srv.booted, srv.eng
	srv.mu.Unlock()
	if !booted {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return eng.Stop(ctx)
}

func (srv *Server) checkIdleLocked() {
	if srv.closing && srv.nconns == 0 {
		select {
		case <-srv.idle:
		default:
			close(srv.idle)
		}
	}
}

func (srv *Server) logger() *log.Logger {
	if srv.ErrorLog != nil {
		return srv.ErrorLog
	}
	return log.Default()
}

func (srv *Server) maxWriteBuffer() int {
	if srv.MaxWriteBuffer > 0 {
		return srv.MaxWriteBuffer
	}
	return DefaultMaxWriteBuffer
}

func (srv *Server) maxReadBuffer() int {
	if srv.MaxReadBuffer > 0 {
		return srv.MaxReadBuffer
	}
	return srv.defReadBuffer
}

// defaultReadBuffer is MaxReadBuffer's default for cfg (see the field).
func defaultReadBuffer(cfg core.Config) int {
	def := core.DefaultConfig()
	window, highWater := int(cfg.ConnectionWindowSize), cfg.Limits.OutputHighWater
	if window == 0 {
		window = int(def.ConnectionWindowSize)
	}
	if highWater == 0 {
		highWater = def.Limits.OutputHighWater
	}
	return max(DefaultMaxReadBuffer, 2*window+highWater)
}

func (srv *Server) writeTimeout() time.Duration {
	if srv.WriteTimeout > 0 {
		return srv.WriteTimeout
	}
	return DefaultWriteTimeout
}

func (srv *Server) closeTimeout() time.Duration {
	if srv.CloseTimeout > 0 {
		return srv.CloseTimeout
	}
	return DefaultCloseTimeout
}

func (srv *Server) writePoll() time.Duration {
	if srv.WritePoll > 0 {
		return srv.WritePoll
	}
	return DefaultWritePoll
}

func (srv *Server) linger() time.Duration {
	if srv.Linger > 0 {
		return srv.Linger
	}
	return DefaultLinger
}

// loopFor returns the state of gnet event loop el, creating it on first use.
func (srv *Server) loopFor(el gnet.EventLoop) *loop {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	l := srv.loops[el]
	if l == nil {
		l = newLoop(srv, el)
		srv.loops[el] = l
	}
	return l
}

// gnetLogger sends gnet's warnings and errors to the server's log.
type gnetLogger struct{ l *log.Logger }

func (g gnetLogger) Debugf(string, ...any) {}
func (g gnetLogger) Infof(string, ...any)  {}
func (g gnetLogger) Warnf(format string, args ...any) {
	g.l.Printf("h2gnet: gnet: "+format, args...)
}
func (g gnetLogger) Errorf(format string, args ...any) {
	g.l.Printf("h2gnet: gnet: "+format, args...)
}
func (g gnetLogger) Fatalf(format string, args ...any) {
	g.l.Fatalf("h2gnet: gnet: "+format, args...)
}
