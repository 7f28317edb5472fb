package nethttp

import (
	"context"
	"crypto/tls"
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
	active  int         // requests holding a stream (see release)
	used    int         // requests given this connection so far
	idle    *time.Timer // runs while active is 0 (IdleConnTimeout)
	idleGen uint64      // counts idle periods: a timer that fired late is stale
	dead    bool        // removed from the pool; closed once active is 0
}

// trDial is a dial in progress, which requests for the same key wait for
// rather than dialling their own.
type trDial struct {
	done  chan struct{}
	err   error
	byCtx bool // err came from the dialling request's context: others try again
}

// usable reports whether cc may take a new request: its connection runs
// and the server has not sent GOAWAY (RFC 9113 §6.8).
func (cc *trConn) usable() bool {
	if cc.closedNow() {
		return false
	}
	_, away := cc.c.GoAway()
	return !away
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
	// Connections found unusable and idle are closed once t.mu is
	// released.
	var stale []*trConn
	unlock := func() {
		t.mu.Unlock()
		for _, cc := range stale {
			_ = cc.c.Close()
		}
		stale = nil
	}
	for {
		t.mu.Lock()
		var least *trConn
		list := t.conns[key]
		for i := 0; i < len(list); i++ {
			cc := list[i]
			if !cc.usable() {
				if t.removeLocked(cc) {
					stale = append(stale, cc)
				}
				list = t.conns[key]
				i--
				continue
			}
			if cc.active < cc.capacity() {
				reused = cc.take()
				unlock()
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
			unlock()
			return least, reused, nil
		}
		if d != nil {
			unlock()
			select {
			case <-d.done:
			case <-ctx.Done():
				return nil, false, ctx.Err()
			}
			if d.err != nil && !d.byCtx {
				return nil, false, d.err
			}
			continue // look again: the new connection, or dial ourselves
		}
		d = &trDial{done: make(chan struct{})}
		if t.dialing == nil {
			t.dialing = make(map[string]*trDial)
		}
		t.dialing[key] = d
		unlock()

		c, err := t.dial(ctx, addr, https)
		t.mu.Lock()
		delete(t.dialing, key)
		d.err, d.byCtx = err, ctx.Err() != nil
		close(d.done)
		if err != nil {
			unlock()
			return nil, false, err
		}
		cc = &trConn{t: t, key: key, c: c}
		if t.conns == nil {
			t.conns = make(map[string][]*trConn)
		}
		t.conns[key] = append(t.conns[key], cc)
		cc.take()
		unlock()
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
	cc.idleGen++ // a timer firing now finds itself stale
	if cc.idle != nil {
		cc.idle.Stop()
		cc.idle = nil
	}
}

// release gives back the stream reserved by getConn. The last one out of a
// connection that is out of the pool or going away closes it; of a live
// one, starts its idle timer.
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
		cc.idleGen++
		gen := cc.idleGen
		cc.idle = time.AfterFunc(d, func() { cc.idleExpired(gen) })
	}
	t.mu.Unlock()
}

// idleExpired closes cc when the idle period gen ends, unless that period
// is over already: the timer may fire while getConn hands cc out again,
// and run once that request has released it and a new period started.
func (cc *trConn) idleExpired(gen uint64) {
	t := cc.t
	t.mu.Lock()
	if cc.active > 0 || cc.dead || gen != cc.idleGen {
		t.mu.Unlock()
		return
	}
	cc.idle = nil
	t.removeLocked(cc)
	t.mu.Unlock()
	_ = cc.c.Close()
}

// abandon gives back the stream of a request cc could not take and takes
// cc out of the pool — in that order of effect: marked dead first, the
// release closes cc if it was the last request on it.
func (cc *trConn) abandon() {
	cc.markDead()
	cc.release()
}

// markDead takes cc out of the pool: no new request goes to it, and it is
// closed now if it carries none, else when the last one releases it.
func (cc *trConn) markDead() {
	cc.t.mu.Lock()
	idle := cc.t.removeLocked(cc)
	cc.t.mu.Unlock()
	if idle {
		_ = cc.c.Close()
	}
}

// watch removes cc from the pool when its connection ends.
func (cc *trConn) watch() {
	<-cc.c.Done()
	cc.t.mu.Lock()
	cc.t.removeLocked(cc) // closed already
	cc.t.mu.Unlock()
}

// removeLocked takes cc out of the pool and reports whether it carries no
// request, in which case the caller closes it (release closes it
// otherwise). t.mu is held.
func (t *Transport) removeLocked(cc *trConn) bool {
	cc.stopIdleTimer()
	if cc.dead {
		return cc.active == 0
	}
	cc.dead = true
	list := t.conns[cc.key]
	if i := slices.Index(list, cc); i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	t.setConns(cc.key, list)
	return cc.active == 0
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
// HandshakeTimeout bounds what follows the dial: the TLS handshake and that
// exchange. The core's idle timer follows IdleConnTimeout unless Options
// set it.
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
	setup := ctx
	if d := t.handshakeTimeout(); d > 0 {
		var cancel context.CancelFunc
		setup, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	// timedOut words an error of the setup when HandshakeTimeout ended it.
	timedOut := func(what string, err error) error {
		if ctx.Err() == nil && setup.Err() != nil {
			return fmt.Errorf("nethttp: %s with %s not done within HandshakeTimeout (%v): %w", what, addr, t.handshakeTimeout(), err)
		}
		return fmt.Errorf("nethttp: %s with %s: %w", what, addr, err)
	}
	if https {
		tc := tls.Client(nc, t.tlsConfig(addr))
		if err := tc.HandshakeContext(setup); err != nil {
			_ = nc.Close()
			return nil, timedOut("TLS handshake (offering ALPN h2)", err)
		}
		nc = tc
	}
	var o h2.ClientOptions
	if t.Options != nil {
		o.Options = t.Options.Options
	}
	if o.Config.Timeouts.Idle == 0 {
		// The core closes a connection without streams after its own Idle
		// (60 s by default): make it IdleConnTimeout's.
		o.Config.Timeouts.Idle = t.coreIdleTimeout()
	}
	o.Authority = addr // unused: requests carry their own :authority
	c, err := h2.NewClientConn(nc, &o)
	if err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("nethttp: %s: %w", addr, err)
	}
	if err := c.WaitConnected(setup); err != nil {
		_ = c.Close()
		return nil, timedOut("HTTP/2 preface exchange", err)
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
