#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Deadlines: a checkpoint into a stream nobody reads, and a restart from a
# stream that stops half-way, each give up at --timeout with an error that
# says so: the container keeps running unfrozen and untraced (checkpoint),
# nothing is left of the half-restored one (restart), and ckptd answers.
. "$(dirname "$0")/lib.sh"

start_ckptd
name=$P-mem
run_ct "$name" "$WL/dirtymem" 64
sleep 0.3
verify_ct "$name" dirtymem
pid=$(host_pid "$name")

# a reader that holds the FIFO open and never reads
mkfifo "$TMP/stuck"
# shellcheck disable=SC2217  # sleep holds the read end open and never reads: that is the point
sleep 60 < "$TMP/stuck" &
stuck=$!
t0=$(now_ms)
out=$(ckctl checkpoint "$name" -o - --timeout 3 2>&1 > "$TMP/stuck") && fail "checkpoint into a stuck reader succeeded"
dt=$(( $(now_ms) - t0 ))
kill "$stuck" 2>/dev/null; wait "$stuck" 2>/dev/null
log "stuck reader: $out (${dt} ms)"
echo "$out" | grep -q "deadline" || fail "the error does not name the deadline: $out"
[ "$dt" -lt 15000 ] || fail "the checkpoint gave up only after $dt ms"
[ "$(ct_state "$name")" = running ] || fail "container is '$(ct_state "$name")' after the timeout"
[ "$(host_pid "$name")" = "$pid" ] || fail "workload replaced"
grep -q '^TracerPid:[[:space:]]*0$' "/proc/$pid/status" || fail "workload still traced"
cg=$(cgroup_dir_of "$pid")
if [ -n "$cg" ] && [ -f "$cg/cgroup.events" ]; then
	grep -q '^frozen 0$' "$cg/cgroup.events" || fail "$cg left frozen"
fi
verify_ct "$name" dirtymem

# a stream that stops half-way through
ckctl checkpoint "$name" --leave-running -o "$TMP/good.img" >/dev/null || fail "checkpoint to a file"
mkfifo "$TMP/slow"
( head -c 200000 "$TMP/good.img"; sleep 60 ) > "$TMP/slow" &
writer=$!
t0=$(now_ms)
out=$(ckctl restart "$P-new" -i - --timeout 3 < "$TMP/slow" 2>&1) && fail "restart from a stalled stream succeeded"
dt=$(( $(now_ms) - t0 ))
kill "$writer" 2>/dev/null; wait "$writer" 2>/dev/null
pkill -f "sleep 60" 2>/dev/null
log "stalled stream: $out (${dt} ms)"
echo "$out" | grep -q "deadline" || fail "the error does not name the deadline: $out"
[ "$dt" -lt 15000 ] || fail "the restart gave up only after $dt ms"
[ "$(ct_state "$P-new")" != running ] || fail "a half-restored container runs"
ckctl version >/dev/null || fail "ckptd stopped answering"

# the good image still restores, under a generous deadline
ckctl rm "$name" >/dev/null
ckctl restart "$name" -i "$TMP/good.img" --timeout 60 >/dev/null || fail "restart of the good image"
verify_ct "$name" dirtymem
pass
