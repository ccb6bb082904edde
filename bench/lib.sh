# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Shared by the benchmarks: a private ckptd in cgroups of its own with its
# store on a tmpfs, and a trap that removes every container, process,
# cgroup, mount and temporary file, whatever happens.
#   . bench/lib.sh TAG       (after REPO and BUILD are set)
# CKPT_BENCH_CONFIG: a ckptd.conf for that ckptd (default: the system's).
# Gives: TMP, SOCK, STORE, CKPTD_PID, PYTHON, ckctl, now_ns, die, count,
# wait_count NAME PATTERN N TIMEOUT_S.

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

mkdir -p "$STORE"
mount -t tmpfs -o mode=0700 "$BENCH_TAG" "$STORE" || die "mount tmpfs on $STORE"
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
