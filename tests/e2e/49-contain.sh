#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Containers that contain: from inside, a workload (tests/workloads/contain)
# tries to reach ckptd's socket and state dir, another container's cgroup
# and the host's /proc, and reads its own uid and capabilities; all must be
# out of reach or reduced, before and after a checkpoint and restart:
#   - root's default set (docker's), --cap-add NET_ADMIN, --user nobody,
#     --privileged (every capability);
#   - --root DIR (a root made of the workload and its libraries) with a
#     --bind of a host dir, whose file survives the restart;
#   - an image whose task claims CAP_SYS_ADMIN, restarted into a default
#     container, is refused, and nothing of it runs.
. "$(dirname "$0")/lib.sh"

DEFAULT=00000000a80425fb        # CHOWN ... SETFCAP (README, Security model)
NET_ADMIN=$(printf '%016x' $(( 0x$DEFAULT | 1 << 12 )))
CAPS=$BUILD/tests/tools/imgcaps
[ -x "$CAPS" ] || skip "tests/tools/imgcaps not built"
start_ckptd

# the status lines of a host pid, as the kernel sees them from outside
status_of() { grep -E "^$2:" "/proc/$1/status" | awk '{ $1 = ""; print substr($0, 2) }'; }
expect_status() {
	local name=$1 key=$2 want=$3 got
	got=$(status_of "$(host_pid "$name")" "$key")
	[ "$got" = "$want" ] || fail "$name: $key is '$got', want '$want'"
}

# contained NAME UID CAPEFF [RUN OPTIONS...]: run the workload, check from
# inside and outside, checkpoint, restart, check again.
contained() {
	local name=$1 uid=$2 capeff=$3
	shift 3
	ckctl run "$name" --cwd "$WORK" "$@" -- "$WL/contain" sock="$SOCK" state="$STATE" other="$P-other" \
		uid="$uid" gid="$uid" capeff="$capeff" capbnd="$DEFAULT" noproc=1 >/dev/null ||
		fail "run $name $*"
	wait_log "$name" '^READY' 30
	verify_ct "$name" contain
	expect_status "$name" CapEff "$capeff"
	expect_status "$name" Uid "$uid $uid $uid $uid"
	checkpoint_ct "$name"
	restart_ct "$name"
	verify_ct "$name" contain
	expect_status "$name" CapEff "$capeff"
	expect_status "$name" CapBnd "$DEFAULT"
	expect_status "$name" Uid "$uid $uid $uid $uid"
	log "$name: uid $uid, CapEff $capeff, masks hold across a restart"
}

run_ct "$P-other" "$WL/counter"

# root's default set: every check of the workload holds, before and after
contained "$P-def" 0 "$DEFAULT"
[ "$(ct_field "$P-def" caps)" = "$((0x$DEFAULT))" ] || fail "ckptctl list: caps $(ct_field "$P-def" caps)"

# --cap-add shows in CapEff (the bounding set then holds it too)
ckctl run "$P-na" --cwd "$WORK" --cap-add NET_ADMIN -- "$WL/contain" capeff="$NET_ADMIN" capbnd="$NET_ADMIN" \
	noproc=1 >/dev/null || fail "run --cap-add NET_ADMIN"
wait_log "$P-na" '^READY' 30
checkpoint_ct "$P-na"
restart_ct "$P-na"
verify_ct "$P-na" contain
expect_status "$P-na" CapEff "$NET_ADMIN"

# --user nobody: uid 65534, no capability, same bounding set
contained "$P-nobody" 65534 0000000000000000 --user nobody

# --privileged keeps every capability the host's root has, across a restart
ALL=$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)
ckctl run "$P-priv" --cwd "$WORK" --privileged -- "$WL/contain" capeff="$ALL" capbnd="$ALL" >/dev/null ||
	fail "run --privileged"
wait_log "$P-priv" '^READY' 30
checkpoint_ct "$P-priv"
restart_ct "$P-priv"
verify_ct "$P-priv" contain
expect_status "$P-priv" CapEff "$ALL"

# an unknown capability is a usage error, before anything runs
out=$(ckctl run "$P-bad" --cap-add NOPE -- /bin/true 2>&1) && fail "run --cap-add NOPE succeeded"
echo "$out" | grep -q "unknown capability 'NOPE'" || fail "--cap-add NOPE: unclear refusal: $out"

# --root: a root filesystem holding the workload and its libraries, a host
# dir bound into it; the file the workload writes there survives restart
root=$TMP/root
mkdir -p "$root" "$WORK/shared"
cp "$WL/contain" "$root/contain"
for lib in $(ldd "$WL/contain" | grep -oE '/[^ ]+'); do
	mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib"
done
ckctl run "$P-root" --root "$root" --bind "$WORK/shared:/data" -- /contain other="$P-other" uid=0 \
	capeff="$DEFAULT" capbnd="$DEFAULT" noproc=1 file=/data/f >/dev/null || fail "run --root"
wait_log "$P-root" '^READY' 30
verify_ct "$P-root" contain
[ -s "$WORK/shared/f" ] || fail "--bind: the workload's file is not in the host dir"
pid=$(host_pid "$P-root")
[ "$(readlink "/proc/$pid/exe")" = /contain ] || fail "--root: its exe is $(readlink "/proc/$pid/exe")"
checkpoint_ct "$P-root"
restart_ct "$P-root"
verify_ct "$P-root" contain
want=$(cat "$WORK/shared/f")
echo "$want" | grep -q '^contain ' || fail "--bind: host file holds '$want'"
log "--root and --bind: ran, restarted, the bound file survived: '$want'"

# an image whose task claims CAP_SYS_ADMIN, restarted into a default
# container under a new name: refused, nothing runs
ckctl checkpoint "$P-def" --leave-running -o "$TMP/def.img" >/dev/null || fail "checkpoint $P-def -o"
"$CAPS" "$TMP/def.img" "$TMP/admin.img" 200000 >/dev/null || fail "imgcaps"
out=$(ckctl restart "$P-admin" -i "$TMP/admin.img" --trust-image 2>&1) && fail "restart of a task claiming CAP_SYS_ADMIN succeeded"
echo "$out" | grep -Eq "task [0-9]+.*capabilit" || fail "CAP_SYS_ADMIN image: unclear refusal: $out"
log "CAP_SYS_ADMIN image: $out"
[ "$(ct_state "$P-admin")" != running ] || fail "$P-admin runs"
# the untouched image restores in a new default container
ckctl restart "$P-copy" -i "$TMP/def.img" >/dev/null || fail "restart of the untouched image"
verify_ct "$P-copy" contain
expect_status "$P-copy" CapEff "$DEFAULT"
pass
