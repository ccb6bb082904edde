#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# SysV semaphores and the waits a stop ends with EINTR:
# - the semundo workload: a process holding a mutex semaphore and a counter
#   through its SEM_UNDO list, checkpointed with --leave-running (the list
#   is read by applying it and made again in the live process), then twice
#   checkpointed and restarted: each time its exit releases the mutex and
#   takes back its part of the counter exactly, and the values are right
#   before (the workload checks, a new holder for each cycle);
# - the waits workload: processes asleep in epoll_wait, epoll_pwait and
#   epoll_pwait2 (20 s each), semtimedop (20 s), semop and epoll_wait
#   without timeout, checkpointed 8 s in and restarted at once: the timed
#   ones wake when they would have without the checkpoint (about 12 s
#   after the restart, counting only the time the container ran) with
#   their own result (0, EAGAIN), the others when the workload releases
#   them; none sees EINTR (each checks itself on the container's clock,
#   the test on the wall clock);
# - a POSIX timer whose last signal came with overruns
#   (timer_getoverrun() non-zero, which no call can set again) makes the
#   checkpoint fail naming the timer, and the container keeps running.
. "$(dirname "$0")/lib.sh"

start_ckptd --log-level debug
TIMED_MS=20000 AT_MS=8000

# --- an undo list ----------------------------------------------------------
U=$P-semundo
run_ct "$U" "$WL/semundo"
id=$(last_log "$U" '^READY semundo' | sed 's/.*id=//')
checkpoint_ct "$U" --leave-running
verify_ct "$U" "semundo id=$id\$"
log "semundo: left running, the list still applies"
for c in 1 2; do
	checkpoint_ct "$U"
	restart_ct "$U"
	verify_ct "$U" "semundo id=$id\$"
	log "semundo: cycle $c: the restored list applies"
done
fail_if_failed "$U"
ckctl rm "$U" >/dev/null || fail "rm $U"

# --- waits that a stop ends with EINTR ---------------------------------------
W=$P-waits
t_run=$(now_ms)
run_ct "$W" "$WL/waits" timeouts
t_ready=$(now_ms)
wait_ms=$(( t_run + AT_MS - $(now_ms) ))
[ "$wait_ms" -gt 0 ] && sleep "$(printf '%d.%03d' $(( wait_ms / 1000 )) $(( wait_ms % 1000 )))"
c0=$(now_ms); checkpoint_ct "$W"; c1=$(now_ms)
r0=$(now_ms); restart_ct "$W"; r1=$(now_ms)
# The children started between t_run and t_ready and were frozen between
# c0 and c1; they go on between r0 and r1.
lo=$(( r0 + TIMED_MS - (c1 - t_run) - 100 ))
hi=$(( r1 + TIMED_MS - (c0 - t_ready) + 1000 ))
log "checkpointed $(( c0 - t_run ))..$(( c1 - t_run )) ms in; restarted in $(( r1 - r0 )) ms"
# when each timed wait's DONE line first showed up, within a poll of 0.1 s
woke_at() { echo "$woke" | sed -n "s/^$1=//p"; }
woke='' n=0
end=$(( $(now_ms) + TIMED_MS + 10000 ))
while [ "$n" -lt 4 ]; do
	[ "$(now_ms)" -lt "$end" ] || fail "$W: timed waits still asleep long after their timeout: $(logs "$W" | grep DONE)"
	t=$(now_ms) l=$(logs "$W")
	for k in epoll pwait2 pwait semtimed; do
		[ -n "$(woke_at "$k")" ] && continue
		echo "$l" | grep -q "^DONE $k " && woke="$woke$k=$t"$'\n' && n=$(( n + 1 ))
	done
	sleep 0.1
done
for k in epoll pwait2 pwait semtimed; do
	t=$(woke_at "$k")
	[ "$t" -ge "$lo" ] && [ "$t" -le "$hi" ] ||
		fail "$W: $k woke $(( t - r1 )) ms after the restart, want $(( lo - r1 ))..$(( hi - r1 )): $(last_log "$W" "^DONE $k ")"
	log "$k woke $(( t - r1 )) ms after the restart: $(last_log "$W" "^DONE $k ")"
done
wait_log "$W" '^PASS waits timeouts' 30
fail_if_failed "$W"
[ "$(count_log "$W" '^DONE ')" = 6 ] || fail "$W: $(count_log "$W" '^DONE ') children reported, want 6: $(logs "$W")"
ckctl rm "$W" >/dev/null || fail "rm $W"

# --- refused: a POSIX timer's overrun ----------------------------------------
O=$P-overrun
run_ct "$O" "$WL/waits" overrun
out=$(ckctl checkpoint "$O" 2>&1) && fail "$O: checkpoint succeeded"
echo "$out" | grep -Eq "POSIX timer [0-9]+: its last signal came with an overrun of [1-9]" ||
	fail "$O: checkpoint failed, but not naming the timer's overrun: $out"
log "$O: refused: $out"
expect_state "$O" running
n=$(count_log "$O" '^tick')
wait_log_count "$O" '^tick' $(( n + 2 )) 10
fail_if_failed "$O"
ckctl rm "$O" >/dev/null || fail "rm $O"
pass
