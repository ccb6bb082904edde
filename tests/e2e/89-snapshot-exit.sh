#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A process that exits during a background copy: snapwriter with three
# children, each with 32 MiB of its own (too much to be copied while
# stopped). While the copy runs (slowed by CKPTD_FAULT=ckpt-copy-slow),
# one child exits (SIGUSR1: a thread it starts then calls exit_group), one
# is killed (SIGKILL), the last is stopped (SIGSTOP) and the parent takes
# a handled signal (SIGUSR2: it checks its memory). The checkpoint must
# succeed, with the rest of the memory of the two that went saved at their
# exits; the stopped child must still be stopped after the copy and take
# its pending signal at SIGCONT; and the image, which holds all four
# processes as they were at the freeze, restarts into four processes that
# check every page.
. "$(dirname "$0")/lib.sh"

# state PID: the one-letter state of a process
state() { awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

export CKPTD_FAULT=ckpt-copy-slow
start_ckptd

name=$P-exit
run_wl "$name" "$WL/snapwriter" 64 3
parent=$(host_pid "$name")
mapfile -t kids < <(pgrep -P "$parent" | sort -n)
[ "${#kids[@]}" = 3 ] || fail "$name: want 3 children of $parent, found ${kids[*]}"
leaver=${kids[0]} stopper=${kids[1]} killed=${kids[2]}

# the watch has seized every thread (the copy goes on only then)
armed=$(grep -c 'exit watch: [0-9]* threads seized' "$TMP/ckptd.log")
ckctl --json checkpoint "$name" --leave-running -o "$TMP/exit.img" >"$TMP/ckpt.out" 2>&1 &
ck=$!
for _ in $(seq 300); do
	[ "$(grep -c 'exit watch: [0-9]* threads seized' "$TMP/ckptd.log")" -gt "$armed" ] && break
	kill -0 "$ck" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$ck" 2>/dev/null || fail "the checkpoint ended before its copy could be acted on: $(cat "$TMP/ckpt.out")"

kill -USR1 "$leaver" || fail "kill -USR1 $leaver"
wait_log "$name" '^EXIT snapwriter child'
kill -KILL "$killed" || fail "kill -KILL $killed"
kill -STOP "$stopper" || fail "kill -STOP $stopper"
for _ in $(seq 100); do
	case $(state "$stopper") in T | t) break ;; esac
	sleep 0.1
done
case $(state "$stopper") in T | t) ;; *) fail "$stopper: not stopped by SIGSTOP during the copy: $(state "$stopper")" ;; esac
# a handled signal during the copy (ckptctl kill waits for the checkpoint):
# the parent checks its memory
passes=$(count_log "$name" '^PASS snapwriter parent')
kill -USR2 "$parent" || fail "kill -USR2 $parent"
wait_log_count "$name" '^PASS snapwriter parent' $(( passes + 1 )) 60
kill -0 "$ck" 2>/dev/null || fail "the copy ended before the exit and the signals: the test proves nothing"
info "during the copy: child $leaver exited, $killed was killed, $stopper stopped, the parent passed"

wait "$ck" || fail "checkpoint with an exit during the copy: $(cat "$TMP/ckpt.out")"
copy=$(json_get copy < "$TMP/ckpt.out")
[ "$copy" = background ] || fail "$name: memory was not copied in the background: $copy"
for p in "$leaver" "$killed"; do
	grep -E "task $p exits during the background copy: [1-9][0-9]* KiB" "$TMP/ckptd.log" >&2 ||
		fail "no memory of $p saved at its exit"
done
# the group stop outlives the copy's tracing; the pending SIGUSR2 waits for SIGCONT
[ "$(state "$stopper")" = T ] || fail "$stopper: state $(state "$stopper") after the copy, want T (stopped)"
passes=$(count_log "$name" '^PASS snapwriter child')
kill -CONT "$stopper" || fail "kill -CONT $stopper"
wait_log_count "$name" '^PASS snapwriter child' $(( passes + 1 )) 60
for p in "$parent" "$stopper"; do
	grep -q 'TracerPid:.0$' "/proc/$p/status" || fail "$p: still traced after the copy"
done
wl_passes "$name" snapwriter 1
info "after the copy: the stopped child resumed at SIGCONT and took its signal"

copy=$P-copy
ckctl run "$copy" --cwd "$WORK" -- /bin/true >/dev/null || fail "run $copy"
wait_state "$copy" stopped
ckctl restart "$copy" -i "$TMP/exit.img" >/dev/null || fail "restart $copy from the snapshot"
expect_state "$copy" running
sleep 1
wl_passes "$copy" snapwriter 4
for role in child0 child2; do
	ckctl logs "$copy" | grep -q "^PASS snapwriter $role " || fail "$copy: $role, gone during the copy, did not pass"
done
info "restart: all four processes of the freeze pass, the two gone during the copy too"
ckctl rm "$copy" >/dev/null || fail "rm $copy"
ckctl rm "$name" >/dev/null || fail "rm $name"
pass
