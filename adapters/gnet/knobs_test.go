package h2gnet

import (
	"testing"

	"github.com/h2proto/h2/core"
)

// TestDefaultReadBuffer: MaxReadBuffer's default follows the configured
// windows, so that a peer with a connection window of body in flight is
// not closed for it, with 4 MiB as the floor.
func TestDefaultReadBuffer(t *testing.T) {
	for _, tc := range []struct {
		cfg  core.Config
		want int
	}{
		{core.Config{}, DefaultMaxReadBuffer},
		{core.Config{ConnectionWindowSize: 8 << 20}, 2*(8<<20) + 512<<10},
		{core.Config{ConnectionWindowSize: 4 << 20, Limits: core.Limits{OutputHighWater: 1 << 20}}, 2*(4<<20) + 1<<20},
	} {
		if got := defaultReadBuffer(tc.cfg); got != tc.want {
			t.Errorf("window %d, high water %d: %d, want %d", tc.cfg.ConnectionWindowSize, tc.cfg.Limits.OutputHighWater, got, tc.want)
		}
	}
	srv := &Server{MaxReadBuffer: 123}
	if srv.maxReadBuffer() != 123 {
		t.Error("an explicit MaxReadBuffer is not used")
	}
}
