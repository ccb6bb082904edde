#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# checkpoint --leave-running: the container keeps running (same host pid,
# still passing its checks), and the stored image is usable: kill the
# container, restart from the store, and it passes again.
. "$(dirname "$0")/lib.sh"

start_ckptd

for wl in counter avx signals; do
	name=$P-$wl
	run_ct "$name" "$WL/$wl"
	sleep 0.3
	pid=$(host_pid "$name")
	snapshot "$pid" "$TMP/$wl.before"
	out=$(ckctl checkpoint "$name" --leave-running 2>&1) || fail "checkpoint --leave-running $name: $out"
	[ "$(ct_state "$name")" = running ] || fail "$name is $(ct_state "$name") after --leave-running"
	[ "$(host_pid "$name")" = "$pid" ] || fail "$name: host pid changed from $pid to $(host_pid "$name")"
	kill -0 "$pid" 2>/dev/null || fail "$name: host pid $pid gone after --leave-running"
	grep -q '^State:.*[RS]' "/proc/$pid/status" || fail "$name: $(grep ^State: "/proc/$pid/status")"
	# not frozen: it still makes progress
	if [ "$wl" = counter ]; then
		n=$(log_count "$name" '^counter ')
		wait_log "$name" "^counter $((n * 100))\$" 5
	fi
	verify_ct "$name" "$wl"
	[ "$(images_count "$name")" = 1 ] ||
		fail "$name: expected one stored image, got: $(ckctl images "$name")"

	out=$(ckctl kill "$name" 2>&1) || fail "kill $name: $out"
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && fail "$name: pid $pid survived ckptctl kill"
	wait_state "$name" stopped 10
	restart_ct "$name"
	snapshot "$(host_pid "$name")" "$TMP/$wl.after"
	compare_snapshots "$TMP/$wl.before" "$TMP/$wl.after" "$wl restarted from a --leave-running image"
	verify_ct "$name" "$wl"
	ckctl rm "$name" >/dev/null || fail "rm $name"
	log "$wl ok"
done
echo "PASS: $TEST_NAME"
