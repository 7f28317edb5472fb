package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// errNotLoopback is returned for any address that does not resolve to
// loopback only.
var errNotLoopback = errors.New("attack: refusing a non-loopback address (only 127.0.0.0/8 and ::1)")

// isLoopback reports whether ip is in 127.0.0.0/8 or is ::1.
func isLoopback(ip net.IP) bool {
	if v4 := ip.To4(); v4 != nil {
		return v4[0] == 127
	}
	return ip.Equal(net.IPv6loopback)
}

// resolveLoopback resolves host:port and returns an IP:port to dial, after
// checking that every address the host resolves to is loopback: the tool
// must never be pointed at someone else's server.
func resolveLoopback(ctx context.Context, addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("attack: bad -addr %q: %w", addr, err)
	}
	if host == "" {
		return "", fmt.Errorf("%w: empty host in %q", errNotLoopback, addr)
	}
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return "", fmt.Errorf("attack: resolving %q: %w", host, err)
	}
	if len(ips) == 0 {
		return "", fmt.Errorf("attack: %q resolves to nothing", host)
	}
	for _, ip := range ips {
		if !isLoopback(ip.IP) {
			return "", fmt.Errorf("%w: %s resolves to %v", errNotLoopback, host, ip.IP)
		}
	}
	return net.JoinHostPort(ips[0].IP.String(), port), nil
}

// dial connects to the checked address: cleartext with prior knowledge
// (h2c), or TLS negotiating ALPN "h2".
//
// With smallWindow the socket's receive buffer is made as small as the
// kernel allows, so that a client that does not read stops the server's
// writes after a few KiB instead of megabytes of kernel buffering (Envoy's
// flood tests do the same).
func dial(cfg *config, deadline time.Time, smallWindow bool) (net.Conn, error) {
	d := net.Dialer{Deadline: deadline}
	if smallWindow {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	nc, err := d.Dial("tcp", cfg.dialAddr)
	if err != nil {
		return nil, err
	}
	if cfg.h2c {
		return nc, nil
	}
	host, _, _ := net.SplitHostPort(cfg.addr)
	tc := tls.Client(nc, &tls.Config{NextProtos: []string{"h2"}, ServerName: host,
		InsecureSkipVerify: cfg.insecure, MinVersion: tls.VersionTLS12}) //nolint:gosec // -k is the user's explicit choice on loopback
	_ = tc.SetDeadline(deadline)
	if err := tc.Handshake(); err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("attack: TLS handshake: %w", err)
	}
	_ = tc.SetDeadline(time.Time{})
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		_ = tc.Close()
		return nil, fmt.Errorf("attack: server negotiated ALPN %q, not h2", p)
	}
	return tc, nil
}
