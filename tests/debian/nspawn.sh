#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/debian/nspawn.sh: check the built .debs under a real systemd.
#
# This machine does not boot systemd, but systemd-nspawn can boot one: a
# minimal Debian 12 root (mmdebstrap: systemd, dbus, libpam-systemd, man-db
# and the packages' runtime libraries), cached as a tarball keyed by its
# package list, unpacked afresh for every run and booted with
#   systemd-nspawn --boot --register=no --keep-unit --private-network
# inside a private mount namespace with a tmpfs on /run/systemd (nspawn
# wants /run/systemd/nspawn/propagate on a tmpfs; this host's /run is not). A unit ordered after multi-user.target runs
# tests/debian/in-nspawn.sh, which writes its results to a bind mount and
# powers the container off.
#
#   tests/debian/nspawn.sh rootfs             build (or find) the cached root
#   tests/debian/nspawn.sh run DEBDIR OUTDIR  boot it with DEBDIR's .debs,
#                                             then the userns scenario
#   tests/debian/nspawn.sh userns DEBDIR OUTDIR  only the userns scenario:
#       a host daemon (DEBDIR's shmviewd) and a client in
#       systemd-nspawn --private-users=pick with the socket directory
#       bound in (docs/containers.md, "systemd-nspawn"), see userns()
#
# Needs root, mmdebstrap and systemd-container. The cache lives in
# $SHMVIEW_NSPAWN_CACHE (default /var/cache/shmview-nspawn).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cache=${SHMVIEW_NSPAWN_CACHE:-/var/cache/shmview-nspawn}
suite=bookworm
mirror=${SHMVIEW_NSPAWN_MIRROR:-http://deb.debian.org/debian}
security=${SHMVIEW_NSPAWN_SECURITY:-http://deb.debian.org/debian-security}
# systemd as PID 1 and for user instances; man-db because systemd-analyze
# verify looks up Documentation=man: pages; the rest are what the runtime
# .debs depend on (libc6 is in minbase), so apt installs them offline
# (libshmview-dev only suggests libmsgpack-dev, which would bring in Boost:
# the static link is checked on the host).
include="systemd dbus libpam-systemd man-db libuv1 libmsgpackc2 python3"
# Bump when the way the root is made changes, to drop old caches.
recipe=1

key=$(printf '%s\n' "$recipe" "$suite" "$mirror" "$security" "$include" |
    sha256sum | cut -c1-16)
tarball="$cache/rootfs-$suite-$key.tar"

rootfs() {
    mkdir -p "$cache"
    # One builder at a time; the others wait and then find the tarball.
    exec 9>"$cache/lock"
    flock 9
    if [ -f "$tarball" ] && [ -s "$tarball" ]; then
        echo "nspawn: cached root $tarball"
        return 0
    fi
    echo "nspawn: building $tarball (mmdebstrap, once)"
    start=$(date +%s)
    mmdebstrap --variant=minbase --format=tar --quiet \
        --include="$(echo "$include" | tr ' ' ,)" \
        --customize-hook='echo shmview-test >"$1/etc/hostname"' \
        "$suite" "$tarball.tmp" \
        "deb $mirror $suite main" \
        "deb $mirror $suite-updates main" \
        "deb $security $suite-security main"
    mv "$tarball.tmp" "$tarball"
    # Older roots of another recipe or package list are of no more use.
    for old in "$cache"/rootfs-*.tar; do
        [ "$old" = "$tarball" ] || rm -f "$old"
    done
    echo "nspawn: root built in $(($(date +%s) - start)) s," \
        "$(du -m "$tarball" | cut -f1) MB"
}

run() {
    debdir=$(cd "$1" && pwd)
    out=$2
    mkdir -p "$out"
    out=$(cd "$out" && pwd)
    rm -f "$out"/*
    rootfs

    root=$(mktemp -d /var/tmp/shmview-nspawn.XXXXXX)
    made_run_systemd=""
    trap 'rm -rf "$root"; [ -z "$made_run_systemd" ] || rmdir /run/systemd' EXIT
    trap 'exit 1' INT TERM HUP
    tar --numeric-owner -xpf "$tarball" -C "$root"

    # The checks run once the system is up, then power it off whatever
    # happened (ExecStopPost= runs after a failure too).
    cat >"$root/etc/systemd/system/shmview-checks.service" <<'EOF'
[Unit]
Description=shmview package checks
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/sh /srv/tests/in-nspawn.sh /srv/debs /srv/out
ExecStopPost=/bin/systemctl poweroff --no-block
TimeoutStartSec=600
StandardOutput=journal+console
StandardError=journal+console
EOF
    mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
    ln -s ../shmview-checks.service \
        "$root/etc/systemd/system/multi-user.target.wants/shmview-checks.service"

    # nspawn propagates mounts through /run/systemd/nspawn/propagate, which
    # must be on a tmpfs, and keeps its locks beside it: a tmpfs on
    # /run/systemd in a mount namespace of our own gives it both, and
    # nothing of it is seen (or left) on the host. The host's /run/systemd
    # holds nothing nspawn needs with --register=no --keep-unit.
    if [ ! -d /run/systemd ]; then
        mkdir /run/systemd
        made_run_systemd=yes
    fi
    echo "nspawn: booting $root"
    start=$(date +%s)
    rc=0
    timeout --foreground 900 unshare --mount --propagation private sh -c '
        mount -t tmpfs -o mode=0755 tmpfs /run/systemd &&
        mkdir -p /run/systemd/nspawn/propagate &&
        exec systemd-nspawn --quiet --boot --register=no --keep-unit \
            --private-network --directory="$1" --machine=shmview-test \
            --bind-ro="$2":/srv/debs --bind-ro="$3":/srv/tests --bind="$4":/srv/out
    ' sh "$root" "$debdir" "$here" "$out" </dev/null >"$out/console.log" 2>&1 || rc=$?
    echo "nspawn: container ran $(($(date +%s) - start)) s (exit $rc)"
    if [ ! -f "$out/status" ]; then
        tail -n 60 "$out/console.log" >&2
        echo "nspawn: the checks did not finish (console: $out/console.log)" >&2
        return 1
    fi
    cat "$out/results"
    status=$(cat "$out/status")
    if [ "$status" != 0 ]; then
        echo "nspawn: checks FAILED (journal: $out/journal.txt)" >&2
        return 1
    fi
}

# ---- containers: a client in a user namespace (docs/containers.md) --------
# The recipe "systemd-nspawn" as written there: a daemon on this host (the
# packaged shmviewd, unpacked from DEBDIR, run by hand: this host does not
# boot systemd), its socket directory bound read-only into a container
# booted with --private-users=pick whose root has the packaged client
# installed. Inside, root is the host uid nspawn picked: its segment is
# that uid's on the host, it cannot read the host root's 0600 segment, and
# a 64 MiB /dev/shm in the container does not limit a 128 MiB segment.
# Results: "ok - userns: ..." lines added to OUTDIR/results; returns 1 if
# one failed. Leaves nothing behind (the root, the socket directory, the
# objects of its prefix).
userns() {
    u_rc=0
    userns_checks "$@" || u_rc=$?
    u_cleanup
    return $u_rc
}
u_cleanup() {
    [ -z "${u_daemon-}" ] || { kill -TERM "$u_daemon" 2>/dev/null; wait "$u_daemon" 2>/dev/null; }
    u_daemon=""
    rm -f /dev/shm/nspawnuserns.* /dev/shm/nspawnuserns..lock
    rm -rf "${work-}" /run/shmview-nspawn-userns
    [ -z "${u_made_run_systemd-}" ] || rmdir /run/systemd
    u_made_run_systemd=""
}
userns_checks() {
    debdir=$(cd "$1" && pwd)
    out=$2
    mkdir -p "$out"
    out=$(cd "$out" && pwd)
    rootfs
    u_failed=0
    u_ok() { echo "ok - userns: $*" | tee -a "$out/results"; }
    u_bad() { echo "not ok - userns: $*" | tee -a "$out/results"; u_failed=1; }
    u_check() { # u_check DESCRIPTION CMD...
        d=$1
        shift
        if "$@" >>"$out/userns.log" 2>&1; then u_ok "$d"; else u_bad "$d"; fi
    }
    work=$(mktemp -d /var/tmp/shmview-userns.XXXXXX)
    sockdir=/run/shmview-nspawn-userns
    prefix=nspawnuserns
    u_made_run_systemd=""
    u_daemon=""
    : >"$out/userns.log"

    # The packages: unpacked for the host's daemon and client, installed
    # (dpkg) in the container's root.
    mkdir "$work/pkg" "$work/root"
    for d in "$debdir"/libshmview1_*.deb "$debdir"/shmview_*.deb "$debdir"/shmviewd_*.deb; do
        dpkg-deb -x "$d" "$work/pkg"
    done
    libdir=$(dirname "$(find "$work/pkg" -name 'libshmview.so.1' | head -n 1)")
    cli="env LD_LIBRARY_PATH=$libdir $work/pkg/usr/bin/shmview --socket $sockdir/shmview.sock"
    tar --numeric-owner -xpf "$tarball" -C "$work/root"
    mkdir -p "$work/root/tmp/debs"
    cp "$debdir"/libshmview1_*.deb "$debdir"/shmview_*.deb "$work/root/tmp/debs/"
    chroot "$work/root" sh -c 'dpkg -i /tmp/debs/*.deb && rm -r /tmp/debs' >>"$out/userns.log" 2>&1 ||
        { u_bad "dpkg -i libshmview1 shmview in the container's root"; return 1; }

    # The daemon, as the recipe's host daemon: root's directory 0755, the
    # socket 0666 (a container's uids are in no host group).
    mkdir -m 0755 "$sockdir"
    LD_LIBRARY_PATH=$libdir "$work/pkg/usr/sbin/shmviewd" --socket "$sockdir/shmview.sock" \
        --prefix "$prefix" >>"$out/userns.log" 2>&1 &
    u_daemon=$!
    n=100
    until [ -S "$sockdir/shmview.sock" ]; do
        n=$((n - 1))
        [ $n -gt 0 ] || { u_bad "the packaged shmviewd did not start"; return 1; }
        sleep 0.1
    done
    chmod 0666 "$sockdir/shmview.sock"
    u_check "host root's 0600 segment rootsecret" sh -c "$cli create rootsecret 4K --mode 0600"

    # The container: its root is a picked host uid; only the socket
    # directory of the host is bound in. Each line it prints is checked.
    if [ ! -d /run/systemd ]; then
        mkdir /run/systemd
        u_made_run_systemd=yes
    fi
    timeout --foreground 300 unshare --mount --propagation private sh -c '
        mount -t tmpfs -o mode=0755 tmpfs /run/systemd &&
        mkdir -p /run/systemd/nspawn/propagate &&
        exec systemd-nspawn --quiet --register=no --keep-unit --private-network \
            --console=pipe --private-users=pick --private-users-ownership=chown --directory="$1" \
            --bind-ro="$2":/run/shmview --setenv=SHMVIEW_SOCKET=/run/shmview/shmview.sock \
            /bin/sh -c "
                echo uid \$(id -u)
                shmview create ctr 64K && printf from-the-container | shmview write ctr
                echo create \$?
                shmview cat rootsecret; echo cat-rootsecret \$?
                echo devshm \$(ls -A /dev/shm | wc -l)
                mount -t tmpfs -o size=64m tmpfs /dev/shm && df -h /dev/shm &&
                shmview create big 128M &&
                    head -c 128M /dev/zero | tr \"\\\\000\" x | shmview write big
                echo big \$?
            "
    ' sh "$work/root" "$sockdir" </dev/null >"$work/ctr.out" 2>&1
    cat "$work/ctr.out" >>"$out/userns.log"
    said() { tr -d '\r' <"$work/ctr.out" | sed -n "s/^$1 //p"; }
    base=$(stat -c %u "$work/root")
    u_check "in systemd-nspawn --private-users=pick the client is root (uid $(said uid)), the host's uid $base" \
        sh -c "test '$(said uid)' = 0 && test '$base' -ge 65536"
    u_check "the container's root creates and writes a segment through the bound socket directory" \
        test "$(said create)" = 0
    u_check "the host sees it owned by uid $base, with its bytes" \
        sh -c "$cli --json stat ctr | grep -q '\"uid\": $base,' &&
            test \"\$($cli cat ctr:0:18)\" = from-the-container"
    u_check "root in the container cannot read the host root's 0600 segment" \
        sh -c "test '$(said cat-rootsecret)' != 0 && grep -q 'no read permission' '$work/ctr.out'"
    u_check "a 64 MiB /dev/shm in the container: a 128 MiB segment is written whole" \
        sh -c "test '$(said big)' = 0 && $cli --json stat big | grep -q '\"size\": 134217728,'"
    u_check "the container's /dev/shm shows none of the host's objects" test "$(said devshm)" = 0
    u_check "the objects are in the host's /dev/shm, the daemon's (root's)" \
        sh -c "test \"\$(stat -c %u /dev/shm/$prefix.ctr)\" = 0 && test -f /dev/shm/$prefix.big"
    kill -TERM "$u_daemon"
    wait "$u_daemon" || u_bad "the daemon did not stop cleanly"
    u_daemon=""
    return $u_failed
}

case "${1:-}" in
rootfs) rootfs ;;
run)
    [ $# -eq 3 ] || { echo "usage: $0 run DEBDIR OUTDIR" >&2; exit 2; }
    run "$2" "$3"
    userns "$2" "$3"
    ;;
userns)
    [ $# -eq 3 ] || { echo "usage: $0 userns DEBDIR OUTDIR" >&2; exit 2; }
    userns "$2" "$3"
    ;;
*)
    echo "usage: $0 rootfs | run DEBDIR OUTDIR | userns DEBDIR OUTDIR" >&2
    exit 2
    ;;
esac
