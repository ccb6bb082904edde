#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (issue 11, target 1): how long a --leave-running checkpoint keeps
# the program frozen, and how long it takes, with the memory copied in the
# background (userfaultfd write-protection, the default) and while frozen
# (CKPTD_SNAPSHOT=frozen in ckptd's environment), the two interleaved round
# by round in the same run. Prints a table; never asserts on time.
#
#   bench/snapshot.sh [SIZE_MIB...]      default: 1024 8192
#
# The program is tests/workloads/dirtymem SIZE stall (every page dirty; it
# writes an old page and maps a new one every 200 us); the image goes to
# /dev/null. Each round starts a ckptd of its own (the mode is in its
# environment), checkpoints once, and has the program verify every page
# afterwards (SIGUSR2; "ok" in the table). "max stall" is the longest the
# program went without an iteration, from just before the checkpoint to
# STALL_WAIT seconds (default 3) after its answer: the time it was frozen,
# plus any it spent waiting on a fault or its mmap lock while the
# snapshot's protection was lifted.
#
# Environment: CKPT_BUILD (default build/, built if missing), BENCH_REPS (2).
set -u -o pipefail

cd "$(dirname "$0")/.." || exit 1
# shellcheck source=bench/lib.sh
. bench/lib.sh --head dirtymem 1024 8192 -- "$@"

# ask_stall NAME N: SIGUSR1, then its Nth STALL line
ask_stall() {
	ckctl kill "$1" --signal USR1 >/dev/null || die "kill -USR1 $1"
	wait_count "$1" '^STALL' "$2" 60 || die "$1: no STALL line"
}

# one round: "frozen_us total_us stall_us verified copy..." on stdout
if [ "${1:-}" = --round ]; then
	size=$2
	. "$REPO/bench/lib.sh" ckpt-bench-snap
	name=snap$$
	# the default capability set: the snapshot's userfaultfd comes from
	# /dev/userfaultfd, which needs no CAP_SYS_PTRACE in the task
	ckctl run "$name" -- "$BUILD/tests/workloads/dirtymem" "$size" stall >/dev/null || die "run dirtymem $size"
	wait_count "$name" '^READY' 1 600 || die "dirtymem $size did not start"
	# the longest gap so far is not the checkpoint's: a new measure
	sleep 0.5
	ask_stall "$name" 1
	out=$(ckctl --json checkpoint "$name" --leave-running -o /dev/null) || die "checkpoint: $out"
	sleep "${STALL_WAIT:-3}"
	ask_stall "$name" 2
	stall=$(ckctl logs "$name" | grep '^STALL' | sed -n 2p | awk '{ print $2 }')
	ok=NO
	ckctl kill "$name" --signal USR2 >/dev/null && wait_count "$name" '^PASS' 1 600 && ok=ok
	echo "$out" | "$PYTHON" -c '
import json, sys
j = json.load(sys.stdin)
print(j["frozen_us"], j["total_us"], sys.argv[2], sys.argv[1], j.get("copy", "?"))' "$ok" "${stall:--}"
	# where the frozen time went (ckptd's log): on stderr, under the row
	grep -hoE '(us by phase|background copy armed, us):.*' "$TMP/ckptd.log" | sed 's/^/            /' >&2
	exit 0
fi

printf '%-9s %-11s %12s %12s %12s %8s  %s\n' "memory" "copy" "frozen ms" "max stall ms" "total ms" "verified" "how"
for size in "${SIZES[@]}"; do
	for _ in $(seq "$REPS"); do
		for mode in frozen background; do
			if [ $mode = frozen ]; then
				r=$(CKPTD_SNAPSHOT=frozen "$0" --round "$size") || r="- - - NO failed"
			else
				r=$(env -u CKPTD_SNAPSHOT "$0" --round "$size") || r="- - - NO failed"
			fi
			read -r fz tot st ok how <<<"$r"
			awk -v s="$size" -v m="$mode" -v f="$fz" -v t="$tot" -v x="$st" -v o="$ok" -v h="$how" '
			function ms(v) { return v == "-" ? "-" : sprintf("%.1f", v / 1000) }
			BEGIN { printf "%-9s %-11s %12s %12s %12s %8s  %s\n", s " MiB", m, ms(f), ms(x), ms(t), o, h }'
		done
	done
done
