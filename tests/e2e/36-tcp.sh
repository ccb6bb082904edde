#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# TCP sockets (tests/workloads/tcpsk.c): listeners on 127.0.0.1, [::1]
# and dual-stack [::], an echo pair on each, with bytes in flight both ways (in receive
# queues, and in a send queue behind a closed window), options set on both
# ends, SO_PEEK_OFF moved by a peek, a connection shut for reading. Two
# cycles through the store, a --leave-running checkpoint (the
# connections go on, then that image restarts), and `checkpoint -o - |
# restart -i -`; after each, the workload checks every byte end to end, its
# options and addresses, and that its listeners accept new connections.
# Then what is refused, by name, with the container left running: a
# listener with a connection not accepted yet that holds a byte, a
# connection in CLOSE_WAIT.
. "$(dirname "$0")/lib.sh"

start_ckptd

# tcpsk attaches a socket filter (SO_ATTACH_FILTER), which this kernel
# allows only with CAP_NET_ADMIN: outside root's default set
run_tcpsk() {
	local name=$1
	shift
	ckctl run "$name" --cwd "$WORK" --cap-add NET_ADMIN "$@" >/dev/null || fail "run $name $*"
	wait_log "$name" '^READY' 30
	expect_state "$name" running
}
name=$P-tcp
run_tcpsk "$name" -- "$WL/tcpsk"
verify_ct "$name" tcpsk
for c in 1 2; do
	cr_tree_cycle "$name" tcpsk
	log "cycle $c ok: $(last_log "$name" '^PASS')"
done

# --leave-running: the connections go on; then the image restarts
checkpoint_ct "$name" --leave-running
verify_ct "$name" tcpsk
pass_grew "$name" tcpsk
pid=$(host_pid "$name")
ckctl kill "$name" >/dev/null || fail "kill $name"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait_state "$name" stopped 10
restart_ct "$name"
verify_ct "$name" tcpsk
log "leave-running ok: $(last_log "$name" '^PASS')"

# a stream
ckctl checkpoint "$name" -o - 2>"$TMP/ck.err" | ckctl restart "$name" -i - >"$TMP/rs.out" 2>"$TMP/rs.err"
st=("${PIPESTATUS[@]}")
[ "${st[0]}" = 0 ] || fail "checkpoint -o - exited ${st[0]}: $(cat "$TMP/ck.err")"
[ "${st[1]}" = 0 ] || fail "restart -i - exited ${st[1]}: $(cat "$TMP/rs.err")"
expect_state "$name" running
verify_ct "$name" tcpsk
pass_grew "$name" tcpsk
log "stream ok: $(last_log "$name" '^PASS')"
ckctl rm "$name" >/dev/null || fail "rm $name"

# refused: named, and the workload goes on
refused() {
	local mode=$1 want=$2 out
	name=$P-$mode
	run_tcpsk "$name" -- "$WL/tcpsk" "$mode"
	out=$(ckctl checkpoint "$name" 2>&1) && fail "checkpoint of a tcpsk $mode succeeded"
	log "$mode: $out"
	echo "$out" | grep -q "socket:\[" || fail "$mode: the error does not name the socket: $out"
	echo "$out" | grep -q "$want" || fail "$mode: the error does not say '$want': $out"
	expect_state "$name" running
	verify_ct "$name" tcpsk
	ckctl rm "$name" >/dev/null || fail "rm $name"
}
refused pending "not accepted yet"
refused closewait "state CLOSE_WAIT"

# In the host's network, connections between the container's own sockets
# are its to save: both ends are held while it is frozen.
name=$P-tcp-host
ckctl run "$name" --net host --cwd "$WORK" --cap-add NET_ADMIN -- "$WL/tcpsk" >/dev/null || fail "run $name --net host"
wait_log "$name" '^READY' 30
verify_ct "$name" tcpsk
checkpoint_ct "$name"
restart_ct "$name"
verify_ct "$name" tcpsk
ckctl rm "$name" >/dev/null || fail "rm $name"
echo "PASS: $TEST_NAME"
