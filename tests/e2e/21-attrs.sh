#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Task attributes: attrs.c sets every per-process and per-thread knob the
# census (docs/census.md) says is restored to a value that isn't the
# default, different in each of its 3 threads, and checks them from inside
# on SIGUSR2. 3 x (checkpoint, restart, verify), then one --leave-running
# checkpoint restarted after a kill; each time the host's view of the
# threads (chrt -p, taskset -p, ionice -p, nice, /proc/PID/oom_score_adj,
# coredump_filter, loginuid) must be what it was before. The "sched" mode
# does the same with SCHED_FIFO and SCHED_RR threads.
. "$(dirname "$0")/lib.sh"

start_ckptd
CYCLES=${CYCLES:-3}

# outside NAME OUT: what the host sees of every thread, by tid in the container
outside()
{
	local pid t ns
	pid=$(host_pid "$1")
	[ -n "$pid" ] || fail "$1: no host pid"
	{
		for t in $(ls "/proc/$pid/task" | sort -n); do
			ns=$(awk '/^NSpid:/ { print $NF }' "/proc/$pid/task/$t/status")
			echo "thread $ns: $(chrt -p "$t" | sed 's/^pid [0-9]*.s //' | tr '\n' ' ')"
			echo "thread $ns: $(taskset -p "$t" | sed 's/^pid [0-9]*.s //')"
			echo "thread $ns: ionice $(ionice -p "$t")"
			echo "thread $ns: nice $(awk '{ print $19 }' "/proc/$pid/task/$t/stat")"
		done
		for f in oom_score_adj coredump_filter loginuid; do
			echo "$f $(cat "/proc/$pid/$f")"
		done
	} > "$2" || fail "reading the host's view of $1"
}

expect_outside()
{
	grep -q "$2" "$1" || fail "host view: no '$2' in $(cat "$1")"
}

attr_cycles()
{
	local name=$1 mode=$2 c pid
	# real-time policies, loginuid, ...: beyond root's default set
	# shellcheck disable=SC2086
	ckctl run "$name" --cwd "$WORK" --privileged -- "$WL/attrs" $mode >/dev/null || fail "run $name"
	wait_log "$name" '^READY' 30
	verify_ct "$name" attrs
	outside "$name" "$TMP/$name.out.0"
	expect_outside "$TMP/$name.out.0" "^oom_score_adj 321$"
	expect_outside "$TMP/$name.out.0" "^coredump_filter 0000001f$"
	if [ "$mode" = sched ]; then
		expect_outside "$TMP/$name.out.0" "current scheduling policy: SCHED_RR .*priority: 2"
		expect_outside "$TMP/$name.out.0" "current scheduling policy: SCHED_FIFO .*priority: 3"
	else
		expect_outside "$TMP/$name.out.0" "current scheduling policy: SCHED_BATCH"
		expect_outside "$TMP/$name.out.0" "current scheduling policy: SCHED_IDLE"
		expect_outside "$TMP/$name.out.0" "SCHED_RESET_ON_FORK"
		expect_outside "$TMP/$name.out.0" "ionice idle"
		expect_outside "$TMP/$name.out.0" "nice 7$"
	fi
	for c in $(seq "$CYCLES"); do
		checkpoint_ct "$name"
		restart_ct "$name"
		outside "$name" "$TMP/$name.out.$c"
		diff -u "$TMP/$name.out.0" "$TMP/$name.out.$c" >&2 || fail "$name: the host's view changed (cycle $c, diff above)"
		verify_ct "$name" attrs
		log "$name: cycle $c ok: $(last_log "$name" '^PASS attrs')"
	done
	# --leave-running: still right, and so is the image once restarted
	pid=$(host_pid "$name")
	checkpoint_ct "$name" --leave-running
	[ "$(host_pid "$name")" = "$pid" ] || fail "$name: host pid changed with --leave-running"
	verify_ct "$name" attrs
	outside "$name" "$TMP/$name.out.lr"
	diff -u "$TMP/$name.out.0" "$TMP/$name.out.lr" >&2 || fail "$name: the host's view changed after --leave-running"
	ckctl kill "$name" >/dev/null || fail "kill $name"
	wait_state "$name" stopped 10
	restart_ct "$name"
	outside "$name" "$TMP/$name.out.lr2"
	diff -u "$TMP/$name.out.0" "$TMP/$name.out.lr2" >&2 || fail "$name: the host's view changed (--leave-running image)"
	verify_ct "$name" attrs
	ckctl logs "$name" | grep '^skip' | sort -u | while read -r l; do log "$name: $l"; done
	ckctl rm "$name" >/dev/null || fail "rm $name"
}

attr_cycles "$P-attrs" ""
attr_cycles "$P-attrs-rt" sched
echo "PASS: $TEST_NAME"
