# SPDX-License-Identifier: MIT
# lib.sh: what the shell tests against the built daemon share, sourced by
# them (. "${srcdir:-.}/tests/lib.sh") after `set -eu`.
#
# test_init NAME makes a private directory $dir (under $SHMVIEW_TEST_TMPDIR),
# a unique shm $prefix and a default socket path $sock, and arranges that
# at exit the daemons named in $daemon and $listener are stopped and
# /dev/shm/$prefix.* and $dir are removed. Then: ok and fail to report,
# run and err_has to check a command's status and stderr, sv for the CLI on
# $sock, wait_up and stop_daemon for the daemon in $daemon.

: "${SHMVIEWD:?SHMVIEWD must name the built shmviewd}"
: "${SHMVIEW_CLI:?SHMVIEW_CLI must name the built shmview}"

test_init() {
  tmproot=${SHMVIEW_TEST_TMPDIR:-/tmp}
  mkdir -p "$tmproot"
  dir=$(mktemp -d "$tmproot/$1.XXXXXX")
  sock=$dir/s.sock
  rnd=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
  prefix=$1$$x$rnd
  daemon=
  listener=
  trap test_cleanup EXIT
  trap 'exit 1' INT TERM HUP
}

test_cleanup() {
  st=$?
  for p in $daemon $listener; do
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -f /dev/shm/"$prefix".* 2>/dev/null || true
  rm -rf "$dir"
  exit $st
}

ok() { echo "ok - $*"; }

# fail MESSAGE: say what differed, with the tails of the last command's
# stderr and of the daemon's log, and stop the test.
fail() {
  echo "FAIL - $*"
  for f in err daemon.log notify.log; do
    if [ -s "$dir/$f" ]; then echo "  $f:"; tail -n 20 "$dir/$f" | sed 's/^/    /'; fi
  done
  exit 1
}

# run STATUS CMD...: run CMD with stdout to $dir/out, stderr to $dir/err and
# require exit status STATUS.
run() {
  want=$1; shift
  set +e
  "$@" >"$dir/out" 2>"$dir/err"
  got=$?
  set -e
  [ "$got" -eq "$want" ] || fail "$* exited $got, expected $want"
}

# err_has TEXT: stderr of the last run contains TEXT.
err_has() {
  grep -qF -- "$1" "$dir/err" || fail "stderr lacks '$1'"
}

sv() { "$SHMVIEW_CLI" --socket "$sock" "$@"; }

# wait_up: until the daemon ($daemon) answers on $sock (10 s at most).
wait_up() {
  i=0
  until sv status >/dev/null 2>&1; do
    i=$((i + 1))
    kill -0 "$daemon" 2>/dev/null || { daemon=; fail "shmviewd exited at start"; }
    [ $i -lt 100 ] || fail "shmviewd did not answer on $sock within 10 s"
    sleep 0.1
  done
}

# stop_daemon: SIGTERM the daemon and require exit 0.
stop_daemon() {
  kill -TERM "$daemon"
  set +e
  wait "$daemon"
  st=$?
  set -e
  daemon=
  [ "$st" -eq 0 ] || fail "shmviewd exited $st after SIGTERM"
}
