#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Terminals' waiting input in canonical mode, and notification groups.
# ttylines (tests/workloads/ttylines.c): a pty in canonical mode with
# complete lines typed ahead of its reader (an empty one, end-of-files, a
# NUL inside one, one ended by VEOL) and a partial line holding a quoted
# newline and a flow control character: through 2 checkpoint/restart
# cycles and a --leave-running checkpoint, its reader reads the same lines
# with the same boundaries, and the partial line completes when more is
# typed. Output stopped by ^S and a packet mode status not read yet are
# refused by name, the container running on.
# fanmarks (tests/workloads/fanmarks.c, CAP_SYS_ADMIN): a fanotify group
# with marks on a file, on a directory (events on children) and an
# ignored mask on a file in it: through 2 cycles and a --leave-running
# checkpoint its fdinfo (flags, event flags, marks) is what it was, and a
# checker's writes show up as events with the right masks, the ignored
# file's not at all; again with a mount mark on the container's root
# mount. A group with events not read yet is refused by name.
. "$(dirname "$0")/lib.sh"

start_ckptd

name=$P-lines
run_ct "$name" "$WL/ttylines"
verify_ct "$name" ttylines
CR_CYCLES=0
for c in 1 2; do
	cr_cycle "$name"
	verify_ct "$name" ttylines
	log "ttylines: cycle $c ok: $(last_log "$name" '^PASS ttylines')"
done
# a checkpoint that leaves it running types back the lines it read
checkpoint_ct "$name" --leave-running
verify_ct "$name" ttylines
log "ttylines: --leave-running ok: $(last_log "$name" '^PASS ttylines')"
ckctl rm "$name" >/dev/null || fail "rm $name"

# refused by name, the container running on
refused() {
	local what=$1 name=$P-$1 re=$2 out
	shift 2
	run_ct "$name" "$@"
	out=$(ckctl checkpoint "$name" 2>&1) && fail "$name: checkpoint succeeded"
	echo "$out" | grep -Eq "task 2 \(host pid [0-9]+\): $re" || fail "$name: not refused by task, object and reason ($re): $out"
	[ "$(ct_state "$name")" = running ] || fail "$name: not running after the refusal"
	[ "$(images_count "$name")" = 0 ] || fail "$name: a refused checkpoint left an image"
	log "$what: $out"
	ckctl rm "$name" >/dev/null || fail "rm $name"
}
refused xoff 'fd [0-9]+ \(pts [0-9]+(, its master)?\): its output is stopped \(XOFF' "$PYTHON" -c \
	'import os, time; m, s = os.openpty(); os.write(m, b"\x13"); print("READY", flush=True); time.sleep(1000)'
refused pktstatus 'fd [0-9]+ \(pts [0-9]+(, its master)?\): a packet mode status change waits' "$PYTHON" -c \
	'import os, time, fcntl, termios, struct; m, s = os.openpty(); fcntl.ioctl(m, termios.TIOCPKT, struct.pack("i", 1));
termios.tcflush(s, termios.TCIFLUSH); print("READY", flush=True); time.sleep(1000)'

name=$P-fan
run_wl_cap SYS_ADMIN "$name" "$WL/fanmarks"
verify_ct "$name" fanmarks
CR_CYCLES=0
for c in 1 2; do
	cr_cycle "$name"
	verify_ct "$name" fanmarks
	log "fanmarks: cycle $c ok: $(last_log "$name" '^PASS fanmarks')"
done
checkpoint_ct "$name" --leave-running
verify_ct "$name" fanmarks
log "fanmarks: --leave-running ok"
ckctl rm "$name" >/dev/null || fail "rm $name"

# a mount mark too, on the container's root mount: it comes back on the new one
name=$P-fanmnt
run_wl_cap SYS_ADMIN "$name" "$WL/fanmarks" mount
verify_ct "$name" fanmarks
CR_CYCLES=0
cr_cycle "$name"
verify_ct "$name" fanmarks
log "fanmarks mount: ok: $(last_log "$name" '^PASS fanmarks')"
ckctl rm "$name" >/dev/null || fail "rm $name"

name=$P-fanq
run_wl_cap SYS_ADMIN "$name" "$WL/fanmarks" queued
out=$(ckctl checkpoint "$name" 2>&1) && fail "$name: checkpoint succeeded"
echo "$out" | grep -Eq 'task [0-9]+ \(host pid [0-9]+\): fd [0-9]+ \(fanotify\): [0-9]+ bytes of events not read yet \(1 event\)' ||
	fail "$name: not refused by task, fd and count: $out"
[ "$(ct_state "$name")" = running ] || fail "$name: not running after the refusal"
log "fanotify queued: $out"
ckctl rm "$name" >/dev/null || fail "rm $name"

echo "PASS: $TEST_NAME"
