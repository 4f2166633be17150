#!/bin/sh
# SPDX-License-Identifier: MIT
# test-format.sh: every C file of the tree is as .clang-format says.
#
# The tree has one look (STYLE.md); a reformat is its own commit, and this
# test keeps it so. Files made by the build (the version header, the CLI's
# command list) are not checked. Skipped, with one line, where no
# clang-format 14 is installed (its output differs between versions; CI
# installs Debian 12's clang-format-14).
# Environment (set by make check): SHMVIEW_SRCDIR.
set -eu

: "${SHMVIEW_SRCDIR:?SHMVIEW_SRCDIR must name the source directory}"
cf=""
for c in clang-format-14 clang-format; do
  if command -v "$c" >/dev/null 2>&1 && "$c" --version | grep -q 'version 14\.'; then
    cf=$c
    break
  fi
done
if [ -z "$cf" ]; then
  echo "test-format: skipped: clang-format 14 is not installed (apt-get install clang-format-14)"
  exit 77
fi

cd "$SHMVIEW_SRCDIR"
bad=0
n=0
for f in $(find client daemon proto tests bench -name '*.[ch]' \
  ! -name shmview-version.h ! -name cli-commands.h ! -path '*/build*' | sort); do
  n=$((n + 1))
  if ! "$cf" --style=file "$f" | cmp -s - "$f"; then
    echo "not formatted: $f (clang-format -i $f)"
    bad=$((bad + 1))
  fi
done
if [ "$bad" -ne 0 ]; then
  echo "test-format: $bad of $n C files differ from .clang-format"
  exit 1
fi
echo "test-format: $n C files, all as .clang-format says"
