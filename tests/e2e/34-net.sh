#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A network per container:
# - --net private (the default): the container has a network namespace of
#   its own with loopback up and nothing else; a port it listens on is not
#   the host's;
# - --net host: the host's namespace, a port bound inside is the host's;
# - --publish HOSTPORT:PORT: a client on the host reaches the container
#   through 127.0.0.1 and through the host's own address, before and after
#   a checkpoint/restart, which recreates the veth, the container's address
#   and route and the host's NAT; between the two the veth is gone and the
#   nft table translates nothing (it keeps a NAT hook for the connections
#   that wait, 74-publish-loop);
# - during a checkpoint the container's traffic is held: a SYN to a
#   published port without a listener, answered by a reset before, gets no
#   answer at all while the checkpoint runs, and a reset again after a
#   --leave-running checkpoint (its memory copied while the container is
#   stopped: a background copy lets it run on, and its traffic flow,
#   once the metadata is read);
# - `checkpoint -o - | restart other -i -`: the new container has the same
#   address inside, its own veth, and serves the published port;
# - bad --publish values and a host port published twice are refused, and
#   so is a checkpoint of a network namespace holding an address, an
#   interface or an nft table made inside (the container runs on);
# - after rm nothing ckptd made is left: no veth, no nft table.
. "$(dirname "$0")/lib.sh"

command -v nft >/dev/null || skip "no nft (nftables)"
command -v ip >/dev/null || skip "no ip (iproute2)"
command -v nsenter >/dev/null || skip "no nsenter"
# ckptd removes a container's nft table when the container ends; a test
# that fails before its rm leaves that to lib.sh's cgroup kill, after
# ckptd is gone: these go first.
NET_TABLES=()
trap 'rc=$?; for t in "${NET_TABLES[@]}"; do nft delete table ip "$t" 2>/dev/null; done; (exit $rc); e2e_cleanup' EXIT
# the hold is checked over a whole checkpoint: the copy made while stopped
export CKPTD_SNAPSHOT=frozen
start_ckptd
PY=$(python_bin)
SERVE=$REPO/tests/workloads/net-serve.py
# ports of this test only: from its pid, away from the usual services
HP=$(( 20000 + ($$ % 20000) ))
CP=$(( HP + 1 ))
HOST_IP=$(ip -4 -o addr show scope global | awk '{ split($4, a, "/"); print a[1]; exit }')

ns_of() { stat -L -c %i "/proc/$1/ns/net"; }
in_ct() { nsenter -t "$(host_pid "$1")" -n "${@:2}"; }

# connect HOST PORT LINE: "pong ..." / "refused" / "timeout" / error
connect() {
	"$PY" - "$@" <<'PY'
import socket, sys
host, port, line = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    s = socket.create_connection((host, port), timeout=2)
    s.sendall(line.encode() + b"\n")
    s.settimeout(5)
    print(s.makefile().readline().strip())
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")
except OSError as e:
    print("error %s" % e)
PY
}

# serve NAME HOST LINE TOKEN: one serve of the workload, reached from HOST:HP
serve() {
	local name=$1 host=$2 line=$3 token=$4 n got
	n=$(log_count "$name" '^SERVED')
	ckctl kill "$name" --signal USR1 >/dev/null || fail "kill -USR1 $name"
	wait_log_count "$name" '^LISTENING' $(( n + 1 )) 30
	got=$(connect "$host" "$HP" "$line")
	[ "$got" = "pong $line $token" ] || fail "$name: through $host:$HP got '$got', want 'pong $line $token'"
	wait_log_count "$name" '^SERVED' $(( n + 1 )) 30
}

veth_of() { ct_field "$1" net_veth; }
table_of() { echo "ckptd_${1#ck-}"; }
has_veth() { ip link show "$1" >/dev/null 2>&1; }
has_table() { nft list table ip "$1" >/dev/null 2>&1; }

# --- bad requests ---
for bad in 0:80 80:0 70000:80 80 80:80/sctp x:80 80:80/; do
	out=$(ckctl run "$P-bad" --publish "$bad" -- /bin/true 2>&1) && fail "run --publish $bad succeeded"
	echo "$out" | grep "publish" >/dev/null || fail "--publish $bad: unclear error: $out"
done
out=$(ckctl run "$P-bad" --net host --publish 8080:80 -- /bin/true 2>&1) && fail "--net host --publish succeeded"
echo "$out" | grep "needs --net private" >/dev/null || fail "--net host --publish: unclear error: $out"
out=$(ckctl run "$P-bad" --net bogus -- /bin/true 2>&1) && fail "--net bogus succeeded"

# --- private, no publish: loopback only, a port bound inside is not the host's ---
A=$P-priv
run_ct "$A" "$PY" -u "$SERVE" "$CP" tokA lo
[ "$(ns_of "$(host_pid "$A")")" != "$(ns_of $$)" ] || fail "$A: shares the host's network namespace"
[ "$(ns_of "$(host_pid "$A")")" = "$(ns_of "$(ct_init_host_pid "$A")")" ] || fail "$A: init in another network namespace"
in_ct "$A" ip -o link show lo | grep "UP" >/dev/null || fail "$A: loopback is not up: $(in_ct "$A" ip -o link)"
in_ct "$A" ip -o addr show lo | grep "inet 127.0.0.1/8" >/dev/null || fail "$A: no 127.0.0.1 on lo"
[ "$(in_ct "$A" ip -o link | wc -l)" = 1 ] || fail "$A: interfaces besides lo: $(in_ct "$A" ip -o link)"
[ "$(ct_field "$A" net)" = private ] || fail "$A: list says net '$(ct_field "$A" net)'"
verify_ct "$A" "net-serve ifaces=lo "
ckctl kill "$A" --signal USR1 >/dev/null
wait_log "$A" '^LISTENING 1' 30
in_ct "$A" ss -ltnH "sport = :$CP" | grep LISTEN >/dev/null || fail "$A: its listener is not in its namespace"
[ -z "$(ss -ltnH "sport = :$CP")" ] || fail "$A: its port $CP is visible on the host"
got=$(in_ct "$A" "$PY" -c "
import socket; s = socket.create_connection(('127.0.0.1', $CP), timeout=5)
s.sendall(b'hi\n'); print(s.makefile().readline().strip())")
[ "$got" = "pong hi tokA" ] || fail "$A: over its loopback got '$got'"
wait_log "$A" '^SERVED 1' 30
# what ckptd did not make there would be lost: refused, and it runs on
refused_net() {
	local out
	out=$(ckctl checkpoint "$A" 2>&1) && fail "$A: checkpoint with $1 succeeded"
	echo "$out" | grep -E "$2" >/dev/null || fail "$A: checkpoint with $1: unclear error: $out"
	expect_state "$A" running
	[ -z "$(in_ct "$A" nft list tables | grep ckptd_hold)" ] || fail "$A: traffic still held after a refused checkpoint"
}
in_ct "$A" ip addr add 192.0.2.77/32 dev lo || fail "ip addr add inside"
refused_net "an address added inside" "the container's network: address 192.0.2.77 on lo: added inside"
in_ct "$A" ip addr del 192.0.2.77/32 dev lo
in_ct "$A" ip link add dummy0 type dummy 2>/dev/null && {
	refused_net "an interface made inside" "interface dummy0: made inside"
	in_ct "$A" ip link del dummy0
}
in_ct "$A" nft add table inet mine || fail "nft add table inside"
refused_net "an nft table made inside" "nft tables made inside the container .table inet mine.: not restored"
in_ct "$A" nft delete table inet mine
cr_cycle "$A"
in_ct "$A" ip -o link show lo | grep "UP" >/dev/null || fail "$A: loopback not up after restart"
verify_ct "$A" "net-serve ifaces=lo served=1"
ckctl rm "$A" >/dev/null || fail "rm $A"

# --- host ---
B=$P-host
ckctl run "$B" --net host --cwd "$WORK" -- "$PY" -u "$SERVE" "$CP" tokB >/dev/null || fail "run $B"
wait_log "$B" '^READY' 30
[ "$(ns_of "$(host_pid "$B")")" = "$(ns_of $$)" ] || fail "$B: not in the host's network namespace"
[ "$(ct_field "$B" net)" = host ] || fail "$B: list says net '$(ct_field "$B" net)'"
ckctl kill "$B" --signal USR1 >/dev/null
wait_log "$B" '^LISTENING 1' 30
ss -ltnH "sport = :$CP" | grep LISTEN >/dev/null || fail "$B: its listener is not the host's"
got=$(connect 127.0.0.1 "$CP" hello)
[ "$got" = "pong hello tokB" ] || fail "$B: from the host got '$got'"
wait_log "$B" '^SERVED 1' 30
ckctl rm "$B" >/dev/null || fail "rm $B"

# --- publish ---
C=$P-pub
ckctl run "$C" --publish "$HP:$CP" --publish "$HP:$CP/udp" --cwd "$WORK" -- "$PY" -u "$SERVE" "$CP" tokC eth0,lo >/dev/null ||
	fail "run $C --publish"
wait_log "$C" '^READY' 30
VC=$(veth_of "$C")
NET_TABLES+=("$(table_of "$VC")")
ADDR=$(ct_field "$C" net_address)
[ -n "$VC" ] && [ -n "$ADDR" ] || fail "$C: no veth or address in list: $(ckctl --json list)"
has_veth "$VC" || fail "$C: no host interface $VC"
nft list table ip "$(table_of "$VC")" | grep "udp dport $HP dnat to $ADDR:$CP" >/dev/null || fail "$C: no UDP DNAT in $(table_of "$VC")"
ckctl list | grep "$C .*private $ADDR $HP:$CP/tcp,$HP:$CP/udp" >/dev/null || fail "list does not show $C's network: $(ckctl list)"
out=$(ckctl run "$P-dup" --publish "$HP:80" -- /bin/true 2>&1) && fail "a second container published $HP"
echo "$out" | grep "is published by container $C" >/dev/null || fail "a host port twice: unclear error: $out"
in_ct "$C" ip -o addr show eth0 | grep "inet $ADDR/30" >/dev/null || fail "$C: eth0 has not $ADDR/30"
verify_ct "$C" "net-serve ifaces=eth0,lo "
serve "$C" 127.0.0.1 one tokC
[ -n "$HOST_IP" ] && serve "$C" "$HOST_IP" two tokC

# held while a checkpoint runs: no listener, so a reset before and after,
# and no answer at all in between (the image pipe is read only after 5 s)
[ "$(connect 127.0.0.1 "$HP" x)" = refused ] || fail "$C: no reset from the container before the checkpoint"
ckctl checkpoint "$C" --leave-running -o - | { sleep 5; cat >/dev/null; } &
CKPT=$!
sleep 1.5
got=$(connect 127.0.0.1 "$HP" x)
wait $CKPT || fail "checkpoint $C --leave-running -o -"
[ "$got" = timeout ] || fail "$C: during the checkpoint a SYN got '$got', not silence"
expect_state "$C" running
[ -z "$(in_ct "$C" nft list tables)" ] || fail "$C: traffic still held after the checkpoint: $(in_ct "$C" nft list tables)"
[ "$(connect 127.0.0.1 "$HP" x)" = refused ] || fail "$C: no reset from the container after the checkpoint"
serve "$C" 127.0.0.1 three tokC

# checkpoint and restart: gone in between, then all of it again
checkpoint_ct "$C"
for i in $(seq 50); do has_veth "$VC" || break; sleep 0.1; done
has_veth "$VC" && fail "$C: checkpointed, its veth $VC is still there"
nft list table ip "$(table_of "$VC")" 2>/dev/null | grep -E "dnat|snat" >/dev/null &&
	fail "$C: checkpointed, its nft table still translates: $(nft list table ip "$(table_of "$VC")")"
restart_ct "$C"
[ "$(ct_field "$C" net_address)" = "$ADDR" ] || fail "$C: address $ADDR became $(ct_field "$C" net_address)"
in_ct "$C" ip -o addr show eth0 | grep "inet $ADDR/30" >/dev/null || fail "$C: eth0 has not $ADDR/30 after restart: $(in_ct "$C" ip -o addr 2>&1) (pid $(host_pid "$C"))"
in_ct "$C" ip route | grep "^default via" >/dev/null || fail "$C: no default route after restart"
in_ct "$C" ip -o link show lo | grep "UP" >/dev/null || fail "$C: loopback not up after restart"
has_table "$(table_of "$VC")" || fail "$C: no nft table after restart"
verify_ct "$C" "net-serve ifaces=eth0,lo served=3"
serve "$C" 127.0.0.1 four tokC
[ -n "$HOST_IP" ] && serve "$C" "$HOST_IP" five tokC

# through a pipe into a new container: same address inside, its own veth
D=$P-moved
ckctl checkpoint "$C" -o - | ckctl restart "$D" -i - >/dev/null || fail "checkpoint $C -o - | restart $D -i -"
expect_state "$D" running
VD=$(veth_of "$D")
NET_TABLES+=("$(table_of "$VD")")
[ "$(ct_field "$D" net_address)" = "$ADDR" ] || fail "$D: address $(ct_field "$D" net_address), want $ADDR"
[ "$VD" != "$VC" ] || fail "$D: the veth of $C"
in_ct "$D" ip -o addr show eth0 | grep "inet $ADDR/30" >/dev/null || fail "$D: eth0 has not $ADDR/30"
for i in $(seq 50); do has_veth "$VC" || break; sleep 0.1; done
has_veth "$VC" && fail "$C: checkpointed, its veth is still there"
serve "$D" 127.0.0.1 six tokC
verify_ct "$D" "net-serve ifaces=eth0,lo served=6"
# $C can't come back while $D has its address
out=$(ckctl restart "$C" 2>&1) && fail "restart $C while $D holds its address succeeded"
echo "$out" | grep "container $D's, which is running" >/dev/null || fail "restart $C: unclear error: $out"
echo "$out" | grep "^hint: .ckptctl checkpoint $D. (or .ckptctl rm $D.) frees it" >/dev/null || fail "restart $C: no hint to free it: $out"
expect_state "$C" checkpointed

# --- nothing left ---
for n in "$C" "$D"; do ckctl rm "$n" >/dev/null || fail "rm $n"; done
for v in "$VC" "$VD"; do
	for i in $(seq 50); do has_veth "$v" || break; sleep 0.1; done
	has_veth "$v" && fail "veth $v left after rm"
	has_table "$(table_of "$v")" && fail "nft table $(table_of "$v") left after rm"
done
pass
