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
# record survives the recovery. The worker alone is killed too, and the
# worker with ckptd: before it borrowed a task's registers the container
# runs on; while it holds them, the tasks are put back from its record and
# the container runs on as well.
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/crash-lib.sh
. "$(dirname "$0")/crash-lib.sh"

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
for point in ckpt-frozen ckpt-seized ckpt-injecting ckpt-pages ckpt-tail ckpt-commit ckpt-committed ckpt-saving; do
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
# itself. From ckpt-borrowed on (the tasks' registers and signal masks are
# the worker's), at ckpt-injecting (and a scratch mapping in the task) and
# at ckpt-batched (a batch of calls just run there), the worker recorded
# what it borrowed, and the cgroup was frozen: a recovery worker puts every
# task back. The container runs on, same processes, untraced, thawed, no
# scratch mapping left, its own checks pass, and it checkpoints again.
# kill-both kills ckptd with the worker: the next ckptd recovers at start.

for spec in ckpt-frozen:counter ckpt-borrowed:counter ckpt-injecting:threads ckpt-batched:threads; do
	point=${spec%%:*} wl=${spec#*:}
	unset CKPTD_FAULT
	export CKPTD_FAULT=$point:kill-worker
	start_ckptd
	name=$P-kw-${point#ckpt-}-$wl
	run_ct "$name" "$WL/$wl"
	if [ "$wl" = counter ]; then wait_log "$name" '^counter 100$' 10; else verify_ct "$name" "$wl"; fi
	pid=$(host_pid "$name")
	maps_of "$name" > "$TMP/maps.before"
	out=$(ckctl checkpoint "$name" 2>&1) && fail "$point: checkpoint answered success: $out"
	unset CKPTD_FAULT
	echo "$out" | grep -q "worker" || fail "$point: the answer does not name the worker's death: $out"
	no_leftovers "$name" "$point:kill-worker"
	case $point in
	ckpt-frozen)
		check_tree_running "$name"
		[ "$(host_pid "$name")" = "$pid" ] || fail "$point: $name has a new host pid"
		verify_ct "$name" "$wl"
		info "$point:kill-worker: nothing was borrowed: the container runs on"
		;;
	*)
		echo "$out" | grep -q "put back: the container runs on" || fail "$point: the answer does not say the registers were put back: $out"
		put_back "$name" "$wl" "$point:kill-worker" "$TMP/maps.before" "$pid"
		info "$point:kill-worker ($wl): its tasks were put back; running, checked, checkpointed again"
		;;
	esac
	ckctl rm "$name" >/dev/null || fail "rm $name"
	ckptd_stop
done

for spec in ckpt-injecting:threads ckpt-batched:counter; do
	point=${spec%%:*} wl=${spec#*:}
	unset CKPTD_FAULT
	start_ckptd
	name=$P-kb-${point#ckpt-}-$wl
	run_ct "$name" "$WL/$wl"
	if [ "$wl" = counter ]; then wait_log "$name" '^counter 100$' 10; else verify_ct "$name" "$wl"; fi
	pid=$(host_pid "$name")
	maps_of "$name" > "$TMP/maps.before"
	ckptd_stop
	export CKPTD_FAULT=$point:kill-both
	start_ckptd
	out=$(ckctl checkpoint "$name" 2>&1) && fail "$point: checkpoint answered success: $out"
	crash_ckptd "$point:kill-both"
	unset CKPTD_FAULT
	[ -e "$STATE/containers/$name/borrowed" ] || fail "$point:kill-both: no borrow record left for the next ckptd"
	start_ckptd
	no_leftovers "$name" "$point:kill-both"
	put_back "$name" "$wl" "$point:kill-both" "$TMP/maps.before" "$pid"
	info "$point:kill-both ($wl): the next ckptd put its tasks back; running, checked, checkpointed again"
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
