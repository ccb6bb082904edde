#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A real program no one here wrote: python3 in the middle of a loop holding
# a dict, a hash chain and a suspended generator survives 3 checkpoint/
# restart cycles and goes on (its own checks run every ~30 ms).
. "$(dirname "$0")/lib.sh"

py=$(python_bin)
[ -x "$py" ] || skip "no python3 interpreter"
start_ckptd
name=$P-py
run_ct "$name" "$py" -u "$REPO/tests/workloads/py-state.py"
sleep 0.5
verify_ct "$name" py-state
for c in 1 2 3; do
	cr_cycle "$name"
	sleep 0.3
	check_no_fail "$name"
	log "cycle $c ok: $(last_log "$name" '^PASS')"
done
# it goes on: iterations keep growing after the last restart
a=$(last_log "$name" '^PASS' | awk '{ print $3 }')
sleep 1
verify_ct "$name" py-state
b=$(last_log "$name" '^PASS' | awk '{ print $3 }')
[ "$b" -gt "$a" ] || fail "python made no progress after restart ($a -> $b)"
echo "PASS: $TEST_NAME"
