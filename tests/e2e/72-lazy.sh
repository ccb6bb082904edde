#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# restart --lazy: the program runs before its private memory is in, which
# a filler brings in on demand and in the background. lazymem (256 MiB of
# patterned memory) is restarted lazily from the store and from -i FILE;
# right after each restart it reads and writes lazy pages through system
# calls, forks a child that checks its own copy, discards a range (which
# must read as zeroes) and moves another (checked at its new address),
# then checks every page, all while most of its memory is still in the
# image (the background fill paced by CKPTD_FAULT=lazy-fill-slow); the
# fill ends (fill-done). During a fill a checkpoint is refused busy, kill
# stops the filler, and a killed filler gets the container killed and
# said so, never left running on memory it lacks, as is one whose fill
# could not be handed over to ckptd. --lazy with --trust-image and of
# an incremental image are refused by name (a stream: 83-lazy-stream),
# nothing left behind. Last, a lazy restart at full speed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lazy-lib.sh"

MIB=256
name=$P-l

# lazy_restart NAME ARGS...: restart --lazy, the reply's lazy_bytes checked
lazy_restart() {
	local n=$1 out b
	shift
	out=$(ckctl --json restart "$n" --lazy "$@" 2>&1) || fail "restart $n --lazy $*: $out"
	b=$(echo "$out" | json_get lazy_bytes)
	[ -n "$b" ] && [ "$b" -ge $(( MIB << 20 )) ] || fail "restart $n --lazy: lazy_bytes '$b', want >= $MIB MiB: $out"
	expect_state "$n" running
}

# post NAME: the workload's own checks right after a lazy restart
post() {
	ckctl kill "$1" --signal USR1 >/dev/null || fail "kill -USR1 $1"
	wait_log "$1" '^POST ok' 60
	[ "$(count_log "$1" '^PASS lazymem-child')" -ge 1 ] || fail "$1: the child forked after the restart did not pass"
	verify_ct "$1" 'lazymem [0-9]'
}

CKPTD_FAULT=lazy-fill-slow ckptd_start
run_wl "$name" "$WL/lazymem" "$MIB"
verify_ct "$name" 'lazymem [0-9]'
checkpoint_ct "$name" --leave-running -o "$TMP/l.img"
checkpoint_ct "$name"

# from the store: the program runs on memory filled on demand
lazy_restart "$name"
post "$name"
[ "$(fills_done)" = 0 ] || fail "the paced fill ended before the program had checked its memory: no test of filling on demand"
wait_fill 1
expect_state "$name" running
verify_ct "$name" 'lazymem [0-9]'
info "store: $(grep "every page is in" "$TMP/ckptd.log" | tail -n 1)"

# from a file, under a new name; a checkpoint waits for the fill, kill stops it
lazy_restart "$P-f" -i "$TMP/l.img"
post "$P-f"
[ "$(fills_done)" = 1 ] || fail "the paced fill of $P-f ended before its checks"
out=$(ckctl checkpoint "$P-f" 2>&1) && fail "checkpoint during the fill succeeded: $out"
case $out in *"still being filled"*) ;; *) fail "checkpoint during the fill: unclear refusal: $out" ;; esac
expect_state "$P-f" running
[ -n "$(fillers)" ] || fail "no ckptd-filler in ckptd's cgroup during the paced fill"
ckctl kill "$P-f" >/dev/null || fail "kill $P-f during the fill"
wait_state "$P-f" stopped 30
for i in $(seq 50); do [ -z "$(fillers)" ] && break; sleep 0.1; done
[ -z "$(fillers)" ] || fail "the filler outlived its container"
ckctl rm "$P-f" >/dev/null || fail "rm $P-f"

# refused by name, before anything is made
out=$(ckctl restart "$P-t" --lazy --trust-image -i "$TMP/l.img" 2>&1) && fail "restart --lazy --trust-image succeeded: $out"
case $out in *"--lazy needs an image verified under a key"*) ;; *) fail "restart --lazy --trust-image: unclear refusal: $out" ;; esac
[ -z "$(state_of "$P-t")" ] || fail "$P-t exists after a refused restart"
ckctl --json checkpoint "$name" --leave-running --incremental >/dev/null || fail "checkpoint --incremental (the first)"
ckctl --json checkpoint "$name" --incremental >/dev/null || fail "checkpoint --incremental"
expect_state "$name" checkpointed
out=$(ckctl restart "$name" --lazy 2>&1) && fail "restart --lazy of an incremental image succeeded: $out"
case $out in *"is incremental: --lazy restarts a full image"*) ;; *) fail "restart --lazy of an incremental image: unclear refusal: $out" ;; esac
expect_state "$name" checkpointed
ckptd_alive || fail "ckptd died"
restart_ct "$name"
verify_ct "$name" 'lazymem [0-9]'
info "refused: $out"

# the filler stopped: the program blocks on its first missing page. The
# filler killed while ckptd is stopped too: ckptd still holds the
# userfaultfds, so the program stays blocked, never reading zeroes; once
# ckptd runs again it kills the container and says so
checkpoint_ct "$name"
lazy_restart "$name"
filler=$(fillers)
[ -n "$filler" ] || fail "no ckptd-filler in ckptd's cgroup during the paced fill"
[ "$(echo "$filler" | wc -w)" = 1 ] || fail "more than one ckptd-filler: $filler"
kill -STOP "$filler" || fail "kill -STOP $filler"
n=$(count_log "$name" '^PASS lazymem [0-9]')
ckctl kill "$name" --signal USR2 >/dev/null || fail "kill -USR2 $name"
sleep 2
[ "$(count_log "$name" '^PASS lazymem [0-9]')" = "$n" ] || fail "$name checked its memory with its filler stopped"
ctlog=$STATE/containers/$name/log
[ -f "$ctlog" ] || fail "no log file $ctlog"
kill -STOP "$CKPTD_PID" || fail "kill -STOP ckptd"
kill -KILL "$filler" || fail "kill -KILL $filler"
sleep 2
lines=$(grep -cE '^(PASS lazymem [0-9]|FAIL)' "$ctlog")
kill -CONT "$CKPTD_PID"
[ "$lines" = "$n" ] || fail "$name went on once its filler died: $(grep -E '^(PASS lazymem [0-9]|FAIL)' "$ctlog" | tail -n 1)"
wait_state "$name" stopped 30
grep -q "container $name: its lazily restored memory can't be filled" "$TMP/ckptd.log" ||
	fail "the filler's death is not in ckptd's log"
fail_if_failed "$name"
ckptd_alive || fail "ckptd died with the filler"
info "filler killed: $(grep "can't be filled" "$TMP/ckptd.log" | tail -n 1)"

# at full speed
ckptd_stop
ckptd_start
n=$(fills_done)
ckctl restart "$name" --lazy >/dev/null || fail "restart $name --lazy (full speed)"
expect_state "$name" running
verify_ct "$name" 'lazymem [0-9]'
wait_fill $(( n + 1 ))
verify_ct "$name" 'lazymem [0-9]'
info "full speed: $(grep "every page is in" "$TMP/ckptd.log" | tail -n 1)"

# the fill handed over to ckptd broken partway (CKPTD_FAULT=lazy-hand-over):
# ckptd could not keep the program from reading zeroes, so the restart
# fails by name, the container killed, nothing of it left running
checkpoint_ct "$name"
ckptd_stop
CKPTD_FAULT=lazy-hand-over ckptd_start
out=$(ckctl restart "$name" --lazy 2>&1) && fail "restart --lazy with its fill's hand-over broken succeeded: $out"
case $out in *"handing the fill of its lazily restored memory over to ckptd"*) ;;
	*) fail "restart --lazy with its fill's hand-over broken: unclear error: $out" ;; esac
expect_state "$name" checkpointed
for i in $(seq 50); do [ -z "$(fillers)" ] && break; sleep 0.1; done
[ -z "$(fillers)" ] || fail "a filler outlived the failed restart"
for cg in "${E2E_CGROUPS[@]}"; do
	for pid in $(cat "$cg/cgroup.procs" 2>/dev/null); do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = lazymem ] && fail "lazymem $pid runs after the failed restart"
	done
done
ckptd_alive || fail "ckptd died"
restart_ct "$name"
verify_ct "$name" 'lazymem [0-9]'
info "hand-over broken: $out"
pass
