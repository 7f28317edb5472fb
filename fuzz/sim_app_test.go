package fuzz

import (
	"errors"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// act runs an end's application for one turn: liveness settings repair,
// due Consume calls, then the client's or the server's logic. Event
// handlers only record what happened; every command is issued here, after
// the events are drained, so the app never acts on a stream whose end is
// still queued.
func (e *simEnd) act() bool {
	moved := e.restoreSettings()
	moved = e.runConsumes() || moved
	if e.side == simClient {
		moved = e.clientAct() || moved
	} else {
		moved = e.serverAct() || moved
	}
	e.compactLive()
	return moved
}

// compactLive drops the streams whose end the app has seen.
func (e *simEnd) compactLive() {
	kept := e.live[:0]
	for _, st := range e.live {
		if !st.ends[e.side].done {
			kept = append(kept, st)
		}
	}
	clear(e.live[len(kept):])
	e.live = kept
}

// appData passes received content to the side's app.
func (e *simEnd) appData(st *simStream, data []byte) {
	if e.side == simClient {
		e.clientData(st, len(data))
	} else {
		e.serverData(st, data)
	}
}

// appTerminal tells the side's app a stream ended; ev is the reset, or
// nil after a normal close.
func (e *simEnd) appTerminal(st *simStream, ev *core.Event) {
	if e.side == simClient {
		e.clientTerminal(st, ev)
	} else {
		e.serverTerminal(st, ev)
	}
}

// scheduleConsume arranges a Consume(id, n) after delay.
func (e *simEnd) scheduleConsume(id uint32, n int, delay time.Duration) {
	e.consumes.push(e.w.now().Add(delay), simConsume{id: id, n: n})
	if delay > 0 {
		e.w.wakeAt(delay)
	}
}

// runConsumes makes the Consume calls that are due. A stream that ended
// or was released meanwhile makes Consume a no-op; a closing connection
// makes it ErrClosed.
func (e *simEnd) runConsumes() bool {
	moved := false
	for {
		c, ok := e.consumes.pop(e.w.now())
		if !ok {
			return moved
		}
		err := e.core.Consume(c.id, c.n)
		e.record(simEntry{op: "cmd", what: "consume", stream: c.id, n: int64(c.n)}, nil)
		if err != nil && !(errors.Is(err, core.ErrClosed) && e.core.Phase() >= core.PhaseClosing) {
			e.fail("Consume(%d, %d): %v", c.id, c.n, err)
		}
		moved = true
	}
}

// simDue is a queue of things an app will do at given times, earliest
// first, ties in the order they were pushed.
type simDue[T any] struct {
	items []simDueItem[T]
	seq   uint64
}

type simDueItem[T any] struct {
	at  time.Time
	seq uint64
	v   T
}

func (q *simDue[T]) less(i, j int) bool {
	a, b := &q.items[i], &q.items[j]
	if !a.at.Equal(b.at) {
		return a.at.Before(b.at)
	}
	return a.seq < b.seq
}

// push adds v, due at at.
func (q *simDue[T]) push(at time.Time, v T) {
	q.seq++
	q.items = append(q.items, simDueItem[T]{at: at, seq: q.seq, v: v})
	for i := len(q.items) - 1; i > 0; {
		parent := (i - 1) / 2
		if !q.less(i, parent) {
			break
		}
		q.items[i], q.items[parent] = q.items[parent], q.items[i]
		i = parent
	}
}

// pop removes and returns the earliest item if it is due at now.
func (q *simDue[T]) pop(now time.Time) (T, bool) {
	var zero T
	if len(q.items) == 0 || q.items[0].at.After(now) {
		return zero, false
	}
	v := q.items[0].v
	last := len(q.items) - 1
	q.items[0] = q.items[last]
	q.items[last] = simDueItem[T]{}
	q.items = q.items[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && q.less(l, m) {
			m = l
		}
		if r < last && q.less(r, m) {
			m = r
		}
		if m == i {
			return v, true
		}
		q.items[i], q.items[m] = q.items[m], q.items[i]
		i = m
	}
}

// restoreSettings advertises the configured settings again at the start
// of the liveness phase, undoing settings churn (a zero window or
// concurrency limit would legitimately stop streams forever). It retries
// while too many SETTINGS await their ACK.
func (e *simEnd) restoreSettings() bool {
	if !e.restore {
		return false
	}
	c := e.cfg
	err := e.core.UpdateSettings(e.w.now(), []frame.Setting{
		{ID: frame.SettingInitialWindowSize, Val: c.InitialWindowSize},
		{ID: frame.SettingMaxFrameSize, Val: c.MaxFrameSize},
		{ID: frame.SettingHeaderTableSize, Val: c.HeaderTableSize},
		{ID: frame.SettingMaxConcurrentStreams, Val: c.MaxConcurrentStreams},
		{ID: frame.SettingMaxHeaderListSize, Val: c.MaxHeaderListSize},
	})
	switch err {
	case nil, core.ErrClosed:
		e.record(simEntry{op: "cmd", what: "restore_settings", detail: simErrText(err)}, nil)
		e.restore = false
		return true
	case core.ErrTooManySettings:
		return false // again on the next turn
	}
	e.fail("UpdateSettings(restore): %v", err)
	return false
}

// simErrText is err's text, or "" for nil.
func simErrText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
