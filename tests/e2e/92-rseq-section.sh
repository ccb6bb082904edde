#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A thread stopped inside an rseq critical section. The kernel aborts the
# section when the thread returns to user space after a preemption; a
# thread that returns from a call injected into it returns elsewhere, and
# the kernel drops the section unaborted. So a checkpoint moves such a
# thread to the section's abort handler first, as the kernel would.
# rseqcs spins for ever inside a section that only an abort leaves, and
# fails if it ever spins there with the section dropped. It must pass
# after a --leave-running checkpoint (which injects calls into it) and in
# the restarted image.
. "$(dirname "$0")/lib.sh"

# shellcheck source=tests/e2e/snap-lib.sh
. "$(dirname "$0")/snap-lib.sh"

start_ckptd

name=$P-rseq
run_wl "$name" "$WL/rseqcs"
for round in 1 2 3; do
	ckctl checkpoint "$name" --leave-running -o "$TMP/rseq$round.img" >/dev/null || fail "checkpoint $name"
	sleep 0.3   # the watchdog looks twice, 50 ms apart
	verify_ct "$name" rseqcs
done
info "rseqcs: $(last_log "$name" '^PASS rseqcs' | awk '{ print $3 }') aborts, never spinning in a dropped section"
target "$P-back"
ckctl restart "$P-back" -i "$TMP/rseq3.img" >/dev/null || fail "restart $P-back"
expect_state "$P-back" running
sleep 0.3
verify_ct "$P-back" rseqcs
ckctl rm "$P-back" >/dev/null || fail "rm $P-back"
ckctl rm "$name" >/dev/null || fail "rm $name"
pass
