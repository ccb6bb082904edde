#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Shell completion for ckptctl against a real ckptd: completion/ckptctl.bash
# is sourced and driven the way bash drives it (COMP_WORDS, COMP_CWORD,
# then COMPREPLY): verbs, flags of a verb, container names and image ids
# from the running ckptd (socket from --socket or $CKPTD_SOCKET), files for
# -o, directories for --cwd, signals, commands after "run NAME --".
# completion/_ckptctl must at least parse (zsh -n) when zsh is installed.
# Run by ctest (completion/bash) with CKPT_BUILD set; exit 0, 1 or 77.
. "$(dirname "$0")/e2e/lib.sh"

# shellcheck source=completion/ckptctl.bash
. "$REPO/completion/ckptctl.bash"
complete -p ckptctl >/dev/null || fail "ckptctl.bash registers no completion for ckptctl"

# comp WORD... : what completing the last WORD (may be "") offers, sorted,
# space-separated; words[0] is the ckptctl to run.
comp() {
	local COMP_WORDS=("$@") COMP_CWORD=$(($# - 1)) COMPREPLY=()
	_ckptctl ckptctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//'
}

# expect WANT WORD...: the offer must be exactly WANT
expect() {
	local want=$1 got
	shift
	got=$(comp "$@")
	[ "$got" = "$want" ] || fail "completing '$*|': got '$got', want '$want'"
	info "'$*|' -> $got"
}

# expect_has WANT... -- WORD...: the offer must include each WANT
expect_has() {
	local -a want=()
	local got w
	while [ "$1" != -- ]; do want+=("$1"); shift; done
	shift
	got=" $(comp "$@") "
	for w in "${want[@]}"; do
		[[ $got == *" $w "* ]] || fail "completing '$*|': '$w' not in '$got'"
	done
	info "'$*|' -> has ${want[*]}"
}

start_ckptd
C=$CKPTCTL
a=$P-alpha b=$P-beta
run_ct "$a" "$WL/counter"
run_ct "$b" "$WL/counter"
checkpoint_ct "$b" --leave-running
id=$(ckctl --json images "$b" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["images"][0]["id"])')
[ -n "$id" ] || fail "no image id for $b"

expect "attach cancel check checkpoint events export images import inspect kill list logs ps restart rm run stats version wait" "$C" ""
expect "check checkpoint" "$C" ch
expect "--help --json --socket --version" "$C" --
expect "$a $b" "$C" --socket "$SOCK" logs ""
expect "$a" "$C" --socket "$SOCK" rm "$P-a"
expect "$b" "$C" --json --socket="$SOCK" checkpoint "$P-b"
# the name is the verb's only argument
expect "" "$C" --socket "$SOCK" logs "$a" ""
expect "$id" "$C" --socket "$SOCK" restart "$b" --image ""
expect "" "$C" --socket "$SOCK" restart "$a" --image ""
expect_has --check --leave-running --timeout --ghost-limit --hook --output -o -- "$C" --socket "$SOCK" checkpoint "$a" -
expect_has --image --input -i -- "$C" --socket "$SOCK" restart "$a" -
expect_has --cwd --env --env-file --hostname --net --publish -- "$C" run x --
expect_has --follow -f -- "$C" logs "$a" -
expect "$a $b" "$C" --socket "$SOCK" ps ""
expect "$a $b" "$C" --socket "$SOCK" wait ""
expect "$a $b" "$C" --socket "$SOCK" stats ""
expect "$a $b" "$C" --socket "$SOCK" export ""
expect "$id" "$C" --socket "$SOCK" export "$b" ""
expect_has --output -o -- "$C" --socket "$SOCK" export "$b" -
expect "$a $b" "$C" --socket "$SOCK" import ""
expect_has --input -i -- "$C" --socket "$SOCK" import "$a" -
expect_has --encode -- "$C" inspect -
expect "rm" "$C" --socket "$SOCK" images r
expect "$b" "$C" --socket "$SOCK" images rm "$P-b"
expect "$id" "$C" --socket "$SOCK" images rm "$b" ""
expect "USR1 USR2" "$C" --socket "$SOCK" kill "$a" --signal US
expect "USR1 USR2" "$C" --socket "$SOCK" kill "$a" --signal usr
# files for -o and -i (and "-"), directories for --cwd
mkdir -p "$WORK/dir1" && : >"$WORK/file1"
expect "$WORK/dir1 $WORK/file1" "$C" --socket "$SOCK" checkpoint "$a" -o "$WORK/"
expect "$WORK/file1" "$C" --socket "$SOCK" restart "$a" -i "$WORK/fi"
expect_has - -- "$C" restart "$a" -i ""
expect "$WORK/dir1" "$C" run x --cwd "$WORK/"
expect "$WORK/file1" "$C" inspect "$WORK/f"
expect "$WORK/file1" "$C" run x --env-file "$WORK/fi"
# a command after "run NAME --", its files after that
expect_has echo -- "$C" run x -- ech
expect "$WORK/file1" "$C" run x -- cat "$WORK/f"
# the socket from the environment; ckptctl found in PATH
CKPTD_SOCKET=$SOCK PATH=$BUILD:$PATH expect "$a $b" ckptctl logs ""
# no ckptd there: no names, and no hang
t0=$(now_ms)
expect "" "$C" --socket "$TMP/nosock" logs ""
[ $(( $(now_ms) - t0 )) -lt 5000 ] || fail "completing without a ckptd took $(( $(now_ms) - t0 )) ms"

if command -v zsh >/dev/null; then
	zsh -n "$REPO/completion/_ckptctl" || fail "completion/_ckptctl does not parse"
fi
echo "PASS: $TEST_NAME"
pass
