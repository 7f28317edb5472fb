package h2gnet

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// testLoop is a loop without gnet, for the deadline heap.
func testLoop() *loop {
	l := &loop{}
	l.timer = time.AfterFunc(time.Hour, func() {})
	l.timer.Stop()
	return l
}

// checkHeap verifies the heap property and the connections' positions.
func checkHeap(t *testing.T, l *loop) {
	t.Helper()
	for i, c := range l.deadlines {
		if c.hpos != i+1 {
			t.Fatalf("entry %d records position %d", i, c.hpos)
		}
		if i > 0 && c.heapAt.Before(l.deadlines[(i-1)/2].heapAt) {
			t.Fatalf("entry %d is earlier than its parent", i)
		}
	}
}

// TestDeadlineHeap: connections come due in deadline order, only the due
// ones are taken, a deadline moved earlier takes effect, one moved later
// keeps the earlier entry (a lower bound), and a closed connection leaves.
func TestDeadlineHeap(t *testing.T) {
	l := testLoop()
	base := time.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	conns := make([]*conn, 5000)
	for i := range conns {
		conns[i] = &conn{}
		l.schedule(conns[i], base.Add(time.Duration(1+rng.IntN(1000000))*time.Microsecond))
	}
	checkHeap(t, l)
	// Earlier: moves; later: ignored.
	l.schedule(conns[7], base.Add(-time.Second))
	l.schedule(conns[8], base.Add(time.Hour))
	if l.deadlines[0] != conns[7] || l.timerAt != base.Add(-time.Second) {
		t.Fatal("a deadline moved earlier is not at the top, or the timer not re-armed")
	}
	// Closed: leaves.
	for _, c := range conns[100:200] {
		l.unschedule(c)
		if c.hpos != 0 {
			t.Fatal("unscheduled connection still has a position")
		}
	}
	checkHeap(t, l)
	if len(l.deadlines) != len(conns)-100 {
		t.Fatalf("%d entries, want %d", len(l.deadlines), len(conns)-100)
	}
	// Due in order, and only the due ones.
	var prev time.Time
	taken := 0
	for step := 1; step <= 10; step++ {
		now := base.Add(time.Duration(step) * 100 * time.Millisecond)
		due := l.popDue(now, nil)
		for _, c := range due {
			if c.heapAt.After(now) || c.heapAt.Before(prev) {
				t.Fatalf("taken out of order or early: %v (now %v, previous %v)", c.heapAt, now, prev)
			}
			prev = c.heapAt
		}
		if len(l.deadlines) > 0 && !l.deadlines[0].heapAt.After(now) {
			t.Fatal("a due connection was left in the heap")
		}
		taken += len(due)
		checkHeap(t, l)
	}
	if taken != len(conns)-100 {
		t.Fatalf("%d connections came due, want %d", taken, len(conns)-100)
	}
}

// BenchmarkTimerFiring: one connection's deadline passes on a loop holding
// n connections with deadlines (the firing takes it off the heap and puts
// it back later): the cost grows with log n, where the scan it replaces
// visited all n.
func BenchmarkTimerFiring(b *testing.B) {
	for _, n := range []int{100, 10_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			l := testLoop()
			base := time.Now()
			rng := rand.New(rand.NewPCG(1, 2))
			conns := make([]*conn, n)
			for i := range conns {
				conns[i] = &conn{}
				l.schedule(conns[i], base.Add(time.Hour+time.Duration(rng.IntN(1e9))))
			}
			c := &conn{}
			var due []*conn
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				l.schedule(c, base)
				due = l.popDue(base, due[:0])
				if len(due) != 1 {
					b.Fatalf("%d due", len(due))
				}
			}
		})
	}
}
