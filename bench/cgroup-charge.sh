#!/bin/sh
# SPDX-License-Identifier: MIT
# cgroup-charge.sh: which memory cgroup pays for a segment, the daemon's or
# the client's ("the container's")? docs/containers.md, "Which cgroup pays".
#
# Two sibling cgroups, "daemon" and "container"; the built shmviewd runs in
# the first, the shmview tool in the second creates a segment, then writes
# every byte of it (head | shmview write: the client's own mapping touches
# each page). The memory usage of both cgroups is printed before, after the
# create and after the touch, for each --reserve the daemon knows. Then the
# container gets a memory limit below the segment's size and does it again:
# does the client stay within its limit?
#
# Memory is charged to the cgroup of the task that allocates the page
# (cgroup v1 and v2 alike): posix_fallocate in the daemon allocates them all.
#
# Usage (root): bench/cgroup-charge.sh [BUILDDIR [SIZE_MIB [LIMIT_MIB]]]
#   defaults: . 512 256. Uses cgroup v2 (memory.current, memory.max) where
#   the memory controller is there, else cgroup v1 (memory.usage_in_bytes,
#   memory.limit_in_bytes). Leaves nothing in /dev/shm or the cgroup tree.
set -eu

B=$(cd "${1:-.}" && pwd)
MIB=${2:-512}
LIMIT=${3:-256}

if [ "$(id -u)" != 0 ]; then
  echo "cgroup-charge: needs root (to make cgroups)" >&2
  exit 1
fi

# The memory hierarchy: v2 (unified) first, then v1.
if grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
  base=/sys/fs/cgroup V=2
elif grep -qw memory /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; then
  base=/sys/fs/cgroup/unified V=2
elif [ -f /sys/fs/cgroup/memory/memory.usage_in_bytes ]; then
  base=/sys/fs/cgroup/memory V=1
else
  echo "cgroup-charge: no memory cgroup controller here" >&2
  exit 1
fi
if [ "$V" = 2 ]; then
  usage=memory.current limit=memory.max
else
  usage=memory.usage_in_bytes limit=memory.limit_in_bytes
fi

top="$base/shmview-charge-$$"
work=$(mktemp -d "${TMPDIR:-/tmp}/cgroup-charge.XXXXXX")
prefix="cgcharge$$"
daemon_pid=
cleanup() {
  [ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" || true
  rm -f /dev/shm/"$prefix".* /dev/shm/"$prefix"..lock
  for g in container daemon; do
    [ -d "$top/$g" ] && rmdir "$top/$g"
  done
  [ -d "$top" ] && rmdir "$top"
  rm -rf "$work"
}
trap cleanup EXIT

mkdir "$top"
if [ "$V" = 2 ]; then
  echo +memory >"$base/cgroup.subtree_control" 2>/dev/null || true
  echo +memory >"$top/cgroup.subtree_control"
fi
mkdir "$top/daemon" "$top/container"

mib() { echo $(($(cat "$top/$1/$usage") / 1048576)); }
show() { printf '  %-34s daemon %5s MiB   container %5s MiB\n' "$1" "$(mib daemon)" "$(mib container)"; }

start_daemon() { # start_daemon RESERVE-ARGS...
  sock="$work/s.sock"
  sh -c 'echo $$ >"$1/cgroup.procs"; shift; exec "$@"' sh "$top/daemon" \
    "$B/shmviewd" --socket "$sock" --prefix "$prefix" --grace 0 --log-level error \
    --quota-bytes 0 --max-total-size 0 "$@" &
  daemon_pid=$!
  i=0
  until [ -S "$sock" ]; do
    i=$((i + 1))
    [ $i -gt 300 ] && { echo "cgroup-charge: the daemon did not start" >&2; exit 1; }
    sleep 0.1
  done
}
stop_daemon() {
  kill -TERM "$daemon_pid"
  wait "$daemon_pid" || true
  daemon_pid=
  rm -f /dev/shm/"$prefix".* /dev/shm/"$prefix"..lock "$work"/*
}
# in_container CMD: run a shell command line in the "container" cgroup.
in_container() {
  sh -c 'echo $$ >"$1/cgroup.procs"; shift; exec sh -c "$1"' sh "$top/container" "$1"
}

echo "cgroup v$V under $base; a $MIB MiB segment, created and written by the container"
reserves="daemon"
if "$B/shmviewd" --help 2>&1 | grep -q -- '--reserve'; then
  reserves="daemon none"
fi
client="SHMVIEW_SOCKET=$work/s.sock $B/shmview"
for r in $reserves; do
  if [ "$reserves" = daemon ]; then
    ropt=
    echo "this daemon has no --reserve: it reserves every segment (posix_fallocate)"
  else
    ropt="--reserve $r"
    echo "--reserve $r:"
  fi
  # shellcheck disable=SC2086 # ropt is split on purpose
  start_daemon $ropt
  show "before"
  in_container "$client create seg ${MIB}M"
  show "after create"
  in_container "tr '\\000' x </dev/zero | head -c ${MIB}M | $client write seg"
  show "after the container wrote it"
  in_container "$client rm seg"
  show "after rm"
  stop_daemon

  # The same under a limit on the container below the segment's size.
  echo $((LIMIT * 1048576)) >"$top/container/$limit"
  # shellcheck disable=SC2086
  start_daemon $ropt
  set +e
  in_container "$client create seg ${MIB}M && tr '\\000' x </dev/zero | head -c ${MIB}M | $client write seg" \
    >"$work/out" 2>&1
  rc=$?
  set -e
  if [ $rc = 0 ]; then
    echo "  container limited to $LIMIT MiB: wrote all $MIB MiB (daemon $(mib daemon) MiB, container $(mib container) MiB): the limit did not apply"
  else
    echo "  container limited to $LIMIT MiB: failed with status $rc (daemon $(mib daemon) MiB, container $(mib container) MiB): the limit applied"
  fi
  in_container "$client rm seg" 2>/dev/null || true
  stop_daemon
  echo max >"$top/container/$limit" 2>/dev/null || echo -1 >"$top/container/$limit"
done
