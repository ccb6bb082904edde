#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Background snapshots: a --leave-running checkpoint write-protects the
# program's memory while it is stopped and copies it while it runs. The
# image must be the instant of the freeze: snapwriter writes its pages
# without pause and checks, after restart, that every page holds what its
# counter says. The original keeps running and passing; a multi-process
# tree with copy-on-write shared pages restores, and so does shared memory
# beside private memory; processes that come and go during the copy fail
# no snapshot; a checkpoint failing in the middle of the copy leaves
# nothing write-protected.
. "$(dirname "$0")/lib.sh"

# shellcheck source=tests/e2e/snap-lib.sh
. "$(dirname "$0")/snap-lib.sh"

# pass_all NAME COUNT: SIGUSR2, then COUNT more PASS lines (one per process)
pass_all() { wl_passes "$1" snapwriter "$2"; }

start_ckptd

# one process, 256 MiB written while it is copied
name=$P-one
# a container of the default capability set: the userfaultfd that handles
# the kernel's own faults too comes from /dev/userfaultfd, which needs no
# CAP_SYS_PTRACE in the task
run_wl "$name" "$WL/snapwriter" 256
pid=$(host_pid "$name")
snapshot "$pid" "$TMP/one.before"
checkpoint_bg "$name" "$TMP/one.img"
snapshot "$pid" "$TMP/one.after"
compare_snapshots "$TMP/one.before" "$TMP/one.after" "$name after a background snapshot"
no_uffd "$pid"
pass_all "$name" 1
c1=$(last_log "$name" '^PASS snapwriter' | awk '{print $4}')
sleep 0.2
pass_all "$name" 1
c2=$(last_log "$name" '^PASS snapwriter' | awk '{print $4}')
[ "$c2" -gt "$c1" ] || fail "$name: no progress after the snapshot ($c1, then $c2)"
target "$P-copy"
ckctl restart "$P-copy" -i "$TMP/one.img" >/dev/null || fail "restart $P-copy from the snapshot"
expect_state "$P-copy" running
# a full pass of writes checks every page against the one before it
sleep 1
pass_all "$P-copy" 1
info "one process: the original and its restarted snapshot pass"
ckctl rm "$P-copy" >/dev/null || fail "rm $P-copy"

# a tree: two children forked after the memory was filled share its upper half
tree=$P-tree
run_wl "$tree" "$WL/snapwriter" 64 2
checkpoint_bg "$tree" "$TMP/tree.img"
for p in $(tree_host_pids "$tree"); do no_uffd "$p"; done
pass_all "$tree" 3
target "$P-tree2"
ckctl restart "$P-tree2" -i "$TMP/tree.img" >/dev/null || fail "restart $P-tree2 from the snapshot"
expect_state "$P-tree2" running
sleep 1
pass_all "$P-tree2" 3
info "tree: the original and its restarted snapshot pass in every process"
ckctl rm "$P-tree2" >/dev/null || fail "rm $P-tree2"
ckctl rm "$tree" >/dev/null || fail "rm $tree"

# shared memory (copied while stopped) and private memory (copied while
# running) of the same instant: shmem checks its shared counters against
# private shadows
shm=$P-shm
run_wl "$shm" "$WL/shmem"
verify_ct "$shm" shmem
checkpoint_bg "$shm" "$TMP/shm.img"
verify_ct "$shm" shmem
target "$P-shm2"
ckctl restart "$P-shm2" -i "$TMP/shm.img" >/dev/null || fail "restart $P-shm2 from the snapshot"
expect_state "$P-shm2" running
verify_ct "$P-shm2" shmem
info "shared memory: the original and its restarted snapshot pass"
ckctl rm "$P-shm2" >/dev/null || fail "rm $P-shm2"
ckctl rm "$shm" >/dev/null || fail "rm $shm"

# processes that come and go while the memory is copied: spawner holds 64
# MiB and rewrites a page of it after each spawn; its children (dash, and
# the /bin/true it and spawner start without pause) exit, exec and appear
# all through the copy. Small processes are copied while stopped, so no
# background snapshot fails, and the restart of the last passes its checks.
if command -v dash >/dev/null; then
	sp=$P-spawn
	run_ct "$sp" "$WL/spawner" 64
	for i in $(seq 12); do
		checkpoint_bg "$sp" "$TMP/spawn.img"
	done
	verify_ct "$sp" spawner
	target "$P-spawn2"
	ckctl restart "$P-spawn2" -i "$TMP/spawn.img" >/dev/null || fail "restart $P-spawn2 from the snapshot"
	expect_state "$P-spawn2" running
	verify_ct "$P-spawn2" spawner
	info "transient processes: 12 background snapshots, the last restarted, both pass"
	ckctl rm "$P-spawn2" >/dev/null || fail "rm $P-spawn2"
	ckctl rm "$sp" >/dev/null || fail "rm $sp"
else
	info "no dash: the transient processes are not tried"
fi
ckptd_stop

# failing in the middle of the copy: nothing stays protected or open
export CKPTD_FAULT=ckpt-pages
start_ckptd
out=$(ckctl checkpoint "$name" --leave-running -o "$TMP/failed.img" 2>&1) && fail "checkpoint with a fault mid-copy succeeded: $out"
case $out in *"fault injected at ckpt-pages"*) ;; *) fail "mid-copy fault: unexpected error: $out" ;; esac
expect_state "$name" running
[ "$(host_pid "$name")" = "$pid" ] || fail "$name: a new host pid after the failed checkpoint"
snapshot "$pid" "$TMP/one.failed"
compare_snapshots "$TMP/one.before" "$TMP/one.failed" "$name after a failed background snapshot"
no_uffd "$pid"
pass_all "$name" 1
c3=$(last_log "$name" '^PASS snapwriter' | awk '{print $4}')
sleep 0.2
pass_all "$name" 1
c4=$(last_log "$name" '^PASS snapwriter' | awk '{print $4}')
[ "$c4" -gt "$c3" ] || fail "$name: stuck after the failed checkpoint ($c3, then $c4)"
info "failed mid-copy: $name runs on, unprotected"
ckctl rm "$name" >/dev/null || fail "rm $name"
pass
