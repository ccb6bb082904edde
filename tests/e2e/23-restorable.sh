#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A checkpoint never kills a workload into an image restart would refuse.
# Each kind of description alone, then all together through 3 cycles,
# restores exactly (the workload checks contents, F_GETFL, F_GETFD, offsets
# and identity itself): empty, holey, sparse and sealed memfds; O_PATH fds
# on a file, a directory, a symlink and a device; fds on /proc files of the
# container's processes; files opened with O_NOFOLLOW. What restart would
# refuse (an fd on /proc/PID/mem, a path longer than an image holds) is
# refused at checkpoint and the workload keeps running.
. "$(dirname "$0")/lib.sh"

start_ckptd

cycles()
{
	local mode=$1 n=$2 name=$P-$1 c
	run_ct "$name" "$WL/restorable" "$mode" "$WORK/$mode"
	verify_ct "$name" restorable
	for c in $(seq "$n"); do
		cr_cycle "$name" nomaps
		verify_ct "$name" restorable
		log "$mode: cycle $c ok: $(last_log "$name" '^PASS')"
	done
	ckctl rm "$name" >/dev/null || fail "rm $name"
}

refused()
{
	local mode=$1 re=$2 name=$P-$1 out pid
	run_ct "$name" "$WL/restorable" "$mode" "$WORK/$mode"
	pid=$(host_pid "$name")
	out=$(ckctl checkpoint "$name" 2>&1) && fail "checkpoint of '$mode' succeeded"
	echo "$out" | grep -Eq "task [0-9]+" || fail "$mode: error does not name the task: $out"
	echo "$out" | grep -Eqi "$re" || fail "$mode: error does not give the reason ($re): $out"
	log "$mode: $out"
	[ "$(ct_state "$name")" = running ] || fail "$mode: container is '$(ct_state "$name")' after the refusal"
	[ "$(host_pid "$name")" = "$pid" ] || fail "$mode: host pid changed"
	grep -q '^TracerPid:[[:space:]]*0$' "/proc/$pid/status" || fail "$mode: workload still traced"
	verify_ct "$name" restorable
	[ "$(images_count "$name")" = 0 ] || fail "$mode: a refused checkpoint left an image"
	ckctl rm "$name" >/dev/null || fail "rm $name"
}

for m in memfd opath proc nofollow all procmem longpath; do
	mkdir -p "$WORK/$m"
done
cycles memfd 1
cycles opath 1
cycles proc 1
cycles nofollow 1
cycles all 3
refused procmem '/proc/[0-9]+/mem'
refused longpath 'path'
echo "PASS: $TEST_NAME"
