# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Shared by the crash tests (52-crash, 76-crash-v1), after lib.sh: wait
# for a ckptd to die at its crash point, and check that what a dead
# worker borrowed was put back. A test may define put_back_checks NAME
# for checks of its own, run on the put-back container and after its
# later restart.

crash_ckptd() {
	local _
	for _ in $(seq 100); do
		kill -0 "$CKPTD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$CKPTD_PID" 2>/dev/null && fail "$1: ckptd did not die at its crash point"
	# (the shell would report the SIGKILL it expected)
	{ wait "$CKPTD_PID"; } 2>/dev/null
	CKPTD_PID=
}

# no_leftovers NAME POINT: nothing of the interrupted operation is left
no_leftovers() {
	local name=$1 point=$2 d=$STATE/containers/$1
	[ -e "$d/intent" ] && fail "$point: the intent record of $name survived the recovery: $(cat "$d/intent")"
	[ -n "$(find "$d/images" -name '*.tmp' 2>/dev/null)" ] && fail "$point: partial image left: $(ls "$d/images")"
	return 0
}

# maps_of NAME: every task's mappings, by host pid
maps_of() {
	local pid
	for pid in $(tree_host_pids "$1"); do
		echo "## $pid"
		cat "/proc/$pid/maps"
	done
}

declare -F put_back_checks >/dev/null || put_back_checks() { :; }

# put_back NAME WORKLOAD WHAT MAPS_BEFORE HOST_PID: the recovery put the
# tasks back as they were, and a ckptd without the fault checkpoints and
# restarts them
put_back() {
	local name=$1 wl=$2 what=$3 before=$4 pid=$5
	[ -e "$STATE/containers/$name/borrowed" ] && fail "$what: the borrow record survived: $(cat "$STATE/containers/$name/borrowed")"
	check_tree_running "$name"
	put_back_checks "$name"
	[ "$(host_pid "$name")" = "$pid" ] || fail "$what: $name has a new host pid"
	maps_of "$name" > "$TMP/maps.after"
	diff -u "$before" "$TMP/maps.after" >&2 || fail "$what: the tasks' mappings changed (a scratch mapping left?)"
	[ "$(images_count "$name")" = 0 ] || fail "$what: an image was stored: $(ckctl images "$name")"
	verify_ct "$name" "$wl"
	# a ckptd without the fault checkpoints it
	ckptd_stop
	start_ckptd
	checkpoint_ct "$name"
	restart_ct "$name"
	put_back_checks "$name"
	verify_ct "$name" "$wl"
}
