#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark: what keeping the cgroup frozen while tasks' registers are
# borrowed costs a checkpoint (README, crash safety). The cgroup is thawed
# for each injected call or batch that runs and frozen again after it: the
# worker logs how many such windows a checkpoint took, the time spent
# thawing and freezing, and the record's writes (synced; the store is on a
# tmpfs unless BENCH_STORE=disk). Each round starts a ckptd, runs the workload,
# checkpoints it into the store (which ends it) and prints the frozen time
# and the worker's counts, with the load average at the round's start.
# Given BENCH_BASE (another build dir, e.g. of an older commit), its rounds
# are interleaved with this build's, so both see the same load. Prints a
# table; never asserts on time.
#
#   bench/borrow.sh [WORKLOAD...]       default: threads counter
#
# Environment: CKPT_BUILD (default build/), BENCH_BASE, BENCH_REPS (5).
set -u -o pipefail

cd "$(dirname "$0")/.." || exit 1
REPO=$(pwd)
BUILD=${CKPT_BUILD:-$REPO/build}
REPS=${BENCH_REPS:-5}
WLS=("$@")
[ ${#WLS[@]} -gt 0 ] || WLS=(threads counter)

[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }

# one round: "frozen_us windows thaw_us freeze_us writes write_us" on stdout
if [ "${1:-}" = --round ]; then
	wl=$2
	# shellcheck source=bench/lib.sh
	. "$REPO/bench/lib.sh" ckpt-bench-borrow
	name=borrow$$
	ckctl run "$name" -- "$BUILD/tests/workloads/$wl" >/dev/null || die "run $wl"
	wait_count "$name" '^READY' 1 60 || die "$wl did not start"
	sleep 0.5
	out=$(ckctl --json checkpoint "$name") || die "checkpoint: $out"
	sleep 0.2
	w=$(sed -n 's/.*borrowed tasks: \([0-9]*\) thaw windows, \([0-9]*\) us thawing, \([0-9]*\) us freezing, \([0-9]*\) record writes, \([0-9]*\) us writing.*/\1 \2 \3 \4 \5/p' \
		"$TMP/ckptd.log" | tail -n 1)
	echo "$out" | "$PYTHON" -c '
import json, sys
j = json.load(sys.stdin)
print(j["frozen_us"], sys.argv[1] or "- - - - -")' "$w"
	exit 0
fi

builds=("$BUILD")
[ -n "${BENCH_BASE:-}" ] && builds=("$BENCH_BASE" "$BUILD")
echo "bench: $(nproc) cpus, kernel $(uname -r), $REPS reps; builds: ${builds[*]}" >&2
printf '%-9s %-5s %4s %10s %8s %8s %9s %7s %8s %6s\n' workload build rep "frozen ms" windows "thaw ms" "freeze ms" writes "write ms" load
for wl in "${WLS[@]}"; do
	for rep in $(seq "$REPS"); do
		for i in "${!builds[@]}"; do
			load=$(cut -d' ' -f1 /proc/loadavg)
			r=$(CKPT_BUILD=${builds[$i]} "$0" --round "$wl") || r="- - - - - -"
			read -r fz nw th fr nwr wr <<<"$r"
			label=new
			[ ${#builds[@]} = 2 ] && [ "$i" = 0 ] && label=base
			awk -v wl="$wl" -v b="$label" -v rep="$rep" -v fz="$fz" -v nw="$nw" -v th="$th" -v fr="$fr" -v nwr="$nwr" -v wr="$wr" -v load="$load" \
				'function ms(x) { return x == "-" ? "-" : sprintf("%.1f", x / 1000) }
				 BEGIN { printf "%-9s %-5s %4d %10s %8s %8s %9s %7s %8s %6s\n", wl, b, rep, ms(fz), nw, ms(th), ms(fr),
					 nwr, ms(wr), load }'
		done
	done
done
