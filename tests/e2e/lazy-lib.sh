# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Shared by the lazy restart tests (72, 83, 84): what ckptd's log says of
# fills, and the fillers running. Sourced after lib.sh.

# fills_done: how many fills ended with every page in
fills_done() { grep -c "lazy restart: every page is in" "$TMP/ckptd.log"; }
# fills_failed NAME: how many fills of NAME failed
fills_failed() { grep -c "container $1: its lazily restored memory can't be filled" "$TMP/ckptd.log"; }
# fillers: the filler processes running
fillers() { comm_pids ckptd-filler; }

# wait_fill N [F]: until N fills ended, none failed but the F expected
wait_fill() {
	for _ in $(seq 1800); do
		[ "$(fills_done)" -ge "$1" ] && return 0
		[ "$(grep -c "can't be filled" "$TMP/ckptd.log")" -gt "${2:-0}" ] &&
			fail "a fill failed: $(grep "can't be filled" "$TMP/ckptd.log" | tail -n 1)"
		sleep 0.1
	done
	fail "the lazy fill did not end within 180 s"
}

# killed NAME N: NAME's Nth fill failed, said in ckptd's log; the
# container is stopped, no filler is left, ckptd is up
killed() {
	for _ in $(seq 300); do
		[ "$(fills_failed "$1")" -ge "$2" ] && break
		sleep 0.1
	done
	[ "$(fills_failed "$1")" -ge "$2" ] || fail "$1: no fill-failed in ckptd's log"
	wait_state "$1" stopped 30
	for _ in $(seq 50); do [ -z "$(fillers)" ] && break; sleep 0.1; done
	[ -z "$(fillers)" ] || fail "a filler outlived $1"
	ckptd_alive || fail "ckptd died"
}

# held_back NAME IMG [WHY]: restart NAME lazily from IMG through a pipe
# that pauses 8 s halfway. The tasks must run on the first half; the
# calling test's `post NAME` checks then wait for their pages and may pass
# only once the second half was sent (WHY: what the tasks would have
# waited for otherwise, for the message).
held_back() {
	local size half feeder
	size=$(stat -c %s "$2")
	half=$(( size / 2 ))
	rm -f "$TMP/sent"
	{ head -c "$half" "$2"; sleep 8; touch "$TMP/sent"; tail -c +$(( half + 1 )) "$2"; } |
		ckctl restart "$1" -i - --lazy >"$TMP/rs.out" 2>"$TMP/rs.err" &
	feeder=$!
	for _ in $(seq 300); do
		[ "$(state_of "$1")" = running ] && break
		[ -e "$TMP/sent" ] && break
		sleep 0.05
	done
	[ "$(state_of "$1")" = running ] || fail "$1 is '$(state_of "$1")' with half of its stream sent"
	[ -e "$TMP/sent" ] && fail "the restart waited for the whole stream${3:+ ($3)}"
	post "$1"
	[ -e "$TMP/sent" ] || fail "$1 passed its checks before its stream's second half was sent"
	wait "$feeder" || fail "restart -i - --lazy (held back) failed: $(cat "$TMP/rs.err")"
}
