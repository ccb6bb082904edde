#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The end of a background snapshot lifts the write-protection from inside
# the program, borrowing one of its threads a few milliseconds at a time
# (daemon/cr/snap_lift.h), since lifting it from outside stalls the whole
# program. snaplift writes its memory without pause from its main thread
# while another thread sits in read() with a mask of its own and a third
# in nanosleep() with every signal blocked, both under a seccomp filter
# that kills the process for any call the lifting injects, and a fourth
# forks children that must not see a stray fd; after each snapshot it
# checks that every page, its fd table, each thread's mask and each
# blocked call are as they were, and ckptd's log must say that all of its
# memory was lifted from inside one of the threads that sleep. A process stopped by SIGSTOP has no thread to
# borrow: it is lifted from outside and stays stopped. With the fault
# point snap-lift-outside the old path is checked the same way; and a
# checkpoint canceled while it lifts (slowed by snap-lift-slow) leaves the
# program running, unprotected and unharmed.
. "$(dirname "$0")/lib.sh"

# shellcheck source=tests/e2e/snap-lib.sh
. "$(dirname "$0")/snap-lib.sh"

state() { awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# lifted_inside PID MIN_KIB: the last snapshot lifted at least MIN_KIB of
# PID's memory from inside it, borrowing one of the threads that sleep
# (not the leader, which writes: its fd is taken with a pidfd of the
# thread's own), left no thread of it traced, and logged no failure to
lifted_inside() {
	local line kib tid f
	line=$(grep "task $1: protection lifted from inside" "$TMP/ckptd.log" | tail -n 1)
	[ -n "$line" ] || fail "pid $1: no lifting from inside in ckptd's log"
	kib=$(echo "$line" | sed -nE 's/.*inside: ([0-9]+) KiB.*/\1/p')
	[ "${kib:-0}" -ge "$2" ] || fail "pid $1: $kib KiB lifted from inside, want $2 at least: $line"
	if grep "task $1: lifting the protection from inside:" "$TMP/ckptd.log" >&2; then
		fail "pid $1: the lifting from inside failed"
	fi
	for f in /proc/"$1"/task/*/status; do
		awk '/^TracerPid:/ { exit $2 != 0 }' "$f" || fail "pid $1: ${f%/status} is still traced after the snapshot"
	done
	tid=$(echo "$line" | sed -nE 's/.* moments of thread ([0-9]+),.*/\1/p')
	[ -d "/proc/$1/task/$tid" ] && [ "$tid" != "$1" ] ||
		fail "pid $1: thread '$tid' borrowed, not one of those that sleep: $line"
	info "pid $1: ${line#*inside: }"
}

# with_fault POINT NAME: ckptd again with CKPTD_FAULT=POINT, and snaplift
# (64 MiB) running in NAME; sets name and pid
with_fault() {
	ckptd_stop
	export CKPTD_FAULT=$1
	start_ckptd
	name=$2
	run_wl "$name" "$WL/snaplift" 64
	pid=$(host_pid "$name")
}

start_ckptd

name=$P-lift
run_wl "$name" "$WL/snaplift" 256
pid=$(host_pid "$name")
for round in 1 2; do
	checkpoint_bg "$name" "$TMP/lift$round.img"
	no_uffd "$pid"
	lifted_inside "$pid" $(( 256 * 1024 ))
	verify_ct "$name" snaplift
done
runs_on "$name" snaplift 3
restored "$P-back" "$TMP/lift2.img" snaplift
info "snaplift: the original after two snapshots and the second one restarted pass"

# stopped: nothing to borrow; lifted from outside, still stopped after
kill -STOP "$pid" || fail "kill -STOP $pid"
for _ in $(seq 50); do [ "$(state "$pid")" = T ] && break; sleep 0.1; done
[ "$(state "$pid")" = T ] || fail "pid $pid: not stopped"
checkpoint_bg "$name" "$TMP/stopped.img"
grep -q "task $pid: lifting the protection from inside: no thread of it is running" "$TMP/ckptd.log" ||
	fail "pid $pid: stopped, yet not said to be lifted from outside"
no_uffd "$pid"
[ "$(state "$pid")" = T ] || fail "pid $pid: no longer stopped after the snapshot ($(state "$pid"))"
kill -CONT "$pid" || fail "kill -CONT $pid"
verify_ct "$name" snaplift
info "snaplift: stopped through a snapshot, lifted from outside, continued and passed"
ckctl rm "$name" >/dev/null || fail "rm $name"

# the lifting from outside, as when no thread can be borrowed
with_fault snap-lift-outside "$P-out"
checkpoint_bg "$name" "$TMP/out.img"
grep -q "task $pid: protection lifted from outside (fault point)" "$TMP/ckptd.log" ||
	fail "pid $pid: the fault point did not make it lift from outside"
no_uffd "$pid"
verify_ct "$name" snaplift
ckctl rm "$name" >/dev/null || fail "rm $name"

# canceled while it lifts (slowed down): the rest is lifted from outside,
# the checkpoint is canceled, the program runs on unharmed
with_fault snap-lift-slow "$P-cancel"
ckctl checkpoint "$name" --leave-running -o "$TMP/cancel.img" >"$TMP/cancel.out" 2>&1 &
ck=$!
for _ in $(seq 300); do
	grep -q "task $pid: lifting the protection from inside$" "$TMP/ckptd.log" && break
	sleep 0.1
done
grep -q "task $pid: lifting the protection from inside$" "$TMP/ckptd.log" || fail "pid $pid: the lifting never began"
sleep 0.3
out=$(ckctl cancel "$name" 2>&1) || fail "cancel of the checkpoint failed: $out"
wait "$ck" && fail "the canceled checkpoint's client reported success: $(cat "$TMP/cancel.out")"
grep -q "task $pid: lifting the protection from inside: the checkpoint was canceled" "$TMP/ckptd.log" ||
	fail "pid $pid: the lifting did not end with the cancel"
expect_state "$name" running
no_uffd "$pid"
verify_ct "$name" snaplift
info "snaplift: canceled while lifting, it runs on and passes"
ckctl rm "$name" >/dev/null || fail "rm $name"
pass
