#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (issue 11, target 5): how checkpoint and restart cost grows with
# the number of processes and with memory, and that ckptd's own memory stays
# bounded. Prints a table; never asserts on time.
#
#   bench/scale.sh [CASE...]     default: p1 p10 p100 p1000 m1024 m4096 m8192
#
#   pN     N processes of 1 MiB of dirty private memory each: bench/forkmem
#          private N-1 1 (a parent and N-1 children); p1 is
#          tests/workloads/dirtymem 1, the same one process alone
#   mMIB   one process with MIB of dirty anonymous memory
#          (tests/workloads/dirtymem MIB)
#
# A round: run the container, wait for READY, checkpoint into the store on a
# tmpfs, restart from it, have the program verify (SIGUSR2: every process
# checks every page, its pid and its parent; the top process counts them),
# remove it. Peak RSS: ckptd's VmHWM (reset before each operation through
# clear_refs) and the highest VmHWM of its workers (ckptd-worker, one forked
# per checkpoint or restart), sampled every 20 ms while the operation runs.
#
# Environment: CKPT_BUILD (default build/, built if missing), BENCH_STORE
# (tmpfs, or disk: images in a directory on /tmp's file system, through the
# page cache, when memory can't hold both the program and its image), BENCH_REPS (1),
# BENCH_PREWARM (1: before each checkpoint, write and delete up to 2x the
# container's memory in the tmpfs, see bench/run.sh).
set -u -o pipefail

cd "$(dirname "$0")/.." || exit 1
REPO=$(pwd)
BUILD=${CKPT_BUILD:-$REPO/build}
REPS=${BENCH_REPS:-1}
PREWARM=${BENCH_PREWARM:-1}
CASES=("$@")
[ ${#CASES[@]} -gt 0 ] || CASES=(p1 p10 p100 p1000 m1024 m4096 m8192)

for c in "${CASES[@]}"; do
	[[ $c =~ ^[pm][1-9][0-9]*$ ]] || { echo "bench: unknown case '$c' (pN or mMIB)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
if [ ! -x "$BUILD/ckptd" ] || [ ! -x "$BUILD/bench/forkmem" ] || [ ! -x "$BUILD/tests/workloads/dirtymem" ]; then
	cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
		cmake --build "$BUILD" -j "$(nproc)" >/dev/null || { echo "bench: build failed" >&2; exit 1; }
fi
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh" ckpt-bench-scale

errline() { tail -n 1 "$1" 2>/dev/null | sed 's/^ckptctl: //' | cut -c 1-120; }

# case -> argv, processes, MiB, the PASS line's word
setup_case() {
	local n=${1:1}
	case $1 in
	p1)  ARGV=("$BUILD/tests/workloads/dirtymem" 1); PROCS=1; MIB=1; WANT=dirtymem ;;
	p*)  ARGV=("$BUILD/bench/forkmem" private $(( n - 1 )) 1); PROCS=$n; MIB=$n; WANT="procs=$n" ;;
	m*)  ARGV=("$BUILD/tests/workloads/dirtymem" "$n"); PROCS=1; MIB=$n; WANT=dirtymem ;;
	esac
}


rows=()
row() {	# CASE REP CK_MS RS_MS IMG_BYTES D_CK W_CK D_RS W_RS VERDICT
	rows+=("$(awk -v c="$1" -v rep="$2" -v ck="$3" -v rs="$4" -v img="$5" -v dck="$6" -v wck="$7" \
		-v drs="$8" -v wrs="$9" -v v="${10}" -v procs="$PROCS" -v mib="$MIB" -v load="$(cut -d' ' -f1 /proc/loadavg)" '
	function ms(x) { return x == "" || x == "-" ? "-" : sprintf("%.1f", x) }
	function mb(x) { return x == "" || x == "-" ? "-" : sprintf("%.1f", x / 1024) }
	BEGIN {
		per = "-"
		if (ck != "-" && rs != "-")
			per = c ~ /^p/ ? sprintf("%.2f / %.2f ms/proc", ck / procs, rs / procs) \
				       : sprintf("%.0f / %.0f ms/GiB", ck / (mib / 1024), rs / (mib / 1024))
		printf "| %-6s | %3s | %5d | %6d | %9s | %9s | %-24s | %9s | %11s | %11s | %4s | %s |",
			c, rep, procs, mib, ms(ck), ms(rs), per,
			img == "-" ? "-" : sprintf("%.1f", img / 1048576),
			mb(dck) " / " mb(wck), mb(drs) " / " mb(wrs), load, v }')")
	echo "${rows[-1]}" >&2
}

measure() {	# CASE REP
	local c=$1 rep=$2 name=s-$1-$2 t0 t1 t2 ck rs img v rc dck wck drs wrs
	setup_case "$c"
	if ! ckctl run "$name" -- "${ARGV[@]}" >/dev/null 2>"$TMP/err"; then
		row "$c" "$rep" - - - - - - - "run failed: $(errline "$TMP/err")"
		return
	fi
	if ! wait_count "$name" '^READY' 1 900; then
		row "$c" "$rep" - - - - - - - "NO: never READY: $(ckctl logs "$name" 2>/dev/null | tail -n 1 | cut -c 1-80)"
		ckctl rm "$name" >/dev/null 2>&1
		return
	fi
	sleep 0.3
	[ "$PREWARM" = 1 ] && bench_prewarm $(( MIB * 2 ))
	peak_start
	t0=$(now_ns)
	ckctl --json checkpoint "$name" >"$TMP/ck.json" 2>"$TMP/err"
	rc=$?
	t1=$(now_ns)
	read -r dck wck <<<"$(peak_stop)"
	ck=$(ms_since "$t0" "$t1")
	if [ $rc != 0 ]; then
		row "$c" "$rep" "$ck" - - "$dck" "$wck" - - "checkpoint failed: $(errline "$TMP/err")"
		ckctl rm "$name" >/dev/null 2>&1
		return
	fi
	img=$(jget "$TMP/ck.json" image_bytes)
	peak_start
	t1=$(now_ns)
	ckctl --json restart "$name" >"$TMP/rs.json" 2>"$TMP/err"
	rc=$?
	t2=$(now_ns)
	read -r drs wrs <<<"$(peak_stop)"
	rs=$(ms_since "$t1" "$t2")
	if [ $rc != 0 ]; then
		row "$c" "$rep" "$ck" "$rs" "$img" "$dck" "$wck" "$drs" "$wrs" "restart failed: $(errline "$TMP/err")"
		ckctl rm "$name" >/dev/null 2>&1
		return
	fi
	v=$(bench_verify "$name" "$WANT")
	row "$c" "$rep" "$ck" "$rs" "$img" "$dck" "$wck" "$drs" "$wrs" "$v"
	ckctl rm "$name" >/dev/null 2>&1
}

echo "bench: $(nproc) cpus, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r), store on ${BENCH_STORE:-tmpfs}, $REPS reps, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for rep in $(seq "$REPS"); do
	for c in "${CASES[@]}"; do
		measure "$c" "$rep"
	done
done

echo
echo "ckptd scale: processes and memory, store on ${BENCH_STORE:-tmpfs} ($(uname -r), $(nproc) cpus)"
echo
echo "| case   | rep | procs |    MiB |   ckpt ms |  rest. ms | per proc or GiB (ckpt / rest.) | image MiB | ckpt peak MiB | rest. peak MiB | load | verified |"
echo "|--------|----:|------:|-------:|----------:|----------:|--------------------------------|----------:|------------:|------------:|-----:|----------|"
for r in "${rows[@]}"; do
	echo "$r"
done
echo
echo "ckpt ms / rest. ms: wall time of ckptctl checkpoint / restart, into and from the store on tmpfs."
echo "peak MiB: ckptd's VmHWM / its worker's highest VmHWM during the operation (the worker is a fork of"
echo "          ckptd, so its figure includes what it shares with ckptd)."
echo "load: the 1-minute load average when the row was taken."
echo "verified: after the restart every process checked every page, its pid and its parent (yes), or why not."
