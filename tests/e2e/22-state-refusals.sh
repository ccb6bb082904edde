#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# State that restart would lose without a word is refused at checkpoint,
# with an error naming the task (its pid in the container and on the host),
# the object and the reason, and the container runs on, not frozen, not
# stopped, not traced: a seccomp filter that hands calls to a supervisor,
# network / UTS namespaces, a pending time namespace, a lease. File locks
# and signal-driven I/O are restored (30-locks-async.sh), and so are
# per-thread seccomp filters and credentials (32-task-state.sh).
. "$(dirname "$0")/lib.sh"

start_ckptd

refused()
{
	local mode=$1 re=$2 name=$P-$1 out pid nspid cg flag t1 tid
	case $mode in
	seccompnotif | netns | utsns | timens)
		# a filter without no_new_privs, unshare: CAP_SYS_ADMIN, outside root's default set
		ckctl run "$name" --cwd "$WORK" --cap-add SYS_ADMIN -- "$WL/refuse" "$mode" >/dev/null || fail "run $name"
		wait_log "$name" '^READY' 30
		;;
	*) run_ct "$name" "$WL/refuse" "$mode" ;;
	esac
	pid=$(host_pid "$name")
	nspid=$(awk '/^NSpid:/ { print $NF }' "/proc/$pid/status")
	for flag in "" --leave-running "-o $TMP/$mode.img"; do
		# shellcheck disable=SC2086
		out=$(ckctl checkpoint "$name" $flag 2>&1) && fail "checkpoint $flag of '$mode' succeeded"
		log "$mode ${flag:-(store)}: $out"
		echo "$out" | grep -q "^ckptctl: checkpoint: " || fail "$mode: not a clear error: $out"
		echo "$out" | grep -Eq "task $nspid \(host pid $pid\)" ||
			fail "$mode: the error does not name task $nspid (host pid $pid): $out"
		echo "$out" | grep -Eq "$re" || fail "$mode: the error does not give the object and reason ($re): $out"
		[ "$(ct_state "$name")" = running ] || fail "$mode: container is '$(ct_state "$name")' after the refusal"
		[ "$(host_pid "$name")" = "$pid" ] || fail "$mode: host pid changed"
		cg=$(cgroup_dir_of "$pid")
		if [ -n "$cg" ] && [ -f "$cg/cgroup.events" ]; then
			grep -q '^frozen 0$' "$cg/cgroup.events" || fail "$mode: $cg is frozen: $(cat "$cg/cgroup.events")"
		fi
		for tid in "/proc/$pid/task/"*; do
			tid=${tid##*/}
			grep -q '^State:[[:space:]]*[RS]' "/proc/$pid/task/$tid/status" ||
				fail "$mode: thread $tid $(grep '^State:' "/proc/$pid/task/$tid/status")"
			grep -q '^TracerPid:[[:space:]]*0$' "/proc/$pid/task/$tid/status" || fail "$mode: thread $tid still traced"
		done
		t1=$(count_log "$name" '^tick ')
		wait_log_count "$name" '^tick ' $((t1 + 3)) 5
	done
	[ "$(images_count "$name")" = 0 ] || fail "$mode: a refused checkpoint left an image: $(ckctl images "$name")"
	check_no_fail "$name"
	ckctl rm "$name" >/dev/null || fail "rm $name"
}

refused seccompnotif 'seccomp filter 0: a filter that hands calls to a supervisor \(SECCOMP_RET_USER_NOTIF\)'
refused netns 'its own network namespace .*nested namespaces are not supported'
refused utsns 'its own UTS .*nested namespaces are not supported'
refused timens 'a pending time namespace for its children'
refused lease 'fd [0-9]+ \(.*/refuse-lease\): holds a file lock or lease .*LEASE READ.*leases are not supported'
echo "PASS: $TEST_NAME"
