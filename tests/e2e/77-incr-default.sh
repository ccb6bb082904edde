#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Incremental by default: with `incremental = auto` in ckptd.conf, a
# stored --leave-running checkpoint without --incremental continues the
# container's chain (the first of a container is full and arms the write
# tracking); --full begins a new chain (a full image, the tracking armed
# afresh, so the next one names it); a checkpoint that ends the container
# continues nothing unless asked, and -o is a plain one (which ends the
# chain). ckptd.conf
# refuses a value other than auto or off. Restart of the last image of
# each chain follows it, and every process of incrwriter checks every word
# of its memory. Write tracking that could not all be handed over to ckptd
# makes the next checkpoint a full one. Every private anonymous mapping of
# every process is tracked after each checkpoint, a new one and a new
# process's too, and stays so through one that finds all of them tracked
# (and so makes no userfaultfd).
. "$(dirname "$0")/lib.sh"

# shellcheck source=tests/e2e/incr-lib.sh
. "$(dirname "$0")/incr-lib.sh"

# parent_of NAME ID: the parent images --json shows for ID ("-": none)
parent_of() {
	ckctl --json images "$1" | "$PYTHON" -c '
import json, sys
print(next((i.get("parent_id", "-") for i in json.load(sys.stdin)["images"] if i["id"] == sys.argv[1]), "?"))' "$2"
}

# a value ckptd does not know stops it, naming the line
printf 'incremental = on\n' > "$TMP/e2e.conf"
out=$(timeout 10 "$CKPTD" --config "$TMP/e2e.conf" --socket "$TMP/bad.sock" --state-dir "$TMP/bad-state" 2>&1) &&
	fail "ckptd started with incremental = on"
case $out in *"line 1: incremental: 'on' is not auto or off"*) ;; *) fail "incremental = on: unexpected answer: $out" ;; esac

printf 'incremental = auto\n' > "$TMP/e2e.conf"
start_ckptd
name=$P-auto
run_wl "$name" "$WL/incrwriter" 64

# the first stored --leave-running checkpoint: full, tracking armed
ck "$name" --leave-running
id1=$(echo "$out" | json_get image_id)
full=$(echo "$out" | json_get image_bytes)
[ -z "$(echo "$out" | json_get parent_id)" ] || fail "the first image names a parent: $out"
[ -n "$(echo "$out" | json_get full_reason)" ] || fail "the first image of the chain names no reason for being full: $out"
grep -qE '^VmFlags:.* uw( |$)' "/proc/$(host_pid "$name")/smaps" || fail "no mapping is write-tracked after $id1"

# 1% written (a new mapping and a child too): the next one is incremental
step "$name" 1
ck "$name" --leave-running
id2=$(echo "$out" | json_get image_id)
b2=$(echo "$out" | json_get image_bytes)
[ "$(echo "$out" | json_get parent_id)" = "$id1" ] || fail "image $id2 does not name $id1 without --incremental: $out"
[ "$b2" -lt $(( full / 10 )) ] || fail "image $id2 holds $b2 bytes, not < 10% of $full"
[ "$(parent_of "$name" "$id2")" = "$id1" ] || fail "images does not show $id1 as the parent of $id2"
info "image $id2: incremental by default, $b2 bytes of $full"
# the new mapping and the new process got a userfaultfd of their own
u=$(untracked "$name")
[ -z "$u" ] || fail "mappings without write tracking after $id2: $u"

step "$name" 2
ck "$name" --leave-running
id3=$(echo "$out" | json_get image_id)
[ "$(echo "$out" | json_get parent_id)" = "$id2" ] || fail "image $id3 does not name $id2: $out"
# all tracked before it: it made no userfaultfd, and they still are
u=$(untracked "$name")
[ -z "$u" ] || fail "mappings without write tracking after $id3: $u"
passes "$name" 2

# --full: a new chain, which the next one continues
step "$name" 3
ck "$name" --leave-running --full
id4=$(echo "$out" | json_get image_id)
b4=$(echo "$out" | json_get image_bytes)
[ -z "$(echo "$out" | json_get parent_id)" ] || fail "--full named a parent: $out"
case $(echo "$out" | json_get full_reason) in *--full*) ;; *) fail "--full gives no reason: $out" ;; esac
[ "$b4" -gt $(( 64 << 20 )) ] || fail "--full image holds $b4 bytes, less than the workload's memory"
[ "$(parent_of "$name" "$id4")" = - ] || fail "images shows a parent for $id4"
step "$name" 4
ck "$name" --leave-running
id5=$(echo "$out" | json_get image_id)
[ "$(echo "$out" | json_get parent_id)" = "$id4" ] || fail "image $id5 does not continue the new chain at $id4: $out"
info "--full: $id4 begins a new chain, $id5 continues it"

# restart of the last image of each chain: every word checks out
passes "$name" 2
stopped "$name"
restart_ct "$name" --image "$id3"
passes "$name" 2
info "restart of $id3 ($id1 <- $id2 <- $id3): both processes pass"
stopped "$name"
restart_ct "$name" --image "$id5"
passes "$name" 2
info "restart of $id5 ($id4 <- $id5): both processes pass"

# a restarted container has no chain: the next stored one is full again;
# -o is a plain checkpoint, which ends the chain as ever, and one that ends
# the container, unasked, is a full one too
ck "$name" --leave-running
[ -z "$(echo "$out" | json_get parent_id)" ] || fail "the first image after a restart names a parent: $out"
ckctl checkpoint "$name" --leave-running -o "$TMP/out.img" >/dev/null || fail "checkpoint -o"
ck "$name" --leave-running
[ -z "$(echo "$out" | json_get parent_id)" ] || fail "the chain went on after a checkpoint -o: $out"
rm -f "$TMP/out.img"
step "$name" 5
ck "$name"
[ -z "$(echo "$out" | json_get parent_id)" ] || fail "a checkpoint that ends the container continued the chain: $out"
expect_state "$name" checkpointed
ckctl rm "$name" >/dev/null || fail "rm $name"

# write tracking handed over to ckptd broken partway (CKPTD_FAULT=
# incr-hand-over): what ckptd got of it does not cover every process, so
# the next checkpoint is a full one, never an incremental one missing writes
ckptd_stop
CKPTD_FAULT=incr-hand-over start_ckptd
name=$P-lost
run_wl "$name" "$WL/incrwriter" 64
ck "$name" --leave-running
step "$name" 1
ck "$name" --leave-running
[ -z "$(echo "$out" | json_get parent_id)" ] || fail "a checkpoint after a broken hand-over of the write tracking named a parent: $out"
[ -n "$(echo "$out" | json_get full_reason)" ] || fail "a full image after a broken hand-over names no reason: $out"
grep -q "container $name: write tracking: a part was not handed over" "$TMP/ckptd.log" ||
	fail "the broken hand-over is not in ckptd's log"
passes "$name" 2
ckctl rm "$name" >/dev/null || fail "rm $name"
pass
