#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (issue 11, target 4): checkpoint throughput of a container holding
# SIZE MiB of dirty anonymous memory (tests/workloads/dirtymem), by where the
# image goes:
#   null   checkpoint --leave-running -o /dev/null
#   cat    checkpoint --leave-running -o - | cat > /dev/null
#   store  checkpoint --leave-running           (into the store, on a tmpfs)
#   kill   checkpoint -o - | cat > /dev/null    (the container is killed)
# GiB/s = SIZE / the wall time of the command; cpu ms = the CPU time ckptd
# and its worker spent on it (ckptd's own and its reaped children's, from
# /proc), which a loaded machine changes less than the wall time; not for
# kill, where the reaped children include the container's program. Prints a
# table; never asserts on time. After the --leave-running rows the program checks every page
# (SIGUSR2 -> PASS): "ok" in the table.
#
#   bench/pipe.sh [SIZE_MIB...]      default: 1024
#
# Environment: CKPT_BUILD (default build/, built if missing), BENCH_REPS (3),
# BENCH_BASE: a second build directory (e.g. of the commit before a change);
# its rounds and CKPT_BUILD's alternate, so both see the same load.
# Each round starts a ckptd of its own and runs every mode once.
set -u -o pipefail

cd "$(dirname "$0")/.." || exit 1
if [ "${1:-}" = --round ]; then
	BUILD=$2
	size=$3
	rep=$4
	REPO=$(pwd)
	# shellcheck source=bench/lib.sh
	. "$REPO/bench/lib.sh" ckpt-bench-pipe
	name=pipe$$
	# ckptd's CPU time and its reaped children's, in clock ticks
	cpu_ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$CKPTD_PID/stat"; }
	# one mode: "MODE WALL_NS CPU_MS" on stdout
	timed() {
		local mode=$1 t0 t1 c0 c1 rc
		shift
		c0=$(cpu_ticks)
		t0=$(now_ns)
		"$@" >/dev/null 2>"$TMP/err"
		rc=$?
		t1=$(now_ns)
		c1=$(cpu_ticks)
		[ "$rc" = 0 ] || die "$mode: $(head -c 300 "$TMP/err")"
		echo "$mode $(( t1 - t0 )) $(( (c1 - c0) * 1000 / $(getconf CLK_TCK) ))"
	}
	# shellcheck disable=SC2317  # called through timed
	to_cat() { ckctl checkpoint "$name" "$@" -o - | cat >/dev/null; }
	ckctl run "$name" -- "$BUILD/tests/workloads/dirtymem" "$size" >/dev/null || die "run dirtymem $size"
	wait_count "$name" '^READY' 1 600 || die "dirtymem $size did not start"
	bench_prewarm $(( size * 2 ))
	# the first checkpoint of a program costs more (its pages are read
	# for the first time): each round starts with another mode
	modes=(null cat store)
	for i in 0 1 2; do
		case ${modes[(rep + i) % 3]} in
		null) timed null ckctl checkpoint "$name" --leave-running -o /dev/null ;;
		cat) timed cat to_cat --leave-running ;;
		store) timed store ckctl checkpoint "$name" --leave-running ;;
		esac
	done
	ok=NO
	ckctl kill "$name" --signal USR2 >/dev/null && wait_count "$name" '^PASS' 1 600 && ok=ok
	echo "verified $ok"
	timed kill to_cat
	exit 0
fi

# shellcheck source=bench/lib.sh
. bench/lib.sh --head dirtymem 1024 -- "$@"
REPS=${BENCH_REPS:-3}
builds=("$BUILD")
[ -n "${BENCH_BASE:-}" ] && builds=("$BENCH_BASE" "$BUILD")

echo "bench: $(nproc) cpus, kernel $(uname -r); before: ${BENCH_BASE:--}, after: $BUILD" >&2
printf '%-9s %-6s %3s %-6s %10s %8s %8s %6s %s\n' memory build rep mode "ms" "GiB/s" "cpu ms" load verified
for size in "${SIZES[@]}"; do
	for rep in $(seq "$REPS"); do
		for b in "${builds[@]}"; do
			label=after
			[ "$b" = "${BENCH_BASE:-}" ] && label=before
			load=$(cut -d' ' -f1 /proc/loadavg)
			out=$("$0" --round "$b" "$size" "$rep") || out="failed 0 0"
			ok=$(awk '$1 == "verified" { print $2 }' <<<"$out")
			awk -v s="$size" -v b="$label" -v r="$rep" -v l="$load" -v ok="${ok:-NO}" '$1 != "verified" {
				printf "%-9s %-6s %3d %-6s %10.1f %8.2f %8s %6s %s\n", s " MiB", b, r, $1, $2 / 1e6,
				       ($2 > 0 ? s / 1024 / ($2 / 1e9) : 0), ($1 == "kill" ? "-" : $3), l, ($1 == "kill" ? "-" : ok) }' <<<"$out"
		done
	done
done
