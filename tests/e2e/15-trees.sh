#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Process trees: a three-level fork tree talking through pipes (tree), two
# zombies reaped only after the restarts (zombie), a session leader with two
# process groups (session), two processes sharing anonymous shared memory and
# a memfd (shmem). Each: run, PASS, then 3 x (checkpoint into the store,
# restart) comparing every process of the container before and after
# (snapshot_tree: pids, parents, groups, sessions, states, threads, fds with
# shared pipes, maps with shared objects) and a new PASS whose counters grew.
# Last, a parent of 299 children (bench/forkmem), more than one batch of
# injected calls holds: once, the same comparison (without maps) and a
# PASS of all 300.
. "$(dirname "$0")/lib.sh"

start_ckptd
CYCLES=${CYCLES:-3}

# tree_cycles WORKLOAD NPROCS [ARGS...]
tree_cycles()
{
	local wl=$1 nprocs=$2 name=$P-$1 c n
	shift 2
	log "$wl: run"
	run_ct "$name" "$WL/$wl" "$@"
	sleep 0.5
	verify_ct "$name" "$wl"
	snapshot_tree "$name" "$TMP/$wl.start"
	n=$(snap_count "$TMP/$wl.start")
	[ "$n" = "$nprocs" ] || fail "$wl: $n processes in the container, want $nprocs: $(grep '^pid ' "$TMP/$wl.start")"
	CR_CYCLES=0
	for c in $(seq "$CYCLES"); do
		cr_tree_cycle "$name" "$wl"
		sleep 0.3
		fail_if_failed "$name"
		log "$wl: cycle $c ok: $(last_log "$name" "^PASS $wl")"
	done
}

# the fork tree: 7 processes, pipes full of bytes in flight at every checkpoint
tree_cycles tree 7
grep -q '^  fd .* pipe#' "$TMP/$P-tree.tree.before.1" || fail "tree: no pipe in the snapshot"
ckctl rm "$P-tree" >/dev/null || fail "rm $P-tree"

# zombies: the parent and its two zombies, reaped after the restarts with
# the statuses they died with
tree_cycles zombie 3
[ "$(grep -c '^pid .* state Z ' "$TMP/$P-zombie.tree.after.$CYCLES")" = 2 ] ||
	fail "zombie: not two zombies after the restarts: $(grep '^pid ' "$TMP/$P-zombie.tree.after.$CYCLES")"
ckctl kill "$P-zombie" --signal USR1 >/dev/null || fail "kill -USR1 $P-zombie"
wait_log "$P-zombie" '^PASS zombie reaped a:[0-9]+/42 b:[0-9]+/15$' 30
snapshot_tree "$P-zombie" "$TMP/zombie.reaped"
[ "$(snap_count "$TMP/zombie.reaped")" = 1 ] ||
	fail "zombie: reaped, but the container holds: $(grep '^pid ' "$TMP/zombie.reaped")"
verify_ct "$P-zombie" "zombie reaped"
ckctl rm "$P-zombie" >/dev/null || fail "rm $P-zombie"

# a session leader (pid 2, sid 2) and its groups {a, b} and {c}
tree_cycles session 4
awk '$1 == "pid" { print $2, $6, $8 }' "$TMP/$P-session.tree.after.$CYCLES" >"$TMP/session.ids"
[ "$(awk '$1 == 2 && $2 == 2 && $3 == 2' "$TMP/session.ids")" ] ||
	fail "session: the leader is not pid 2, group 2, session 2: $(cat "$TMP/session.ids")"
[ "$(awk '$3 == 2' "$TMP/session.ids" | wc -l)" = 4 ] ||
	fail "session: not all 4 in session 2: $(cat "$TMP/session.ids")"
[ "$(awk '{ print $2 }' "$TMP/session.ids" | sort -u | wc -l)" = 3 ] ||
	fail "session: not 3 process groups: $(cat "$TMP/session.ids")"
ckctl rm "$P-session" >/dev/null || fail "rm $P-session"

# shared anonymous memory and a memfd, mapped by both processes
tree_cycles shmem 2
for obj in '/dev/zero (deleted)' '/memfd:wl-shmem (deleted)'; do
	n=$(grep -F "$obj" "$TMP/$P-shmem.tree.after.$CYCLES" | grep '^  map ' | awk '{ print $6 }' | sort -u | wc -l)
	[ "$n" = 1 ] || fail "shmem: '$obj' is $n different objects after the restarts, want 1 shared"
done
ckctl rm "$P-shmem" >/dev/null || fail "rm $P-shmem"

# a wide tree: one parent of 299 children, each with 1 MiB of its own. The
# parent holds a pidfd of each child it forked until its last batch, which
# closes them: more than one batch's worth.
name=$P-wide
log "wide: run"
# (300 processes take a while to start on a loaded machine)
ckctl run "$name" --cwd "$WORK" -- "$BUILD/bench/forkmem" private 299 1 >/dev/null || fail "run $name"
wait_log "$name" '^READY' 120
expect_state "$name" running
verify_ct "$name" "forkmem private procs=300 "
# nomaps: each child maps its memory after the fork, next to a region it
# inherited; restart maps both afresh and the kernel merges them into one
# line of /proc/PID/maps. Every child checks every page of it itself.
snapshot_tree "$name" "$TMP/wide.before" nomaps
[ "$(snap_count "$TMP/wide.before")" = 300 ] || fail "wide: $(snap_count "$TMP/wide.before") processes, want 300"
checkpoint_ct "$name"
[ -z "$(tree_host_pids "$name")" ] || fail "$name: checkpointed, but processes are left"
restart_ct "$name"
snapshot_tree "$name" "$TMP/wide.after" nomaps
same_snap "$TMP/wide.before" "$TMP/wide.after" "wide"
verify_ct "$name" "forkmem private procs=300 "
log "wide: ok: $(last_log "$name" "^PASS forkmem")"
ckctl rm "$name" >/dev/null || fail "rm $name"

echo "PASS: $TEST_NAME"
