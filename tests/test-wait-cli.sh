#!/bin/sh
# SPDX-License-Identifier: MIT
# test-wait-cli.sh: the data plane's commands (shmview wait, wake, freeze)
# against the real daemon, and the hand-off example
# (client/examples/handoff.c) run end to end.
#
# Environment (set by make check): SHMVIEWD, SHMVIEW_CLI, SHMVIEW_HANDOFF,
# SHMVIEW_TEST_TMPDIR. Waits that must end are given generous timeouts, so
# a slow machine fails nothing; nothing here checks how fast anything is.
set -eu

: "${SHMVIEWD:?SHMVIEWD must name the built shmviewd}"
: "${SHMVIEW_CLI:?SHMVIEW_CLI must name the built shmview}"
: "${SHMVIEW_HANDOFF:?SHMVIEW_HANDOFF must name the built shmview-handoff}"

test_name=waitcli
. "${srcdir:-.}/tests/cli-daemon.sh"

sv() { "$SHMVIEW_CLI" --socket "$sock" "$@"; }

run 0 sv create q 4096

# ---- timeouts and bad arguments ----------------------------------------------
run 1 sv wait q:0 --timeout 0.1
err_has "q:0: timed out after 0.1; the word is still 0"
ok "wait --timeout: exit 1 and the value when the time runs out"
run 1 sv wait q:0 --timeout 0
err_has "timed out"
ok "wait --timeout 0 does not sleep"
run 1 sv wait q:2 --timeout 1
err_has "multiple of 4"
run 1 sv wake q:6
err_has "multiple of 4"
ok "a misaligned word is refused"
run 1 sv wait q:4096 --timeout 1
err_has "past the end"
run 2 sv wait q:0 --timeout 5x
err_has "bad timeout '5x'"
run 2 sv wait q:0 --expected 4294967296
err_has "bad expected"
run 2 sv wake q:0 --set 1 --add 1
err_has "exclude each other"
run 1 sv wait nope:0 --timeout 1
ok "bad arguments and missing segments are refused"

# ---- a word already different from --expected: at once -----------------------
run 0 sv wait q:0 --expected 7 --timeout 60
[ "$(cat "$dir/out")" = 0 ] || fail "wait --expected 7 printed '$(cat "$dir/out")'"
ok "wait --expected V returns at once when the word is not V"

# ---- a waiter woken by a producer in another process --------------------------
sv wait q:0 --timeout 60 >"$dir/w1" 2>"$dir/w1.err" &
w1=$!
sv wait q:0 --timeout 60 >"$dir/w2" 2>"$dir/w2.err" &
w2=$!
# Bare wakes until both sleep on the word: each is counted, and a wait
# ignores a wake that leaves the word unchanged.
i=0
while :; do
  n=$(sv wake q:0 --count 2)
  [ "$n" = 2 ] && break
  i=$((i + 1))
  [ $i -lt 600 ] || fail "the two waiters were not both asleep within 60 s (last wake woke $n)"
  sleep 0.1
done
kill -0 $w1 2>/dev/null && kill -0 $w2 2>/dev/null || fail "a waiter ended on a bare wake"
ok "a bare wake is counted (2) and ignored by the waiters"
# Every wake above reached both waiters, which went back to sleep. Publish.
i=0
until [ "$(sv wake q:0 --count 2)" = 2 ]; do
  i=$((i + 1)); [ $i -lt 600 ] || fail "waiters not asleep again"; sleep 0.1
done
run 0 sv wake q:0 --add 3
wait $w1 || fail "waiter 1 exited $?: $(cat "$dir/w1.err")"
wait $w2 || fail "waiter 2 exited $?: $(cat "$dir/w2.err")"
[ "$(cat "$dir/w1")" = 3 ] && [ "$(cat "$dir/w2")" = 3 ] ||
  fail "waiters printed '$(cat "$dir/w1")' and '$(cat "$dir/w2")', expected 3"
ok "wake --add 3 publishes: both waiters print 3"

run 0 sv wake q:0 --set 0x10
[ "$(cat "$dir/out")" = 0 ] || fail "wake with nobody waiting printed '$(cat "$dir/out")'"
run 0 sv wait q:0 --expected 3 --timeout 60
[ "$(cat "$dir/out")" = 16 ] || fail "after --set 0x10 wait printed '$(cat "$dir/out")'"
ok "wake --set 0x10, nobody waiting: prints 0; the word is 16"

# ---- the hand-off example ------------------------------------------------------
run 0 "$SHMVIEW_HANDOFF" "$sock" 3000
grep -q "^consumer (pid [0-9]*): 3000 messages, [0-9]* bytes, every byte as sent$" "$dir/out" ||
  fail "handoff printed: $(cat "$dir/out")"
grep -q "^producer (pid [0-9]*): 3000 messages handed off" "$dir/out" ||
  fail "handoff printed: $(cat "$dir/out")"
run 0 sv list --no-header
[ "$(awk '{print $1}' "$dir/out")" = q ] || fail "handoff left segments: $(cat "$dir/out")"
ok "shmview-handoff: 3000 messages, every byte as sent, its segment removed"

# ---- freeze --------------------------------------------------------------------
run 0 sv create ice 64 --mode 0644
printf 'frozen bytes' | sv write ice
run 0 sv freeze ice
run 0 sv stat ice
grep -q '^frozen: *yes' "$dir/out" || fail "stat of a frozen segment: $(cat "$dir/out")"
run 0 sv list --no-header
grep -q '^ice .* frozen$' "$dir/out" || fail "list lacks the frozen flag: $(cat "$dir/out")"
run 1 sv write ice <"$dir/out"
err_has "frozen"
run 1 sv resize ice 128
err_has "frozen"
run 1 sv wake ice:0 --add 1
err_has "frozen"
run 0 sv cat ice:0:12
[ "$(cat "$dir/out")" = "frozen bytes" ] || fail "cat of a frozen segment: $(cat "$dir/out")"
run 0 sv freeze ice
run 1 sv freeze nope
ok "freeze: stat and list say so; write, resize and wake --add refused; cat works; again is fine"
