package memory

import (
	"sort"
	"sync"
	"time"
)

// Epoch is the start of a Clock created from the zero time.
var Epoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// Clock is a virtual clock: time stands still until Advance moves it,
// firing the timers that fall due on the way, in deadline order (ties in
// creation order). It is safe for concurrent use; callbacks run on the
// goroutine that calls Advance, without the clock's lock held, so they may
// use the clock.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers []*timer
}

type timer struct {
	at   time.Time
	seq  uint64
	f    func()
	dead bool
}

// NewClock returns a clock reading start (Epoch if start is zero).
func NewClock(start time.Time) *Clock {
	if start.IsZero() {
		start = Epoch
	}
	return &Clock{now: start}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc calls f once the clock has advanced by d. The returned stop
// function cancels the call and reports whether it did so (false if f
// already ran or was stopped).
func (c *Clock) AfterFunc(d time.Duration, f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &timer{at: c.now.Add(d), seq: c.seq, f: f}
	i := sort.Search(len(c.timers), func(i int) bool { return before(t, c.timers[i]) })
	c.timers = append(c.timers, nil)
	copy(c.timers[i+1:], c.timers[i:])
	c.timers[i] = t
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if t.dead {
			return false
		}
		t.dead = true
		for i, u := range c.timers {
			if u == t {
				c.timers = append(c.timers[:i], c.timers[i+1:]...)
				break
			}
		}
		return true
	}
}

func before(a, b *timer) bool {
	if !a.at.Equal(b.at) {
		return a.at.Before(b.at)
	}
	return a.seq < b.seq
}

// Advance moves the clock forward by d, firing every timer due by then —
// including timers that callbacks create within the span — with Now set to
// each timer's deadline as it fires.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for len(c.timers) > 0 && !c.timers[0].at.After(end) {
		t := c.timers[0]
		c.timers = c.timers[1:]
		t.dead = true
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

// Next returns the deadline of the earliest pending timer.
func (c *Clock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	return c.timers[0].at, true
}

// AdvanceToNext advances to the earliest pending timer and fires it (and
// any due at the same instant); it reports false if none is pending.
func (c *Clock) AdvanceToNext() bool {
	at, ok := c.Next()
	if !ok {
		return false
	}
	c.Advance(at.Sub(c.Now()))
	return true
}
