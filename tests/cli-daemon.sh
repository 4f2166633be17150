# SPDX-License-Identifier: MIT
# cli-daemon.sh: sourced by the CLI's shell tests (test-cli.sh,
# test-completion.sh) after `set -eu`: tests/lib.sh's helpers (a temporary
# directory $dir, a unique --prefix, ok/fail/run/err_has, cleanup at exit)
# and a shmviewd of their own on $sock. On exit the daemon is stopped and
# the directory and any shm object of the prefix are removed. The caller
# names itself in $test_name.

. "${srcdir:-.}/tests/lib.sh"
test_init "$test_name"

"$SHMVIEWD" --socket "$sock" --prefix "$prefix" 2>"$dir/daemon.log" &
daemon=$!
wait_up
ok "shmviewd answers on $sock"
