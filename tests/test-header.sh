#!/bin/sh
# SPDX-License-Identifier: MIT
# test-header.sh: what a program using libshmview compiles against.
#
# shmview.h (with the generated shmview-version.h) compiles alone as strict
# C99 and as C++ with every warning an error and no feature macros; a small
# C++ program using its macros builds and runs against the library; and the
# generated shmview.pc asks nothing of a consumer that the header does not
# need (no msgpack for a dynamic link, its library once for a static one).
# Environment (set by make check): SHMVIEW_BUILDDIR, SHMVIEW_SRCDIR.
set -eu

: "${SHMVIEW_BUILDDIR:?SHMVIEW_BUILDDIR must name the build directory}"
: "${SHMVIEW_SRCDIR:?SHMVIEW_SRCDIR must name the source directory}"
CC=${CC:-cc}
CXX=${CXX:-g++}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmv-header.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL - $*"; [ -s "$tmp/log" ] && sed 's/^/    /' "$tmp/log"; fails=$((fails + 1)); }
ok() { echo "ok - $*"; }

inc="-I$SHMVIEW_SRCDIR/client -I$SHMVIEW_BUILDDIR/client"
printf '#include <shmview.h>\n' >"$tmp/h.c"
printf '#include <shmview.h>\nint shmv_unused_(void);\nint shmv_unused_(void) { return SHMV_NAME_MAX; }\n' \
  >"$tmp/h2.c"

for std in c99 c11; do
  if $CC -std=$std -pedantic -Wall -Wextra -Werror $inc -c "$tmp/h2.c" -o "$tmp/h.o" >"$tmp/log" 2>&1; then
    ok "shmview.h compiles as -std=$std -pedantic -Wall -Wextra -Werror"
  else
    fail "shmview.h as -std=$std -pedantic -Wall -Wextra -Werror"
  fi
done

if command -v "$CXX" >/dev/null 2>&1; then
  for std in c++11 c++17; do
    if $CXX -x c++ -std=$std -pedantic -Wall -Wextra -Werror -fsyntax-only $inc "$tmp/h.c" \
      >"$tmp/log" 2>&1; then
      ok "shmview.h compiles as C++ (-std=$std -pedantic -Wall -Wextra -Werror)"
    else
      fail "shmview.h as C++ (-std=$std)"
    fi
  done
  # A C++ program using the macros, linked with the built library.
  cat >"$tmp/use.cc" <<'CC'
#include <shmview.h>
#include <cstdio>
#include <cstring>
int main() {
  shmv_connect_options o = SHMV_CONNECT_OPTIONS_INIT;
  o.map_cache = 0;
  shmv_client *c = 0;
  /* No daemon at this path: a clean error, and the sentence. */
  int rc = shmv_connect_with("/nonexistent/shmview.sock", &o, &c);
  shmv_segment_info si;
  (void)sizeof(si);
  if (rc != -2 || c != 0 || std::strlen(shmv_last_error(0)) == 0)
    return 1;
  if (std::strcmp(shmv_version(), SHMV_VERSION_STRING) != 0)
    return 2;
  std::printf("%s\n", shmv_version());
  return 0;
}
CC
  # A sanitizer build's library needs its runtime linked into the program.
  san=
  if readelf -d "$SHMVIEW_BUILDDIR/.libs/libshmview.so" 2>/dev/null | grep -q libasan; then
    san=-fsanitize=address,undefined
  fi
  if $CXX $san -Wall -Wextra -Werror $inc "$tmp/use.cc" -o "$tmp/use" \
    -L"$SHMVIEW_BUILDDIR/.libs" -lshmview >"$tmp/log" 2>&1 &&
    LD_LIBRARY_PATH="$SHMVIEW_BUILDDIR/.libs" "$tmp/use" >"$tmp/log" 2>&1; then
    ok "a C++ program builds with the macros and runs against the library"
  else
    fail "a C++ program using shmview.h"
  fi
else
  echo "skip - no C++ compiler ($CXX)"
fi

# The .pc as configure made it.
if command -v pkg-config >/dev/null 2>&1; then
  export PKG_CONFIG_PATH="$SHMVIEW_BUILDDIR/client"
  cflags=$(pkg-config --cflags shmview)
  libs=$(pkg-config --libs shmview)
  static=$(pkg-config --static --libs shmview)
  : >"$tmp/log"
  case "$cflags $libs" in
  *msgpack*) fail "pkg-config --cflags/--libs shmview mention msgpack: $cflags $libs" ;;
  *) ok "no msgpack for a dynamic link ($libs)" ;;
  esac
  n=$(printf '%s\n' $static | grep -c -- '-lmsgpackc' || true)
  [ "$n" -eq 1 ] && ok "--static: -lmsgpackc once ($static)" ||
    fail "--static lists -lmsgpackc $n times: $static"
  grep -q '^Requires' "$SHMVIEW_BUILDDIR/client/shmview.pc" &&
    fail "shmview.pc has a Requires line" || ok "shmview.pc requires no other package"
else
  echo "skip - no pkg-config"
fi

[ "$fails" -eq 0 ] || exit 1
