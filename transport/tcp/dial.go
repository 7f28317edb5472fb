package tcp

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// Dial connects to addr ("host:port") over TCP and applies cfg (see
// Configure). ctx bounds the connection attempt only; once Dial returns,
// cancelling ctx has no effect on the connection. The connection is a
// *net.TCPConn.
//
// On failure the returned error names addr: package net's *net.OpError
// when it carries the address, otherwise an error wrapping the cause as
// "tcp: dial ADDR: ..." (so errors.Is(err, context.Canceled) and the like
// still hold). If the options cannot be applied the connection is closed
// and the error says which option failed.
func Dial(ctx context.Context, addr string, cfg Config) (net.Conn, error) {
	d := net.Dialer{KeepAliveConfig: cfg.keepAlive()}
	if !d.KeepAliveConfig.Enable {
		d.KeepAlive = -1 // disabled: Dialer would otherwise turn it on
	}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, named("dial", addr, err)
	}
	if err := Configure(c, cfg); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("tcp: dial %s: %w", addr, err)
	}
	return c, nil
}

// named makes sure err, from op on addr, names addr: a *net.OpError that
// carries an address already does; anything else is wrapped.
func named(op, addr string, err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Addr != nil {
		return err
	}
	return fmt.Errorf("tcp: %s %s: %w", op, addr, err)
}
