package memory

import (
	"container/heap"
	"sync"
	"time"
)

// Epoch is where a Clock made by NewClock(time.Time{}) starts:
// 2026-01-01 00:00:00 UTC. A fixed start keeps runs reproducible.
var Epoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// Clock is a virtual clock. Time stands still until Advance (or
// AdvanceToNext) moves it; timers set with AfterFunc fire only then, in
// deadline order, ties broken by creation order, with Now reading each
// timer's deadline while its callback runs.
//
// A Clock is safe for concurrent use. Callbacks run on the goroutine that
// called Advance, one at a time, without the clock's lock held: they may
// call Now, AfterFunc and stop functions. For a reproducible order of
// events, advance from one goroutine at a time; concurrent Advance calls
// are safe but interleave their callbacks.
//
// Clock's Now and AfterFunc have the shape the runtime (package h2)
// accepts as its clock, so one Clock can drive the runtime, the
// connections' deadlines and the pipes' latency together.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers timerHeap
}

// timer is one AfterFunc call. index is its place in the heap, or -1 once
// it fired or was stopped.
type timer struct {
	at    time.Time
	seq   uint64
	f     func()
	index int
}

// NewClock returns a clock reading start, or Epoch if start is the zero
// time.
func NewClock(start time.Time) *Clock {
	if start.IsZero() {
		start = Epoch
	}
	return &Clock{now: start}
}

// Now returns the clock's current time. It never goes backwards.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc arranges for f to be called once the clock reaches Now()+d.
// A timer with d <= 0 is due at once and fires on the next Advance (even
// Advance(0)); nothing fires outside Advance. The returned stop function
// cancels the call; it reports whether it did so, that is false if f has
// already been called (or is running) or the timer was already stopped,
// like time.Timer.Stop. f must not be nil.
func (c *Clock) AfterFunc(d time.Duration, f func()) (stop func() bool) {
	if f == nil {
		panic("memory: Clock.AfterFunc with a nil func")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &timer{at: c.now.Add(d), seq: c.seq, f: f}
	heap.Push(&c.timers, t)
	return func() bool { return c.stop(t) }
}

// stop removes t if it is still pending.
func (c *Clock) stop(t *timer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&c.timers, t.index)
	return true
}

// Advance moves the clock forward by d (a negative d counts as zero),
// firing every timer due at or before the new time: in deadline order,
// ties in creation order, with Now set to the timer's deadline (or left
// where it is, for a timer set in the past) while its callback runs.
// Timers that callbacks set, and that fall due within the span, fire in
// the same call. When Advance returns, Now reads the old time plus d.
//
// A callback that keeps setting timers due at once keeps Advance busy; a
// simulation must not do that forever.
func (c *Clock) Advance(d time.Duration) {
	d = max(d, 0)
	c.mu.Lock()
	end := c.now.Add(d)
	for len(c.timers) > 0 && !c.timers[0].at.After(end) {
		t := heap.Pop(&c.timers).(*timer)
		if t.at.After(c.now) {
			c.now = t.at
		}
		c.mu.Unlock()
		t.f()
		c.mu.Lock()
	}
	if end.After(c.now) {
		c.now = end
	}
	c.mu.Unlock()
}

// Next returns the deadline of the earliest pending timer; ok is false
// when none is pending. The deadline may be before Now for a timer set
// with a negative duration.
func (c *Clock) Next() (deadline time.Time, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	return c.timers[0].at, true
}

// AdvanceToNext advances the clock to the earliest pending deadline and
// fires the timers due then (see Advance); it reports false, leaving the
// time alone, if no timer is pending.
func (c *Clock) AdvanceToNext() bool {
	c.mu.Lock()
	if len(c.timers) == 0 {
		c.mu.Unlock()
		return false
	}
	d := c.timers[0].at.Sub(c.now)
	c.mu.Unlock()
	c.Advance(d)
	return true
}

// timerHeap orders timers by deadline, then creation. It implements
// heap.Interface; the clock's lock guards it.
type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }

func (h timerHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}

func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}

func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.index = -1
	*h = old[:n-1]
	return t
}
