package fuzz

import (
	"flag"
	"fmt"
	"hash/fnv"
	"maps"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/h2proto/h2/transport/memory"
)

// simDefaultSteps keeps the default set (50 seeds and the commit's) well
// under 40 s with -race on two cores: about 22 s measured, 2 s without
// -race. The heaviest seeds take about a second without -race.
const simDefaultSteps = 8000

// Flags of TestSim. A failure prints the command that replays it:
// go test ./fuzz -run TestSim -sim.seed=N -sim.steps=M.
var (
	simSeedFlag    = flag.Uint64("sim.seed", 0, "run TestSim with this seed only (0: the fixed set and the commit's seed)")
	simStepsFlag   = flag.Int("sim.steps", simDefaultSteps, "safety-phase steps of each TestSim run")
	simSeedsFlag   = flag.Int("sim.seeds", 50, "size of TestSim's fixed seed set (seeds 1..N)")
	simCommitFlag  = flag.String("sim.commit", "", "commit hash from which TestSim derives one more seed (default: git rev-parse HEAD)")
	simVerboseFlag = flag.Bool("sim.v", false, "print TestSim's full trace")
)

// TestSim runs the seeded simulation: many clients and one server over
// transport/memory on a virtual clock, a safety phase with the seed's
// faults, then a liveness phase without them. See docs/testing.md.
func TestSim(t *testing.T) {
	steps := *simStepsFlag
	if *simSeedFlag != 0 {
		simRunSeed(t, *simSeedFlag, steps)
		return
	}
	for seed := uint64(1); seed <= uint64(*simSeedsFlag); seed++ {
		simRunSeed(t, seed, steps)
	}
	t.Run("commit", func(t *testing.T) {
		commit, err := simCommit()
		if err != nil {
			t.Skipf("no commit to derive a seed from: %v", err)
		}
		seed := simCommitSeed(commit)
		t.Logf("commit %s gives seed %d", commit, seed)
		simRunSeed(t, seed, steps)
	})
}

// simRunSeed runs one seed as a subtest named by the seed.
func simRunSeed(t *testing.T, seed uint64, steps int) {
	t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
		w := newSimWorld(seed, steps, *simVerboseFlag)
		w.run()
		if *simVerboseFlag {
			t.Logf("trace:\n%s", w.trace.text())
		}
		t.Log(w.summary())
		if w.failed() {
			t.Fatal(w.report())
		}
	})
}

// simCommit returns -sim.commit, or the repository's HEAD.
func simCommit() (string, error) {
	if *simCommitFlag != "" {
		return *simCommitFlag, nil
	}
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// simCommitSeed derives a non-zero seed from a commit hash.
func simCommitSeed(commit string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(commit))
	return max(h.Sum64(), 1)
}

// simReproduce is the command that replays a seed.
func simReproduce(seed uint64, steps int) string {
	return fmt.Sprintf("go test ./fuzz -run TestSim -sim.seed=%d -sim.steps=%d", seed, steps)
}

// report describes a failed run: the failures, the command that replays
// it, and the end of the trace.
func (w *simWorld) report() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "sim seed %d failed:\n", w.seed)
	for _, f := range w.failures {
		sb.WriteString("  " + f + "\n")
	}
	fmt.Fprintf(&sb, "reproduce with:\n  %s\n", simReproduce(w.seed, w.steps))
	fmt.Fprintf(&sb, "last %d trace lines:\n%s", simTailLines, w.trace.tail(simTailLines))
	return sb.String()
}

// summary describes what a run did, for the log.
func (w *simWorld) summary() string {
	s := w.stats
	var faults []string
	for _, f := range simFaults {
		if n := s.faults[f.name]; n > 0 {
			faults = append(faults, fmt.Sprintf("%s=%d", f.name, n))
		}
	}
	excuses := slices.Sorted(maps.Keys(s.excuses))
	for i, k := range excuses {
		excuses[i] = fmt.Sprintf("%s=%d", k, s.excuses[k])
	}
	return fmt.Sprintf("seed %d: %d clients, %d conns, %d streams (%d closed, %d reset ends, %d retried), %d content bytes, faults [%s], ends [%s], liveness %d iterations %v, virtual time %v, trace %d entries %s",
		w.seed, len(w.clients), s.conns, s.streams, s.closed, s.reset, s.retried, s.bytes, strings.Join(faults, " "), strings.Join(excuses, ", "),
		s.livenessIters, s.livenessTime, w.now().Sub(memory.Epoch), w.trace.count, w.trace.sum()[:16])
}

// TestSimDeterministic checks that a seed replays exactly — the same trace,
// byte for byte — and that different seeds differ.
func TestSimDeterministic(t *testing.T) {
	const steps = 300
	run := func(seed uint64, text bool) *simWorld {
		w := newSimWorld(seed, steps, text)
		w.run()
		if w.failed() {
			t.Fatal(w.report())
		}
		return w
	}
	a, b := run(7, true), run(7, true)
	if a.trace.sum() != b.trace.sum() || a.trace.text() != b.trace.text() {
		t.Fatalf("seed 7 ran twice gave different traces: %s vs %s", a.trace.sum(), b.trace.sum())
	}
	if a.trace.count < 100 {
		t.Fatalf("seed 7 traced only %d entries", a.trace.count)
	}
	sums := map[string]uint64{a.trace.sum(): 7}
	for _, seed := range []uint64{8, 9, 1 << 40} {
		x, y := run(seed, false), run(seed, false)
		if x.trace.sum() != y.trace.sum() {
			t.Fatalf("seed %d ran twice gave different hashes", seed)
		}
		if other, dup := sums[x.trace.sum()]; dup {
			t.Fatalf("seeds %d and %d gave the same trace", other, seed)
		}
		sums[x.trace.sum()] = seed
	}
}

// TestSimFailureReport checks that a failing run reports the command that
// replays it, with the trace's tail, by injecting a check that fails.
func TestSimFailureReport(t *testing.T) {
	w := newSimWorld(3, 200, false)
	w.extraCheck = func(w *simWorld) error {
		if w.step == 50 {
			return fmt.Errorf("injected failure")
		}
		return nil
	}
	w.run()
	if !w.failed() {
		t.Fatal("the injected check did not fail the run")
	}
	r := w.report()
	for _, want := range []string{
		"injected failure",
		"\n  go test ./fuzz -run TestSim -sim.seed=3 -sim.steps=200\n",
		"last 40 trace lines:\n",
	} {
		if !strings.Contains(r, want) {
			t.Errorf("report lacks %q:\n%s", want, r)
		}
	}
	if lines := strings.Count(r[strings.Index(r, "trace lines:"):], "\n"); lines != simTailLines+1 {
		t.Errorf("report shows %d trace lines, want %d:\n%s", lines-1, simTailLines, r)
	}
	if w.step != 50 {
		t.Errorf("the run went on to step %d after failing at step 50", w.step)
	}
}
