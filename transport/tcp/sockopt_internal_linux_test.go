package tcp

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"
)

// sockopt reads an integer socket option of c.
func getsockopt(t *testing.T, c net.Conn, level, opt int) int {
	t.Helper()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := rc.Control(func(fd uintptr) { v, gerr = syscall.GetsockoptInt(int(fd), level, opt) }); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v
}

type want struct {
	keepAlive bool
	idle      int // seconds, when keepAlive
	minRcv    int // SO_RCVBUF at least, 0 for no check
	minSnd    int
}

func checkOpts(t *testing.T, side string, c net.Conn, w want) {
	t.Helper()
	if v := getsockopt(t, c, syscall.IPPROTO_TCP, syscall.TCP_NODELAY); v == 0 {
		t.Errorf("%s: TCP_NODELAY is off", side)
	}
	ka := getsockopt(t, c, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE) != 0
	if ka != w.keepAlive {
		t.Errorf("%s: SO_KEEPALIVE = %v, want %v", side, ka, w.keepAlive)
	}
	if w.keepAlive {
		if v := getsockopt(t, c, syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE); v != w.idle {
			t.Errorf("%s: TCP_KEEPIDLE = %d, want %d", side, v, w.idle)
		}
		if v := getsockopt(t, c, syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL); v != w.idle {
			t.Errorf("%s: TCP_KEEPINTVL = %d, want %d", side, v, w.idle)
		}
	}
	if w.minRcv > 0 {
		if v := getsockopt(t, c, syscall.SOL_SOCKET, syscall.SO_RCVBUF); v < w.minRcv {
			t.Errorf("%s: SO_RCVBUF = %d, want at least %d", side, v, w.minRcv)
		}
	}
	if w.minSnd > 0 {
		if v := getsockopt(t, c, syscall.SOL_SOCKET, syscall.SO_SNDBUF); v < w.minSnd {
			t.Errorf("%s: SO_SNDBUF = %d, want at least %d", side, v, w.minSnd)
		}
	}
}

func TestOptionsApplied(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want want
	}{
		{"defaults", Config{}, want{keepAlive: true, idle: 15}},
		{"keepalive_7s", Config{KeepAlive: 7 * time.Second}, want{keepAlive: true, idle: 7}},
		{"keepalive_off", Config{KeepAlive: -1}, want{keepAlive: false}},
		// Linux doubles the value set, so the value read is at least it.
		{"buffers", Config{ReadBuffer: 96 << 10, WriteBuffer: 80 << 10},
			want{keepAlive: true, idle: 15, minRcv: 96 << 10, minSnd: 80 << 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := loopbackPair(t, tc.cfg)
			checkOpts(t, "dialed", client, tc.want)
			checkOpts(t, "accepted", server, tc.want)
		})
	}
}

// Configure turns TCP_NODELAY back on for a connection made elsewhere.
func TestConfigureExistingConn(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.(*net.TCPConn).SetNoDelay(false); err != nil {
		t.Fatal(err)
	}
	if v := getsockopt(t, c, syscall.IPPROTO_TCP, syscall.TCP_NODELAY); v != 0 {
		t.Fatal("TCP_NODELAY still on after SetNoDelay(false)")
	}
	if err := Configure(c, Config{KeepAlive: 9 * time.Second}); err != nil {
		t.Fatal(err)
	}
	checkOpts(t, "configured", c, want{keepAlive: true, idle: 9})
}
