#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# TCP connections in the closing states and a connect in progress
# (tests/workloads/tcpclose.c), both ends in the container: FIN_WAIT2 and
# CLOSE_WAIT with bytes unread both ways, FIN_WAIT1 with its FIN behind a
# closed window, LAST_ACK, and SYN_SENT to a listener that drops segments.
# After a checkpoint and restart, each end reads, writes and sees EOF as it
# would have, and the connect completes once segments get through; a second
# cycle saves the states the first check left (CLOSE_WAIT, FIN_WAIT2).
# Then a unix socket whose peer is outside the container (a listener on
# the host that sent bytes not read yet): refused by name, the container
# going on; saved with --external-unix drop, it reads the bytes, then EOF,
# and can't write, as for a peer that hung up.
. "$(dirname "$0")/lib.sh"

start_ckptd
name=$P-tcpst
# its listener's socket filter (SO_ATTACH_FILTER) takes CAP_NET_ADMIN here
run_wl_cap NET_ADMIN "$name" "$WL/tcpclose"
checkpoint_ct "$name"
restart_ct "$name"
verify_ct "$name" tcpclose
log "closing states ok: $(last_log "$name" '^PASS')"
cr_tree_cycle "$name" tcpclose
log "second cycle ok: $(last_log "$name" '^PASS')"
ckctl rm "$name" >/dev/null || fail "rm $name"

"$PYTHON" -c '
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(4)
os.close(1)
c, _ = s.accept()
c.sendall(b"hello from outside")
time.sleep(120)
' "$WORK/outside.sock" >/dev/null &
outside=$!
trap 'rc=$?; kill $outside 2>/dev/null; (exit $rc); e2e_cleanup' EXIT
for _ in $(seq 50); do [ -S "$WORK/outside.sock" ] && break; sleep 0.1; done
name=$P-unixext
run_ct "$name" "$WL/unixext" "$WORK/outside.sock"
out=$(ckctl checkpoint "$name" 2>&1) && fail "checkpoint of a unix socket with a peer outside succeeded"
echo "$out" | grep -Eq 'socket:\[[0-9]+\].*its peer socket:\[[0-9]+\].* is outside the container' ||
	fail "unexpected refusal: $out"
expect_state "$name" running
log "refused: $out"
out=$(ckctl checkpoint "$name" --external-unix bogus 2>&1) && fail "--external-unix bogus was taken"
log "bad rule: $out"
expect_state "$name" running
checkpoint_ct "$name" --external-unix drop
kill "$outside" 2>/dev/null
restart_ct "$name"
verify_ct "$name" unixext
log "external peer dropped: $(last_log "$name" '^PASS')"
ckctl rm "$name" >/dev/null || fail "rm $name"
echo "PASS: $TEST_NAME"
