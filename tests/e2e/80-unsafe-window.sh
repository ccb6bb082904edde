#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A checkpoint borrows one process at a time, but a step no recovery
# undoes (a TCP connection in repair mode) covers every task it seized.
# The worker stops (CKPTD_FAULT=ckpt-repair:stop-worker) just after it
# turned repair mode on for the first connection of tcpsk's parent: the
# parent is given back already, its echo child not borrowed yet. ckptd
# is stopped and the worker killed: no task may run on with a connection
# in repair mode, and every one must die with the worker alone, before
# ckptd (which would kill a damaged container anyway) can act. ckptd,
# let go again, says so (the container is damaged and stopped,
# the answer and a "damaged" event name the step), nothing is left in
# the cgroup, no borrow record, intent or image. A ckptd without the
# fault then runs, checkpoints and restarts the workload again.
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/unsafe-lib.sh
. "$(dirname "$0")/unsafe-lib.sh"

export CKPTD_FAULT=ckpt-repair:stop-worker
start_ckptd
"$CKPTCTL" --socket "$SOCK" --json events >"$TMP/events.json" 2>"$TMP/events.err" &
BG+=("$!")
for _ in $(seq 100); do
	grep -q '"type":"subscribed"' "$TMP/events.json" 2>/dev/null && break
	sleep 0.1
done
grep -q '"type":"subscribed"' "$TMP/events.json" || fail "events: not subscribed: $(cat "$TMP/events.err")"

name=$P-repair
run_tcpsk "$name"
pids=$(tree_host_pids "$name")
[ "$(echo "$pids" | wc -w)" -ge 2 ] || fail "tcpsk: want a parent and its echo child, got: $pids"
cg=$(cgroup_dir_of "$(host_pid "$name")")
ckctl checkpoint "$name" >"$TMP/ckpt.out" 2>&1 &
ckpt=$!
BG+=("$ckpt")
unset CKPTD_FAULT
wait_stopped_worker "$ckpt" "$TMP/ckpt.out"
# ckptd stopped: what happens now is the worker's death alone
kill -STOP "$CKPTD_PID"
kill -KILL "$WORKER"
for pid in $pids; do
	for _ in $(seq 100); do gone "$pid" && break; sleep 0.1; done
	gone "$pid" || { ps -o pid,stat,comm -p "$pid" >&2; fail "host pid $pid runs on after the worker died in the repair window"; }
done
WORKER=
kill -CONT "$CKPTD_PID"
wait "$ckpt" && fail "checkpoint answered success: $(cat "$TMP/ckpt.out")"
out=$(cat "$TMP/ckpt.out")
info "answer: $out"
echo "$out" | grep -q "worker was killed by signal 9" || fail "the answer does not name the worker's death: $out"
echo "$out" | grep -q "repair mode" || fail "the answer does not name the step it died in: $out"
echo "$out" | grep -q "damaged and stopped" || fail "the answer does not say the container is damaged: $out"
echo "$out" | grep -q "runs on" && fail "the container is said to run on: $out"
wait_state "$name" stopped 10
for pid in $pids; do
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && fail "host pid $pid runs on after the worker died in the repair window"
done
[ -z "$cg" ] || [ -z "$(cat "$cg/cgroup.procs" 2>/dev/null)" ] || fail "processes left in $cg: $(cat "$cg/cgroup.procs")"
d=$STATE/containers/$name
[ -e "$d/borrowed" ] && fail "the borrow record survived: $(cat "$d/borrowed")"
[ -e "$d/intent" ] && fail "the intent record survived: $(cat "$d/intent")"
[ "$(images_count "$name")" = 0 ] || fail "an image was stored: $(ckctl images "$name")"
for _ in $(seq 50); do
	grep -q "\"container\":\"$name\".*\"type\":\"damaged\"\|\"type\":\"damaged\".*\"container\":\"$name\"" "$TMP/events.json" && break
	sleep 0.1
done
grep "$name" "$TMP/events.json" | grep '"damaged"' | grep -q "repair mode" ||
	fail "no damaged event naming the step: $(grep "$name" "$TMP/events.json")"
ckptd_alive || fail "ckptd died"
ckctl rm "$name" >/dev/null || fail "rm $name"
info "killed in the repair window: every task died with the worker, the container reported damaged"

# without the fault, the same workload checkpoints and restarts
ckptd_stop
start_ckptd
name=$P-after
run_tcpsk "$name"
cr_tree_cycle "$name" tcpsk
ckctl rm "$name" >/dev/null || fail "rm $name"
pass
