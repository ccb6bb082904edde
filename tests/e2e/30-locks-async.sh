#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# File locks survive a restart, held by their owners: locks.c holds a
# flock, POSIX locks on two ranges (and a child its own), an OFD lock and a
# flock left by a child that exited; a checker it forks on SIGUSR2 must
# find each held by the right owner. With "async", a pipe with O_ASYNC,
# F_SETOWN_EX (a thread) and F_SETSIG must signal that thread after the
# restart. 3 cycles each; then a process outside the container takes the
# flock while the container is checkpointed: the restart fails naming the
# lock and leaves nothing behind, and succeeds once it is released.
. "$(dirname "$0")/lib.sh"

start_ckptd
CYCLES=${CYCLES:-3}
HOLDER=

# take_outside FILE: a process outside the container holds flock(LOCK_EX)
# on FILE (in this test's cgroup, so that cleanup ends it in any case).
take_outside()
{
	rm -f "$TMP/taken"
	(
		echo "$BASHPID" > "${E2E_CGROUPS[0]}/cgroup.procs" || exit 1
		exec setsid flock -n "$1" sh -c "touch $TMP/taken; exec sleep 600"
	) &
	HOLDER=$!
	for _ in $(seq 100); do
		[ -e "$TMP/taken" ] && return 0
		sleep 0.1
	done
	fail "the outside process could not take the flock on $1"
}

release_outside()
{
	kill -- -"$HOLDER" 2>/dev/null
	wait "$HOLDER" 2>/dev/null
	HOLDER=
}

locks_cycles()
{
	local name=$1 mode=$2 c out
	run_ct "$name" "$WL/locks" $mode
	verify_ct "$name" locks
	for c in $(seq "$CYCLES"); do
		checkpoint_ct "$name"
		restart_ct "$name"
		verify_ct "$name" locks
		log "$name: cycle $c ok: $(last_log "$name" '^PASS locks')"
	done
	checkpoint_ct "$name"
	take_outside "$WORK/locks.flock"
	out=$(ckctl restart "$name" 2>&1) && fail "$name: restart succeeded while another process held the flock"
	log "$name: restart refused: $out"
	echo "$out" | grep -Eq "locks\.flock\): re-taking its flock \(LOCK_EX\): another process holds" ||
		fail "$name: the error does not name the lock: $out"
	expect_state "$name" checkpointed
	[ -z "$(host_pid_of "$name")" ] || fail "$name: a failed restart left a host pid"
	release_outside
	restart_ct "$name"
	verify_ct "$name" locks
	ckctl rm "$name" >/dev/null || fail "rm $name"
	rm -f "$WORK"/locks.*
}

locks_cycles "$P-locks" ""
locks_cycles "$P-async" async
echo "PASS: $TEST_NAME"
