package fuzz

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// simFault is one kind of fault: its rate in the plan and how to inject it.
// apply reports whether it found a target.
type simFault struct {
	name  string
	rate  func(*simRates) float64
	apply func(*simWorld) bool
}

// simFaults lists the faults in the order a step draws them.
var simFaults = []simFault{
	{"stall", func(r *simRates) float64 { return r.stall }, (*simWorld).faultStall},
	{"break", func(r *simRates) float64 { return r.breakConn }, (*simWorld).faultBreak},
	{"settings", func(r *simRates) float64 { return r.settings }, (*simWorld).faultSettings},
	{"client_reset", func(r *simRates) float64 { return r.clientReset }, func(w *simWorld) bool { return w.faultReset(simClient) }},
	{"server_reset", func(r *simRates) float64 { return r.serverReset }, func(w *simWorld) bool { return w.faultReset(simServer) }},
	{"release", func(r *simRates) float64 { return r.release }, (*simWorld).faultRelease},
	{"goaway_server", func(r *simRates) float64 { return r.goAwayServer }, func(w *simWorld) bool { return w.faultGoAway(simServer) }},
	{"goaway_client", func(r *simRates) float64 { return r.goAwayClient }, func(w *simWorld) bool { return w.faultGoAway(simClient) }},
	{"close", func(r *simRates) float64 { return r.closeConn }, (*simWorld).faultClose},
	{"jump", func(r *simRates) float64 { return r.jump }, (*simWorld).faultJump},
	{"ping", func(r *simRates) float64 { return r.ping }, (*simWorld).faultPing},
}

// injectFaults draws every fault once with its rate (safety phase only).
func (w *simWorld) injectFaults() {
	for _, f := range simFaults {
		if rate := f.rate(&w.plan.rates); rate > 0 && w.rng.Float64() < rate && f.apply(w) {
			w.stats.faults[f.name]++
		}
	}
}

// randomEnd picks an end whose core is still running, or nil.
func (w *simWorld) randomEnd(side simSide) *simEnd {
	var ends []*simEnd
	for _, cn := range w.conns {
		if e := cn.ends[side]; !e.closed && !cn.broken {
			ends = append(ends, e)
		}
	}
	if len(ends) == 0 {
		return nil
	}
	return simPick(w.rng, ends...)
}

// randomStream picks a stream some side's app is running, or nil.
func (w *simWorld) randomStream(side simSide) (*simEnd, *simStream) {
	e := w.randomEnd(side)
	if e == nil {
		return nil, nil
	}
	var live []*simStream
	for _, st := range e.live {
		if !st.ends[side].done {
			live = append(live, st)
		}
	}
	if len(live) == 0 {
		return nil, nil
	}
	return e, simPick(w.rng, live...)
}

// faultStall stops the arrival of bytes at one end for a while.
func (w *simWorld) faultStall() bool {
	e := w.randomEnd(simSide(w.rng.IntN(2)))
	if e == nil || e.stalled {
		return false
	}
	d := time.Duration(1 + w.rng.Int64N(int64(w.plan.rates.stallMax)))
	e.pipe.Stall(true)
	e.stalled = true
	e.record(simEntry{op: "fault", what: "stall", n: int64(d)}, nil)
	w.clock.AfterFunc(d, func() {
		if e.stalled {
			e.pipe.Stall(false)
			e.stalled = false
			e.conn.lastDisturbed = w.now()
			e.record(simEntry{op: "fault", what: "unstall"}, nil)
		}
	})
	return true
}

// faultBreak breaks a connection's pipe, like a TCP reset.
func (w *simWorld) faultBreak() bool {
	e := w.randomEnd(simClient)
	if e == nil {
		return false
	}
	e.conn.broken = true
	e.pipe.Break(nil)
	e.record(simEntry{op: "fault", what: "break"}, nil)
	return true
}

// faultSettings advertises one to three changed settings.
func (w *simWorld) faultSettings() bool {
	e := w.randomEnd(simSide(w.rng.IntN(2)))
	if e == nil {
		return false
	}
	r := w.rng
	choices := []frame.Setting{
		{ID: frame.SettingInitialWindowSize, Val: simPick[uint32](r, 0, 1<<10, 16<<10, 65535, 1<<20, 1<<24)},
		{ID: frame.SettingMaxFrameSize, Val: simPick[uint32](r, 16<<10, 32<<10, 1<<20, 1<<24-1)},
		{ID: frame.SettingHeaderTableSize, Val: simPick[uint32](r, 0, 64, 4096, 64<<10)},
		{ID: frame.SettingMaxConcurrentStreams, Val: simPick[uint32](r, 0, 1, 3, 100, 1000)},
		{ID: frame.SettingMaxHeaderListSize, Val: simPick[uint32](r, 2<<10, 16<<10, 64<<10)},
	}
	r.Shuffle(len(choices), func(i, j int) { choices[i], choices[j] = choices[j], choices[i] })
	changes := choices[:1+r.IntN(3)]
	err := e.core.UpdateSettings(w.now(), changes)
	e.record(simEntry{op: "fault", what: "settings", n: int64(len(changes)), detail: simSettingsText(changes, err)}, nil)
	switch {
	case err == nil:
		e.churned = true
	case errors.Is(err, core.ErrTooManySettings), errors.Is(err, core.ErrClosed):
		return false
	default:
		e.fail("UpdateSettings(%v): %v", changes, err)
	}
	e.drain()
	return true
}

// faultReset resets a running stream from side's app. The terminal event
// must come at once, from within the call.
func (w *simWorld) faultReset(side simSide) bool {
	e, st := w.randomStream(side)
	if st == nil {
		return false
	}
	code := simPick(w.rng, frame.ErrCodeCancel, frame.ErrCodeInternal, frame.ErrCodeNo)
	me := &st.ends[side]
	me.appReset, me.appResetCode, me.resetting = true, code, true
	err := e.core.ResetStream(st.id, code)
	e.record(simEntry{op: "fault", what: "reset", stream: st.id, code: uint32(code), detail: simErrText(err)}, nil)
	e.drain()
	me.resetting = false
	if err != nil || !me.done {
		e.fail("ResetStream(%d) on a running stream: err=%v, terminal event=%v", st.id, err, me.done)
	}
	return true
}

// faultRelease makes the server app drop a running stream with
// ReleaseStream: no event may follow.
func (w *simWorld) faultRelease() bool {
	e, st := w.randomStream(simServer)
	if st == nil {
		return false
	}
	me := &st.ends[simServer]
	me.released, me.done, me.outcome = true, true, "released by the app"
	err := e.core.ReleaseStream(st.id)
	e.record(simEntry{op: "fault", what: "release", stream: st.id, detail: simErrText(err)}, nil)
	if err != nil {
		e.fail("ReleaseStream(%d) on a running stream: %v", st.id, err)
	}
	e.drain()
	return true
}

// faultGoAway starts a graceful shutdown from side.
func (w *simWorld) faultGoAway(side simSide) bool {
	e := w.randomEnd(side)
	if e == nil {
		return false
	}
	e.conn.goAwaySent[side] = true
	err := e.core.GoAway(w.now())
	e.record(simEntry{op: "fault", what: "goaway", detail: simErrText(err)}, nil)
	if err != nil && !errors.Is(err, core.ErrClosed) {
		e.fail("GoAway: %v", err)
	}
	e.drain()
	return true
}

// faultClose closes a connection at once from one side's app.
func (w *simWorld) faultClose() bool {
	e := w.randomEnd(simSide(w.rng.IntN(2)))
	if e == nil {
		return false
	}
	code := simPick(w.rng, frame.ErrCodeNo, frame.ErrCodeInternal)
	e.conn.appClosed[e.side] = true
	e.core.Close(w.now(), code, "sim close")
	e.record(simEntry{op: "fault", what: "close", code: uint32(code)}, nil)
	e.drain()
	return true
}

// faultJump moves the clock by seconds to minutes at once, which can fire
// idle, keep-alive and SETTINGS-ACK timeouts.
func (w *simWorld) faultJump() bool {
	d := time.Second + time.Duration(w.rng.Int64N(int64(w.plan.rates.jumpMax)))
	w.record(simEntry{conn: -1, op: "fault", what: "jump", n: int64(d)}, nil)
	w.clock.Advance(d)
	w.lastJump = w.now()
	return true
}

// faultPing sends a PING from one end; its ACK must match.
func (w *simWorld) faultPing() bool {
	e := w.randomEnd(simSide(w.rng.IntN(2)))
	if e == nil {
		return false
	}
	w.pingSeq++
	var data [8]byte
	binary.BigEndian.PutUint64(data[:], w.pingSeq)
	err := e.core.Ping(w.now(), data)
	e.record(simEntry{op: "fault", what: "ping", n: int64(w.pingSeq), detail: simErrText(err)}, nil)
	switch {
	case err == nil:
		e.pings = append(e.pings, data)
	case errors.Is(err, core.ErrTooManyPings), errors.Is(err, core.ErrClosed):
	default:
		e.fail("Ping: %v", err)
	}
	return true
}

// simSettingsText describes a settings change and its outcome.
func simSettingsText(changes []frame.Setting, err error) string {
	var sb strings.Builder
	for i, st := range changes {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%v=%d", st.ID, st.Val)
	}
	if err != nil {
		sb.WriteString(": " + err.Error())
	}
	return sb.String()
}
