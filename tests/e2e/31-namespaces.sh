#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The namespaces a container owns besides pid and mount:
# - UTS: `run --hostname H` gives the container hostname H (default: its
#   name, '_' as '-'); the workload renames itself with sethostname, and the
#   new name survives 3 checkpoint/restart cycles; the host's stays as it was;
# - time: the container's CLOCK_MONOTONIC and CLOCK_BOOTTIME continue
#   across each cycle though it stays checkpointed 3 s each time (the
#   clocks workload fails on any step above 1 s and on a periodic absolute
#   clock_nanosleep waking late, and counts each time CLOCK_REALTIME ran
#   2 s ahead of CLOCK_MONOTONIC: it must count one gap per cycle);
# - IPC: SysV semaphore sets survive 2 cycles at their ids with their
#   values and mode, and are not visible on the host (the other IPC
#   objects: 41-ipc.sh);
# - an invalid --hostname is refused.
. "$(dirname "$0")/lib.sh"

start_ckptd
CYCLES=3
HOST_UTS=$(hostname)
A=$P-clocks B=${P}_dflt
H1=$P-first H2=$P-renamed

ns_of() { stat -L -c %i "/proc/$1/ns/$2"; }

# the container's namespaces are its own, and the same for init and workload
check_ns() {
	local name=$1 pid init k
	pid=$(host_pid "$name")
	init=$(ct_init_host_pid "$name")
	for k in uts time; do
		[ "$(ns_of "$pid" $k)" != "$(ns_of $$ $k)" ] || fail "$name: shares the host's $k namespace"
		[ "$(ns_of "$pid" $k)" = "$(ns_of "$init" $k)" ] || fail "$name: its init is in another $k namespace"
	done
	[ "$(hostname)" = "$HOST_UTS" ] || fail "the host's hostname changed to $(hostname)"
}

out=$(ckctl run "$P-bad" --hostname "bad_name" -- /bin/true 2>&1) && fail "run --hostname bad_name succeeded"
echo "$out" | grep -q "is not a hostname" || fail "run --hostname bad_name: unclear error: $out"

run_ct "$B" "$WL/clocks" "${P}-dflt"
verify_ct "$B" "clocks host=${P}-dflt"
ckctl rm "$B" >/dev/null || fail "rm $B"

# it renames its host: sethostname needs CAP_SYS_ADMIN
ckctl run "$A" --hostname "$H1" --cwd "$WORK" --cap-add SYS_ADMIN -- "$WL/clocks" "$H1" "$H2" >/dev/null || fail "run $A"
wait_log "$A" '^READY' 30
check_ns "$A"
verify_ct "$A" "clocks host=$H2 gaps=0 "
for c in $(seq $CYCLES); do
	checkpoint_ct "$A"
	sleep 3
	restart_ct "$A"
	check_ns "$A"
	verify_ct "$A" "clocks host=$H2 gaps=$c "
	log "cycle $c: $(last_log "$A" '^gap ')"
done
check_no_fail "$A"

# an IPC key of the workload is not the host's
not_on_host() { ipcs "$1" | grep -i "$2" >/dev/null && fail "key $2 is visible on the host: $(ipcs "$1")"; return 0; }

S=$P-sem
run_ct "$S" "$WL/ipc" sem
semid=$(last_log "$S" '^READY ipc sem' | sed 's/.*id=//')
not_on_host -s 0x31000031
for c in 1 2; do
	checkpoint_ct "$S"
	restart_ct "$S"
	verify_ct "$S" "ipc sem id=$semid\$"
done
not_on_host -s 0x31000031
ckctl rm "$S" >/dev/null || fail "rm $S"

pass
