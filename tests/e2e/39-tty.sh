#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Terminals. The ptys workload (three pty pairs of the container's own
# devpts: raw mode, canonical mode with a partial line, packet mode, a lock,
# a window size, bytes waiting both ways, and a session whose controlling
# terminal is one of them with a foreground group of its own) through 3
# checkpoint/restart cycles, each proving itself; the container's devpts is
# its own, not the host's.
. "$(dirname "$0")/lib.sh"

start_ckptd
CYCLES=${CYCLES:-3}

name=$P-ptys
log "ptys: run"
run_ct "$name" "$WL/ptys"
verify_ct "$name" ptys
pid=$(host_pid "$name")
[ "$(stat -c %d "/proc/$pid/root/dev/pts")" != "$(stat -c %d /dev/pts)" ] ||
	fail "ptys: the container sees the host's /dev/pts"
snapshot_tree "$name" "$TMP/ptys.start"
[ "$(snap_count "$TMP/ptys.start")" = 3 ] || fail "ptys: not 3 processes: $(grep '^pid ' "$TMP/ptys.start")"
CR_CYCLES=0
for c in $(seq "$CYCLES"); do
	cr_tree_cycle "$name" ptys
	fail_if_failed "$name"
	log "ptys: cycle $c ok: $(last_log "$name" '^PASS ptys')"
done
# a checkpoint that leaves it running gives back the bytes it read
checkpoint_ct "$name" --leave-running
verify_ct "$name" ptys
pass_grew "$name" ptys
ckctl rm "$name" >/dev/null || fail "rm $name"

echo "PASS: $TEST_NAME"
