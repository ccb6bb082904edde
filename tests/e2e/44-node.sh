#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# node (Debian's nodejs): an HTTP server and a keep-alive client in one
# event loop, a setInterval and an fs.watch (tests/workloads/node-loop.js)
# through 3 checkpoint/restart cycles, --leave-running and a pipe into the
# same container. After each, the workload's own checks pass (every reply
# in order on the same connection, no timer burst), requests go on, and a
# file it writes after the restart is seen by its watcher.
. "$(dirname "$0")/lib.sh"

NODE=$(command -v node || command -v nodejs || true)
[ -n "$NODE" ] || skip "node is not installed (tests/run.sh installs nodejs)"
start_ckptd
name=$P-node
mkdir -p "$WORK/watched"
run_ct "$name" "$NODE" "$REPO/tests/workloads/node-loop.js" "$WORK/watched"
sleep 0.5
verify_ct "$name" node-loop

# requests answered and files seen grow after a restart
goes_on() {
	local what=$1 g0 w0 g1 w1
	g0=$(last_log "$name" '^PASS node-loop' | sed 's/.* got=\([0-9]*\).*/\1/')
	w0=$(last_log "$name" '^PASS node-loop' | sed 's/.* watched=\([0-9]*\).*/\1/')
	ckctl kill "$name" --signal USR1 >/dev/null || fail "kill -USR1 $name"
	sleep 1
	verify_ct "$name" node-loop
	g1=$(last_log "$name" '^PASS node-loop' | sed 's/.* got=\([0-9]*\).*/\1/')
	w1=$(last_log "$name" '^PASS node-loop' | sed 's/.* watched=\([0-9]*\).*/\1/')
	[ "$g1" -gt "$g0" ] || fail "$what: no request answered after it ($g0 -> $g1)"
	[ "$w1" -gt "$w0" ] || fail "$what: the watcher saw no file written after it ($w0 -> $w1)"
	log "$what: requests $g0 -> $g1, files seen $w0 -> $w1"
}

for c in 1 2 3; do
	checkpoint_ct "$name"
	restart_ct "$name"
	goes_on "cycle $c"
done
checkpoint_ct "$name" --leave-running
goes_on "--leave-running"
ckctl checkpoint "$name" -o - 2>"$TMP/ck.err" | ckctl restart "$name" -i - >/dev/null 2>"$TMP/rs.err"
st=("${PIPESTATUS[@]}")
[ "${st[0]}" = 0 ] || fail "checkpoint -o - exited ${st[0]}: $(cat "$TMP/ck.err")"
[ "${st[1]}" = 0 ] || fail "restart -i - exited ${st[1]}: $(cat "$TMP/rs.err")"
goes_on "the pipe"
ckctl rm "$name" >/dev/null || fail "rm $name"
echo "PASS: $TEST_NAME"
