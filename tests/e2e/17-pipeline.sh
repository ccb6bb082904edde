#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A real shell pipeline no one here wrote, checkpointed and restarted while it
# runs: sh -c 'yes abcdefgh | head -c N | cat | cat | cksum' (six processes,
# four pipes full of bytes), 3 times through the store and once through
# `checkpoint -o - | restart -i -`, comparing every process before and after.
# cksum prints the CRC and the byte count: the log must end with exactly what
# the same stream gives outside any container, so not one byte was lost,
# duplicated or reordered. N is sized from this machine's own throughput so
# the pipeline outlives the cycles; if it finishes before the last cycle the
# attempt does not count and the next one is 4 times longer.
. "$(dirname "$0")/lib.sh"

start_ckptd
SECONDS_WANTED=${PIPELINE_SECONDS:-40}
ATTEMPTS=3
CYCLES=4	# the last one through a pipe

pipeline() { echo "yes abcdefgh | head -c $1 | cat | cat | cksum; echo pipeline-done"; }

# bytes per second of the pipeline here, from a 1 GB run in a container of
# this ckptd (a run outside may see other CPU limits)
calibrate()
{
	local m=1000000000 t0 t1 name=$P-calibrate
	t0=$(now_ms)
	ckctl run "$name" --cwd "$WORK" -- sh -c "$(pipeline $m)" >/dev/null || fail "run $name"
	wait_log "$name" '^pipeline-done$' 120
	t1=$(now_ms)
	ckctl rm "$name" >/dev/null || fail "rm $name"
	echo $(( m * 1000 / (t1 - t0 + 1) ))
}

# one_cycle NAME C: checkpoint + restart; returns 1 if the pipeline was
# already gone (finished), fails on anything else.
one_cycle()
{
	local name=$1 c=$2 out rc=0
	local -a st
	if grep -q pipeline-done <(logs "$name") || [ "$(ct_state "$name")" != running ]; then
		return 1
	fi
	# all six still there, or it is finishing: this attempt is too short
	e2e_tree_py "$(ct_init_host_pid "$name")" snap >"$TMP/pipe.before.$c" 2>/dev/null
	[ "$(snap_count "$TMP/pipe.before.$c")" = 6 ] || return 1
	if [ "$c" -lt "$CYCLES" ]; then
		out=$(ckctl checkpoint "$name" 2>&1) || rc=1
	else
		ckctl checkpoint "$name" -o - 2>"$TMP/ck.err" |
			ckctl restart "$name" -i - >"$TMP/rs.out" 2>"$TMP/rs.err"
		st=("${PIPESTATUS[@]}")
		[ "${st[0]}" = 0 ] && [ "${st[1]}" = 0 ] || rc=1
		out="checkpoint -o - exited ${st[0]}: $(cat "$TMP/ck.err"); restart -i - exited ${st[1]}: $(cat "$TMP/rs.err")"
	fi
	if [ $rc != 0 ]; then
		# finished under our feet: the checkpoint had nothing left to take
		sleep 0.5
		if grep -q pipeline-done <(logs "$name"); then
			log "the pipeline finished during cycle $c ($out)"
			return 1
		fi
		fail "cycle $c: $out"
	fi
	if [ "$c" -lt "$CYCLES" ]; then
		expect_state "$name" checkpointed
		[ -z "$(tree_host_pids "$name")" ] || fail "cycle $c: checkpointed, but processes are left"
		# its state is checked below, where a pipeline that ended at once
		# is told from one that did not come back
		ckctl restart "$name" >/dev/null || fail "cycle $c: restart $name"
	fi
	# it may end right after its restart (the calibration ran on a busier
	# machine): then this attempt was too short, not wrong
	if [ "$(ct_state "$name")" != running ]; then
		sleep 0.5
		grep -q pipeline-done <(logs "$name") && { log "the pipeline finished right after cycle $c"; return 1; }
		fail "cycle $c: state '$(ct_state "$name")' after the restart"
	fi
	snapshot_tree "$name" "$TMP/pipe.after.$c"
	if [ "$(snap_count "$TMP/pipe.after.$c")" != 6 ]; then
		sleep 0.5
		grep -q pipeline-done <(logs "$name") && { log "the pipeline finished right after cycle $c"; return 1; }
	fi
	same_snap "$TMP/pipe.before.$c" "$TMP/pipe.after.$c" "pipeline cycle $c"
	log "cycle $c ok ($(snap_count "$TMP/pipe.after.$c") processes)"
	return 0
}

rate=$(calibrate)
n=$(( rate * SECONDS_WANTED ))
[ "$n" -ge 1000000000 ] || n=1000000000
log "pipeline throughput here: $(( rate / 1000000 )) MB/s"
for attempt in $(seq $ATTEMPTS); do
	name=$P-pipe$attempt
	log "attempt $attempt: N=$n"
	ckctl run "$name" --cwd "$WORK" -- sh -c "$(pipeline $n)" >/dev/null || fail "run $name"
	# all six processes up: sh and its five children
	for i in $(seq 100); do
		[ "$(tree_host_pids "$name" | wc -l)" -ge 6 ] && break
		sleep 0.1
	done
	[ "$(tree_host_pids "$name" | wc -l)" = 6 ] ||
		fail "$name: $(tree_host_pids "$name" | wc -l) processes, want 6"
	done_all=1
	for c in $(seq $CYCLES); do
		sleep 1
		one_cycle "$name" "$c" || { done_all=0; break; }
	done
	t=$(( n * 10 / rate + 120 ))
	wait_log "$name" '^pipeline-done$' "$t"
	[ "$done_all" = 1 ] && break
	log "attempt $attempt: the pipeline finished before cycle $c: again, 4 times longer"
	ckctl rm "$name" >/dev/null
	n=$(( n * 4 ))
done
[ "$done_all" = 1 ] || fail "the pipeline kept finishing before $CYCLES cycles ($ATTEMPTS attempts)"

want=$(sh -c "yes abcdefgh | head -c $n | cksum") || fail "computing the expected cksum"
[ "$(echo "$want" | awk '{ print $2 }')" = "$n" ] || fail "cksum outside says '$want' for $n bytes"
logs "$name" >"$TMP/pipe.log"
printf '%s\npipeline-done\n' "$want" | diff -u - "$TMP/pipe.log" >&2 ||
	fail "the pipeline's output differs from '$want' (diff above)"
log "output: $want"
echo "PASS: $TEST_NAME"
