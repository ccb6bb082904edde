#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark: checkpoint and restart of a container holding N MiB of dirty
# anonymous memory (tests/workloads/dirtymem), into ckptd's store on a tmpfs
# and through a pipe (ckptctl checkpoint -o - | ckptctl restart -i -).
# Prints a table; never asserts on time. Each restored container is asked to
# verify every page (SIGUSR2 -> PASS), so a fast but wrong result shows.
#
#   bench/run.sh [SIZE_MIB...]      default: 64 1024
#
# Modes (BENCH_MODES, default "store pipe null zstd"): store (into the
# store, then restart), pipe (checkpoint -o - | restart -i -), null
# (checkpoint --leave-running -o - | cat > /dev/null: the checkpoint alone),
# zstd (store with --compress zstd: the ratio and its cost). Each row has
# the load average at its start and the peak RSS of ckptd's worker
# (VmHWM of the ckptd-worker process, sampled every 50 ms).
#
# Environment: CKPT_BUILD (default build/, built if missing), BENCH_REPS (3),
# BENCH_PREWARM (1): before each measurement, write and delete 3x SIZE in the
# tmpfs. On a VM whose host backs guest RAM lazily, the first touch of a page
# the guest has not used recently costs ~2 s/GiB (see the baseline rows):
# without pre-warming, that host cost, not ckptd, is what gets measured.
# Both are printed: a cold baseline (dd into fresh tmpfs pages) and a warm one.
set -u -o pipefail

cd "$(dirname "$0")/.." || exit 1
REPO=$(pwd)
BUILD=${CKPT_BUILD:-$REPO/build}
REPS=${BENCH_REPS:-3}
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(64 1024)

[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
if [ ! -x "$BUILD/ckptd" ] || [ ! -x "$BUILD/tests/workloads/dirtymem" ]; then
	cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
		cmake --build "$BUILD" -j "$(nproc)" >/dev/null || { echo "bench: build failed" >&2; exit 1; }
fi
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh" ckpt-bench

jget() { "$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))' "$1" "$2" 2>/dev/null || echo 0; }

rows=()
PREWARM=${BENCH_PREWARM:-1}

# prewarm MIB: touch and free that much page cache so the next allocations
# reuse pages the host already backs.
prewarm() {
	[ "$PREWARM" = 1 ] || return 0
	dd if=/dev/zero of="$STORE/prewarm" bs=16M count=$(( $1 / 16 + 1 )) status=none
	rm -f "$STORE/prewarm"
}

# baseline MIB: what one plain write of that size into tmpfs costs, cold and warm
baseline() {
	local mib=$1 t0 t1 label
	for label in cold warm; do
		[ $label = warm ] && prewarm $(( mib * 2 ))
		t0=$(now_ns)
		dd if=/dev/zero of="$STORE/baseline" bs=16M count=$(( mib / 16 )) conv=fsync status=none
		t1=$(now_ns)
		rm -f "$STORE/baseline"
		baseline_rows+=("$(awk -v mib="$mib" -v l="$label" -v t0="$t0" -v t1="$t1" 'BEGIN {
			printf "%8s  dd into tmpfs, %s pages: %7.1f ms  %5.2f GiB/s", mib " MiB", l, (t1 - t0) / 1e6, mib / 1024 / ((t1 - t0) / 1e9) }')")
	done
}
baseline_rows=()

# rss_watch: the peak VmHWM (KiB) of every ckptd-worker seen, into $TMP/rss
# until $TMP/rss.stop appears
rss_watch() {
	local peak=0 p v
	rm -f "$TMP/rss.stop"
	while [ ! -e "$TMP/rss.stop" ]; do
		for p in $(pgrep -x ckptd-worker); do
			v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
			[ -n "$v" ] && [ "$v" -gt "$peak" ] && peak=$v
		done
		echo "$peak" >"$TMP/rss"
		sleep 0.05
	done
}

measure() {	# SIZE_MIB MODE REP
	local mib=$1 mode=$2 rep=$3 name=b$1-$2-$3 t0 t1 t2 n ok rc load watcher raw stored
	ckctl run "$name" -- "$BUILD/tests/workloads/dirtymem" "$mib" >/dev/null || die "run $name"
	wait_count "$name" '^READY' 1 120 || die "$name never got READY"
	sleep 0.3
	prewarm $(( mib * 3 ))
	load=$(cut -d' ' -f1 /proc/loadavg)
	echo 0 >"$TMP/rss"
	rss_watch &
	watcher=$!
	t0=$(now_ns)
	if [ "$mode" = store ] || [ "$mode" = zstd ]; then
		local z=()
		[ "$mode" = zstd ] && z=(--compress zstd)
		ckctl --json checkpoint "$name" "${z[@]}" >"$TMP/ck.json" || die "checkpoint $name"
		t1=$(now_ns)
		ckctl --json restart "$name" >"$TMP/rs.json" || die "restart $name"
		t2=$(now_ns)
	elif [ "$mode" = null ]; then
		ckctl --json checkpoint "$name" --leave-running -o - 2>"$TMP/ck.json" | cat >/dev/null
		[ "${PIPESTATUS[0]}" = 0 ] || die "checkpoint $name -o -: $(cat "$TMP/ck.json")"
		t1=$(now_ns)
		t2=$t1
	else
		# as between two machines: the restart side creates the container
		{ ckctl --json checkpoint "$name" -o - 2>"$TMP/ck.json"; echo $? >"$TMP/ck.rc"; now_ns >"$TMP/ck.end"; } |
			ckctl --json restart "$name-b" -i - >"$TMP/rs.json"
		rc=$?
		ckctl rm "$name" >/dev/null
		name=$name-b
		t2=$(now_ns)
		[ "$rc" = 0 ] && [ "$(cat "$TMP/ck.rc")" = 0 ] ||
			die "pipe $name: checkpoint $(cat "$TMP/ck.rc"), restart $rc: $(cat "$TMP/ck.json")"
		t1=$(cat "$TMP/ck.end")
	fi
	touch "$TMP/rss.stop"
	wait "$watcher"
	raw=$(jget "$TMP/ck.json" pages_raw_bytes)
	stored=$(jget "$TMP/ck.json" pages_stored_bytes)
	n=$(count "$name" '^PASS')
	ckctl kill "$name" --signal USR2 >/dev/null
	if wait_count "$name" '^PASS' $(( n + 1 )) 120; then ok=yes; else ok=NO; fi
	ckctl rm "$name" >/dev/null
	rows+=("$(awk -v mib="$mib" -v mode="$mode" -v rep="$rep" -v t0="$t0" -v t1="$t1" -v t2="$t2" \
		-v fz="$(jget "$TMP/ck.json" frozen_us)" -v img="$(jget "$TMP/ck.json" image_bytes)" -v ok="$ok" \
		-v load="$load" -v rss="$(cat "$TMP/rss")" -v raw="$raw" -v stored="$stored" 'BEGIN {
		gib = mib / 1024; ck = (t1 - t0) / 1e9; split_rs = (mode == "store" || mode == "zstd")
		rs = (t2 - (split_rs ? t1 : t0)) / 1e9
		ratio = raw > 0 ? sprintf("%.2f", raw / stored) : "-"
		printf "%8s  %-5s  %3d  %9.1f  %9.1f  %9.1f  %10.2f  %11s  %9.1f  %5s  %8.1f  %5s  %s",
			mib " MiB", mode, rep, ck * 1000, fz / 1000, (mode == "null" ? 0 : rs * 1000),
			gib / ck, (mode == "null" ? "-" : sprintf("%.2f", split_rs ? gib / rs : gib / ((t2 - t0) / 1e9))),
			img / 1048576, ratio, rss / 1024, load, ok }')")
	echo "${rows[-1]}" >&2
}

echo "bench: $(nproc) cpus, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r), store on tmpfs, $REPS reps" >&2
for mib in "${SIZES[@]}"; do
	baseline "$mib"
	for mode in ${BENCH_MODES:-store pipe null zstd}; do
		for rep in $(seq "$REPS"); do
			measure "$mib" "$mode" "$rep"
		done
	done
done

echo
echo "ckptd checkpoint/restart of dirty anonymous memory ($(uname -r), $(nproc) cpus)"
printf "%8s  %-5s  %3s  %9s  %9s  %9s  %10s  %11s  %9s  %5s  %8s  %5s  %s\n" \
	size mode rep "ckpt ms" "frozen ms" "rest. ms" "ckpt GiB/s" "rest. GiB/s" "image MiB" zstd "wrk MiB" load verified
for r in "${rows[@]}"; do
	echo "$r"
done
echo
for r in "${baseline_rows[@]}"; do
	echo "baseline $r"
done
echo
echo "store: checkpoint into the store on tmpfs, then restart from it; GiB/s = size / wall time."
echo "pipe: checkpoint A -o - | restart B -i - (as to another machine), both at once; 'rest. ms' and its GiB/s are the whole pipeline."
echo "null: checkpoint --leave-running -o - | cat > /dev/null. zstd: as store, with --compress zstd; 'zstd' is page bytes / bytes stored."
echo "wrk MiB: peak RSS (VmHWM) of the ckptd worker; load: 1-minute load average at the row's start."
echo "MAC in line (before the second MAC thread): CKPT_MAC_INLINE=${CKPT_MAC_INLINE:-0}"
echo "pre-warm: $PREWARM (see the header of bench/run.sh)"
