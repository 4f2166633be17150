#!/bin/sh
# SPDX-License-Identifier: MIT
# test-cli.sh: the shmview tool against the real, built shmviewd.
#
# Environment (set by make check): SHMVIEWD, SHMVIEW_CLI, HEXDUMP (empty:
# skip, exit 77), SHMVIEW_TEST_TMPDIR. Every check prints one line; the
# first failure stops the test with a message saying what differed.
set -eu

: "${SHMVIEWD:?SHMVIEWD must name the built shmviewd}"
: "${SHMVIEW_CLI:?SHMVIEW_CLI must name the built shmview}"
HEXDUMP=${HEXDUMP-}
if [ -z "$HEXDUMP" ]; then
  echo "SKIP: hexdump not found (configure found no HEXDUMP)"
  exit 77
fi
PYTHON=$(command -v python3 || true)

test_name=cli
. "${srcdir:-.}/tests/cli-daemon.sh"

sv() { "$SHMVIEW_CLI" --socket "$sock" "$@"; }

# ---- version and help -------------------------------------------------------
run 0 "$SHMVIEW_CLI" --version
grep -qx 'shmview [0-9][0-9.]*' "$dir/out" || fail "--version printed '$(cat "$dir/out")'"
ok "--version: $(cat "$dir/out")"
run 0 "$SHMVIEW_CLI" --help
grep -q '^usage: shmview' "$dir/out" || fail "--help has no usage line"
ok "--help"
for c in list stat create rm unlink resize dump cat write status wait wake freeze chmod chown channel send recv; do
  run 0 "$SHMVIEW_CLI" "$c" --help
  grep -q "^usage: shmview " "$dir/out" || fail "$c --help has no usage line"
  run 0 "$SHMVIEW_CLI" help "$c"
  grep -q "^usage: shmview " "$dir/out" || fail "help $c has no usage line"
done
ok "--help and 'help' of every command exit 0"

# ---- empty list, status -----------------------------------------------------
run 0 sv list
[ "$(cat "$dir/out")" = "NAME  SIZE  OWNER  MODE  VIEWS  CREATED  FLAGS" ] ||
  fail "empty list printed '$(cat "$dir/out")'"
ok "empty list prints only the header"
run 0 sv status
grep -q '^version: ' "$dir/out" && grep -q '^uptime: ' "$dir/out" &&
  grep -q '^frame max: ' "$dir/out" || fail "status lacks version/uptime/frame max"
ok "status"

# ---- create, list, stat, resize, rm ------------------------------------------
run 0 sv create alpha 13
[ ! -s "$dir/out" ] || fail "create printed something"
run 0 sv create beta 1M --mode 0640
run 0 sv create gamma.x_y-z 2K
ok "create (bytes, 1M with --mode 0640, 2K)"

run 0 sv list
sed -n 1p "$dir/out" | grep -q '^NAME  *SIZE  *OWNER  *MODE  *VIEWS  *CREATED  *FLAGS$' || fail "list header: $(sed -n 1p "$dir/out")"
[ "$(sed -n '2,$p' "$dir/out" | awk '{print $1}' | tr '\n' ' ')" = "alpha beta gamma.x_y-z " ] ||
  fail "list not sorted by name: $(cat "$dir/out")"
user=$(id -un 2>/dev/null || id -u)
set -- $(sed -n 2p "$dir/out")
[ "$1 $2 $3 $4 $5" = "alpha 13 $user 0600 0/0" ] || fail "list row for alpha: $*"
set -- $(sed -n 3p "$dir/out")
[ "$1 $2 $4 $5" = "beta 1.0M 0640 0/0" ] || fail "list row for beta: $*"
set -- $(sed -n 4p "$dir/out")
[ "$2" = "2.0K" ] || fail "list size of gamma.x_y-z: $2"
echo "$6 $7" | grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$' ||
  fail "list CREATED column: $6 $7"
[ "$8" = "-" ] || fail "list FLAGS column: $8"
ok "list: sorted, sizes 13/1.0M/2.0K, owner $user, modes, views, time"

run 0 sv stat beta
grep -q '^name: *beta$' "$dir/out" || fail "stat name"
grep -q '^size: *1048576 ' "$dir/out" || fail "stat size: $(grep size "$dir/out")"
grep -q '^mode: *0640$' "$dir/out" || fail "stat mode"
ok "stat"

run 0 sv resize alpha 100
run 0 sv stat alpha
grep -q '^size: *100 ' "$dir/out" || fail "resize to 100: $(grep size "$dir/out")"
run 0 sv resize alpha 3
run 0 sv stat alpha
grep -q '^size: *3 ' "$dir/out" || fail "resize to 3"
ok "resize grow and shrink"

run 0 sv rm gamma.x_y-z
run 1 sv stat gamma.x_y-z
err_has "shmview: gamma.x_y-z: "
run 0 sv create gamma 1
run 0 sv unlink gamma
run 1 sv stat gamma
ok "rm and its alias unlink"

# ---- sizes as dd, truncate and numfmt users type them -------------------------
for pair in k1:1k:1024 k2:1K:1024 k3:1KiB:1024 k4:64k:65536 k5:1.5K:1536 k6:1KB:1000 \
  k7:2MiB:2097152 k8:0.25m:262144; do
  seg=${pair%%:*} rest=${pair#*:}
  run 0 sv create "$seg" "${rest%%:*}"
  run 0 sv stat "$seg"
  grep -q "^size: *${rest#*:} bytes" "$dir/out" || fail "create $seg ${rest%%:*}: $(grep size "$dir/out")"
done
run 0 sv resize k1 2k
run 0 sv stat k1
grep -q '^size: *2048 bytes' "$dir/out" || fail "resize k1 2k"
# 1T is a size (the daemon may refuse that much memory, but not as a usage error)
set +e
sv create k9 1T >"$dir/out" 2>"$dir/err"
got=$?
set -e
[ "$got" -ne 2 ] || fail "create k9 1T was a usage error: $(cat "$dir/err")"
[ "$got" -ne 0 ] || sv rm k9
ok "sizes 1k 1K 1KiB 64k 1.5K 1KB(=1000) 2MiB 0.25m, resize 2k, 1T accepted"

# ---- list --bytes and --no-header ---------------------------------------------
run 0 sv list --bytes
sed -n 1p "$dir/out" | grep -q '^NAME  *SIZE  *OWNER' || fail "list --bytes header: $(sed -n 1p "$dir/out")"
[ "$(awk '$1 == "beta" { print $2 }' "$dir/out")" = 1048576 ] || fail "list --bytes beta: $(cat "$dir/out")"
[ "$(awk '$1 == "k5" { print $2 }' "$dir/out")" = 1536 ] || fail "list --bytes k5: $(cat "$dir/out")"
run 0 sv list
[ "$(awk '$1 == "k5" { print $2 }' "$dir/out")" = 1.5K ] || fail "list k5: $(cat "$dir/out")"
run 0 sv list --no-header
grep -q '^NAME ' "$dir/out" && fail "list --no-header printed the header"
[ "$(awk '{print $1}' "$dir/out" | tr '\n' ' ')" = "alpha beta k1 k2 k3 k4 k5 k6 k7 k8 " ] ||
  fail "list --no-header rows: $(cat "$dir/out")"
cp "$dir/out" "$dir/noheader"
run 0 sv ls -H
cmp -s "$dir/out" "$dir/noheader" || fail "ls -H differs from list --no-header"
run 0 sv list -bH
[ "$(awk '$1 == "k6" { print $2 }' "$dir/out")" = 1000 ] && ! grep -q '^NAME ' "$dir/out" ||
  fail "list -bH: $(cat "$dir/out")"
cp "$dir/out" "$dir/bh"
run 0 sv list --no-h --by
cmp -s "$dir/out" "$dir/bh" || fail "list --no-h --by differs from list -bH"
run 0 sv list --help
grep -q -- '-b, --bytes' "$dir/out" && grep -q -- '-H, --no-header' "$dir/out" ||
  fail "list --help lacks --bytes/--no-header: $(cat "$dir/out")"
for seg in k1 k2 k3 k4 k5 k6 k7 k8; do run 0 sv rm "$seg"; done
run 0 sv list --no-header --bytes
[ "$(wc -l <"$dir/out")" -eq 2 ] || fail "list after rm: $(cat "$dir/out")"
run 2 sv list --bytes=1
err_has "takes no argument"
ok "list --bytes, --no-header, -bH, prefixes, --help"

# ---- options anywhere, -- ends them --------------------------------------------
run 2 sv create -x 1
err_has "unknown option '-x'"
run 0 sv create -- -x 1
run 0 sv stat -- -x
grep -q '^name: *-x$' "$dir/out" || fail "stat -- -x"
run 0 sv rm -- -x
run 0 sv create --mode=0644 opt1 1K
run 0 sv stat opt1
grep -q '^mode: *0644$' "$dir/out" || fail "--mode=0644"
run 0 sv create -m0604 opt2 1
run 0 sv stat opt2
grep -q '^mode: *0604$' "$dir/out" || fail "-m0604"
run 0 sv rm opt1
run 0 sv rm opt2
ok "--opt=value, -xVALUE, -- before an operand"

# An ephemeral segment nobody viewed goes with the connection that made it:
# from the CLI, as soon as create exits.
run 0 sv create --ephemeral eph 10
i=0
while sv stat eph >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
run 1 sv stat eph
run 2 sv create --ephemeral=x eph 10
ok "create --ephemeral: removed when its creator leaves without viewing it"

# A sealed segment: listed with its flag, written and read like any other,
# and its size is the kernel's to keep (resize says why it cannot).
run 0 sv create --sealed sealy 4K
run 0 sv list
grep -q '^sealy .* sealed$' "$dir/out" || fail "list: sealy has no sealed flag: $(cat "$dir/out")"
printf 'sealed bytes' | run 0 sv write sealy
run 0 sv cat sealy
head -c 12 "$dir/out" | grep -q '^sealed bytes$' || fail "cat sealy: $(head -c 12 "$dir/out")"
run 1 sv resize sealy 8K
err_has "is sealed: the kernel keeps its size"
run 0 sv stat sealy
grep -q '^sealed: *yes' "$dir/out" || fail "stat: no 'sealed: yes' line"
run 0 sv rm sealy
ok "create --sealed: listed sealed, written and read, resize refused"

# ---- JSON ---------------------------------------------------------------------
if [ -n "$PYTHON" ]; then
  uid=$(id -u)
  gid=$(id -g)
  run 0 sv create js 4096
  run 0 sv list --json
  "$PYTHON" - "$dir/out" "$uid" "$gid" <<'PY' || fail "list --json"
import json, sys, datetime
doc = json.load(open(sys.argv[1]))
uid, gid = int(sys.argv[2]), int(sys.argv[3])
assert isinstance(doc, list), doc
names = [o["name"] for o in doc]
assert names == sorted(names) == ["alpha", "beta", "js"], names
o = doc[2]
assert set(o) == {"name", "size", "uid", "gid", "mode", "views", "writable_views", "created",
                  "ephemeral", "unlinked", "frozen", "restricted", "changed", "sealed",
                  "channel", "control", "depth", "senders", "receivers"}, o
assert o["sealed"] is False, o
assert o["changed"] is None, o  # never resized, frozen, chmod'ed or chown'ed
assert o["ephemeral"] is False and o["unlinked"] is False and o["frozen"] is False, o
assert o["restricted"] is False, o
assert o["size"] == 4096 and o["uid"] == uid and o["gid"] == gid, o
assert o["mode"] == "0600" and o["views"] == 0 and o["writable_views"] == 0, o
t = datetime.datetime.fromisoformat(o["created"])
assert t.tzinfo is not None, o["created"]
assert abs((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds()) < 3600, t
assert doc[1]["mode"] == "0640" and doc[1]["size"] == 1048576, doc[1]
PY
  ok "list --json: fields checked with python3"

  run 0 "$SHMVIEW_CLI" --json --socket "$sock" stat js
  cp "$dir/out" "$dir/stat1"
  run 0 sv stat js --json
  cmp -s "$dir/out" "$dir/stat1" || fail "--json before and after the command differ"
  "$PYTHON" - "$dir/out" "$uid" <<'PY' || fail "stat --json"
import json, sys, datetime
o = json.load(open(sys.argv[1]))
assert o["name"] == "js" and o["size"] == 4096 and o["mode"] == "0600", o
assert o["uid"] == int(sys.argv[2]), o
datetime.datetime.fromisoformat(o["created"])
assert o["changed"] is None, o
PY
  run 0 sv resize js 8192
  run 0 sv stat js --json
  "$PYTHON" - "$dir/out" <<'PY' || fail "stat --json: changed after a resize"
import json, sys, datetime
o = json.load(open(sys.argv[1]))
assert datetime.datetime.fromisoformat(o["changed"]) >= datetime.datetime.fromisoformat(o["created"]), o
PY
  run 0 sv stat js
  grep -q "^changed: " "$dir/out" || fail "stat: a changed line after a resize"
  ok "stat --json (global and command option)"

  run 0 sv status --json
  "$PYTHON" - "$dir/out" "$uid" <<'PY' || fail "status --json"
import json, sys
o = json.load(open(sys.argv[1]))
for k in ("version", "protocol", "uptime_ms", "clients", "segments", "bytes",
          "views", "writable_views", "requests", "max_segment_size",
          "max_total_size", "max_clients", "max_views", "frame_max",
          "quota_bytes", "quota_segments", "quota_views", "uid", "used_bytes",
          "used_segments", "used_views", "grace_ms"):
    assert k in o, k
assert o["uid"] == int(sys.argv[2]) and o["used_segments"] == 3, o
assert isinstance(o["version"], str) and o["version"], o
assert o["segments"] == 3, o
assert o["bytes"] >= 3 + 1048576 + 4096, o
assert o["clients"] >= 1 and o["frame_max"] > 0, o
PY
  ok "status --json"
  run 0 sv rm js
else
  echo "skip - JSON checks: python3 not found"
fi

# ---- dump against hexdump -C --------------------------------------------------
# dumpcheck SEG FILE OFFSET LENGTH [ARGS...]: shmview dump ARGS (default
# SEG:OFFSET:LENGTH) against hexdump -C -s OFFSET -n LENGTH FILE.
dumpcheck() {
  seg=$1 file=$2 o=$3 l=$4
  shift 4
  [ $# -gt 0 ] || set -- "$seg:$o:$l"
  run 0 sv dump "$@"
  "$HEXDUMP" -C -s "$o" -n "$l" "$file" >"$dir/expect"
  cmp -s "$dir/out" "$dir/expect" || {
    echo "  shmview dump $*:"; sed 's/^/    /' "$dir/out" | head -20
    echo "  hexdump -C -s $o -n $l:"; sed 's/^/    /' "$dir/expect" | head -20
    fail "dump $* differs from hexdump -C -s $o -n $l"
  }
}

# load SEG FILE: create SEG holding FILE's bytes (and check it with cat).
load() {
  n=$(wc -c <"$2" | tr -d ' ')
  run 0 sv create "$1" "$n"
  run 0 sv write "$1" <"$2"
  sv cat "$1" >"$dir/back"
  cmp -s "$dir/back" "$2" || fail "cat $1 differs from what was written"
}

head -c 1000 /dev/urandom >"$dir/r1000"
load r1000 "$dir/r1000"
dumpcheck r1000 "$dir/r1000" 0 1000 r1000
dumpcheck r1000 "$dir/r1000" 0 1000
dumpcheck r1000 "$dir/r1000" 37 501
dumpcheck r1000 "$dir/r1000" 999 1
dumpcheck r1000 "$dir/r1000" 37 501 --offset 37 --length 501 r1000
dumpcheck r1000 "$dir/r1000" 37 501 --offset 37 --length 501 r1000:5:6
dumpcheck r1000 "$dir/r1000" 5 0
ok "dump of 1000 random bytes: whole, slice 37+501, last byte, options, -n 0"

for n in 1 15 16 17 31 33; do
  head -c $n /dev/urandom >"$dir/f$n"
  load f$n "$dir/f$n"
  dumpcheck f$n "$dir/f$n" 0 $n f$n
  [ $n -lt 2 ] || dumpcheck f$n "$dir/f$n" 1 $((n - 1))
done
ok "dump of 1, 15, 16, 17, 31, 33 bytes"

{ head -c 1000 /dev/zero; printf 'ABC'; head -c 2000 /dev/zero; printf '\001\002'
  head -c 1091 /dev/zero; } >"$dir/z4096"
load z4096 "$dir/z4096"
dumpcheck z4096 "$dir/z4096" 0 4096 z4096
dumpcheck z4096 "$dir/z4096" 3 4000
dumpcheck z4096 "$dir/z4096" 990 40
grep -qx '\*' "$dir/out" && fail "unexpected squeeze" || true
dumpcheck z4096 "$dir/z4096" 0 4096 z4096
grep -qx '\*' "$dir/out" || fail "repeated lines were not squeezed into '*'"
ok "dump squeezes repeated lines into '*' as hexdump does"

: >"$dir/empty"
run 0 sv create empty 0
dumpcheck empty "$dir/empty" 0 0 empty
[ ! -s "$dir/out" ] || fail "dump of an empty segment printed something"
run 0 sv cat empty
[ ! -s "$dir/out" ] || fail "cat of an empty segment printed something"
# to the end from the end: hexdump -C -s 33 prints just the end offset
run 0 sv dump f33:33
"$HEXDUMP" -C -s 33 "$dir/f33" >"$dir/expect"
cmp -s "$dir/out" "$dir/expect" || fail "dump f33:33 differs from hexdump -C -s 33"
ok "dump of an empty segment and of an empty window"

# ---- cat / write ----------------------------------------------------------------
head -c 300000 /dev/urandom >"$dir/big"
run 0 sv create big 300000
run 0 sv write big <"$dir/big"
[ ! -s "$dir/out" ] && [ ! -s "$dir/err" ] || fail "write printed something"
sv cat big >"$dir/back"
cmp "$dir/back" "$dir/big" || fail "cat big differs from the bytes written"
ok "write then cat 300000 random bytes, identical"

head -c 1000 /dev/urandom >"$dir/part"
cat "$dir/part" | sv write big:1234
sv cat big:1234:1000 >"$dir/back"
cmp -s "$dir/back" "$dir/part" || fail "write big:1234 / cat big:1234:1000"
sv cat --offset 1234 --length 1000 big >"$dir/back"
cmp -s "$dir/back" "$dir/part" || fail "cat --offset 1234 --length 1000"
sv cat big:0:1234 >"$dir/back"
head -c 1234 "$dir/big" | cmp -s - "$dir/back" || fail "bytes before the write changed"
ok "write at an offset from a pipe, cat of a window (descriptor and options)"

sv cat big >"$dir/before"
run 1 sh -c 'head -c 1001 /dev/urandom | "$0" --socket "$1" write big:299000' "$SHMVIEW_CLI" "$sock"
err_has "shmview: input is larger than the 1000 bytes from offset 299000 to the end of big"
sv cat big >"$dir/after"
cmp -s "$dir/before" "$dir/after" || fail "segment changed by a refused write"
ok "write larger than the room: exit 1, message, segment untouched"

head -c 1000 /dev/urandom >"$dir/tail"
sv write big:299000 <"$dir/tail"
sv cat big:299000 | cmp -s - "$dir/tail" || fail "write of exactly the room"
ok "write of exactly the room left"

# cat into a pipe that closes early: quiet, exit 1 (SIGPIPE ignored, EPIPE)
set +e
sv cat big 2>"$dir/err" | head -c 10 >/dev/null
set -e
[ ! -s "$dir/err" ] || fail "cat into a closed pipe printed: $(cat "$dir/err")"
ok "cat into a pipe closed early is quiet"

# ---- a live view: shown in list/stat, blocks shrinking, not growing ------------
# cat blocks writing into a pipe nobody reads, holding its read-only view.
sv cat big | sleep 30 &
holder=$!
i=0
until sv stat big 2>/dev/null | grep -q '^views: *1$'; do
  i=$((i + 1))
  [ $i -lt 50 ] || fail "the view held by a blocked cat never showed in stat"
  sleep 0.1
done
run 0 sv list
[ "$(awk '$1 == "big" { print $5 }' "$dir/out")" = "1/0" ] || fail "list VIEWS of big: $(cat "$dir/out")"
run 1 sv resize big 10
err_has "shmview: big: "
run 0 sv resize big 400000
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
i=0
until sv stat big 2>/dev/null | grep -q '^views: *0$'; do
  i=$((i + 1))
  [ $i -lt 50 ] || fail "the view of big was not released after its reader went away"
  sleep 0.1
done
run 0 sv resize big 10
ok "a live view shows as 1/0, shrinking fails (exit 1), growing works; released, shrink works"

# ---- errors -------------------------------------------------------------------
run 1 sv stat nosuch
err_has "shmview: nosuch: no segment named 'nosuch'"
run 1 sv dump nosuch
err_has "shmview: nosuch: "
run 1 sv rm nosuch
err_has "shmview: nosuch: "
ok "no such segment: exit 1, message names it"

run 2 sv create q 12Q
err_has "shmview: bad size '12Q'"
for s in '' -1 ' 1' '1 ' 0.1K 0.5 1KK 1Ki 1kib 1B 0x10 18446744073709551616 17179869184G 16E; do
  run 2 sv create q "$s"
  err_has "bad size '$s'"
done
run 2 sv resize alpha 12Q
err_has "bad size '12Q'"
run 2 sv create b -5
err_has "shmview: bad size '-5'"
grep -q "unknown option" "$dir/err" && fail "create b -5 said: $(cat "$dir/err")"
run 2 sv resize alpha -5
err_has "bad size '-5'"
run 2 sv dump r1000 --offset -5
err_has "bad offset '-5'"
run 2 sv dump r1000 -n -1
err_has "bad length '-1'"
run 1 sv stat q
ok "bad sizes: exit 2, the value named ('create b -5' is a bad size, not an option)"

# --json only where a command prints something to parse
for c in "create q 1" "rm alpha" "resize alpha 5" "dump r1000" "cat r1000" "write r1000"; do
  run 2 sv $c --json </dev/null
  err_has "--json does not apply"
  run 2 "$SHMVIEW_CLI" --socket "$sock" --json $c </dev/null
  err_has "--json does not apply"
done
run 1 sv stat q
run 0 sv stat alpha
grep -q '^size: *3 ' "$dir/out" || fail "a refused 'resize alpha 5 --json' changed alpha"
run 0 sv create --help
grep -q -- '--json' "$dir/out" && fail "create --help offers --json"
run 0 sv list --help
grep -q -- '--json' "$dir/out" || fail "list --help lacks --json"
ok "--json refused by create, rm, resize, dump, cat, write (option or global)"

run 2 sv create q 1 --mode 0800
err_has "bad mode"
run 2 sv create q 1 --mode 1777
ok "bad mode: exit 2"

run 2 sv frobnicate
err_has "shmview: unknown command 'frobnicate'"
run 2 "$SHMVIEW_CLI"
run 2 "$SHMVIEW_CLI" --bogus list
err_has "unknown option '--bogus'"
run 2 sv list --bogus
err_has "unknown option '--bogus'"
ok "unknown command and options: exit 2"

run 2 sv stat
err_has "missing argument"
run 2 sv create onlyname
err_has "missing argument"
run 2 sv rm a b
err_has "too many arguments"
run 2 sv dump
run 2 sv create q 1 --mode
err_has "needs an argument"
ok "missing and extra arguments: exit 2"

run 2 sv dump 'r1000:x'
err_has "bad descriptor 'r1000:x'"
run 2 sv cat 'r1000:1:2:3:4'
run 2 sv dump '.hidden'
run 2 sv stat 'bad/name'
run 2 sv dump r1000 --offset 12Q
ok "bad descriptors and names: exit 2"

run 1 sv dump r1000:999:2
err_has "shmview: r1000: "
ok "window past the end: exit 1"

run 1 sv create alpha 10
err_has "shmview: alpha: "
ok "create of an existing name: exit 1"

run 1 "$SHMVIEW_CLI" --socket "$dir/missing.sock" status
err_has "cannot connect to shmviewd at $dir/missing.sock"
err_has "is shmviewd running?"
run 1 env SHMVIEW_SOCKET="$dir/missing2.sock" "$SHMVIEW_CLI" list
err_has "$dir/missing2.sock"
ok "daemon not running: exit 1, message names the socket"

# ---- channels: create, send, recv, stat, rm -----------------------------------
run 0 sv channel create cli-q 8k --mode 0640
run 0 sv list
grep -qE '^cli-q  .*channel$' "$dir/out" && grep -qE '^cli-q\.ctl  .*control$' "$dir/out" ||
  fail "list shows no channel and control: $(cat "$dir/out")"
printf 'first message' | run 0 sv send cli-q
printf 'second' >"$dir/msg2"
run 0 sv send cli-q <"$dir/msg2"
run 0 sv stat cli-q
grep -q '^channel: *yes' "$dir/out" && grep -q '^depth: *2$' "$dir/out" &&
  grep -q '^senders: *0$' "$dir/out" && grep -q '^receivers: *0$' "$dir/out" ||
  fail "stat of a channel with two messages: $(cat "$dir/out")"
run 0 sv stat cli-q.ctl
! grep -q '^depth:' "$dir/out" || fail "stat of a control segment shows a depth"
run 0 sv recv cli-q
[ "$(cat "$dir/out")" = "first message" ] || fail "recv printed '$(cat "$dir/out")'"
run 0 sv recv cli-q
cmp -s "$dir/out" "$dir/msg2" || fail "the second recv printed '$(cat "$dir/out")'"
run 1 sv recv cli-q
err_has "end of stream"
# larger than the ring: a segment of its own, send waits for the receiver
head -c 100000 /dev/urandom >"$dir/big"
sv send --timeout 30 cli-q <"$dir/big" &
sender=$!
# The stream ended above (every sender closed): recv says so until this
# new sender has opened, so wait for it to be counted first.
i=0
until sv stat cli-q 2>/dev/null | grep -q '^senders: *1$'; do
  i=$((i + 1))
  [ "$i" -lt 500 ] || fail "the background sender never opened cli-q"
  sleep 0.02
done
run 0 sv recv --timeout 10 cli-q
wait "$sender" || fail "send of a message larger than the ring exited $?"
cmp -s "$dir/out" "$dir/big" || fail "a message larger than the ring came back different"
: | run 1 sv send cli-q
err_has "empty"
run 2 sv channel make cli-q2 8k
run 1 sv channel create cli-q 8k
run 1 sv rm cli-q.ctl
run 0 sv rm cli-q
run 0 sv list
! grep -q '^cli-q' "$dir/out" || fail "rm of a channel left: $(cat "$dir/out")"
ok "channel create, send, recv (end of stream, larger than the ring), stat, rm"
# A sealed channel: both segments sealed memfds, listed with both flags.
run 0 sv channel create --sealed cli-sq 8k
run 0 sv list
grep -qE '^cli-sq  .*sealed.*channel$' "$dir/out" &&
  grep -qE '^cli-sq\.ctl  .*sealed.*control$' "$dir/out" ||
  fail "list shows no sealed channel and control: $(cat "$dir/out")"
printf 'sealed message' | run 0 sv send cli-sq
run 0 sv stat cli-sq
grep -q '^sealed: *yes' "$dir/out" && grep -q '^channel: *yes' "$dir/out" &&
  grep -q '^depth: *1$' "$dir/out" || fail "stat of a sealed channel: $(cat "$dir/out")"
run 0 sv recv cli-sq
[ "$(cat "$dir/out")" = "sealed message" ] || fail "recv printed '$(cat "$dir/out")'"
run 0 sv rm cli-sq
ok "channel create --sealed: both segments sealed, send, recv, rm"

# ---- chmod and chown, as chmod(1) and chown(1) --------------------------------
run 0 sv create cli-mode 16
run 0 sv chmod 0640 cli-mode
run 0 sv stat cli-mode
grep -q '^mode: *0640$' "$dir/out" || fail "chmod 0640: $(grep mode "$dir/out")"
run 0 sv chown 60001:60002 cli-mode
run 0 sv stat cli-mode
grep -q '^owner: .*(60001)' "$dir/out" && grep -q '^group: .*(60002)' "$dir/out" ||
  fail "chown 60001:60002: $(grep -E '^(owner|group)' "$dir/out")"
run 0 sv chown :7 cli-mode
run 0 sv --json stat cli-mode
grep -q '"uid": 60001, "gid": 7,' "$dir/out" || fail "chown :7: $(cat "$dir/out")"
run 0 sv chown root cli-mode
run 0 sv stat cli-mode
grep -q '^owner: *root (0)' "$dir/out" && grep -q '^group: .*(7)' "$dir/out" ||
  fail "chown root: $(grep -E '^(owner|group)' "$dir/out")"
run 0 sv chown root: cli-mode
run 0 sv stat cli-mode
grep -q '^group: .*(0)' "$dir/out" || fail "chown root: gave $(grep group "$dir/out")"
run 2 sv chmod 1777 cli-mode
err_has "bad mode '1777'"
run 2 sv chown no-such-user-here cli-mode
err_has "unknown user 'no-such-user-here'"
run 2 sv chown :no-such-group-here cli-mode
err_has "unknown group 'no-such-group-here'"
run 1 sv chmod 0600 cli-none
err_has "shmview: cli-none: "
run 0 sv rm cli-mode
ok "chmod and chown by name or number; bad modes, users and groups are usage errors"

# ---- the same tool in other users' hands ----------------------------------
# Real processes of nobody and of a uid with no passwd entry (setpriv) run
# the CLI against root's segments: they read what the mode lets them read,
# and change nothing (docs/security.md, "How each promise is tested").
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null 2>&1; then
  echo "skip - the CLI as other users: needs root and setpriv"
elif ! setpriv --reuid=65534 --regid=65534 --clear-groups "$SHMVIEW_CLI" --version >/dev/null 2>&1; then
  echo "skip - the CLI as other users: nobody cannot run $SHMVIEW_CLI (a build tree closed to others?)"
else
  chmod 0711 "$dir"
  chmod 0666 "$sock"
  run 0 sv create cli-secret 16 --mode 0600
  run 0 sv create cli-public 16 --mode 0644
  printf 'root secret' >"$dir/secret"
  printf 'root public' >"$dir/public"
  printf 'STOLEN' >"$dir/stolen"
  chmod 0644 "$dir/stolen"
  run 0 sv write cli-secret <"$dir/secret"
  run 0 sv write cli-public <"$dir/public"
  for u in 65534 60001; do
    as_u() { setpriv --reuid="$u" --regid="$u" --clear-groups "$SHMVIEW_CLI" --socket "$sock" "$@"; }
    run 1 as_u cat cli-secret
    err_has "shmview: cli-secret: "
    [ ! -s "$dir/out" ] || fail "uid $u read cli-secret: $(cat "$dir/out")"
    run 0 as_u cat cli-public:0:11
    [ "$(cat "$dir/out")" = "root public" ] || fail "uid $u read '$(cat "$dir/out")' from cli-public"
    run 1 as_u write cli-public <"$dir/stolen"
    run 1 as_u write cli-secret <"$dir/stolen"
    run 1 as_u rm cli-public
    run 1 as_u resize cli-public 1
    run 1 as_u freeze cli-public
    run 1 as_u create cli-public 10 --mode 0666
    ok "uid $u: reads the 0644 segment, not the 0600 one; writes, rm, resize, freeze, create over: exit 1"
    run 1 as_u chmod 0666 cli-public
    err_has "only the owner"
    run 1 as_u chown "$u" cli-public
    err_has "only root"
    run 1 as_u chown ":$u" cli-secret
    ok "uid $u: chmod and chown of root's segments: exit 1"
  done
  run 0 sv cat cli-secret:0:11
  [ "$(cat "$dir/out")" = "root secret" ] || fail "cli-secret is now '$(cat "$dir/out")'"
  run 0 sv cat cli-public:0:11
  [ "$(cat "$dir/out")" = "root public" ] || fail "cli-public is now '$(cat "$dir/out")'"
  run 0 sv stat cli-public
  grep -q '^size: *16 ' "$dir/out" || fail "cli-public changed size: $(grep size "$dir/out")"
  grep -q '^frozen: *no' "$dir/out" || fail "cli-public was frozen: $(grep frozen "$dir/out")"
  grep -q '^mode: *0644$' "$dir/out" && grep -q '^owner: *root (0)' "$dir/out" ||
    fail "cli-public's mode or owner changed: $(grep -E '^(mode|owner)' "$dir/out")"
  run 0 sv rm cli-secret
  run 0 sv rm cli-public
  ok "root's segments are as root left them"
fi

kill -0 "$daemon" || fail "shmviewd died during the test"
ok "all checks passed"
