#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (issue 11, target 2): after a program writes 1% of its memory,
# how many bytes an --incremental checkpoint writes and how long it takes,
# against the full checkpoint that began the chain, in the same run.
# Prints a table; never asserts on time.
#
#   bench/incremental.sh [SIZE_MIB...]      default: 1024
#
# The program is tests/workloads/incrwriter SIZE plain: every page filled,
# then each SIGUSR1 rewrites every hundredth page. Round: checkpoint
# --leave-running --incremental (full: the first of a chain, which arms
# the write tracking), one step (1%), checkpoint --leave-running
# --incremental again (only the written pages), then the program checks
# every page (SIGUSR2; "ok"); it is killed, the chain restarted from the
# store, and the restarted program checks every page too ("ok").
#
# Environment: CKPT_BUILD (default build/, built if missing), BENCH_REPS (2),
# BENCH_COMPRESS=zstd: both checkpoints --compress zstd,
# CKPT_BUILD_BASE: another build to compare with, its rounds interleaved
# with CKPT_BUILD's in the same run (each row names its build). Every row
# gives the load average at its start, and the CPU time of each
# checkpoint's worker (ckptd's children's, from /proc: 10 ms ticks), which
# load affects far less than elapsed time. ckptd's phase timings of each
# checkpoint (its "us by phase" log line) go to stderr.
set -u -o pipefail

cd "$(dirname "$0")/.." || exit 1
REPO=$(pwd)
BUILD=${CKPT_BUILD:-$REPO/build}
REPS=${BENCH_REPS:-2}
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1024)

[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
if [ ! -x "$BUILD/ckptd" ] || [ ! -x "$BUILD/tests/workloads/incrwriter" ]; then
	cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
		cmake --build "$BUILD" -j "$(nproc)" >/dev/null || { echo "bench: build failed" >&2; exit 1; }
fi

# one round: "full_bytes full_us incr_bytes incr_us verified restored restart_us
# full_cpu_ms incr_cpu_ms"
if [ "${1:-}" = --round ]; then
	size=$2
	. "$REPO/bench/lib.sh" ckpt-bench-incr
	name=incr$$
	field() { "$PYTHON" -c 'import json,sys; j=json.load(sys.stdin); print(j.get(sys.argv[1], "-"))' "$1"; }
	ckctl run "$name" -- "$BUILD/tests/workloads/incrwriter" "$size" plain >/dev/null ||
		die "run incrwriter $size"
	wait_count "$name" '^READY' 1 600 || die "incrwriter $size did not start"
	# CPU time of ckptd's reaped children (its workers), in clock ticks:
	# what a checkpoint costs whatever else the machine runs
	ticks() { awk '{ print $16 + $17 }' "/proc/$CKPTD_PID/stat"; }
	hz=$(getconf CLK_TCK)
	c0=$(ticks)
	zip=()
	[ -n "${BENCH_COMPRESS:-}" ] && zip=(--compress "$BENCH_COMPRESS")
	full=$(ckctl --json checkpoint "$name" --leave-running --incremental "${zip[@]}") || die "checkpoint: $full"
	c1=$(ticks)
	ckctl kill "$name" --signal USR1 >/dev/null || die "kill -USR1"
	wait_count "$name" '^STEP 1' 1 600 || die "no step"
	c2=$(ticks)
	incr=$(ckctl --json checkpoint "$name" --leave-running --incremental "${zip[@]}") ||
		die "checkpoint --incremental: $incr"
	c3=$(ticks)
	[ "$(echo "$incr" | field parent_id)" != - ] || die "not incremental: $incr"
	ok=NO
	ckctl kill "$name" --signal USR2 >/dev/null && wait_count "$name" '^PASS' 1 600 && ok=ok
	id=$(echo "$incr" | field image_id)
	ckctl kill "$name" >/dev/null 2>&1
	for _ in $(seq 100); do
		ckctl --json list | "$PYTHON" -c '
import json, sys
sys.exit(0 if any(c["name"] == sys.argv[1] and c["state"] == "stopped" for c in json.load(sys.stdin)["containers"]) else 1)' "$name" && break
		sleep 0.1
	done
	# the chain, restarted from the store
	t0=$(now_ns)
	rok=NO
	if ckctl restart "$name" --image "$id" >/dev/null; then
		t1=$(now_ns)
		n=$(ckctl logs "$name" | grep -c '^PASS')
		ckctl kill "$name" --signal USR2 >/dev/null && wait_count "$name" '^PASS' $(( n + 1 )) 600 && rok=ok
	fi
	# where each checkpoint's time went (ckptd's log: "us by phase")
	grep -o 'checkpoint [^:]*: us by phase:.*' "$TMP/ckptd.log" | sed "s/^/  $size MiB $(basename "$BUILD"): /" >&2
	echo "$(echo "$full" | field image_bytes) $(echo "$full" | field total_us)" \
	     "$(echo "$incr" | field image_bytes) $(echo "$incr" | field total_us) $ok $rok $(( (${t1:-$t0} - t0) / 1000 ))" \
	     "$(( (c1 - c0) * 1000 / hz )) $(( (c3 - c2) * 1000 / hz ))"
	exit 0
fi

BUILDS=("$BUILD")
if [ -n "${CKPT_BUILD_BASE:-}" ]; then
	[ -x "$CKPT_BUILD_BASE/ckptd" ] || { echo "bench: no ckptd in $CKPT_BUILD_BASE" >&2; exit 1; }
	BUILDS=("$CKPT_BUILD_BASE" "$BUILD")
fi
printf '%-9s %-16s %6s %12s %10s %12s %10s %8s %8s %8s %8s %8s %9s %9s %11s\n' memory build load "full bytes" "full ms" \
	"incr bytes" "incr ms" "bytes %" "time %" "full cpu" "incr cpu" "cpu %" verified restored "restart ms"
for size in "${SIZES[@]}"; do
	for _ in $(seq "$REPS"); do
		for b in "${BUILDS[@]}"; do
			load=$(cut -d' ' -f1 /proc/loadavg)
			r=$(CKPT_BUILD=$b "$0" --round "$size") || r="- - - - NO NO - - -"
			read -r fb ft ib it ok rok rt fc ic <<<"$r"
			awk -v s="$size" -v b="$(basename "$b")" -v l="$load" -v fb="$fb" -v ft="$ft" -v ib="$ib" -v it="$it" \
			    -v ok="$ok" -v rok="$rok" -v rt="$rt" -v fc="$fc" -v ic="$ic" 'BEGIN {
				bad = fb == "-" || ib == "-"
				printf "%-9s %-16s %6s %12s %10s %12s %10s %8s %8s %8s %8s %8s %9s %9s %11s\n", s " MiB", b, l, fb,
				       bad ? "-" : sprintf("%.1f", ft / 1000), ib, bad ? "-" : sprintf("%.1f", it / 1000),
				       bad ? "-" : sprintf("%.2f", 100 * ib / fb), bad ? "-" : sprintf("%.2f", 100 * it / ft),
				       fc, ic, bad || fc <= 0 ? "-" : sprintf("%.2f", 100 * ic / fc),
				       ok, rok, rt == "-" ? "-" : sprintf("%.1f", rt / 1000) }'
		done
	done
done
