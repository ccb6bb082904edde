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
# The program is tests/workloads/dirtymem SIZE (every page dirty); the image
# goes to /dev/null. Each round starts a ckptd of its own (the mode is in its
# environment), checkpoints once, and has the program verify every page
# afterwards (SIGUSR2; "ok" in the table).
#
# Environment: CKPT_BUILD (default build/, built if missing), BENCH_REPS (2).
set -u -o pipefail

cd "$(dirname "$0")/.." || exit 1
# shellcheck source=bench/lib.sh
. bench/lib.sh --head dirtymem 1024 8192 -- "$@"

# one round: "frozen_us total_us verified copy..." on stdout
if [ "${1:-}" = --round ]; then
	size=$2
	. "$REPO/bench/lib.sh" ckpt-bench-snap
	name=snap$$
	# the default capability set: the snapshot's userfaultfd comes from
	# /dev/userfaultfd, which needs no CAP_SYS_PTRACE in the task
	ckctl run "$name" -- "$BUILD/tests/workloads/dirtymem" "$size" >/dev/null || die "run dirtymem $size"
	wait_count "$name" '^READY' 1 600 || die "dirtymem $size did not start"
	out=$(ckctl --json checkpoint "$name" --leave-running -o /dev/null) || die "checkpoint: $out"
	ok=NO
	ckctl kill "$name" --signal USR2 >/dev/null && wait_count "$name" '^PASS' 1 600 && ok=ok
	echo "$out" | "$PYTHON" -c '
import json, sys
j = json.load(sys.stdin)
print(j["frozen_us"], j["total_us"], sys.argv[1], j.get("copy", "?"))' "$ok"
	# where the frozen time went (ckptd's log): on stderr, under the row
	grep -hoE '(us by phase|background copy armed, us):.*' "$TMP/ckptd.log" | sed 's/^/            /' >&2
	exit 0
fi

printf '%-9s %-11s %12s %12s %8s  %s\n' "memory" "copy" "frozen ms" "total ms" "verified" "how"
for size in "${SIZES[@]}"; do
	for _ in $(seq "$REPS"); do
		for mode in frozen background; do
			if [ $mode = frozen ]; then
				r=$(CKPTD_SNAPSHOT=frozen "$0" --round "$size") || r="- - NO failed"
			else
				r=$(env -u CKPTD_SNAPSHOT "$0" --round "$size") || r="- - NO failed"
			fi
			read -r fz tot ok how <<<"$r"
			awk -v s="$size" -v m="$mode" -v f="$fz" -v t="$tot" -v o="$ok" -v h="$how" 'BEGIN {
				printf "%-9s %-11s %12s %12s %8s  %s\n", s " MiB", m,
				       f == "-" ? "-" : sprintf("%.1f", f / 1000), t == "-" ? "-" : sprintf("%.1f", t / 1000), o, h }'
		done
	done
done
