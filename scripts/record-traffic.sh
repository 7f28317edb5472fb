#!/usr/bin/env bash
# Records real HTTP/2 traffic to seed the fuzzers: fuzz/testdata/traffic/
#
#   server/<source>-<n>.bin  the bytes `h2 serve -h2c -record` received on
#                            connection n from a real client (h2spec, curl,
#                            nghttp, h2load, python-hyper h2): each starts
#                            with the client preface
#   client/<source>-<n>.bin  the bytes `h2 get -h2c -record` received from a
#                            real server (nghttpd, h2o, python-hyper h2, and
#                            h2 serve itself): each starts with a SETTINGS
#
# It replaces the old recordings, drops empty files, cuts every file to its
# first 64 KiB (fuzzers take prefixes fine), checks that the whole stays
# under ~1.5 MB, writes fuzz/testdata/traffic/README.md (peer versions,
# date, the table of files) and prints that table.
#
# Everything runs on 127.0.0.1 and is bounded: each client run by
# PEER_TIMEOUT, each server by SERVER_LIFETIME. A peer that is missing is
# skipped (scripts/test.sh installs them); a peer run that fails is
# reported, the rest goes on, and the script exits 1 at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=fuzz/testdata/traffic
SERVER_DIR=$OUT/server
CLIENT_DIR=$OUT/client
MAX_FILE=$((64 << 10))       # bytes kept of one recording
MAX_TOTAL=$((1536 << 10))    # bytes of all the recordings together
PEER_TIMEOUT=30              # seconds, one client run (h2spec: 3x)
SERVER_LIFETIME=600          # seconds, the most a server may live
START_TIMEOUT=10             # seconds, a server's wait to listen
PY=/usr/bin/python3          # the interpreter with python3-h2
PY_PEER=interop/testdata/h2peer.py
H2SPEC=${H2SPEC:-$PWD/.tools/h2spec}
export PATH="$PATH:/usr/sbin"

work=$(mktemp -d)
server_pids=()
failures=()
skipped=()

cleanup() {
  local pid
  for pid in "${server_pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${server_pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
have_pyh2() { [ -x "$PY" ] && "$PY" -c 'import h2' >/dev/null 2>&1; }

# skip SOURCE REASON notes a source that could not be recorded.
skip() {
  echo "skipped $1: $2"
  skipped+=("$1: $2")
}

# run NAME CMD... runs one client under PEER_TIMEOUT, its output appended
# to $work/NAME.log; a failure is noted and reported, not fatal.
run() {
  local name=$1 rc=0
  shift
  timeout -k 5 "$PEER_TIMEOUT" "$@" >>"$work/$name.log" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    echo "FAILED ($rc): $*"
    tail -n 5 "$work/$name.log" | sed 's/^/    /'
    failures+=("$name: exit $rc: $*")
  fi
}

# start_server LOG CMD... starts a server in the background under
# SERVER_LIFETIME, its output to LOG; the pid goes to $server_pid.
start_server() {
  local log=$1
  shift
  timeout -k 5 "$SERVER_LIFETIME" "$@" >"$log" 2>&1 &
  server_pid=$!
  server_pids+=("$server_pid")
}

# stop_server PID sends SIGTERM and waits (at most 15 s) for the exit,
# killing the server if it lingers.
stop_server() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local left=() p
  for p in "${server_pids[@]}"; do
    if [ "$p" != "$pid" ]; then left+=("$p"); fi
  done
  server_pids=("${left[@]}")
}

# wait_log PID LOG REGEX waits until LOG has a line matching REGEX (an ERE)
# and prints the first match; it fails if the server exits or
# START_TIMEOUT passes first.
wait_log() {
  local pid=$1 log=$2 re=$3 i
  for ((i = 0; i < START_TIMEOUT * 10; i++)); do
    if grep -qE "$re" "$log" 2>/dev/null; then
      grep -oE "$re" "$log" | head -n 1
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "the server did not log /$re/ within ${START_TIMEOUT}s; its output:" >&2
  sed 's/^/    /' "$log" >&2
  return 1
}

# wait_port PID PORT waits until 127.0.0.1:PORT accepts a connection (used
# for the peer servers only: it would be recorded by ours).
wait_port() {
  local pid=$1 port=$2 i
  for ((i = 0; i < START_TIMEOUT * 10; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "nothing accepted connections on 127.0.0.1:$port within ${START_TIMEOUT}s" >&2
  return 1
}

# free_port prints a port of 127.0.0.1 that was free a moment ago.
free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

step "build h2"
h2="$work/h2"
go build -o "$h2" ./cmd/h2

# Fixtures: what the servers serve and the clients post. Text, so that the
# recordings are the same from run to run wherever the peers allow.
files="$work/files"
mkdir -p "$files"
printf 'hello from the h2proto traffic recorder\n' >"$files/hello.txt"
yes 'h2proto traffic fixture 0123456789 abcdefghijklmnopqrstuvwxyz' | head -c 20000 >"$files/big.txt" || true
yes 'h2proto posted body 0123456789' | head -c 40000 >"$work/payload" || true
printf 'a short request body' >"$work/small"

rm -f "$SERVER_DIR"/*.bin "$CLIENT_DIR"/*.bin
mkdir -p "$SERVER_DIR" "$CLIENT_DIR"

# ---------------------------------------------------------------------------
# Server side: `h2 serve -h2c -record` driven by real clients, one server
# process per source so that each numbers its connections from 1.

# with_serve SOURCE FUNC starts `h2 serve` recording as SOURCE, calls FUNC
# with its address, and stops it (which closes the last recordings).
with_serve() {
  local source=$1 fn=$2 log="$work/serve-$1.log" addr
  start_server "$log" "$h2" serve -h2c -addr 127.0.0.1:0 -dir "$files" \
    -record "$SERVER_DIR" -record-prefix "$source"
  local pid=$server_pid
  if ! addr=$(wait_log "$pid" "$log" '127\.0\.0\.1:[0-9]+'); then
    failures+=("$source: h2 serve did not start")
    stop_server "$pid"
    return
  fi
  "$fn" "$addr"
  stop_server "$pid"
  if grep -q -- '-record:' "$log"; then
    failures+=("$source: $(grep -- '-record:' "$log")")
  fi
}

drive_h2spec() {
  local port=${1##*:}
  PEER_TIMEOUT=$((3 * PEER_TIMEOUT)) run h2spec "$H2SPEC" --strict -h 127.0.0.1 -p "$port"
  grep -E '^[0-9]+ tests, ' "$work/h2spec.log" || true
}

drive_curl() {
  local base="http://$1" c=(curl --http2-prior-knowledge -sS --max-time "$PEER_TIMEOUT")
  run curl "${c[@]}" "$base/"
  run curl "${c[@]}" -H 'content-type: application/octet-stream' --data-binary @"$work/payload" "$base/echo"
  run curl "${c[@]}" -I "$base/hello.txt"
  run curl "${c[@]}" -H 'accept: text/plain' -H 'x-custom: curl' "$base/nope"
  run curl "${c[@]}" -X PUT -H 'x-custom: curl' --data-binary @"$work/small" "$base/echo"
  # One request per connection: curl 7.88 (Debian 12) fails a second
  # request on a reused prior-knowledge connection with "Error in the HTTP2
  # framing layer", whatever the server (curl/curl#10634, fixed in 8.0).
}

drive_nghttp() {
  local base="http://$1" n=(nghttp -n -t "$PEER_TIMEOUT")
  run nghttp "${n[@]}" "$base/"
  run nghttp "${n[@]}" -d "$work/small" "$base/echo"
  run nghttp "${n[@]}" -m 4 "$base/hello.txt"
  run nghttp "${n[@]}" "$base/" "$base/hello.txt" "$base/big.txt" "$base/nope"
  # Padding, a header block split into CONTINUATION frames, trailers.
  run nghttp "${n[@]}" -b 16 --continuation --trailer 'x-trailer: nghttp' -d "$work/small" "$base/echo"
  # Small windows: the upload of the echo and WINDOW_UPDATEs for the answer.
  run nghttp "${n[@]}" -w 12 -W 14 -d "$work/payload" "$base/echo"
  # A small HPACK table: dynamic table size updates.
  run nghttp "${n[@]}" --encoder-header-table-size=64 -H 'x-a: 1' -H 'x-b: 2' "$base/hello.txt" "$base/big.txt"
}

drive_h2load() {
  # 200 GETs on 2 connections, 4 streams at a time on each: about 3 KB a
  # connection, since HPACK indexes the repeated fields.
  run h2load h2load -n 200 -c 2 -m 4 -T "$PEER_TIMEOUT" "http://$1/"
}

drive_pyh2() {
  # GET /, a POST to /echo, one ending with trailers, then 6 streams at
  # once: with a 12 KB payload all of it fits in the 64 KiB kept.
  head -c 12000 "$work/payload" >"$work/payload-12k"
  run pyh2 "$PY" "$PY_PEER" client --addr "$1" --payload "$work/payload-12k" --streams 6 --timeout "$PEER_TIMEOUT"
}

step "server side: h2spec --strict"
if [ -x "$H2SPEC" ]; then with_serve h2spec drive_h2spec; else skip h2spec "not at $H2SPEC (scripts/test.sh installs it)"; fi
step "server side: curl"
if have curl; then with_serve curl drive_curl; else skip curl "not found"; fi
step "server side: nghttp"
if have nghttp; then with_serve nghttp drive_nghttp; else skip nghttp "not found"; fi
step "server side: h2load"
if have h2load; then with_serve h2load drive_h2load; else skip h2load "not found"; fi
step "server side: python-hyper h2 client"
if have_pyh2; then with_serve pyh2 drive_pyh2; else skip pyh2 "$PY cannot import h2"; fi

# ---------------------------------------------------------------------------
# Client side: `h2 get -h2c -record` against real servers, a file per
# request.

# get_all SOURCE BASE SMALL BIG fetches BASE+SMALL and BASE+BIG, posts to
# /echo, and fetches a path that is not there (404), recording as SOURCE.
get_all() {
  local source=$1 base=$2 small=$3 big=$4
  local g=("$h2" get -h2c -timeout "${PEER_TIMEOUT}s" -record "$CLIENT_DIR" -record-prefix "$source" -o /dev/null)
  run "get-$source" "${g[@]}" "$base$small"
  run "get-$source" "${g[@]}" "$base$big"
  run "get-$source" "${g[@]}" -d @"$work/payload" "$base/echo"
  run "get-$source" "${g[@]}" -d 'a short request body' -H 'x-custom: h2proto' "$base/echo"
  run "get-$source" "${g[@]}" "$base/nope"
}

step "client side: nghttpd"
if have nghttpd; then
  port=$(free_port)
  # Padded frames and response trailers, besides the echo of uploads.
  start_server "$work/nghttpd.log" nghttpd -a 127.0.0.1 -d "$files" --echo-upload \
    -b 16 --trailer 'x-trailer: nghttpd' --no-tls "$port"
  pid=$server_pid
  if wait_port "$pid" "$port"; then
    get_all nghttpd "http://127.0.0.1:$port" /hello.txt /big.txt
  else
    failures+=("nghttpd: did not start")
  fi
  stop_server "$pid"
else
  skip nghttpd "not found"
fi

# h2o_config PORT DIR writes the h2o configuration: cleartext HTTP/2 with
# prior knowledge on PORT, the fixtures, and an echo of the request body at
# /echo (mruby). Run as root, h2o would switch to "nobody", who cannot
# read the temporary directories: it is told to stay (as interop does).
h2o_config() {
  local port=$1 dir=$2
  if [ "$(id -u)" = 0 ]; then echo "user: $(id -un)"; fi
  cat <<EOF
num-threads: 1
error-log: "$dir/error.log"
access-log: "$dir/access.log"
pid-file: "$dir/h2o.pid"
listen:
  host: 127.0.0.1
  port: $port
hosts:
  "default":
    paths:
      "/echo":
        mruby.handler: |
          Proc.new do |env|
            [200, {"content-type" => "application/octet-stream"}, [env["rack.input"] ? env["rack.input"].read : ""]]
          end
      "/":
        file.dir: "$files"
EOF
}

step "client side: h2o"
if have h2o; then
  port=$(free_port)
  mkdir -p "$work/h2o"
  h2o_config "$port" "$work/h2o" >"$work/h2o/h2o.conf"
  start_server "$work/h2o.log" h2o -c "$work/h2o/h2o.conf"
  pid=$server_pid
  if wait_port "$pid" "$port"; then
    get_all h2o "http://127.0.0.1:$port" /hello.txt /big.txt
  else
    failures+=("h2o: did not start")
    cat "$work/h2o/error.log" 2>/dev/null | tail -n 5 | sed 's/^/    /' || true
  fi
  stop_server "$pid"
else
  skip h2o "not found"
fi

step "client side: python-hyper h2 server"
if have_pyh2; then
  start_server "$work/pyh2-server.log" "$PY" "$PY_PEER" server --timeout 60
  pid=$server_pid
  if addr=$(wait_log "$pid" "$work/pyh2-server.log" '127\.0\.0\.1:[0-9]+'); then
    get_all pyh2 "http://$addr" /size/100 /size/20000
  else
    failures+=("pyh2: the server did not start")
  fi
  stop_server "$pid"
  # It reports what it found wrong in a client as "ERROR:" lines.
  if grep -q 'ERROR:' "$work/pyh2-server.log"; then
    grep 'ERROR:' "$work/pyh2-server.log" | head -n 5 | sed 's/^/    /'
    failures+=("pyh2: the python server reported errors")
  fi
else
  skip pyh2-server "$PY cannot import h2"
fi

step "client side: h2 serve"
start_server "$work/h2proto-server.log" "$h2" serve -h2c -addr 127.0.0.1:0 -dir "$files"
pid=$server_pid
if addr=$(wait_log "$pid" "$work/h2proto-server.log" '127\.0\.0\.1:[0-9]+'); then
  get_all h2proto "http://$addr" /hello.txt /big.txt
else
  failures+=("h2proto: h2 serve did not start")
fi
stop_server "$pid"

# ---------------------------------------------------------------------------
step "trim"
find "$SERVER_DIR" "$CLIENT_DIR" -name '*.bin' -empty -print -delete | sed 's/^/deleted empty /'
find "$SERVER_DIR" "$CLIENT_DIR" -name '*.bin' -size +"$MAX_FILE"c -print | while read -r f; do
  echo "cut $f ($(stat -c %s "$f") bytes) to $MAX_FILE"
  truncate -s "$MAX_FILE" "$f"
done

# summary prints a Markdown table: files and bytes per side and source.
summary() {
  local side
  echo "| side | source | files | bytes |"
  echo "| --- | --- | ---: | ---: |"
  for side in server client; do
    find "$OUT/$side" -name '*.bin' -printf '%f %s\n' | sort |
      awk -v side="$side" '{ p = $1; sub(/-[0-9]+\.bin$/, "", p); n[p]++; b[p] += $2; if (!(p in seen)) { seen[p] = 1; order[++k] = p } }
        END { for (i = 1; i <= k; i++) printf "| %s | %s | %d | %d |\n", side, order[i], n[order[i]], b[order[i]] }'
  done
  find "$OUT" -name '*.bin' -printf '%s\n' | awk '{ n++; b += $1 } END { printf "| all | | %d | %d |\n", n, b }'
}

total=$(find "$OUT" -name '*.bin' -printf '%s\n' | awk '{ b += $1 } END { print b + 0 }')
if [ "$total" -gt "$MAX_TOTAL" ]; then
  failures+=("the recordings take $total bytes, more than $MAX_TOTAL: record less")
fi

# version TOOL ARGS... prints the first line of a tool's version, or
# "not installed".
version() {
  if have "$1"; then "$@" 2>&1 | head -n 1; else echo "not installed"; fi
}

step "README"
{
  h2spec_version="not installed"
  if [ -x "$H2SPEC" ]; then
    h2spec_version="$("$H2SPEC" --version 2>&1 | head -n 1)"
    mod=$(go version -m "$H2SPEC" 2>/dev/null | awk '$1 == "mod" { print $2 "@" $3 }')
    if [ -n "$mod" ]; then h2spec_version="$h2spec_version (module $mod)"; fi
  fi
  pyh2_version="not installed"
  if have_pyh2; then pyh2_version="h2 $("$PY" -c 'import h2; print(h2.__version__)'), Python $("$PY" -c 'import sys; print(sys.version.split()[0])')"; fi
  cat <<EOF
# Recorded HTTP/2 traffic

Seeds for the fuzzers in fuzz/ (fuzz/traffic_test.go reads them): the
bytes of real HTTP/2 connections, one file per connection, on loopback,
cleartext with prior knowledge (h2c).

- \`server/<source>-<n>.bin\`: what \`h2 serve -h2c -record\` received on
  its n-th connection from a real client: the client preface
  (\`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\`), then the client's frames. Sources:
  h2spec (\`--strict\`, every case a connection, some of them deliberately
  broken), curl, nghttp (padding, CONTINUATION, trailers, small windows, a
  small HPACK table), h2load and python-hyper h2's client
  (interop/testdata/h2peer.py).
- \`client/<source>-<n>.bin\`: what \`h2 get -h2c -record\` received from a
  real server, starting with its SETTINGS: nghttpd (with padding and
  trailers), h2o, python-hyper h2's server and h2proto's own \`h2 serve\`
  (source h2proto), for a small file, a larger one, two POSTs to /echo and
  a path that is not there (404).

Empty recordings are dropped and every file is cut to its first
$MAX_FILE bytes (a fuzzer takes a prefix as well as a whole).

Regenerate them with \`scripts/record-traffic.sh\` (it replaces every
\`.bin\` here and rewrites this file). The peers come from Debian packages
and h2spec from \`go install\`, as scripts/test.sh installs them.

Recorded on $(date -u +%Y-%m-%d) with h2proto at commit $(git rev-parse --short HEAD 2>/dev/null || echo "(unknown)"), $(go env GOVERSION), and:

- curl: $(version curl --version)
- nghttp: $(version nghttp --version)
- h2load: $(version h2load --version)
- nghttpd: $(version nghttpd --version)
- h2o: $(version h2o --version)
- h2spec: $h2spec_version
- python-hyper h2: $pyh2_version

$(summary)
EOF
} >"$OUT/README.md"

step "summary"
summary
for s in "${skipped[@]}"; do echo "skipped: $s"; done
if [ "${#failures[@]}" -gt 0 ]; then
  echo
  echo "FAILURES:"
  for f in "${failures[@]}"; do echo "  $f"; done
  exit 1
fi
echo "recorded $total bytes in $OUT"
