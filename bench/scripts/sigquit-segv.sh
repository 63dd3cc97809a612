#!/usr/bin/env bash
# How often the Go runtime's SIGQUIT handler dies of SIGSEGV on this
# machine, in a program with none of rtbench's code (bench/sigquit: a
# net/http client reading rtbench serve's /sse?rate=50). Each try starts the
# client, waits for its first event, sends SIGQUIT, and records how it
# ended: exit 2 with a goroutine dump is the runtime's promise; "SIGSEGV" is
# the fault cmd's TestProcHarness retries.
#
#   bash bench/scripts/sigquit-segv.sh          # TRIES=60
#
# Loopback only, bounded in time (at most 10 s per try).
set -euo pipefail
TRIES=${TRIES:-60}
PORT=${PORT:-18131}
source "$(dirname "$0")/lib.sh" # the repository as working directory, $tmp, cleanup on exit

build_rtbench
go build -o "$tmp/sigquit" ./bench/sigquit
"$tmp/rtbench" serve --addr "127.0.0.1:$PORT" 2>"$tmp/serve.log" &
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

segv=0 dump=0 other=0
for i in $(seq "$TRIES"); do
  : >"$tmp/err.$i"
  "$tmp/sigquit" -url "http://127.0.0.1:$PORT/sse?rate=50" 2>"$tmp/err.$i" &
  pid=$!
  for _ in $(seq 100); do grep -q ready "$tmp/err.$i" && break; sleep 0.1; done
  kill -QUIT "$pid"
  rc=0
  timeout 10 tail --pid="$pid" -f /dev/null || true
  wait "$pid" || rc=$?
  # A shell reports death by signal N as 128+N: SIGSEGV is 11.
  if (( rc == 139 )); then
    segv=$((segv + 1))
  elif (( rc == 2 )) && grep -q 'SIGQUIT: quit' "$tmp/err.$i"; then
    dump=$((dump + 1))
  else
    other=$((other + 1))
    echo "try $i: exit $rc" >&2
  fi
done
echo "go $(go env GOVERSION), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$TRIES SIGQUITs: $dump dumped and exited 2, $segv died of SIGSEGV, $other other"
