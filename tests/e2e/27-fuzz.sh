#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A short run of each libFuzzer harness (tests/fuzz, built by run.sh in
# build-fuzz/ when clang is there): first every kept regression input
# (tests/fuzz/regress/NAME/), then FUZZ_SECONDS (default 20) of fuzzing
# from seeds: images this test makes with a real ckptd (a counter, shared
# memory across processes, threads), the /proc fixtures of the unit tests,
# the worker-to-init requests of tests/fuzz/seeds-spawn/.
# fuzz-image verifies MACs under that ckptd's key (CKPT_FUZZ_KEY), so the
# seeds start out authentic.
# A crash, a leak or a sanitizer report fails the test; its input is left
# in $TMP (CKPT_KEEP=1 keeps it) to be added to the regression inputs once
# fixed.
. "$(dirname "$0")/lib.sh"

FUZZ=${CKPT_BUILD_FUZZ:-$REPO/build-fuzz}/tests/fuzz
SECS=${FUZZ_SECONDS:-20}
for f in image proc rpc spawn; do
	[ -x "$FUZZ/fuzz-$f" ] || skip "no $FUZZ/fuzz-$f (build-fuzz needs clang)"
done
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# seeds
mkdir -p "$TMP/image" "$TMP/proc" "$TMP/rpc" "$TMP/spawn"
start_ckptd
for wl in counter shmem threads; do
	run_ct "$P-$wl" "$WL/$wl"
	sleep 0.3
	ckctl checkpoint "$P-$wl" -o "$TMP/image/$wl.img" >/dev/null || fail "checkpoint $wl"
	ckctl rm "$P-$wl" >/dev/null
done
i=0
for fx in "$REPO"/tests/unit/fixtures/{maps,smaps,status,stat,fdinfo,limits}-*.txt; do
	case $(basename "$fx") in
	maps-*|smaps-*) sel='\x00' ;; status-*) sel='\x01' ;; stat-*) sel='\x02' ;;
	fdinfo-*) sel='\x03' ;; limits-*) sel='\x04' ;;
	esac
	{ printf "$sel"; cat "$fx"; } > "$TMP/proc/seed$i"
	i=$((i + 1))
done
printf '\x0a\x00' > "$TMP/rpc/empty-version"
cp "$REPO"/tests/fuzz/seeds-spawn/* "$TMP/spawn/"
export CKPT_FUZZ_KEY=$STATE/keys/image.key
[ -s "$CKPT_FUZZ_KEY" ] || fail "no image key in $STATE/keys"

run_fuzzer() {
	local name=$1 out=$TMP/fuzz-$1.log reg=$REPO/tests/fuzz/regress/$1
	if compgen -G "$reg/*" >/dev/null; then
		"$FUZZ/fuzz-$name" "$reg"/* >"$out" 2>&1 || { tail -n 40 "$out" >&2; fail "fuzz-$name: a regression input fails again"; }
	fi
	(cd "$TMP" && "$FUZZ/fuzz-$name" -max_total_time="$SECS" -rss_limit_mb=2048 -max_len=$((4 << 20)) \
		-timeout=10 -print_final_stats=1 "$TMP/$name") >"$out" 2>&1 ||
		{ tail -n 40 "$out" >&2; fail "fuzz-$name found a crash (input in $TMP)"; }
	info "fuzz-$name: $(grep -m1 'stat::number_of_executed_units' "$out" | awk '{print $2}') executions in $SECS s, corpus $(find "$TMP/$name" -type f | wc -l)"
}
run_fuzzer image
run_fuzzer proc
run_fuzzer rpc
run_fuzzer spawn
pass
