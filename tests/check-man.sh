#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The rendered man pages (BUILD/docs/man) read without a warning from man
# or groff, have the sections a man page has, and keep up with the
# programs: every verb and option of `ckptctl --help` is in ckptctl(1),
# every option of `ckptd --help` in ckptd(8).
# Usage: tests/check-man.sh BUILD. Exit 0 pass, 1 fail, 77 skip.
set -u -o pipefail

build=${1:?usage: check-man.sh BUILD}
man_dir=$build/docs/man
failed=0

bad() { echo "FAIL: $*" >&2; failed=1; }

command -v man >/dev/null || { echo "SKIP: man is not installed"; exit 77; }
[ -e "$man_dir/ckptd.8" ] || { echo "SKIP: no rendered pages in $man_dir (scdoc missing at build time)"; exit 77; }

# render PAGE: the page as text; warnings go to $tmp.err
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
render() {
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=all -l "$1" 2>"$tmp/err" | col -b
}

for page in ckptd.8 ckptctl.1; do
	f=$man_dir/$page
	[ -s "$f" ] || { bad "$page: not rendered"; continue; }
	render "$f" >"$tmp/$page.txt" || bad "$page: man -l failed: $(cat "$tmp/err")"
	[ -s "$tmp/err" ] && bad "$page: man reports: $(cat "$tmp/err")"
	groff -man -ww -z "$f" 2>"$tmp/err.groff"
	[ -s "$tmp/err.groff" ] && bad "$page: groff reports: $(cat "$tmp/err.groff")"
	for s in NAME SYNOPSIS DESCRIPTION OPTIONS 'EXIT STATUS' ENVIRONMENT FILES 'SEE ALSO'; do
		grep -q "^$s\$" "$tmp/$page.txt" || bad "$page: no $s section"
	done
done

# words WORD...: each must be in the page text as a word of its own
need() {
	local page=$1 what=$2 w
	shift 2
	for w in "$@"; do
		grep -qE -- "(^|[^[:alnum:]-])$w([^[:alnum:]-]|\$)" "$tmp/$page.txt" ||
			bad "$page: $what '$w' of --help is not documented"
	done
}

help=$("$build/ckptctl" --help) || bad "ckptctl --help failed"
# verbs: the first word of the two-space-indented lines above "Options"
mapfile -t verbs < <(echo "$help" | sed '/^Options/,$d' | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p')
[ ${#verbs[@]} -ge 5 ] || bad "ckptctl --help lists ${#verbs[@]} verbs"
mapfile -t opts < <(echo "$help" | grep -oE -- '(^|[ [])--?[a-z][a-z-]*' | sed 's/^[ [ ]*//' | sort -u)
if [ -s "$tmp/ckptctl.1.txt" ]; then
	need ckptctl.1 verb "${verbs[@]}"
	need ckptctl.1 option "${opts[@]}"
fi

# ckptd.conf(5): reads cleanly and documents every setting of the
# installed default file (each there as "#key = default")
f=$man_dir/ckptd.conf.5
src=$(dirname "$0")/../etc/ckptd.conf
if [ ! -s "$f" ]; then
	bad "ckptd.conf.5: not rendered"
else
	render "$f" >"$tmp/ckptd.conf.5.txt" || bad "ckptd.conf.5: man -l failed: $(cat "$tmp/err")"
	[ -s "$tmp/err" ] && bad "ckptd.conf.5: man reports: $(cat "$tmp/err")"
	groff -man -ww -z "$f" 2>"$tmp/err.groff"
	[ -s "$tmp/err.groff" ] && bad "ckptd.conf.5: groff reports: $(cat "$tmp/err.groff")"
	mapfile -t keys < <(sed -n 's/^#\([a-z_]*\) = .*/\1/p' "$src")
	[ ${#keys[@]} -ge 6 ] || bad "etc/ckptd.conf shows ${#keys[@]} settings"
	need ckptd.conf.5 setting "${keys[@]}"
fi

help=$("$build/ckptd" --help) || bad "ckptd --help failed"
mapfile -t opts < <(echo "$help" | grep -oE -- '(^|[ ,])--?[a-z][a-z-]*' | sed 's/^[ ,]*//' | sort -u)
[ ${#opts[@]} -ge 5 ] || bad "ckptd --help lists ${#opts[@]} options"
[ -s "$tmp/ckptd.8.txt" ] && need ckptd.8 option "${opts[@]}"

[ $failed = 0 ] && echo "PASS: man pages"
exit $failed
