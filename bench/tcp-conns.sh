#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (issue 9): checkpoint and restart of a container holding N
# established TCP connections on loopback (bench/tcpconns N: both ends in
# the container, 64 bytes in flight on each), into ckptd's store on a
# tmpfs. Prints a table; never asserts on time.
#
#   bench/tcp-conns.sh [N...]      default: 10 1000 10000
#
# Each container is verified after the restart (SIGUSR2: every connection
# delivers the bytes that were in flight and answers). "wk fds" and "init
# fds": the most fds the restart's worker and the container's init held
# at once (sampled from /proc every 10 ms during the restart).
# Environment: CKPT_BUILD (default build/), BENCH_REPS (3).
set -u -o pipefail

cd "$(dirname "$0")/.." || exit 1
REPO=$(pwd)
BUILD=${CKPT_BUILD:-$REPO/build}
REPS=${BENCH_REPS:-3}
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10 1000 10000)

[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
if [ ! -x "$BUILD/ckptd" ] || [ ! -x "$BUILD/bench/tcpconns" ]; then
	cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
		cmake --build "$BUILD" -j "$(nproc)" >/dev/null || { echo "bench: build failed" >&2; exit 1; }
fi
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh" ckpt-bench-tcp

jget() { "$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))' "$1" "$2" 2>/dev/null || echo 0; }
errline() { tail -n 1 "$1" 2>/dev/null | sed 's/^ckptctl: //' | cut -c 1-100; }
ms_since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }

# The peak number of fds of ckptd's restart workers and of the containers'
# inits, sampled from /proc until SIGTERM, then written to $1 as "WORKER
# INIT" ("-": a restart too short to be seen).
fd_sampler() {
	local out=$1 w=0 i=0 p n comm
	trap '[ "$w" = 0 ] && w=-; [ "$i" = 0 ] && i=-; echo "$w $i" >"$out"; exit 0' TERM
	while :; do
		for p in $(pgrep -P "$CKPTD_PID"); do
			comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
			[ "$comm" = ckptd-worker ] || [ "$comm" = ckptd-init ] || continue
			n=$(ls -U "/proc/$p/fd" 2>/dev/null | wc -l)
			if [ "$comm" = ckptd-worker ]; then
				[ "$n" -gt "$w" ] && w=$n
			else
				[ "$n" -gt "$i" ] && i=$n
			fi
		done
		sleep 0.01
	done
}

rows=()
# ENGINE_US: the checkpoint's and the restart's own time (total_us), apart
# from the daemon's (network, cgroups, the client)
row() {	# N REP SETUP_MS CK_MS FROZEN_US RS_MS IMG_BYTES VERDICT [CK_ENGINE_US RS_ENGINE_US WORKER_FDS INIT_FDS]
	rows+=("$(awk -v n="$1" -v rep="$2" -v setup="$3" -v ck="$4" -v fz="$5" -v rs="$6" -v img="$7" -v v="$8" \
		  -v cke="${9:-}" -v rse="${10:-}" -v wfd="${11:--}" -v ifd="${12:--}" '
	function ms(us) { return us == "" || us == "-" || us == 0 ? "-" : sprintf("%.1f", us / 1000) }
	BEGIN {
		mib = img == "" || img == "-" ? "-" : sprintf("%.1f", img / 1048576)
		printf "| %6s | %3s | %8s | %9s | %9s | %9s | %9s | %9s | %9s | %7s | %7s | %s |",
			n, rep, setup, ck, ms(fz), ms(cke), rs, ms(rse), mib, wfd, ifd, v }')")
	echo "${rows[-1]}" >&2
}

measure() {	# N REP
	local n=$1 rep=$2 name=tcp-$1-$2 setup t0 t1 t2 rc img fz ck rs c cke rse sp wfd ifd
	if ! ckctl run "$name" -- "$BUILD/bench/tcpconns" "$n" >/dev/null 2>"$TMP/err"; then
		row "$n" "$rep" - - - - - "run failed: $(errline "$TMP/err")"
		return
	fi
	if ! wait_count "$name" '^READY' 1 600; then
		row "$n" "$rep" - - - - - "NO: never READY: $(ckctl logs "$name" 2>/dev/null | tail -n 1 | cut -c 1-80)"
		ckctl rm "$name" >/dev/null 2>&1
		return
	fi
	setup=$(ckctl logs "$name" 2>/dev/null | sed -n 's/^READY.* setup_ms=\([0-9]*\).*/\1/p' | head -n 1)
	sleep 0.3
	t0=$(now_ns)
	ckctl --json checkpoint "$name" >"$TMP/ck.json" 2>"$TMP/err"
	rc=$?
	t1=$(now_ns)
	ck=$(ms_since "$t0" "$t1")
	if [ $rc != 0 ]; then
		row "$n" "$rep" "$setup" "$ck" - - - "refused: $(errline "$TMP/err")"
		ckctl rm "$name" >/dev/null 2>&1
		return
	fi
	img=$(jget "$TMP/ck.json" image_bytes)
	fz=$(jget "$TMP/ck.json" frozen_us)
	cke=$(jget "$TMP/ck.json" total_us)
	fd_sampler "$TMP/fds" &
	sp=$!
	ckctl --json restart "$name" >"$TMP/rs.json" 2>"$TMP/err"
	rc=$?
	t2=$(now_ns)
	kill -TERM "$sp" 2>/dev/null
	wait "$sp" 2>/dev/null
	read -r wfd ifd <"$TMP/fds" 2>/dev/null || { wfd=-; ifd=-; }
	rs=$(ms_since "$t1" "$t2")
	rse=$(jget "$TMP/rs.json" total_us)
	if [ $rc != 0 ]; then
		row "$n" "$rep" "$setup" "$ck" "$fz" "$rs" "$img" "restart failed: $(errline "$TMP/err")" "$cke" "$rse" "$wfd" "$ifd"
		ckctl rm "$name" >/dev/null 2>&1
		return
	fi
	c=$(count "$name" '^PASS')
	ckctl kill "$name" --signal USR2 >/dev/null 2>&1
	if wait_count "$name" '^PASS' $(( c + 1 )) 300; then
		row "$n" "$rep" "$setup" "$ck" "$fz" "$rs" "$img" yes "$cke" "$rse" "$wfd" "$ifd"
	else
		row "$n" "$rep" "$setup" "$ck" "$fz" "$rs" "$img" \
			"NO: $(ckctl logs "$name" 2>/dev/null | grep '^FAIL' | tail -n 1 | cut -c 1-80)" "$cke" "$rse" "$wfd" "$ifd"
	fi
	ckctl rm "$name" >/dev/null 2>&1
}

echo "bench: $(nproc) cpus, kernel $(uname -r), store on tmpfs, $REPS reps, connections: ${SIZES[*]}" >&2
for n in "${SIZES[@]}"; do
	for rep in $(seq "$REPS"); do
		measure "$n" "$rep"
	done
done

echo
echo "ckptd checkpoint/restart of established TCP connections ($(uname -r), $(nproc) cpus)"
echo
echo "|  conns | rep | setup ms |   ckpt ms | frozen ms | ck eng ms |  rest. ms | rs eng ms | image MiB | wk fds | init fds | verified |"
echo "|-------:|----:|---------:|----------:|----------:|----------:|----------:|----------:|----------:|--------:|---------:|----------|"
for r in "${rows[@]}"; do
	echo "$r"
done
