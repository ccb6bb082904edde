#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Rollback paths, driven by fault injection (CKPTD_FAULT in ckptd's
# environment, see daemon/cr/fault.h). A checkpoint failing at any step
# leaves the container running, thawed and making progress, with no image
# stored; a restart failing at any step leaves nothing running in the
# container and its image usable by the next restart.
. "$(dirname "$0")/lib.sh"

# frozen? (cgroup v2 cgroup.events, or the v1 freezer state) of NAME's cgroup
not_frozen() {
	local d
	d=$(cgroup_dir_of "$(host_pid "$1")")
	[ -n "$d" ] || return 0
	! grep -q '^frozen 1' "$d/cgroup.events" 2>/dev/null
}

for point in ckpt-frozen ckpt-seized ckpt-pages ckpt-tail; do
	export CKPTD_FAULT=$point
	start_ckptd
	name=$P-${point#ckpt-}
	run_ct "$name" "$WL/counter"
	pid=$(host_pid "$name")
	out=$(ckctl checkpoint "$name" 2>&1) && fail "$point: checkpoint succeeded: $out"
	case $out in *"fault injected at $point"*) ;; *) fail "$point: unexpected error: $out" ;; esac
	[ "$(ct_state "$name")" = running ] || fail "$point: $name is $(ct_state "$name")"
	[ "$(host_pid "$name")" = "$pid" ] || fail "$point: $name has a new host pid"
	not_frozen "$name" || fail "$point: $name left frozen"
	[ "$(images_count "$name")" = 0 ] || fail "$point: an image was stored: $(ckctl images "$name")"
	[ -n "$(ls -A "$STATE/containers/$name/images/" 2>/dev/null)" ] && fail "$point: leftover files in the store: $(ls "$STATE/containers/$name/images/")"
	# streamed: the stream must end with an error record, not a tail
	ckctl checkpoint "$name" -o - > "$TMP/$point.img" 2>/dev/null && fail "$point: streamed checkpoint succeeded"
	ckctl inspect "$TMP/$point.img" >/dev/null 2>&1 && fail "$point: a failed stream reads as a valid image"
	n=$(log_count "$name" '^counter ')
	wait_log_count "$name" '^counter ' $((n + 2)) 10
	verify_ct "$name" counter
	info "$point: container running and unfrozen after the failed checkpoint"
	ckctl rm "$name" >/dev/null || fail "rm $name"
	ckptd_stop
done

for point in restore-spawned restore-pages restore-handoff; do
	unset CKPTD_FAULT
	start_ckptd
	name=$P-${point#restore-}
	run_ct "$name" "$WL/counter"
	wait_log "$name" '^counter 100$' 10
	checkpoint_ct "$name"
	ckptd_stop
	export CKPTD_FAULT=$point
	start_ckptd
	out=$(ckctl restart "$name" 2>&1) && fail "$point: restart succeeded: $out"
	case $out in *"fault injected at $point"*) ;; *) fail "$point: unexpected error: $out" ;; esac
	[ "$(ct_state "$name")" = checkpointed ] || fail "$point: $name is $(ct_state "$name")"
	cg=$(cgroup_dir_of "$CKPTD_PID")/ckptd-$name
	[ -n "$(cat "$cg/cgroup.procs" 2>/dev/null)" ] && fail "$point: processes left in $cg: $(cat "$cg/cgroup.procs")"
	ckptd_stop
	unset CKPTD_FAULT
	start_ckptd
	restart_ct "$name"
	n=$(log_count "$name" '^counter ')
	wait_log_count "$name" '^counter ' $((n + 2)) 10
	verify_ct "$name" counter
	info "$point: nothing left behind, and the image restarts afterwards"
	ckctl rm "$name" >/dev/null || fail "rm $name"
	ckptd_stop
done
pass
