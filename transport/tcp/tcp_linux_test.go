package tcp_test

import (
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/h2proto/h2/transport/tcp"
)

// sockopt reads an integer socket option of c through its syscall.RawConn.
func sockopt(t *testing.T, c net.Conn, level, opt int) int {
	t.Helper()
	sc, ok := c.(syscall.Conn)
	if !ok {
		t.Fatalf("%T is not a syscall.Conn", c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		t.Fatalf("SyscallConn: %v", err)
	}
	var v int
	var serr error
	if err := rc.Control(func(fd uintptr) {
		v, serr = syscall.GetsockoptInt(int(fd), level, opt)
	}); err != nil {
		t.Fatalf("Control: %v", err)
	}
	if serr != nil {
		t.Fatalf("getsockopt(%d, %d): %v", level, opt, serr)
	}
	return v
}

func TestExtNoDelay(t *testing.T) {
	for _, cfg := range []tcp.Config{{}, {KeepAlive: -1}} {
		d, a := pair(t, cfg)
		for _, c := range []struct {
			name string
			c    net.Conn
		}{{"dialed", d}, {"accepted", a}} {
			if v := sockopt(t, c.c, syscall.IPPROTO_TCP, syscall.TCP_NODELAY); v == 0 {
				t.Errorf("cfg %+v: %s conn: TCP_NODELAY is off", cfg, c.name)
			}
		}
	}
}

func TestExtNoDelaySetByConfigure(t *testing.T) {
	d, _ := pair(t, tcp.Config{})
	tc := d.(*net.TCPConn)
	if err := tc.SetNoDelay(false); err != nil {
		t.Fatal(err)
	}
	if v := sockopt(t, d, syscall.IPPROTO_TCP, syscall.TCP_NODELAY); v != 0 {
		t.Fatalf("TCP_NODELAY still on after SetNoDelay(false)")
	}
	if err := tcp.Configure(d, tcp.Config{}); err != nil {
		t.Fatal(err)
	}
	if v := sockopt(t, d, syscall.IPPROTO_TCP, syscall.TCP_NODELAY); v == 0 {
		t.Error("Configure did not turn TCP_NODELAY on")
	}
}

func TestExtKeepAlive(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  tcp.Config
		want bool
		idle time.Duration // TCP_KEEPIDLE expected when on
	}{
		{"default", tcp.Config{}, true, 15 * time.Second},
		{"explicit", tcp.Config{KeepAlive: 42 * time.Second}, true, 42 * time.Second},
		{"negative", tcp.Config{KeepAlive: -1}, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, a := pair(t, tc.cfg)
			for _, c := range []struct {
				name string
				c    net.Conn
			}{{"dialed", d}, {"accepted", a}} {
				on := sockopt(t, c.c, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE) != 0
				if on != tc.want {
					t.Errorf("%s conn: SO_KEEPALIVE = %v, want %v", c.name, on, tc.want)
				}
				if !tc.want {
					continue
				}
				idle := time.Duration(sockopt(t, c.c, syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE)) * time.Second
				if idle != tc.idle {
					t.Errorf("%s conn: TCP_KEEPIDLE = %v, want %v", c.name, idle, tc.idle)
				}
			}
		})
	}
}

func TestExtKeepAliveTurnedOffByConfigure(t *testing.T) {
	d, _ := pair(t, tcp.Config{})
	if v := sockopt(t, d, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE); v == 0 {
		t.Fatal("SO_KEEPALIVE off by default")
	}
	if err := tcp.Configure(d, tcp.Config{KeepAlive: -time.Second}); err != nil {
		t.Fatal(err)
	}
	if v := sockopt(t, d, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE); v != 0 {
		t.Error("Configure with negative KeepAlive left SO_KEEPALIVE on")
	}
}

func TestExtBuffers(t *testing.T) {
	const size = 64 << 10
	d, a := pair(t, tcp.Config{ReadBuffer: size, WriteBuffer: size})
	for _, c := range []struct {
		name string
		c    net.Conn
	}{{"dialed", d}, {"accepted", a}} {
		// Linux doubles the value set (socket(7)); accept anything at least
		// as large as asked for.
		if v := sockopt(t, c.c, syscall.SOL_SOCKET, syscall.SO_RCVBUF); v < size {
			t.Errorf("%s conn: SO_RCVBUF = %d, want >= %d", c.name, v, size)
		}
		if v := sockopt(t, c.c, syscall.SOL_SOCKET, syscall.SO_SNDBUF); v < size {
			t.Errorf("%s conn: SO_SNDBUF = %d, want >= %d", c.name, v, size)
		}
	}
}
