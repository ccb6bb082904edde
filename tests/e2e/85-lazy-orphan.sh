#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A lazy restart's filler outlives a ckptd that stops (docs/design.md). If
# its fill then fails, nobody else can keep the program from reading
# zeroes where its memory was: the filler kills the container itself and
# exits only once the container is gone. lazymem is restarted lazily with
# the fill paced (CKPTD_FAULT=lazy-fill-slow), ckptd is stopped, and a
# page record the filler has yet to read is spoiled in the image: the
# filler's MAC check fails, and the program must be dead, never running
# on with holes in its memory.
. "$(dirname "$0")/lib.sh"

MIB=64
name=$P-o

lazymem_pids() {
	local cg pid
	for cg in "${E2E_CGROUPS[@]}"; do
		for pid in $(cat "$cg/cgroup.procs" 2>/dev/null); do
			[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] && echo "$pid"
		done
	done | sort -u
}

CKPTD_FAULT=lazy-fill-slow ckptd_start
run_wl "$name" "$WL/lazymem" "$MIB"
verify_ct "$name" 'lazymem [0-9]'
checkpoint_ct "$name"
out=$(ckctl restart "$name" --lazy 2>&1) || fail "restart $name --lazy: $out"
expect_state "$name" running
filler=$(lazymem_pids ckptd-filler)
[ "$(echo "$filler" | wc -w)" = 1 ] || fail "want one ckptd-filler, got '$filler'"
img=
for fd in /proc/"$filler"/fd/*; do
	t=$(readlink "$fd")
	case $t in "$STATE"/*.img) img=$t ;; esac
done
[ -n "$img" ] && [ -f "$img" ] || fail "the filler holds no image of the store open"
size=$(stat -c %s "$img")
[ "$size" -gt $(( MIB << 20 )) ] || fail "image $img: $size bytes, want more than $MIB MiB"
prog=$(lazymem_pids lazymem)
[ -n "$prog" ] || fail "no lazymem process after the restart"

ckptd_stop
kill -0 "$filler" 2>/dev/null || fail "the filler did not outlive ckptd"
# a byte near the end of the pages, which the paced fill reaches last
off=$(( size - (2 << 20) - 4096 ))
printf '\xa5' | dd of="$img" bs=1 seek="$off" conv=notrunc status=none || fail "spoiling $img"

end=$(( SECONDS + 90 ))
while [ $SECONDS -lt $end ] && [ -n "$(lazymem_pids lazymem)" ]; do
	sleep 0.2
done
if [ -n "$(lazymem_pids lazymem)" ]; then
	kill -0 "$filler" 2>/dev/null && fail "the fill did not fail within 90 s"
	fail "the filler died with ckptd gone and the program runs on without its memory"
fi
end=$(( SECONDS + 5 ))
while [ $SECONDS -lt $end ] && kill -0 "$filler" 2>/dev/null; do sleep 0.1; done
kill -0 "$filler" 2>/dev/null && fail "the filler outlived the container it killed"
grep -q "the fill failed and ckptd is gone: killing the container" "$TMP/ckptd.log" ||
	fail "the filler did not say it killed the container"
info "$(grep "lazy restart:" "$TMP/ckptd.log" | tail -n 2 | tr '\n' ' ')"

ckptd_start
st=$(state_of "$name")
[ "$st" != running ] || fail "$name is running after its fill failed"
ckptd_alive || fail "ckptd died"
info "after ckptd's restart: $name $st"
pass
