#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run --userns: the container's root is an unprivileged range of the host.
# From inside, the workload (tests/workloads/userns) checks that it is uid
# and gid 0, that its uid_map and gid_map are the range, that CAP_CHOWN of
# its namespace works (a file of its own to 1000:1000, a child that became
# uid 1000) and that a root-owned 0644 host file bound read-write into it
# can't be opened for writing. Then:
#   - from outside: the same map, the host ids of the range;
#   - checkpoint and restart: same map, same ids, its checks pass;
#   - a second --userns container gets a disjoint range of the pool;
#     --userns=BASE overlapping a held range, --cap-add SYS_ADMIN and
#     --user with --userns are refused;
#   - the image restarted under a new name (-i): refused without the
#     range, refused while its container still holds the range, restored
#     with it once that container is gone;
#   - a process that makes a nested user namespace is still refused at
#     checkpoint, and keeps running.
. "$(dirname "$0")/lib.sh"

POOL=1879048192              # 0x70000000: the first range of ckptd's pool
N=65536
start_ckptd

UNS=$TMP/uns                 # writable by the namespace's root: sticky, 1777
mkdir -m 1777 "$UNS"
ROOTFILE=$TMP/rootfile
echo host > "$ROOTFILE"
chown 0:0 "$ROOTFILE"
chmod 0644 "$ROOTFILE"

# outside NAME BASE: the workload's maps and ids as the host sees them
outside() {
	local name=$1 base=$2 hp
	hp=$(host_pid "$name")
	[ -n "$hp" ] || fail "$name: no host pid"
	for m in uid_map gid_map; do
		read -r a b c < "/proc/$hp/$m"
		[ "$a $b $c" = "0 $base $N" ] || fail "$name: $m is '$a $b $c', want '0 $base $N'"
	done
	grep -qE "^Uid:\s+$base\s+$base\s+$base\s+$base$" "/proc/$hp/status" ||
		fail "$name: $(grep ^Uid: "/proc/$hp/status"), want $base"
	grep -qE "^Gid:\s+$base\s+$base\s+$base\s+$base$" "/proc/$hp/status" ||
		fail "$name: $(grep ^Gid: "/proc/$hp/status"), want $base"
}

# run_userns NAME BASE [RUN OPTIONS...]: the host file bound read-write
# into it (--bind "$ROOTFILE:$ROOTFILE"), or seen in the host's tree
run_userns() {
	local name=$1 base=$2
	shift 2
	ckctl run "$name" --cwd "$UNS" "$@" -- \
		"$WL/userns" base="$base" hostfile="$ROOTFILE" >/dev/null || fail "run $name $*"
	wait_log "$name" '^READY' 30
	expect_state "$name" running
	fail_if_failed "$name"
}

# the first container: the pool's first range
run_userns "$P-a" "$POOL" --userns --bind "$ROOTFILE:$ROOTFILE"
outside "$P-a" "$POOL"
[ "$(ct_field "$P-a" userns)" = "$POOL:$N" ] || fail "ckptctl --json list: userns '$(ct_field "$P-a" userns)'"
verify_ct "$P-a" userns
[ "$(cat "$ROOTFILE")" = host ] || fail "the host's root file changed"
log "a: root of its namespace, $POOL.. on the host, host root's file out of reach"

# a second one: the next range, disjoint
run_userns "$P-b" $(( POOL + N )) --userns
outside "$P-b" $(( POOL + N ))
verify_ct "$P-b" userns

# what --userns refuses
out=$(ckctl run "$P-x" --userns=$(( POOL + 100 )) --cwd "$UNS" -- /bin/true 2>&1) &&
	fail "an overlapping --userns=BASE ran"
echo "$out" | grep -qE "overlap container $P-(a|b)" || fail "overlap refused for another reason: $out"
out=$(ckctl run "$P-x" --userns --cap-add SYS_ADMIN --cwd "$UNS" -- /bin/true 2>&1) &&
	fail "--userns with CAP_SYS_ADMIN ran"
echo "$out" | grep -q "not with CAP_SYS_ADMIN" || fail "--cap-add SYS_ADMIN refused for another reason: $out"
out=$(ckctl run "$P-x" --userns --user nobody --cwd "$UNS" -- /bin/true 2>&1) && fail "--userns --user ran"
echo "$out" | grep -q "not with --privileged or --user" || fail "--user refused for another reason: $out"
out=$(ckctl run "$P-x" --userns=0 --cwd "$UNS" -- /bin/true 2>&1) && fail "--userns=0 ran"

# checkpoint and restart: the same map, the same ids, its own checks
checkpoint_ct "$P-a"
restart_ct "$P-a"
outside "$P-a" "$POOL"
verify_ct "$P-a" userns
checkpoint_ct "$P-b"
restart_ct "$P-b"
outside "$P-b" $(( POOL + N ))
verify_ct "$P-b" userns
log "a, b: same maps and ids after a restart"

# the image under a new name (of a container without binds: a new
# container has none, and an image's binds must be its container's)
D=$(( POOL + 2 * N ))
run_userns "$P-d" "$D" --userns
outside "$P-d" "$D"
checkpoint_ct "$P-d" -o "$TMP/a.img"
out=$(ckctl restart "$P-c" -i "$TMP/a.img" 2>&1) && fail "a --userns image restored without its range"
echo "$out" | grep -q "user namespace" || fail "no-range restart refused for another reason: $out"
expect_gone() { ckctl --json list | grep -q "\"$1\"" && fail "$1 left behind after a refused restart"; return 0; }
expect_gone "$P-c"
out=$(ckctl restart "$P-c" -i "$TMP/a.img" --userns=$(( D + N )) 2>&1) &&
	fail "a --userns image restored in another range"
echo "$out" | grep -q "not this container's" || fail "wrong range refused for another reason: $out"
expect_gone "$P-c"
out=$(ckctl restart "$P-c" -i "$TMP/a.img" --userns=$D 2>&1) &&
	fail "a --userns image restored into a range another container holds"
echo "$out" | grep -q "overlap container $P-d" || fail "held range refused for another reason: $out"
ckctl rm "$P-d" >/dev/null || fail "rm $P-d"
restart_ct "$P-c" -i "$TMP/a.img" --userns=$D
outside "$P-c" "$D"
verify_ct "$P-c" userns
log "c: d's image under a new name, in d's range once d is gone"

# --root DIR owned by the range: root inside owns its root filesystem
R=$(( POOL + 10 * N ))
root=$TMP/root
mkdir -p "$root"
cp "$WL/userns" "$root/userns"
for lib in $(ldd "$WL/userns" | grep -oE '/[^ ]+'); do
	mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib"
done
chown -R "$R:$R" "$root"
ckctl run "$P-r" --userns=$R --root "$root" --bind "$ROOTFILE:/hostfile" -- /userns base=$R hostfile=/hostfile \
	>/dev/null || fail "run --userns --root"
wait_log "$P-r" '^READY' 30
fail_if_failed "$P-r"
outside "$P-r" "$R"
checkpoint_ct "$P-r"
restart_ct "$P-r"
outside "$P-r" "$R"
verify_ct "$P-r" userns
[ "$(stat -c %u "$root/userns-own.$R.2")" = $(( R + 1000 )) ] || fail "--root: its file is not host uid $(( R + 1000 ))"
log "r: --root owned by the range, restarted"

# a nested user namespace inside a --userns container: refused at checkpoint
ckctl run "$P-n" --userns --cwd "$UNS" -- "$WL/refuse" userns >/dev/null || fail "run refuse userns"
wait_log "$P-n" '^READY' 30
out=$(ckctl checkpoint "$P-n" 2>&1) && fail "a nested user namespace was checkpointed"
echo "$out" | grep -q "its own user namespace" || fail "nested userns refused for another reason: $out"
expect_state "$P-n" running
n=$(count_log "$P-n" '^tick')
sleep 0.5
[ "$(count_log "$P-n" '^tick')" -gt "$n" ] || fail "$P-n stopped after the refused checkpoint"
pass
