#!/bin/sh
# SPDX-License-Identifier: MIT
# test-completion.sh: the bash completion for shmview
# (client/cli/bash-completion/shmview), sourced in bash and called as bash
# calls it (COMP_WORDS, COMP_CWORD -> COMPREPLY), against the built tool and
# a real daemon for segment names. Skips (77) without bash.
set -eu

: "${SHMVIEWD:?SHMVIEWD must name the built shmviewd}"
: "${SHMVIEW_CLI:?SHMVIEW_CLI must name the built shmview}"
srcdir=${srcdir:-.}
BASH=$(command -v bash || true)
if [ -z "$BASH" ]; then
  echo "SKIP: bash not found"
  exit 77
fi
completion=$srcdir/client/cli/bash-completion/shmview
[ -f "$completion" ] || { echo "FAIL - no $completion"; exit 1; }

test_name=completion
. "$srcdir/tests/cli-daemon.sh"

for s in alpha alps beta; do
  "$SHMVIEW_CLI" --socket "$sock" create "$s" 1K || fail "create $s"
done

# complete_words WORDS...: the completion of the last word, sorted, one line.
complete_words() {
  "$BASH" --norc --noprofile -c '
    . "$1" || exit 3
    shift
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    _shmview "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "
  ' completion "$completion" "$@"
}

# check EXPECTED WORDS...
check() {
  want=$1
  shift
  got=$(complete_words "$@")
  [ "$got" = "$want" ] || fail "completing '$*': got '$got', expected '$want'"
  echo "ok - '$*' -> '$want'"
}

cli=$SHMVIEW_CLI
check "stat status " "$cli" st
check "cat channel chmod chown create " "$cli" c
check "freeze " "$cli" fr
check "alpha alps " "$cli" --socket "$sock" freeze al
check "--json " "$cli" --js
check "--bytes " "$cli" list --by
check "--no-header " "$cli" --socket "$sock" ls --no
check "--help --length --offset " "$cli" dump --
check "--mode " "$cli" create --m
check "wait wake write " "$cli" w
check "alpha alps " "$cli" --socket "$sock" wait --timeout 5 al
check "alpha alps " "$cli" --socket "$sock" stat al
check "alpha alps beta " "$cli" --socket "$sock" dump ""
check "beta " "$cli" --socket "$sock" rm --help b
check "alpha " "$cli" --socket "$sock" cat --offset 5 alph
check "alpha alps " "$cli" "--socket=$sock" resize al
# no segment names where a new name, a second operand or a value goes
check " " "$cli" --socket "$sock" create al
check " " "$cli" --socket "$sock" resize alpha a
check " " "$cli" --socket "$sock" dump --length a
# chmod's and chown's NAME is their second operand
check "alpha alps " "$cli" --socket "$sock" chmod 0640 al
check "alpha alps " "$cli" --socket "$sock" chown nobody: al
check " " "$cli" --socket "$sock" chmod al
# the segments of the daemon on the socket the line names, not another one
check " " "$cli" --socket "$dir/none.sock" stat al
check "stat status " "$cli" help sta
# the commands --help lists, their aliases and help are the first words,
# read from the tool: the script itself names no command
listed=$("$cli" --help | sed -n 's/^  \([a-z][a-z]*\)\(, \([a-z][a-z]*\)\)\{0,1\}  .*/\1 \3/p')
check "$(printf '%s\n' $listed help | sort | tr '\n' ' ')" "$cli" ""
for w in $listed; do
  grep -qw -- "$w" "$completion" && [ "$w" != list ] &&
    fail "the completion script names the command '$w': it should read it from the tool"
done
echo "ok - the script names no command"
echo "ok - all completions"
