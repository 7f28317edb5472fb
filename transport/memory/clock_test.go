package memory_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/h2proto/h2/transport/memory"
)

func TestNewClock(t *testing.T) {
	if got := memory.NewClock(time.Time{}).Now(); !got.Equal(memory.Epoch) {
		t.Errorf("NewClock(zero).Now() = %v, want Epoch %v", got, memory.Epoch)
	}
	start := time.Date(2000, 1, 2, 3, 4, 5, 6, time.UTC)
	c := memory.NewClock(start)
	if got := c.Now(); !got.Equal(start) {
		t.Errorf("Now() = %v, want %v", got, start)
	}
	c.Advance(time.Second)
	if got := c.Now(); !got.Equal(start.Add(time.Second)) {
		t.Errorf("after Advance(1s) Now() = %v", got)
	}
	c.Advance(0)
	if got := c.Now(); !got.Equal(start.Add(time.Second)) {
		t.Errorf("after Advance(0) Now() = %v", got)
	}
}

func TestClockOrder(t *testing.T) {
	c := memory.NewClock(time.Time{})
	var got []string
	at := func(name string, d time.Duration) {
		c.AfterFunc(d, func() {
			if want := memory.Epoch.Add(d); !c.Now().Equal(want) {
				t.Errorf("%s: Now() = %v inside the callback, want its deadline %v", name, c.Now(), want)
			}
			got = append(got, name)
		})
	}
	at("c30", 30*time.Millisecond)
	at("a10", 10*time.Millisecond)
	at("b20-1", 20*time.Millisecond)
	at("d40", 40*time.Millisecond)
	at("b20-2", 20*time.Millisecond)
	at("a10-2", 10*time.Millisecond)
	at("zero", 0)

	c.Advance(25 * time.Millisecond)
	want := []string{"zero", "a10", "a10-2", "b20-1", "b20-2"}
	if !slices.Equal(got, want) {
		t.Fatalf("fired %q, want %q", got, want)
	}
	if now := c.Now(); !now.Equal(memory.Epoch.Add(25 * time.Millisecond)) {
		t.Errorf("Now() after Advance = %v, want Epoch+25ms", now)
	}
	c.Advance(15 * time.Millisecond)
	want = append(want, "c30", "d40")
	if !slices.Equal(got, want) {
		t.Fatalf("fired %q, want %q", got, want)
	}
	if _, ok := c.Next(); ok {
		t.Error("timers left after all fired")
	}
}

func TestClockTimerAtEndOfSpanFires(t *testing.T) {
	c := memory.NewClock(time.Time{})
	fired := false
	c.AfterFunc(time.Second, func() { fired = true })
	c.Advance(time.Second - 1)
	if fired {
		t.Fatal("fired 1ns early")
	}
	c.Advance(1)
	if !fired {
		t.Fatal("did not fire at its deadline")
	}
}

func TestClockStop(t *testing.T) {
	c := memory.NewClock(time.Time{})
	fired := 0
	stop1 := c.AfterFunc(time.Second, func() { fired++ })
	stop2 := c.AfterFunc(2*time.Second, func() { fired += 10 })

	if !stop1() {
		t.Error("stop before firing = false, want true")
	}
	if stop1() {
		t.Error("second stop = true, want false")
	}
	c.Advance(3 * time.Second)
	if fired != 10 {
		t.Errorf("fired = %d, want only the second timer (10)", fired)
	}
	if stop2() {
		t.Error("stop after firing = true, want false")
	}
}

func TestClockStopFromCallback(t *testing.T) {
	c := memory.NewClock(time.Time{})
	var stopB func() bool
	var got []string
	var stopA func() bool
	stopA = c.AfterFunc(time.Second, func() {
		got = append(got, "a")
		if stopA() {
			t.Error("a stopping itself while running = true, want false")
		}
		if !stopB() {
			t.Error("a stopping pending b = false, want true")
		}
	})
	stopB = c.AfterFunc(2*time.Second, func() { got = append(got, "b") })
	c.Advance(3 * time.Second)
	if !slices.Equal(got, []string{"a"}) {
		t.Errorf("fired %q, want [a]", got)
	}
}

func TestClockCallbackSchedulesWithinSpan(t *testing.T) {
	c := memory.NewClock(time.Time{})
	var got []time.Duration
	record := func() { got = append(got, c.Now().Sub(memory.Epoch)) }
	c.AfterFunc(10*time.Millisecond, func() {
		record()
		// Due at 15 ms: within this Advance.
		c.AfterFunc(5*time.Millisecond, func() {
			record()
			// Due at 15 ms too: now, still within.
			c.AfterFunc(0, record)
			// Due at 115 ms: beyond.
			c.AfterFunc(100*time.Millisecond, record)
		})
	})
	c.AfterFunc(20*time.Millisecond, record)

	c.Advance(50 * time.Millisecond)
	want := []time.Duration{10 * time.Millisecond, 15 * time.Millisecond, 15 * time.Millisecond, 20 * time.Millisecond}
	if !slices.Equal(got, want) {
		t.Fatalf("fired at %v, want %v", got, want)
	}
	next, ok := c.Next()
	if !ok || !next.Equal(memory.Epoch.Add(115*time.Millisecond)) {
		t.Fatalf("Next() = %v, %v; want Epoch+115ms", next, ok)
	}
	c.Advance(65 * time.Millisecond)
	if want := append(want, 115*time.Millisecond); !slices.Equal(got, want) {
		t.Fatalf("fired at %v, want %v", got, want)
	}
}

func TestClockNextAndAdvanceToNext(t *testing.T) {
	c := memory.NewClock(time.Time{})
	if _, ok := c.Next(); ok {
		t.Error("Next on an empty clock reports a timer")
	}
	if c.AdvanceToNext() {
		t.Error("AdvanceToNext on an empty clock = true")
	}
	if !c.Now().Equal(memory.Epoch) {
		t.Error("AdvanceToNext on an empty clock moved time")
	}

	var got []string
	c.AfterFunc(3*time.Second, func() { got = append(got, "3s") })
	c.AfterFunc(time.Second, func() { got = append(got, "1s-a") })
	c.AfterFunc(time.Second, func() { got = append(got, "1s-b") })
	stop := c.AfterFunc(500*time.Millisecond, func() { got = append(got, "stopped") })
	stop()

	next, ok := c.Next()
	if !ok || !next.Equal(memory.Epoch.Add(time.Second)) {
		t.Fatalf("Next() = %v, %v; want Epoch+1s (the stopped timer is gone)", next, ok)
	}
	if !c.AdvanceToNext() {
		t.Fatal("AdvanceToNext = false with timers pending")
	}
	if !slices.Equal(got, []string{"1s-a", "1s-b"}) {
		t.Errorf("AdvanceToNext fired %q, want both timers due at 1s", got)
	}
	if !c.Now().Equal(memory.Epoch.Add(time.Second)) {
		t.Errorf("Now() = %v, want Epoch+1s", c.Now())
	}
	if !c.AdvanceToNext() || !slices.Equal(got, []string{"1s-a", "1s-b", "3s"}) {
		t.Errorf("second AdvanceToNext fired %q", got)
	}
	if !c.Now().Equal(memory.Epoch.Add(3 * time.Second)) {
		t.Errorf("Now() = %v, want Epoch+3s", c.Now())
	}
	if c.AdvanceToNext() {
		t.Error("AdvanceToNext with nothing pending = true")
	}
}

func TestClockNegativeDuration(t *testing.T) {
	// A timer in the past fires on the next Advance without moving time
	// backwards.
	c := memory.NewClock(time.Time{})
	var at time.Time
	c.AfterFunc(-time.Second, func() { at = c.Now() })
	c.Advance(0)
	if at.IsZero() {
		t.Fatal("a timer in the past did not fire on Advance(0)")
	}
	if at.Before(memory.Epoch) || c.Now().Before(memory.Epoch) {
		t.Errorf("time went backwards: callback at %v, now %v", at, c.Now())
	}
}

func TestClockConcurrent(t *testing.T) {
	// AfterFunc, stop and Now from several goroutines while one advances:
	// for the race detector.
	c := memory.NewClock(time.Time{})
	var mu sync.Mutex
	fired := 0
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				stop := c.AfterFunc(time.Duration(g*100+i)*time.Microsecond, func() {
					mu.Lock()
					fired++
					mu.Unlock()
				})
				if i%2 == 0 {
					stop()
				}
				_ = c.Now()
			}
		}()
	}
	wg.Wait()
	c.Advance(time.Second)
	if fired != 200 {
		t.Errorf("fired %d timers, want 200", fired)
	}
}
