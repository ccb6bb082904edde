#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# POSIX timers survive checkpoint and restart with their ids:
# - the ptimers workload (a periodic SIGEV_SIGNAL timer, a periodic
#   SIGEV_THREAD_ID timer to its second thread, a one-shot SIGEV_NONE timer
#   1000 s away): 3 x (checkpoint, restart); after each, the same tree, and
#   the workload checks every kept id still answers timer_gettime, the
#   periodic ones tick at their intervals to the right thread with the right
#   id and value, and the one-shot one's time left went down by the time the
#   container ran (the test writes the summed downtime window for it);
# - a timer on a thread's CPU-time clock is refused at checkpoint, naming
#   the timer and why, and the workload keeps running and passing;
# - coreutils timeout (a POSIX timer on CLOCK_REALTIME): `timeout 30 sleep
#   25` ends with sleep after 25 s plus the downtime, status 0, and
#   `timeout 6 sleep 60` kills sleep 6 s plus the downtime after it started,
#   status 124; both checkpointed ~3 s in and restarted ~2 s later.
. "$(dirname "$0")/lib.sh"

start_ckptd
CYCLES=${CYCLES:-3}
TIMEOUT=$(command -v timeout) || skip "no coreutils timeout"
SLEEP=$(command -v sleep)

# --- ptimers ---------------------------------------------------------------
W=$P-ptimers
run_ct "$W" "$WL/ptimers" window
verify_ct "$W" ptimers
lo=0 hi=0
for c in $(seq "$CYCLES"); do
	snapshot_tree "$W" "$TMP/$W.before.$c" nosigblk
	t0=$(now_ms); checkpoint_ct "$W"; t1=$(now_ms)
	[ -z "$(tree_host_pids "$W")" ] || fail "$W: checkpointed, but processes are left"
	sleep 1
	r0=$(now_ms); restart_ct "$W"; r1=$(now_ms)
	lo=$(( lo + r0 - t1 )) hi=$(( hi + r1 - t0 ))
	echo "$lo $hi" > "$WORK/window"
	snapshot_tree "$W" "$TMP/$W.after.$c" nosigblk
	same_snap "$TMP/$W.before.$c" "$TMP/$W.after.$c" "$W cycle $c"
	verify_ct "$W" ptimers
	pass_grew "$W" ptimers
	log "ptimers: cycle $c ok (downtime $lo..$hi ms so far): $(last_log "$W" '^PASS ptimers')"
done
ckctl rm "$W" >/dev/null || fail "rm $W"

# --- refused: a thread's CPU-time clock ----------------------------------
R=$P-thread-cpu
run_ct "$R" "$WL/ptimers" no-window thread-cpu
out=$(ckctl checkpoint "$R" 2>&1) && fail "$R: checkpoint succeeded"
echo "$out" | grep -q "POSIX timer [0-9]*: clock -2: it counts a thread's CPU time" ||
	fail "$R: checkpoint failed, but not as expected: $out"
log "$R: refused: $out"
expect_state "$R" running
verify_ct "$R" ptimers
ckctl rm "$R" >/dev/null || fail "rm $R"

# --- coreutils timeout -----------------------------------------------------
A=$P-timeout-ok B=$P-timeout-kill
t_a=$(now_ms)
ckctl run "$A" --cwd "$WORK" -- /bin/sh -c "$TIMEOUT 30 $SLEEP 25; echo EXIT \$?" >/dev/null || fail "run $A"
t_b=$(now_ms)
ckctl run "$B" --cwd "$WORK" -- /bin/sh -c "$TIMEOUT 6 $SLEEP 60; echo EXIT \$?" >/dev/null || fail "run $B"
sleep 3
declare -A c0 c1
for ct in "$B" "$A"; do
	[ "$(state_of "$ct")" = running ] || fail "$ct ended before its checkpoint"
	c0[$ct]=$(now_ms); checkpoint_ct "$ct"; c1[$ct]=$(now_ms)
done
sleep 2
declare -A dlo dhi
for ct in "$B" "$A"; do
	r0=$(now_ms); restart_ct "$ct"; r1=$(now_ms)
	dlo[$ct]=$(( r0 - ${c1[$ct]} )) dhi[$ct]=$(( r1 - ${c0[$ct]} ))
done

# wait_end NAME T_START SECONDS STATUS: the container's log says EXIT STATUS
# SECONDS plus its downtime after T_START (seen within a 0.1 s poll)
wait_end() {
	local ct=$1 t=$2 s=$3 st=$4 end took lo hi
	end=$(( $(now_ms) + s * 1000 + 30000 ))
	while ! logs "$ct" | grep '^EXIT' >/dev/null; do
		[ "$(now_ms)" -lt "$end" ] || fail "$ct: still running"
		sleep 0.1
	done
	took=$(( $(now_ms) - t ))
	lo=$(( s * 1000 + ${dlo[$ct]} - 100 ))
	hi=$(( s * 1000 + ${dhi[$ct]} + 1000 ))
	[ "$(last_log "$ct" '^EXIT')" = "EXIT $st" ] || fail "$ct: $(last_log "$ct" '^EXIT'), want EXIT $st"
	[ "$took" -ge "$lo" ] && [ "$took" -le "$hi" ] || fail "$ct: ended after $took ms, want $lo..$hi"
	log "$ct: EXIT $st after $took ms (want $lo..$hi)"
}
wait_end "$B" "$t_b" 6 124
wait_end "$A" "$t_a" 25 0
pass
