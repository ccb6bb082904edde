#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every C workload: run, then 3 x (checkpoint, restart), comparing
# /proc/PID/maps, the fd list and the identity/signal lines of
# /proc/PID/status before and after, and the workload's own PASS each time.
. "$(dirname "$0")/lib.sh"

start_ckptd
CYCLES=${CYCLES:-3}

counter_monotonic()
{
	ckctl logs "$1" | awk '/^counter / { if ($2 + 0 < last) { print "counter went from " last " to " $2; exit 1 } last = $2 + 0 }' ||
		fail "$1: $(ckctl logs "$1" | awk '/^counter /' | tail -n 5 | tr '\n' ' ')"
}

cycle_workload()
{
	local wl=$1 name=$P-$1 c usr1=0
	shift
	log "$wl: run"
	run_ct "$name" "$WL/$wl" "$@"
	sleep 0.3
	verify_ct "$name" "$wl"
	for c in $(seq "$CYCLES"); do
		snapshot "$(host_pid "$name")" "$TMP/$wl.before.$c"
		checkpoint_ct "$name"
		restart_ct "$name"
		snapshot "$(host_pid "$name")" "$TMP/$wl.after.$c"
		compare_snapshots "$TMP/$wl.before.$c" "$TMP/$wl.after.$c" "$wl cycle $c"
		if [ "$wl" = signals ]; then
			usr1=$((usr1 + 1))
			kill -USR1 "$(host_pid "$name")"
			wait_log "$name" "^usr1 count=$usr1\$" 10
		fi
		verify_ct "$name" "$wl"
		log "$wl: cycle $c ok"
	done
	[ "$wl" = signals ] && { ckctl logs "$name" | grep "^PASS signals .* usr1=$usr1\$" >/dev/null ||
		fail "signals: last PASS does not report usr1=$usr1"; }
	[ "$wl" = counter ] && counter_monotonic "$name"
	ckctl rm "$name" >/dev/null || fail "rm $name"
}

cycle_workload memory "$TMP/wd"
cycle_workload files "$TMP/wd"
cycle_workload signals
cycle_workload avx
cycle_workload counter
cycle_workload kstate "$TMP/wd"
cycle_workload dirtymem 64
cycle_workload droppable
echo "PASS: $TEST_NAME"
