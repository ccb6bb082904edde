#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ckptctl cancel: a checkpoint stuck on a reader that never reads, and a
# restart from a stream that stalls, are canceled; each one's client gets
# ERR_CANCELED, cancel answers once the container is back as it was:
# running, thawed, untraced and the same process after a checkpoint; not
# running, its stored image intact, after a restart. With nothing in
# progress cancel says so and fails.
. "$(dirname "$0")/lib.sh"

# wait_busy NAME: its operation has begun
wait_busy() {
	local i
	for i in $(seq 100); do
		[ "$(ct_state "$1")" = busy ] && return 0
		sleep 0.1
	done
	fail "$1: no operation began (state $(ct_state "$1"))"
}

start_ckptd
name=$P-mem
run_ct "$name" "$WL/dirtymem" 64
sleep 0.3
verify_ct "$name" dirtymem
pid=$(host_pid "$name")

out=$(ckctl cancel "$name" 2>&1) && fail "cancel with nothing in progress succeeded: $out"
echo "$out" | grep -q "no checkpoint or restart" || fail "cancel of nothing: $out"

# ---- a checkpoint into a reader that holds the FIFO and never reads ----
mkfifo "$TMP/stuck"
# shellcheck disable=SC2217  # sleep holds the read end open and never reads: that is the point
sleep 120 < "$TMP/stuck" &
stuck=$!
ckctl checkpoint "$name" -o - > "$TMP/stuck" 2> "$TMP/ckpt.err" &
ck=$!
wait_busy "$name"
sleep 0.5
t0=$(now_ms)
out=$(ckctl cancel "$name" 2>&1) || fail "cancel of the checkpoint failed: $out"
dt=$(( $(now_ms) - t0 ))
log "cancel: $out (${dt} ms)"
[ "$dt" -lt 10000 ] || fail "the cancel waited ${dt} ms for the stuck reader"
echo "$out" | grep -q "canceled the checkpoint" || fail "cancel answered: $out"
wait "$ck" && fail "the canceled checkpoint's client reported success"
kill "$stuck" 2>/dev/null; wait "$stuck" 2>/dev/null
grep -q "canceled" "$TMP/ckpt.err" || fail "the checkpoint's client did not hear of the cancel: $(cat "$TMP/ckpt.err")"
check_tree_running "$name"
[ "$(host_pid "$name")" = "$pid" ] || fail "workload replaced"
verify_ct "$name" dirtymem
[ "$(images_count "$name")" = 0 ] || fail "a canceled checkpoint stored an image"

# ---- a restart from a stream that stalls half-way ----
checkpoint_ct "$name"
cp "$STATE/containers/$name/images/"*.img "$TMP/good.img" || fail "no stored image to copy"
mkfifo "$TMP/slow"
( head -c 200000 "$TMP/good.img"; exec sleep 120 ) > "$TMP/slow" &
writer=$!
ckctl restart "$name" -i - < "$TMP/slow" > /dev/null 2> "$TMP/rst.err" &
rs=$!
wait_busy "$name"
sleep 0.5
t0=$(now_ms)
out=$(ckctl cancel "$name" 2>&1) || fail "cancel of the restart failed: $out"
dt=$(( $(now_ms) - t0 ))
log "cancel: $out (${dt} ms)"
[ "$dt" -lt 10000 ] || fail "the cancel waited ${dt} ms for the stalled stream"
echo "$out" | grep -q "canceled the restart" || fail "cancel answered: $out"
wait "$rs" && fail "the canceled restart's client reported success"
kill "$writer" 2>/dev/null; wait "$writer" 2>/dev/null
grep -q "canceled" "$TMP/rst.err" || fail "the restart's client did not hear of the cancel: $(cat "$TMP/rst.err")"
[ "$(ct_state "$name")" = checkpointed ] || fail "$name is $(ct_state "$name") after the canceled restart"
cg=$(cgroup_dir_of "$CKPTD_PID")/ckptd-$name
[ -z "$(cat "$cg/cgroup.procs" 2>/dev/null)" ] || fail "processes left in $cg: $(cat "$cg/cgroup.procs")"
[ -e "$STATE/containers/$name/intent" ] && fail "intent record left: $(cat "$STATE/containers/$name/intent")"
restart_ct "$name"
verify_ct "$name" dirtymem

# ---- a restart that would create the container: nothing of it is left ----
( head -c 200000 "$TMP/good.img"; exec sleep 120 ) > "$TMP/slow" &
writer=$!
ckctl restart "$P-new" -i - < "$TMP/slow" > /dev/null 2>&1 &
rs=$!
wait_busy "$P-new"
out=$(ckctl cancel "$P-new" 2>&1) || fail "cancel of the new restart failed: $out"
wait "$rs" && fail "the canceled restart's client reported success"
kill "$writer" 2>/dev/null; wait "$writer" 2>/dev/null
[ -z "$(ct_state "$P-new")" ] || fail "$P-new is listed as $(ct_state "$P-new") after its restart was canceled"
ckctl version >/dev/null || fail "ckptd stopped answering"
pass
