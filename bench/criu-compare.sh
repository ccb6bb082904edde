#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (issue 11): ckptd and CRIU side by side on the same program,
# tests/workloads/dirtymem SIZE (SIZE MiB of dirty anonymous memory), images
# on a tmpfs, the two tools interleaved round by round in one run. Prints a
# table of medians (min-max); never asserts on time.
#
#   CRIU=/path/to/criu bench/criu-compare.sh [SIZE_MIB...]   default: 64 1024 8192
#
# Without CRIU (or if it is not executable) it says so and exits 0: CRIU is
# built from source outside the tree, for this comparison only.
#
# A round, for each tool:
#   ckptd  ckptctl run (a container of its own, the default capability
#          set: a background snapshot needs none); checkpoint
#          --leave-running -o /dev/null (frozen time of a background snapshot); the program verifies every
#          page; checkpoint into the store (wall time, frozen_us, image size);
#          restart from it (wall time = time to the first instruction of an
#          eager restart); the program verifies every page. If ckptctl has
#          restart --lazy, a second checkpoint is restarted --lazy and its
#          wall time is the lazy time to first instruction.
#   CRIU   the program started with setsid (no terminal, stdout appended to
#          a file), criu dump --leave-running (its stats-dump frozen_time),
#          SIGUSR2 check, criu dump (wall time, frozen_time, size of the
#          image directory), criu restore -d (wall time), SIGUSR2 check of
#          the restored process, which must have its pid and answer PASS.
# Then the incremental column, ckptd only: tests/workloads/incrwriter SIZE
# plain, checkpoint --leave-running --incremental, one step writing 1% of
# the pages, a second --incremental checkpoint: its image size. For CRIU
# the script runs criu pre-dump once and prints what it says (on a kernel
# without soft-dirty tracking, pre-dump fails: "n/a (no soft-dirty)").
#
# Environment: CRIU (path of the criu binary), CKPT_BUILD (default build/,
# built if missing), BENCH_STORE (tmpfs, or disk: both tools' images in a
# directory on /tmp's file system, through the page cache, when memory
# can't hold the program and its image at once), BENCH_REPS (3), BENCH_PREWARM (1: before each
# checkpoint, write and delete up to 2x SIZE in the tmpfs, see bench/run.sh).
set -u -o pipefail

cd "$(dirname "$0")/.." || exit 1
REPO=$(pwd)
BUILD=${CKPT_BUILD:-$REPO/build}
REPS=${BENCH_REPS:-3}
PREWARM=${BENCH_PREWARM:-1}
CRIU=${CRIU:-}
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(64 1024 8192)

if [ -z "$CRIU" ] || [ ! -x "$CRIU" ]; then
	echo "bench: skipped: set CRIU to the path of a criu binary (CRIU='${CRIU}' is not executable)" >&2
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
if [ ! -x "$BUILD/ckptd" ] || [ ! -x "$BUILD/tests/workloads/dirtymem" ] ||
   [ ! -x "$BUILD/tests/workloads/incrwriter" ]; then
	cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
		cmake --build "$BUILD" -j "$(nproc)" >/dev/null || { echo "bench: build failed" >&2; exit 1; }
fi
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh" ckpt-bench-criu

# CRIU's programs are plain processes of ours: kill them, whatever happens
CRIU_PIDS=()
criu_cleanup() {
	local p
	for p in "${CRIU_PIDS[@]}"; do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = dirtymem ] && kill -KILL "$p" 2>/dev/null
	done
	bench_cleanup
}
trap criu_cleanup EXIT

CDIR=$STORE/criu
mkdir -p "$CDIR"
DIRTY=$BUILD/tests/workloads/dirtymem
LAZY=no
"$BUILD/ckptctl" restart --help 2>&1 | grep -q -- '--lazy' && LAZY=yes

prewarm() { [ "$PREWARM" = 1 ] && bench_prewarm $(( $1 * 2 )); }

# criu_frozen DIR: frozen_time (us) from DIR/stats-dump (a CRIU image: two
# magic words, then a length-prefixed StatsEntry whose field 1 is
# DumpStatsEntry, whose field 2 is frozen_time)
criu_frozen() {
	"$PYTHON" - "$1/stats-dump" <<'PY' 2>/dev/null || echo 0
import struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack_from("<I", b, 8)[0]
def fields(m):
    i = 0
    while i < len(m):
        k = 0; s = 0
        while True:
            c = m[i]; i += 1; k |= (c & 0x7f) << s; s += 7
            if c < 0x80: break
        f, t = k >> 3, k & 7
        if t == 0:
            v = 0; s = 0
            while True:
                c = m[i]; i += 1; v |= (c & 0x7f) << s; s += 7
                if c < 0x80: break
            yield f, v
        elif t == 2:
            l = 0; s = 0
            while True:
                c = m[i]; i += 1; l |= (c & 0x7f) << s; s += 7
                if c < 0x80: break
            yield f, m[i:i + l]; i += l
        else:
            raise SystemExit(1)
dump = dict(fields(b[12:12 + n]))[1]
print(dict(fields(dump))[2])
PY
}

# wait_log FILE PATTERN N TIMEOUT_S: N lines matching PATTERN in FILE
wait_log() {
	for _ in $(seq $(( $4 * 10 ))); do
		[ "$(grep -c "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
		grep -q '^FAIL' "$1" 2>/dev/null && return 1
		sleep 0.1
	done
	return 1
}

# verify_ck NAME: the container's program checks every page
verify_ck() {
	local n
	n=$(count "$1" '^PASS')
	ckctl kill "$1" --signal USR2 >/dev/null && wait_count "$1" '^PASS' $(( n + 1 )) 900
}

# verify_pid PID LOG: the process checks every page
verify_pid() {
	local n
	n=$(grep -c '^PASS' "$2")
	kill -USR2 "$1" 2>/dev/null && wait_log "$2" '^PASS' $(( n + 1 )) 900
}

# criu_err LOG: CRIU's first error, from its log or its stderr
# (without CAP_SYS_RESOURCE, CRIU's failure to raise its own RLIMIT_NOFILE
# is logged as an error, but it goes on)
criu_err() { { grep -h -i 'error' "$1" "$TMP/criu.err" 2>/dev/null; cat "$TMP/criu.err" 2>/dev/null; } | grep -v RLIMIT_NOFILE | head -n 2 | tr '\n' ' ' | cut -c 1-200; }

fail_note() { echo "$1: $2" >>"$TMP/notes"; echo "bench: $1: $2" >&2; }

round_ckptd() {	# MIB REP
	local mib=$1 rep=$2 name=ck-$1-$2 t0 t1 t2
	ckctl run "$name" -- "$DIRTY" "$mib" >/dev/null || { fail_note "ckptd $mib" "run failed"; return; }
	wait_count "$name" '^READY' 1 900 || { fail_note "ckptd $mib" "never READY"; ckctl rm "$name" >/dev/null 2>&1; return; }
	if ckctl --json checkpoint "$name" --leave-running -o /dev/null >"$TMP/lr.json" 2>"$TMP/err"; then
		put "ckptd.$mib.lr" "$(awk -v u="$(jget "$TMP/lr.json" frozen_us)" 'BEGIN { print u / 1000 }')"
		verify_ck "$name" && put "ckptd.$mib.lrok" 1
	else
		fail_note "ckptd $mib leave-running" "$(tail -n 1 "$TMP/err")"
	fi
	prewarm "$mib"
	t0=$(now_ns)
	if ! ckctl --json checkpoint "$name" >"$TMP/ck.json" 2>"$TMP/err"; then
		fail_note "ckptd $mib checkpoint" "$(tail -n 1 "$TMP/err")"
		ckctl rm "$name" >/dev/null 2>&1
		return
	fi
	t1=$(now_ns)
	ckctl --json restart "$name" >"$TMP/rs.json" 2>"$TMP/err" || {
		fail_note "ckptd $mib restart" "$(tail -n 1 "$TMP/err")"; ckctl rm "$name" >/dev/null 2>&1; return; }
	t2=$(now_ns)
	put "ckptd.$mib.frozen" "$(awk -v u="$(jget "$TMP/ck.json" frozen_us)" 'BEGIN { print u / 1000 }')"
	put "ckptd.$mib.ckpt" "$(ms_since "$t0" "$t1")"
	put "ckptd.$mib.rest" "$(ms_since "$t1" "$t2")"
	put "ckptd.$mib.img" "$(awk -v b="$(jget "$TMP/ck.json" image_bytes)" 'BEGIN { print b / 1048576 }')"
	verify_ck "$name" && put "ckptd.$mib.ok" 1
	[ $LAZY = yes ] && drop_images "$name"
	if [ $LAZY = yes ] && ckctl checkpoint "$name" >/dev/null 2>"$TMP/err"; then
		t0=$(now_ns)
		if ckctl restart "$name" --lazy >/dev/null 2>"$TMP/err"; then
			put "ckptd.$mib.lazy" "$(ms_since "$t0" "$(now_ns)")"
			verify_ck "$name" && put "ckptd.$mib.lazyok" 1
		else
			fail_note "ckptd $mib restart --lazy" "$(tail -n 1 "$TMP/err")"
		fi
	fi
	ckctl rm "$name" >/dev/null 2>&1
}

round_ckptd_incr() {	# MIB
	local mib=$1 name=ci-$1 full incr
	ckctl run "$name" -- "$BUILD/tests/workloads/incrwriter" "$mib" plain >/dev/null ||
		{ fail_note "ckptd $mib incremental" "run failed"; return; }
	if wait_count "$name" '^READY' 1 900 &&
	   ckctl --json checkpoint "$name" --leave-running --incremental >"$TMP/full.json" 2>"$TMP/err" &&
	   ckctl kill "$name" --signal USR1 >/dev/null && wait_count "$name" '^STEP 1' 1 900 &&
	   ckctl --json checkpoint "$name" --leave-running --incremental >"$TMP/incr.json" 2>"$TMP/err"; then
		full=$(jget "$TMP/full.json" image_bytes)
		incr=$(jget "$TMP/incr.json" image_bytes)
		if [ "$(jget "$TMP/incr.json" parent_id)" = 0 ]; then
			fail_note "ckptd $mib incremental" "not incremental: $(jget "$TMP/incr.json" full_reason)"
		else
			put "ckptd.$mib.incr" "$(awk -v b="$incr" 'BEGIN { print b / 1048576 }')"
			put "ckptd.$mib.incrpct" "$(awk -v a="$incr" -v b="$full" 'BEGIN { print 100 * a / b }')"
			verify_ck "$name" && put "ckptd.$mib.incrok" 1
		fi
	else
		fail_note "ckptd $mib incremental" "$(tail -n 1 "$TMP/err")"
	fi
	ckctl rm "$name" >/dev/null 2>&1
}

round_criu() {	# MIB REP
	local mib=$1 rep=$2 log=$TMP/criu-wl-$1-$2.log pid t0 t1 t2 out
	: >"$log"
	# a child of this shell (in a session of its own), so that it can be
	# reaped here and its pid is free for the restore
	setsid "$DIRTY" "$mib" >>"$log" 2>&1 </dev/null &
	pid=$!
	CRIU_PIDS+=("$pid")
	wait_log "$log" '^READY' 1 900 || { fail_note "criu $mib" "never READY"; kill -KILL "$pid"; return; }
	mkdir -p "$CDIR/lr" "$CDIR/pre" "$CDIR/img"
	if "$CRIU" dump -t "$pid" -D "$CDIR/lr" -o "$TMP/criu-lr.log" -v2 --leave-running 2>"$TMP/criu.err"; then
		put "criu.$mib.lr" "$(awk -v u="$(criu_frozen "$CDIR/lr")" 'BEGIN { print u / 1000 }')"
		verify_pid "$pid" "$log" && put "criu.$mib.lrok" 1
	else
		fail_note "criu $mib dump --leave-running" "$(criu_err "$TMP/criu-lr.log")"
	fi
	rm -rf "$CDIR/lr"
	if [ ! -e "$TMP/predump.done" ]; then
		touch "$TMP/predump.done"
		if "$CRIU" pre-dump -t "$pid" -D "$CDIR/pre" -o "$TMP/criu-pre.log" -v2 2>"$TMP/criu.err"; then
			echo "criu pre-dump: succeeded (not measured)" >>"$TMP/notes"
		else
			echo "criu pre-dump: failed: $(criu_err "$TMP/criu-pre.log")" >>"$TMP/notes"
		fi
		rm -rf "$CDIR/pre"
	fi
	prewarm "$mib"
	t0=$(now_ns)
	if ! "$CRIU" dump -t "$pid" -D "$CDIR/img" -o "$TMP/criu-dump.log" -v2 2>"$TMP/criu.err"; then
		fail_note "criu $mib dump" "$(criu_err "$TMP/criu-dump.log")"
		kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
		rm -rf "$CDIR/img"
		return
	fi
	t1=$(now_ns)
	wait "$pid" 2>/dev/null		# its pid must be free for the restore
	if ! "$CRIU" restore -D "$CDIR/img" -o "$TMP/criu-restore.log" -v2 -d 2>"$TMP/criu.err"; then
		fail_note "criu $mib restore" "$(criu_err "$TMP/criu-restore.log")"
		rm -rf "$CDIR/img"
		return
	fi
	t2=$(now_ns)
	put "criu.$mib.frozen" "$(awk -v u="$(criu_frozen "$CDIR/img")" 'BEGIN { print u / 1000 }')"
	put "criu.$mib.ckpt" "$(ms_since "$t0" "$t1")"
	put "criu.$mib.rest" "$(ms_since "$t1" "$t2")"
	out=$(find "$CDIR/img" -name 'stats-*' -prune -o -type f -printf '%s\n' | awk '{ s += $1 } END { print s / 1048576 }')
	put "criu.$mib.img" "$out"
	if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dirtymem ] && verify_pid "$pid" "$log"; then
		put "criu.$mib.ok" 1
	else
		fail_note "criu $mib" "the restored process did not verify: $(tail -n 1 "$log")"
	fi
	kill -KILL "$pid" 2>/dev/null
	rm -rf "$CDIR/img"
}

ratio() {	# MIB METRIC: CRIU / ckptd of the same round, median (min-max)
	paste "$TMP/res/criu.$1.$2" "$TMP/res/ckptd.$1.$2" 2>/dev/null |
		awk 'NF == 2 && $2 > 0 { print $1 / $2 }' >"$TMP/res/ratio.$1.$2"
	rstat "ratio.$1.$2" "%.2f"
}

load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "bench: $(nproc) cpus, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r), $REPS reps, CRIU $("$CRIU" --version | awk '/Version/ { print $2 }'), load $(load)" >&2
for mib in "${SIZES[@]}"; do
	for rep in $(seq "$REPS"); do
		put "load.$mib" "$(cut -d' ' -f1 /proc/loadavg)"
		# alternate which tool goes first
		if [ $(( rep % 2 )) = 1 ]; then
			round_ckptd "$mib" "$rep"; round_criu "$mib" "$rep"
		else
			round_criu "$mib" "$rep"; round_ckptd "$mib" "$rep"
		fi
		round_ckptd_incr "$mib"
		echo "bench: $mib MiB round $rep done, load $(load)" >&2
	done
done

soft_dirty="n/a (no soft-dirty)"
grep -q 'pre-dump: succeeded' "$TMP/notes" 2>/dev/null && soft_dirty="n/a (not measured)"

echo
echo "ckptd vs CRIU $("$CRIU" --version | awk '/Version/ { print $2 }'): dirty anonymous memory, images on ${BENCH_STORE:-tmpfs} ($(uname -r), $(nproc) cpus, $REPS rounds, median (min-max), times in ms)"
echo
echo "| size | tool | frozen | checkpoint | restart | first instr. eager / lazy | image MiB | incr. MiB after 1% (% of full) | --leave-running frozen | verified | load |"
echo "|------|------|-------:|-----------:|--------:|--------------------------:|----------:|-------------------------------:|-----------------------:|----------|-----:|"
for mib in "${SIZES[@]}"; do
	for tool in ckptd criu; do
		if [ $tool = ckptd ]; then
			lazy="n/a (no restart --lazy)"
			[ $LAZY = yes ] && lazy=$(rstat "ckptd.$mib.lazy")
			incr="$(rstat "ckptd.$mib.incr" "%.2f") ($(rstat "ckptd.$mib.incrpct" "%.2f"))"
			ok="$(nvals "ckptd.$mib.ok")/$REPS, lr $(nvals "ckptd.$mib.lrok"), incr $(nvals "ckptd.$mib.incrok")"
			[ $LAZY = yes ] && ok="$ok, lazy $(nvals "ckptd.$mib.lazyok")"
		else
			lazy="n/a (not measured)"
			incr=$soft_dirty
			ok="$(nvals "criu.$mib.ok")/$REPS, lr $(nvals "criu.$mib.lrok")"
		fi
		printf '| %s MiB | %s | %s | %s | %s | %s / %s | %s | %s | %s | %s | %s |\n' "$mib" "$tool" \
			"$(rstat "$tool.$mib.frozen")" "$(rstat "$tool.$mib.ckpt")" "$(rstat "$tool.$mib.rest")" \
			"$(rstat "$tool.$mib.rest")" "$lazy" "$(rstat "$tool.$mib.img")" "$incr" \
			"$(rstat "$tool.$mib.lr")" "$ok" "$(rstat "load.$mib" "%.1f")"
	done
	printf '| %s MiB | CRIU/ckptd | %s | %s | %s | | | | %s | | |\n' "$mib" \
		"$(ratio "$mib" frozen)" "$(ratio "$mib" ckpt)" "$(ratio "$mib" rest)" "$(ratio "$mib" lr)"
done
echo
echo "frozen: how long the program was stopped by a checkpoint that ends it (ckptd: frozen_us; CRIU: stats-dump frozen_time)."
echo "checkpoint / restart: wall time of ckptctl checkpoint / restart, criu dump / restore -d."
echo "first instr.: an eager restart's first instruction runs when the restart returns, so it is the restart time."
echo "incr.: ckptd checkpoint --incremental after tests/workloads/incrwriter wrote 1% of its pages."
echo "--leave-running frozen: ckptd's background snapshot (-o /dev/null) and criu dump --leave-running (to tmpfs)."
echo "CRIU/ckptd: the ratio of the two tools' values in the same round, median (min-max); above 1, ckptd is faster."
echo "verified: rounds where the restored program checked every page (lr: after --leave-running; incr: after the incremental)."
echo "load: the 1-minute load average at the start of each round."
[ -s "$TMP/notes" ] && { echo; echo "notes:"; sed 's/^/  /' "$TMP/notes"; }
exit 0
