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
#   tests/debian/nspawn.sh run DEBDIR OUTDIR  boot it with DEBDIR's .debs
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

case "${1:-}" in
rootfs) rootfs ;;
run)
    [ $# -eq 3 ] || { echo "usage: $0 run DEBDIR OUTDIR" >&2; exit 2; }
    run "$2" "$3"
    ;;
*)
    echo "usage: $0 rootfs | run DEBDIR OUTDIR" >&2
    exit 2
    ;;
esac
