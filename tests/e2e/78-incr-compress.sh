#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --incremental --compress zstd: a chain of compressed images (a full one,
# then only the pages written since, each chunk a zstd frame) restarts
# from its last image, every page of every process checked by incrwriter;
# images rm folds a compressed parent into its compressed child (the
# middle of the chain, then its head), and the merged image, still
# compressed, restores. A chain that mixes compressed and plain images
# merges and restores too, and a damaged compressed chunk of a parent is
# refused by name.
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/incr-lib.sh
. "$(dirname "$0")/incr-lib.sh"

MUT=$BUILD/tests/tools/imgmutate
MIB=64

# shrunk: the answer in $out says the pages were compressed
shrunk() {
	local raw stored
	raw=$(echo "$out" | json_get pages_raw_bytes)
	stored=$(echo "$out" | json_get pages_stored_bytes)
	[ -n "$raw" ] && [ -n "$stored" ] || fail "no pages_raw_bytes/pages_stored_bytes in the answer: $out"
	[ "$raw" -gt 0 ] && [ "$stored" -lt $(( raw * 3 / 4 )) ] || fail "pages stored in $stored bytes of $raw: not compressed"
}

start_ckptd
name=$P-iz
dir=$STATE/containers/$name/images
run_wl "$name" "$WL/incrwriter" "$MIB"

# a compressed chain: full, then two incremental images
incr "$name" --leave-running --compress zstd
id1=$(echo "$out" | json_get image_id)
shrunk
full=$(stat -c %s "$dir/$id1.img")
[ "$full" -lt $(( MIB << 20 )) ] || fail "the compressed full image holds $full bytes, no less than $MIB MiB"
step "$name" 1
incr "$name" --leave-running --compress zstd
id2=$(echo "$out" | json_get image_id)
[ "$(echo "$out" | json_get parent_id)" = "$id1" ] || fail "image $id2 does not name $id1: $out"
shrunk
b2=$(stat -c %s "$dir/$id2.img")
[ "$b2" -lt $(( full / 10 )) ] || fail "incremental image $id2 holds $b2 bytes, not < 10% of $full"
passes "$name" 2
step "$name" 2
incr "$name" --compress zstd
id3=$(echo "$out" | json_get image_id)
[ "$(echo "$out" | json_get parent_id)" = "$id2" ] || fail "image $id3 does not name $id2: $out"
expect_state "$name" checkpointed
info "compressed chain $id1 ($full bytes) <- $id2 ($b2) <- $id3"

# a damaged compressed chunk of the full parent: refused by name
cp "$dir/$id1.img" "$TMP/saved.img"
n=$("$MUT" --zpages "$TMP/saved.img" "$TMP/bad.img") || fail "imgmutate --zpages: $n"
cp "$TMP/bad.img" "$dir/$id1.img.swap" && mv "$dir/$id1.img.swap" "$dir/$id1.img"
out=$(ckctl restart "$name" --image "$id3" --trust-image 2>&1) && fail "a damaged compressed parent restored: $out"
case $out in *"parent image $id1"*zpages*) ;; *) fail "damaged compressed parent: unclear refusal: $out" ;; esac
mv "$TMP/saved.img" "$dir/$id1.img"
expect_state "$name" checkpointed
info "refused: $out"

# restart from the compressed chain: every page of both processes checks
restart_ct "$name" --image "$id3"
passes "$name" 2
stopped "$name"

# the middle removed: merged into $id3, which stays compressed and restores
ckctl images rm "$name" "$id2" >/dev/null || fail "images rm $name $id2"
[ "$(chain_of "$name")" = "$id1:- $id3:$id1" ] || fail "after images rm $id2: '$(chain_of "$name")'"
restart_ct "$name" --image "$id3"
passes "$name" 2
stopped "$name"
# then the head: $id3 becomes full, compressed
ckctl images rm "$name" "$id1" >/dev/null || fail "images rm $name $id1"
[ "$(chain_of "$name")" = "$id3:-" ] || fail "after images rm $id1: '$(chain_of "$name")'"
b3=$(stat -c %s "$dir/$id3.img")
[ "$b3" -lt $(( MIB << 20 )) ] || fail "merged full image $id3 holds $b3 bytes: its pages are not compressed"
restart_ct "$name" --image "$id3"
passes "$name" 2
info "images rm $id2, then $id1: $id3 full, $b3 bytes, restores"

# a mixed chain: compressed full <- plain <- compressed, merged both ways
incr "$name" --leave-running --compress zstd
f=$(echo "$out" | json_get image_id)
step "$name" 3
incr "$name" --leave-running
g=$(echo "$out" | json_get image_id)
[ "$(echo "$out" | json_get parent_id)" = "$f" ] || fail "image $g does not name $f: $out"
bg=$(stat -c %s "$dir/$g.img")
# nothing written since $g: the pages it wrote were protected again
incr "$name" --leave-running --compress zstd
x=$(echo "$out" | json_get image_id)
[ "$(echo "$out" | json_get parent_id)" = "$g" ] || fail "image $x does not name $g: $out"
bx=$(stat -c %s "$dir/$x.img")
[ "$bx" -lt $(( bg / 4 )) ] || fail "image $x holds $bx bytes after no step, $g $bg after one: pages not protected again"
step "$name" 4
incr "$name" --compress zstd
h=$(echo "$out" | json_get image_id)
[ "$(echo "$out" | json_get parent_id)" = "$x" ] || fail "image $h does not name $x: $out"
restart_ct "$name" --image "$h"
passes "$name" 2
stopped "$name"
ckctl images rm "$name" "$g" >/dev/null || fail "images rm $g (plain, between compressed images)"
ckctl images rm "$name" "$f" >/dev/null || fail "images rm $f"
ckctl images rm "$name" "$x" >/dev/null || fail "images rm $x"
case " $(chain_of "$name") " in *" $h:- "*) ;; *) fail "$h still names a parent: '$(chain_of "$name")'" ;; esac
restart_ct "$name" --image "$h"
passes "$name" 2
info "mixed chain $f (zstd) <- $g (plain, $bg bytes) <- $x (zstd, nothing written: $bx bytes) <- $h (zstd): restored, merged, restored"
ckctl rm "$name" >/dev/null || fail "rm $name"
pass
