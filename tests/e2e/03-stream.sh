#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Images outside the store: `checkpoint -o - | restart -i -` through a pipe,
# and `checkpoint -o FILE` then `restart -i FILE`.
. "$(dirname "$0")/lib.sh"

start_ckptd
name=$P-mem
run_ct "$name" "$WL/memory" "$TMP/wd"
sleep 0.3
verify_ct "$name" memory

for c in 1 2; do
	snapshot "$(host_pid "$name")" "$TMP/pipe.before.$c"
	ckctl checkpoint "$name" -o - 2>"$TMP/ck.err" | ckctl restart "$name" -i - >"$TMP/rs.out" 2>"$TMP/rs.err"
	st=("${PIPESTATUS[@]}")
	[ "${st[0]}" = 0 ] || fail "checkpoint -o - exited ${st[0]}: $(cat "$TMP/ck.err")"
	[ "${st[1]}" = 0 ] || fail "restart -i - exited ${st[1]}: $(cat "$TMP/rs.err")"
	[ "$(ct_state "$name")" = running ] || fail "$name is $(ct_state "$name") after the pipe"
	[ "$(ct_pid "$name")" = 2 ] || fail "$name: pid $(ct_pid "$name") after the pipe"
	snapshot "$(host_pid "$name")" "$TMP/pipe.after.$c"
	compare_snapshots "$TMP/pipe.before.$c" "$TMP/pipe.after.$c" "pipe cycle $c"
	verify_ct "$name" memory
	log "pipe cycle $c ok"
done

snapshot "$(host_pid "$name")" "$TMP/file.before"
checkpoint_ct "$name" -o "$TMP/mem.img"
[ -s "$TMP/mem.img" ] || fail "checkpoint -o FILE wrote nothing"
[ "$(images_count "$name")" = 0 ] ||
	fail "checkpoint -o FILE also stored an image: $(ckctl images "$name")"
ckctl inspect "$TMP/mem.img" >"$TMP/inspect.txt" || fail "inspect $TMP/mem.img: $(tail -n 3 "$TMP/inspect.txt")"
restart_ct "$name" -i "$TMP/mem.img"
snapshot "$(host_pid "$name")" "$TMP/file.after"
compare_snapshots "$TMP/file.before" "$TMP/file.after" "file image"
verify_ct "$name" memory
echo "PASS: $TEST_NAME"
