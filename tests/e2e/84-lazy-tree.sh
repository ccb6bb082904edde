#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# restart --lazy from a stream, of a tree: lazymem in tree mode is a
# parent and a worker, each with MIB MiB of patterned memory of its own.
# Every process's lazy pages come after every process's other pages in the
# stream (the lazy parts), so the tasks run once those are in, and the
# filler reads both processes' lazy pages in order. Held back halfway
# (the worker's lazy part wholly in the second half), the restart returns
# before the rest is sent, and both processes' post-restart checks (a
# fork, a discard, a move, system calls on lazy pages) run then and wait
# for their pages; then every page of both is checked. A stream cut short
# or corrupted in the worker's lazy part kills the container by name,
# nothing of it left running. The same image restarted lazily from a file
# and eagerly from a stream is exact too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lazy-lib.sh"

MIB=96
name=$P-t

# verify_tree NAME: both processes check every page (the parent's PASS
# comes only after the worker's)
verify_tree() {
	local w
	w=$(count_log "$1" '^PASS lazymem-worker [0-9]')
	verify_ct "$1" 'lazymem [0-9]'
	[ "$(count_log "$1" '^PASS lazymem-worker [0-9]')" -gt "$w" ] || fail "$1: the worker did not check its memory"
}

# post NAME: both processes' own checks right after a lazy restart
post() {
	ckctl kill "$1" --signal USR1 >/dev/null || fail "kill -USR1 $1"
	wait_log "$1" '^POST ok' 120
	[ "$(count_log "$1" '^WORKER POST ok')" -ge 1 ] || fail "$1: the worker did not run its checks"
	[ "$(count_log "$1" '^PASS lazymem-child')" -ge 2 ] || fail "$1: a child forked after the restart did not pass"
	verify_tree "$1"
}

stop_ct() {
	ckctl kill "$1" >/dev/null || fail "kill $1"
	wait_state "$1" stopped 30
}

ckptd_start
run_wl "$name" "$WL/lazymem" "$MIB" tree
verify_tree "$name"

# the pipe, at full speed, into a new container
ckctl checkpoint "$name" --leave-running -o - 2>"$TMP/ck.err" |
	ckctl restart "$name-n" -i - --lazy >"$TMP/rs.out" 2>"$TMP/rs.err"
st=("${PIPESTATUS[@]}")
[ "${st[0]}" = 0 ] || fail "checkpoint -o - exited ${st[0]}: $(cat "$TMP/ck.err")"
[ "${st[1]}" = 0 ] || fail "restart -i - --lazy exited ${st[1]}: $(cat "$TMP/rs.err")"
expect_state "$name-n" running
grep -q "filler [0-9]* reads the rest of the stream from the lazy part of task" "$TMP/ckptd.log" ||
	fail "no filler read the stream's lazy parts"
wait_fill 1
verify_tree "$name-n"
info "pipe: $(grep "every page is in" "$TMP/ckptd.log" | tail -n 1)"
stop_ct "$name-n"
ckctl rm "$name-n" >/dev/null || fail "rm $name-n"

# held back halfway: the parent's lazy part ends there at the earliest,
# the worker's is all in the second half; the tasks run on the first half
checkpoint_ct "$name" -o "$TMP/t.img"
held_back "$name" "$TMP/t.img" "the worker's lazy pages"
size=$(stat -c %s "$TMP/t.img")
wait_fill 2
verify_tree "$name"
info "held back: $(grep "every page is in" "$TMP/ckptd.log" | tail -n 1)"
stop_ct "$name"

# cut short in the worker's lazy part: the tasks ran, the filler meets the end
n=$(fills_done)
head -c $(( size * 3 / 4 )) "$TMP/t.img" | ckctl restart "$name" -i - --lazy >"$TMP/rs.out" 2>&1 ||
	fail "restart of a stream cut in its lazy parts failed before the tasks ran: $(cat "$TMP/rs.out")"
killed "$name" 1
[ "$(fills_done)" = "$n" ] || fail "a stream cut short was filled"
info "cut short: $(grep "can't be filled" "$TMP/ckptd.log" | tail -n 1)"

# a byte changed in the worker's lazy part: its MAC fails before it is copied in
cp "$TMP/t.img" "$TMP/bad.img"
printf '\x5a' | dd of="$TMP/bad.img" bs=1 seek=$(( size * 7 / 8 )) conv=notrunc status=none
ckctl restart "$name" -i - --lazy < <(cat "$TMP/bad.img") >"$TMP/rs.out" 2>&1 ||
	fail "restart of a stream corrupt in its lazy parts failed before the tasks ran: $(cat "$TMP/rs.out")"
killed "$name" 2
[ "$(fills_done)" = "$n" ] || fail "a corrupt stream was filled"
info "corrupt: $(grep "can't be filled" "$TMP/ckptd.log" | tail -n 1)"
for cg in "${E2E_CGROUPS[@]}"; do
	while read -r pid; do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = lazymem ] && fail "lazymem $pid runs after its fill failed"
	done < <(cat "$cg/cgroup.procs" 2>/dev/null)
done

# lazily from the file (it seeks), then eagerly from a stream: exact too
ckctl restart "$name" -i "$TMP/t.img" --lazy >/dev/null || fail "restart -i FILE --lazy"
expect_state "$name" running
wait_fill $(( n + 1 )) 2
verify_tree "$name"
stop_ct "$name"
ckctl restart "$name" -i - < <(cat "$TMP/t.img") >/dev/null || fail "restart -i - (eager)"
expect_state "$name" running
verify_tree "$name"
pass
