#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ckptctl cancel: a checkpoint stuck on a reader that never reads, and a
# restart from a stream that stalls, are canceled; each one's client gets
# ERR_CANCELED, cancel answers once the container is back as it was:
# running, thawed, untraced and the same process after a checkpoint; not
# running, its stored image intact, after a restart. With nothing in
# progress cancel says so and fails. Ctrl-C in a ckptctl waiting for its
# checkpoint cancels it the same way.
# Then the bounds that go with it: beyond --max-ops an operation waits in
# a queue (cancelable, its deadline running), beyond the queue's length it
# is refused at once, --max-conns-per-uid refuses a client beyond it, and --log-max-size
# rotates a chatty container's log into log.1 while `logs -f` follows on.
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
# a reader that holds the FIFO open and never reads it
# shellcheck disable=SC2217
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

# ---- Ctrl-C in a ckptctl that waits for its checkpoint cancels it ----
# a reader that holds the FIFO open and never reads it
# shellcheck disable=SC2217
sleep 120 < "$TMP/stuck" &
stuck=$!
"$CKPTCTL" --socket "$SOCK" checkpoint "$name" -o - > "$TMP/stuck" 2> "$TMP/ctrlc.err" &
ck=$!
wait_busy "$name"
sleep 0.5
kill -INT "$ck"
for _ in $(seq 100); do
	kill -0 "$ck" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$ck" 2>/dev/null && fail "ckptctl still waits 10 s after Ctrl-C"
wait "$ck" && fail "the checkpoint interrupted by Ctrl-C reported success"
kill "$stuck" 2>/dev/null; wait "$stuck" 2>/dev/null
grep -q "canceled" "$TMP/ctrlc.err" || fail "after Ctrl-C: $(cat "$TMP/ctrlc.err")"
check_tree_running "$name"
[ "$(host_pid "$name")" = "$pid" ] || fail "workload replaced"

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
ckptd_stop

# ---- bounds ----
ckptd_start --max-ops 1 --queue-length 0 --max-conns-per-uid 4 --log-max-size 8K
chat=$P-chat
# one process that never forks: a shell's sleep every 5 ms would be caught
# mid-vfork by some checkpoints, which refuse a vfork in progress
ckctl run "$chat" -- /usr/bin/perl -e '$| = 1; for (my $i = 0;; $i++) { print "line $i of the chatty container log\n"; select(undef, undef, undef, 0.005) }' >/dev/null ||
	fail "run $chat"
# (ckptctl itself, not ckctl, so that $! is the process holding the connections)
"$CKPTCTL" --socket "$SOCK" logs -f "$chat" > "$TMP/follow" 2>&1 &
follower=$!
for _ in $(seq 300); do
	[ -e "$STATE/containers/$chat/log.1" ] && break
	sleep 0.1
done
[ -e "$STATE/containers/$chat/log.1" ] || fail "the log was never rotated ($(stat -c %s "$STATE/containers/$chat/log") bytes)"
sleep 3
sz=$(stat -c %s "$STATE/containers/$chat/log")
[ "$sz" -lt 65536 ] || fail "the log grew to $sz bytes with --log-max-size 8K"
first=$(head -n 1 "$STATE/containers/$chat/log.1" | awk '{ print $2 }')
last=$(grep -a '^line ' "$TMP/follow" | tail -n 1 | awk '{ print $2 }')
now=$(ckctl logs "$chat" | grep -a '^line ' | tail -n 1 | awk '{ print $2 }')
log "rotation: log.1 starts at line $first, the follower is at line $last, the log at $now"
[ -n "$last" ] && [ -n "$now" ] && [ "$last" -gt "$first" ] || fail "logs -f stopped at line ${last:-none} across the rotation (log.1 starts at $first)"
[ $(( now - last )) -lt 1000 ] || fail "logs -f lags: at line $last, the log at $now"

# one operation at a time, none may wait (--queue-length 0): a second one
# is refused at once
# a reader that holds the FIFO open and never reads it
# shellcheck disable=SC2217
sleep 120 < "$TMP/stuck" &
stuck=$!
ckctl checkpoint "$name" -o - > "$TMP/stuck" 2>"$TMP/first.err" &
ck=$!
wait_busy "$name"
out=$(ckctl checkpoint "$chat" 2>&1) && fail "a second operation ran beyond --max-ops 1 (the first: $(cat "$TMP/first.err"))"
echo "$out" | grep -q -- "--max-ops" || fail "beyond --max-ops: $out"
ckctl cancel "$name" >/dev/null || fail "cancel $name"
wait "$ck"
kill "$stuck" 2>/dev/null; wait "$stuck" 2>/dev/null
check_tree_running "$name"

# four connections of root are all it gets (the follower holds two: its
# logs request and the wait that tells it the workload ended)
waits=()
"$CKPTCTL" --socket "$SOCK" wait "$chat" >/dev/null 2>&1 &
waits+=($!)
sleep 1
out=$(ckctl list 2>&1) || fail "list with 3 of 4 connections in use: $out"
"$CKPTCTL" --socket "$SOCK" wait "$chat" >/dev/null 2>&1 &
waits+=($!)
sleep 1
out=$(ckctl list 2>&1) && fail "a fifth connection was served beyond --max-conns-per-uid 4"
echo "$out" | grep -q -- "--max-conns-per-uid" || fail "beyond --max-conns-per-uid: $out"
kill "$follower" "${waits[@]}" 2>/dev/null
wait "$follower" "${waits[@]}" 2>/dev/null
# their slots free once ckptd has seen them close
for _ in $(seq 50); do
	ckctl version >/dev/null 2>&1 && break
	sleep 0.1
done
ckctl version >/dev/null || fail "ckptd did not serve again once the clients left"
# ---- the queue ----
ckptd_stop
ckptd_start --max-ops 1 --queue-length 1
# one operation at a time (--max-ops 1) and one place in the queue
# (--queue-length 1): a second operation waits, told its place, and can be
# canceled there; a third is refused at once; a queued one runs when the
# slot frees, and one whose deadline passed while it waited fails then.
# (ckptctl runs under script: it shows its progress on a terminal only.)
queued_ckpt() {	# TYPESCRIPT ARGS...: a ckptctl checkpoint on a terminal, in the background
	local ts=$1
	shift
	script -qfec "$CKPTCTL --socket $SOCK checkpoint $*" "$ts" </dev/null >/dev/null 2>&1 &
}
wait_queued() {	# TYPESCRIPT: it was told it is first in the queue
	for _ in $(seq 100); do
		grep -aq "queued 1/1" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "no 'queued 1/1' progress from the queued client: $(tr -d '\r' < "$1" 2>/dev/null)"
}
# a reader that holds the FIFO open and never reads it
# shellcheck disable=SC2217
sleep 120 < "$TMP/stuck" &
stuck=$!
ckctl checkpoint "$name" -o - > "$TMP/stuck" 2>"$TMP/first.err" &
ck=$!
wait_busy "$name"
queued_ckpt "$TMP/q1.ts" "$chat" --leave-running
q1=$!
wait_queued "$TMP/q1.ts"
[ "$(ct_state "$chat")" = running ] || fail "$chat is $(ct_state "$chat") while its checkpoint waits in the queue"
out=$(ckctl checkpoint "$chat" --leave-running 2>&1) && fail "a third operation ran beyond --max-ops 1 and --queue-length 1"
echo "$out" | grep -q -- "queue_length" || fail "beyond the queue: $out"
out=$(ckctl cancel "$chat" 2>&1) || fail "cancel of the queued checkpoint: $out"
wait "$q1" && fail "the canceled queued checkpoint succeeded: $(tr -d '\r' < "$TMP/q1.ts")"
grep -aq "canceled" "$TMP/q1.ts" || fail "the canceled queued client was not told: $(tr -d '\r' < "$TMP/q1.ts")"
[ "$(images_count "$chat")" = 0 ] || fail "a canceled queued checkpoint left an image"
# queued again: it runs once the first is canceled
queued_ckpt "$TMP/q2.ts" "$chat" --leave-running
q2=$!
wait_queued "$TMP/q2.ts"
ckctl cancel "$name" >/dev/null || fail "cancel $name"
wait "$ck"
wait "$q2" || fail "the queued checkpoint failed once the slot was free: $(tr -d '\r' < "$TMP/q2.ts")"
[ "$(images_count "$chat")" = 1 ] || fail "the queued checkpoint stored $(images_count "$chat") images, not 1"
# a deadline counts from the request: 2 s spent waiting are 2 s spent
ckctl checkpoint "$name" -o - > "$TMP/stuck" 2>"$TMP/first.err" &
ck=$!
wait_busy "$name"
queued_ckpt "$TMP/q3.ts" "$chat" --leave-running --timeout 2
q3=$!
wait_queued "$TMP/q3.ts"
sleep 3
ckctl cancel "$name" >/dev/null || fail "cancel $name"
wait "$ck"
wait "$q3" && fail "a queued checkpoint ran after its deadline had passed in the queue"
grep -aq "past its deadline" "$TMP/q3.ts" || fail "queued past its deadline: $(tr -d '\r' < "$TMP/q3.ts")"
[ "$(images_count "$chat")" = 1 ] || fail "the late queued checkpoint stored an image"
kill "$stuck" 2>/dev/null; wait "$stuck" 2>/dev/null
check_tree_running "$name"
# (its shell's children come and go: its state is what can be checked)
[ "$(ct_state "$chat")" = running ] || fail "$chat is $(ct_state "$chat") after its queued checkpoints"

pass
