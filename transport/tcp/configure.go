package tcp

import (
	"fmt"
	"net"
)

// Configure applies cfg to c: TCP_NODELAY on, keep-alive per
// cfg.KeepAlive, and the buffer sizes when set. It does nothing and
// returns nil when c is not a *net.TCPConn (a TLS connection, an
// in-memory pipe), so it may be called on any net.Conn. The first option
// that fails stops it; the error names the option and wraps the cause.
// c is not closed on failure.
func Configure(c net.Conn, cfg Config) error {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	if err := tc.SetNoDelay(true); err != nil {
		return fmt.Errorf("tcp: set TCP_NODELAY: %w", err)
	}
	if err := tc.SetKeepAliveConfig(cfg.keepAlive()); err != nil {
		return fmt.Errorf("tcp: set keep-alive: %w", err)
	}
	if cfg.ReadBuffer > 0 {
		if err := tc.SetReadBuffer(cfg.ReadBuffer); err != nil {
			return fmt.Errorf("tcp: set SO_RCVBUF to %d: %w", cfg.ReadBuffer, err)
		}
	}
	if cfg.WriteBuffer > 0 {
		if err := tc.SetWriteBuffer(cfg.WriteBuffer); err != nil {
			return fmt.Errorf("tcp: set SO_SNDBUF to %d: %w", cfg.WriteBuffer, err)
		}
	}
	return nil
}
