#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Sleeping calls wake when they would have without the checkpoint, counting
# only the time the container ran:
# - coreutils `sleep 10`, checkpointed after ~4 s and restarted ~3 s later,
#   exits 10 s plus the downtime after it started, not 10 s after restart;
# - the sleepers workload (threads in nanosleep with and without rem,
#   clock_nanosleep, poll, ppoll, select, futex, semtimedop, and absolute
#   clock_nanosleep and FUTEX_WAIT_BITSET; 8 s each), the same way: each
#   thread checks its own time against 8 s plus the downtime window the
#   test writes for it, and those the kernel continues through a restart
#   block must end within a second of each other;
# - the same workload through checkpoint --leave-running: nothing changes.
# The three run side by side to keep the test short.
. "$(dirname "$0")/lib.sh"

start_ckptd --log-level debug
SEMKEY=$(( 0x24000000 + $$ % 65536 ))

SLEEP=$(command -v sleep)
A=$P-sleep B=$P-sleepers C=$P-leave D=$P-sem
SLEEP_S=10 MS=8000

# checkpoint_timed / restart_timed NAME [ARGS]: T0, T1 = start and end in ms
checkpoint_timed() {
	[ "$(state_of "$1")" = running ] || fail "$1 ended before its checkpoint: too slow a machine for its timeout"
	T0=$(now_ms)
	checkpoint_ct "$@"
	T1=$(now_ms)
}
restart_timed() { T0=$(now_ms); restart_ct "$@"; T1=$(now_ms); }

# All three start together; the checkpoints come ~3.5 s into their
# timeouts, so that sleeping the whole timeout again after the restart
# would be seconds late, yet before any could end on a loaded machine.
t_b=$(now_ms)
run_ct "$B" "$WL/sleepers" "$MS" window 0
# semtimedop alone in a process without threads (one with threads has an
# undo list, refused in a container with semaphore sets)
run_ct "$D" "$WL/sleepers" "$MS" window-d "$SEMKEY" semonly
t_a=$(now_ms)
ckctl run "$A" --cwd "$WORK" -- "$SLEEP" "$SLEEP_S" >/dev/null || fail "run $A"
run_ct "$C" "$WL/sleepers" "$MS" no-window 0
wait_ms=$(( t_b + 3500 - $(now_ms) ))
[ "$wait_ms" -gt 0 ] && sleep "$(printf '%d.%03d' $(( wait_ms / 1000 )) $(( wait_ms % 1000 )))"
checkpoint_timed "$B"; cb0=$T0 cb1=$T1
checkpoint_timed "$D"; cd0=$T0 cd1=$T1
checkpoint_timed "$A"; ca0=$T0 ca1=$T1
checkpoint_timed "$C" --leave-running
sleep 2
restart_timed "$B"; rb0=$T0 rb1=$T1
# its semtimedop ends with EINTR at the freeze, so it may end at once
rd0=$(now_ms); ckctl restart "$D" >/dev/null || fail "restart $D"; rd1=$(now_ms)
restart_timed "$A"; ra0=$T0 ra1=$T1
# what the sleepers count as downtime: at least from the end of the
# checkpoint to the start of the restart, at most from start to end
echo "$(( rb0 - cb1 )) $(( rb1 - cb0 ))" > "$WORK/window"
echo "$(( rd0 - cd1 )) $(( rd1 - cd0 ))" > "$WORK/window-d"
log "downtime $A $(( ra0 - ca1 ))..$(( ra1 - ca0 )) ms, $B $(( rb0 - cb1 ))..$(( rb1 - cb0 )) ms"

# sleep ends SLEEP_S plus its downtime after it started (it started after
# t_a; its end is seen within a poll of 0.1 s)
end=$(( $(now_ms) + 30000 ))
while [ "$(state_of "$A")" = running ]; do
	[ "$(now_ms)" -lt "$end" ] || fail "$A: still running 30 s after its restart"
	sleep 0.1
done
took=$(( $(now_ms) - t_a ))
lo=$(( SLEEP_S * 1000 + ra0 - ca1 - 100 ))
hi=$(( SLEEP_S * 1000 + ra1 - ca0 + 1000 ))
[ "$took" -ge "$lo" ] && [ "$took" -le "$hi" ] ||
	fail "$A: sleep $SLEEP_S took $took ms, want $lo..$hi"
log "$A: sleep $SLEEP_S took $took ms (want $lo..$hi)"

for ct in "$B" "$C" "$D"; do
	wait_log "$ct" '^DONE sleepers' 20
	fail_if_failed "$ct"
done
# one PASS a thread, one for the calls that must end together
[ "$(count_log "$B" '^PASS sleepers')" = 11 ] || fail "$B: $(count_log "$B" '^PASS sleepers') PASS lines, want 10 + 1"
[ "$(count_log "$D" '^PASS sleepers semtimedop')" = 1 ] || fail "$D: semtimedop did not pass: $(logs "$D")"
[ "$(count_log "$C" '^PASS sleepers')" = 11 ] || fail "$C: $(count_log "$C" '^PASS sleepers') PASS lines, want 10 + 1"
logs "$B" | grep '^PASS' >&2
pass
