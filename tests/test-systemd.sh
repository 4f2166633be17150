#!/bin/sh
# SPDX-License-Identifier: MIT
# test-systemd.sh: shmviewd under systemd, without systemd as PID 1.
#
#  - the config file: unknown keys, bad values, a missing --config file are
#    errors naming FILE:LINE (exit 78, EX_CONFIG; a bad flag exits 2), at
#    error priority under the journal; the file's values apply; flags win;
#  - JOURNAL_STREAM naming our stderr: lines carry <N> priority prefixes;
#  - NOTIFY_SOCKET (a path, and an abstract @name): READY=1 with a STATUS=,
#    then STOPPING=1 after SIGTERM;
#  - socket activation through systemd-socket-activate: a real client round
#    trip (create, write, cat, rm) on the passed socket, which the daemon
#    must not unlink; bad LISTEN_* variables;
#  - the units after a real install into a temporary DESTDIR: systemd-analyze
#    verify, and systemd-analyze security --offline under a threshold.
#
# Environment (set by make check): SHMVIEWD, SHMVIEW_CLI, SHMVIEW_BUILDDIR,
# SHMVIEW_MAKE, SHMVIEW_TEST_TMPDIR. python3 listens for notifications.
# Helpers: tests/lib.sh.
# Parts whose tool is missing (systemd-analyze, systemd-socket-activate,
# python3) are skipped with a message; the test then exits 77 after every
# other check has passed.
set -eu

PYTHON=$(command -v python3 || true)
ANALYZE=$(command -v systemd-analyze || true)
ACTIVATE=$(command -v systemd-socket-activate || true)

. "${srcdir:-.}/tests/lib.sh"
test_init sd
skipped=

# SHMVIEW_TEST_VALGRIND=1 (make check-valgrind): every daemon runs under
# memcheck; any error or leak fails the test at the end.
VG=
if [ "${SHMVIEW_TEST_VALGRIND-}" = 1 ]; then
  VG="valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --track-fds=no --log-file=$dir/valgrind.%p.log"
fi
export VG

skip() { echo "skip - $*"; skipped="$skipped
  $*"; }

# json_field KEY: the number KEY in $dir/out (status --json)
json_field() {
  sed -n "s/.*\"$1\": *\([0-9][0-9]*\).*/\1/p" "$dir/out"
}

# ---- the config file ---------------------------------------------------------
conf=$dir/shmviewd.conf
printf '# a comment\n\nsokcet = /x\n' >"$conf"
run 78 $VG "$SHMVIEWD" --config "$conf"
err_has "shmviewd: error: $conf:3: unknown key 'sokcet'"
ok "config: unknown key: $(cat "$dir/err")"

printf 'prefix = fine\nframe-max = lots\n' >"$conf"
run 78 $VG "$SHMVIEWD" --config "$conf"
err_has "$conf:2: frame-max: 'lots' is not a size"
ok "config: bad value: $(cat "$dir/err")"

printf 'frame-max = 1K\n' >"$conf"
run 78 $VG "$SHMVIEWD" --config "$conf"
err_has "$conf:1: frame-max: must be between 4K and 16M"
ok "config: value out of range: $(cat "$dir/err")"

printf '   log-level=debug\nprefix = .hidden\n' >"$conf"
run 78 $VG "$SHMVIEWD" --config "$conf"
err_has "$conf:2: prefix: '.hidden' is not a valid prefix"
ok "config: bad prefix: $(cat "$dir/err")"

printf 'max-views 7\n' >"$conf"
run 78 $VG "$SHMVIEWD" --config "$conf"
err_has "$conf:1: expected 'key = value'"
ok "config: a line without '=': $(cat "$dir/err")"

run 78 $VG "$SHMVIEWD" --config "$dir/absent.conf"
err_has "$dir/absent.conf"
ok "config: a missing --config file: $(cat "$dir/err")"

run 2 $VG "$SHMVIEWD" --frame-max 3
err_has "shmviewd: error: --frame-max: must be between 4K and 16M"
ok "flags share the parser: $(cat "$dir/err")"

# Under the journal, a config error is written before the settings are
# known: it must still carry the error priority, so that
# `journalctl -u shmviewd -p err` shows why the service failed.
printf 'sokcet = /x\n' >"$conf"
: >"$dir/err"
jstream=$(stat -c '%d:%i' "$dir/err")
set +e
JOURNAL_STREAM=$jstream $VG "$SHMVIEWD" --config "$conf" 2>>"$dir/err"
st=$?
set -e
[ "$st" -eq 78 ] || fail "a config error under the journal exited $st, not 78"
grep -q "^<3>$conf:1: unknown key 'sokcet'" "$dir/err" ||
  fail "the config error is not at priority 3: $(cat "$dir/err")"
ok "config error under the journal: $(cat "$dir/err")"

: >"$dir/err"
jstream=$(stat -c '%d:%i' "$dir/err")
set +e
JOURNAL_STREAM=$jstream $VG "$SHMVIEWD" --no-such-flag 2>>"$dir/err"
st=$?
set -e
[ "$st" -eq 2 ] || fail "a bad flag exited $st, not 2"
grep -q "^<3>invalid option.*'--no-such-flag'" "$dir/err" ||
  fail "a bad flag is not reported at priority 3: $(cat "$dir/err")"
ok "bad flag under the journal: exit 2, $(head -n 1 "$dir/err")"

# The file's values apply, flags win over them.
sock=$dir/c.sock
cat >"$conf" <<EOF
# shmviewd.conf for the test
socket = $dir/not-this.sock
prefix = $prefix
frame-max = 8K
max-views = 7
log-level = info
EOF
$VG "$SHMVIEWD" --config "$conf" --socket "$sock" --frame-max 16K 2>"$dir/daemon.log" &
daemon=$!
wait_up
run 0 sv status --json
[ "$(json_field frame_max)" = 16384 ] || fail "frame_max is $(json_field frame_max), not 16384 (the flag)"
[ "$(json_field max_views)" = 7 ] || fail "max_views is $(json_field max_views), not 7 (the file)"
[ ! -e "$dir/not-this.sock" ] || fail "the file's socket was used despite --socket"
ok "config: the file sets max-views 7, --frame-max 16K beats its 8K, --socket beats its socket"
stop_daemon

# ---- JOURNAL_STREAM: <N> prefixes when stderr is the journal ----------------
sock=$dir/j.sock
: >"$dir/journal.log"
jstream=$(stat -c '%d:%i' "$dir/journal.log")
JOURNAL_STREAM=$jstream $VG "$SHMVIEWD" --socket "$sock" --prefix "$prefix" \
  --log-level debug 2>>"$dir/journal.log" &
daemon=$!
wait_up
stop_daemon
grep -q '^<6>shmviewd .* serving on ' "$dir/journal.log" ||
  fail "no '<6>' serving line with JOURNAL_STREAM=$jstream: $(head -n 3 "$dir/journal.log")"
grep -q '^<7>' "$dir/journal.log" || fail "no '<7>' debug line"
if grep -v '^<[0-7]>' "$dir/journal.log" | grep -q .; then
  fail "a line without a priority prefix: $(grep -v '^<[0-7]>' "$dir/journal.log" | head -n 1)"
fi
ok "JOURNAL_STREAM=$jstream (stderr's dev:ino): every line has a <N> prefix"

# Another file's dev:ino is not our stderr: plain lines.
: >"$dir/plain.log"
JOURNAL_STREAM=$jstream $VG "$SHMVIEWD" --socket "$sock" --prefix "$prefix" 2>"$dir/plain.log" &
daemon=$!
wait_up
stop_daemon
grep -q '^shmviewd: info: ' "$dir/plain.log" || fail "no plain lines when stderr is not JOURNAL_STREAM"
if grep -q '^<' "$dir/plain.log"; then fail "a <N> prefix although stderr is not the journal"; fi
ok "JOURNAL_STREAM naming another file: plain 'shmviewd: info:' lines"

# ---- NOTIFY_SOCKET: READY=1, STATUS=, STOPPING=1 ----------------------------
# notify_listen ADDRESS: a datagram listener writing each message, with its
# newlines as '|', to $dir/notify.log; it exits after STOPPING=1 (or 30 s).
notify_listen() {
  : >"$dir/notify.log"
  "$PYTHON" - "$1" "$dir/notify.log" <<'EOF' &
import socket, sys, time
addr, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
s.settimeout(1.0)
with open(out + ".ready", "w"):
    pass
end = time.time() + 30
with open(out, "a") as f:
    while time.time() < end:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            continue
        f.write(msg.replace("\n", "|") + "\n")
        f.flush()
        if "STOPPING=1" in msg.split("\n"):
            break
EOF
  listener=$!
  i=0
  until [ -e "$dir/notify.log.ready" ]; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "the notify listener did not start"; sleep 0.1
  done
  rm -f "$dir/notify.log.ready"
}

# notify_check ADDRESS [status]: run the daemon with NOTIFY_SOCKET=ADDRESS
# (and with "status", wait for a STATUS= update after a change)
notify_check() {
  notify_listen "$1"
  sock=$dir/n.sock
  NOTIFY_SOCKET=$1 $VG "$SHMVIEWD" --socket "$sock" --prefix "$prefix" 2>"$dir/daemon.log" &
  daemon=$!
  wait_up
  i=0
  until grep -q 'READY=1' "$dir/notify.log"; do
    i=$((i + 1)); [ $i -lt 50 ] || fail "no READY=1 on $1 within 5 s"; sleep 0.1
  done
  grep 'READY=1' "$dir/notify.log" | grep -q 'STATUS=0 segments (0 B), 0 views, [0-9]* client' ||
    fail "READY=1 came without the STATUS= counters: $(cat "$dir/notify.log")"
  if grep -q 'STOPPING=1' "$dir/notify.log"; then fail "STOPPING=1 before SIGTERM"; fi
  if [ "${2-}" = status ]; then
    # The status timer (every 5 s) reports a change, once.
    run 0 sv create counted 8192
    i=0
    until grep -qx 'STATUS=1 segment (8.0 KiB), 0 views, 0 clients' "$dir/notify.log"; do
      i=$((i + 1)); [ $i -lt 100 ] || fail "no STATUS= update within 10 s: $(cat "$dir/notify.log")"
      sleep 0.1
    done
    run 0 sv rm counted
  fi
  stop_daemon
  wait "$listener" || fail "the notify listener failed"
  listener=
  grep -qx 'STOPPING=1|STATUS=stopping' "$dir/notify.log" ||
    fail "no STOPPING=1 after SIGTERM: $(cat "$dir/notify.log")"
  [ "$(grep -c 'READY=1' "$dir/notify.log")" -eq 1 ] || fail "READY=1 sent more than once"
  ok "NOTIFY_SOCKET=$1: $(tr '\n' ' ' <"$dir/notify.log")"
}

if [ -n "$PYTHON" ]; then
  notify_check "$dir/notify.sock" status
  notify_check "@shmview-test-$prefix"
else
  skip "NOTIFY_SOCKET: python3 not found"
fi

# Nobody listening: the daemon still runs, warns and stops cleanly.
sock=$dir/n.sock
NOTIFY_SOCKET=$dir/nobody.sock $VG "$SHMVIEWD" --socket "$sock" --prefix "$prefix" 2>"$dir/daemon.log" &
daemon=$!
wait_up
stop_daemon
grep -q 'cannot notify the service manager' "$dir/daemon.log" ||
  fail "no warning when NOTIFY_SOCKET has no listener"
ok "NOTIFY_SOCKET without a listener: a warning, no failure"

# ---- socket activation ------------------------------------------------------
# LISTEN_PID naming another process: not ours, bind our own socket.
sock=$dir/own.sock
LISTEN_PID=1 LISTEN_FDS=1 $VG "$SHMVIEWD" --socket "$sock" --prefix "$prefix" 2>"$dir/daemon.log" &
daemon=$!
wait_up
stop_daemon
[ ! -e "$sock" ] || fail "the daemon left its own socket $sock behind"
ok "LISTEN_PID of another process: ignored, the daemon binds (and removes) its own socket"

# fd 3 passed but not a listening socket: exit 1 saying why.
set +e
sh -c 'LISTEN_PID=$$ LISTEN_FDS=1; export LISTEN_PID LISTEN_FDS; exec "$0" "$@"' \
  $VG "$SHMVIEWD" --socket "$dir/x.sock" --prefix "$prefix" 3<"$SHMVIEWD" 2>"$dir/err"
st=$?
set -e
[ "$st" -eq 1 ] || fail "a passed regular file as fd 3: exit $st, expected 1"
err_has "not a listening Unix stream socket"
ok "fd 3 not a listening socket: $(cat "$dir/err")"

set +e
sh -c 'LISTEN_PID=$$ LISTEN_FDS=2; export LISTEN_PID LISTEN_FDS; exec "$0" "$@"' \
  $VG "$SHMVIEWD" --socket "$dir/x.sock" --prefix "$prefix" 3<"$SHMVIEWD" 4<"$SHMVIEWD" 2>"$dir/err"
st=$?
set -e
[ "$st" -eq 1 ] || fail "two passed fds: exit $st, expected 1"
err_has "passed 2 sockets"
ok "two passed sockets: $(cat "$dir/err")"

if [ -n "$ACTIVATE" ]; then
  sock=$dir/act.sock
  # systemd-socket-activate binds and listens, then on the first connection
  # execs shmviewd (same pid) with LISTEN_FDS=1 and the socket as fd 3.
  "$ACTIVATE" -l "$sock" $VG "$SHMVIEWD" --prefix "$prefix" --socket "$dir/unused.sock" \
    2>"$dir/daemon.log" &
  daemon=$!
  i=0
  until [ -S "$sock" ]; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "systemd-socket-activate did not bind $sock"; sleep 0.1
  done
  printf 'hello through a passed socket\n' >"$dir/payload"
  run 0 sv create greeting 4096
  run 0 sv write greeting <"$dir/payload"
  run 0 sv cat greeting:0:30
  cmp -s "$dir/out" "$dir/payload" || fail "cat returned '$(cat "$dir/out")'"
  run 0 sv rm greeting
  run 1 sv cat greeting
  grep -q "using the socket passed by the service manager: $sock (fd 3)" "$dir/daemon.log" ||
    fail "the daemon did not log the passed socket"
  [ ! -e "$dir/unused.sock" ] || fail "the daemon bound --socket despite a passed socket"
  stop_daemon
  [ -S "$sock" ] || fail "the daemon unlinked the passed socket $sock (it belongs to systemd)"
  ok "socket activation: create, write, cat, rm on $sock; the socket survives the daemon"
else
  skip "socket activation: systemd-socket-activate not found (Debian package systemd)"
fi

# ---- the installed units ----------------------------------------------------
if [ -n "$ANALYZE" ] && [ -n "${SHMVIEW_MAKE-}" ] && [ -n "${SHMVIEW_BUILDDIR-}" ]; then
  root=$dir/root
  # Install for real (the same rules as make install), into a DESTDIR.
  env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $SHMVIEW_MAKE -s -C "$SHMVIEW_BUILDDIR" \
    install-systemdsystemunitDATA install-systemduserunitDATA install-sysusersDATA \
    install-tmpfilesDATA install-sbinPROGRAMS DESTDIR="$root" >"$dir/err" 2>&1 ||
    fail "make install into $root failed"
  service=$(find "$root" -path '*/system/shmviewd.service' | head -n 1)
  if [ -z "$service" ]; then
    skip "units: none installed (configured --with-systemdsystemunitdir=no?)"
  else
    unitdir=$(dirname "$service")
    userservice=$(find "$root" -path '*/user/shmviewd.service' | head -n 1)
    exec_path=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$service")
    [ -x "$root$exec_path" ] || fail "ExecStart=$exec_path is not the installed shmviewd"
    # verify needs ExecStart= to exist: look at the installed tree as /,
    # with the host's targets and slices (sysinit.target, ...) beside it.
    mkdir -p "$root/etc/systemd/system"
    for d in /usr/lib/systemd/system /lib/systemd/system; do
      [ -d "$d" ] || continue
      for u in "$d"/*.target "$d"/*.slice; do
        [ -e "$u" ] && cp -P "$u" "$root/etc/systemd/system/" 2>/dev/null || true
      done
    done
    if [ ! -e "$root/etc/systemd/system/sysinit.target" ]; then
      skip "units: this host has no sysinit.target to verify them against"
    else
    # verify finds units only in systemd's search path below --root, which
    # a prefix such as distcheck's is not in: verify copies in /etc.
    etc=$root/etc/systemd
    mkdir -p "$etc/user"
    cp "$unitdir/shmviewd.socket" "$service" "$etc/system/"
    [ -z "$userservice" ] || cp "$(dirname "$userservice")/shmviewd.socket" "$userservice" "$etc/user/"
    # The per-tenant template (docs/containers.md), verified as an instance.
    [ -e "$unitdir/shmviewd@.service" ] && [ -e "$unitdir/shmviewd@.socket" ] ||
      fail "the template units shmviewd@.service and shmviewd@.socket were not installed"
    cp "$unitdir/shmviewd@.service" "$unitdir/shmviewd@.socket" "$etc/system/"
    ln -s shmviewd@.service "$etc/system/shmviewd@lint.service"
    ln -s shmviewd@.socket "$etc/system/shmviewd@lint.socket"
    grep -q '^ExecStart=.* --socket /run/shmview-%i/shmview.sock --prefix shmview-t-%i ' \
      "$etc/system/shmviewd@.service" ||
      fail "shmviewd@.service: ExecStart= does not give the instance its socket and prefix"
    grep -qx 'ListenStream=/run/shmview-%i/shmview.sock' "$etc/system/shmviewd@.socket" ||
      fail "shmviewd@.socket does not listen on /run/shmview-%i/shmview.sock"
    run 0 "$ANALYZE" verify --man=no --root="$root" "$etc/system/shmviewd.socket" \
      "$etc/system/shmviewd.service" ${userservice:+"$etc/user/shmviewd.socket"} \
      ${userservice:+"$etc/user/shmviewd.service"} "$etc/system/shmviewd@lint.socket" \
      "$etc/system/shmviewd@lint.service"
    if grep -v "^$" "$dir/err" | grep -q .; then
      fail "systemd-analyze verify complained: $(cat "$dir/err")"
    fi
    ok "systemd-analyze verify: $(cd "$root" && find . -name 'shmview*' -path '*systemd*' | sort | tr '\n' ' ')"
    grep -q '^u shmview ' "$(find "$root" -path '*sysusers.d/shmview.conf')" ||
      fail "sysusers.d/shmview.conf does not create the shmview user"
    # The exposure score stays where docs/systemd.md says (threshold = 10x).
    run 0 "$ANALYZE" security --offline=true --root="$root" --threshold=10 "$etc/system/shmviewd.service"
    score=$(sed -n 's/.*Overall exposure level for shmviewd.service: \([0-9.]*\).*/\1/p' "$dir/out")
    ok "systemd-analyze security --offline: exposure $score (threshold 1.0)"
    run 0 "$ANALYZE" security --offline=true --root="$root" --threshold=10 "$etc/system/shmviewd@lint.service"
    score=$(sed -n 's/.*Overall exposure level for shmviewd@lint.service: \([0-9.]*\).*/\1/p' "$dir/out")
    ok "systemd-analyze security --offline: shmviewd@lint.service exposure $score (threshold 1.0)"
    fi
  fi
else
  skip "units: systemd-analyze not found (Debian package systemd)"
fi

if [ -n "$VG" ]; then
  for f in "$dir"/valgrind.*.log; do
    [ -s "$f" ] || continue
    echo "valgrind: $f"; cat "$f"
    fail "valgrind reported errors or leaks in shmviewd"
  done
  ok "valgrind: no errors or leaks in any daemon"
fi

if [ -n "$skipped" ]; then
  echo "SKIP: parts needing missing tools:$skipped"
  exit 77
fi
