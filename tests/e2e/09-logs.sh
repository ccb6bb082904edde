#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `ckptctl logs` shows the container's output from before and after a
# restart, in order, once.
. "$(dirname "$0")/lib.sh"

start_ckptd
name=$P-cnt
run_ct "$name" "$WL/counter"
wait_log "$name" '^counter 200$' 10
checkpoint_ct "$name"
last=$(last_log "$name" '^counter ' | awk '{ print $2 }')
ckctl logs "$name" >"$TMP/log.ckpt" || fail "logs of a checkpointed container"
grep -q '^READY$' "$TMP/log.ckpt" || fail "log of the checkpointed container lost its start"
restart_ct "$name"
wait_log "$name" "^counter $((last + 100))\$" 10
ckctl logs "$name" >"$TMP/log.after" || fail "logs after restart"
# what was there before is still there, at the start
head -c "$(stat -c %s "$TMP/log.ckpt")" "$TMP/log.after" | cmp -s - "$TMP/log.ckpt" ||
	fail "log after restart does not start with the log from before"
[ "$(grep -c '^READY$' "$TMP/log.after")" = 1 ] || fail "READY appears $(grep -c '^READY$' "$TMP/log.after") times"
awk '/^counter / { if (seen && $2 + 0 <= prev) { print "counter went " prev " -> " $2; bad = 1 } prev = $2 + 0; seen = 1 } END { exit bad }' \
	"$TMP/log.after" || fail "counter lines not increasing in the log"
ckctl kill "$name" >/dev/null || fail "kill"
wait_state "$name" stopped 10
ckctl logs "$name" | grep "^counter $((last + 100))\$" >/dev/null || fail "logs of a stopped container"
echo "PASS: $TEST_NAME"
