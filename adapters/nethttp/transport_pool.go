package nethttp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
)

// trConn is one pooled connection.
type trConn struct {
	t   *Transport
	key string
	c   *h2.Conn

	// Guarded by t.mu.
	active int         // requests holding a stream (see release)
	used   int         // requests given this connection so far
	idle   *time.Timer // runs while active is 0 (IdleConnTimeout)
	dead   bool        // removed from the pool
}

// trDial is a dial in progress, which requests for the same key wait for
// rather than dialling their own.
type trDial struct {
	done chan struct{}
	err  error
}

// usable reports whether cc may take a new request: its connection runs
// and the server has not sent GOAWAY (RFC 9113 §6.8).
func (cc *trConn) usable() bool {
	select {
	case <-cc.c.Done():
		return false
	default:
	}
	_, away := cc.c.GoAway()
	return !away
}

// capacity is the number of concurrent requests cc takes: the server's
// SETTINGS_MAX_CONCURRENT_STREAMS (RFC 9113 §5.1.2). A server announcing 0
// counts as 1, so that requests wait on its connection for the limit to
// rise (h2.Conn.Request waits) rather than each dialling a new one.
func (cc *trConn) capacity() int {
	n := cc.c.PeerSettings().MaxConcurrentStreams
	if n == core.Unlimited || n > 1<<20 {
		return 1 << 20
	}
	return max(int(n), 1)
}

// getConn returns a connection for key with a stream reserved for the
// caller (release gives it back): an existing one with room, else a new
// one — one dial at a time per key, which every request waiting for that
// key shares.
func (t *Transport) getConn(ctx context.Context, key, addr string, https bool) (cc *trConn, reused bool, err error) {
	for {
		t.mu.Lock()
		var least *trConn
		list := t.conns[key]
		for i := 0; i < len(list); i++ {
			cc := list[i]
			if !cc.usable() {
				t.removeLocked(cc)
				list = t.conns[key]
				i--
				continue
			}
			if cc.active < cc.capacity() {
				reused = cc.take()
				t.mu.Unlock()
				return cc, reused, nil
			}
			if least == nil || cc.active < least.active {
				least = cc
			}
		}
		d := t.dialing[key]
		if d == nil && least != nil && t.MaxConnsPerHost > 0 && len(list) >= t.MaxConnsPerHost {
			// At the cap: wait on the least busy connection's stream
			// limit (h2.Conn.Request blocks until a stream ends).
			reused = least.take()
			t.mu.Unlock()
			return least, reused, nil
		}
		if d != nil {
			t.mu.Unlock()
			select {
			case <-d.done:
			case <-ctx.Done():
				return nil, false, ctx.Err()
			}
			if d.err != nil && !errors.Is(d.err, context.Canceled) && !errors.Is(d.err, context.DeadlineExceeded) {
				return nil, false, d.err
			}
			continue // look again: the new connection, or dial ourselves
		}
		d = &trDial{done: make(chan struct{})}
		if t.dialing == nil {
			t.dialing = make(map[string]*trDial)
		}
		t.dialing[key] = d
		t.mu.Unlock()

		c, err := t.dial(ctx, addr, https)
		t.mu.Lock()
		delete(t.dialing, key)
		d.err = err
		close(d.done)
		if err != nil {
			t.mu.Unlock()
			return nil, false, err
		}
		cc = &trConn{t: t, key: key, c: c}
		if t.conns == nil {
			t.conns = make(map[string][]*trConn)
		}
		t.conns[key] = append(t.conns[key], cc)
		cc.take()
		t.mu.Unlock()
		go cc.watch()
		return cc, false, nil
	}
}

// take reserves a stream on cc and reports whether cc carried requests
// before. t.mu is held.
func (cc *trConn) take() bool {
	cc.active++
	cc.used++
	cc.stopIdleTimer()
	return cc.used > 1
}

func (cc *trConn) stopIdleTimer() {
	if cc.idle != nil {
		cc.idle.Stop()
		cc.idle = nil
	}
}

// release gives back the stream reserved by getConn. The last one out of a
// connection that is going away closes it; of a live one, starts its idle
// timer.
func (cc *trConn) release() {
	t := cc.t
	t.mu.Lock()
	cc.active--
	if cc.active > 0 {
		t.mu.Unlock()
		return
	}
	if cc.dead || !cc.usable() {
		t.removeLocked(cc)
		t.mu.Unlock()
		_ = cc.c.Close()
		return
	}
	if d := t.idleTimeout(); d > 0 {
		cc.idle = time.AfterFunc(d, cc.idleExpired)
	}
	t.mu.Unlock()
}

func (cc *trConn) idleExpired() {
	t := cc.t
	t.mu.Lock()
	if cc.active > 0 || cc.dead {
		t.mu.Unlock()
		return
	}
	t.removeLocked(cc)
	t.mu.Unlock()
	_ = cc.c.Close()
}

// markDead takes cc out of the pool: no new request goes to it.
func (cc *trConn) markDead() {
	cc.t.mu.Lock()
	cc.t.removeLocked(cc)
	cc.t.mu.Unlock()
}

// watch removes cc from the pool when its connection ends.
func (cc *trConn) watch() {
	<-cc.c.Done()
	cc.t.mu.Lock()
	cc.stopIdleTimer()
	cc.t.removeLocked(cc)
	cc.t.mu.Unlock()
}

// removeLocked takes cc out of the pool. t.mu is held.
func (t *Transport) removeLocked(cc *trConn) {
	if cc.dead {
		return
	}
	cc.dead = true
	list := t.conns[cc.key]
	if i := slices.Index(list, cc); i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	t.setConns(cc.key, list)
}

// setConns stores a key's list, dropping the key when it is empty. t.mu
// is held.
func (t *Transport) setConns(key string, list []*trConn) {
	if len(list) == 0 {
		delete(t.conns, key)
		return
	}
	t.conns[key] = list
}

// dial connects to addr and completes the HTTP/2 preface and SETTINGS
// exchange (RFC 9113 §3.4), so that the server's stream limit is known.
func (t *Transport) dial(ctx context.Context, addr string, https bool) (*h2.Conn, error) {
	dial := t.DialContext
	if dial == nil {
		d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
		dial = d.DialContext
	}
	nc, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("nethttp: dial %s: %w", addr, err)
	}
	if https {
		tc := tls.Client(nc, t.tlsConfig(addr))
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("nethttp: TLS handshake with %s (offering ALPN h2): %w", addr, err)
		}
		nc = tc
	}
	var o h2.ClientOptions
	if t.Options != nil {
		o.Options = t.Options.Options
	}
	o.Authority = addr // unused: requests carry their own :authority
	c, err := h2.NewClientConn(nc, &o)
	if err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("nethttp: %s: %w", addr, err)
	}
	if err := c.WaitConnected(ctx); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("nethttp: HTTP/2 preface exchange with %s: %w", addr, err)
	}
	return c, nil
}

// tlsConfig is TLSClientConfig prepared for addr: ALPN "h2" first, the
// host as ServerName by default.
func (t *Transport) tlsConfig(addr string) *tls.Config {
	var cfg *tls.Config
	if t.TLSClientConfig != nil {
		cfg = t.TLSClientConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if !slices.Contains(cfg.NextProtos, "h2") {
		cfg.NextProtos = append([]string{"h2"}, cfg.NextProtos...)
	}
	if cfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg.ServerName = host
		}
	}
	return cfg
}

// closedNow reports whether cc's connection has ended.
func (cc *trConn) closedNow() bool {
	select {
	case <-cc.c.Done():
		return true
	default:
		return false
	}
}
