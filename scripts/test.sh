#!/usr/bin/env bash
# The project's test command (README "Set-up"). It runs every check CI runs:
# formatting, vet, staticcheck (pinned), the race-enabled test suite with
# coverage of the protocol core, and the demo as a smoke test.
set -euo pipefail
cd "$(dirname "$0")/.."

# Tools are pinned and run with "go run pkg@version", so the library's own
# go.mod never lists them.
STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.8.2
MIN_COVERAGE=85

step() { printf '\n== %s\n' "$*"; }

step "gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "not gofmt-formatted:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

step "staticcheck ($STATICCHECK)"
go run "$STATICCHECK" ./...

step "go test -race (with coverage of core/...)"
profile=$(mktemp)
trap 'rm -f "$profile"' EXIT
go test -race -count=1 \
  -coverpkg=./core/... \
  -coverprofile="$profile" ./...

total=$(go tool cover -func="$profile" | awk '/^total:/ { sub("%", "", $3); print $3 }')
echo "statement coverage of core/... (core, core/frame, core/coretest): ${total}%"
if awk -v t="$total" -v m="$MIN_COVERAGE" 'BEGIN { exit !(t < m) }'; then
  echo "coverage ${total}% is below ${MIN_COVERAGE}%"; exit 1
fi

step "allocation guard and benchmark smoke (1 iteration each)"
go test -run 'ZeroAllocs' -bench . -benchtime 1x ./core/... >/dev/null

step "main job: go run ./cmd/h2 demo -q"
go run ./cmd/h2 demo -q

step "all checks passed"
