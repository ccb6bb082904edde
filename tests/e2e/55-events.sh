#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Phase notifications: `--hook PHASE=COMMAND` runs COMMAND at that phase of
# a checkpoint or restart: a hook at namespaces-set-up adds an interface to
# the new network namespace that the restored workload then sees; a
# failing hook aborts the checkpoint (the container runs on) or the restart
# (nothing is left of it).
# `ckptctl events`: a subscriber sees a short workload's life as it
# happens, in order (started, checkpointed, restarted, exited, removed; a
# checkpoint --check is none of them), as
# JSON lines, and in the human form. A subscriber that stops reading is dropped with a last
# "overflow" event while ckptd goes on serving the others, who miss nothing.
. "$(dirname "$0")/lib.sh"

# the subscribers run ckptctl directly, so that they can be stopped
BG=()
eval "e2e_cleanup_base() $(declare -f e2e_cleanup | tail -n +2)"
e2e_cleanup() {
	local rc=$? p
	for p in "${BG[@]}"; do
		kill -CONT "$p" 2>/dev/null
		kill "$p" 2>/dev/null
	done
	(exit $rc)
	e2e_cleanup_base
}

# subscribe FILE: a JSON subscriber writing into FILE; its pid in BG, and in SUB
subscribe() {
	"$CKPTCTL" --socket "$SOCK" --json events >"$1" 2>"$1.err" &
	SUB=$!
	BG+=("$SUB")
	for _ in $(seq 100); do
		grep -q '"type":"subscribed"' "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "events: no subscribed line in 10 s: $(cat "$1" "$1.err")"
}

# types FILE NAME: the event types of NAME, in order, on one line
types() {
	"$PYTHON" -c '
import json, sys
out = []
for line in open(sys.argv[1]):
    e = json.loads(line)
    assert isinstance(e["time_us"], int) and e["time_us"] > 1600000000 * 10**6, e
    if e.get("container") == sys.argv[2]:
        out.append(e["type"])
print(" ".join(out))
' "$1" "$2"
}

# wait_types FILE NAME WANT: until NAME's events are WANT
wait_types() {
	local got
	for _ in $(seq 100); do
		got=$(types "$1" "$2") || fail "events: $1 is not JSON lines: $(tail -n 3 "$1")"
		[ "$got" = "$3" ] && return 0
		sleep 0.1
	done
	fail "events of $2: '$got', want '$3'"
}

start_ckptd
subscribe "$TMP/all.json"
all=$SUB

# --- a short workload's life --------------------------------------------------
w=$P-short
ckctl run "$w" --cwd "$WORK" -- sh -c 'echo READY; sleep 4; echo DONE; exit 7' >/dev/null || fail "run $w"
wait_log "$w" '^READY'
# a --check saves nothing: no checkpointed event for it
ckctl checkpoint "$w" --check >/dev/null || fail "checkpoint $w --check"
ckctl checkpoint "$w" >/dev/null || fail "checkpoint $w"
ckctl restart "$w" >/dev/null || fail "restart $w"
wait_log "$w" '^DONE' 30
wait_state "$w" stopped
wait_types "$TMP/all.json" "$w" "started checkpointed restarted exited"
"$PYTHON" -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
ev = [e for e in ev if e.get("container") == sys.argv[2]]
t = [e["time_us"] for e in ev]
assert t == sorted(t), t
d = {e["type"]: e.get("details", "") for e in ev}
assert d["checkpointed"].startswith("image "), d
assert d["exited"] == "status %d" % (7 << 8) or d["exited"] == "status 7", d
' "$TMP/all.json" "$w" || fail "events of $w: $(grep "$w" "$TMP/all.json")"
ckctl rm "$w" >/dev/null || fail "rm $w"
wait_types "$TMP/all.json" "$w" "started checkpointed restarted exited removed"
info "events: $(types "$TMP/all.json" "$w")"

# --- phases: hooks at a checkpoint's and a restart's phases -------------------
# The workload says whether its network namespace has the interface orch0,
# which a hook at namespaces-set-up adds before any task is restored.
h=$P-hook
ckctl run "$h" --cwd "$WORK" -- sh -c 'echo READY; while :; do
	if grep -q orch0: /proc/net/dev; then echo SEEN; else echo UNSEEN; fi; sleep 0.2; done' >/dev/null ||
	fail "run $h"
wait_log "$h" '^UNSEEN'
pid=$(host_pid_of "$h")
hooklog=$TMP/hooks.log
# a hook that fails at frozen: the checkpoint fails, the container runs on
out=$(ckctl checkpoint "$h" --hook frozen='exit 4' 2>&1) && fail "checkpoint with a failing hook succeeded: $out"
echo "$out" | grep -q "aborted at phase frozen: hook for frozen exited with status 4" ||
	fail "checkpoint with a failing hook: $out"
expect_state "$h" running
[ "$(host_pid_of "$h")" = "$pid" ] || fail "$h: host pid $(host_pid_of "$h") after the aborted checkpoint, was $pid"
n=$(count_log "$h" '^UNSEEN')
wait_log_count "$h" '^UNSEEN' $((n + 2))
# a client that dies while its hook runs: the checkpoint is aborted at
# once (not at the deadline) and the container runs on
n=$(count_log "$h" '^UNSEEN')
"$CKPTCTL" --socket "$SOCK" checkpoint "$h" --timeout 120 \
	--hook frozen='echo $$ >'"$TMP/hook.pid"'; exec sleep 100' >/dev/null 2>&1 &
ctl=$!
BG+=("$ctl")
for _ in $(seq 100); do [ -s "$TMP/hook.pid" ] && break; sleep 0.1; done
[ -s "$TMP/hook.pid" ] || fail "the frozen hook did not start"
BG+=("$(cat "$TMP/hook.pid")")
kill -KILL "$ctl"
t0=$(now_ms)
wait_state "$h" running 20
wait_log_count "$h" '^UNSEEN' $((n + 2)) 20
info "the checkpoint whose client died in a hook was over after $(( $(now_ms) - t0 )) ms"
[ "$(host_pid_of "$h")" = "$pid" ] || fail "$h: host pid $(host_pid_of "$h") after the orphaned checkpoint, was $pid"
kill "$(cat "$TMP/hook.pid")" 2>/dev/null
# hooks that succeed see their phase, container, init and netns
ckctl checkpoint "$h" --hook frozen='echo "$CKPT_PHASE $CKPT_CONTAINER $CKPT_INIT_PID $CKPT_NETNS" >>'"$hooklog" \
	--hook killed='echo "$CKPT_PHASE $CKPT_CONTAINER" >>'"$hooklog" >/dev/null || fail "checkpoint $h with hooks"
init=$(awk -v p="$pid" '$2 == "'"$h"'" && $1 == "frozen" { print $3 }' "$hooklog")
[ -n "$init" ] && grep -qx "frozen $h $init /proc/$init/ns/net" "$hooklog" && grep -qx "killed $h" "$hooklog" ||
	fail "checkpoint hooks wrote: $(cat "$hooklog")"
# a hook that fails at namespaces-set-up: the restart is undone whole
out=$(ckctl restart "$h" --hook namespaces-set-up='exit 3' 2>&1) && fail "restart with a failing hook succeeded: $out"
echo "$out" | grep -q "aborted at phase namespaces-set-up: hook for namespaces-set-up exited with status 3" ||
	fail "restart with a failing hook: $out"
expect_state "$h" checkpointed
[ -z "$(host_pid_of "$h")" ] || fail "$h has a process after the aborted restart"
# the interface a hook plumbs in is there for the restored workload
: >"$hooklog"
ckctl restart "$h" --hook namespaces-set-up='nsenter --net="$CKPT_NETNS" ip link add orch0 type veth peer name orch1 &&
	echo "$CKPT_PHASE $CKPT_INIT_PID" >>'"$hooklog" --hook resumed='echo "$CKPT_PHASE" >>'"$hooklog" >/dev/null ||
	fail "restart $h with hooks: $(cat "$hooklog")"
wait_log "$h" '^SEEN'
grep -q "^namespaces-set-up [0-9]" "$hooklog" && grep -qx resumed "$hooklog" || fail "restart hooks wrote: $(cat "$hooklog")"
# unknown phases and waits at "killed" are refused before anything happens
ckctl checkpoint "$h" --hook thawed=true >"$TMP/bad.out" 2>&1 && fail "a hook at an unknown phase was accepted"
grep -q "has no phase 'thawed'" "$TMP/bad.out" || fail "unknown phase: $(cat "$TMP/bad.out")"
expect_state "$h" running
ckctl rm "$h" >/dev/null || fail "rm $h"
info "phases: hooks ran at frozen, killed, namespaces-set-up and resumed; failing ones aborted cleanly"

# --- human form ---------------------------------------------------------------
"$CKPTCTL" --socket "$SOCK" events >"$TMP/human.out" 2>&1 &
BG+=("$!")
for _ in $(seq 100); do grep -q subscribed "$TMP/human.out" && break; sleep 0.1; done
k=$P-kill
ckctl run "$k" --cwd "$WORK" -- sleep 300 >/dev/null || fail "run $k"
ckctl kill "$k" >/dev/null || fail "kill $k"
for _ in $(seq 100); do grep -q "exited .*$k" "$TMP/human.out" && break; sleep 0.1; done
grep -Eq "^[0-9-]+ [0-9:.]+ +started +$k" "$TMP/human.out" || fail "human events: $(cat "$TMP/human.out")"
grep -Eq "exited +$k +status" "$TMP/human.out" || fail "human events: no exit: $(cat "$TMP/human.out")"
ckctl rm "$k" >/dev/null || fail "rm $k"

# --- a subscriber that stops reading ------------------------------------------
subscribe "$TMP/slow.json"
slow=$SUB
kill -STOP "$slow"
n=0
while ! grep -q "events: not reading, dropped" "$TMP/ckptd.log"; do
	n=$((n + 1))
	[ $n -le 150 ] || fail "a subscriber that reads nothing was not dropped after $((n * 3)) events"
	ckctl run "$P-f$n" --cwd "$WORK" -- true >/dev/null || fail "run $P-f$n"
	wait_state "$P-f$n" stopped
	ckctl rm "$P-f$n" >/dev/null || fail "rm $P-f$n"
done
info "the stopped subscriber was dropped after $n run/exit/rm cycles"
ckctl version >/dev/null || fail "ckptd does not answer after dropping a subscriber"
kill -CONT "$slow"
rc=0
wait "$slow" || rc=$?
[ $rc = 1 ] || fail "the dropped subscriber exited with $rc, want 1"
# its last event is the overflow, then (--json) its error object
grep '"type":' "$TMP/slow.json" | tail -n 1 | grep -q '"type":"overflow"' ||
	fail "no last overflow event: $(tail -n 2 "$TMP/slow.json")"
tail -n 1 "$TMP/slow.json" | grep -q '"error":.*did not keep up' ||
	fail "the dropped subscriber's error: $(tail -n 1 "$TMP/slow.json")"
grep -q "did not keep up" "$TMP/slow.json.err" || fail "the dropped subscriber says: $(cat "$TMP/slow.json.err")"
# the one that kept reading missed nothing
for i in $(seq "$n"); do
	[ "$(types "$TMP/all.json" "$P-f$i")" = "started exited removed" ] ||
		fail "events of $P-f$i: '$(types "$TMP/all.json" "$P-f$i")'"
done
kill -0 "$all" || fail "the reading subscriber is gone"

pass
