#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Crash safety: ckptd is killed (SIGKILL) at each phase of a run, a
# checkpoint and a restart (CKPTD_FAULT=<point>:crash, daemon/cr/fault.h),
# and started again on the same state dir. Each time the container must
# come back consistent: before a checkpoint's commit it runs on (thawed,
# untraced, same process, still counting, no image or partial file left);
# after it, it is checkpointed with a complete image that restarts. A
# restart interrupted before its hand-off leaves nothing running and its
# image usable; after it, the container is recorded as running. No intent
# record survives the recovery. The worker alone is killed too: before
# it borrowed a task's registers the container runs on; while it holds
# them the tasks die with it and the container is reported damaged.
. "$(dirname "$0")/lib.sh"

crash_ckptd() {
	local i
	for i in $(seq 100); do
		kill -0 "$CKPTD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$CKPTD_PID" 2>/dev/null && fail "$1: ckptd did not die at its crash point"
	# (the shell would report the SIGKILL it expected)
	{ wait "$CKPTD_PID"; } 2>/dev/null
	CKPTD_PID=
}

# after_recovery NAME POINT: nothing of the interrupted operation is left
no_leftovers() {
	local name=$1 point=$2 d=$STATE/containers/$1
	[ -e "$d/intent" ] && fail "$point: the intent record of $name survived the recovery: $(cat "$d/intent")"
	[ -n "$(find "$d/images" -name '*.tmp' 2>/dev/null)" ] && fail "$point: partial image left: $(ls "$d/images")"
	return 0
}

cgroup_empty() {
	local cg
	cg=$(cgroup_dir_of "$CKPTD_PID")/ckptd-$1
	[ -z "$(cat "$cg/cgroup.procs" 2>/dev/null)" ] || fail "$2: processes left in $cg: $(cat "$cg/cgroup.procs")"
}

still_counting() {
	local n
	n=$(log_count "$1" '^counter ')
	wait_log_count "$1" '^counter ' $((n + 2)) 10
	verify_ct "$1" counter
}

# ---- checkpoint ----
for point in ckpt-frozen ckpt-seized ckpt-pages ckpt-tail ckpt-commit ckpt-committed ckpt-saving; do
	unset CKPTD_FAULT
	start_ckptd
	name=$P-${point#ckpt-}
	run_ct "$name" "$WL/counter"
	wait_log "$name" '^counter 100$' 10
	pid=$(host_pid "$name")
	ckptd_stop
	export CKPTD_FAULT=$point:crash
	start_ckptd
	out=$(ckctl checkpoint "$name" 2>&1) && fail "$point: checkpoint answered success: $out"
	crash_ckptd "$point"
	unset CKPTD_FAULT
	start_ckptd
	no_leftovers "$name" "$point"
	case $point in
	ckpt-committed|ckpt-saving)
		[ "$(ct_state "$name")" = checkpointed ] || fail "$point: $name is $(ct_state "$name"), want checkpointed"
		kill -0 "$pid" 2>/dev/null && fail "$point: the checkpointed workload (host pid $pid) still runs"
		cgroup_empty "$name" "$point"
		[ "$(images_count "$name")" = 1 ] || fail "$point: images: $(ckctl images "$name")"
		restart_ct "$name"
		still_counting "$name"
		info "$point: committed before the crash: checkpointed, and its image restarts"
		;;
	*)
		check_tree_running "$name"
		[ "$(host_pid "$name")" = "$pid" ] || fail "$point: $name has a new host pid"
		[ "$(images_count "$name")" = 0 ] || fail "$point: an image was stored: $(ckctl images "$name")"
		still_counting "$name"
		# and it can be checkpointed now
		checkpoint_ct "$name"
		restart_ct "$name"
		still_counting "$name"
		info "$point: rolled back: running, thawed, untraced, no image"
		;;
	esac
	ckctl rm "$name" >/dev/null || fail "rm $name"
	ckptd_stop
done

# ---- the worker killed (CKPTD_FAULT=POINT:kill-worker) ----
# Before it borrows anything (ckpt-frozen) the container runs on, checking
# itself. Inside an injection (ckpt-injecting: a task's registers, signal
# mask and a scratch mapping are the worker's) its tasks must never resume
# with them: they die with the worker and the container is reported
# damaged and stopped, never running.
for point in ckpt-frozen ckpt-injecting; do
	unset CKPTD_FAULT
	export CKPTD_FAULT=$point:kill-worker
	start_ckptd
	name=$P-kw-${point#ckpt-}
	run_ct "$name" "$WL/counter"
	wait_log "$name" '^counter 100$' 10
	pid=$(host_pid "$name")
	out=$(ckctl checkpoint "$name" 2>&1) && fail "$point: checkpoint answered success: $out"
	unset CKPTD_FAULT
	echo "$out" | grep -q "worker" || fail "$point: the answer does not name the worker's death: $out"
	no_leftovers "$name" "$point:kill-worker"
	case $point in
	ckpt-injecting)
		echo "$out" | grep -q "registers" || fail "$point: the answer does not say what the worker held: $out"
		echo "$out" | grep -q "damaged" || fail "$point: the answer does not say the container is damaged: $out"
		wait_state "$name" stopped 10
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && fail "$point: the task whose registers were borrowed (host pid $pid) still runs"
		n=$(log_count "$name" '^counter ')
		sleep 1
		[ "$(log_count "$name" '^counter ')" = "$n" ] || fail "$point: the damaged container still counts"
		[ "$(images_count "$name")" = 0 ] || fail "$point: an image was stored: $(ckctl images "$name")"
		cgroup_empty "$name" "$point"
		info "$point:kill-worker: its tasks died with the worker; reported damaged and stopped"
		;;
	*)
		check_tree_running "$name"
		[ "$(host_pid "$name")" = "$pid" ] || fail "$point: $name has a new host pid"
		still_counting "$name"
		info "$point:kill-worker: nothing was borrowed: the container runs on"
		;;
	esac
	ckctl rm "$name" >/dev/null || fail "rm $name"
	ckptd_stop
done

# ---- restart ----
for point in restore-spawned restore-pages restore-handoff restore-done restore-saving; do
	unset CKPTD_FAULT
	start_ckptd
	name=$P-${point#restore-}
	run_ct "$name" "$WL/counter"
	wait_log "$name" '^counter 100$' 10
	nspid=$(ct_field "$name" pid)
	checkpoint_ct "$name"
	ckptd_stop
	export CKPTD_FAULT=$point:crash
	start_ckptd
	out=$(ckctl restart "$name" 2>&1) && fail "$point: restart answered success: $out"
	crash_ckptd "$point"
	unset CKPTD_FAULT
	start_ckptd
	no_leftovers "$name" "$point"
	case $point in
	restore-done|restore-saving)
		check_tree_running "$name"
		[ "$(ct_field "$name" pid)" = "$nspid" ] || fail "$point: pid $(ct_field "$name" pid), was $nspid"
		still_counting "$name"
		info "$point: handed off before the crash: recorded as running"
		;;
	*)
		[ "$(ct_state "$name")" = checkpointed ] || fail "$point: $name is $(ct_state "$name"), want checkpointed"
		cgroup_empty "$name" "$point"
		[ "$(images_count "$name")" = 1 ] || fail "$point: images: $(ckctl images "$name")"
		restart_ct "$name"
		still_counting "$name"
		info "$point: undone: checkpointed, nothing running, and the image restarts"
		;;
	esac
	ckctl rm "$name" >/dev/null || fail "rm $name"
	ckptd_stop
done

# ---- run: recorded before the container's state was ----
export CKPTD_FAULT=run-saving:crash
start_ckptd
name=$P-run
out=$(ckctl run "$name" --cwd "$WORK" -- "$WL/counter" 2>&1) && fail "run-saving: run answered success: $out"
crash_ckptd run-saving
unset CKPTD_FAULT
start_ckptd
[ -z "$(ct_state "$name")" ] || fail "run-saving: $name is listed as $(ct_state "$name")"
[ -e "$STATE/containers/$name" ] && fail "run-saving: $STATE/containers/$name left behind"
cgroup_empty "$name" run-saving
run_wl "$name" "$WL/counter"
still_counting "$name"
info "run-saving: the half-made container is gone, and the name can be used again"
pass
