package nethttp_test

import (
	"context"
	"testing"
	"time"
)

// Helpers shared by the server and the client tests.

// testTimeout bounds every wait of these tests: generous, since it only
// detects a hang.
const testTimeout = 10 * time.Second

// testCtx returns a context ending after testTimeout or with the test: no
// network test may hang.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// testWait receives from ch, failing the test after testTimeout.
func testWait[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(testTimeout)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// testPattern returns n deterministic bytes.
func testPattern(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}
