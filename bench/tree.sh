#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (issue 3): checkpoint and restart of whole containers, into
# ckptd's store on a tmpfs. Prints a table; never asserts on time.
#
#   bench/tree.sh [CASE...]      default: procs threads cow
#
#   procs    100 processes (bench/forkmem private 99 10: a parent and 99
#            children), each with 10 MiB of dirty private anonymous memory
#            of its own, written after the fork
#   threads  one process with 256 threads (bench/manythreads 256), blocked in
#            pthread_cond_wait, nanosleep, read and poll on pipes
#   cow      a parent that wrote 512 MiB and then forked 10 children; nobody
#            has written it since (bench/forkmem inherit 10 512): the image
#            should hold those pages about once; the table shows image/512 MiB
#   single   (not run by default) the control: one process with the same
#            1000 MiB (tests/workloads/dirtymem 1000), what procs costs
#            without its 99 extra processes
#
# Each container is verified once before the checkpoint and once after the
# restart (SIGUSR2: every process checks every page and its pid and parent,
# every thread its tid, TLS, stack, signal mask and name; the top process
# prints PASS with the number of processes or threads that answered). A
# checkpoint or restart that fails shows in the table with ckptd's message.
#
# Environment: CKPT_BUILD (default build/, built if missing), BENCH_REPS (3),
# BENCH_PREWARM (1, as in bench/run.sh: before each checkpoint, write and
# delete 3x the container's memory in the tmpfs, so the host's first-touch
# cost is not what gets measured), BENCH_PRECHECK (1: verify before the
# checkpoint too, so a NO after restart can't be the workload's own fault).
set -u -o pipefail

cd "$(dirname "$0")/.." || exit 1
REPO=$(pwd)
BUILD=${CKPT_BUILD:-$REPO/build}
REPS=${BENCH_REPS:-3}
PREWARM=${BENCH_PREWARM:-1}
PRECHECK=${BENCH_PRECHECK:-1}
CASES=("$@")
[ ${#CASES[@]} -gt 0 ] || CASES=(procs threads cow)

# case -> command, memory it holds (MiB, for pre-warming), the PASS line's
# count, the reference size for image/ref (cow only), a label
declare -A CMD MEM WANT REF LABEL
CMD[procs]="bench/forkmem private 99 10";  MEM[procs]=1000; WANT[procs]="procs=100"
CMD[threads]="bench/manythreads 256";      MEM[threads]=64;  WANT[threads]="threads=256"
CMD[cow]="bench/forkmem inherit 10 512";   MEM[cow]=512;     WANT[cow]="procs=11"
CMD[single]="tests/workloads/dirtymem 1000"; MEM[single]=1000; WANT[single]="dirtymem"
REF[procs]=; REF[threads]=; REF[cow]=512; REF[single]=
LABEL[procs]="100 procs x 10 MiB"; LABEL[threads]="256 threads"; LABEL[cow]="11 procs, 512 MiB COW"
LABEL[single]="1 proc x 1000 MiB"
for c in "${CASES[@]}"; do
	[ -n "${CMD[$c]:-}" ] || { echo "bench: unknown case '$c' (procs, threads, cow, single)" >&2; exit 2; }
done

[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
if [ ! -x "$BUILD/ckptd" ] || [ ! -x "$BUILD/bench/forkmem" ] || [ ! -x "$BUILD/bench/manythreads" ]; then
	cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
		cmake --build "$BUILD" -j "$(nproc)" >/dev/null || { echo "bench: build failed" >&2; exit 1; }
fi
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh" ckpt-bench-tree

jget() { "$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))' "$1" "$2" 2>/dev/null || echo 0; }

# the one-line error of a failed ckptctl, for the table
errline() { tail -n 1 "$1" 2>/dev/null | sed 's/^ckptctl: //' | cut -c 1-100; }

prewarm() {	# MIB
	[ "$PREWARM" = 1 ] || return 0
	dd if=/dev/zero of="$STORE/prewarm" bs=16M count=$(( $1 / 16 + 1 )) status=none
	rm -f "$STORE/prewarm"
}

# cinfo NAME FIELD: a field of the container in ckptctl list
cinfo() {
	ckctl --json list 2>/dev/null | "$PYTHON" -c '
import json, sys
for c in json.load(sys.stdin)["containers"]:
    if c["name"] == sys.argv[1]: print(c.get(sys.argv[2], ""))' "$1" "$2" 2>/dev/null
}

ms_since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }

# pss NAME: MiB of proportional set size of the container's processes (its
# workload and every descendant), so memory shared by COW counts once
pss() {
	local hp pids
	hp=$(cinfo "$1" host_pid)
	[ -n "$hp" ] && [ "$hp" != 0 ] || { echo "-"; return; }
	pids=$(ps -e -o pid=,ppid= | awk -v top="$hp" '
		{ kids[$2] = kids[$2] " " $1 }
		END { q[0] = top; n = 1
		      for (i = 0; i < n; i++) { print q[i]; m = split(kids[q[i]], k, " ")
						for (j = 1; j <= m; j++) q[n++] = k[j] } }')
	for p in $pids; do cat "/proc/$p/smaps_rollup" 2>/dev/null; done |
		awk '/^Pss:/ { s += $2 } END { printf "%.0f", s / 1024 }'
}


rows=()

row() {	# CASE REP SETUP_MS CK_MS FROZEN_MS RS_MS IMG_BYTES PSS_PRE PSS_POST VERDICT
	rows+=("$(awk -v label="${LABEL[$1]}" -v rep="$2" -v setup="$3" -v ck="$4" -v fz="$5" -v rs="$6" \
		-v img="$7" -v ref="${REF[$1]}" -v pre="$8" -v post="$9" -v v="${10}" '
	function ms(x) { return x == "" || x == "-" ? "-" : sprintf("%.1f", x) }
	BEGIN {
		mib = img == "" || img == "-" ? "-" : sprintf("%.1f", img / 1048576)
		ratio = ref == "" || mib == "-" ? "-" : sprintf("%.2f", img / 1048576 / ref)
		fz = fz == "" || fz == "-" || fz == 0 ? "-" : fz / 1000
		printf "| %-21s | %3s | %8s | %9s | %9s | %9s | %9s | %9s | %16s | %s |",
			label, rep, ms(setup), ms(ck), ms(fz), ms(rs), mib, ratio, pre " / " post, v }')")
	echo "${rows[-1]}" >&2
}

measure() {	# CASE REP
	local c=$1 rep=$2 name=t-$1-$2 setup pre post t0 t1 t2 v img fz ck rs rc argv
	read -ra argv <<<"${CMD[$c]}"
	argv[0]=$BUILD/${argv[0]}
	if ! ckctl run "$name" -- "${argv[@]}" >/dev/null 2>"$TMP/err"; then
		row "$c" "$rep" - - - - - - - "run failed: $(errline "$TMP/err")"
		return
	fi
	if ! wait_count "$name" '^READY' 1 900; then
		row "$c" "$rep" - - - - - - - "NO: never READY: $(ckctl logs "$name" 2>/dev/null | tail -n 1 | cut -c 1-80)"
		ckctl rm "$name" >/dev/null 2>&1
		return
	fi
	setup=$(ckctl logs "$name" 2>/dev/null | sed -n 's/^READY.* setup_ms=\([0-9]*\).*/\1/p' | head -n 1)
	if [ "$PRECHECK" = 1 ]; then
		v=$(bench_verify "$name" "${WANT[$c]}")
		if [ "$v" != yes ]; then
			row "$c" "$rep" "$setup" - - - - - - "before checkpoint: $v"
			ckctl rm "$name" >/dev/null 2>&1
			return
		fi
	fi
	pre=$(pss "$name")
	sleep 0.3
	prewarm $(( ${MEM[$c]} * 3 ))

	t0=$(now_ns)
	ckctl --json checkpoint "$name" >"$TMP/ck.json" 2>"$TMP/err"
	rc=$?
	t1=$(now_ns)
	ck=$(ms_since "$t0" "$t1")
	if [ $rc != 0 ]; then
		# a refusal must leave the container running as it was
		v=$(cinfo "$name" state)
		row "$c" "$rep" "$setup" "$ck" - - - "$pre" - "refused: $(errline "$TMP/err") [container: ${v:-?}]"
		ckctl rm "$name" >/dev/null 2>&1
		return
	fi
	img=$(jget "$TMP/ck.json" image_bytes)
	fz=$(jget "$TMP/ck.json" frozen_us)
	ckctl --json restart "$name" >"$TMP/rs.json" 2>"$TMP/err"
	rc=$?
	t2=$(now_ns)
	rs=$(ms_since "$t1" "$t2")
	if [ $rc != 0 ]; then
		row "$c" "$rep" "$setup" "$ck" "$fz" "$rs" "$img" "$pre" - "restart failed: $(errline "$TMP/err")"
		ckctl rm "$name" >/dev/null 2>&1
		return
	fi
	post=$(pss "$name")
	v=$(bench_verify "$name" "${WANT[$c]}")
	row "$c" "$rep" "$setup" "$ck" "$fz" "$rs" "$img" "$pre" "$post" "$v"
	ckctl rm "$name" >/dev/null 2>&1
}

echo "bench: $(nproc) cpus, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r), store on tmpfs, $REPS reps, cases: ${CASES[*]}" >&2
for c in "${CASES[@]}"; do
	for rep in $(seq "$REPS"); do
		measure "$c" "$rep"
	done
done

echo
echo "ckptd checkpoint/restart of process trees and threads ($(uname -r), $(nproc) cpus)"
echo
echo "| case                  | rep | setup ms |   ckpt ms | frozen ms |  rest. ms | image MiB | image/ref | PSS MiB pre/post | verified |"
echo "|-----------------------|----:|---------:|----------:|----------:|----------:|----------:|----------:|-----------------:|----------|"
for r in "${rows[@]}"; do
	echo "$r"
done
echo
echo "setup: the workload's own time to fork and write its memory (or start its threads), before READY."
echo "ckpt ms / rest. ms: wall time of ckptctl checkpoint / restart, into and from the store on tmpfs."
echo "frozen ms: how long ckptd kept the container frozen, as it reports it."
echo "image/ref: image size / 512 MiB for the COW case (about 1 if inherited pages are stored once; 11 if once per process)."
echo "PSS MiB: proportional set size of the container's processes before the checkpoint / after the restart."
echo "verified: after the restart every process checked every page, its pid and its parent, every thread its"
echo "          state, and the top process counted them (yes), or why not; refused: the checkpoint's error."
echo "Issue 3 goals: procs ckpt and restart < 1000 ms each; threads < 500 ms each; cow image/ref about 1."
echo "pre-warm: $PREWARM, pre-check: $PRECHECK (see the header of bench/tree.sh)"
