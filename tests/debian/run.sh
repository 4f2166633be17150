#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/debian/run.sh: build shmview's Debian packages and check them.
#
#   1. build: dpkg-buildpackage -us -uc -b in a clean copy of the tree
#      (the files git knows, plus untracked ones it does not ignore), with
#      make check in dh_auto_test;
#   2. lintian on the .changes: no error, no warning;
#   3. host: apt-get install ./*.deb on this machine, then the autopkgtests
#      of debian/tests against the installed files (daemon as user shmview
#      on a socket of its own, the CLI, a program built with pkg-config),
#      then apt-get purge and a file list that must match the one before;
#   4. nspawn: the same .debs under a real systemd (tests/debian/nspawn.sh).
#
#   tests/debian/run.sh [build|lintian|host|nspawn]...   (default: all four)
#   tests/debian/run.sh symbols   rewrite debian/libshmviewN.symbols from the
#                                 last build (after an intended ABI change:
#   DPKG_GENSYMBOLS_CHECK_LEVEL=0 DEB_BUILD_OPTIONS=nocheck \
#       sh tests/debian/run.sh build symbols
#   builds despite the old file, then rewrites it; review and commit it.
#   New functions get the changelog's version; a new SONAME means a new
#   package name in debian/control first, libshmview<soversion>, and a
#   git mv of its .install and .symbols)
#
# Results go to build-deb/ (the .debs, logs). Needs root and the packages
# that quickstart's `packages` step installs.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/tests/debian
out=$top/build-deb
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
# The runtime library's package, named after its SONAME (libshmview.so.1:
# libshmview1), and its symbols file.
libpkg=$(sed -n 's/^Package: *\(libshmview[0-9][0-9.]*\) *$/\1/p' "$top/debian/control")
symfile=debian/$libpkg.symbols

say() { echo "debian: $*"; }
die() {
    echo "debian: FAIL: $*" >&2
    exit 1
}

# ---- 1. build ------------------------------------------------------------
build() {
    start=$(date +%s)
    rm -rf "$out"/*
    mkdir -p "$out"
    src=$out/src/shmview-$version
    mkdir -p "$src"
    if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
        (cd "$top" && git ls-files -z --cached --others --exclude-standard |
            xargs -0 sh -c 'for f; do [ ! -e "$f" ] || printf "%s\0" "$f"; done' sh |
            tar --null -T - -cf - | tar -xf - -C "$src")
    else
        # Not a git checkout (a release tarball): copy all but builds.
        (cd "$top" && tar --exclude='./build*' -cf - . | tar -xf - -C "$src")
    fi
    say "building in $src (dpkg-buildpackage -us -uc -b, make check included)"
    (cd "$src" && dpkg-buildpackage -us -uc -b -j"$(nproc)") >"$out/build.log" 2>&1 || {
        tail -n 60 "$out/build.log" >&2
        die "dpkg-buildpackage failed (log: $out/build.log)"
    }
    grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR):' "$out/build.log" | sed 's/^/debian: make check: /'
    case " ${DEB_BUILD_OPTIONS:-} " in
    *" nocheck "*) say "make check skipped (DEB_BUILD_OPTIONS=nocheck)" ;;
    *) grep -q '^# PASS: ' "$out/build.log" || die "dh_auto_test ran no test" ;;
    esac
    if [ "${DPKG_GENSYMBOLS_CHECK_LEVEL:-}" != 0 ] &&
        grep -q 'dpkg-gensymbols: warning' "$out/build.log"; then
        grep -A30 'dpkg-gensymbols: warning' "$out/build.log" >&2
        die "$symfile does not match the library (see: run.sh symbols)"
    fi
    mv "$out"/src/*.deb "$out"/src/*.changes "$out"/src/*.buildinfo "$out"/
    rm -rf "$out/src"
    for f in "$out"/*.deb; do say "built $(basename "$f")"; done
    say "build: $(($(date +%s) - start)) s"
}

# ---- symbols: rewrite debian/libshmviewN.symbols from the built library
# (after an intended ABI change; `build` fails while they differ). New
# symbols get the changelog's version.
symbols() {
    tmp=$(mktemp -d)
    dpkg-deb -x "$out/${libpkg}_${version}_$(dpkg --print-architecture).deb" "$tmp"
    soname=libshmview.so.${libpkg#libshmview}
    lib=$(ls "$tmp"/usr/lib/*/"$soname") ||
        die "$libpkg has no $soname: is the package named after the SONAME?"
    # -I keeps the minimum versions of the symbols already listed; a symbol
    # the library no longer has (by name and version node) is dropped (that
    # is an ABI break: bump the SONAME instead). A file for another SONAME is not a base: after a
    # SONAME bump every symbol starts again at this version.
    base=
    if [ -f "$top/$symfile" ] && head -n1 "$top/$symfile" | grep -q "^$soname "; then
        base=-I$top/$symfile
    fi
    # Every defined dynamic symbol as dpkg-gensymbols names it, NAME@VERSION:
    # shmv_x@@SHMVIEW_0.1 is shmv_x@SHMVIEW_0.1, the version node itself
    # (an absolute symbol) SHMVIEW_0.1@SHMVIEW_0.1, an unversioned one @Base.
    nm -D --defined-only "$lib" | awk '{
        s = $3
        if (s ~ /@/) sub(/@@?/, "@", s)
        else if ($2 == "A") s = s "@" s
        else s = s "@Base"
        print s }' | sort -u >"$tmp/exported"
    # shellcheck disable=SC2086
    DPKG_GENSYMBOLS_CHECK_LEVEL=0 dpkg-gensymbols -q -v"$version" -p"$libpkg" -P"$tmp" \
        -e"$lib" -O $base |
        awk -v list="$tmp/exported" '
            BEGIN { while ((getline s <list) > 0) have[s] = 1 }
            /^ / { if (!($1 in have)) next }
            { print }' >"$tmp/symbols"
    grep -q '^\* Build-Depends-Package:' "$tmp/symbols" ||
        sed -i '1a\
* Build-Depends-Package: libshmview-dev' "$tmp/symbols"
    mv "$tmp/symbols" "$top/$symfile"
    rm -rf "$tmp"
    say "wrote $symfile ($(grep -c '^ ' "$top/$symfile") symbols)"
}

# ---- 2. lintian ------------------------------------------------------------
lint() {
    changes=$(ls "$out"/shmview_"$version"_*.changes)
    say "lintian $changes"
    # --fail-on error,warning: any E: or W: fails; I: and P: are shown.
    lintian --fail-on error,warning --display-info \
        "$changes" >"$out/lintian.log" 2>&1 || {
        cat "$out/lintian.log" >&2
        die "lintian reports errors or warnings"
    }
    if [ -s "$out/lintian.log" ]; then sed 's/^/debian: lintian: /' "$out/lintian.log"; fi
    say "lintian: no errors, no warnings"
}

# ---- 3. on this host -------------------------------------------------------
# What a purge must give back: every file outside the kernel's trees, the
# journal, apt's and dpkg's own databases and caches, and the scratch
# directories other programs use meanwhile.
snapshot() {
    find / -xdev \( -path /proc -o -path /sys -o -path /tmp -o -path /var/tmp \
        -o -path /var/cache -o -path /var/log -o -path /var/lib/apt \
        -o -path /var/lib/dpkg -o -path /root -o -path /home -o -path /work \
        -o -path /run/user -o -path "$out" \) -prune -o -print | sort
    # Other programs come and go in /run and /dev/shm: only ours count.
    ls -a /run | grep shmview || true
    ls -a /dev/shm | grep -E '^(shmview|apt[0-9]+)[.-]'  || true
}

host() {
    start=$(date +%s)
    [ "$(id -u)" -eq 0 ] || die "the host checks need root"
    if dpkg-query -W -f='${Status}\n' shmviewd 2>/dev/null | grep -q 'ok installed'; then
        die "shmviewd is installed already: purge it first"
    fi
    had_user=no
    getent passwd shmview >/dev/null && had_user=yes
    snapshot >"$out/files.before"

    say "apt-get install ./*.deb"
    (cd "$out" && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        -o DPkg::Lock::Timeout=300 ./*.deb) >"$out/install.log" 2>&1 || {
        cat "$out/install.log" >&2
        die "apt-get install failed"
    }
    rc=0
    pkgs=$(for f in "$out"/*.deb; do dpkg-deb -f "$f" Package; done)
    : >"$out/installed.list"
    for p in $pkgs; do
        dpkg -L "$p" >>"$out/installed.list"
    done
    # The autopkgtests, as autopkgtest would run them (as root, with
    # AUTOPKGTEST_TMP), against the files just installed.
    for t in $(sed -n 's/^Tests: *//p' "$top/debian/tests/control"); do
        tmp=$(mktemp -d /tmp/shmview-autopkgtest.XXXXXX)
        if AUTOPKGTEST_TMP=$tmp sh "$top/debian/tests/$t" >"$out/test-$t.log" 2>&1; then
            grep '^ok - ' "$out/test-$t.log" | sed 's/^/debian: host: /' 
            say "host: $t: ok"
        else
            cat "$out/test-$t.log" >&2
            say "host: $t: FAILED"
            rc=1
        fi
        rm -rf "$tmp"
    done
    getent passwd shmview | grep -q ':/usr/sbin/nologin$' ||
        { say "host: the shmview user is missing or has a login shell"; rc=1; }

    say "apt-get purge"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q -o DPkg::Lock::Timeout=300 \
        $pkgs >"$out/purge.log" 2>&1 || {
        cat "$out/purge.log" >&2
        die "apt-get purge failed"
    }
    # Debian leaves a package's system user behind on purge (its uid may
    # own files elsewhere); this test made it, so this test removes it.
    if [ "$had_user" = no ] && getent passwd shmview >/dev/null; then
        userdel shmview
        getent group shmview >/dev/null && groupdel shmview
    fi
    snapshot >"$out/files.after"
    if ! diff -u "$out/files.before" "$out/files.after" >"$out/files.diff"; then
        cat "$out/files.diff" >&2
        say "host: the purge left files behind, or removed some (above)"
        rc=1
    fi
    left=$(while read -r f; do [ ! -e "$f" ] || [ -d "$f" ] || echo "$f"; done \
        <"$out/installed.list")
    if [ -n "$left" ]; then
        say "host: still there after the purge: $left"
        rc=1
    fi
    [ $rc -eq 0 ] || die "host checks failed"
    say "host: installed, checked and purged in $(($(date +%s) - start)) s; file lists match"
}

# ---- 4. under systemd ------------------------------------------------------
nspawn() {
    start=$(date +%s)
    rm -rf "$out/debs"
    mkdir -p "$out/debs"
    cp "$out"/*.deb "$out/debs/"
    sh "$here/nspawn.sh" run "$out/debs" "$out/nspawn" ||
        die "the checks under systemd failed (see $out/nspawn/)"
    say "nspawn: $(($(date +%s) - start)) s"
}

steps=${*:-build lintian host nspawn}
for s in $steps; do
    case $s in
    build) build ;;
    lintian) lint ;;
    host) host ;;
    nspawn) nspawn ;;
    symbols) symbols ;;
    *) die "unknown step '$s' (build, lintian, host, nspawn or symbols)" ;;
    esac
done
say "all steps passed: $steps"
