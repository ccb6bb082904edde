#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Bad images are refused cleanly: a flipped byte in the middle, a truncated
# image, garbage, empty input, and the stream of a checkpoint that failed.
# Each time: non-zero exit, a one-line "ckptctl: restart: ..." message,
# nothing left running for that container, ckptd still answering.
. "$(dirname "$0")/lib.sh"

start_ckptd
name=$P-cnt
run_ct "$name" "$WL/counter"
wait_log "$name" '^counter 100$' 10
checkpoint_ct "$name" -o "$TMP/good.img"
size=$(stat -c %s "$TMP/good.img")
[ "$size" -gt 4096 ] || fail "image is only $size bytes"

# one byte flipped in the middle
cp "$TMP/good.img" "$TMP/flip.img"
off=$((size / 2))
b=$(od -An -tu1 -j "$off" -N1 "$TMP/good.img" | tr -d ' ')
printf "$(printf '\\%03o' $(((b ^ 0x5a) & 255)))" |
	dd of="$TMP/flip.img" bs=1 seek="$off" count=1 conv=notrunc status=none
cmp -s "$TMP/good.img" "$TMP/flip.img" && fail "flipping a byte did not change the image"
# a byte flipped in the header
cp "$TMP/good.img" "$TMP/flip-head.img"
printf 'X' | dd of="$TMP/flip-head.img" bs=1 seek=3 count=1 conv=notrunc status=none
head -c $((size / 2)) "$TMP/good.img" >"$TMP/trunc.img"
head -c $((size - 1)) "$TMP/good.img" >"$TMP/trunc-tail.img"
head -c 65536 /dev/urandom >"$TMP/garbage.img"
: >"$TMP/empty.img"

# refused: restart NAME -i FILE must fail cleanly and leave NAME not running
expect_refused()
{
	local ct=$1 img=$2 out rc st
	out=$(ckctl restart "$ct" -i "$img" 2>&1)
	rc=$?
	[ $rc != 0 ] || fail "restart $ct -i $(basename "$img") succeeded"
	[ $rc -lt 128 ] || fail "restart $ct -i $(basename "$img"): ckptctl died (exit $rc): $out"
	echo "$out" | grep -q '^ckptctl: restart: ..*' ||
		fail "restart -i $(basename "$img"): no clear message, got: $out"
	[ "$(echo "$out" | grep -vc '^hint: ')" = 1 ] || fail "restart -i $(basename "$img"): more than one error line: $out"
	st=$(ct_state "$ct")
	[ "$st" != running ] && [ "$st" != busy ] ||
		fail "$ct is '$st' after a refused image $(basename "$img")"
	[ -z "$(host_pid "$ct")" ] || [ "$(host_pid "$ct")" = 0 ] ||
		fail "$ct has a host pid $(host_pid "$ct") after a refused image"
	ckctl version >/dev/null || fail "ckptd does not answer after $(basename "$img")"
	log "$(basename "$img"): $out"
}

# nothing of a refused restart may be left in ckptd's cgroups either
check_no_procs()
{
	local cg pids
	for cg in "${E2E_CGROUPS[@]}"; do
		[ -f "$cg/cgroup.procs" ] || continue
		pids=$(find "$cg" -mindepth 2 -name cgroup.procs -exec cat {} + 2>/dev/null | tr '\n' ' ')
		[ -z "${pids// /}" ] || fail "processes left in $cg after refused images: $pids"
	done
}

for img in flip flip-head trunc trunc-tail garbage empty; do
	expect_refused "$name" "$TMP/$img.img"
	expect_refused "$P-new-$img" "$TMP/$img.img"
	ckctl rm "$P-new-$img" >/dev/null 2>&1
done
# empty stdin too
out=$(ckctl restart "$name" -i - </dev/null 2>&1) && fail "restart -i - from an empty stdin succeeded"
echo "$out" | grep -q '^ckptctl: restart: ' || fail "empty stdin: no clear message: $out"
check_no_procs

# the good image still works afterwards: nothing was left half-restored
restart_ct "$name" -i "$TMP/good.img"
verify_ct "$name" counter

# the stream of a checkpoint that fails (a socket is unsupported) is refused
bad=$P-sock
run_ct "$bad" "$WL/refuse" socket
out=$(ckctl checkpoint "$bad" -o "$TMP/failed-file.img" 2>&1) && fail "checkpoint of a socket holder succeeded"
log "failed checkpoint: $out"
echo "$out" | grep -q 'socket' || fail "refusal does not name the socket: $out"
[ -e "$TMP/failed-file.img" ] && expect_refused "$P-fromfailed" "$TMP/failed-file.img"
# what a reader at the other end of a stream gets
ckctl checkpoint "$bad" -o - >"$TMP/failed.img" 2>/dev/null && fail "checkpoint -o - of a socket holder succeeded"
expect_refused "$P-fromfailed" "$TMP/failed.img"
ckctl rm "$P-fromfailed" >/dev/null 2>&1
ckctl checkpoint "$bad" -o - 2>"$TMP/ck.err" | ckctl restart "$P-fromfailed2" -i - >"$TMP/rs.out" 2>"$TMP/rs.err"
st=("${PIPESTATUS[@]}")
[ "${st[0]}" != 0 ] || fail "streamed checkpoint of a socket holder succeeded"
[ "${st[1]}" != 0 ] || fail "restart from the stream of a failed checkpoint succeeded"
grep -q '^ckptctl: restart: ' "$TMP/rs.err" || fail "streamed failed checkpoint: $(cat "$TMP/rs.err")"
s2=$(ct_state "$P-fromfailed2")
[ "$s2" != running ] || fail "$P-fromfailed2 is running"
[ "$(ct_state "$bad")" = running ] || fail "$bad is $(ct_state "$bad") after its refused checkpoints"
ckctl version >/dev/null || fail "ckptd does not answer"
echo "PASS: $TEST_NAME"
