package h2gnet

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/h2proto/h2/core"
)

// rawClient is a client core driven by hand over a plain TCP connection,
// so that a test decides when the socket is read.
type rawClient struct {
	t   testing.TB
	nc  net.Conn
	c   *core.Conn
	buf []byte
	out []byte
	ev  core.Event // the event handed to until's f (a field: no allocation)
}

func newRawClient(t testing.TB, addr string, cfg core.Config) *rawClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	c, err := core.NewClient(time.Now(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &rawClient{t: t, nc: nc, c: c, buf: make([]byte, 256<<10)}
	r.flush()
	return r
}

func (r *rawClient) flush() {
	r.t.Helper()
	for {
		r.out = r.c.PollTransmit(r.out[:0])
		if len(r.out) == 0 {
			return
		}
		_ = r.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := r.nc.Write(r.out); err != nil {
			r.t.Fatalf("raw client write: %v", err)
		}
	}
}

// until reads and feeds the core, handing every event to f, until f
// returns true; it fails the test after 20 s or if the connection ends.
func (r *rawClient) until(f func(e *core.Event) bool) {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for ok := r.poll(); ok; ok = r.poll() {
			if f(&r.ev) {
				r.flush()
				return
			}
		}
		r.flush()
		_ = r.nc.SetReadDeadline(deadline)
		n, err := r.nc.Read(r.buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				r.t.Fatal("raw client: condition not met after 20 s")
			}
			r.t.Fatalf("raw client read: %v", err)
		}
		p := r.buf[:n]
		for len(p) > 0 {
			m, err := r.c.Receive(time.Now(), p)
			if err != nil {
				r.t.Fatalf("raw client: %v", err)
			}
			p = p[m:]
			if len(p) > 0 {
				for ok := r.poll(); ok; ok = r.poll() {
					if f(&r.ev) {
						r.t.Fatal("raw client: condition met with input left over")
					}
				}
				r.flush()
			}
		}
	}
}

func (r *rawClient) poll() bool {
	var ok bool
	r.ev, ok = r.c.PollEvent()
	return ok
}

// readToEOF reads the connection until the server closes it and returns
// what it read; it fails after 10 s.
func readToEOF(t testing.TB, nc net.Conn) []byte {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(nc)
	if err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		t.Fatalf("reading until the server closes: %v", err)
	}
	return b
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}
