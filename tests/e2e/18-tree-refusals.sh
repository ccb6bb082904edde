#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Refusals deep in a tree: the fork tree of 15-trees.sh, where one grandchild
# (g22) also holds something ckptd refuses (a unix socketpair with one of its
# ends in flight; a listening TCP socket). Each checkpoint flavour (store,
# --leave-running, -o FILE) must fail with an error naming that grandchild's
# pid inside the container and the reason, leave no image, and leave every
# process of the tree where it was: same host pids, not frozen, not stopped,
# not traced, and still working (a new PASS tree: every edge moved on).
. "$(dirname "$0")/lib.sh"

start_ckptd

refused_in_tree()
{
	local mode=$1 re=$2 name=$P-$1 out g22 pids flag
	run_ct "$name" "$WL/tree" "$mode"
	g22=$(last_log "$name" '^READY tree ' | sed -n 's/.* g22:\([0-9]*\).*/\1/p')
	[ -n "$g22" ] || fail "$mode: no g22 pid in '$(last_log "$name" '^READY')'"
	verify_ct "$name" tree
	pids=$(tree_host_pids "$name" | tr '\n' ' ')
	[ "$(echo "$pids" | wc -w)" = 7 ] || fail "$mode: $(echo "$pids" | wc -w) processes, want 7"
	for flag in "" --leave-running "-o $TMP/$mode.img"; do
		# shellcheck disable=SC2086
		out=$(ckctl checkpoint "$name" $flag 2>&1) && fail "checkpoint $flag of a tree holding a $mode socket succeeded"
		log "$mode ${flag:-(store)}: $out"
		echo "$out" | grep -q "^ckptctl: checkpoint: " || fail "$mode: not a clear error: $out"
		echo "$out" | grep -Eq "(task|pid) $g22([^0-9]|$)" ||
			fail "$mode: the error does not name g22 (pid $g22 in the container): $out"
		echo "$out" | grep -Eqi "$re" || fail "$mode: the error does not give the reason ($re): $out"
		# shellcheck disable=SC2086
		check_tree_running "$name" $pids
		[ "$(tree_host_pids "$name" | tr '\n' ' ')" = "$pids" ] ||
			fail "$mode: the tree's processes changed: '$pids' -> '$(tree_host_pids "$name" | tr '\n' ' ')'"
		verify_ct "$name" tree
		pass_grew "$name" tree
	done
	[ "$(images_count "$name")" = 0 ] || fail "$mode: a refused checkpoint left an image: $(ckctl images "$name")"
	if [ -s "$TMP/$mode.img" ] && ckctl inspect "$TMP/$mode.img" >/dev/null 2>&1; then
		fail "$mode: a refused checkpoint -o FILE wrote a complete image"
	fi
	ckctl rm "$name" >/dev/null || fail "rm $name"
}

refused_in_tree unix 'socket|unix'
refused_in_tree tcp 'socket.*not accepted'
echo "PASS: $TEST_NAME"
