#!/bin/sh
# SPDX-License-Identifier: MIT
# count-requests.sh: the daemon's cost per request, counted rather than
# timed, so that it does not depend on the machine's load: instructions
# (valgrind --tool=callgrind) and syscalls (strace -c -f) of shmviewd
# serving bench/count-cycles, per open+release cycle and per open.
#
# Each figure is (run with N cycles - run with 0) / N, so the daemon's start
# and stop cancel out; per open comes from N opens held to the end (their
# leases end at the disconnect, which that figure includes), per release is
# the cycle minus the open. Repeatable to within a few instructions.
#
# Usage: bench/count-requests.sh [BUILDDIR [N]]   (default: . and 2000)
# Needs valgrind and strace; builds bench/count-cycles in BUILDDIR.
set -eu

B=$(cd "${1:-.}" && pwd)
N=${2:-2000}
make -s -C "$B" shmviewd bench/count-cycles >/dev/null
work=$(mktemp -d "${TMPDIR:-/tmp}/count-requests.XXXXXX")
prefix="countreq$$"
trap 'rm -rf "$work"; rm -f /dev/shm/"$prefix".* /dev/shm/"$prefix"..lock' EXIT

# run TOOL N MODE: one daemon under TOOL (cg or st), one client run.
run() {
  dir="$work/$1-$2-$3"
  mkdir -m 700 "$dir"
  opts="--socket $dir/s.sock --prefix $prefix --grace 0 --log-level error"
  case $1 in
  cg) # shellcheck disable=SC2086 # opts is split on purpose (no spaces in it)
      valgrind --tool=callgrind --callgrind-out-file="$dir/out" "$B/shmviewd" $opts 2>"$dir/log" &
      ;;
  st) # shellcheck disable=SC2086
      strace -f -c -o "$dir/out" "$B/shmviewd" $opts 2>"$dir/log" &
      ;;
  esac
  pid=$!
  i=0
  until [ -S "$dir/s.sock" ]; do
    i=$((i + 1))
    if [ $i -gt 300 ]; then
      echo "count-requests: the daemon did not start" >&2
      cat "$dir/log" >&2
      exit 1
    fi
    sleep 0.1
  done
  SHMVIEW_RECONNECT_MS=0 "$B/bench/count-cycles" "$dir/s.sock" "$2" "$3"
  if [ "$1" = st ]; then
    kill -TERM "$(pgrep -P "$pid")" # the daemon; strace then writes its summary
  else
    kill -TERM "$pid"
  fi
  wait "$pid" || true
  rm -f /dev/shm/"$prefix".* /dev/shm/"$prefix"..lock
}

ir() { sed -n 's/^summary: *//p' "$work/cg-$1-$2/out"; }
# calls per syscall name, from strace -c's table
calls() { awk '$NF != "total" && $4 ~ /^[0-9]+$/ { print $NF, $4 }' "$work/st-$1-$2/out"; }

for mode in cycle hold; do
  for n in 0 "$N"; do
    run cg "$n" "$mode"
    run st "$n" "$mode"
  done
done

awk -v n="$N" \
  -v c0="$(ir 0 cycle)" -v c1="$(ir "$N" cycle)" -v h0="$(ir 0 hold)" -v h1="$(ir "$N" hold)" \
  'BEGIN {
     cyc = (c1 - c0) / n; opn = (h1 - h0) / n
     printf "instructions per cycle %.0f, per open %.0f, per release %.0f\n", cyc, opn, cyc - opn
   }'
for mode in cycle hold; do
  calls 0 "$mode" >"$work/a"
  calls "$N" "$mode" >"$work/b"
  awk -v n="$N" -v what="$([ $mode = cycle ] && echo 'per cycle' || echo 'per open')" '
    FNR == NR { a[$1] = $2; next }
    { d[$1] = ($2 - a[$1]) / n; delete a[$1] }
    END {
      for (k in a) d[k] = -a[k] / n
      for (k in d) if (d[k] > 0.005 || d[k] < -0.005) { line = line sprintf(" %s %.3f", k, d[k]); t += d[k] }
      printf "syscalls %s %.3f:%s\n", what, t, line
    }' "$work/a" "$work/b"
done
