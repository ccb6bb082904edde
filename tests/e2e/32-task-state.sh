#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Task state that was refused and is now restored: privs.c (mlock,
# mlock2(MLOCK_ONFAULT), mlockall(MCL_FUTURE); a thread that changed its own
# uid; a thread with its own seccomp filter, one in strict mode; a child at
# uid 65534 with reduced capabilities, an ambient capability, no_new_privs
# and a filter shared with its thread), 3 x (checkpoint, restart) with the same
# maps before and after and a new PASS (the workload checks the rest from
# inside). From the host, every task's and thread's credential lines
# and the locked regions' VmFlags must be what they were.
. "$(dirname "$0")/lib.sh"

start_ckptd
CYCLES=${CYCLES:-3}

# host_view NAME OUT: credential lines of every thread of every task, by pid
# in the container, and the locked mappings of each task
host_view()
{
	local pid p t d ns
	pid=$(host_pid "$1")
	[ -n "$pid" ] || fail "$1: no host pid"
	{
		for p in $pid $(cat "/proc/$pid/task/"*/children); do
			# by tid in the container: host tids of restored threads come in any order
			for t in $(for d in /proc/"$p"/task/*; do
					echo "$(awk '/^NSpid:/ { print $NF }' "$d/status") ${d##*/}"
				done | sort -n | awk '{ print $2 }'); do
				ns=$(awk '/^NSpid:/ { print $NF }' "/proc/$p/task/$t/status")
				awk -v ns="$ns" '/^(Uid|Gid|Groups|Cap[A-Za-z]+|NoNewPrivs|Seccomp):/ { print "thread " ns ": " $0 }' \
					"/proc/$p/task/$t/status"
			done
			awk -v p="$p" '/^[0-9a-f]+-[0-9a-f]+ / { r = $1 } /^VmFlags:.* lo / { print "locked " r (/ lf / ? " on fault" : "") }' "/proc/$p/smaps"
		done
	} > "$2" || fail "reading the host's view of $1"
}

name=$P-privs
# mlockall(MCL_FUTURE) locks every thread's stack (beyond RLIMIT_MEMLOCK
# without CAP_IPC_LOCK) and a thread installs a seccomp filter without
# no_new_privs (CAP_SYS_ADMIN): both beyond root's default set
ckctl run "$name" --cwd "$WORK" --cap-add IPC_LOCK --cap-add SYS_ADMIN -- "$WL/privs" >/dev/null || fail "run $name"
wait_log "$name" '^READY' 30
verify_ct "$name" privs
host_view "$name" "$TMP/view.0"
grep -q "Uid:.*65534" "$TMP/view.0" || fail "no task at uid 65534: $(cat "$TMP/view.0")"
grep -q "Uid:.*1000" "$TMP/view.0" || fail "no thread at uid 1000: $(cat "$TMP/view.0")"
[ "$(grep -c 'Seccomp:.2' "$TMP/view.0")" = 3 ] || fail "not 3 threads with filters: $(cat "$TMP/view.0")"
grep -q 'Seccomp:.1' "$TMP/view.0" || fail "no thread in strict mode: $(cat "$TMP/view.0")"
[ "$(grep -c '^locked .* on fault$' "$TMP/view.0")" -ge 1 ] || fail "no MLOCK_ONFAULT region: $(cat "$TMP/view.0")"
for c in $(seq "$CYCLES"); do
	cat "/proc/$(host_pid "$name")/maps" > "$TMP/maps.before.$c"
	checkpoint_ct "$name"
	restart_ct "$name"
	cat "/proc/$(host_pid "$name")/maps" > "$TMP/maps.after.$c"
	diff -u "$TMP/maps.before.$c" "$TMP/maps.after.$c" >&2 || fail "maps differ after restart $c"
	verify_ct "$name" privs
	host_view "$name" "$TMP/view.$c"
	diff -u "$TMP/view.0" "$TMP/view.$c" >&2 || fail "credentials or locked memory differ after restart $c"
done
last_log "$name" '^PASS privs' | grep -q "n=$((CYCLES + 1))$" || fail "not $((CYCLES + 1)) passes: $(last_log "$name" '^PASS')"
ckctl rm "$name" >/dev/null || fail "rm $name"
pass
