#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ckptd restart (SIGTERM, start again on the same state dir) keeps the
# container list and the running container: same workload, same host pid,
# still counting, and the new ckptd can checkpoint and restart it. A
# checkpointed container and its stored image survive too.
. "$(dirname "$0")/lib.sh"

start_ckptd
run=$P-run
ck=$P-ck
run_ct "$run" "$WL/counter"
run_ct "$ck" "$WL/signals"
checkpoint_ct "$ck"
wait_log "$run" '^counter 100$' 10
pid=$(host_pid "$run")

ckptd_stop
kill -0 "$pid" 2>/dev/null || fail "the workload (host pid $pid) died with ckptd"
ckptd_start
[ "$(ct_state "$run")" = running ] || fail "$run is '$(ct_state "$run")' after the ckptd restart"
[ "$(host_pid "$run")" = "$pid" ] || fail "$run: host pid $(host_pid "$run"), was $pid"
[ "$(ct_state "$ck")" = checkpointed ] || fail "$ck is '$(ct_state "$ck")' after the ckptd restart"
[ "$(images_count "$ck")" = 1 ] || fail "$ck lost its image: $(ckctl images "$ck")"
c=$(count_log "$run" '^counter ')
wait_log_count "$run" '^counter ' $((c + 2)) 10
verify_ct "$run" counter

cr_cycle "$run" nomaps
restart_ct "$ck"
kill -USR1 "$(host_pid "$ck")"
wait_log "$ck" '^usr1 count=1$' 10
verify_ct "$ck" signals

# the workload's exit is noticed by the new ckptd too
ckctl kill "$run" >/dev/null || fail "kill $run"
wait_state "$run" stopped 10
echo "PASS: $TEST_NAME"
