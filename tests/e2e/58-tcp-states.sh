#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# TCP connections in the closing states and a connect in progress
# (tests/workloads/tcpclose.c), both ends in the container: FIN_WAIT2 and
# CLOSE_WAIT with bytes unread both ways, FIN_WAIT1 with its FIN behind a
# closed window, LAST_ACK, and SYN_SENT to a listener that drops segments.
# After a checkpoint and restart, each end reads, writes and sees EOF as it
# would have, and the connect completes once segments get through; a second
# cycle saves the states the first check left (CLOSE_WAIT, FIN_WAIT2).
. "$(dirname "$0")/lib.sh"

start_ckptd
name=$P-tcpst
run_ct "$name" "$WL/tcpclose"
checkpoint_ct "$name"
restart_ct "$name"
verify_ct "$name" tcpclose
log "closing states ok: $(last_log "$name" '^PASS')"
cr_tree_cycle "$name" tcpclose
log "second cycle ok: $(last_log "$name" '^PASS')"
ckctl rm "$name" >/dev/null || fail "rm $name"
echo "PASS: $TEST_NAME"
