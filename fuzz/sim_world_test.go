package fuzz

import (
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/transport/memory"
)

// simSide names an end of a connection.
type simSide uint8

// The two ends of a connection.
const (
	simClient simSide = iota
	simServer
)

func (s simSide) String() string {
	if s == simClient {
		return "client"
	}
	return "server"
}

// simPhase is the part of a run: faults on, then faults off.
type simPhase uint8

const (
	simSafety simPhase = iota
	simLiveness
)

// Bounds of the liveness phase: every stream still running when it starts
// must finish within both.
const (
	simLivenessIters = 200_000
	simLivenessTime  = 30 * time.Minute
)

// simMaxFailures bounds the failures a run keeps for its report; the run
// stops at the end of the step that failed.
const simMaxFailures = 8

// simWorld is one simulation: clients and a server, each connection a
// memory.Pipe between two core Conns, all on one virtual clock and driven by
// one goroutine in a fixed order, so that a seed replays exactly. Every
// random choice comes from rng.
type simWorld struct {
	seed  uint64
	steps int
	rng   *rand.Rand
	plan  simPlan
	clock *memory.Clock
	trace *simTrace
	pat   *simPattern

	conns   []*simConn      // every connection, in dial order
	clients []*simClientApp // in index order
	streams []*simStream    // every stream opened, in order

	phase    simPhase
	step     int
	lastJump time.Time // when the latest timer jump ended
	pingSeq  uint64

	failures []string
	stats    simStats

	// extraCheck, when set, runs after every step like the built-in
	// checks; tests use it to inject a failing check.
	extraCheck func(*simWorld) error
}

// simStats counts what a run did, for the log.
type simStats struct {
	streams, closed, reset, retried, conns int
	bytes                                  int64 // content received, both sides
	livenessIters                          int   // loop iterations the liveness phase took
	livenessTime                           time.Duration
	faults                                 map[string]int
	excuses                                map[string]int // causes named for resets and closes
}

// newSimWorld prepares the world of one seed; run starts it.
func newSimWorld(seed uint64, steps int, keepText bool) *simWorld {
	rng := rand.New(rand.NewPCG(seed, seed^0x51a1_5eed_d1ce_0001))
	w := &simWorld{
		seed:  seed,
		steps: steps,
		rng:   rng,
		clock: memory.NewClock(time.Time{}),
		trace: newSimTrace(keepText),
		pat:   newSimPattern(),
	}
	w.stats.faults = make(map[string]int)
	w.stats.excuses = make(map[string]int)
	w.plan = newSimPlan(rng)
	w.record(simEntry{conn: -1, op: "plan", detail: w.plan.String()}, nil)
	for i := range w.plan.clients {
		w.clients = append(w.clients, &simClientApp{w: w, idx: i})
	}
	return w
}

// now is the virtual time every input and command uses.
func (w *simWorld) now() time.Time { return w.clock.Now() }

// run plays the safety phase for w.steps steps, then the liveness phase. A
// panic anywhere (a core's, most likely) becomes a failure.
func (w *simWorld) run() {
	defer func() {
		if r := recover(); r != nil {
			w.fail(-1, simClient, "panic: %v\n%s", r, debug.Stack())
		}
	}()
	for w.step = 0; w.step < w.steps; w.step++ {
		w.injectFaults()
		w.spawnWork()
		if w.pumpAll() {
			w.advance(w.plan.tick)
		} else {
			w.idle(w.plan.idleStep)
		}
		if w.failed() {
			return
		}
	}
	w.runLiveness()
}

// runLiveness turns the faults off and runs until every stream has
// finished, failing with the state of those that did not.
func (w *simWorld) runLiveness() {
	w.phase = simLiveness
	w.heal()
	start := w.now()
	for i := 0; i < simLivenessIters && !w.failed(); i++ {
		w.stats.livenessIters, w.stats.livenessTime = i, w.now().Sub(start)
		if w.allFinished() {
			return
		}
		if !w.pumpAll() && !w.idle(0) {
			break // nothing can happen any more
		}
		if w.now().Sub(start) > simLivenessTime {
			break
		}
	}
	if !w.failed() && !w.allFinished() {
		w.reportUnfinished()
	}
}

// pumpAll gives every client and every connection end one turn, in a fixed
// order, then runs the checks. It reports whether anything moved.
func (w *simWorld) pumpAll() bool {
	moved := false
	for _, c := range w.clients {
		moved = c.maintain() || moved
	}
	for _, cn := range w.conns {
		if cn.finished {
			continue
		}
		for _, e := range cn.ends {
			moved = e.pump() || moved
			if w.failed() {
				return moved
			}
		}
		cn.maybeFinish()
	}
	w.checkWorld()
	return moved
}

// advance moves the clock by d, firing the pipes' and the apps' timers;
// cores see the new time on their next turn.
func (w *simWorld) advance(d time.Duration) {
	if d <= 0 {
		return
	}
	w.clock.Advance(d)
}

// idle advances the clock when nothing moved: to the earliest deadline of a
// core or a clock timer, or by at most maxStep when that is not zero. It
// reports false if maxStep is zero and nothing is scheduled at all.
func (w *simWorld) idle(maxStep time.Duration) bool {
	next, ok := w.nextDeadline()
	now := w.now()
	switch {
	case !ok && maxStep == 0:
		return false
	case !ok || (maxStep > 0 && next.Sub(now) > maxStep):
		next = now.Add(maxStep)
	}
	w.record(simEntry{conn: -1, op: "clock", what: "idle", n: int64(next.Sub(now))}, nil)
	w.clock.Advance(max(0, next.Sub(now)))
	return true
}

// nextDeadline is the earliest timer of any live core or of the clock.
func (w *simWorld) nextDeadline() (time.Time, bool) {
	next, ok := w.clock.Next()
	for _, cn := range w.conns {
		for _, e := range cn.ends {
			if e.closed {
				continue
			}
			if d, has := e.core.PollTimeout(); has && (!ok || d.Before(next)) {
				next, ok = d, true
			}
		}
	}
	return next, ok
}

// wakeAt makes sure the loop's idle advance stops at now+d, where an app
// has something to do.
func (w *simWorld) wakeAt(d time.Duration) {
	w.clock.AfterFunc(d, func() {})
}

// dial connects client c to the server: a new pipe shaped by the plan, a
// client core and a server core.
func (w *simWorld) dial(c *simClientApp) *simConn {
	p := &w.plan
	cfg := memory.Config{
		Seed:     w.rng.Uint64(),
		MaxChunk: simPick(w.rng, p.chunks...),
		Latency:  simPick(w.rng, p.latencies...),
		Buffer:   simPick(w.rng, p.buffers...),
		Clock:    w.clock,
	}
	cn := &simConn{w: w, idx: len(w.conns), client: c, streams: make(map[uint32]*simStream)}
	if cfg.Latency > 0 {
		buf := cfg.Buffer
		if buf <= 0 {
			buf = memory.DefaultBuffer
		}
		cn.bandwidth = float64(buf) / cfg.Latency.Seconds() // a window's worth per trip
	}
	a, b := memory.Pipe(cfg)
	cn.ends[simClient] = w.newEnd(cn, simClient, a)
	cn.ends[simServer] = w.newEnd(cn, simServer, b)
	w.conns = append(w.conns, cn)
	w.stats.conns++
	w.record(simEntry{conn: cn.idx, op: "dial", n: int64(cfg.MaxChunk), code: uint32(cfg.Buffer),
		detail: fmt.Sprintf("client %d latency %v", c.idx, cfg.Latency)}, nil)
	return cn
}

// newEnd makes one end of cn with a core configured by the plan.
func (w *simWorld) newEnd(cn *simConn, side simSide, pipe *memory.Conn) *simEnd {
	cfg := w.plan.coreConfig(w.rng, side)
	var c *core.Conn
	var err error
	if side == simClient {
		c, err = core.NewClient(w.now(), cfg)
	} else {
		c, err = core.NewServer(w.now(), cfg)
	}
	if err != nil {
		panic(fmt.Sprintf("sim: bad core config: %v", err))
	}
	e := &simEnd{w: w, conn: cn, side: side, core: c, cfg: cfg, pipe: pipe}
	e.record(simEntry{op: "config", detail: simConfigText(&cfg)}, nil)
	if side == simServer {
		e.consumeDelay = simPick(w.rng, 0, w.plan.consumeDelay)
		e.releaseDelay = simPick(w.rng, 0, time.Millisecond, 50*time.Millisecond)
	}
	return e
}

// heal ends the faults for the liveness phase: no more stalls, and every
// end advertises its configured settings again.
func (w *simWorld) heal() {
	for _, cn := range w.conns {
		for _, e := range cn.ends {
			e.pipe.Stall(false)
			if e.stalled {
				e.stalled = false
				cn.lastDisturbed = w.now()
			}
			e.restore = e.churned
		}
	}
	w.record(simEntry{conn: -1, op: "phase", what: "liveness"}, nil)
}

// allFinished reports whether every stream has ended on both sides.
func (w *simWorld) allFinished() bool {
	for _, st := range w.streams {
		if !st.finished() {
			return false
		}
	}
	return true
}

// record adds an entry to the trace, stamping it with the time.
func (w *simWorld) record(e simEntry, data []byte) {
	e.at = w.now().Sub(memory.Epoch)
	w.trace.add(e, data)
}

// fail records a failure, naming the connection (or -1) and side.
func (w *simWorld) fail(conn int, side simSide, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	where := "world"
	if conn >= 0 {
		where = fmt.Sprintf("c%d %s", conn, side)
	}
	full := fmt.Sprintf("step %d, t=%v, %s: %s", w.step, w.now().Sub(memory.Epoch), where, msg)
	w.record(simEntry{conn: conn, side: side, op: "FAIL", detail: msg}, nil)
	if len(w.failures) < simMaxFailures {
		w.failures = append(w.failures, full)
	}
}

func (w *simWorld) failed() bool { return len(w.failures) > 0 }
