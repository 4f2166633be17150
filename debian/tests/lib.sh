# SPDX-License-Identifier: MIT
# Shared by the autopkgtests: start the installed /usr/sbin/shmviewd as the
# shmview user on a private socket and prefix, and stop it again, leaving
# nothing behind in /dev/shm.

tmp=${AUTOPKGTEST_TMP:-$(mktemp -d)}
prefix=apt$$
rundir=$tmp/run
sock=$rundir/shmview.sock
daemon=

fail() {
    echo "FAIL: $*" >&2
    [ ! -s "$tmp/daemon.log" ] || sed 's/^/  daemon: /' "$tmp/daemon.log" >&2
    exit 1
}

stop_daemon() {
    if [ -n "$daemon" ]; then
        kill -TERM "$daemon" 2>/dev/null || true
        wait "$daemon" 2>/dev/null || true
        daemon=
    fi
    rm -f /dev/shm/"$prefix".*
}
trap 'stop_daemon' EXIT
trap 'exit 1' INT TERM HUP

start_daemon() {
    getent passwd shmview >/dev/null || fail "no shmview user (sysusers.d/shmview.conf)"
    # The socket's directory must belong to the daemon's user and be
    # writable by nobody else; the path to it must be searchable.
    chmod 0755 "$tmp"
    mkdir -p "$rundir"
    chown shmview:shmview "$rundir"
    chmod 0755 "$rundir"
    setpriv --reuid=shmview --regid=shmview --init-groups \
        /usr/sbin/shmviewd --socket "$sock" --prefix "$prefix" 2>"$tmp/daemon.log" &
    daemon=$!
    i=0
    until /usr/bin/shmview --socket "$sock" status >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt 100 ] || fail "shmviewd did not start"
        kill -0 "$daemon" 2>/dev/null || fail "shmviewd exited"
        sleep 0.1
    done
    user=$(ps -o user= -p "$daemon")
    [ "$user" = shmview ] || fail "shmviewd runs as '$user', not shmview"
}
