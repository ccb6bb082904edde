#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The container's IPC objects besides semaphores (31-namespaces.sh) survive
# checkpoint and restart, 2 cycles each, the workload checking them itself:
# - SysV shared memory: a keyed segment attached read-write and read-only
#   in two processes, and a private one removed while attached, at their
#   ids, with their pages, modes, sizes and attach counts, still shared
#   between the processes (the child answers through them);
# - a SysV message queue with messages of several types (and a private
#   one), at its id with its mode and msg_qbytes, still usable;
# - a POSIX message queue with messages of 3 priorities, its attributes,
#   and the workload's O_NONBLOCK descriptor on it;
# - a POSIX queue with an mq_notify() registration, a full one, a
#   process whose two threads share the undo list of a semop() with
#   SEM_UNDO while semaphore sets exist, checkpointed with --leave-running
#   (a shared list can't be read without applying it, nor shared again;
#   68-undo-shared restores it), and shared memory with
#   kernel.shm_rmid_forced set make the checkpoint fail naming them, and
#   the container keeps running;
# - none of the objects is visible on the host.
. "$(dirname "$0")/lib.sh"

start_ckptd

not_on_host() { ipcs "$1" | grep -i "$2" >/dev/null && fail "key $2 is visible on the host: $(ipcs "$1")"; return 0; }

restored() {
	local mode=$1 name=$P-$1 id c pid
	run_ct "$name" "$WL/ipc" "$mode"
	id=$(last_log "$name" "^READY ipc $mode" | sed 's/.*id=//')
	verify_ct "$name" "ipc $mode id=$id\$"
	for c in 1 2; do
		checkpoint_ct "$name"
		restart_ct "$name"
		verify_ct "$name" "ipc $mode id=$id\$"
		log "$mode: cycle $c passed"
	done
	if [ "$mode" = shm ]; then
		pid=$(host_pid "$name")
		[ "$(grep -c '/SYSV31000032 ' "/proc/$pid/maps")" = 2 ] ||
			fail "shm: the workload does not have its two attaches: $(grep SYSV "/proc/$pid/maps")"
	fi
	check_no_fail "$name"
	ckctl rm "$name" >/dev/null || fail "rm $name"
}

restored shm
not_on_host -m 0x31000032
restored msg
not_on_host -q 0x31000033
restored mq
[ -e /dev/mqueue/ckpt-ipc-mq ] && fail "the POSIX message queue is visible on the host"

refused() {
	local mode=$1 re=$2 name=$P-$1 out t
	shift 2
	run_ct "$name" "$WL/ipc" "$mode"
	out=$(ckctl checkpoint "$name" "$@" 2>&1) && fail "checkpoint $* with a $mode object succeeded"
	log "$mode: $out"
	echo "$out" | grep -Eq "$re" || fail "$mode: the error does not name the object ($re): $out"
	[ "$(ct_state "$name")" = running ] || fail "$mode: container is '$(ct_state "$name")' after the refusal"
	[ "$(images_count "$name")" = 0 ] || fail "$mode: a refused checkpoint left an image"
	t=$(count_log "$name" '^tick')
	wait_log_count "$name" '^tick' $((t + 3)) 5
	verify_ct "$name" "ipc $mode"
	ckctl rm "$name" >/dev/null || fail "rm $name"
}
refused mqnotify 'POSIX message queue /ckpt-ipc-mq-empty: an mq_notify\(\) registration .*not saved'
refused mqfull 'POSIX message queue /ckpt-ipc-mq: it is full'
refused shmforced "the container's IPC namespace: kernel.shm_rmid_forced is set"
refused semundo 'task [0-9]+ .*thread [0-9]+: SysV semaphore undo list: its threads share one .*not --leave-running' --leave-running
pass
