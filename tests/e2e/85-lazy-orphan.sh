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
#   on with holes in its memory.
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
CKPTD_FAULT=lazy-fill-slow ckptd_start
grep -q "container $name: its lazily restored memory is still being filled by filler $filler" "$TMP/ckptd.log" ||
	fail "the next ckptd did not find the filler $filler"
out=$(ckctl checkpoint "$name" 2>&1) && fail "checkpoint during an adopted fill succeeded: $out"
case $out in *"still being filled"*) ;; *) fail "checkpoint during an adopted fill: unclear refusal: $out" ;; esac
wait_gone "$filler" 120 || fail "the adopted fill did not end within 120 s"
for i in $(seq 50); do grep -q "container $name: lazy restart: every page is in" "$TMP/ckptd.log" && break; sleep 0.1; done
grep -q "container $name: lazy restart: every page is in" "$TMP/ckptd.log" || fail "the adopted fill's end is not in ckptd's log"
expect_state "$name" running
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
pass
