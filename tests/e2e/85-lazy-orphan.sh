#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A lazy restart's filler outlives a ckptd that stops (docs/design.md).
# lazymem is restarted lazily with the fill paced
# (CKPTD_FAULT=lazy-fill-slow) and ckptd is stopped during the fill:
# - the next ckptd finds the filler and watches it: a checkpoint is
#   refused while it fills, and its end is heard (fill-done), the program
#   verified after;
# - a filler so found that is killed gets the container killed, by name;
# - a fill that fails with no ckptd at all (a page record the filler has
#   yet to read is spoiled in the image: its MAC fails) kills the
#   container from the filler itself: the program is dead, never running
#   on with holes in its memory;
# - a filler killed (SIGKILL) with no ckptd at all takes the container
#   with it (its guard: the init is traced with PTRACE_O_EXITKILL while
#   the fill goes on, stops passed on: a SIGSTOP and SIGCONT sent to it
#   meanwhile act as they would untraced); a fill that ends lets it go;
# - a guard that can't seize the init fails the fill: the container is
#   killed, by name (CKPTD_FAULT=lazy-guard-seize).
. "$(dirname "$0")/lib.sh"

MIB=64
name=$P-o

# lazy_restart_away: restart $name lazily, then stop ckptd; sets $filler
lazy_restart_away() {
	local out
	checkpoint_ct "$name"
	out=$(ckctl restart "$name" --lazy 2>&1) || fail "restart $name --lazy: $out"
	expect_state "$name" running
	filler=$(comm_pids ckptd-filler)
	[ "$(echo "$filler" | wc -w)" = 1 ] || fail "want one ckptd-filler, got '$filler'"
	ckptd_stop
	kill -0 "$filler" 2>/dev/null || fail "the filler did not outlive ckptd"
}

# init_of PID: the init of PID's pid namespace (ckptd-init, its parent)
init_of() {
	local pp
	pp=$(awk '/^PPid:/ { print $2 }' "/proc/$1/status")
	awk '/^NSpid:/ { if ($NF == 1) ok = 1 } END { exit !ok }' "/proc/$pp/status" ||
		fail "the parent $pp of $1 is not its pid namespace's init"
	echo "$pp"
}

# guarded PID FILLER: whether a thread of FILLER traces PID
guarded() {
	local t
	t=$(awk '/^TracerPid:/ { print $2 }' "/proc/$1/status")
	[ "$t" != 0 ] && [ -d "/proc/$2/task/$t" ]
}

# stopped PID: whether it is stopped (T; t: in a tracer's stop)
stopped() {
	case $(awk '/^State:/ { print $2 }' "/proc/$1/status") in T | t) return 0 ;; esac
	return 1
}

# wait_gone PID SECONDS
wait_gone() {
	local end=$(( SECONDS + $2 ))
	while [ $SECONDS -lt $end ] && kill -0 "$1" 2>/dev/null; do sleep 0.1; done
	! kill -0 "$1" 2>/dev/null
}

CKPTD_FAULT=lazy-fill-slow ckptd_start
run_wl "$name" "$WL/lazymem" "$MIB"
verify_ct "$name" 'lazymem [0-9]'

# found by the next ckptd: busy while it fills, its end heard
lazy_restart_away
ct_init=$(init_of "$(comm_pids lazymem)")
for i in $(seq 50); do guarded "$ct_init" "$filler" && break; sleep 0.1; done
guarded "$ct_init" "$filler" || fail "the container's init $ct_init is not guarded by its filler $filler"
kill -STOP "$ct_init"
for i in $(seq 50); do stopped "$ct_init" && break; sleep 0.1; done
stopped "$ct_init" || fail "the container's init did not stop on SIGSTOP while guarded"
kill -CONT "$ct_init"
for i in $(seq 50); do ! stopped "$ct_init" && break; sleep 0.1; done
! stopped "$ct_init" || fail "the container's init did not go on after SIGCONT while guarded"
CKPTD_FAULT=lazy-fill-slow ckptd_start
grep -q "container $name: its lazily restored memory is still being filled by filler $filler" "$TMP/ckptd.log" ||
	fail "the next ckptd did not find the filler $filler"
out=$(ckctl checkpoint "$name" 2>&1) && fail "checkpoint during an adopted fill succeeded: $out"
case $out in *"still being filled"*) ;; *) fail "checkpoint during an adopted fill: unclear refusal: $out" ;; esac
wait_gone "$filler" 120 || fail "the adopted fill did not end within 120 s"
for i in $(seq 50); do grep -q "container $name: lazy restart: every page is in" "$TMP/ckptd.log" && break; sleep 0.1; done
grep -q "container $name: lazy restart: every page is in" "$TMP/ckptd.log" || fail "the adopted fill's end is not in ckptd's log"
expect_state "$name" running
[ "$(awk '/^TracerPid:/ { print $2 }' "/proc/$ct_init/status")" = 0 ] ||
	fail "the container's init is still traced after its fill"
verify_ct "$name" 'lazymem [0-9]'
info "adopted: $(grep "every page is in" "$TMP/ckptd.log" | tail -n 1)"

# found by the next ckptd, then killed: the container goes, said so
lazy_restart_away
CKPTD_FAULT=lazy-fill-slow ckptd_start
grep -q "still being filled by filler $filler" "$TMP/ckptd.log" || fail "the next ckptd did not find the filler $filler"
kill -KILL "$filler"
wait_state "$name" stopped 30
grep -q "container $name: its lazily restored memory can't be filled (its filler, left by an earlier ckptd, died" "$TMP/ckptd.log" ||
	fail "the adopted filler's death is not in ckptd's log"
[ -z "$(comm_pids lazymem)" ] || fail "lazymem runs on after its adopted filler died"
ckptd_alive || fail "ckptd died"

# no ckptd at all, and the filler killed: the container goes with it
restart_ct "$name"
verify_ct "$name" 'lazymem [0-9]'
lazy_restart_away
prog=$(comm_pids lazymem)
ct_init=$(init_of "$prog")
for i in $(seq 50); do guarded "$ct_init" "$filler" && break; sleep 0.1; done
guarded "$ct_init" "$filler" || fail "the container's init $ct_init is not guarded by its filler $filler"
kill -KILL "$filler"
wait_gone "$prog" 10 || fail "the filler was killed with ckptd gone and the program runs on without its memory"
CKPTD_FAULT=lazy-fill-slow ckptd_start
st=$(state_of "$name")
[ "$st" != running ] || fail "$name is running after its filler was killed"
ckptd_alive || fail "ckptd died"
info "filler killed with ckptd gone: $name $st"

# no ckptd at all when the fill fails: the filler kills the container
restart_ct "$name"
verify_ct "$name" 'lazymem [0-9]'
lazy_restart_away
img=
for fd in /proc/"$filler"/fd/*; do
	t=$(readlink "$fd")
	case $t in "$STATE"/*.img) img=$t ;; esac
done
[ -n "$img" ] || fail "the filler holds no image of the store open"
size=$(stat -c %s "$img")
[ "$size" -gt $(( MIB << 20 )) ] || fail "image $img: $size bytes, want more than $MIB MiB"
# a byte near the end of the pages, which the paced fill reaches last
off=$(( size - (2 << 20) - 4096 ))
printf '\xa5' | dd of="$img" bs=1 seek="$off" conv=notrunc status=none || fail "spoiling $img"
end=$(( SECONDS + 90 ))
while [ $SECONDS -lt $end ] && [ -n "$(comm_pids lazymem)" ]; do
	sleep 0.2
done
if [ -n "$(comm_pids lazymem)" ]; then
	kill -0 "$filler" 2>/dev/null && fail "the fill did not fail within 90 s"
	fail "the filler died with ckptd gone and the program runs on without its memory"
fi
wait_gone "$filler" 5 || fail "the filler outlived the container it killed"
grep -q "the fill failed and ckptd is gone: killing the container" "$TMP/ckptd.log" ||
	fail "the filler did not say it killed the container"
info "$(grep "lazy restart:" "$TMP/ckptd.log" | tail -n 2 | tr '\n' ' ')"
ckptd_start
st=$(state_of "$name")
[ "$st" != running ] || fail "$name is running after its fill failed"
ckptd_alive || fail "ckptd died"
info "after ckptd's restart: $name $st"

# a guard that can't be had (as if another tracer held the init): the
# fill fails, by name, and the container goes, rather than run on untied
# to its filler
ckptd_stop
CKPTD_FAULT=lazy-fill-slow,lazy-guard-seize ckptd_start
# its image is the one spoiled above: the program anew
ckctl rm "$name" >/dev/null || fail "rm $name"
run_wl "$name" "$WL/lazymem" "$MIB"
verify_ct "$name" 'lazymem [0-9]'
checkpoint_ct "$name"
out=$(ckctl restart "$name" --lazy 2>&1) || fail "restart $name --lazy: $out"
wait_state "$name" stopped 30
grep -q "container $name: its lazily restored memory can't be filled (the container's init could not be tied to its filler" \
	"$TMP/ckptd.log" || fail "the guard's failure is not said as the fill's"
[ -z "$(comm_pids lazymem)" ] || fail "lazymem runs on with its init not guarded"
for i in $(seq 50); do [ -z "$(comm_pids ckptd-filler)" ] && break; sleep 0.1; done
[ -z "$(comm_pids ckptd-filler)" ] || fail "the filler outlived a fill that failed"
ckptd_alive || fail "ckptd died"
info "$(grep "fill-failed\|can't be filled" "$TMP/ckptd.log" | tail -n 1)"
pass
