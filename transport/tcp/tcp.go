package tcp

import (
	"context"
	"fmt"
	"net"
	"time"
)

// Config holds socket options. The zero value is the defaults.
type Config struct {
	// KeepAlive is the TCP keep-alive period. Zero means 15 s (the
	// core's keep-alive PING interval); negative disables it.
	KeepAlive time.Duration

	// ReadBuffer and WriteBuffer set SO_RCVBUF and SO_SNDBUF; zero keeps
	// the operating system's (auto-tuned) sizes.
	ReadBuffer, WriteBuffer int
}

func (c Config) keepAlive() time.Duration {
	if c.KeepAlive == 0 {
		return 15 * time.Second
	}
	return c.KeepAlive
}

// Dial connects to addr over TCP and applies cfg. The error names the
// address.
func Dial(ctx context.Context, addr string, cfg Config) (net.Conn, error) {
	d := net.Dialer{KeepAlive: cfg.keepAlive()}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if err := Configure(nc, cfg); err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("tcp: configure %s: %w", addr, err)
	}
	return nc, nil
}

// Listen listens on addr; the connections it accepts have cfg applied.
func Listen(addr string, cfg Config) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: cfg.keepAlive()}
	l, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &listener{Listener: l, cfg: cfg}, nil
}

type listener struct {
	net.Listener
	cfg Config
}

// Accept waits for a connection and applies the listener's options.
func (l *listener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if err := Configure(nc, l.cfg); err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("tcp: configure accepted connection: %w", err)
	}
	return nc, nil
}

// Configure applies cfg to an existing connection; it does nothing to a
// connection that is not TCP.
func Configure(nc net.Conn, cfg Config) error {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	if err := tc.SetNoDelay(true); err != nil {
		return err
	}
	if ka := cfg.keepAlive(); ka > 0 {
		if err := tc.SetKeepAlive(true); err != nil {
			return err
		}
		if err := tc.SetKeepAlivePeriod(ka); err != nil {
			return err
		}
	} else if err := tc.SetKeepAlive(false); err != nil {
		return err
	}
	if cfg.ReadBuffer > 0 {
		if err := tc.SetReadBuffer(cfg.ReadBuffer); err != nil {
			return err
		}
	}
	if cfg.WriteBuffer > 0 {
		if err := tc.SetWriteBuffer(cfg.WriteBuffer); err != nil {
			return err
		}
	}
	return nil
}
