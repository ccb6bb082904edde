#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ckptd keeps answering while a large checkpoint is in progress: the image
# of a 1 GiB workload goes into a pipe whose reader waits 4 s before reading,
# so the checkpoint is certainly still running while we ask `list` and
# `version`; each must return within 2 s (a functional bound, not a benchmark)
# and `list` must show the container busy. Then the same against a
# checkpoint into the store, and the image is checked to be good.
. "$(dirname "$0")/lib.sh"

MIB=${BUSY_MIB:-1024}
avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
[ "$avail" -gt $((MIB * 3 + 512)) ] || skip "needs $((MIB * 3 + 512)) MiB available, have $avail"
start_ckptd
name=$P-big
run_ct "$name" "$WL/dirtymem" "$MIB"

timed()
{
	local t0 t1 out
	t0=$(now_ms)
	out=$(CKCTL_TIMEOUT=30 ckctl "$@" 2>&1) || fail "ckptctl $* during the checkpoint: $out"
	t1=$(now_ms)
	[ $((t1 - t0)) -le 2000 ] || fail "ckptctl $* took $((t1 - t0)) ms during a checkpoint"
	log "ckptctl $*: $((t1 - t0)) ms"
	REPLY=$out
}

# 1. stream into a slow reader
ckctl checkpoint "$name" -o - 2>"$TMP/ck.err" | { sleep 4; cat >"$TMP/big.img"; } &
ckpid=$!
sleep 1
timed version
timed --json list
kill -0 $ckpid 2>/dev/null || fail "the checkpoint was over before the requests: timing of the test is wrong"
echo "$REPLY" | grep -q '"state":"busy"' || fail "container not shown busy during its checkpoint: $REPLY"
timed images
wait $ckpid || fail "checkpoint -o - failed: $(cat "$TMP/ck.err")"
expect_state "$name" checkpointed
restart_ct "$name" -i "$TMP/big.img"
rm -f "$TMP/big.img"
verify_ct "$name" dirtymem

# 2. into the store: ask while it runs, as long as it runs
ckctl checkpoint "$name" >"$TMP/ck.out" 2>&1 &
ckpid=$!
n=0
while kill -0 $ckpid 2>/dev/null; do
	timed list
	n=$((n + 1))
	sleep 0.05
done
wait $ckpid || fail "checkpoint into the store failed: $(cat "$TMP/ck.out")"
log "$n list requests answered during the store checkpoint"
restart_ct "$name"
verify_ct "$name" dirtymem
echo "PASS: $TEST_NAME"
