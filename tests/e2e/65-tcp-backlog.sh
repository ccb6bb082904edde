#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# TCP at scale and the accept queue.
# 1. ckptd with an fd limit of 2048 restarts a container holding 1,500
#    established loopback connections (3,000 sockets, in three processes
#    of 1,000: bench/tcpconns): the restart hands each task its own
#    connections a chunk at a time, so neither the worker nor init needs
#    more fds than one task has. Every connection delivers the bytes in
#    flight and answers after the restart, twice.
# 2. A listener with a connection not accepted yet is refused by name and
#    the container goes on running.
. "$(dirname "$0")/lib.sh"

[ -x "$BUILD/bench/tcpconns" ] || skip "no $BUILD/bench/tcpconns"
[ -n "$PYTHON" ] || skip "no python3"
# ckptd and everything it starts get 2048 fds at most (hard limit: root
# here can't raise it back)
ulimit -Sn 2048 && ulimit -Hn 2048 || fail "lowering the fd limit"
start_ckptd

name=$P-conns
run_wl "$name" "$BUILD/bench/tcpconns" 1500 500
checkpoint_ct "$name"
restart_ct "$name"
verify_ct "$name" tcpconns
log "1500 connections under a limit of 2048 fds: $(last_log "$name" '^PASS')"
checkpoint_ct "$name"
restart_ct "$name"
verify_ct "$name" tcpconns
log "second cycle: $(last_log "$name" '^PASS')"
ckctl rm "$name" >/dev/null || fail "rm $name"

name=$P-backlog
# shellcheck disable=SC2016
ckctl run "$name" --cwd "$WORK" -- "$PYTHON" -c '
import socket, time
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(4)
c = socket.create_connection(l.getsockname())
print("READY backlog", flush=True)
while True:
    time.sleep(1)
' >/dev/null || fail "run $name"
wait_log "$name" '^READY' 30
out=$(ckctl checkpoint "$name" 2>&1) && fail "checkpoint of a listener with a connection not accepted succeeded"
echo "$out" | grep -q 'listening TCP socket with 1 connections not accepted yet' || fail "unexpected refusal: $out"
expect_state "$name" running
log "refused: $out"
ckctl rm "$name" >/dev/null || fail "rm $name"
echo "PASS: $TEST_NAME"
