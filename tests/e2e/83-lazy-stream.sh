#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# restart --lazy from a stream: `checkpoint -o - | restart -i - --lazy`.
# The reader stops at the first page a filler may bring later; the tasks
# run then, and the filler reads the rest of the stream in order. lazymem
# (256 MiB of patterned memory) checks every page after each restart,
# and its post-restart checks (a fork, a discard, a move, system calls on
# lazy pages) run while the stream is held back halfway: the restart has
# returned before the stream's second half was sent, and the faults wait
# for it. A stream cut short or corrupted in its lazy part kills the
# container by name (fill-failed), nothing of it left running.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lazy-lib.sh"

MIB=256
name=$P-s

# post NAME: the workload's own checks right after a lazy restart
post() {
	ckctl kill "$1" --signal USR1 >/dev/null || fail "kill -USR1 $1"
	wait_log "$1" '^POST ok' 120
	[ "$(count_log "$1" '^PASS lazymem-child')" -ge 1 ] || fail "$1: the child forked after the restart did not pass"
	verify_ct "$1" 'lazymem [0-9]'
}

ckptd_start
run_wl "$name" "$WL/lazymem" "$MIB"
verify_ct "$name" 'lazymem [0-9]'

# the pipe, at full speed, into a new container: the stream itself
ckctl checkpoint "$name" --leave-running -o - 2>"$TMP/ck.err" |
	ckctl restart "$name-n" -i - --lazy >"$TMP/rs.out" 2>"$TMP/rs.err"
st=("${PIPESTATUS[@]}")
[ "${st[0]}" = 0 ] || fail "checkpoint -o - exited ${st[0]}: $(cat "$TMP/ck.err")"
[ "${st[1]}" = 0 ] || fail "restart -i - --lazy exited ${st[1]}: $(cat "$TMP/rs.err")"
expect_state "$name-n" running
grep -q "filler [0-9]* reads the rest of the stream" "$TMP/ckptd.log" || fail "no filler read the stream"
wait_fill 1
verify_ct "$name-n" 'lazymem [0-9]'
info "pipe: $(grep "every page is in" "$TMP/ckptd.log" | tail -n 1)"
ckctl kill "$name-n" >/dev/null || fail "kill $name-n"
wait_state "$name-n" stopped 30
ckctl rm "$name-n" >/dev/null || fail "rm $name-n"

# into itself: the daemon spools the stream while the checkpoint runs,
# then restarts lazily from the spool file
ckctl checkpoint "$name" -o - 2>"$TMP/ck.err" | ckctl restart "$name" -i - --lazy >"$TMP/rs.out" 2>"$TMP/rs.err"
st=("${PIPESTATUS[@]}")
[ "${st[0]}" = 0 ] || fail "checkpoint -o - exited ${st[0]}: $(cat "$TMP/ck.err")"
[ "${st[1]}" = 0 ] || fail "restart -i - --lazy (spooled) exited ${st[1]}: $(cat "$TMP/rs.err")"
expect_state "$name" running
wait_fill 2
verify_ct "$name" 'lazymem [0-9]'

# held back halfway: the tasks run on the first half, faults wait for the rest
checkpoint_ct "$name" -o "$TMP/s.img"
held_back "$name" "$TMP/s.img"
size=$(stat -c %s "$TMP/s.img")
wait_fill 3
verify_ct "$name" 'lazymem [0-9]'
info "held back: $(grep "every page is in" "$TMP/ckptd.log" | tail -n 1)"
ckctl kill "$name" >/dev/null || fail "kill $name"
wait_state "$name" stopped 30

# cut short in its lazy part: the tasks ran, the filler meets the end
n=$(fills_done)
head -c $(( size * 3 / 4 )) "$TMP/s.img" | ckctl restart "$name" -i - --lazy >"$TMP/rs.out" 2>&1 ||
	fail "restart of a stream cut in its lazy part failed before the tasks ran: $(cat "$TMP/rs.out")"
killed "$name" 1
[ "$(fills_done)" = "$n" ] || fail "a stream cut short was filled"
info "cut short: $(grep "can't be filled" "$TMP/ckptd.log" | tail -n 1)"

# a byte changed in its lazy part: its MAC fails before it is copied in
cp "$TMP/s.img" "$TMP/bad.img"
printf '\x5a' | dd of="$TMP/bad.img" bs=1 seek=$(( size * 3 / 4 )) conv=notrunc status=none
ckctl restart "$name" -i - --lazy < <(cat "$TMP/bad.img") >"$TMP/rs.out" 2>&1 ||
	fail "restart of a stream corrupt in its lazy part failed before the tasks ran: $(cat "$TMP/rs.out")"
killed "$name" 2
[ "$(fills_done)" = "$n" ] || fail "a corrupt stream was filled"
info "corrupt: $(grep "can't be filled" "$TMP/ckptd.log" | tail -n 1)"
for cg in "${E2E_CGROUPS[@]}"; do
	for pid in $(cat "$cg/cgroup.procs" 2>/dev/null); do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = lazymem ] && fail "lazymem $pid runs after its fill failed"
	done
done

# the whole stream again, from the image file through a pipe: all there
ckctl restart "$name" -i - --lazy < <(cat "$TMP/s.img") >/dev/null || fail "restart -i - --lazy from the file's bytes"
expect_state "$name" running
wait_fill $(( n + 1 )) 2
verify_ct "$name" 'lazymem [0-9]'
pass
