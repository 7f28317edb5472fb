#!/usr/bin/env bash
# h2load.sh: h2proto's "h2 serve -h2c" (the goroutine runtime) and
# "h2 serve -h2c -engine gnet" (the core on gnet's event loops, the h2gnet
# row) beside Go's net/http (bench/nethttpd) and h2o, all driven by h2load (nghttp2) with the same requests, in one run
# on one machine. Figures from different runs or machines are not comparable;
# the ratios printed at the end are the point.
#
# Usage: bench/h2load.sh [-quick]
#
# Environment:
#   SERVERS   servers to run (default "h2proto h2gnet nethttp h2o")
#   CASES     cases to run (default "c1m1 c16m16 c32m32 1mib")
#   RUNS      measured runs per case and server (default 3)
#   QUICK=1   tiny request counts and one run: a smoke test (same as -quick)
#   N_C1M1, N_C16M16, N_C32M32, N_1MIB   requests per run of each case
#   SERVER_CPU, CLIENT_CPU   the CPUs to pin to (default 0 and 1)
#   H2O       the h2o binary (default h2o from PATH)
#
# Every server gets one core (SERVER_CPU) and h2load another (CLIENT_CPU),
# so the figures are single-core server throughput and the client never
# competes with the server for its CPU. The Go runtime sizes GOMAXPROCS from
# the affinity mask, so the Go servers run with GOMAXPROCS=1, h2gnet with
# one event loop, and h2o with one thread: the same budget for all.
#
# Each case runs RUNS times per server, the servers taking turns within each
# round so that slow drift (noisy neighbours, frequency scaling) spreads over
# all of them; the table shows medians, which one disturbed run cannot move
# the way it moves a mean.
#
# Needs: go, h2load, pgrep; optional: h2o, taskset.
set -euo pipefail

die() { echo "h2load.sh: $*" >&2; exit 1; }

if [[ ${1:-} == -quick ]]; then QUICK=1; shift; fi
[[ $# -eq 0 ]] || die "usage: bench/h2load.sh [-quick]"

SERVERS=${SERVERS:-h2proto h2gnet nethttp h2o}
CASES=${CASES:-c1m1 c16m16 c32m32 1mib}
H2O=${H2O:-h2o}
if [[ ${QUICK:-0} == 1 ]]; then
	RUNS=${RUNS:-1}
	N_C1M1=${N_C1M1:-500} N_C16M16=${N_C16M16:-2000}
	N_C32M32=${N_C32M32:-2000} N_1MIB=${N_1MIB:-20}
else
	# Sized so that a run of the fastest server takes about 0.5-3 s.
	RUNS=${RUNS:-3}
	N_C1M1=${N_C1M1:-20000} N_C16M16=${N_C16M16:-150000}
	N_C32M32=${N_C32M32:-150000} N_1MIB=${N_1MIB:-1000}
fi

# case_spec CASE prints the case's "PATH REQUESTS H2LOAD-ARGS...".
# -cC -mM is C connections with up to M streams in flight on each.
#   c1m1    one request at a time: latency, and the per-request cost with
#           no batching to hide it.
#   c16m16, c32m32   many streams in flight: how well the server batches
#           reads and writes (32x32 = 1024 streams, within the stream limit
#           each server advertises: h2o 100, net/http 250 per connection).
#   1mib    bulk transfer of a 1 MiB file. h2load's default windows are
#           64 KiB, so a 1 MiB body would take 16 WINDOW_UPDATE round trips
#           and measure h2load's flow-control latency more than the server;
#           -w24 -W24 open 16 MiB stream and connection windows, so the
#           server can send a whole body at once. Four connections keep the
#           server busy while any one client is reading, and one stream each
#           keeps every connection a plain bulk transfer.
case_spec() {
	case $1 in
	c1m1) echo "/ $N_C1M1 -c1 -m1" ;;
	c16m16) echo "/ $N_C16M16 -c16 -m16" ;;
	c32m32) echo "/ $N_C32M32 -c32 -m32" ;;
	1mib) echo "/1m.bin $N_1MIB -c4 -m1 -w24 -W24" ;;
	*) return 1 ;;
	esac
}
for c in $CASES; do case_spec "$c" >/dev/null || die "unknown case $c"; done
for s in $SERVERS; do
	case $s in h2proto | h2gnet | nethttp | h2o) ;; *) die "unknown server $s" ;; esac
done
if [[ " $SERVERS " == *" h2o "* ]] && ! command -v "$H2O" >/dev/null; then
	echo "h2o not found ($H2O): skipping it"
	SERVERS=$(echo "$SERVERS" | tr ' ' '\n' | grep -vx h2o | tr '\n' ' ')
fi
command -v h2load >/dev/null || die "h2load not found (Debian: nghttp2-client)"

# Pinning: servers on SERVER_CPU, h2load on CLIENT_CPU; unpinned when that
# is impossible, and the figures then mix client and server costs.
PIN_SERVER=() PIN_CLIENT=()
if ! command -v taskset >/dev/null; then
	echo "taskset not found: running unpinned"
elif (($(nproc) < 2)); then
	echo "only one CPU: running unpinned"
else
	PIN_SERVER=(taskset -c "${SERVER_CPU:-0}")
	PIN_CLIENT=(taskset -c "${CLIENT_CPU:-1}")
	"${PIN_SERVER[@]}" "${PIN_CLIENT[@]}" true || die "cannot pin to CPUs ${SERVER_CPU:-0} and ${CLIENT_CPU:-1}"
fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d)
CONTENT=$WORK/content
declare -A PID PORT # by server

alive() { # PID: running, not a zombie
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	[[ ${s:0:1} != Z ]]
}

# cleanup stops the servers (SIGTERM, SIGKILL after 5 s) and removes WORK.
cleanup() {
	local pid i any
	for pid in "${PID[@]}"; do kill "$pid" 2>/dev/null || true; done
	for ((i = 0; i < 50; i++)); do
		any=0
		for pid in "${PID[@]}"; do if alive "$pid"; then any=1; fi; done
		((any)) || break
		sleep 0.1
	done
	for pid in "${PID[@]}"; do
		alive "$pid" && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== $(h2load --version | head -1); $(go version)"
if [[ " $SERVERS " == *" h2o "* ]]; then echo "== $("$H2O" --version | head -1)"; fi
echo "== nproc $(nproc); $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo "no git")"
if [[ ${QUICK:-0} == 1 ]]; then echo "== quick: a smoke test; runs this short give figures that mean nothing"; fi
echo "== runs $RUNS; pinning: ${PIN_SERVER[*]:-none} (servers), ${PIN_CLIENT[*]:-none} (h2load)"

# check_idle WHEN prints how busy each CPU was over one second in which
# this script does nothing: other work on these CPUs (a concurrent go test,
# say) makes every figure noisy. It slows req/s most; server CPU per
# request suffers least, as it counts the server's own time only.
check_idle() {
	local a b
	a=$(grep '^cpu[0-9]' /proc/stat)
	sleep 1
	b=$(grep '^cpu[0-9]' /proc/stat)
	# Fields 2-9: user nice system idle iowait irq softirq steal.
	paste -d' ' <(echo "$a") <(echo "$b") | awk -v when="$1" '{
		n = NF / 2; busy = total = 0
		for (i = 2; i <= 9; i++) { d = $(n + i) - $i; total += d; if (i != 5 && i != 6) busy += d }
		pct = total ? busy * 100 / total : 0; line = line sprintf(" %s %.0f%%", $1, pct)
		if (pct > 10) noisy = 1
	}
	END { printf "== busy %s:%s%s\n", when, line, noisy ? " (other processes are busy: expect noisy figures)" : "" }'
}

(cd "$ROOT" && go build -o "$WORK/bin/h2" ./cmd/h2 && go build -o "$WORK/bin/nethttpd" ./bench/nethttpd)
mkdir "$CONTENT"
printf 'hello from h2proto\n' >"$CONTENT/index.txt"
# Deterministic and not all zeros, should anything on the way compress.
# (yes in a process substitution: its SIGPIPE would fail a pipeline.)
head -c 1048576 <(yes 'h2proto bench 1m.bin 0123456789abcdefghijklmnopqrstuvwxyz') >"$CONTENT/1m.bin"
check_idle "before starting"

# Shared helpers: next_port, h2o_conf.
# shellcheck source=bench/servers.sh
source "$ROOT/bench/servers.sh"

# start_server NAME starts the server on a free port, pinned, and waits (at
# most 10 s) until it answers "/" over h2c.
start_server() {
	local name=$1 cmd i out
	next_port
	PORT[$name]=$FREE_PORT
	case $name in
	h2proto) cmd=("$WORK/bin/h2" serve -h2c -addr "127.0.0.1:$FREE_PORT" -dir "$CONTENT") ;;
	# One event loop: the same one-core budget as the others.
	h2gnet) cmd=("$WORK/bin/h2" serve -h2c -engine gnet -loops 1 -addr "127.0.0.1:$FREE_PORT" -dir "$CONTENT") ;;
	nethttp) cmd=("$WORK/bin/nethttpd" -addr "127.0.0.1:$FREE_PORT" -dir "$CONTENT") ;;
	h2o)
		h2o_conf "$FREE_PORT" >"$WORK/h2o.conf"
		cmd=("$H2O" -c "$WORK/h2o.conf")
		;;
	esac
	# taskset execs the server, so $! is the server's own pid.
	"${PIN_SERVER[@]}" "${cmd[@]}" >"$WORK/$name.log" 2>&1 &
	PID[$name]=$!
	for ((i = 0; i < 100; i++)); do
		alive "${PID[$name]}" || { cat "$WORK/$name.log" >&2; die "$name exited"; }
		out=$(timeout 2 h2load -n1 -c1 "http://127.0.0.1:$FREE_PORT/" 2>&1 || true)
		if [[ $out == *" 1 succeeded,"* ]]; then
			# h2o 2.2.5 (without start_server) does not fork: the process
			# we started accepts and serves, on its own threads, and it is
			# the one its pid file names. Its only child is an idle
			# annotate-backtrace-symbols helper, for crash reports.
			if [[ $name == h2o && $(<"$WORK/h2o.pid") != "${PID[$name]}" ]]; then
				die "h2o's pid file names $(<"$WORK/h2o.pid"), not ${PID[$name]}"
			fi
			echo "== $name: pid ${PID[$name]}, http://127.0.0.1:$FREE_PORT/"
			return
		fi
		sleep 0.1
	done
	cat "$WORK/$name.log" >&2
	die "$name does not answer on port $FREE_PORT"
}

# proc_sample PID prints "CPU-TICKS WRITES" for the process and its
# children. /proc/PID/stat's utime+stime and /proc/PID/io's syscw already
# cover every thread (live or exited) of the process; cutime+cstime add any
# reaped children. Summing over live children too keeps the count right for
# a server that hands work to child processes (h2o's one child is idle).
# syscw counts every write-class system call (write, writev, sendmsg...),
# including a Go runtime's netpoller wake-ups, not only socket writes.
proc_sample() {
	local pid f ticks=0 writes=0 key val stat io
	for pid in "$1" $(pgrep -P "$1" || true); do
		# (A process may be gone by now: skip it.)
		stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		io=$(cat "/proc/$pid/io" 2>/dev/null) || continue
		read -ra f <<<"${stat##*) }" # f[0] is field 3 (state)
		ticks=$((ticks + f[11] + f[12] + f[13] + f[14]))
		while read -r key val; do
			if [[ $key == syscw: ]]; then writes=$((writes + val)); fi
		done <<<"$io"
	done
	echo "$ticks $writes"
}

# parse_h2load FILE N prints "REQ/S BYTES/S" from h2load's output, or fails
# unless all N requests succeeded with a 2xx. h2load's KB, MB and GB are
# powers of 1024.
parse_h2load() {
	awk -v n="$2" '
	{ gsub(/,/, "") }
	$1 == "finished" {
		rps = $4; bps = $6 + 0; unit = $6; sub(/^[0-9.]+/, "", unit)
		if (unit == "KB/s") bps *= 1024
		else if (unit == "MB/s") bps *= 1024 * 1024
		else if (unit == "GB/s") bps *= 1024 * 1024 * 1024
		else if (unit != "B/s") bad = 1
	}
	$1 == "requests:" { for (i = 2; i < NF; i++) count[$(i + 1)] = $i }
	$1 == "status" && $4 == "2xx" { ok2xx = $3 }
	END {
		if (bad || rps == "" || count["succeeded"] != n || ok2xx != n ||
		    count["failed"] != 0 || count["errored"] != 0 || count["timeout"] != 0)
			exit 1
		print rps, bps
	}' "$1"
}

CLK_TCK=$(getconf CLK_TCK)
TIMEFORMAT='%R %U %S' # bash's time: wall, user and system seconds
FAILED=0
declare -A RPS MIBS CPU_US WRITES SERVER CLIENT # by "case/server": one value per run
declare -A RUN_FAILED                    # by "case/server": set if a run failed

# run_h2load CASE SERVER N: one h2load run; N=0 means a measured run with the
# case's request count, otherwise an unmeasured warm-up of N requests.
run_h2load() {
	local case=$1 srv=$2 warm=$3 path n args before after times res key
	local rps mibs cpu wr sv cl
	read -r path n args <<<"$(case_spec "$case")"
	((warm == 0)) || n=$warm
	local out=$WORK/h2load.out
	before=$(proc_sample "${PID[$srv]}")
	# shellcheck disable=SC2086 # args is a list of flags
	{ time "${PIN_CLIENT[@]}" h2load -n "$n" $args "http://127.0.0.1:${PORT[$srv]}$path" >"$out" 2>&1; } 2>"$WORK/time" || true
	after=$(proc_sample "${PID[$srv]}")
	times=$(<"$WORK/time")
	if ! res=$(parse_h2load "$out" "$n"); then
		echo "FAIL: $case $srv: h2load -n $n $args $path:" >&2
		grep -E '^(requests|status codes|client|finished)' "$out" | sed 's/^/    /' >&2 || tail -5 "$out" >&2
		FAILED=1 RUN_FAILED[$case/$srv]=1
		return
	fi
	((warm == 0)) || return 0
	key=$case/$srv
	# Server CPU per request, writes per response, and the server's and
	# h2load's CPU time over h2load's wall time.
	read -r rps mibs cpu wr sv cl < <(echo "$res $before $after $times" | awk -v n="$n" -v hz="$CLK_TCK" '{
		printf "%.0f %.1f %.2f %.2f %.0f %.0f\n", $1, $2 / 1048576, ($5 - $3) * 1e6 / hz / n,
			($6 - $4) / n, ($5 - $3) * 100 / hz / $7, ($8 + $9) * 100 / $7 }')
	RPS[$key]+="$rps " MIBS[$key]+="$mibs " CPU_US[$key]+="$cpu " WRITES[$key]+="$wr "
	SERVER[$key]+="$sv " CLIENT[$key]+="$cl "
	printf '   %-7s %-8s %8s req/s %7s MiB/s %8s srv-us/req %5s writes/resp  CPU: server %3s%%, h2load %3s%%\n' \
		"$case" "$srv" "$rps" "$mibs" "$cpu" "$wr" "$sv" "$cl"
}

# median FORMAT LIST prints the median of the space-separated numbers in
# LIST with the printf FORMAT, or "-" for none.
median() {
	tr ' ' '\n' <<<"$2" | sort -g | awk -v f="$1\n" 'NF { a[++n] = $1 }
		END { if (!n) print "-"; else printf f, n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }'
}

for s in $SERVERS; do start_server "$s"; done

for c in $CASES; do
	read -r _ n _ <<<"$(case_spec "$c")"
	echo "== $c: h2load $(case_spec "$c" | cut -d' ' -f3-), $n requests"
	# A warm-up of a tenth of the requests (page cache, Go heap size, TCP
	# buffers), not measured; at least 32, h2load needing a request per client.
	for s in $SERVERS; do run_h2load "$c" "$s" $((n / 10 > 32 ? n / 10 : 32)); done
	for ((r = 0; r < RUNS; r++)); do
		for s in $SERVERS; do run_h2load "$c" "$s" 0; done
	done
done

# ratio A B prints A/B as "1.23x", or "-" unless both are numbers.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b == 0) print "-"; else printf "%.2fx\n", a / b }'
}

# shown CASE SERVER FORMAT LIST prints the median of LIST, or FAIL if a
# run of CASE on SERVER failed.
shown() {
	if [[ -n ${RUN_FAILED[$1/$2]:-} ]]; then echo FAIL; return; fi
	median "$3" "$4"
}

# The table: medians over the runs. srv-CPU% and h2load-CPU% are the
# server's and h2load's CPU time over h2load's wall time: a server below
# ~95% was held back by something else (the client near 100%, or other
# processes on its CPU), and its req/s says less than its srv-us/req. The last column is h2proto's median divided by this server's
# (req/s; MiB/s for 1mib): above 1, h2proto is faster.
echo
printf '%-7s %-8s %8s %7s %10s %11s %8s %11s %12s\n' case server req/s MiB/s srv-us/req writes/resp srv-CPU% h2load-CPU% h2proto/this
for c in $CASES; do
	for s in $SERVERS; do
		k=$c/$s
		rps=$(shown "$c" "$s" %.0f "${RPS[$k]:-}") mibs=- ratio=-
		if [[ $c == 1mib ]]; then mibs=$(shown "$c" "$s" %.1f "${MIBS[$k]:-}"); fi
		if [[ $s != h2proto && $c == 1mib ]]; then
			ratio=$(ratio "$(shown "$c" h2proto %.1f "${MIBS[$c/h2proto]:-}")" "$mibs")
		elif [[ $s != h2proto ]]; then
			ratio=$(ratio "$(shown "$c" h2proto %.0f "${RPS[$c/h2proto]:-}")" "$rps")
		fi
		printf '%-7s %-8s %8s %7s %10s %11s %8s %11s %12s\n' "$c" "$s" "$rps" "$mibs" \
			"$(median %.2f "${CPU_US[$k]:-}")" "$(median %.2f "${WRITES[$k]:-}")" \
			"$(median %.0f "${SERVER[$k]:-}")" "$(median %.0f "${CLIENT[$k]:-}")" "$ratio"
	done
done
check_idle "at the end, servers idle"
if ((FAILED)); then die "some runs failed (see FAIL above)"; fi
