package fuzz

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// trafficDir holds bytes recorded from real peers, one file per
// connection: traffic/server/*.bin are the bytes a server received (they
// start with the client preface), traffic/client/*.bin the bytes a client
// received from a server. scripts/record-traffic.sh rewrites them.
const trafficDir = "testdata/traffic"

// traffic returns the recorded connections of one side ("server" or
// "client"), in file-name order so that seeding is deterministic.
func traffic(tb testing.TB, side string) [][]byte {
	tb.Helper()
	names, err := filepath.Glob(filepath.Join(trafficDir, side, "*.bin"))
	if err != nil {
		tb.Fatal(err)
	}
	slices.Sort(names)
	out := make([][]byte, 0, len(names))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}
