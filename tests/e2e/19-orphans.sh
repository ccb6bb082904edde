#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Children of init in a session (and a process group) whose leader exited:
# restart keeps them init's children, in that session and group, with a
# grandchild below one of them; 3 cycles, each process checking its ids.
. "$(dirname "$0")/lib.sh"

start_ckptd
name=$P-orphans
ckctl run "$name" -- "$WL/orphans" >/dev/null || fail "run $name"
wait_log "$name" '^READY orphans' 30
verify_ct "$name" orphans
for c in 1 2 3; do
	snapshot_tree "$name" "$TMP/before.$c"
	[ "$(snap_count "$TMP/before.$c")" = 3 ] || fail "cycle $c: not 3 processes: $(grep '^pid ' "$TMP/before.$c")"
	checkpoint_ct "$name"
	restart_ct "$name"
	snapshot_tree "$name" "$TMP/after.$c"
	same_snap "$TMP/before.$c" "$TMP/after.$c" "cycle $c"
	verify_ct "$name" orphans
	pass_grew "$name" orphans
	log "cycle $c ok: $(last_log "$name" '^PASS orphans')"
done
# A and C are init's children in session 2; A in group 2, C in its own; B is A's
ready=$(last_log "$name" '^READY orphans')
a=$(echo "$ready" | sed -n 's/.* a:\([0-9]*\).*/\1/p')
b=$(echo "$ready" | sed -n 's/.* b:\([0-9]*\).*/\1/p')
c=$(echo "$ready" | sed -n 's/.* c:\([0-9]*\).*/\1/p')
awk '$1 == "pid" { print $2, $4, $6, $8 }' "$TMP/after.3" >"$TMP/ids"
grep -qx "$a 1 2 2" "$TMP/ids" || fail "A ($a) is not a child of init in group 2, session 2: $(cat "$TMP/ids")"
grep -qx "$c 1 $c 2" "$TMP/ids" || fail "C ($c) is not a child of init leading its group in session 2: $(cat "$TMP/ids")"
grep -qx "$b $a 2 2" "$TMP/ids" || fail "B ($b) is not A's child in group 2, session 2: $(cat "$TMP/ids")"
ckctl rm "$name" >/dev/null || fail "rm $name"
echo "PASS: $TEST_NAME"
