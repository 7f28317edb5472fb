package h2gnet

import (
	"net"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/h2proto/h2/core"
)

// engine is the gnet.EventHandler: every method but OnBoot and OnShutdown
// runs on the event loop that owns the connection.
type engine struct {
	gnet.BuiltinEventEngine
	srv *Server
}

func (e *engine) OnBoot(eng gnet.Engine) gnet.Action {
	srv := e.srv
	addr := listenAddr(eng)
	srv.mu.Lock()
	srv.eng, srv.booted, srv.addr = eng, true, addr
	closing := srv.closing
	srv.mu.Unlock()
	if closing {
		return gnet.Shutdown
	}
	if srv.Ready != nil {
		srv.Ready(addr)
	}
	return gnet.None
}

// listenAddr reads the bound address from a duplicate of the listener.
func listenAddr(eng gnet.Engine) net.Addr {
	fd, err := eng.Dup()
	if err != nil {
		return nil
	}
	defer unix.Close(fd)
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	}
	return nil
}

func (e *engine) OnShutdown(gnet.Engine) {
	srv := e.srv
	srv.mu.Lock()
	loops := srv.loops
	srv.mu.Unlock()
	for _, l := range loops {
		l.timer.Stop()
	}
}

func (e *engine) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	srv := e.srv
	srv.mu.Lock()
	closing := srv.closing
	if closing {
		srv.mu.Unlock()
		return nil, gnet.Close
	}
	srv.nconns++
	srv.mu.Unlock()
	if h := srv.testHookOpen; h != nil {
		h()
	}
	l := srv.loopFor(gc.EventLoop())
	now := time.Now()
	cc, err := core.NewServer(now, srv.cfg)
	if err != nil { // validated in ListenAndServe
		srv.logger().Printf("h2gnet: %v", err)
		return nil, gnet.Close
	}
	c := &conn{srv: srv, loop: l, gc: gc, core: cc, watchFd: -1}
	gc.SetContext(c)
	l.add(c)
	// A Shutdown that ran since the check above may have missed this
	// connection (its loop may be new): the connection then starts with
	// the GOAWAY.
	srv.mu.Lock()
	closing = srv.closing
	srv.mu.Unlock()
	if closing {
		_ = cc.GoAway(now)
	}
	// The server preface (SETTINGS, WINDOW_UPDATE) goes out now.
	if c.pump(now) {
		return nil, gnet.Close
	}
	return nil, gnet.None
}

func (e *engine) OnTraffic(gc gnet.Conn) gnet.Action {
	c, ok := gc.Context().(*conn)
	if !ok || c.closed {
		_, _ = gc.Discard(-1)
		return gnet.Close
	}
	if c.pump(time.Now()) {
		return gnet.Close
	}
	return gnet.None
}

func (e *engine) OnClose(gc gnet.Conn, err error) gnet.Action {
	c, ok := gc.Context().(*conn)
	if !ok || c.closed {
		return gnet.None
	}
	c.transportClosed(time.Now(), err)
	srv := e.srv
	srv.mu.Lock()
	srv.nconns--
	srv.checkIdleLocked()
	srv.mu.Unlock()
	if h := srv.testHookClosed; h != nil {
		h()
	}
	return gnet.None
}
