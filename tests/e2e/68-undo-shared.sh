#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A SysV undo list (SEM_UNDO) shared by the threads of one process (the
# semshared workload: four threads, each with its own semop() with
# SEM_UNDO, one list; its parent checks the values):
# - checkpoint --leave-running refuses it by name (reading a shared list
#   applies it, and no call shares it between threads again), and the
#   container runs on with its list: a thread's exit applies nothing of it,
#   the process's exit all of it;
# - checkpoint --check does not refuse it: a checkpoint that ends the
#   container reads it;
# - twice checkpointed and restarted: the restored threads share one list
#   with the same adjustments (checked the same way after each restart);
# - a checkpoint that fails after the list was read (CKPTD_FAULT=ckpt-tail)
#   says that its threads share it no more, and the main thread holds it:
#   the process's exit still applies it exactly;
# - a list shared by two processes (clone with CLONE_SYSVSEM, no
#   CLONE_VM) is refused by name, and the container runs on.
. "$(dirname "$0")/lib.sh"

start_ckptd --log-level debug

S=$P-shared
run_ct "$S" "$WL/semshared"
id=$(last_log "$S" '^READY semshared' | sed 's/.*id=//')

out=$(ckctl checkpoint "$S" --leave-running 2>&1) && fail "$S: checkpoint --leave-running succeeded"
echo "$out" | grep -Eq "task [0-9]+ .*thread [0-9]+: SysV semaphore undo list: its threads share one.*not --leave-running" ||
	fail "$S: --leave-running failed, but not naming the shared undo list: $out"
log "--leave-running: refused: $out"
expect_state "$S" running
[ "$(images_count "$S")" = 0 ] || fail "$S: a refused checkpoint left an image"
verify_ct "$S" "semshared id=$id\$"
log "refused, the list is still shared and applies at the process's exit"

out=$(ckctl checkpoint "$S" --check 2>&1) || fail "$S: checkpoint --check refused: $out"
expect_state "$S" running
verify_ct "$S" "semshared id=$id\$"
log "--check: nothing refused, the list untouched"

for c in 1 2; do
	checkpoint_ct "$S"
	restart_ct "$S"
	verify_ct "$S" "semshared id=$id\$"
	log "cycle $c: the restored threads share the list, and it applies at the process's exit"
done
fail_if_failed "$S"
ckctl rm "$S" >/dev/null || fail "rm $S"

R=$P-procs
run_ct "$R" "$WL/semshared" procs
out=$(ckctl checkpoint "$R" 2>&1) && fail "$R: checkpoint succeeded"
echo "$out" | grep -Eq "thread [0-9]+: SysV semaphore undo list: task [0-9]+ shares it \(clone with CLONE_SYSVSEM\)" ||
	fail "$R: checkpoint failed, but not naming the list shared by processes: $out"
log "shared by processes: refused: $out"
expect_state "$R" running
[ "$(images_count "$R")" = 0 ] || fail "$R: a refused checkpoint left an image"
verify_ct "$R" "semshared-procs"
ckctl rm "$R" >/dev/null || fail "rm $R"
ckptd_stop

# --- a failure after the list was read ----------------------------------------
export CKPTD_FAULT=ckpt-tail
start_ckptd --log-level debug
F=$P-fault
run_ct "$F" "$WL/semshared"
id=$(last_log "$F" '^READY semshared' | sed 's/.*id=//')
out=$(ckctl checkpoint "$F" 2>&1) && fail "$F: checkpoint succeeded at a fault"
echo "$out" | grep -q "fault injected at ckpt-tail" || fail "$F: unexpected error: $out"
echo "$out" | grep -Eq "task [0-9]+'s threads left the SEM_UNDO list they shared.*main thread alone holds it again.*share it no more" ||
	fail "$F: the error does not say what became of the shared list: $out"
log "failed after the list was read: $out"
expect_state "$F" running
[ "$(images_count "$F")" = 0 ] || fail "$F: a failed checkpoint left an image"
n=$(count_log "$F" '^PASS semshared-exit')
ckctl kill "$F" --signal HUP >/dev/null || fail "kill -HUP $F"
wait_log_count "$F" "^PASS semshared-exit id=$id\$" $(( n + 1 )) 60
fail_if_failed "$F"
log "the main thread holds the whole list: the process's exit applies it"
ckctl rm "$F" >/dev/null || fail "rm $F"
ckptd_stop
unset CKPTD_FAULT
pass
