#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What the engine can't checkpoint yet is refused with an error that names
# the task and the reason, and the container keeps running unfrozen:
# a socket, a fanotify group, a POSIX timer on a thread's CPU clock, two processes sharing an fd table,
# syscall user dispatch, a NUMA memory policy.
. "$(dirname "$0")/lib.sh"

start_ckptd

# With --json the refusal is also an object on stdout whose fields name
# the task (in the container and on the host) and the reason.
json_error()
{
	local name=$1 mode=$2 out
	out=$(ckctl --json checkpoint "$name" 2>/dev/null) && fail "$mode: --json checkpoint succeeded"
	echo "$out" | "$PYTHON" -c '
import json, sys
e = json.load(sys.stdin)["error"]
assert e["code"] == "ERR_UNSUPPORTED", e
assert e["task_pid"] >= 1 and e["task_host_pid"] > 1, e
assert e["reason"] and e["message"], e
' || fail "$mode: --json error lacks its fields: $out"
	log "$mode --json: $out"
}

refused()
{
	local mode=$1 re=$2 name=$P-$1 out pid cg t1 flag
	shift 2
	# a fanotify group needs CAP_SYS_ADMIN, outside root's default set
	if [ "$mode" = fanotify ]; then
		ckctl run "$name" --cwd "$WORK" --cap-add SYS_ADMIN -- "$WL/refuse" "$mode" >/dev/null || fail "run $name"
		wait_log "$name" '^READY' 30
	else
		run_ct "$name" "$WL/refuse" "$mode"
	fi
	pid=$(host_pid "$name")
	for flag in "" --leave-running "-o $TMP/$mode.img"; do
		# shellcheck disable=SC2086
		out=$(ckctl checkpoint "$name" $flag 2>&1) && fail "checkpoint $flag of '$mode' succeeded"
		echo "$out" | grep -q "^ckptctl: checkpoint: " || fail "$mode: not a clear error: $out"
		echo "$out" | grep -Eq "task [0-9]+" || fail "$mode: error does not name the task: $out"
		echo "$out" | grep -Eqi "$re" || fail "$mode: error does not give the reason ($re): $out"
		log "$mode ${flag:-(store)}: $out"
		[ "$(ct_state "$name")" = running ] || fail "$mode: container is '$(ct_state "$name")' after the refusal"
		[ "$(host_pid "$name")" = "$pid" ] || fail "$mode: host pid changed"
		kill -0 "$pid" 2>/dev/null || fail "$mode: workload died"
		cg=$(cgroup_dir_of "$pid")
		if [ -n "$cg" ] && [ -f "$cg/cgroup.events" ]; then
			grep -q '^frozen 0$' "$cg/cgroup.events" || fail "$mode: $cg is frozen: $(cat "$cg/cgroup.events")"
		fi
		grep -q '^State:[[:space:]]*[RS]' "/proc/$pid/status" ||
			fail "$mode: workload $(grep '^State:' "/proc/$pid/status")"
		grep -q '^TracerPid:[[:space:]]*0$' "/proc/$pid/status" || fail "$mode: workload still traced"
		t1=$(count_log "$name" '^tick ')
		wait_log_count "$name" '^tick ' $((t1 + 3)) 5
	done
	json_error "$name" "$mode"
	[ "$(images_count "$name")" = 0 ] || fail "$mode: a refused checkpoint left an image: $(ckctl images "$name")"
	ckctl rm "$name" >/dev/null || fail "rm $name"
}

refused socket 'socket'
refused fanotify 'fd [0-9]+ \(fanotify\): an inode mark with permission events'
refused timer "timer .*: clock -2: it counts a thread's CPU time"
refused sharedfiles 'fd table|CLONE_FILES'
refused sud 'syscall user dispatch.*not supported'
refused mempolicy 'NUMA memory policy.*not supported'
refused vmapolicy 'NUMA memory policy \(mbind\).*mapping at 0x[0-9a-f]+ has policy.*not supported'
echo "PASS: $TEST_NAME"
