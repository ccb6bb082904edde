# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Shared by the unsafe-window tests (80-unsafe-window, 86-unsafe-ckptd-death),
# after lib.sh: a tcpsk container, whose checkpoint puts a TCP connection
# in repair mode, and the worker CKPTD_FAULT=ckpt-repair:stop-worker stops
# inside that window.

# run_tcpsk NAME: tcpsk attaches a socket filter: CAP_NET_ADMIN (36-tcp.sh)
run_tcpsk() {
	ckctl run "$1" --cwd "$WORK" --cap-add NET_ADMIN -- "$WL/tcpsk" >/dev/null || fail "run $1"
	wait_log "$1" '^READY' 30
	expect_state "$1" running
	verify_ct "$1" tcpsk
}

# stopped_worker: the child of ckptd stopped at the fault point
stopped_worker() {
	local p
	for p in $(pgrep -P "$CKPTD_PID"); do
		[ "$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)" = T ] && echo "$p"
	done
}

# wait_stopped_worker CLIENT_PID OUT: sets WORKER to the worker stopped at
# the fault point, while the checkpoint (CLIENT_PID, answer in OUT) waits
wait_stopped_worker() {
	local _
	for _ in $(seq 300); do
		WORKER=$(stopped_worker)
		[ -n "$WORKER" ] && break
		kill -0 "$1" 2>/dev/null || fail "checkpoint ended before the fault point: $(cat "$2")"
		sleep 0.1
	done
	[ -n "$WORKER" ] || fail "no worker stopped at ckpt-repair within 30 s"
	[ "$(echo "$WORKER" | wc -w)" = 1 ] || fail "more than one stopped child of ckptd: $WORKER"
}

# gone PID: it exited (a zombie its frozen parent has not reaped is gone too)
gone() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}

# Cleanup first of all: the stopped worker (killed), a ckptd stopped by the
# test (continued), the test's background jobs ($BG); then lib.sh's.
BG=()
WORKER=
eval "e2e_cleanup_base() $(declare -f e2e_cleanup | tail -n +2)"
e2e_cleanup() {
	local rc=$? p
	[ -n "$WORKER" ] && kill -KILL "$WORKER" 2>/dev/null
	[ -n "$CKPTD_PID" ] && kill -CONT "$CKPTD_PID" 2>/dev/null
	for p in "${BG[@]}"; do
		kill "$p" 2>/dev/null
	done
	(exit "$rc")
	e2e_cleanup_base
}
