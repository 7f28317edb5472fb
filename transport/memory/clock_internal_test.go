package memory

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// The timer heap against a sorted-list model: random AfterFunc, stop and
// Advance calls, seeded, fire the same timers in the same order.
func TestClockHeapMatchesModel(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 0))
		c := NewClock(time.Time{})
		type entry struct {
			id   int
			at   time.Duration // since Epoch
			stop func() bool
			dead bool
		}
		var model []*entry
		var fired, want []int
		for step := range 300 {
			switch op := rng.IntN(10); {
			case op < 5:
				d := time.Duration(rng.IntN(50)-5) * time.Millisecond
				e := &entry{id: step, at: c.Now().Sub(Epoch) + d}
				e.stop = c.AfterFunc(d, func() { fired = append(fired, e.id) })
				model = append(model, e)
			case op < 7 && len(model) > 0:
				e := model[rng.IntN(len(model))]
				if got := e.stop(); got == e.dead {
					t.Fatalf("seed %d step %d: stop of timer %d = %v, want %v", seed, step, e.id, got, !e.dead)
				}
				e.dead = true
			default:
				d := time.Duration(rng.IntN(30)) * time.Millisecond
				end := c.Now().Sub(Epoch) + d
				var due []*entry
				for _, e := range model {
					if !e.dead && e.at <= end {
						due = append(due, e)
					}
				}
				// Deadline order, ties in creation (id) order.
				slices.SortStableFunc(due, func(a, b *entry) int { return int(a.at - b.at) })
				for _, e := range due {
					e.dead = true
					want = append(want, e.id)
				}
				c.Advance(d)
				if !slices.Equal(fired, want) {
					t.Fatalf("seed %d step %d: fired %v, want %v", seed, step, fired, want)
				}
				if got := c.Now().Sub(Epoch); got != end {
					t.Fatalf("seed %d step %d: Now = Epoch+%v, want Epoch+%v", seed, step, got, end)
				}
			}
		}
		pending := 0
		for _, e := range model {
			if !e.dead {
				pending++
			}
		}
		if len(c.timers) != pending {
			t.Fatalf("seed %d: %d timers in the heap, model has %d", seed, len(c.timers), pending)
		}
		for i, tm := range c.timers {
			if tm.index != i {
				t.Fatalf("seed %d: timer at %d has index %d", seed, i, tm.index)
			}
		}
	}
}

func TestClockAdvanceNegativeIsZero(t *testing.T) {
	c := NewClock(time.Time{})
	fired := false
	c.AfterFunc(0, func() { fired = true })
	c.Advance(-time.Hour)
	if !fired {
		t.Error("a due timer did not fire on Advance(-1h)")
	}
	if !c.Now().Equal(Epoch) {
		t.Errorf("Advance(-1h) moved Now to %v", c.Now())
	}
}

func TestClockAfterFuncNilPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("AfterFunc(d, nil) did not panic")
		}
	}()
	NewClock(time.Time{}).AfterFunc(time.Second, nil)
}

// A callback may Advance the clock itself (a nested Advance); time never
// goes backwards and every timer fires once.
func TestClockNestedAdvance(t *testing.T) {
	c := NewClock(time.Time{})
	var got []time.Duration
	rec := func() { got = append(got, c.Now().Sub(Epoch)) }
	c.AfterFunc(time.Second, func() {
		rec()
		c.Advance(2 * time.Second) // fires the 2 s timer, Now = 3 s
	})
	c.AfterFunc(2*time.Second, rec)
	c.AfterFunc(5*time.Second, rec)
	c.Advance(time.Second)
	if want := []time.Duration{time.Second, 2 * time.Second}; !slices.Equal(got, want) {
		t.Fatalf("fired at %v, want %v", got, want)
	}
	if now := c.Now().Sub(Epoch); now != 3*time.Second {
		t.Fatalf("Now = Epoch+%v after the nested Advance, want 3s", now)
	}
	c.Advance(2 * time.Second)
	if len(got) != 3 || got[2] != 5*time.Second {
		t.Fatalf("fired at %v, want the 5s timer last", got)
	}
}
