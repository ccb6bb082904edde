#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# More of the accept queue (tests/workloads/tcppend.c, 69-tcp-pending).
# 1. A connection that waits in the queue with its client's FIN (the
#    client shut its writing side: CLOSE_WAIT, the client in FIN_WAIT2),
#    among four open ones: checkpoint and restart; the server accepts the
#    five in order, the half-closed one reads EOF at once, then rounds of
#    bytes go through each (the half-closed one's one way). A second cycle
#    with them accepted.
. "$(dirname "$0")/lib.sh"

start_ckptd

name=$P-fin
run_wl "$name" "$WL/tcppend" fin
checkpoint_ct "$name"
restart_ct "$name"
verify_ct "$name" tcppend
log "queued again with its FIN, accepted in order: $(last_log "$name" '^PASS')"
checkpoint_ct "$name"
restart_ct "$name"
verify_ct "$name" tcppend
log "accepted, half-closed afterwards: $(last_log "$name" '^PASS')"
ckctl rm "$name" >/dev/null || fail "rm $name"

echo "PASS: $TEST_NAME"
