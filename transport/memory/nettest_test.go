package memory_test

import (
	"net"
	"testing"

	"golang.org/x/net/nettest"

	"github.com/h2proto/h2/transport/memory"
)

// TestNettestConformance runs x/net's net.Conn conformance suite (basic
// I/O, racy reads and writes, past, present and future deadlines, Close
// during blocked calls, concurrent methods) on pipes with real-time
// deadlines, unchunked, chunked and with a small buffer.
func TestNettestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  memory.Config
	}{
		{"plain", memory.Config{}},
		{"chunked", memory.Config{Seed: 1, MaxChunk: 7}},
		{"small buffer", memory.Config{Buffer: 16}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
				a, b := memory.Pipe(tc.cfg)
				return a, b, func() { _ = a.Close(); _ = b.Close() }, nil
			})
		})
	}
}
