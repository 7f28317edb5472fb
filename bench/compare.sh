#!/usr/bin/env bash
# compare.sh: run the Go benchmarks of ./bench and ./core several times and
# show them with benchstat, h2proto beside its peer in one table: every
# paired benchmark names its side "impl=h2proto", "impl=xnet" or
# "impl=nethttp", and benchstat -col /impl makes those the columns, with
# the peer's difference from h2proto in "vs base".
#
# Usage: bench/compare.sh [BENCH-REGEXP]   (default: every benchmark)
#
# Environment: COUNT runs of each benchmark (default 6, the fewest for
# which benchstat gives a confidence interval), BENCHTIME (default 1s),
# OUT the file the raw results are kept in (default a temporary file).
#
# benchstat is pinned and run from the Go module proxy, so the library's
# go.mod never lists it.
set -euo pipefail
cd "$(dirname "$0")/.."

BENCHSTAT=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
out=${OUT:-$(mktemp)}
go test -run '^$' -bench "${1:-.}" -benchtime "${BENCHTIME:-1s}" -count "${COUNT:-6}" \
	./bench ./core | tee "$out"
echo
go run "$BENCHSTAT" -col /impl "$out"
