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
#   values and mode; a SysV shared memory segment, message queue or POSIX
#   message queue makes the checkpoint fail naming it, and the container
#   keeps running; none of them is visible on the host;
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

ckctl run "$A" --hostname "$H1" --cwd "$WORK" -- "$WL/clocks" "$H1" "$H2" >/dev/null || fail "run $A"
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
not_on_host() { ipcs "$1" | grep -qi "$2" && fail "key $2 is visible on the host: $(ipcs "$1")"; return 0; }

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

refused_ipc() {
	local mode=$1 re=$2 name=$P-$1 out t
	run_ct "$name" "$WL/ipc" "$mode"
	out=$(ckctl checkpoint "$name" 2>&1) && fail "checkpoint with a $mode object succeeded"
	log "$mode: $out"
	echo "$out" | grep -Eq "$re" || fail "$mode: the error does not name the object ($re): $out"
	[ "$(ct_state "$name")" = running ] || fail "$mode: container is '$(ct_state "$name")' after the refusal"
	[ "$(images_count "$name")" = 0 ] || fail "$mode: a refused checkpoint left an image"
	t=$(count_log "$name" '^tick')
	wait_log_count "$name" '^tick' $((t + 3)) 5
	verify_ct "$name" "ipc $mode"
	ckctl rm "$name" >/dev/null || fail "rm $name"
}
refused_ipc shm 'SysV shared memory segment key 0x31000032 .*not saved'
not_on_host -m 0x31000032
refused_ipc msg 'SysV message queue key 0x31000033 .*not saved'
not_on_host -q 0x31000033
refused_ipc mq 'POSIX message queue /ckpt-ipc-mq: .*not saved'
[ -e /dev/mqueue/ckpt-ipc-mq ] && fail "the POSIX message queue is visible on the host"
pass
