#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fds on a process's own /proc entries (procfds.c): opendir("/proc/self/fd"),
# /proc/self/status, /proc/self/stat, /proc/PID/status and, from a second
# thread, /proc/thread-self/comm and status. 2 x (checkpoint, restart): a
# new host pid, the same pid inside the container, the same /proc view from
# outside, and the workload's own PASS: read again through the same fds
# (after renaming both threads and opening a marker fd), each still
# describes the restored process and thread (names, Pid, Tgid, NSpid, the
# fd list it has now), not a task of another pid namespace, a helper of the
# restart or the container's init.
# Then "procfds reused": /proc/A/status held open after child A exited, pid A
# since taken by another child (which the fd must never read): the
# checkpoint is refused naming the task, the fd and why, and the workload
# runs on, unfrozen and untraced, and passes its checks.
. "$(dirname "$0")/lib.sh"

start_ckptd
name=$P-procfds
run_ct "$name" "$WL/procfds"
verify_ct "$name" procfds
ids=$(last_log "$name" '^READY' | sed -n 's/^READY procfds //p')
[ -n "$ids" ] || fail "no pid and tid at READY"
for c in 1 2; do
	host_before=$(host_pid "$name")
	cr_cycle "$name"
	host_after=$(host_pid "$name")
	[ "$host_before" != "$host_after" ] || fail "cycle $c: the host pid $host_before did not change"
	now=$(last_log "$name" '^PASS procfds' | sed -n 's/^PASS procfds n=[0-9]* //p')
	[ "$now" = "$ids" ] || fail "cycle $c: PASS says '$now', READY said '$ids'"
	info "cycle $c ok: host pid $host_before -> $host_after, $(last_log "$name" '^PASS procfds')"
done
ckctl rm "$name" >/dev/null || fail "rm $name"

# clone3 with set_tid takes CAP_CHECKPOINT_RESTORE
name=$P-reused
run_wl_cap CHECKPOINT_RESTORE "$name" "$WL/procfds" reused
verify_ct "$name" procfds
stale=$(last_log "$name" '^stale fd ' | sed -n 's|^stale fd \([0-9]*\): \(/proc/[0-9]*/status\),.*|fd \1 (\2)|p')
[ -n "$stale" ] || fail "reused: no stale fd reported"
pid=$(host_pid "$name")
out=$(ckctl checkpoint "$name" 2>&1) && fail "reused: checkpoint succeeded"
printf '%s\n' "$out" | grep -q "^ckptctl: checkpoint: task 2 .*: $stale: .*its task is gone, and its path now names another task" ||
	fail "reused: not refused by task, $stale and why: $out"
info "reused: $(printf '%s\n' "$out" | head -n 1)"
expect_state "$name" running
[ "$(host_pid "$name")" = "$pid" ] || fail "reused: the workload is no longer host pid $pid"
grep -q '^frozen 0$' "$(cgroup_dir_of "$pid")/cgroup.events" || fail "reused: left frozen"
grep -q '^TracerPid:[[:space:]]*0$' "/proc/$pid/status" || fail "reused: left traced"
[ "$(images_count "$name")" = 0 ] || fail "reused: a refused checkpoint left an image"
verify_ct "$name" procfds
ckctl rm "$name" >/dev/null || fail "rm $name"
pass
