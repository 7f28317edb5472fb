#!/usr/bin/env bash
# The project's test command (README "Set-up"). It runs every check CI runs:
# formatting, vet, staticcheck (pinned), the race-enabled test suite with
# coverage of the protocol core — including h2spec, the interop tests
# against real peers, the rapid properties and the seeded simulations of
# ./fuzz — a short run of every native fuzz target, one iteration of every
# benchmark, a quick run of the h2load harness, and the demo as a smoke
# test.
#
# It installs what it needs: the interop peers from Debian packages (when
# missing and running as root, as CI does) and h2spec from the Go module
# proxy, pinned. Under CI=true a peer that cannot be found fails the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# Tools are pinned and run with "go run pkg@version", so the library's own
# go.mod never lists them.
STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.8.2
H2SPEC_PKG=github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible
MIN_COVERAGE=85

step() { printf '\n== %s\n' "$*"; }

step "interop peers (nghttp, h2load, nghttpd, h2o, curl, python3-h2), procps, jq and h2spec"
missing=""
for tool in nghttp h2load nghttpd h2o curl; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || missing="$missing $tool"
done
/usr/bin/python3 -c 'import h2' >/dev/null 2>&1 || missing="$missing python3-h2"
command -v pgrep >/dev/null 2>&1 || missing="$missing procps" # bench/h2load.sh
command -v jq >/dev/null 2>&1 || missing="$missing jq"         # bench/attack/compare.sh
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages for:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq nghttp2-client nghttp2-server h2o curl python3-h2 procps jq >/dev/null
  else
    echo "missing:$missing (not root or no apt-get: the interop tests will skip them, or fail under CI=true)"
  fi
fi
export PATH="$PATH:/usr/sbin"
tools_dir="$PWD/.tools"
if [ ! -x "$tools_dir/h2spec" ]; then
  GOBIN="$tools_dir" go install "$H2SPEC_PKG"
fi
export H2SPEC="$tools_dir/h2spec"

# The library is the root module; the adapters, the h2 command and the gRPC
# interop tests are nested modules tied by go.work, which "./..." from the
# root does not reach, so every package pattern names them.
PKGS="./... ./adapters/gnet/... ./adapters/h3/... ./cmd/h2/... ./interop/grpc/..."

step "gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "not gofmt-formatted:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet $PKGS

step "staticcheck ($STATICCHECK)"
go run "$STATICCHECK" $PKGS

step "go test -race (with coverage of core/...)"
profile=$(mktemp)
trap 'rm -f "$profile"' EXIT
go test -race -count=1 \
  -coverpkg=./core/... \
  -coverprofile="$profile" $PKGS

total=$(go tool cover -func="$profile" | awk '/^total:/ { sub("%", "", $3); print $3 }')
echo "statement coverage of core/... (core, core/frame, core/coretest): ${total}%"
if awk -v t="$total" -v m="$MIN_COVERAGE" 'BEGIN { exit !(t < m) }'; then
  echo "coverage ${total}% is below ${MIN_COVERAGE}%"; exit 1
fi

step "fuzz smoke: every native fuzz target for ${FUZZTIME:-15s}"
# Each target found by "go test -list" runs on its own for FUZZTIME (its
# seed corpus already ran in the test step). A crasher fails the step and
# is left under the package's testdata/fuzz for "git status" to show.
for pkg in ./core/frame ./fuzz; do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
    log=$(mktemp)
    if ! go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "${FUZZTIME:-15s}" >"$log" 2>&1; then
      cat "$log"; echo "fuzz target $pkg $target failed"; exit 1
    fi
    echo "$pkg $target: $(grep -o 'execs: [0-9]*' "$log" | tail -1)"
    rm -f "$log"
  done
done

step "allocation guard and benchmark smoke (1 iteration each)"
go test -run 'ZeroAllocs' -bench . -benchtime 1x ./core/... ./bench >/dev/null

step "h2load harness smoke (bench/h2load.sh -quick: tiny counts, one run, figures meaningless)"
bash bench/h2load.sh -quick >/dev/null

step "attack comparison smoke (bench/attack/compare.sh -quick against h2 serve only)"
SERVERS=h2proto bash bench/attack/compare.sh -quick >/dev/null

step "main job: go run ./cmd/h2 demo -q"
go run ./cmd/h2 demo -q

step "all checks passed"
