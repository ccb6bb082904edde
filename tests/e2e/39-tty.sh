#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Terminals. The ptys workload (three pty pairs of the container's own
# devpts: raw mode, canonical mode with a partial line, packet mode, a lock,
# a window size, bytes waiting both ways, and a session whose controlling
# terminal is one of them with a foreground group of its own) through 3
# checkpoint/restart cycles, each proving itself; the container's devpts is
# its own, not the host's. An interactive bash on a console (run -t),
# driven through attach from a pty of our own (tests/tools/console.py),
# keeps its variables and cwd across checkpoint and restart, and its
# console across a ckptd restart. script(1)
# records a counter through its pty across a restart. tmux with a shell
# loop in a pane (its server on a unix socket) is checkpointed and
# restarted, its pane output going on through attach. Terminals
# restart can't give back are refused by name, the container running on.
. "$(dirname "$0")/lib.sh"

CONSOLE=$REPO/tests/tools/console.py
# console NAME [SEND EXPECT]...: attach to NAME's console, talk, detach
console() { "$PYTHON" "$CONSOLE" "$CKPTCTL" "$SOCK" "$@"; }

start_ckptd
CYCLES=${CYCLES:-3}

name=$P-ptys
log "ptys: run"
run_ct "$name" "$WL/ptys"
verify_ct "$name" ptys
pid=$(host_pid "$name")
[ "$(stat -c %d "/proc/$pid/root/dev/pts")" != "$(stat -c %d /dev/pts)" ] ||
	fail "ptys: the container sees the host's /dev/pts"
snapshot_tree "$name" "$TMP/ptys.start"
[ "$(snap_count "$TMP/ptys.start")" = 3 ] || fail "ptys: not 3 processes: $(grep '^pid ' "$TMP/ptys.start")"
CR_CYCLES=0
for c in $(seq "$CYCLES"); do
	cr_tree_cycle "$name" ptys
	fail_if_failed "$name"
	log "ptys: cycle $c ok: $(last_log "$name" '^PASS ptys')"
done
# a checkpoint that leaves it running gives back the bytes it read
checkpoint_ct "$name" --leave-running
verify_ct "$name" ptys
pass_grew "$name" ptys
ckctl rm "$name" >/dev/null || fail "rm $name"

# an interactive bash on the console: its variables and cwd outlive a restart
name=$P-bash
ckctl run -t "$name" -- bash --norc --noprofile >/dev/null || fail "run -t $name"
[ "$(ct_field "$name" tty)" = True ] || [ "$(ct_field "$name" tty)" = true ] || fail "$name: list does not say it has a console"
console "$name" 'cd /tmp && X=ckpt$((6*7)) && PS1=%%\r' '%%' 'echo "v=$X d=$PWD t=$(tty)"\r' 'v=ckpt42 d=/tmp t=/dev/pts/0' ||
	fail "$name: bash on the console before the checkpoint"
CR_CYCLES=0
for c in 1 2; do
	checkpoint_ct "$name"
	restart_ct "$name"
	console "$name" 'echo "v=$X d=$PWD t=$(tty) s=$(ps -o sid= $$) f=$(ps -o tpgid= $$)"\r' \
		'v=ckpt42 d=/tmp t=/dev/pts/0 s= *2 f= *2' || fail "$name: bash on the console after restart $c"
	log "bash: cycle $c ok"
done
# a ckptd restarted while the container runs finds its console again
ckptd_stop
ckptd_start
console "$name" 'echo "v=$X again"\r' 'v=ckpt42 again' || fail "$name: no console after a ckptd restart"
# attach ends when the console's last holder goes
console "$name" 'exit\r' 'exit' || fail "$name: bash did not exit"
wait_state "$name" stopped 10
ckctl attach "$name" </dev/null >/dev/null 2>&1 && fail "$name: attach to a stopped container succeeded"
ckctl rm "$name" >/dev/null || fail "rm $name"

# script(1): a counter recorded through its pty goes on after a restart,
# with the end-of-file script sent its shell for its empty stdin pending
name=$P-script
ckctl run "$name" --cwd "$WORK" -- script -q -f -c \
	'i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.1; done' "$WORK/typescript" >/dev/null || fail "run $name"
ticks() { tr -d '\r' <"$WORK/typescript" | awk '$1 == "tick" { n = $2 } END { print n + 0 }'; }
sleep 1
checkpoint_ct "$name"
t1=$(ticks)
restart_ct "$name"
for _ in $(seq 50); do [ "$(ticks)" -gt $((t1 + 5)) ] && break; sleep 0.2; done
[ "$(ticks)" -gt $((t1 + 5)) ] || fail "$name: the counter stopped at $(ticks) after the restart (was $t1)"
tr -d '\r' <"$WORK/typescript" | awk '$1 == "tick" && $2 != ++n { print "tick " $2 " after " n - 1; exit 1 }' ||
	fail "$name: the counter did not go on where it was"
log "script: counter went on from $t1 to $(ticks)"
ckctl rm "$name" >/dev/null || fail "rm $name"

# tmux with a shell loop in a pane, on the console
name=$P-tmux
ckctl run -t "$name" --cwd "$WORK" -- tmux -S "$WORK/tmux.sock" new-session \
	'i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done' >/dev/null || fail "run -t $name"
sleep 1
pane() { tmux -S "$WORK/tmux.sock" capture-pane -p | awk '$1 == "tick" { n = $2 } END { print n + 0 }'; }
console "$name" '' 'tick [0-9]+' || fail "$name: no pane output through attach"
out=$(ckctl checkpoint "$name" 2>&1) || fail "checkpoint $name: $out"
restart_ct "$name"
t1=$(pane)
console "$name" '' "tick $((t1 + 3))" || fail "$name: the pane's output did not go on after the restart"
log "tmux: restarted, pane went on past tick $((t1 + 3))"
ckctl rm "$name" >/dev/null || fail "rm $name"

# refused by name, the container running on: a terminal that is not a
# pty of the container's devpts
refused() {
	local what=$1 name=$P-$1 re=$2 out
	shift 2
	run_ct "$name" "$PYTHON" -c "$@"
	out=$(ckctl checkpoint "$name" 2>&1) && fail "$name: checkpoint succeeded"
	echo "$out" | grep -Eq "task 2 \(host pid [0-9]+\): $re" || fail "$name: not refused by task, object and reason ($re): $out"
	[ "$(ct_state "$name")" = running ] || fail "$name: not running after the refusal"
	[ "$(images_count "$name")" = 0 ] || fail "$name: a refused checkpoint left an image"
	log "$what: $out"
	ckctl rm "$name" >/dev/null || fail "rm $name"
}
refused console 'fd 3 \(/dev/console\): terminals other than the ptys of the container.s devpts' \
	'import os, time; fd = os.open("/dev/console", os.O_RDONLY | os.O_NOCTTY); print("READY", flush=True); time.sleep(1000)'

echo "PASS: $TEST_NAME"
