package memory

import (
	"sync"
	"time"
)

// deadline is a read or write deadline of a Conn. When it passes, a timer
// (on the Conn's Clock, or real time) wakes the waiters of its half so
// they see it. Setting it again stops the previous timer, so a runtime
// that moves its deadline on every write leaves at most one timer
// pending.
type deadline struct {
	clock *Clock // nil: real time
	h     *half  // whose waiters to wake

	mu   sync.Mutex
	at   time.Time // zero: none
	stop func() bool
}

// now reads the deadline's clock.
func (d *deadline) now() time.Time {
	if d.clock != nil {
		return d.clock.Now()
	}
	return time.Now()
}

// after calls f after dur on the deadline's clock.
func (d *deadline) after(dur time.Duration, f func()) func() bool {
	if d.clock != nil {
		return d.clock.AfterFunc(dur, f)
	}
	return time.AfterFunc(dur, f).Stop
}

// set moves the deadline to t (zero: none) and wakes the waiters so that
// they look again.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	d.disarm()
	d.at = t
	if !t.IsZero() {
		d.arm(t)
	}
	d.mu.Unlock()
	d.h.poke()
}

// arm starts the timer for t, if t is still ahead. d.mu is held.
func (d *deadline) arm(t time.Time) {
	if wait := t.Sub(d.now()); wait > 0 {
		d.stop = d.after(wait, func() { d.fire(t) })
	}
}

// disarm stops the pending timer. d.mu is held.
func (d *deadline) disarm() {
	if d.stop != nil {
		d.stop()
		d.stop = nil
	}
}

// fire runs when the timer for t goes off. A timer that was superseded
// does nothing; one that went off before t by the clock's reading (the
// wall clock stepped back) waits again.
func (d *deadline) fire(t time.Time) {
	d.mu.Lock()
	if !d.at.Equal(t) {
		d.mu.Unlock()
		return
	}
	d.stop = nil
	d.arm(t)
	early := d.stop != nil
	d.mu.Unlock()
	if !early {
		d.h.poke()
	}
}

// passed reports whether the deadline is set and has passed.
func (d *deadline) passed() bool {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.at.IsZero() && !now.Before(d.at)
}
