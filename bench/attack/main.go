package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/h2proto/h2/bench/attack/scenario"
)

func main() {
	os.Exit(cli(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// cli runs the command with args and returns its exit status: 0 when every
// run completed, 1 when a run failed (e.g. the connection was refused), 2
// for bad usage, including a non-loopback address.
func cli(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("attack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := &config{probe: 2 * time.Second}
	fs.StringVar(&cfg.addr, "addr", "", "server address HOST:PORT (must resolve to loopback)")
	fs.BoolVar(&cfg.h2c, "h2c", false, "cleartext HTTP/2 with prior knowledge instead of TLS")
	fs.BoolVar(&cfg.insecure, "k", false, "TLS: do not verify the server's certificate")
	fs.IntVar(&cfg.n, "n", 0, "attack size (frames, streams or requests; 0 = the kind's default, see -list)")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "bound on each run's attack and wait for a reaction")
	fs.DurationVar(&cfg.settle, "settle", time.Second, "wait for a reaction after the last write")
	fs.StringVar(&cfg.authority, "authority", "", "the :authority of requests (default localhost)")
	fs.StringVar(&cfg.path, "path", "/", "a small resource the server answers at once")
	fs.StringVar(&cfg.largePath, "large", "/large", "a resource with a body of 1 MiB or more")
	fs.BoolVar(&cfg.noPace, "nopace", false, "reading kinds: do not wait for a PING ACK after each round of 64 frames")
	asJSON := fs.Bool("json", false, "print one JSON object per run")
	list := fs.Bool("list", false, "list the kinds and exit")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: attack KIND -addr HOST:PORT [-h2c|-k] [-n N] [-timeout D] [-json]\n       attack -list")
		fs.PrintDefaults()
	}
	// Flags may come before or after KIND.
	var kinds []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		kinds = append(kinds, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if *list {
		printList(stdout)
		return 0
	}
	if len(kinds) != 1 || cfg.addr == "" {
		fs.Usage()
		return 2
	}
	scs, err := selectKinds(kinds[0])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if cfg.timeout <= 0 || cfg.settle < 0 || cfg.n < 0 {
		fmt.Fprintln(stderr, "attack: -timeout must be positive, -settle and -n not negative")
		return 2
	}
	cfg.dialAddr, err = resolveLoopback(ctx, cfg.addr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	status := 0
	enc := json.NewEncoder(stdout)
	for _, sc := range scs {
		r := run(ctx, cfg, sc)
		if r.Error != "" {
			status = 1
		}
		if *asJSON {
			_ = enc.Encode(r)
		} else {
			fmt.Fprintln(stdout, human(sc, r))
		}
	}
	return status
}

// selectKinds resolves KIND: a name, a comma-separated list, "attacks" or
// "all".
func selectKinds(kind string) ([]*scenario.Scenario, error) {
	switch kind {
	case "all":
		return scenario.All(), nil
	case "attacks":
		return scenario.Attacks(), nil
	}
	var scs []*scenario.Scenario
	for _, k := range strings.Split(kind, ",") {
		sc, err := scenario.Lookup(strings.TrimSpace(k))
		if err != nil {
			return nil, err
		}
		scs = append(scs, sc)
	}
	return scs, nil
}

func printList(w io.Writer) {
	for _, sc := range scenario.All() {
		tag := "attack"
		if sc.IsLegit {
			tag = "legit "
		}
		fmt.Fprintf(w, "%-30s %s  N=%d %s\n    %s\n    defence: %s\n", sc.Name, tag, sc.DefaultN, sc.Unit, sc.Description, sc.Defence)
	}
}

// human formats one run as a line, with a verdict against the catalogue.
func human(sc *scenario.Scenario, r Result) string {
	if r.Error != "" {
		return fmt.Sprintf("%s: error: %s", r.Kind, r.Error)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", r.Kind, r.Outcome)
	if r.Code != "" {
		b.WriteString(" " + r.Code)
	}
	if r.Debug != "" {
		fmt.Fprintf(&b, " %q", r.Debug)
	}
	fmt.Fprintf(&b, " after %d frames, %d bytes, %d ms; conn still served: %s; server still serves: %s [%s]",
		r.FramesSent, r.BytesSent, r.ElapsedMS, yes(r.ConnStillServed), yes(r.ServerStillServes), verdict(sc, r))
	return b.String()
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// verdict compares a run with the catalogue's expectations.
func verdict(sc *scenario.Scenario, r Result) string {
	if sc.IsLegit {
		if r.Outcome == string(scenario.OutcomeOpen) && r.Code == "" {
			return "served, as a legitimate client must be"
		}
		return "LEGITIMATE CLIENT STOPPED"
	}
	for _, e := range sc.Expect {
		if matches(e, r) {
			return "bounded: " + e.String()
		}
	}
	return "unexpected; catalogue expects one of " + expectList(sc.Expect)
}

func matches(e scenario.Expect, r Result) bool {
	if string(e.Outcome) != r.Outcome {
		return false
	}
	switch e.Outcome {
	case scenario.OutcomeOpen:
		return e.Status == 0 || r.Code == fmt.Sprintf("HTTP_%d", e.Status)
	case scenario.OutcomeClosed:
		return true
	}
	return e.Code.String() == r.Code && (e.DebugText() == "" || e.DebugText() == r.Debug)
}

func expectList(es []scenario.Expect) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.String()
	}
	return strings.Join(s, " | ")
}
