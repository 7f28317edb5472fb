#!/usr/bin/env bash
# compare.sh: replay every attack of bench/attack against h2proto's server
# ("h2 serve -h2c") and, in the same run on the same machine, against Go's
# net/http (bench/nethttpd), nghttpd (nghttp2) and h2o, and tabulate what
# each server did and what the attack cost it (issue 7, docs/security.md).
#
# Usage: bench/attack/compare.sh [-quick]
#
# Environment:
#   SERVERS   servers to attack (default "h2proto nethttp nghttpd h2o";
#             one that is not installed is skipped)
#   KINDS     attack kinds (default: every kind "attack -list" prints,
#             legitimate workloads included)
#   N         attack size passed as -n (default: each kind's own, see -list)
#   TIMEOUT   the attack client's -timeout per run (default 10s)
#   TIMER_TIMEOUT   -timeout for the kinds a timer answers (idle-no-preface,
#             zero-window-slow-read, internal-buffering), when longer than
#             TIMEOUT (default 13s: past the 10 s preface timeout of h2proto
#             and net/http; 35s lets the 30 s write and keep-alive timers
#             fire too, at about 5 minutes more)
#   OUT       file for the raw JSON lines (default a temporary file)
#   QUICK=1   a smoke test (same as -quick): a few kinds, N=1200, TIMEOUT=3s
#   SERVER_CPU, CLIENT_CPU   the CPUs to pin server and client to (0 and 1)
#   H2O, NGHTTPD   the binaries (default h2o and nghttpd from PATH)
#
# Each (server, kind) pair gets a FRESH server process, pinned to one CPU
# (the attack client gets another), so that one attack's damage never shows
# up in the next row. Before the attack the script reads the server's
# VmRSS and CPU time (utime+stime, its children included) from /proc; after
# it, the peak RSS (VmHWM: the most the process ever held, its start
# included), the CPU seconds the attack cost, and whether the process is
# still alive. The attack client itself reports the GOAWAY/RST code, debug
# text, frames and bytes until the reaction, and whether a fresh connection
# is still served. Then the server is stopped.
#
# Output: a markdown table on stdout, one row per kind and, per server, the
# outcome, frames sent until the reaction, peak RSS in MiB and CPU seconds;
# then a detail table for the first server. Every run's JSON line (the
# attack client's fields plus server, rss_base_kib, rss_peak_kib, cpu_s,
# alive) goes to OUT.
#
# Exit status: 1 if h2proto died, stopped serving fresh clients, or stopped
# a legitimate workload (a kind named legit-*); the peers' results never
# fail the script.
#
# Needs: go, h2load (Debian nghttp2-client), jq; optional: nghttpd (Debian
# nghttp2-server), h2o, taskset. Loopback only; every loop is bounded; the
# servers are killed on exit.
set -euo pipefail

die() { echo "compare.sh: $*" >&2; exit 2; }

if [[ ${1:-} == -quick ]]; then QUICK=1; shift; fi
[[ $# -eq 0 ]] || die "usage: bench/attack/compare.sh [-quick]"

SERVERS=${SERVERS:-h2proto nethttp nghttpd h2o}
H2O=${H2O:-h2o}
NGHTTPD=${NGHTTPD:-nghttpd}
if [[ ${QUICK:-0} == 1 ]]; then
	KINDS=${KINDS:-ping-flood rapid-reset continuation-flood hpack-bomb legit-reset-finished}
	N=${N:-1200}
	TIMEOUT=${TIMEOUT:-3s}
fi
N=${N:-}
TIMEOUT=${TIMEOUT:-10s}
TIMER_TIMEOUT=${TIMER_TIMEOUT:-13s}
[[ $TIMEOUT =~ ^[0-9]+s$ && $TIMER_TIMEOUT =~ ^[0-9]+s$ ]] || die "TIMEOUT and TIMER_TIMEOUT must be whole seconds, like 10s"
[[ -z $N || $N =~ ^[0-9]+$ ]] || die "N must be a number"
for s in $SERVERS; do
	case $s in h2proto | nethttp | nghttpd | h2o) ;; *) die "unknown server $s" ;; esac
done
for tool in go h2load jq; do command -v "$tool" >/dev/null || die "$tool not found"; done
drop_server() { SERVERS=$(tr ' ' '\n' <<<"$SERVERS" | grep -vx "$1" | tr '\n' ' ' || true); }
if [[ " $SERVERS " == *" h2o "* ]] && ! command -v "$H2O" >/dev/null; then
	echo "h2o not found ($H2O): skipping it" >&2
	drop_server h2o
fi
if [[ " $SERVERS " == *" nghttpd "* ]] && ! command -v "$NGHTTPD" >/dev/null; then
	echo "nghttpd not found ($NGHTTPD; Debian: nghttp2-server): skipping it" >&2
	drop_server nghttpd
fi
read -ra SERVER_LIST <<<"$SERVERS"
((${#SERVER_LIST[@]} > 0)) || die "no server to attack"

# Pinning, as in bench/h2load.sh: the Go runtime sizes GOMAXPROCS from the
# affinity mask, so every server runs on one core.
PIN_SERVER=() PIN_CLIENT=()
if command -v taskset >/dev/null && (($(nproc) >= 2)); then
	PIN_SERVER=(taskset -c "${SERVER_CPU:-0}")
	PIN_CLIENT=(taskset -c "${CLIENT_CPU:-1}")
	"${PIN_SERVER[@]}" "${PIN_CLIENT[@]}" true || die "cannot pin to CPUs ${SERVER_CPU:-0} and ${CLIENT_CPU:-1}"
else
	echo "taskset missing or one CPU: running unpinned" >&2
fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d)
CONTENT=$WORK/content
OUT=${OUT:-$(mktemp "${TMPDIR:-/tmp}/attack-compare.XXXXXX.jsonl")}
: >"$OUT"
SRV_PID=""

alive() { # PID: running, not a zombie
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	[[ ${s:0:1} != Z ]]
}

# stop_server stops the current server: SIGTERM, SIGKILL after 5 s.
stop_server() {
	local i
	[[ -n $SRV_PID ]] || return 0
	kill "$SRV_PID" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		alive "$SRV_PID" || break
		sleep 0.1
	done
	if alive "$SRV_PID"; then kill -KILL "$SRV_PID" 2>/dev/null || true; fi
	wait "$SRV_PID" 2>/dev/null || true
	SRV_PID=""
}
cleanup() {
	stop_server
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

(cd "$ROOT" && go build -o "$WORK/bin/attack" ./bench/attack && go build -o "$WORK/bin/h2" ./cmd/h2 &&
	go build -o "$WORK/bin/nethttpd" ./bench/nethttpd)
ATTACK=$WORK/bin/attack

# The kinds, and which are legitimate workloads.
declare -A LEGIT
ALL_KINDS=()
while read -r name tag _; do
	ALL_KINDS+=("$name")
	if [[ $tag == legit ]]; then LEGIT[$name]=1; fi
done < <("$ATTACK" -list | awk '/^[^ \t]/')
KINDS=${KINDS:-${ALL_KINDS[*]}}
read -ra KIND_LIST <<<"$KINDS"
for k in "${KIND_LIST[@]}"; do
	[[ " ${ALL_KINDS[*]} " == *" $k "* ]] || die "unknown kind $k (see: go run ./bench/attack -list)"
done

# Content: "/" is a short hello (h2proto and nethttpd answer it themselves,
# nghttpd serves index.html, h2o index.txt); "/large" is the 4 MiB body
# the buffering and slow-reading attacks ask for.
mkdir -p "$CONTENT"
printf 'hello from h2proto\n' >"$CONTENT/index.txt"
cp "$CONTENT/index.txt" "$CONTENT/index.html"
head -c 4194304 <(yes 'h2proto attack large body 0123456789abcdefghijklmnopqrstuvwxyz') >"$CONTENT/large"

echo "== $(go version); $(h2load --version | head -1)"
for s in "${SERVER_LIST[@]}"; do
	case $s in
	h2o) echo "== $("$H2O" --version | head -1)" ;;
	nghttpd) echo "== $("$NGHTTPD" --version | head -1)" ;;
	esac
done
echo "== nproc $(nproc); $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo "no git"); pinning: ${PIN_SERVER[*]:-none} (server), ${PIN_CLIENT[*]:-none} (attack)"
echo "== kinds: ${#KIND_LIST[@]}; N: ${N:-per kind}; timeout ${TIMEOUT} (timer kinds ${TIMER_TIMEOUT}); raw JSON: $OUT"
if [[ ${QUICK:-0} == 1 ]]; then echo "== quick: a smoke test; its figures mean little"; fi

# Shared helpers: next_port, h2o_conf.
# shellcheck source=bench/servers.sh
source "$ROOT/bench/servers.sh"

# start_server NAME starts a fresh server on a new port and waits (at most
# 10 s) until it answers "/". Sets SRV_PID and PORT.
start_server() {
	local name=$1 cmd i out
	next_port
	PORT=$FREE_PORT
	case $name in
	h2proto) cmd=("$WORK/bin/h2" serve -h2c -addr "127.0.0.1:$PORT" -dir "$CONTENT") ;;
	nethttp) cmd=("$WORK/bin/nethttpd" -addr "127.0.0.1:$PORT" -dir "$CONTENT") ;;
	# One worker thread (its default), no TLS: HTTP/2 with prior knowledge.
	nghttpd) cmd=("$NGHTTPD" --no-tls -a 127.0.0.1 -d "$CONTENT" "$PORT") ;;
	h2o)
		h2o_conf "$PORT" >"$WORK/h2o.conf"
		cmd=("$H2O" -c "$WORK/h2o.conf")
		;;
	esac
	# taskset execs the server, so $! is the server's own pid.
	"${PIN_SERVER[@]}" "${cmd[@]}" >"$WORK/$name.log" 2>&1 &
	SRV_PID=$!
	for ((i = 0; i < 100; i++)); do
		alive "$SRV_PID" || { cat "$WORK/$name.log" >&2; die "$name exited at start"; }
		out=$(timeout 2 h2load -n1 -c1 "http://127.0.0.1:$PORT/" 2>&1 || true)
		if [[ $out == *" 1 succeeded,"* ]]; then return; fi
		sleep 0.1
	done
	cat "$WORK/$name.log" >&2
	die "$name does not answer on port $PORT"
}

# proc_ticks PID: utime+stime+cutime+cstime of the process and its live
# children, in clock ticks (h2o's one child is an idle helper).
proc_ticks() {
	local pid f stat ticks=0
	for pid in "$1" $(pgrep -P "$1" || true); do
		stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		read -ra f <<<"${stat##*) }" # f[0] is field 3 (state)
		ticks=$((ticks + f[11] + f[12] + f[13] + f[14]))
	done
	echo "$ticks"
}

# proc_kib PID FIELD: a /proc/PID/status field (VmRSS, VmHWM) in KiB, or 0.
proc_kib() {
	awk -v k="$2:" '$1 == k { print $2; found = 1 } END { if (!found) print 0 }' "/proc/$1/status" 2>/dev/null || echo 0
}

CLK_TCK=$(getconf CLK_TCK)
TIMER_KINDS=" idle-no-preface zero-window-slow-read internal-buffering "

# timeout_for KIND prints the kind's -timeout in seconds.
timeout_for() {
	local t=${TIMEOUT%s} tt=${TIMER_TIMEOUT%s}
	if [[ $TIMER_KINDS == *" $1 "* ]] && ((tt > t)); then t=$tt; fi
	echo "$t"
}
FAILED=0
declare -A CELL # by "kind/server": outcome, frames, peak MiB, CPU s (tab-separated)

# attack_one SERVER KIND: one run on a fresh server; appends its JSON line
# to OUT and fills CELL.
attack_one() {
	local srv=$1 kind=$2 base_kib t0 t1 peak_kib cpu alive_now=true line rc=0 nargs=() tmo
	tmo=$(timeout_for "$kind")
	start_server "$srv"
	base_kib=$(proc_kib "$SRV_PID" VmRSS)
	t0=$(proc_ticks "$SRV_PID")
	if [[ -n $N ]]; then nargs=(-n "$N"); fi
	# The client bounds itself (-timeout, then 2 s probes); timeout(1)
	# bounds it again should it hang.
	line=$(timeout $((tmo + 20)) "${PIN_CLIENT[@]}" "$ATTACK" "$kind" -addr "127.0.0.1:$PORT" -h2c \
		-json -timeout "${tmo}s" "${nargs[@]}" 2>"$WORK/attack.err") || rc=$?
	if alive "$SRV_PID"; then
		t1=$(proc_ticks "$SRV_PID")
		peak_kib=$(proc_kib "$SRV_PID" VmHWM)
	else
		alive_now=false t1=$t0 peak_kib=0
	fi
	cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz }')
	if ! jq -e . >/dev/null 2>&1 <<<"$line" || [[ -z $line ]]; then
		line=$(jq -nc --arg kind "$kind" --arg err "attack client exit $rc: $(head -c 300 "$WORK/attack.err")" \
			'{kind: $kind, outcome: "", error: $err}')
	fi
	line=$(jq -c --arg server "$srv" --argjson base "$base_kib" --argjson peak "$peak_kib" \
		--argjson cpu "$cpu" --argjson alive "$alive_now" \
		'{server: $server} + . + {rss_base_kib: $base, rss_peak_kib: $peak, cpu_s: $cpu, alive: $alive}' <<<"$line")
	echo "$line" >>"$OUT"
	stop_server

	CELL[$kind/$srv]=$(jq -r '[(
		if .error then "ERROR"
		elif .outcome == "goaway" then "GOAWAY " + .code + (if .debug != "" then " \"" + .debug + "\"" else "" end)
		elif .outcome == "rst" then "RST " + .code
		elif .outcome == "closed" then "closed (no GOAWAY)"
		else "open" + (if .code != "" then " " + .code else "" end) end)
		+ (if .alive then "" else " **SERVER DIED**" end)
		+ (if .alive and (.server_still_serves | not) then " **no longer serves**" else "" end),
		(.frames_sent // 0), (.rss_peak_kib / 1024 * 10 | round / 10), .cpu_s] | @tsv' <<<"$line")
	if [[ $srv == h2proto ]]; then
		if ! jq -e '.alive and .server_still_serves' >/dev/null <<<"$line"; then
			echo "FAIL: $kind: h2proto died or stopped serving: $line" >&2
			FAILED=1
		elif [[ -n ${LEGIT[$kind]:-} ]] && ! jq -e '.outcome == "timeout-still-open" and .code == ""' >/dev/null <<<"$line"; then
			echo "FAIL: $kind: h2proto stopped a legitimate client: $line" >&2
			FAILED=1
		fi
	fi
	printf '   %-30s %-8s %s\n' "$kind" "$srv" "$(tr '\t' ' ' <<<"${CELL[$kind/$srv]}")" >&2
}

START=$SECONDS
for kind in "${KIND_LIST[@]}"; do
	for srv in "${SERVER_LIST[@]}"; do attack_one "$srv" "$kind"; done
done

# The comparison table.
echo
echo "Per server: the reaction (outcome, code, GOAWAY debug text), frames the client sent before it saw the reaction (all of them when the connection stayed open), the server's peak RSS (VmHWM, MiB) and the CPU seconds the attack cost it."
echo
hdr="| kind |" sep="|---|"
for s in "${SERVER_LIST[@]}"; do hdr+=" $s | frames | peak MiB | CPU s |"; sep+="---|--:|--:|--:|"; done
echo "$hdr"
echo "$sep"
for kind in "${KIND_LIST[@]}"; do
	row="| $kind |"
	for s in "${SERVER_LIST[@]}"; do
		IFS=$'\t' read -r o f m c <<<"${CELL[$kind/$s]}"
		row+=" $o | $f | $m | $c |"
	done
	echo "$row"
done

# The detail table for the first server (h2proto by default).
first=${SERVER_LIST[0]}
echo
echo "Detail, $first:"
echo
echo "| kind | outcome | code | debug | frames | bytes | ms | RSS before MiB | peak MiB | CPU s | conn still served | server still serves |"
echo "|---|---|---|---|--:|--:|--:|--:|--:|--:|---|---|"
jq -r --arg s "$first" 'select(.server == $s) | "| \(.kind) | \(.outcome) | \(.code // "") | \(.debug // "") | \(.frames_sent // 0) | \(.bytes_sent // 0) | \(.elapsed_ms // 0) | \(.rss_base_kib / 1024 * 10 | round / 10) | \(.rss_peak_kib / 1024 * 10 | round / 10) | \(.cpu_s) | \(if .conn_still_served then "yes" else "no" end) | \(if .server_still_serves then "yes" else "no" end) |"' "$OUT"
echo
echo "== ${#KIND_LIST[@]} kinds x ${#SERVER_LIST[@]} servers in $((SECONDS - START)) s; raw JSON: $OUT"
if ((FAILED)); then
	echo "compare.sh: h2proto failed (see FAIL above)" >&2
	exit 1
fi
