#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Event and notification fds: an epoll loop (tests/workloads/evloop.c) over
# eventfds (semaphore and normal, counts pending), timerfds (periodic with
# unread ticks, CLOCK_REALTIME with TFD_TIMER_ABSTIME), a signalfd with a
# queued signal pending, a pipe holding data, a nested epoll, an EPOLLONESHOT
# and an EPOLLET target: 3 cycles through the store, one --leave-running
# then a restart of that image, one `checkpoint -o - | restart -i -`; the
# loop checks every source through the epoll each turn. An epoll target
# whose fd number was closed is refused. Then a real
# program: python3 asyncio (call_later timers, add_reader on a pipe,
# asyncio.sleep) through 3 cycles, checking its own state; while sockets
# are refused, asyncio's self-pipe socketpair must be the only refusal.
. "$(dirname "$0")/lib.sh"

start_ckptd
name=$P-ev
run_ct "$name" "$WL/evloop"
sleep 0.5
verify_ct "$name" evloop
for c in 1 2 3; do
	cr_tree_cycle "$name" evloop
	sleep 0.3
	check_no_fail "$name"
	log "cycle $c ok: $(last_log "$name" '^PASS')"
done

# --leave-running: it goes on, and the image restarts
checkpoint_ct "$name" --leave-running
sleep 0.3
verify_ct "$name" evloop
pid=$(host_pid "$name")
ckctl kill "$name" >/dev/null || fail "kill $name"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait_state "$name" stopped 10
restart_ct "$name"
sleep 0.3
verify_ct "$name" evloop
log "leave-running ok: $(last_log "$name" '^PASS')"

# a stream
ckctl checkpoint "$name" -o - 2>"$TMP/ck.err" | ckctl restart "$name" -i - >"$TMP/rs.out" 2>"$TMP/rs.err"
st=("${PIPESTATUS[@]}")
[ "${st[0]}" = 0 ] || fail "checkpoint -o - exited ${st[0]}: $(cat "$TMP/ck.err")"
[ "${st[1]}" = 0 ] || fail "restart -i - exited ${st[1]}: $(cat "$TMP/rs.err")"
sleep 0.3
verify_ct "$name" evloop
# the timers went on firing: more ticks than at the first PASS after the stream
a=$(last_log "$name" '^PASS' | sed 's/.*ticks=\([0-9]*\).*/\1/')
sleep 1
verify_ct "$name" evloop
b=$(last_log "$name" '^PASS' | sed 's/.*ticks=\([0-9]*\).*/\1/')
[ "$b" -gt "$a" ] || fail "the periodic timer made no progress after the stream ($a -> $b ticks)"
log "stream ok: $(last_log "$name" '^PASS')"
ckctl rm "$name" >/dev/null || fail "rm $name"

# an epoll target registered under an fd number that no longer holds it:
# refused by name, and the loop goes on
name=$P-stale
run_ct "$name" "$WL/evloop" stale
sleep 0.3
out=$(ckctl checkpoint "$name" 2>&1) && fail "checkpoint of a stale epoll target succeeded"
case $out in
*"anon_inode:[eventpoll]"*"registered as fd "*"no longer open at that number"*) ;;
*) fail "stale epoll target: unexpected refusal: $out" ;;
esac
expect_state "$name" running
verify_ct "$name" evloop
log "stale target refused: $out"
ckctl rm "$name" >/dev/null || fail "rm $name"

py=$(python_bin)
[ -x "$py" ] || skip "no python3 interpreter"
name=$P-asyncio
run_ct "$name" "$py" -u "$REPO/tests/workloads/py-asyncio.py"
sleep 0.5
verify_ct "$name" py-asyncio
# asyncio's loop wakes itself through a socketpair: where sockets are
# refused, that must be the one thing refused, and the loop goes on
out=$(ckctl checkpoint "$name" --leave-running 2>&1)
if [ $? != 0 ]; then
	case $out in
	*"socket:["*"sockets are not supported"*) ;;
	*) fail "checkpoint of asyncio refused for something other than its socketpair: $out" ;;
	esac
	expect_state "$name" running
	verify_ct "$name" py-asyncio
	log "asyncio: refused only for its self-pipe socketpair ($out); its cycles wait for sockets"
	echo "PASS: $TEST_NAME"
	exit 0
fi
for c in 1 2 3; do
	cr_tree_cycle "$name" py-asyncio
	sleep 0.3
	check_no_fail "$name"
	log "asyncio cycle $c ok: $(last_log "$name" '^PASS')"
done
echo "PASS: $TEST_NAME"
