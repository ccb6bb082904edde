#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A checkpoint borrows one process at a time, but a step no recovery
# undoes (a TCP connection in repair mode) covers every task it seized.
# The worker is killed (CKPTD_FAULT=ckpt-repair:kill-worker) just after
# it turned repair mode on for the first connection of tcpsk's parent:
# the parent is given back already, its echo child not borrowed yet. No
# task may run on with a connection in repair mode: every one died with
# the worker, and ckptd says so (the container is damaged and stopped,
# the answer and a "damaged" event name the step), nothing is left in
# the cgroup, no borrow record, intent or image. A ckptd without the
# fault then runs, checkpoints and restarts the workload again.
. "$(dirname "$0")/lib.sh"

BG=()
eval "e2e_cleanup_base() $(declare -f e2e_cleanup | tail -n +2)"
e2e_cleanup() {
	local rc=$? p
	for p in "${BG[@]}"; do
		kill "$p" 2>/dev/null
	done
	(exit "$rc")
	e2e_cleanup_base
}

# tcpsk attaches a socket filter: CAP_NET_ADMIN (36-tcp.sh)
run_tcpsk() {
	ckctl run "$1" --cwd "$WORK" --cap-add NET_ADMIN -- "$WL/tcpsk" >/dev/null || fail "run $1"
	wait_log "$1" '^READY' 30
	expect_state "$1" running
	verify_ct "$1" tcpsk
}

export CKPTD_FAULT=ckpt-repair:kill-worker
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
out=$(ckctl checkpoint "$name" 2>&1) && fail "checkpoint answered success: $out"
unset CKPTD_FAULT
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
