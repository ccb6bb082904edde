#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Connections waiting in a listener's accept queue (tests/workloads/tcppend.c):
# five connections from a client process of the container to two
# listeners (IPv4 and IPv6), none accepted.
# 1. Checkpoint and restart: the restart connects each client end again,
#    in the order they were queued; the server then finds its queues as
#    they were, accepts each connection from the port it expects, in
#    order, and both ends check the bytes of an echo round over each.
#    A second cycle with the connections established.
# 2. --leave-running: the workload accepts and talks on its own
#    connections; the image then restarts (after a kill) with them queued.
# 3. A connection that sent bytes while it waited is refused by name (the
#    listener, the peer's address and port, the bytes) and the workload
#    goes on: it accepts every connection, bytes included, and talks.
. "$(dirname "$0")/lib.sh"

start_ckptd

name=$P-pend
run_wl "$name" "$WL/tcppend"
checkpoint_ct "$name"
restart_ct "$name"
verify_ct "$name" tcppend
log "queued again, accepted in order: $(last_log "$name" '^PASS')"
verify_ct "$name" tcppend
checkpoint_ct "$name"
restart_ct "$name"
verify_ct "$name" tcppend
log "established afterwards: $(last_log "$name" '^PASS')"
ckctl rm "$name" >/dev/null || fail "rm $name"

name=$P-pend-lr
run_wl "$name" "$WL/tcppend"
checkpoint_ct "$name" --leave-running
verify_ct "$name" tcppend
log "leave-running, its own queue: $(last_log "$name" '^PASS')"
pid=$(host_pid "$name")
ckctl kill "$name" >/dev/null || fail "kill $name"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait_state "$name" stopped 10
restart_ct "$name"
verify_ct "$name" tcppend
log "its image, restarted: $(last_log "$name" '^PASS')"
ckctl rm "$name" >/dev/null || fail "rm $name"

name=$P-pend-data
run_wl "$name" "$WL/tcppend" data
port=$(last_log "$name" '^READY' | awk '{ print $6 }')
out=$(ckctl checkpoint "$name" 2>&1) && fail "checkpoint of a queued connection holding bytes succeeded"
log "refused: $out"
echo "$out" | grep -q "socket:\[" || fail "the error does not name the socket: $out"
echo "$out" | grep -q "not accepted yet" || fail "the error does not name the accept queue: $out"
echo "$out" | grep -q "127.0.0.1 port $port holds 6 bytes" || fail "the error does not name the peer $port and its bytes: $out"
expect_state "$name" running
verify_ct "$name" tcppend
log "the workload goes on: $(last_log "$name" '^PASS')"
ckctl rm "$name" >/dev/null || fail "rm $name"
echo "PASS: $TEST_NAME"
