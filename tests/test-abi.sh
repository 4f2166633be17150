#!/bin/sh
# SPDX-License-Identifier: MIT
# test-abi.sh: libshmview's ABI is what its header and version script say.
#
# The shared library's defined dynamic symbols (objdump -T) must all be
# shmv_* functions, each carrying a SHMVIEW_x.y version; they and the
# functions declared in shmview.h must be the same set; libshmview.map may
# export only shmv_ names (or the pattern shmv_* while a node is unreleased),
# each it names declared; and the soname follows the libtool version in
# configure.ac.
# Environment (set by make check): SHMVIEW_BUILDDIR, SHMVIEW_SRCDIR.
set -eu

: "${SHMVIEW_BUILDDIR:?SHMVIEW_BUILDDIR must name the build directory}"
: "${SHMVIEW_SRCDIR:?SHMVIEW_SRCDIR must name the source directory}"
for tool in objdump readelf; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not found"; exit 77; }
done

lib=$SHMVIEW_BUILDDIR/.libs/libshmview.so
[ -e "$lib" ] || { echo "SKIP: no shared library (configured --disable-shared?)"; exit 77; }
header=$SHMVIEW_SRCDIR/client/shmview.h
map=$SHMVIEW_SRCDIR/client/libshmview.map
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmv-abi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }
ok() { echo "ok - $*"; }

# Defined dynamic symbols: "ADDR FLAGS SECTION SIZE VERSION NAME".
objdump -T "$lib" | awk '$0 ~ /^[0-9a-f]+ / && $0 !~ /\*UND\*/ { print $(NF-1), $NF }' \
  >"$tmp/dynsyms"
# The version nodes themselves are absolute symbols named like their node.
grep -v '^\(SHMVIEW_[0-9.]*\) \1$' "$tmp/dynsyms" >"$tmp/exported" || true
[ -s "$tmp/exported" ] || fail "no exported symbols found in $lib"

bad=$(awk '$2 !~ /^shmv_[a-z0-9_]+$/' "$tmp/exported")
[ -z "$bad" ] && ok "every exported symbol is shmv_*" || fail "exported but not shmv_*: $bad"
bad=$(awk '$1 !~ /^SHMVIEW_[0-9]+\.[0-9]+$/' "$tmp/exported")
[ -z "$bad" ] && ok "every exported symbol has a SHMVIEW_x.y version" ||
  fail "exported without a SHMVIEW_x.y version: $bad"

awk '{ print $2 }' "$tmp/exported" | sort -u >"$tmp/lib.list"
# Functions the header declares (prototypes start in column 0; the
# function-like macros, #define shmv_stat(...), are not symbols).
grep -E '^[A-Za-z].*[ *]shmv_[a-z0-9_]+\(' "$header" |
  sed -E 's/^[^(]*[ *](shmv_[a-z0-9_]+)\(.*/\1/' | sort -u >"$tmp/header.list"
# The map's global entries: names, or the pattern shmv_* of a node not yet
# released (libshmview.map); either way only shmv_ names.
sed -n '/global:/,/local:/p' "$map" | grep -E '^[[:space:]]+[^[:space:]]+;' | tr -d ' \t;' \
  >"$tmp/map.entries" || true
grep -E '^shmv_[a-z0-9_]+$' "$tmp/map.entries" | sort -u >"$tmp/map.list" || true

if cmp -s "$tmp/lib.list" "$tmp/header.list"; then
  ok "the library exports exactly the $(wc -l <"$tmp/header.list") functions shmview.h declares"
else
  fail "exports and shmview.h differ (< exported only, > declared only):"
  diff "$tmp/lib.list" "$tmp/header.list" | grep '^[<>]' | sed 's/^/    /'
fi
bad=$(grep -vE '^shmv_([a-z0-9_]+|\*)$' "$tmp/map.entries" || true)
[ -z "$bad" ] && ok "libshmview.map exports only shmv_ names and patterns" ||
  fail "libshmview.map exports more than shmv_*: $bad"
bad=$(comm -23 "$tmp/map.list" "$tmp/header.list")
[ -z "$bad" ] && ok "every name libshmview.map lists is declared in shmview.h" ||
  fail "libshmview.map lists names shmview.h does not declare: $bad"

# soname: libshmview.so.(current - age), from configure.ac's libtool version.
lt=$(sed -n 's/^AC_SUBST(\[SHMV_LT_VERSION\], \[\([0-9]*:[0-9]*:[0-9]*\)\]).*/\1/p' \
  "$SHMVIEW_SRCDIR/configure.ac")
[ -n "$lt" ] || fail "no SHMV_LT_VERSION in configure.ac"
current=${lt%%:*}
age=${lt##*:}
want=libshmview.so.$((current - age))
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
[ "$soname" = "$want" ] && ok "soname $soname (libtool version $lt)" ||
  fail "soname '$soname', expected $want for libtool version $lt"

# Nothing of proto/ or the client's internals leaks into the dynamic table.
if objdump -T "$lib" | grep -v '\*UND\*' | grep -qE ' (proto_|client_)'; then
  fail "internal symbols exported: $(objdump -T "$lib" | grep -v '*UND*' | grep -E ' (proto_|client_)')"
else
  ok "no proto_ or client_ symbol exported"
fi

[ "$fails" -eq 0 ] || exit 1
