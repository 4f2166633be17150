# SPDX-License-Identifier: MIT
# cli-daemon.sh: sourced by the CLI's shell tests (test-cli.sh,
# test-completion.sh) after `set -eu`: a temporary directory $dir, a shmviewd
# of their own on $sock with a unique --prefix, and ok/fail/run/err_has.
# On exit the daemon is stopped and the directory and any shm object of the
# prefix are removed. The caller names itself in $test_name.

tmproot=${SHMVIEW_TEST_TMPDIR:-/tmp}
mkdir -p "$tmproot"
dir=$(mktemp -d "$tmproot/$test_name.XXXXXX")
sock=$dir/s.sock
rnd=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
prefix=$test_name$$x$rnd
daemon=

cleanup() {
  st=$?
  if [ -n "$daemon" ]; then
    kill -TERM "$daemon" 2>/dev/null || true
    wait "$daemon" 2>/dev/null || true
  fi
  rm -f /dev/shm/"$prefix".* 2>/dev/null || true
  rm -rf "$dir"
  exit $st
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

ok() { echo "ok - $*"; }
fail() {
  echo "FAIL - $*"
  if [ -s "$dir/err" ]; then echo "  stderr:"; sed 's/^/    /' "$dir/err"; fi
  if [ -s "$dir/daemon.log" ]; then echo "  daemon log (tail):"; tail -n 20 "$dir/daemon.log" | sed 's/^/    /'; fi
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

# ---- start the daemon -------------------------------------------------------
"$SHMVIEWD" --socket "$sock" --prefix "$prefix" 2>"$dir/daemon.log" &
daemon=$!
i=0
until "$SHMVIEW_CLI" --socket "$sock" status >/dev/null 2>&1; do
  i=$((i + 1))
  kill -0 "$daemon" 2>/dev/null || { daemon=; fail "shmviewd exited at start"; }
  [ $i -lt 50 ] || fail "shmviewd did not answer on $sock within 5 s"
  sleep 0.1
done
ok "shmviewd answers on $sock"
