#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Job control state below the container's init:
# - stopped tasks (SIGSTOP, SIGTSTP in a group of its own, a stopped
#   two-thread process) come back stopped, every thread in state T, after
#   2 cycles and after a checkpoint with --leave-running; the workload
#   checks they stay still, continues them with SIGCONT (they count
#   again) and stops them again on each verification;
# - a process traced from outside the container (PTRACE_SEIZE by a host
#   process) makes the checkpoint fail naming its tracer, and the container
#   keeps running;
# - a session whose leader exited below a subreaper that is not init (a
#   daemon that forked and exited), with a child in it, and a process group
#   whose leader exited and was reaped, keep their ids, parents, groups and
#   sessions across 2 cycles (the processes check them every 10 ms); such
#   a session below a process that left it after the fork (no subreaper,
#   so nothing could adopt its members back) makes the checkpoint fail
#   naming it, and the container keeps running.
. "$(dirname "$0")/lib.sh"

start_ckptd

# the stopped children of NAME: every thread in state T
check_stopped() {
	local name=$1 pid t s n=0
	for pid in $(tree_host_pids "$name"); do
		[ "$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status")" = "$(host_pid "$name")" ] || continue
		for t in /proc/"$pid"/task/*; do
			s=$(awk '/^State:/ { print $2 }' "$t/status")
			[ "$s" = T ] || fail "$name: thread ${t##*/} of child $pid is in state '$s', not stopped"
			n=$((n + 1))
		done
	done
	[ $n = 4 ] || fail "$name: $n stopped threads, want 4"
}

S=$P-stopped
run_ct "$S" "$WL/jobs" stopped
check_stopped "$S"
verify_ct "$S" "jobs stopped"
for c in 1 2; do
	cr_tree_cycle "$S" "jobs stopped"
	check_stopped "$S"
	log "stopped: cycle $c passed"
done
checkpoint_ct "$S" --leave-running
check_stopped "$S"
verify_ct "$S" "jobs stopped"
check_stopped "$S"
check_no_fail "$S"

# traced from the host: refused, and the container runs on untouched
pid=$(host_pid "$S")
python3 -c '
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
if libc.ptrace(0x4206, int(sys.argv[1]), None, None) != 0:   # PTRACE_SEIZE
    sys.exit("PTRACE_SEIZE: errno %d" % ctypes.get_errno())
print("seized", flush=True)
time.sleep(120)
' "$pid" > "$TMP/tracer.out" &
tracer=$!
for _ in $(seq 50); do grep -q seized "$TMP/tracer.out" && break; sleep 0.1; done
grep -q seized "$TMP/tracer.out" || { kill "$tracer"; fail "could not seize $pid"; }
out=$(ckctl checkpoint "$S" 2>&1) && { kill "$tracer"; fail "checkpoint of a traced task succeeded"; }
kill "$tracer"
wait "$tracer" 2>/dev/null
log "traced: $out"
echo "$out" | grep -Eq "traced by host pid $tracer " || fail "traced: the error does not name the tracer $tracer: $out"
[ "$(ct_state "$S")" = running ] || fail "traced: container is '$(ct_state "$S")' after the refusal"
verify_ct "$S" "jobs stopped"
check_stopped "$S"
ckctl rm "$S" >/dev/null || fail "rm $S"

L=$P-leaders
run_ct "$L" "$WL/jobs" leaders
verify_ct "$L" "jobs leaders"
for c in 1 2; do
	cr_tree_cycle "$L" "jobs leaders"
	log "leaders: cycle $c passed"
done
check_no_fail "$L"
ckctl rm "$L" >/dev/null || fail "rm $L"

# a session left behind below a process that is no subreaper: refused
X=$P-leftsession
run_ct "$X" "$WL/jobs" leftsession
out=$(ckctl checkpoint "$X" 2>&1) && fail "checkpoint of a session left below a non-subreaper succeeded"
log "leftsession: $out"
echo "$out" | grep -Eq "its child [0-9]+ is in session [0-9]+, whose leader exited, and it is no child subreaper" ||
	fail "leftsession: unclear error: $out"
[ "$(ct_state "$X")" = running ] || fail "leftsession: container is '$(ct_state "$X")' after the refusal"
check_tree_running "$X"
verify_ct "$X" "jobs leftsession"
check_no_fail "$X"
ckctl rm "$X" >/dev/null || fail "rm $X"
pass
