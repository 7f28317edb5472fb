package main

import (
	"context"
	"strconv"
	"time"

	"github.com/h2proto/h2/bench/attack/scenario"
	"github.com/h2proto/h2/core/frame"
)

// config is one invocation's settings.
type config struct {
	addr      string // as given
	dialAddr  string // resolved, checked loopback IP:port
	h2c       bool
	insecure  bool
	n         int
	timeout   time.Duration // bounds the attack and the wait for a reaction
	settle    time.Duration // wait for a reaction after the last write
	probe     time.Duration // bounds each probe
	noPace    bool          // do not wait for a PING ACK after each round
	authority string
	path      string
	largePath string
}

// Result is one run's report; the JSON names are the interface of the
// comparison script built on this tool.
type Result struct {
	Kind              string `json:"kind"`
	Outcome           string `json:"outcome"`
	Code              string `json:"code"`
	Debug             string `json:"debug"`
	FramesSent        int    `json:"frames_sent"`
	BytesSent         int64  `json:"bytes_sent"`
	ElapsedMS         int64  `json:"elapsed_ms"`
	ConnStillServed   bool   `json:"conn_still_served"`
	ServerStillServes bool   `json:"server_still_serves"`
	Error             string `json:"error,omitempty"`
}

// probePing is the payload of the PING sent to check that the attacking
// connection is still served.
var probePing = [8]byte{'h', '2', 'p', 'r', 'o', 'b', 'e', '!'}

// syncPing is the payload of the PING that ends round i.
func syncPing(i int) [8]byte {
	return [8]byte{'s', 'y', 'n', 'c', byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
}

// run replays one scenario and reports the server's reaction.
func run(ctx context.Context, cfg *config, sc *scenario.Scenario) Result {
	res := Result{Kind: sc.Name}
	// The script is built before connecting: the clock starts at connect.
	script := sc.Script(scenario.Options{N: cfg.n, Authority: cfg.authority, Scheme: scheme(cfg),
		Path: cfg.path, LargePath: cfg.largePath})
	start := time.Now()
	deadline := start.Add(cfg.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	nc, err := dial(cfg, deadline, sc.NoRead)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer nc.Close()
	w := newWatcher(nc)
	if !sc.NoRead {
		w.start()
	}

	// Attack: round by round, stopping as soon as the server has ended the
	// connection (only visible while reading) or writes fail.
	_ = nc.SetWriteDeadline(deadline)
	lastWrite := start
	for i := range script.Rounds() {
		if ctx.Err() != nil || (!sc.NoRead && w.done()) {
			break
		}
		b, frames := script.Round(i)
		n, err := nc.Write(b)
		res.BytesSent += int64(n)
		if n == len(b) {
			res.FramesSent += frames
		} else {
			res.FramesSent += scenario.CountFrames(b[:n])
		}
		lastWrite = time.Now()
		if err != nil {
			break
		}
		// A reading client paces itself: it waits until the server has
		// answered a PING sent after the round, so the server has taken
		// the round in before the next one comes (and frames_sent says,
		// within a round, when the defence fired).
		if !sc.NoRead && !cfg.noPace && script.Interruptible(i) {
			sync := syncPing(i)
			if _, err := nc.Write(frame.AppendPing(nil, false, sync)); err != nil {
				break
			}
			w.waitUntil(deadline, func() bool { return w.pingAcks[sync] || w.goaway || w.closed })
			if sc.IsLegit {
				// and, respecting the server's concurrency limit, for
				// the answers to the streams it opened so far.
				want := script.Answers(i)
				w.waitUntil(deadline, func() bool { return len(w.status)+w.rsts >= want || w.goaway || w.closed })
			}
		}
	}
	_ = nc.SetWriteDeadline(time.Time{})

	// Reaction: a timer defence is awaited until the deadline (blind if the
	// scenario must not read); otherwise a short settle.
	until := minTime(deadline, lastWrite.Add(cfg.settle))
	if sc.Wait {
		until = deadline
	}
	ended := func() bool { return w.goaway || w.closed }
	if sc.NoRead {
		// Blind until then; afterwards read what the server left, as long
		// as bytes keep coming (bounded by the probe time).
		wait(ctx, until)
		w.start()
		w.waitQuiet(cfg.settle, time.Now().Add(cfg.probe), ended)
	} else {
		w.waitUntil(until, ended)
	}

	w.mu.Lock()
	switch {
	case w.goaway:
		res.Outcome, res.Code, res.Debug = string(scenario.OutcomeGoAway), w.code.String(), w.debug
	case w.closed:
		res.Outcome = string(scenario.OutcomeClosed)
	case w.rsts > 0:
		res.Outcome, res.Code = string(scenario.OutcomeRST), w.rstCode.String()
	default:
		res.Outcome = string(scenario.OutcomeOpen)
		if w.refusal != 0 {
			res.Code = "HTTP_" + strconv.Itoa(w.refusal)
		}
	}
	end := time.Now()
	if !w.reactAt.IsZero() {
		end = w.reactAt
	}
	over := w.goaway || w.closed
	w.mu.Unlock()
	res.ElapsedMS = end.Sub(start).Milliseconds()

	// Is the attacking connection still served? A PING must come back.
	if !over {
		_ = nc.SetWriteDeadline(time.Now().Add(cfg.probe))
		if _, err := nc.Write(frame.AppendPing(nil, false, probePing)); err == nil {
			res.ConnStillServed = w.waitUntil(time.Now().Add(cfg.probe), func() bool { return w.pingAcks[probePing] })
		}
	}
	_ = nc.Close()
	<-w.stoppedOrNotStarted()

	// Does the server still serve others? A GET on a fresh connection.
	res.ServerStillServes = serves(cfg, script)
	return res
}

// serves opens a fresh connection and reports whether a GET is answered
// with a 2xx or 3xx status within the probe time.
func serves(cfg *config, script *scenario.Script) bool {
	deadline := time.Now().Add(cfg.probe)
	nc, err := dial(cfg, deadline, false)
	if err != nil {
		return false
	}
	defer nc.Close()
	w := newWatcher(nc)
	w.start()
	_ = nc.SetWriteDeadline(deadline)
	if _, err := nc.Write(append(scenario.Handshake(), script.ProbeRequest(1)...)); err != nil {
		return false
	}
	ok := w.waitUntil(deadline, func() bool { s := w.status[1]; return s >= 200 && s < 400 || w.closed })
	w.mu.Lock()
	ok = ok && w.status[1] >= 200 && w.status[1] < 400
	w.mu.Unlock()
	_ = nc.Close()
	<-w.stopped
	return ok
}

// stoppedOrNotStarted returns a channel that is closed once the read loop
// has ended, or at once if it never started.
func (w *watcher) stoppedOrNotStarted() <-chan struct{} {
	w.mu.Lock()
	started := w.started
	w.mu.Unlock()
	if !started {
		c := make(chan struct{})
		close(c)
		return c
	}
	return w.stopped
}

func scheme(cfg *config) string {
	if cfg.h2c {
		return "http"
	}
	return "https"
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// wait blocks until t or until ctx is done.
func wait(ctx context.Context, t time.Time) {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}
