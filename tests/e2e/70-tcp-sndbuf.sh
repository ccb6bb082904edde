#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# TCP connections whose program set SO_SNDBUF or SO_RCVBUF (4, 64 and
# 128 KiB; tests/workloads/tcpbuf.c), their queues full both ways behind
# them. A restart puts back every byte (in order, checked by the workload)
# whatever the kernel charges the repaired queues, and the sizes and
# SO_BUF_LOCK read as before: locked where the program set a size, left to
# TCP where it did not. Two cycles: the second saves what the first
# restored.
. "$(dirname "$0")/lib.sh"

start_ckptd
name=$P-tcpbuf
run_wl "$name" "$WL/tcpbuf"
log "$(last_log "$name" '^READY')"
for c in 1 2; do
	checkpoint_ct "$name"
	restart_ct "$name"
	verify_ct "$name" tcpbuf
	log "cycle $c ok: $(last_log "$name" '^PASS')"
done
ckctl rm "$name" >/dev/null || fail "rm $name"
echo "PASS: $TEST_NAME"
