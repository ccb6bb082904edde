# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Shared by the background snapshot tests (57-snapshot, 88-snapshot-end,
# 90-snapshot-lift),
# after lib.sh: a checkpoint that must have copied in the background, a
# stopped container to restart a snapshot into, and the check that nothing
# of the snapshot is left in a process.

# target NAME: a stopped container of the default capability set, for a
# snapshot of one to come back into
target() {
	ckctl run "$1" --cwd "$WORK" -- /bin/true >/dev/null || fail "run $1"
	for _ in $(seq 100); do
		[ "$(ct_state "$1")" = stopped ] && return 0
		sleep 0.1
	done
	fail "$1: not stopped"
}

# checkpoint_bg NAME IMG: --leave-running into IMG; the copy must have run
# in the background (the stats say how memory was copied)
checkpoint_bg() {
	local name=$1 img=$2 out copy frozen
	out=$(ckctl --json checkpoint "$name" --leave-running -o "$img" 2>&1) || fail "checkpoint $name: $out"
	copy=$(echo "$out" | json_get copy)
	frozen=$(echo "$out" | json_get frozen_us)
	[ "$copy" = background ] || fail "$name: memory was not copied in the background: $copy"
	info "$name: frozen ${frozen} us, memory copied $copy"
	expect_state "$name" running
}

# no_uffd PID: no userfaultfd left in its fd table, no write-protected mapping
no_uffd() {
	local f
	for f in /proc/"$1"/fd/*; do
		case $(readlink "$f") in *userfaultfd*) fail "pid $1: a userfaultfd is left in its fd table ($f)" ;; esac
	done
	grep -E '^VmFlags:.* (uw|um|ui)( |$)' "/proc/$1/smaps" >&2 &&
		fail "pid $1: memory still registered with a userfaultfd"
	return 0
}

# restored NAME IMG WORKLOAD: restart IMG into a new container NAME, which
# must pass its workload's full check, then remove it
restored() {
	target "$1"
	ckctl restart "$1" -i "$2" >/dev/null || fail "restart $1 from $2"
	expect_state "$1" running
	sleep 1   # snapwriter: a full pass of writes checks every page
	verify_ct "$1" "$3"
	ckctl rm "$1" >/dev/null || fail "rm $1"
}

# runs_on NAME WORKLOAD FIELD: two checks 0.2 s apart, and the counter in
# field FIELD of its PASS line went up between them
runs_on() {
	local c1 c2
	verify_ct "$1" "$2"
	c1=$(last_log "$1" "^PASS $2" | awk -v f="$3" '{ print $f }')
	sleep 0.2
	verify_ct "$1" "$2"
	c2=$(last_log "$1" "^PASS $2" | awk -v f="$3" '{ print $f }')
	[ "$c2" -gt "$c1" ] || fail "$1: no progress after the snapshots ($c1, then $c2)"
}
