#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A container that starts programs without pause (posix_spawn in a loop,
# and a dash loop that vforks for each /bin/true) is often frozen between a
# vfork and its child's exec. Such a freeze is a state that passes by
# itself: the checkpoint thaws, waits a moment and freezes again, and never
# refuses. 20 checkpoints with --leave-running, then one that kills and a
# restart; the workload checks itself after each.
. "$(dirname "$0")/lib.sh"

# The retry is a matter of the freeze: the copy is made while stopped
# (57-snapshot takes background copies of this workload).
export CKPTD_SNAPSHOT=frozen
start_ckptd
command -v dash >/dev/null || skip "no dash"
name=$P-spawn
run_ct "$name" "$WL/spawner"
pid=$(host_pid "$name")
for i in $(seq 20); do
	out=$(ckctl checkpoint "$name" --leave-running 2>&1) || fail "checkpoint $i of 20 --leave-running: $out"
	expect_state "$name" running
	[ "$(host_pid "$name")" = "$pid" ] || fail "$name: host pid changed from $pid to $(host_pid "$name")"
done
verify_ct "$name" spawner
retries=$(grep -c "$name: .*in a vfork.*trying again" "$TMP/ckptd.log")
info "20 checkpoints --leave-running passed; $retries freezes met a vfork and were tried again"
# its processes come and go by design, so /proc is not compared: the
# workload checks itself
ckctl checkpoint "$name" >/dev/null || fail "checkpoint $name"
expect_state "$name" checkpointed
ckctl restart "$name" >/dev/null || fail "restart $name"
expect_state "$name" running
verify_ct "$name" spawner
ckctl rm "$name" >/dev/null || fail "rm $name"
pass
