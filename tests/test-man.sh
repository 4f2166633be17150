#!/bin/sh
# SPDX-License-Identifier: MIT
# test-man.sh: shmviewd(8) documents exactly the flags `shmviewd --help` lists.
#
# The flags (long name, and short letter where there is one) are taken from
# the built daemon's --help and from the man page's OPTIONS section (each
# .TP tag); the two lists must be equal, and every option but --help and
# --version must be in the SYNOPSIS too. A flag added to daemon/conf.c's
# table without a line in docs/shmviewd.8 fails here, and so does a man
# page entry for a flag that no longer exists.
#
# Environment (set by make check): SHMVIEWD, SHMVIEW_SRCDIR.
set -eu

: "${SHMVIEWD:?SHMVIEWD must name the built shmviewd}"
: "${SHMVIEW_SRCDIR:?SHMVIEW_SRCDIR must name the source directory}"
man=$SHMVIEW_SRCDIR/docs/shmviewd.8
[ -r "$man" ] || { echo "FAIL - cannot read $man"; exit 1; }

tmp=$(mktemp -d "${SHMVIEW_TEST_TMPDIR:-/tmp}/man.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL - $*"; exit 1; }

# "--long -x" or "--long" per option, sorted.
"$SHMVIEWD" --help >"$tmp/help" || fail "shmviewd --help exited $?"
sed -n 's/^  *\(-[A-Za-z]\), \(--[a-z][a-z-]*\).*/\2 \1/p
s/^  *\(--[a-z][a-z-]*\).*/\1/p' "$tmp/help" | sort >"$tmp/help.flags"
[ "$(wc -l <"$tmp/help.flags")" -ge 10 ] ||
  fail "found only $(wc -l <"$tmp/help.flags") flags in --help: $(cat "$tmp/help")"

# The man page with \- as -, its OPTIONS section's .TP tags, and the SYNOPSIS.
sed 's/\\-/-/g' "$man" >"$tmp/man"
sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$tmp/man" | sed -n '/^\.TP/{n;p;}' >"$tmp/tags"
sed -n 's/^\.B[IR]* \(-[A-Za-z]\) *", " *\(--[a-z][a-z-]*\).*/\2 \1/p
t
s/^\.B[IR]* \(--[a-z][a-z-]*\).*/\1/p' "$tmp/tags" | sort >"$tmp/man.flags"
[ -s "$tmp/man.flags" ] || fail "no options found in the OPTIONS section of $man"

if ! diff -u "$tmp/help.flags" "$tmp/man.flags" >"$tmp/diff"; then
  echo "shmviewd --help (-) and the OPTIONS of docs/shmviewd.8 (+) differ:"
  cat "$tmp/diff"
  fail "docs/shmviewd.8 does not document the flags --help lists"
fi
echo "ok - OPTIONS of shmviewd(8) = --help: $(cut -d' ' -f1 "$tmp/man.flags" | tr '\n' ' ')"

sed -n '/^\.SH SYNOPSIS/,/^\.SH /p' "$tmp/man" >"$tmp/synopsis"
for f in $(cut -d' ' -f1 "$tmp/help.flags"); do
  case $f in --help|--version) continue ;; esac
  grep -q -- "$f\$" "$tmp/synopsis" || grep -q -- "$f[ |]" "$tmp/synopsis" ||
    fail "$f is not in the SYNOPSIS of docs/shmviewd.8"
done
echo "ok - every option is in the SYNOPSIS"
