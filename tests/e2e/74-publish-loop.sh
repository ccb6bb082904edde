#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Clients on the host keep their connections to a published port through
# checkpoint and restart, with bytes in flight both ways: one through
# 127.0.0.1 (its loopback source SNATed to the host end of the veth), one
# through the host's own address (DNAT only). Each end first fills the
# buffers without reading (both windows closed, so the client's kernel
# probes while the container is away), and after the restart the container
# speaks first; then both ends read the other's whole stream and exchange
# more, checked by sha256 on both sides. The conntrack entry of the
# loopback client outlives the veth (a masqueraded one would not: the
# kernel forgets it when the veth goes down, and the client would meet the
# host's reset). Cases: a restart from the store, a --leave-running
# checkpoint, `checkpoint -o - | restart OTHER -i -` (the same address,
# the connections follow the container; rm of the old name keeps them),
# and a container removed for good while checkpointed: its clients get a
# reset at once, not silence, and no conntrack entry to its address stays.
# While the container is away its address has a blackhole route: a
# client's segment through the host's own address would leave by the
# default route otherwise, and whatever is there may answer with a reset.
. "$(dirname "$0")/lib.sh"

command -v nft >/dev/null || skip "no nft (nftables)"
command -v ip >/dev/null || skip "no ip (iproute2)"
PY=$(python_bin)
[ -x "$PY" ] || skip "no python3 interpreter"
CONNTRACK=$(command -v conntrack || true)

CLIENTS=()
declare -A CPID      # a client's pid by its tag
NET_TABLES=()
trap 'rc=$?; for p in "${CLIENTS[@]}"; do kill "$p" 2>/dev/null; done
	for t in "${NET_TABLES[@]}"; do nft delete table ip "$t" 2>/dev/null; done; (exit $rc); e2e_cleanup' EXIT
start_ckptd
LOOP=$REPO/tests/workloads/publish-loop.py
HP=$(( 20000 + ($$ % 20000) ))
CP=$(( HP + 1 ))
HOST_IP=$(ip -4 -o addr show scope global | awk '{ split($4, a, "/"); print a[1]; exit }')

# client TAG HOST [reset]: a client in the background, stuffed
client() {
	local tag=$1 host=$2
	"$PY" -u "$LOOP" client "$host" "$HP" "$tag" ${3:+"$3"} >"$TMP/$tag.out" 2>&1 &
	CLIENTS+=($!)
	CPID[$tag]=$!
}
# stuffed NAME TAG...: each client and its server end have filled the buffers
stuffed() {
	local name=$1 tag i
	shift
	for tag; do
		wait_log "$name" "^STUFFED $tag sent=[1-9]" 30
		for i in $(seq 300); do grep -q '^STUFFED' "$TMP/$tag.out" && break; sleep 0.1; done
		grep -q "^STUFFED $tag sent=[1-9]" "$TMP/$tag.out" || fail "client $tag: $(cat "$TMP/$tag.out")"
	done
}
# go NAME TAG...: the server first, then the clients; every one checks
go() {
	local name=$1 tag n
	shift
	n=$(log_count "$name" '^PASS publish-loop [^s]')
	ckctl kill "$name" --signal USR1 >/dev/null || fail "kill -USR1 $name"
	sleep 1
	for tag; do kill -USR1 "${CPID[$tag]}"; done
	for tag; do
		wait "${CPID[$tag]}" || fail "client $tag: $(cat "$TMP/$tag.out")"
		grep -q "^PASS publish-loop client $tag first=" "$TMP/$tag.out" || fail "client $tag: $(cat "$TMP/$tag.out")"
		log "$(tail -n 1 "$TMP/$tag.out")"
	done
	wait_log_count "$name" '^PASS publish-loop [^s]' $(( n + $# )) 60
}
# ct_entries ADDR: the host's conntrack entries with ADDR in a tuple
ct_entries() {
	{ "$CONNTRACK" -L -p tcp --reply-src "$1" 2>/dev/null; "$CONNTRACK" -L -p tcp --orig-src "$1" 2>/dev/null; } |
		grep -c "src=" || true
}
# ct_loop_binding HOSTEND: the loopback client's entry leaves by HOSTEND
ct_loop_binding() {
	[ -n "$CONNTRACK" ] || return 0
	"$CONNTRACK" -L -p tcp --orig-src 127.0.0.1 --orig-port-dst "$HP" 2>/dev/null | grep "ESTABLISHED.* dst=$1 " >/dev/null ||
		fail "$2: no conntrack entry of the loopback client bound to $1: $("$CONNTRACK" -L -p tcp --orig-port-dst "$HP" 2>&1)"
}
gone_veth() {
	local i
	for i in $(seq 50); do ip link show "$1" >/dev/null 2>&1 || return 0; sleep 0.1; done
	fail "veth $1 still there"
}

[ -n "$CONNTRACK" ] || log "conntrack(8) is not installed: the conntrack entries are not looked at"
A=$P-kv
ckctl run "$A" --publish "$HP:$CP" --cwd "$WORK" -- "$PY" -u "$LOOP" serve "$CP" >/dev/null || fail "run $A"
wait_log "$A" '^READY' 30
VETH=$(ct_field "$A" net_veth)
ADDR=$(ct_field "$A" net_address)
HOSTEND=$(ct_field "$A" net_host_address)
[ -n "$VETH" ] && [ -n "$ADDR" ] && [ -n "$HOSTEND" ] || fail "$A: no veth or address: $(ckctl --json list)"
NET_TABLES+=("ckptd_${VETH#ck-}")
nft list table ip "ckptd_${VETH#ck-}" | grep "snat to $HOSTEND" >/dev/null || fail "$A: no SNAT to $HOSTEND: $(nft list table ip "ckptd_${VETH#ck-}")"

# --- a restart from the store, with probes while it is away ---
tags=(lo1)
client lo1 127.0.0.1
[ -n "$HOST_IP" ] && { client ip1 "$HOST_IP"; tags+=(ip1); }
stuffed "$A" "${tags[@]}"
ct_loop_binding "$HOSTEND" "before the checkpoint"
checkpoint_ct "$A"
gone_veth "$VETH"
T=ckptd_${VETH#ck-}
nft list table ip "$T" | grep -E "dnat|snat" >/dev/null && fail "$A checkpointed: its table still translates: $(nft list table ip "$T")"
ip route show "$ADDR/32" | grep "^blackhole $ADDR " >/dev/null || fail "$A checkpointed: no blackhole route to $ADDR: $(ip route show "$ADDR/32")"
sleep 3
ct_loop_binding "$HOSTEND" "checkpointed, its veth gone"
restart_ct "$A"
go "$A" "${tags[@]}"

# --- --leave-running ---
tags=(lo2)
client lo2 127.0.0.1
[ -n "$HOST_IP" ] && { client ip2 "$HOST_IP"; tags+=(ip2); }
stuffed "$A" "${tags[@]}"
checkpoint_ct "$A" --leave-running
go "$A" "${tags[@]}"

# --- through a pipe into another name: the same address, the connections follow ---
B=$P-moved
client lo3 127.0.0.1
stuffed "$A" lo3
ckctl checkpoint "$A" -o - | ckctl restart "$B" -i - >/dev/null || fail "checkpoint $A -o - | restart $B -i -"
expect_state "$B" running
[ "$(ct_field "$B" net_address)" = "$ADDR" ] || fail "$B: address $(ct_field "$B" net_address), want $ADDR"
NET_TABLES+=("ckptd_$(ct_field "$B" net_veth | sed 's/^ck-//')")
gone_veth "$VETH"
# $A, checkpointed, goes: $B holds the address, so its connections stay
ckctl rm "$A" >/dev/null || fail "rm $A"
ct_loop_binding "$HOSTEND" "$A removed, $B holding its address"
go "$B" lo3

# --- removed for good while checkpointed: a reset, at once ---
# A host where something else uses NAT (another container's table, or
# here the test's own) goes on translating what conntrack remembers:
# without ckptd forgetting the address's entries, the client's segments
# would follow them into the void.
HOOK=${P}_nat
NET_TABLES+=("$HOOK")
nft -f - <<NFT || fail "nft: a NAT chain of the test's"
table ip $HOOK {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		ct state new counter
	}
}
NFT
client lo4 127.0.0.1 reset
stuffed "$B" lo4
checkpoint_ct "$B"
ckctl rm "$B" >/dev/null || fail "rm $B"
if [ -n "$CONNTRACK" ]; then
	n=$(ct_entries "$ADDR")
	[ "$n" = 0 ] || fail "$B removed: $n conntrack entries to $ADDR left: $("$CONNTRACK" -L -p tcp --reply-src "$ADDR" 2>&1)"
fi
[ -z "$(ip route show "$ADDR/32")" ] || fail "$B removed: routes to $ADDR left: $(ip route show "$ADDR/32")"
t0=$(now_ms)
kill -USR1 "${CPID[lo4]}"
wait "${CPID[lo4]}" || fail "client lo4: $(cat "$TMP/lo4.out")"
grep -q "^PASS publish-loop client lo4 reset" "$TMP/lo4.out" || fail "client lo4: $(cat "$TMP/lo4.out")"
log "client lo4: reset $(( $(now_ms) - t0 )) ms after it went on"
nft delete table ip "$HOOK"
pass
