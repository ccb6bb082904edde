#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `restart NEWNAME -i FILE` with a name ckptd never saw creates the container
# (how an image moves to another machine): on the same ckptd under a new
# name, and on a fresh ckptd with an empty state dir that trusts the first
# one's image key, under the old name.
. "$(dirname "$0")/lib.sh"

start_ckptd
name=$P-mem
run_ct "$name" "$WL/memory" "$WORK"
sleep 0.3
verify_ct "$name" memory
snapshot "$(host_pid "$name")" "$TMP/before"
checkpoint_ct "$name" -o "$TMP/mem.img"
ckctl rm "$name" >/dev/null || fail "rm $name"
[ -z "$(ct_state "$name")" ] || fail "$name still listed after rm"

new=$P-moved
[ -z "$(ct_state "$new")" ] || fail "$new exists before the restart"
restart_ct "$new" -i "$TMP/mem.img"
[ "$(ct_pid "$new")" = 2 ] || fail "$new: pid $(ct_pid "$new")"
snapshot "$(host_pid "$new")" "$TMP/after"
# the log fd now names the new container's log: compare the rest
sed -i -E 's#/containers/[^/]+/log$#/containers/NAME/log#' "$TMP/before" "$TMP/after"
compare_snapshots "$TMP/before" "$TMP/after" "restart under a new name"
verify_ct "$new" memory
# and it is a full citizen: checkpoint/restart it again
cr_cycle "$new"
checkpoint_ct "$new" -o "$TMP/mem2.img"
ckctl rm "$new" >/dev/null || fail "rm $new"

# another "machine": a fresh ckptd, empty state dir, that trusts the first
# one's image key (how images move between machines)
ckptd_stop
mkdir -p "$TMP/trusted"
cp "$STATE/keys/image.key" "$TMP/trusted/first.key"
STATE=$TMP/state2
ckptd_start --trusted-keys "$TMP/trusted"
[ -z "$(ct_state "$name")" ] || fail "fresh ckptd knows $name"
restart_ct "$name" -i "$TMP/mem2.img"
verify_ct "$name" memory
echo "PASS: $TEST_NAME"
