#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A full disk under ckptd's state dir (a small tmpfs): a checkpoint into the
# store fails with a clear error and leaves the container running and no
# partial image; a container whose state can't be saved is not started;
# ckptd stays up, and once there is room again everything works.
. "$(dirname "$0")/lib.sh"

mkdir -p "$STATE"
mount -t tmpfs -o size=4m,mode=0700 ckpt-e2e-full "$STATE" || skip "cannot mount a tmpfs"
start_ckptd

name=$P-mem
run_ct "$name" "$WL/dirtymem" 16
sleep 0.3
verify_ct "$name" dirtymem
pid=$(host_pid "$name")

out=$(ckctl checkpoint "$name" 2>&1) && fail "a 16 MiB checkpoint fit in a 4 MiB store"
echo "$out" | grep -Eqi "no space|storing|writing" || fail "unclear error for a full store: $out"
log "full store: $out"
[ "$(ct_state "$name")" = running ] || fail "container is '$(ct_state "$name")' after the failed checkpoint"
[ "$(host_pid "$name")" = "$pid" ] || fail "workload replaced"
[ "$(images_count "$name")" = 0 ] || fail "a failed checkpoint left an image: $(ckctl images "$name")"
find "$STATE" -name '*.tmp*' | grep -q . && fail "temporary files left: $(find "$STATE" -name '*.tmp*')"
verify_ct "$name" dirtymem

# Nothing left at all: a new container can't be recorded, so it must not run.
dd if=/dev/zero of="$STATE/filler" bs=64k 2>/dev/null
out=$(ckctl run "$P-new" -- "$WL/counter" 2>&1) && fail "run succeeded on a full state dir"
echo "$out" | grep -Eq "(saving|creating) its state" || fail "unclear error for run on a full disk: $out"
sleep 0.5
st=$(ct_state "$P-new" 2>/dev/null)
[ "$st" != running ] || fail "the unrecorded container is running"
log "run on a full disk: $out (then: ${st:-gone})"
ckctl version >/dev/null || fail "ckptd does not answer after a full disk"
[ "$(ct_state "$name")" = running ] || fail "first container is '$(ct_state "$name")'"

rm -f "$STATE/filler"
ckctl rm "$name" >/dev/null || fail "rm $name"
ckctl rm "$P-new" >/dev/null 2>&1
name=$P-small
run_ct "$name" "$WL/counter"
sleep 0.3
checkpoint_ct "$name"
restart_ct "$name"
verify_ct "$name" counter
echo "PASS: $TEST_NAME"
