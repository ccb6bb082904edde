#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Threads: threads.c (8 pthreads under mutexes and condition variables, each
# with __thread state, its own blocked mask and name, blocked in futex,
# nanosleep, read and poll) and py-threads.py (a real python3 with threads,
# a Lock, a Condition, Events and a queue.Queue). Each: 3 x (checkpoint,
# restart), with the same snapshot_tree before and after (the thread count and
# every tid inside the namespace, with the thread names) and a new PASS whose
# counters grew (the workloads check the rest from inside).
. "$(dirname "$0")/lib.sh"

start_ckptd
CYCLES=${CYCLES:-3}

# task_list FILE: "pid tid" of every thread in a snapshot_tree file
task_list() { awk '$1 == "pid" { p = $2 } $1 == "task" { print p, $2 }' "$1"; }

# thread_cycles NAME WORKLOAD NTHREADS SNAPOPTS CMD...
thread_cycles()
{
	local name=$1 wl=$2 nthreads=$3 opts=$4 c n
	shift 4
	log "$wl: run"
	run_ct "$name" "$@"
	sleep 0.5
	verify_ct "$name" "$wl"
	CR_CYCLES=0
	for c in $(seq "$CYCLES"); do
		# shellcheck disable=SC2086
		cr_tree_cycle "$name" "$wl" $opts
		n=$(task_list "$TMP/$name.tree.after.$c" | wc -l)
		[ "$n" = "$nthreads" ] || fail "$wl: $n threads after restart $c, want $nthreads"
		diff <(task_list "$TMP/$name.tree.before.$c") <(task_list "$TMP/$name.tree.after.$c") >&2 ||
			fail "$wl: the tids inside the namespace changed (cycle $c)"
		# the tids the workload printed at READY are the ones it has now
		[ "$(last_log "$name" "^PASS $wl" | sed -n 's/.* tids:\([0-9,]*\).*/\1/p')" = \
		  "$(last_log "$name" '^READY' | sed -n 's/.* tids:\([0-9,]*\).*/\1/p')" ] ||
			fail "$wl: tids at READY and now differ"
		sleep 0.3
		fail_if_failed "$name"
		log "$wl: cycle $c ok: $(last_log "$name" "^PASS $wl")"
	done
	ckctl rm "$name" >/dev/null || fail "rm $name"
}

# main spends its time in sigtimedwait, which unblocks SIGUSR2 while it
# waits: its SigBlk flickers, so the snapshot leaves SigBlk to the workload
# (it checks every thread's mask itself, and /proc's SigBlk of the others).
thread_cycles "$P-threads" threads 9 nosigblk "$WL/threads"
thread_cycles "$P-py" py-threads 9 "" "$PYTHON" -u "$REPO/tests/workloads/py-threads.py"
echo "PASS: $TEST_NAME"
