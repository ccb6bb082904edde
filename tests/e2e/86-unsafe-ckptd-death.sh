#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ckptd itself dies (SIGKILL) while its checkpoint worker is inside a step
# no recovery undoes: the worker stops (CKPTD_FAULT=ckpt-repair:stop-worker)
# just after it turned TCP repair mode on for a connection of tcpsk. The
# shared ledger dies with ckptd; the worker must have recorded the step in
# the container's intent record before it began. Twice:
#   both   the worker is killed with ckptd (as a service stop kills all),
#          before the next ckptd starts;
#   stuck  the worker, stopped, outlives ckptd; the next ckptd waits for
#          it, kills it, and only then do the tasks die with it.
# Either way the next ckptd reports the container damaged and stopped with
# the step named (list, status and its log), never that it runs on; every
# host pid of the container is gone, its cgroup empty, no image, intent
# or borrow record left. And once more with ckptd killed after the window
# closed: then the checkpoint stands.
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/unsafe-lib.sh
. "$(dirname "$0")/unsafe-lib.sh"
# shellcheck source=tests/e2e/crash-lib.sh
. "$(dirname "$0")/crash-lib.sh"

# all_gone WHAT PIDS...: each exited within 10 s
all_gone() {
	local what=$1 pid
	shift
	for pid in "$@"; do
		for _ in $(seq 100); do gone "$pid" && break; sleep 0.1; done
		gone "$pid" || { ps -o pid,stat,comm -p "$pid" >&2; fail "$what: host pid $pid runs on"; }
	done
}

round() {
	local mode=$1 name=$P-$1 pids cg ckpt d=$STATE/containers/$P-$1 log_at pid st
	export CKPTD_FAULT=ckpt-repair:stop-worker
	start_ckptd
	unset CKPTD_FAULT
	run_tcpsk "$name"
	pids=$(tree_host_pids "$name")
	[ "$(echo "$pids" | wc -w)" -ge 2 ] || fail "$mode: tcpsk: want a parent and its echo child, got: $pids"
	cg=$(cgroup_dir_of "$(host_pid "$name")")
	[ -n "$cg" ] || fail "$mode: no cgroup for $name"
	ckctl checkpoint "$name" >"$TMP/ckpt-$mode.out" 2>&1 &
	ckpt=$!
	BG+=("$ckpt")
	wait_stopped_worker "$ckpt" "$TMP/ckpt-$mode.out"
	# the step is on disk before it began
	grep -qx 'unsafe=tcp-repair' "$d/intent" || fail "$mode: the intent record does not name the step: $(cat "$d/intent")"
	kill -KILL "$CKPTD_PID"
	{ wait "$CKPTD_PID"; } 2>/dev/null
	CKPTD_PID=
	wait "$ckpt" && fail "$mode: checkpoint answered success: $(cat "$TMP/ckpt-$mode.out")"
	if [ "$mode" = both ]; then
		kill -KILL "$WORKER"
		all_gone "$mode: the worker died in the repair window, yet" $pids
	else
		# tied to the worker alone: alive as long as it is
		sleep 1
		for pid in $pids; do
			gone "$pid" && fail "$mode: host pid $pid died before the worker did"
		done
	fi
	log_at=$(wc -l <"$TMP/ckptd.log")
	# a stuck worker is waited for (30 s), then killed, before ckptd answers
	CKPTD_START_WAIT_S=90 start_ckptd
	gone "$WORKER" || fail "$mode: the next ckptd left worker $WORKER of its predecessor alive"
	WORKER=
	all_gone "$mode: after the next ckptd's recovery" $pids
	tail -n +"$((log_at + 1))" "$TMP/ckptd.log" >"$TMP/recovery-$mode.log"
	info "$mode: $(grep -F "container $name:" "$TMP/recovery-$mode.log" | tr '\n' ' ')"
	grep -F "container $name:" "$TMP/recovery-$mode.log" | grep -F "damaged and stopped" |
		grep -qF "(a TCP connection in repair mode)" ||
		fail "$mode: the log does not report $name damaged, naming the step: $(cat "$TMP/recovery-$mode.log")"
	grep -F "container $name:" "$TMP/recovery-$mode.log" | grep -qF "runs on" &&
		fail "$mode: the log says $name runs on: $(grep -F "$name" "$TMP/recovery-$mode.log")"
	st=$(state_of "$name")
	[ "$st" = stopped ] || fail "$mode: status: $name is $st, not stopped"
	ckctl list | grep -qE "^${name}[[:space:]]+stopped" || fail "$mode: list: $name not stopped: $(ckctl list)"
	[ -z "$(cat "$cg/cgroup.procs" 2>/dev/null)" ] || fail "$mode: processes left in $cg: $(cat "$cg/cgroup.procs")"
	[ -e "$d/borrowed" ] && fail "$mode: the borrow record survived: $(cat "$d/borrowed")"
	[ -e "$d/intent" ] && fail "$mode: the intent record survived: $(cat "$d/intent")"
	[ -n "$(find "$d/images" -name '*.tmp' 2>/dev/null)" ] && fail "$mode: partial image left: $(ls "$d/images")"
	[ "$(images_count "$name")" = 0 ] || fail "$mode: an image was stored: $(ckctl images "$name")"
	ckptd_alive || fail "$mode: ckptd died"
	ckctl rm "$name" >/dev/null || fail "$mode: rm $name"
	ckptd_stop
}

# closed: ckptd dies once the window is over but before the checkpoint
# committed (a --leave-running checkpoint: connections out of repair mode
# and every task let go before the thaw; CKPTD_FAULT=ckpt-tail:crash, as
# the image's tail is written): the step is out of the intent record by
# then, so the next ckptd rolls the checkpoint back, and the container
# runs on, not damaged, its connections working (tcpsk checks them)
round_closed() {
	local name=$P-closed log_at out pid
	start_ckptd
	run_tcpsk "$name"
	pid=$(host_pid "$name")
	ckptd_stop
	export CKPTD_FAULT=ckpt-tail:crash
	start_ckptd
	unset CKPTD_FAULT
	log_at=$(wc -l <"$TMP/ckptd.log")
	out=$(ckctl checkpoint "$name" --leave-running 2>&1) && fail "closed: checkpoint answered success: $out"
	crash_ckptd closed
	start_ckptd
	tail -n +"$((log_at + 1))" "$TMP/ckptd.log" >"$TMP/recovery-closed.log"
	grep -F "container $name:" "$TMP/recovery-closed.log" | grep -qF "damaged" &&
		fail "closed: reported damaged after its window closed: $(grep -F "$name" "$TMP/recovery-closed.log")"
	no_leftovers "$name" closed
	[ "$(state_of "$name")" = running ] || fail "closed: $name is $(state_of "$name"), want running"
	[ "$(host_pid "$name")" = "$pid" ] || fail "closed: $name has a new host pid"
	[ "$(images_count "$name")" = 0 ] || fail "closed: an image was stored: $(ckctl images "$name")"
	verify_ct "$name" tcpsk
	info "closed: $(grep -F "container $name:" "$TMP/recovery-closed.log" | tr '\n' ' ')"
	ckctl rm "$name" >/dev/null || fail "closed: rm $name"
	ckptd_stop
}

round both
round stuck
round_closed
info "ckptd killed in the repair window: the next one reports the container damaged, naming the step"
pass
