#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `rm` frees a container's name at once and removes its directory (its
# images with it) off ckptd's event loop: the directory is renamed to a
# ".rm-" name and removed by a thread. What a ckptd stopped half-way left
# under such a name is removed at its next start; nothing else is touched.
. "$(dirname "$0")/lib.sh"

start_ckptd
name=$P-rm
run_ct "$name" "$WL/dirtymem" 64
ckctl checkpoint "$name" >/dev/null || fail "checkpoint $name"
[ "$(images_count "$name")" -ge 1 ] || fail "no stored image"
ckctl rm "$name" >/dev/null || fail "rm $name"
[ ! -e "$STATE/containers/$name" ] || fail "rm $name: its directory is still under its name"
# the name is free at once
run_ct "$name" "$WL/dirtymem" 16
ckctl rm "$name" >/dev/null || fail "rm $name (second)"
for _ in $(seq 100); do
	[ -z "$(ls -A "$STATE/containers")" ] && break
	sleep 0.1
done
[ -z "$(ls -A "$STATE/containers")" ] || fail "left in the state dir after rm: $(ls -A "$STATE/containers")"

# a removal cut short: swept at the next start, a container beside it kept
keep=$P-keep
run_ct "$keep" "$WL/dirtymem" 16
ckctl checkpoint "$keep" >/dev/null || fail "checkpoint $keep"
ckptd_stop
mkdir -p "$STATE/containers/.rm-gone.1.1/images/sub" || fail "planting a half-removed directory"
head -c 1M /dev/zero >"$STATE/containers/.rm-gone.1.1/images/1.img"
: >"$STATE/containers/.rm-gone.1.1/images/sub/x"
start_ckptd
for _ in $(seq 100); do
	[ ! -e "$STATE/containers/.rm-gone.1.1" ] && break
	sleep 0.1
done
[ ! -e "$STATE/containers/.rm-gone.1.1" ] || fail "the half-removed directory was not swept at start"
expect_state "$keep" checkpointed
ckctl restart "$keep" >/dev/null || fail "restart $keep"
verify_ct "$keep" dirtymem
ckctl rm "$keep" >/dev/null || fail "rm $keep"
pass
