#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# checkpoint --compress zstd: each chunk of pages is one zstd frame (a
# ZPAGES record) when that makes it smaller. zmem holds a compressible
# half and a random half; its image is checkpointed compressed into the
# store, to a file and through `-o - | restart -i -`, restarted each time,
# and every page verified by the workload. The compressed image is smaller
# than the plain one, restart finds the compression in the image by itself,
# and a damaged compressed chunk (checksums recomputed, --trust-image) is
# refused by name while ckptd stays up.
. "$(dirname "$0")/lib.sh"

MUT=$BUILD/tests/tools/imgmutate
MIB=32
start_ckptd
name=$P-z
run_wl "$name" "$WL/zmem" "$MIB"
verify_ct "$name" zmem

# the plain image, for comparison
checkpoint_ct "$name" --leave-running -o "$TMP/plain.img"
plain=$(stat -c %s "$TMP/plain.img")
[ "$plain" -gt $(( MIB << 20 )) ] || fail "the plain image holds $plain bytes, less than the workload's memory"

# into the store, compressed: the answer says how much the pages shrank
out=$(ckctl --json checkpoint "$name" --compress zstd 2>&1) || fail "checkpoint --compress zstd: $out"
raw=$(echo "$out" | json_get pages_raw_bytes)
stored=$(echo "$out" | json_get pages_stored_bytes)
[ -n "$raw" ] && [ -n "$stored" ] || fail "no pages_raw_bytes/pages_stored_bytes in the answer: $out"
[ "$raw" -ge $(( MIB << 20 )) ] || fail "compressed $raw bytes of pages, fewer than the workload's $MIB MiB"
[ "$stored" -lt $(( raw * 3 / 4 )) ] || fail "pages stored in $stored bytes of $raw: the compressible half did not shrink"
[ "$stored" -gt $(( MIB << 19 )) ] || fail "pages stored in $stored bytes: less than the random half alone"
expect_state "$name" checkpointed
restart_ct "$name"
verify_ct "$name" zmem
info "store: $raw bytes of pages stored in $stored"

# to a file: smaller than the plain image, and inspect reads it
checkpoint_ct "$name" --leave-running --compress zstd -o "$TMP/z.img"
z=$(stat -c %s "$TMP/z.img")
[ "$z" -lt $(( plain * 3 / 4 )) ] || fail "compressed image $z bytes, plain $plain: not smaller"
ckctl inspect "$TMP/z.img" >"$TMP/inspect.txt" 2>&1 || fail "inspect of the compressed image: $(tail -n 3 "$TMP/inspect.txt")"
restart_ct "$P-file" -i "$TMP/z.img"
verify_ct "$P-file" zmem
ckctl rm "$P-file" >/dev/null || fail "rm $P-file"
info "file: $z bytes, plain $plain"

# through a pipe, as to another machine
ckctl checkpoint "$name" --compress zstd -o - 2>"$TMP/ck.err" | ckctl restart "$P-pipe" -i - >"$TMP/rs.out" 2>"$TMP/rs.err"
st=("${PIPESTATUS[@]}")
[ "${st[0]}" = 0 ] || fail "checkpoint --compress zstd -o - exited ${st[0]}: $(cat "$TMP/ck.err")"
[ "${st[1]}" = 0 ] || fail "restart -i - exited ${st[1]}: $(cat "$TMP/rs.err")"
expect_state "$P-pipe" running
verify_ct "$P-pipe" zmem

# a damaged compressed chunk: refused by name, nothing left behind
n=$("$MUT" --zpages "$TMP/z.img" "$TMP/bad.img") || fail "imgmutate --zpages: $n"
info "damaged $n compressed chunks"
out=$(ckctl restart "$P-bad" --trust-image -i "$TMP/bad.img" 2>&1) && fail "a damaged compressed chunk restored: $out"
case $out in *zpages*zstd*) ;; *) fail "damaged compressed chunk: unclear refusal: $out" ;; esac
ckptd_alive || fail "ckptd died on a damaged compressed chunk"
[ -z "$(host_pid_of "$P-bad")" ] || fail "$P-bad runs after a refused restart"
info "refused: $out"

# a bad --compress value is refused by the client
out=$(ckctl checkpoint "$P-pipe" --compress lz4 2>&1) && fail "checkpoint --compress lz4 succeeded: $out"
expect_state "$P-pipe" running
verify_ct "$P-pipe" zmem
pass
