#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Crash safety in a v1 freezer cgroup. ckptd falls back to the v1 freezer
# when it can't make a cgroup2 cgroup; here its cgroup2 cgroup allows no
# descendants (cgroup.max.descendants = 0), so every container gets a v1
# freezer cgroup. Then, as in 52-crash, the checkpoint worker is killed
# (CKPTD_FAULT=POINT:kill-worker), and ckptd with it (kill-both), at each
# of its borrow points: while it holds the tasks' registers, signal masks
# and a scratch mapping, the cgroup is FROZEN and the worker's record names
# what it borrowed. A recovery worker (or the next ckptd) seizes the frozen
# tasks, thaws for their traps, puts everything back and thaws: the
# container runs on, same processes, untraced, THAWED, no scratch mapping
# left, its own checks pass, and it checkpoints and restarts again.
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/crash-lib.sh
. "$(dirname "$0")/crash-lib.sh"

V1=$(cg1_freezer_mount)
[ -n "$V1" ] || skip "no v1 freezer hierarchy"
for cg in "${E2E_CGROUPS[@]}"; do
	case $cg in
	"$V1"/*) have_v1=1 ;;
	*) echo 0 > "$cg/cgroup.max.descendants" || fail "cgroup.max.descendants of $cg" ;;
	esac
done
[ "${have_v1:-0}" = 1 ] || skip "no v1 freezer cgroup for ckptd"

# in_v1 NAME: the container's tasks are in its own v1 freezer cgroup
in_v1() {
	local pid f
	grep -qx 'cgroup_v1=1' "$STATE/containers/$1/state" || fail "$1: not in a v1 freezer cgroup: $(cat "$STATE/containers/$1/state")"
	for pid in $(tree_host_pids "$1"); do
		f=$(awk -F: '$2 ~ /(^|,)freezer(,|$)/ { print $3 }' "/proc/$pid/cgroup")
		[ "${f##*/}" = "ckptd-$1" ] || fail "$1: task $pid is in freezer cgroup '$f'"
	done
}

# init_untraced NAME: the container's init, which a checkpoint holds in a
# ptrace stop while it borrows (so no thaw wakes it), was let go
init_untraced() {
	local init t
	init=$(ct_init_host_pid "$1")
	[ -n "$init" ] || fail "$1: no init"
	for t in /proc/"$init"/task/*; do
		grep -q '^TracerPid:[[:space:]]*0$' "$t/status" || fail "$1: init task ${t##*/} is traced: $(grep TracerPid "$t/status")"
		grep -q '^State:[[:space:]]*[RSD]' "$t/status" || fail "$1: init task ${t##*/}: $(grep State "$t/status")"
	done
}

put_back_checks() { init_untraced "$1"; in_v1 "$1"; }

start_wl() {
	run_ct "$1" "$WL/$2"
	if [ "$2" = counter ]; then wait_log "$1" '^counter 100$' 10; else verify_ct "$1" "$2"; fi
	in_v1 "$1"
}

# ---- the worker killed ----
for spec in ckpt-frozen:counter ckpt-borrowed:counter ckpt-injecting:threads ckpt-batched:threads; do
	point=${spec%%:*} wl=${spec#*:}
	export CKPTD_FAULT=$point:kill-worker
	start_ckptd
	name=$P-kw-${point#ckpt-}-$wl
	start_wl "$name" "$wl"
	pid=$(host_pid "$name")
	maps_of "$name" > "$TMP/maps.before"
	out=$(ckctl checkpoint "$name" 2>&1) && fail "$point: checkpoint answered success: $out"
	unset CKPTD_FAULT
	echo "$out" | grep -q "worker" || fail "$point: the answer does not name the worker's death: $out"
	no_leftovers "$name" "$point:kill-worker"
	case $point in
	ckpt-frozen)
		check_tree_running "$name"
		init_untraced "$name"
		[ "$(host_pid "$name")" = "$pid" ] || fail "$point: $name has a new host pid"
		verify_ct "$name" "$wl"
		info "$point:kill-worker: nothing was borrowed: the container runs on"
		;;
	*)
		echo "$out" | grep -q "put back: the container runs on" ||
			fail "$point: the answer does not say the registers were put back: $out"
		put_back "$name" "$wl" "$point:kill-worker" "$TMP/maps.before" "$pid"
		info "$point:kill-worker ($wl): its tasks were put back; running, checked, checkpointed again"
		;;
	esac
	ckctl rm "$name" >/dev/null || fail "rm $name"
	ckptd_stop
done

# ---- ckptd killed with it: the next ckptd recovers at start ----
for spec in ckpt-injecting:threads ckpt-batched:counter; do
	point=${spec%%:*} wl=${spec#*:}
	unset CKPTD_FAULT
	start_ckptd
	name=$P-kb-${point#ckpt-}-$wl
	start_wl "$name" "$wl"
	pid=$(host_pid "$name")
	maps_of "$name" > "$TMP/maps.before"
	ckptd_stop
	export CKPTD_FAULT=$point:kill-both
	start_ckptd
	out=$(ckctl checkpoint "$name" 2>&1) && fail "$point: checkpoint answered success: $out"
	crash_ckptd "$point:kill-both"
	unset CKPTD_FAULT
	[ -e "$STATE/containers/$name/borrowed" ] || fail "$point:kill-both: no borrow record left for the next ckptd"
	f=$V1$(awk -F: '$2 ~ /(^|,)freezer(,|$)/ { print $3 }' "/proc/$pid/cgroup")
	[ "$(cat "$f/freezer.state")" = FROZEN ] || fail "$point:kill-both: $f is $(cat "$f/freezer.state") while borrowed"
	start_ckptd
	no_leftovers "$name" "$point:kill-both"
	put_back "$name" "$wl" "$point:kill-both" "$TMP/maps.before" "$pid"
	info "$point:kill-both ($wl): the next ckptd put its tasks back; running, checked, checkpointed again"
	ckctl rm "$name" >/dev/null || fail "rm $name"
	ckptd_stop
done
# ---- no fault: a checkpoint that leaves it running lets every task go ----
start_ckptd
name=$P-lr
start_wl "$name" threads
out=$(ckctl checkpoint "$name" --leave-running 2>&1) || fail "checkpoint --leave-running: $out"
check_tree_running "$name"
init_untraced "$name"
in_v1 "$name"
verify_ct "$name" threads
info "leave-running: thawed, untraced (init too), checked"
ckctl rm "$name" >/dev/null || fail "rm $name"
ckptd_stop
pass
