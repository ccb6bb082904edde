#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Load (issue 10): CLIENTS clients at once send mixed requests (list, logs,
# checkpoint, restart, cancel, run, rm) over CONTAINERS containers for
# SECONDS, against one ckptd with its store on a tmpfs. Meanwhile a probe
# (bench/listprobe) times `list` round trips on a connection of its own,
# and ckptd's RSS and open fds are sampled every second. A second probe
# runs at SCHED_FIFO 2 when it may: its round trips leave out the wait of
# a client for a CPU, and so time ckptd alone.
#
#   bench/load.sh [CLIENTS [CONTAINERS [SECONDS]]]      default: 50 20 60
#
# Prints, per verb: requests, answered with success, answered with an
# error (busy, bad state: expected under contention), lost (no answer:
# ckptctl timed out or could not connect), p50/p99 of its wall time
# (ckptctl included); the probe's list p50/p99/max; where the loop's time
# went (the scheduler's account of ckptd's main thread over the run: on a
# CPU, runnable without one, wakeups) and the probe's own wait for a CPU,
# which its round trips include; ckptd's RSS and fd count at start, peak
# and end. Then it checks every container is in a
# consistent state (running and verifying itself, or checkpointed with an
# image that restarts). Never asserts on time; exits 1 if a request was
# lost, a container is inconsistent, or ckptd's fds grew.
#
# Environment: CKPT_BUILD (default build/).
set -u -o pipefail

cd "$(dirname "$0")/.." || exit 1
REPO=$(pwd)
BUILD=${CKPT_BUILD:-$REPO/build}
CLIENTS=${1:-50}
CONTAINERS=${2:-20}
SECONDS_=${3:-60}
[ -x "$BUILD/ckptd" ] && [ -x "$BUILD/bench/listprobe" ] && [ -x "$BUILD/tests/workloads/counter" ] ||
	{ echo "bench: build first (cmake --build build)" >&2; exit 1; }

. "$REPO/bench/lib.sh" ckpt-load
WL=$BUILD/tests/workloads/counter
P=ld$$

ct() { echo "$P-$1"; }

# one client: random verbs on random containers until the end; one line
# per request: VERB EXIT_STATUS MS
client() {
	local id=$1 end=$2 out=$3 n verb t0 rc c
	RANDOM=$(( id * 7919 + $$ ))
	while [ "$(date +%s)" -lt "$end" ]; do
		c=$(ct $(( RANDOM % CONTAINERS )))
		n=$(( RANDOM % 100 ))
		if   [ $n -lt 35 ]; then verb=list
		elif [ $n -lt 50 ]; then verb=logs
		elif [ $n -lt 70 ]; then verb=checkpoint
		elif [ $n -lt 88 ]; then verb=restart
		elif [ $n -lt 93 ]; then verb=cancel
		elif [ $n -lt 97 ]; then verb=run
		else verb="rm"
		fi
		t0=$(now_ns)
		case $verb in
		list) ckctl list >/dev/null 2>&1 ;;
		logs) ckctl logs "$c" >/dev/null 2>&1 ;;
		checkpoint) ckctl checkpoint "$c" >/dev/null 2>&1 ;;
		restart) ckctl restart "$c" >/dev/null 2>&1 ;;
		cancel) ckctl cancel "$c" >/dev/null 2>&1 ;;
		run) ckctl run "$c" -- "$WL" >/dev/null 2>&1 ;;
		rm) ckctl rm "$c" >/dev/null 2>&1 ;;
		esac
		rc=$?
		echo "$verb $rc $(( ($(now_ns) - t0) / 1000000 ))" >>"$out"
	done
}

sample() {	# every second: RSS kB and fd count of ckptd
	while kill -0 "$CKPTD_PID" 2>/dev/null; do
		echo "$(awk '/^VmRSS:/ { print $2 }' "/proc/$CKPTD_PID/status") $(find "/proc/$CKPTD_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)" >>"$TMP/samples"
		sleep 1
	done
}

for i in $(seq 0 $(( CONTAINERS - 1 ))); do
	ckctl run "$(ct "$i")" -- "$WL" >/dev/null || die "run $(ct "$i")"
done
sleep 1
echo "$(awk '/^VmRSS:/ { print $2 }' "/proc/$CKPTD_PID/status") $(find "/proc/$CKPTD_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)" >"$TMP/start"
sample &
sampler=$!
cat "/proc/$CKPTD_PID/schedstat" >"$TMP/sched0"
end=$(( $(date +%s) + SECONDS_ ))
"$BUILD/bench/listprobe" "$SOCK" "$SECONDS_" >"$TMP/probe" &
probe=$!
: >"$TMP/probe-rt"
probe_rt=
if chrt -f 2 true 2>/dev/null; then
	chrt -f 2 "$BUILD/bench/listprobe" "$SOCK" "$SECONDS_" >"$TMP/probe-rt" &
	probe_rt=$!
fi
pids=()
for i in $(seq 1 "$CLIENTS"); do
	client "$i" "$end" "$TMP/lat.$i" &
	pids+=($!)
done
wait "${pids[@]}" "$probe" $probe_rt
cat "/proc/$CKPTD_PID/schedstat" >"$TMP/sched1"

# settle: every container runs again (or is restarted), and proves it
bad=0
for i in $(seq 0 $(( CONTAINERS - 1 ))); do
	c=$(ct "$i")
	for _ in $(seq 100); do
		s=$(ckctl --json list | "$PYTHON" -c 'import json,sys
for c in json.load(sys.stdin)["containers"]:
    if c["name"] == sys.argv[1]: print(c["state"])' "$c")
		[ "$s" != busy ] && break
		sleep 0.1
	done
	case $s in
	checkpointed) ckctl restart "$c" >/dev/null 2>&1 || { echo "bench: $c: its image does not restart" >&2; bad=$((bad + 1)); continue; } ;;
	stopped|"") ckctl run "$c" -- "$WL" >/dev/null 2>&1 || { echo "bench: $c: can't run again" >&2; bad=$((bad + 1)); continue; } ;;
	esac
	n=$(count "$c" '^PASS')
	ckctl kill "$c" --signal USR2 >/dev/null 2>&1
	wait_count "$c" '^PASS' $(( n + 1 )) 20 || { echo "bench: $c: did not verify itself" >&2; bad=$((bad + 1)); }
done
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
echo "$(awk '/^VmRSS:/ { print $2 }' "/proc/$CKPTD_PID/status") $(find "/proc/$CKPTD_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)" >"$TMP/end"

cat "$TMP"/lat.* >"$TMP/all"
"$PYTHON" - "$TMP" "$CLIENTS" "$CONTAINERS" "$SECONDS_" "$bad" <<'PY'
import os, sys
tmp, clients, containers, secs, bad = sys.argv[1], *map(int, sys.argv[2:])
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p / 100))] if v else 0
rows = {}
for line in open(os.path.join(tmp, "all")):
    verb, rc, ms = line.split()
    rows.setdefault(verb, []).append((int(rc), int(ms)))
print(f"load: {clients} clients, {containers} containers, {secs} s")
print(f"{'verb':<11}{'requests':>9}{'ok':>7}{'error':>7}{'lost':>6}{'p50 ms':>8}{'p99 ms':>8}")
lost = 0
total = 0
for verb in ("list", "logs", "checkpoint", "restart", "cancel", "run", "rm"):
    r = rows.get(verb, [])
    ok = sum(1 for rc, _ in r if rc == 0)
    err = sum(1 for rc, _ in r if rc in (1, 2))
    ls = len(r) - ok - err
    lost += ls
    total += len(r)
    ms = [m for _, m in r]
    print(f"{verb:<11}{len(r):>9}{ok:>7}{err:>7}{ls:>6}{pct(ms, 50):>8}{pct(ms, 99):>8}")
print(f"{'all':<11}{total:>9}   ({total / secs:.1f} requests/s)")
def probe_line(f, what):
    lines = [l.strip() for l in open(os.path.join(tmp, f))]
    us = [int(l) for l in lines if l.isdigit()]
    errs = sum(1 for l in lines if l.startswith("error"))
    if us or errs:
        print(f"{what}: {len(us)} answered, {errs} errors; p50 {pct(us, 50) / 1000:.2f} ms, "
              f"p99 {pct(us, 99) / 1000:.2f} ms, max {max(us, default=0) / 1000:.2f} ms")
    return lines
probe = probe_line("probe", "list probe")
probe_line("probe-rt", "list probe at SCHED_FIFO 2")
def sched(f):
    return [int(x) for x in open(os.path.join(tmp, f)).read().split()[:3]]
a, b = sched("sched0"), sched("sched1")
d = [y - x for x, y in zip(a, b)]
print(f"ckptd loop: {d[0] / 1e6:.0f} ms on a CPU, {d[1] / 1e6:.0f} ms runnable without one, "
      f"{d[2]} time slices ({d[1] / 1e6 / max(d[2], 1):.2f} ms wait per slice)")
ps = [l for l in probe if l.startswith("sched ")]
if ps:
    _, cpu, wait, slices = ps[-1].split()
    print(f"list probe itself: {int(cpu) / 1e6:.0f} ms on a CPU, {int(wait) / 1e6:.0f} ms runnable without one, "
          f"{slices} time slices ({int(wait) / 1e6 / max(int(slices), 1):.2f} ms wait per slice)")
def pair(f):
    a, b = open(os.path.join(tmp, f)).read().split()
    return int(a), int(b)
s0, s1 = pair("start"), pair("end")
samples = [tuple(map(int, l.split())) for l in open(os.path.join(tmp, "samples")) if len(l.split()) == 2]
peak = (max([s[0] for s in samples] + [s0[0]]), max([s[1] for s in samples] + [s0[1]]))
print(f"ckptd RSS kB: start {s0[0]}, peak {peak[0]}, end {s1[0]};  fds: start {s0[1]}, peak {peak[1]}, end {s1[1]}")
print(f"containers inconsistent after the run: {bad}")
sys.exit(1 if lost or bad or s1[1] > s0[1] else 0)
PY
