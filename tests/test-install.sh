#!/bin/sh
# SPDX-License-Identifier: MIT
# test-install.sh: `./configure --prefix=DIR && make install` stays in DIR.
#
#  - a fresh build of this source tree, configured with --prefix=$tmp/inst,
#    runs `make install` with DESTDIR empty. install and mkdir -p are
#    replaced by guards that refuse (and fail the test) on any path outside
#    the prefix, so a unit directory that does not follow the prefix is
#    reported without ever being written to the live system; then every
#    expected file must be there (units, snippets, binaries, library,
#    header, .pc, man pages), ExecStart= must name the installed daemon,
#    and client/examples/hello.c must build with the README's line
#    (cc hello.c $(pkg-config --cflags --libs shmview)) against it;
#  - configured with --prefix=/usr (systemd's own prefix) the unit
#    directories are pkg-config's systemd ones, the real paths; a directory
#    given with --with-...dir=DIR is used as given. Nothing is installed.
#
# Environment (set by make check): SHMVIEW_SRCDIR, SHMVIEW_BUILDDIR (for
# CC), SHMVIEW_MAKE, SHMVIEW_TEST_TMPDIR. The fresh build costs about
# as much as one `make`. A source tree configured in place (not VPATH)
# cannot be configured again elsewhere: the test then exits 77.
set -eu

: "${SHMVIEW_BUILDDIR:?SHMVIEW_BUILDDIR must name the build directory}"
MAKE_CMD=${SHMVIEW_MAKE:-make}
: "${SHMVIEW_SRCDIR:?SHMVIEW_SRCDIR must name the source directory}"
srcdir=$SHMVIEW_SRCDIR
cc=$(sed -n 's/^CC = //p' "$SHMVIEW_BUILDDIR/Makefile")
[ -n "$srcdir" ] && [ -x "$srcdir/configure" ] || { echo "FAIL - no configure in '$srcdir'"; exit 1; }

if [ -f "$srcdir/config.status" ]; then
  echo "SKIP: $srcdir is configured in place; a second configure needs a VPATH build"
  exit 77
fi

tmproot=${SHMVIEW_TEST_TMPDIR:-/tmp}
mkdir -p "$tmproot"
tmp=$(mktemp -d "$tmproot/inst.XXXXXX")
tmp=$(cd "$tmp" && pwd -P)
inst=$tmp/inst
trap 'st=$?; chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"; exit $st' EXIT
trap 'exit 1' INT TERM HUP

ok() { echo "ok - $*"; }
fail() {
  echo "FAIL - $*"
  for f in "$tmp/refused" "$tmp/log"; do
    if [ -s "$f" ]; then echo "  $f:"; tail -n 30 "$f" | sed 's/^/    /'; fi
  done
  exit 1
}

# The guards: install(1) and `mkdir -p` that log each destination and refuse
# one outside $inst. install's destination is its last operand, every
# operand with -d, or -t DIR.
mkdir -p "$tmp/guard"
cat >"$tmp/guard/install" <<EOF
#!/bin/sh
inst='$inst'; log='$tmp/installed'; refused='$tmp/refused'
real='$(command -v install)'
EOF
cat >>"$tmp/guard/install" <<'EOF'
dirs=0 target= last= operands=
parse() {
  while [ $# -gt 0 ]; do
    case $1 in
      -d) dirs=1 ;;
      -t) target=$2; shift ;;
      -m|-o|-g) shift ;;
      -*) ;;
      *) last=$1; operands="$operands
$1" ;;
    esac
    shift
  done
}
check() {
  case $1 in
    "$inst"/*) echo "$1" >>"$log" ;;
    *) echo "install: refused: '$1' is outside the prefix $inst" | tee -a "$refused" >&2
       exit 1 ;;
  esac
}
parse "$@"
if [ -n "$target" ]; then
  check "$target"
elif [ $dirs = 1 ]; then
  IFS='
'
  for d in $operands; do check "$d"; done
  unset IFS
else
  check "$last"
fi
exec "$real" "$@"
EOF
cat >"$tmp/guard/mkdir-p" <<EOF
#!/bin/sh
inst='$inst'; refused='$tmp/refused'
for d in "\$@"; do
  case \$d in
    -*) ;;
    "\$inst"|"\$inst"/*) ;;
    /*|..|../*|*/../*|*/..)
       echo "mkdir -p: refused: '\$d' is outside the prefix \$inst" | tee -a "\$refused" >&2
       exit 1 ;;
    *) ;; # relative: a directory of the build tree (make -C \$build)
  esac
done
exec mkdir -p "\$@"
EOF
chmod +x "$tmp/guard/install" "$tmp/guard/mkdir-p"

# ---- configure --prefix=$inst && make install --------------------------------
build=$tmp/build
mkdir -p "$build"
(
  cd "$build"
  env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u DESTDIR "$srcdir/configure" -q \
    --prefix="$inst" --cache-file="$tmp/config.cache" CC="$cc" >"$tmp/log" 2>&1
) || { tail -n 30 "$build/config.log" >>"$tmp/log" 2>/dev/null; fail "configure --prefix=$inst failed"; }
# Build first (the install guards allow mkdir -p of the build tree itself,
# which make install runs again for the Python build tree).
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $MAKE_CMD -s -C "$build" >"$tmp/log" 2>&1 ||
  fail "make with --prefix=$inst failed"
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u DESTDIR $MAKE_CMD -s -C "$build" install DESTDIR= \
  INSTALL="$tmp/guard/install" MKDIR_P="$tmp/guard/mkdir-p" >"$tmp/log" 2>&1 ||
  fail "make install with --prefix=$inst failed (or wrote outside it)"
[ ! -s "$tmp/refused" ] || fail "make install tried to write outside $inst"
[ -s "$tmp/installed" ] || fail "the install guard saw no file installed"
ok "make install: $(wc -l <"$tmp/installed") files, every one under the prefix"

for f in sbin/shmviewd bin/shmview include/shmview.h lib/pkgconfig/shmview.pc \
  lib/libshmview.la share/man/man1/shmview.1 share/man/man8/shmviewd.8 \
  lib/systemd/system/shmviewd.service lib/systemd/system/shmviewd.socket \
  lib/systemd/system/shmviewd@.service lib/systemd/system/shmviewd@.socket \
  lib/systemd/user/shmviewd.service lib/systemd/user/shmviewd.socket \
  lib/sysusers.d/shmview.conf lib/tmpfiles.d/shmview.conf; do
  [ -e "$inst/$f" ] || fail "$f was not installed under $inst"
done
ls "$inst"/lib/libshmview.so* >/dev/null 2>&1 || fail "no libshmview.so under $inst/lib"
[ -n "$(find "$inst" -path '*bash-completion*' -name shmview)" ] ||
  fail "the bash completion was not installed under $inst"
grep -qx "ExecStart=$inst/sbin/shmviewd --socket /run/shmview/shmview.sock" \
  "$inst/lib/systemd/system/shmviewd.service" ||
  fail "ExecStart= is not the installed daemon: $(grep ExecStart= "$inst/lib/systemd/system/shmviewd.service")"
ok "installed: units under lib/systemd/{system,user}, lib/sysusers.d, lib/tmpfiles.d; ExecStart=$inst/sbin/shmviewd"

# The README's build line works against the installed header and .pc.
(
  cd "$tmp"
  PKG_CONFIG_PATH=$inst/lib/pkgconfig
  export PKG_CONFIG_PATH
  $cc "$srcdir/client/examples/hello.c" $(pkg-config --cflags --libs shmview) -o hello
) >"$tmp/log" 2>&1 || fail "client/examples/hello.c does not build against the installed library"
LD_LIBRARY_PATH=$inst/lib ldd "$tmp/hello" | grep -q "$inst/lib/libshmview.so" ||
  fail "hello is not linked against $inst/lib/libshmview.so"
ok "cc hello.c \$(pkg-config --cflags --libs shmview) builds against the installed library"

# ---- --prefix=/usr: the real paths -------------------------------------------
sdprefix=$(pkg-config --variable=prefix systemd 2>/dev/null || true)
if [ -z "$sdprefix" ]; then
  echo "SKIP: pkg-config knows no systemd (Debian package systemd-dev or systemd): the real paths are not checked"
  exit 77
fi
(
  cd "$build"
  env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$srcdir/configure" -q --prefix="$sdprefix" \
    --with-tmpfilesdir="$tmp/explicit" --cache-file="$tmp/config.cache" CC="$cc" >"$tmp/log" 2>&1
) || fail "configure --prefix=$sdprefix failed"
for v in systemdsystemunitdir systemduserunitdir sysusersdir; do
  want=$(pkg-config --variable=$v systemd)
  got=$(sed -n "s/^$v = //p" "$build/Makefile")
  [ "$got" = "$want" ] || fail "--prefix=$sdprefix: $v is '$got', pkg-config says '$want'"
  ok "--prefix=$sdprefix: $v = $got"
done
got=$(sed -n 's/^tmpfilesdir = //p' "$build/Makefile")
[ "$got" = "$tmp/explicit" ] || fail "--with-tmpfilesdir=$tmp/explicit gave '$got'"
ok "--with-tmpfilesdir=DIR is used as given"
