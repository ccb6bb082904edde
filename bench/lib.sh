# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Shared by the benchmarks: a private ckptd in cgroups of its own with its
# store on a tmpfs (or on disk: BENCH_STORE=disk), and a trap that removes
# every container, process, cgroup, mount and temporary file, whatever
# happens.
#   . bench/lib.sh TAG       (after REPO and BUILD are set)
# CKPT_BENCH_CONFIG: a ckptd.conf for that ckptd (default: the system's).
# Gives: TMP, SOCK, STORE, CKPTD_PID, PYTHON, ckctl, now_ns, die, count,
# wait_count NAME PATTERN N TIMEOUT_S.

#
#   . bench/lib.sh --head PROGRAM [DEFAULT_SIZE...] -- "$@"
# from the repository's top, is the head of a benchmark that takes sizes and
# starts nothing: REPO, BUILD (CKPT_BUILD, default build/; built if ckptd or
# tests/workloads/PROGRAM is missing), REPS (BENCH_REPS, default 2), SIZES
# (the arguments after --, else the defaults); root only.

bench_head() {
	local prog=$1
	shift
	REPO=$(pwd)
	BUILD=${CKPT_BUILD:-$REPO/build}
	# shellcheck disable=SC2034  # the benchmark's, as SIZES
	REPS=${BENCH_REPS:-2}
	SIZES=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		SIZES+=("$1")
		shift
	done
	shift
	[ $# -gt 0 ] && SIZES=("$@")
	[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
	if [ ! -x "$BUILD/ckptd" ] || [ ! -x "$BUILD/tests/workloads/$prog" ]; then
		cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
			cmake --build "$BUILD" -j "$(nproc)" >/dev/null || { echo "bench: build failed" >&2; exit 1; }
	fi
}

if [ "${1:-}" = --head ]; then
	shift
	bench_head "$@"
	return 0
fi

BENCH_TAG=${1:-ckpt-bench}
PYTHON=python3
[ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3

TMP=$(mktemp -d "/tmp/$BENCH_TAG.XXXXXX")
SOCK=$TMP/sock
STORE=$TMP/store
CKPTD_PID=
CGS=()

ckctl() { timeout -k 5 900 "$BUILD/ckptctl" --socket "$SOCK" "$@"; }
now_ns() { date +%s%N; }
die() { echo "bench: $*" >&2; exit 1; }

bench_cleanup() {
	local n cg d
	trap - EXIT INT TERM
	if [ -n "$CKPTD_PID" ]; then
		for n in $(ckctl --json list 2>/dev/null |
			   "$PYTHON" -c 'import json,sys; [print(c["name"]) for c in json.load(sys.stdin)["containers"]]' 2>/dev/null); do
			ckctl rm "$n" >/dev/null 2>&1
		done
		kill -TERM "$CKPTD_PID" 2>/dev/null
		for _ in $(seq 300); do kill -0 "$CKPTD_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$CKPTD_PID" 2>/dev/null
		wait "$CKPTD_PID" 2>/dev/null
	fi
	# whatever is left in our cgroups: thaw, kill, remove
	for cg in "${CGS[@]}"; do
		find "$cg" -depth -type d 2>/dev/null | while read -r d; do
			[ -f "$d/cgroup.freeze" ] && echo 0 >"$d/cgroup.freeze" 2>/dev/null
			[ -f "$d/freezer.state" ] && echo THAWED >"$d/freezer.state" 2>/dev/null
			[ -f "$d/cgroup.kill" ] && echo 1 >"$d/cgroup.kill" 2>/dev/null
			xargs -r kill -9 <"$d/cgroup.procs" 2>/dev/null
		done
		sleep 0.2
		find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	mountpoint -q "$STORE" && umount -l "$STORE"
	rm -rf --one-file-system "$TMP"
}
trap bench_cleanup EXIT
trap 'exit 1' INT TERM

# ckptd in a cgroup of its own: its containers go below it, apart from others'
for m in $(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo) \
	 $(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break;
		  if ($(i+1) == "cgroup" && $(i+3) ~ /(^|,)freezer(,|$)/) { print $5; exit } }' /proc/self/mountinfo); do
	mkdir -p "$m/$BENCH_TAG.$$" && CGS+=("$m/$BENCH_TAG.$$")
done

# BENCH_STORE=disk: the store in a directory of $TMP's file system instead,
# for images that would not fit in memory next to the program (8 GiB)
mkdir -m 0700 "$STORE"
if [ "${BENCH_STORE:-tmpfs}" = tmpfs ]; then
	mount -t tmpfs -o mode=0700 "$BENCH_TAG" "$STORE" || die "mount tmpfs on $STORE"
fi
(
	for cg in "${CGS[@]}"; do echo "$BASHPID" >"$cg/cgroup.procs"; done
	exec "$BUILD/ckptd" ${CKPT_BENCH_CONFIG:+--config "$CKPT_BENCH_CONFIG"} --socket "$SOCK" --state-dir "$STORE/state"
) >"$TMP/ckptd.log" 2>&1 </dev/null &
CKPTD_PID=$!
for _ in $(seq 100); do
	ckctl version >/dev/null 2>&1 && break
	sleep 0.1
done
ckctl version >/dev/null 2>&1 || { cat "$TMP/ckptd.log" >&2; die "ckptd did not start"; }

count() { ckctl logs "$1" 2>/dev/null | grep -c "$2"; }

wait_count() {	# NAME PATTERN N TIMEOUT_S
	for _ in $(seq $(( $4 * 10 ))); do
		[ "$(count "$1" "$2")" -ge "$3" ] && return 0
		ckctl logs "$1" 2>/dev/null | grep -q '^FAIL' && return 1
		sleep 0.1
	done
	return 1
}

# The helpers below are for bench/criu-compare.sh and bench/scale.sh.

# jget FILE KEY: a top-level key of a JSON object in FILE, or 0
jget() { "$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))' "$1" "$2" 2>/dev/null || echo 0; }

ms_since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }

# drop_images NAME: remove NAME's stored images, so that the next checkpoint
# has the store to itself (a tmpfs holds half of memory: two 8 GiB images
# do not fit in it)
drop_images() {
	local id
	for id in $(ckctl --json images "$1" |
		"$PYTHON" -c 'import json,sys; [print(i["id"]) for i in json.load(sys.stdin).get("images", [])]'); do
		ckctl images rm "$1" "$id" >/dev/null || die "images rm $1 $id"
	done
}

# bench_prewarm MIB: write and delete up to MIB in the store's tmpfs, so the
# next allocations reuse pages the host already backs (see bench/run.sh);
# never more than leaves 2 GiB of MemAvailable.
bench_prewarm() {
	local want=$1 avail
	avail=$(awk '/MemAvailable/ { print int($2 / 1024) - 2048 }' /proc/meminfo)
	[ "$want" -gt "$avail" ] && want=$avail
	[ "$want" -ge 16 ] || return 0
	dd if=/dev/zero of="$STORE/prewarm" bs=16M count=$(( want / 16 )) status=none
	rm -f "$STORE/prewarm"
}

# Results, one value a line, under $TMP/res: put KEY VALUE; rstat KEY [FMT] prints
# "median (min-max)" of the values, or "-" when there are none.
mkdir -p "$TMP/res"
put() { echo "$2" >>"$TMP/res/$1"; }
rstat() {
	[ -s "$TMP/res/$1" ] || { echo "-"; return; }
	sort -g "$TMP/res/$1" | awk -v f="${2:-%.1f}" '
		{ v[NR] = $1 }
		END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      if (NR == 1) printf f, m
		      else printf f " (" f "-" f ")", m, v[1], v[NR] }'
}
nvals() { [ -s "$TMP/res/$1" ] && wc -l <"$TMP/res/$1" || echo 0; }

# Peak RSS of ckptd and of its workers (one forked process per checkpoint or
# restart): peak_start resets ckptd's VmHWM and samples its children's every
# 20 ms in the background; peak_stop prints "DAEMON_KIB WORKER_KIB".
peak_start() {
	echo 5 >"/proc/$CKPTD_PID/clear_refs" 2>/dev/null
	"$PYTHON" - "$CKPTD_PID" >"$TMP/peak.out" <<'PY' &
import glob, os, signal, sys, time
top = sys.argv[1]
peak = 0
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
def hwm(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
while not stop:
    for path in glob.glob(f"/proc/{top}/task/*/children"):
        try:
            kids = open(path).read().split()
        except OSError:
            continue
        for k in kids:
            try:
                comm = open(f"/proc/{k}/comm").read().strip()
            except OSError:
                continue
            if comm.startswith("ckptd"):
                peak = max(peak, hwm(k))
    time.sleep(0.02)
print(peak)
PY
	PEAK_PID=$!
}
peak_stop() {
	local d w
	kill -TERM "$PEAK_PID" 2>/dev/null
	wait "$PEAK_PID" 2>/dev/null
	w=$(cat "$TMP/peak.out" 2>/dev/null)
	d=$(awk '/^VmHWM:/ { print $2 }' "/proc/$CKPTD_PID/status" 2>/dev/null)
	echo "${d:-0} ${w:-0}"
}

# bench_verify NAME WANT: "yes", or why not. Asks the container's program
# for a round (SIGUSR2) and waits for its PASS line, which must hold WANT.
bench_verify() {
	local n last
	n=$(count "$1" '^PASS')
	ckctl kill "$1" --signal USR2 >/dev/null 2>&1 || { echo "NO: could not signal it"; return; }
	if ! wait_count "$1" '^PASS' $(( n + 1 )) 900; then
		last=$(ckctl logs "$1" 2>/dev/null | grep '^FAIL' | tail -n 1 | cut -c 1-100)
		echo "NO: ${last:-no PASS within 900 s}"
		return
	fi
	last=$(ckctl logs "$1" 2>/dev/null | grep '^PASS' | tail -n 1)
	case " $last " in
	*" $2 "*) echo yes ;;
	*) echo "NO: $last" ;;
	esac
}
