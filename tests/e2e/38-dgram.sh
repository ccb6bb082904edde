#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Datagram, raw, netlink and packet sockets (tests/workloads/dgramsk.c):
# UDP pairs over IPv4 and IPv6 exchanging datagrams every turn, UDP
# sockets holding datagrams they have not read (kept, each from its
# sender, to the address it was sent to), a ping socket, a raw socket
# connect()ed to a peer, a NETLINK_ROUTE socket that dumps the links and a
# packet socket bound to lo: 3 cycles through the store, a --leave-running
# checkpoint then a restart of that image, one `checkpoint -o - | restart
# -i -`; the workload checks every socket after each. Then what is
# refused by name while the container keeps running: a netlink socket
# with an answer it has not read, a packet socket with a ring, a netlink
# socket of the audit protocol.
. "$(dirname "$0")/lib.sh"

# Ping sockets need root's group in net.ipv4.ping_group_range of the
# container's network; in the host's, put it back as it was.
RANGE=/proc/sys/net/ipv4/ping_group_range
old_range=$(cat "$RANGE")
trap 'rc=$?; echo "$old_range" > "$RANGE"; (exit $rc); e2e_cleanup' EXIT
echo "0 0" > "$RANGE" || skip "can't set $RANGE"

start_ckptd
name=$P-dgram
run_ct "$name" "$WL/dgramsk"
verify_ct "$name" dgramsk
# a container in the host's network can make ping sockets now
if [ "$(readlink "/proc/$(host_pid "$name")/ns/net")" = "$(readlink /proc/self/ns/net)" ]; then
	last_log "$name" '^PASS dgramsk' | grep -q ' ping=on ' || fail "no ping socket: $(last_log "$name" '^PASS')"
fi
for c in 1 2 3; do
	cr_tree_cycle "$name" dgramsk
	check_no_fail "$name"
	log "cycle $c ok: $(last_log "$name" '^PASS')"
done

# --leave-running: it goes on, and the image restarts
checkpoint_ct "$name" --leave-running
verify_ct "$name" dgramsk
pass_grew "$name" dgramsk
pid=$(host_pid "$name")
ckctl kill "$name" >/dev/null || fail "kill $name"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait_state "$name" stopped 10
restart_ct "$name"
verify_ct "$name" dgramsk
log "leave-running ok: $(last_log "$name" '^PASS')"

# a stream
ckctl checkpoint "$name" -o - 2>"$TMP/ck.err" | ckctl restart "$name" -i - >"$TMP/rs.out" 2>"$TMP/rs.err"
st=("${PIPESTATUS[@]}")
[ "${st[0]}" = 0 ] || fail "checkpoint -o - exited ${st[0]}: $(cat "$TMP/ck.err")"
[ "${st[1]}" = 0 ] || fail "restart -i - exited ${st[1]}: $(cat "$TMP/rs.err")"
verify_ct "$name" dgramsk
pass_grew "$name" dgramsk
log "stream ok: $(last_log "$name" '^PASS')"
ckctl rm "$name" >/dev/null || fail "rm $name"

# refused by name; the workload goes on
refused() {
	local mode=$1 re=$2 name=$P-$1 out
	run_ct "$name" "$WL/dgramsk" "$mode"
	out=$(ckctl checkpoint "$name" 2>&1) && fail "checkpoint of dgramsk $mode succeeded"
	echo "$out" | grep -Eq "task [0-9]+" || fail "$mode: the error does not name the task: $out"
	echo "$out" | grep -Eq "$re" || fail "$mode: the error does not give the reason ($re): $out"
	expect_state "$name" running
	verify_ct "$name" dgramsk
	pass_grew "$name" dgramsk
	[ "$(images_count "$name")" = 0 ] || fail "$mode: a refused checkpoint left an image"
	log "$mode refused: $out"
	ckctl rm "$name" >/dev/null || fail "rm $name"
}
refused nlunread 'socket:\[[0-9]+\].*netlink messages the program has not read yet'
refused ring 'socket:\[[0-9]+\].*packet ring \(PACKET_RX_RING\)'
refused audit 'socket:\[[0-9]+\].*protocol 9 \(audit\) are not supported'
echo "PASS: $TEST_NAME"
