#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (issue 11, target 3): restart --lazy against an eager restart,
# interleaved round by round in the same run. Prints a table; never
# asserts on time.
#
#   bench/lazy.sh [SIZE_MIB...]      default: 1024 8192
#
# The program is tests/workloads/dirtymem SIZE (every page dirty), its
# image in ckptd's store (a tmpfs). "first instr." is the restart
# request's wall time as ckptctl sees it: the request returns when the
# restored tasks run, so it is the time to their first instruction. It is
# read from bash's clock ($EPOCHREALTIME), not date(1), whose start-up
# would count too; ckptctl's own start-up and exit still do. "ckptd" is
# the same request as ckptd saw it, from its arrival to the answer (its
# log). "all in" is, for a lazy restart, the time from the request to
# ckptd's fill-done event (every page in place); for an eager one the same
# as the restart. After each round the program checks every page
# (SIGUSR2; "ok"). The load average is printed next to each row: the
# machine is shared.
#
# Environment: CKPT_BUILD (default build/, built if missing), BENCH_REPS (2),
# BENCH_PHASES=1: then ckptd's log lines of where each restart's time went.
set -u -o pipefail

cd "$(dirname "$0")/.." || exit 1
# shellcheck source=bench/lib.sh
. bench/lib.sh --head dirtymem 1024 8192 -- "$@"
. "$REPO/bench/lib.sh" ckpt-bench-lazy

ckctl --json events >"$TMP/events.json" 2>/dev/null &
EVENTS_PID=$!
trap 'kill $EVENTS_PID 2>/dev/null; bench_cleanup' EXIT

# fill_done_us NAME AFTER_US: the time of NAME's first fill-done event after AFTER_US
fill_done_us() {
	"$PYTHON" - "$TMP/events.json" "$1" "$2" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("type") == "fill-done" and e.get("container") == sys.argv[2] and e["time_us"] >= int(sys.argv[3]):
        print(e["time_us"])
        break
EOF
}

# now_us: bash's clock, no process started
now_us() { local t=$EPOCHREALTIME; echo $(( ${t%[.,]*} * 1000000 + 10#${t#*[.,]} )); }

# answered_us NAME N: ckptd's time for NAME's restart if its log has more
# than N of them ("answered ... after the request"), else -
answered() { grep -E "restart $1: answered [0-9]+ us after the request" "$TMP/ckptd.log"; }
answered_us() {
	answered "$1" | awk -v n="$2" 'NR > n { v = $0 } END {
		if (v == "") print "-"; else { sub(/.*answered /, "", v); sub(/ us.*/, "", v); print v } }'
}

printf '%-9s %-6s %14s %11s %12s %8s  %s\n' "memory" "mode" "first instr." "ckptd" "all in" "verified" "load"
for size in "${SIZES[@]}"; do
	name=lazy$size
	ckctl run "$name" -- "$BUILD/tests/workloads/dirtymem" "$size" >/dev/null || die "run dirtymem $size"
	wait_count "$name" '^READY' 1 900 || die "dirtymem $size did not start"
	passes=0
	for _ in $(seq "$REPS"); do
		for mode in eager lazy; do
			drop_images "$name"
			ckctl checkpoint "$name" >/dev/null || die "checkpoint $name"
			flag=
			[ $mode = lazy ] && flag=--lazy
			n0=$(answered "$name" | wc -l)
			t0=$(now_us)
			ckctl restart "$name" $flag >/dev/null 2>"$TMP/err" || die "restart $name $flag: $(cat "$TMP/err")"
			t1=$(now_us)
			first=$(( t1 - t0 ))
			srv=$(answered_us "$name" "$n0")
			all=$first
			if [ $mode = lazy ]; then
				done_us=
				for _ in $(seq 9000); do
					done_us=$(fill_done_us "$name" "$t0")
					[ -n "$done_us" ] && break
					sleep 0.02
				done
				[ -n "$done_us" ] || die "$name: no fill-done event"
				all=$(( done_us - t0 ))
			fi
			ok=NO
			ckctl kill "$name" --signal USR2 >/dev/null && wait_count "$name" '^PASS' $(( passes + 1 )) 900 && ok=ok
			passes=$(( passes + 1 ))
			awk -v s="$size" -v m="$mode" -v f="$first" -v c="$srv" -v a="$all" -v o="$ok" -v l="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
				printf "%-9s %-6s %11.1f ms %8s ms %9.1f ms %8s  %s\n", s " MiB", m, f / 1000,
				       c == "-" ? c : sprintf("%.1f", c / 1000), a / 1000, o, l }'
		done
	done
	ckctl rm "$name" >/dev/null
done
if [ "${BENCH_PHASES:-0}" = 1 ]; then
	echo "ckptd's log, restart by phase (us):"
	grep -E "restart lazy[0-9]+: (us by phase|worker us|answered|worker started)|^.*restart lazy[0-9]+: worker [0-9]+ (answered|started)" \
		"$TMP/ckptd.log" | sed 's/^[^r]*restart /restart /'
fi
