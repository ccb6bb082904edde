#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Incremental checkpoints: a --leave-running --incremental checkpoint (the
# first of a chain: a full image) leaves the kernel's written-page
# tracking armed in the container's processes, held by ckptd (nothing in
# their fd tables); the next --incremental ones write only the pages
# written since and name their parent. incrwriter rewrites 1% of its
# 128 MiB between checkpoints, maps a new region and forks a child after
# the first; restart of the last image follows the chain and every
# process checks every word of its memory. An incremental image can't be
# exported, and a chain whose parent was replaced is refused. Removing an
# image that is a parent merges it into its child (images rm): the middle
# of a chain, and the full image at its head (its child becomes full, and
# the child's own child, which names it by digest, still restores); ckptd
# killed mid-merge, before and after the child is replaced, leaves a
# chain that restores; a replaced parent is still refused after a merge.
# From its third step on incrwriter discards pages it wrote before: an
# image must not take them from its parent.
. "$(dirname "$0")/lib.sh"

# shellcheck source=tests/e2e/incr-lib.sh
. "$(dirname "$0")/incr-lib.sh"

# rm_crash NAME ID POINT: images rm NAME ID with ckptd killed at POINT of
# the merge (daemon/cr/fault.h), then a fresh ckptd
rm_crash() {
	local i
	ckptd_stop
	CKPTD_FAULT=$3:crash start_ckptd
	out=$(ckctl images rm "$1" "$2" 2>&1) && fail "images rm $2 succeeded with ckptd killed at $3: $out"
	for i in $(seq 100); do
		kill -0 "$CKPTD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$CKPTD_PID" 2>/dev/null && fail "ckptd did not die at $3"
	{ wait "$CKPTD_PID"; } 2>/dev/null
	CKPTD_PID=
	start_ckptd
	for i in "$STATE/containers/$1/images/"*.tmp; do
		[ -e "$i" ] && fail "$3: a leftover of the merge: $i"
	done
	return 0
}

# no_uffd_fd PID: ckptd's userfaultfds are not in the task's fd table
no_uffd_fd() {
	local f
	for f in /proc/"$1"/fd/*; do
		case $(readlink "$f") in *userfaultfd*) fail "pid $1: a userfaultfd in its fd table ($f)" ;; esac
	done
}

start_ckptd
name=$P-incr
# in a container of the default capability set: write tracking needs no
# capability of the workload's
run_wl "$name" "$WL/incrwriter" 128
pid=$(host_pid "$name")

# the first of a chain: full, and tracking is armed
incr "$name" --leave-running
id1=$(echo "$out" | json_get image_id)
full=$(echo "$out" | json_get image_bytes)
why=$(echo "$out" | json_get full_reason)
[ -n "$why" ] || fail "the first image of a chain names no reason for being full: $out"
[ -z "$(echo "$out" | json_get parent_id)" ] || fail "the first image names a parent: $out"
[ "$full" -gt $(( 128 << 20 )) ] || fail "the full image holds $full bytes, less than the workload's memory"
no_uffd_fd "$pid"
grep -qE '^VmFlags:.* uw( |$)' "/proc/$pid/smaps" || fail "no mapping of pid $pid is write-tracked"
passes "$name" 1
info "image $id1: full, $full bytes ($why)"

# 1% written, a new mapping and a child: the second image
step "$name" 1
incr "$name" --leave-running
id2=$(echo "$out" | json_get image_id)
b2=$(echo "$out" | json_get image_bytes)
[ "$(echo "$out" | json_get parent_id)" = "$id1" ] || fail "image $id2 does not name $id1 as its parent: $out"
[ "$b2" -lt $(( full / 10 )) ] || fail "incremental image $id2 holds $b2 bytes, not < 10% of $full"
for p in $(tree_host_pids "$name"); do no_uffd_fd "$p"; done
passes "$name" 2
info "image $id2: incremental, $b2 bytes"

# 1% more, and the last of the chain kills the container
step "$name" 2
incr "$name"
id3=$(echo "$out" | json_get image_id)
b3=$(echo "$out" | json_get image_bytes)
[ "$(echo "$out" | json_get parent_id)" = "$id2" ] || fail "image $id3 does not name $id2 as its parent: $out"
[ "$b3" -lt $(( full / 10 )) ] || fail "incremental image $id3 holds $b3 bytes, not < 10% of $full"
expect_state "$name" checkpointed
info "image $id3: incremental, $b3 bytes"

# images shows the chain
parents=$(chain_of "$name")
[ "$parents" = "$id1:- $id2:$id1 $id3:$id2" ] || fail "images shows the chain as '$parents'"
ckctl images "$name" | grep -qE "^$name +$id3 .* $id2 +(yes|NO|-) " || fail "images does not show $id3's parent: $(ckctl images "$name")"

# an incremental image is not exported alone
out=$(ckctl export "$name" "$id3" -o "$TMP/x.img" 2>&1) && fail "exporting incremental image $id3 succeeded"
case $out in *"is incremental"*) ;; *) fail "export $id3: unexpected answer: $out" ;; esac
rm -f "$TMP/x.img"

# ckptd killed while it writes the merged copy of $id3: the old chain is whole
rm_crash "$name" "$id2" merge-written
[ "$(chain_of "$name")" = "$id1:- $id2:$id1 $id3:$id2" ] || fail "after a crash mid-merge: '$(chain_of "$name")'"
# the middle image removed: its pages move into its child, which names its parent
ckctl images rm "$name" "$id2" >/dev/null || fail "images rm $name $id2 (the parent of $id3)"
[ "$(chain_of "$name")" = "$id1:- $id3:$id1" ] || fail "after images rm $id2 the chain is '$(chain_of "$name")'"
info "images rm $id2: $id3 holds its pages and names $id1"

# restart of the last image follows the chain: every word checks out
restart_ct "$name" --image "$id3"
passes "$name" 2
info "restart of $id3 from the chain $id1 <- $id3 (merged): both processes pass"

# a restarted container has no tracking: its next one begins a new chain;
# a checkpoint without --incremental ends it again
incr "$name" --leave-running
[ -z "$(echo "$out" | json_get parent_id)" ] || fail "the first image after a restart names a parent: $out"
[ -n "$(echo "$out" | json_get full_reason)" ] || fail "a full image after a restart names no reason: $out"
id4=$(echo "$out" | json_get image_id)
incr "$name" --leave-running
[ "$(echo "$out" | json_get parent_id)" = "$id4" ] || fail "the chain after the restart does not begin at $id4: $out"
ckctl checkpoint "$name" --leave-running >/dev/null || fail "plain checkpoint of $name"
for p in $(tree_host_pids "$name"); do
	grep -qE '^VmFlags:.* uw( |$)' "/proc/$p/smaps" && fail "pid $p: still write-tracked after a plain checkpoint"
done
incr "$name" --leave-running
[ -z "$(echo "$out" | json_get parent_id)" ] || fail "a plain checkpoint did not end the chain: $out"
passes "$name" 2
info "a restart, and a plain checkpoint, begin a new chain"

# the parent of a merged image replaced by another image of the same
# container (a full one) is refused by digest
stopped "$name"
dir=$STATE/containers/$name/images
[ -f "$dir/$id1.img" ] && [ -f "$dir/$id4.img" ] || fail "images $id1 and $id4 are not in $dir"
cp "$dir/$id1.img" "$TMP/saved.img"
cp "$dir/$id4.img" "$dir/$id1.img.swap" && mv "$dir/$id1.img.swap" "$dir/$id1.img"
out=$(ckctl restart "$name" --image "$id3" 2>&1) && fail "restart with a replaced parent succeeded"
case $out in *"parent image $id1: not the image its child was made after"*) ;;
	*) fail "replaced parent: unexpected error: $out" ;; esac
mv "$TMP/saved.img" "$dir/$id1.img"
expect_state "$name" stopped
info "a replaced parent is refused: $out"
# and the chain, whole again, restores
restart_ct "$name" --image "$id3"
passes "$name" 2

# a chain of three: full $f <- $g <- $h
incr "$name" --leave-running
f=$(echo "$out" | json_get image_id)
step "$name" 3
incr "$name" --leave-running
g=$(echo "$out" | json_get image_id)
[ "$(echo "$out" | json_get parent_id)" = "$f" ] || fail "image $g does not name $f: $out"
step "$name" 4
incr "$name"
h=$(echo "$out" | json_get image_id)
[ "$(echo "$out" | json_get parent_id)" = "$g" ] || fail "image $h does not name $g: $out"
expect_state "$name" checkpointed
# ckptd killed once the merged $g is in place, before $f is removed: $g is
# full now, $f still there and nobody's parent, and $h (which names $g by
# its digest before the merge) restores
rm_crash "$name" "$f" merge-renamed
case " $(chain_of "$name") " in *" $f:- $g:- $h:$g "*) ;;
	*) fail "after a crash past the merge: '$(chain_of "$name")'" ;; esac
restart_ct "$name" --image "$h"
passes "$name" 2
info "ckptd killed mid-merge of $f into $g: $h restores from $g (merged)"
stopped "$name"
# $f, now nobody's parent, goes; then $g, whose pages move into $h
ckctl images rm "$name" "$f" >/dev/null || fail "images rm $f"
ckctl images rm "$name" "$g" >/dev/null || fail "images rm $g (the parent of $h)"
case " $(chain_of "$name") " in *" $h:- "*) ;; *) fail "$h still names a parent: '$(chain_of "$name")'" ;; esac
[ -e "$dir/$f.img" ] || [ -e "$dir/$g.img" ] && fail "images $f and $g are still in the store"
restart_ct "$name" --image "$h"
passes "$name" 2
info "images rm $f, then $g: $h is full and restores"
ckctl rm "$name" >/dev/null || fail "rm $name"
pass
