#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run --memory, --pids, --cpus: the container's processes are limited, the
# limits are in its cgroups (cgroup2 where the controller reaches them, else
# the controller's v1 hierarchy), kept by a checkpoint and restart, and the
# cgroups are gone after rm.
#   - --pids 20: the workload (tests/workloads/limits) forks until EAGAIN, at
#     most 20 processes, before and after the restart;
#   - --memory 64M: a workload touching 200 MiB is OOM-killed;
#   - --cpus 0.2: the quota is 20000 of 100000 us.
. "$(dirname "$0")/lib.sh"

# ctrl_file PID CTRL V2FILE V1FILE: the limit file of a host pid's cgroup
# for that controller, v2 if enabled there, else its v1 hierarchy's.
ctrl_file() {
	local pid=$1 ctrl=$2 v2=$3 v1=$4 d mnt rel
	d=$(cgroup_dir_of "$pid")
	if [ -n "$d" ] && grep -qw "$ctrl" "$d/cgroup.controllers" 2>/dev/null; then
		echo "$d/$v2"
		return
	fi
	mnt=$(awk -v c="$ctrl" '{ for (i = 7; i <= NF; i++) if ($i == "-") break;
		if ($(i+1) == "cgroup" && $(i+3) ~ "(^|,)" c "(,|$)") { print $5; exit } }' /proc/self/mountinfo)
	rel=$(awk -F: -v c="$ctrl" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) { print $3; exit } }' \
		"/proc/$pid/cgroup")
	[ -n "$mnt" ] && [ -n "$rel" ] || fail "pid $pid: no $ctrl cgroup"
	echo "$mnt${rel%/}/$v1"
}
mem_limit() { cat "$(ctrl_file "$1" memory memory.max memory.limit_in_bytes)"; }
pids_limit() { cat "$(ctrl_file "$1" pids pids.max pids.max)"; }
cpu_limit() {
	local f
	f=$(ctrl_file "$1" cpu cpu.max cpu.cfs_quota_us)
	case $f in
	*/cpu.max) cat "$f" ;;
	*) echo "$(cat "$f") $(cat "${f%/*}/cpu.cfs_period_us")" ;;
	esac
}
# the dirs of a pid's cgroups holding its limits
limit_dirs() {
	local p=$1
	dirname "$(ctrl_file "$p" memory memory.max memory.limit_in_bytes)"
	dirname "$(ctrl_file "$p" pids pids.max pids.max)"
	dirname "$(ctrl_file "$p" cpu cpu.max cpu.cfs_quota_us)"
}
check_limits() {
	local pid=$1 m p c
	m=$(mem_limit "$pid"); p=$(pids_limit "$pid"); c=$(cpu_limit "$pid")
	[ "$m" = $((64 << 20)) ] || fail "pid $pid: memory limit '$m', want $((64 << 20))"
	[ "$p" = 20 ] || fail "pid $pid: pids limit '$p', want 20"
	[ "$c" = "20000 100000" ] || fail "pid $pid: cpu quota '$c', want '20000 100000'"
}

# a leftover of a ckptd that died: remove our v1 limit cgroups too
limits_cleanup() {
	local d
	find /sys/fs/cgroup -maxdepth 6 -type d -name "ckptd-$P-*" 2>/dev/null | while read -r d; do
		cg_destroy "$d"
	done
}
trap 'rc=$?; limits_cleanup; (exit $rc); e2e_cleanup' EXIT

start_ckptd

# bad values are refused by the client, and by ckptd
ckctl run "$P-bad" --memory 1M -- /bin/true >/dev/null 2>&1 && fail "run --memory 1M accepted"
ckctl run "$P-bad" --pids 0 -- /bin/true >/dev/null 2>&1 && fail "run --pids 0 accepted"
ckctl run "$P-bad" --cpus 100000 -- /bin/true >/dev/null 2>&1 && fail "run --cpus 100000 accepted"
ckctl run "$P-bad" --cpus abc -- /bin/true >/dev/null 2>&1 && fail "run --cpus abc accepted"

# all three on one container: the workload forks until refused
ckctl run "$P-lim" --cwd "$WORK" --memory 64M --pids 20 --cpus 0.2 -- "$WL/limits" pids=20 >/dev/null ||
	fail "run --memory 64M --pids 20 --cpus 0.2"
wait_log "$P-lim" '^READY' 30
fail_if_failed "$P-lim"
[ "$(count_log "$P-lim" '^PASS limits pids')" -ge 1 ] || fail "no PASS from the fork check"
pid=$(host_pid "$P-lim")
check_limits "$pid"
mapfile -t dirs < <(limit_dirs "$pid")
log "limits set: $(last_log "$P-lim" '^PASS')"

# stats and list show them
st=$(ckctl --json stats "$P-lim") || fail "stats --json"
[ "$(json_get memory_limit <<<"$st")" = $((64 << 20)) ] || fail "stats: memory_limit in $st"
[ "$(json_get pids_limit <<<"$st")" = 20 ] || fail "stats: pids_limit in $st"
[ "$(json_get cpus <<<"$st")" = 0.200 ] || fail "stats: cpus in $st"
[ "$(ct_field "$P-lim" pids_limit)" = 20 ] || fail "list: pids_limit"
ckctl stats "$P-lim" | grep -q 'limits: memory 64.0 MiB, pids 20, cpus 0.200' ||
	fail "stats: $(ckctl stats "$P-lim")"

# checkpoint and restart: the restart's new cgroups carry the same limits
checkpoint_ct "$P-lim"
restart_ct "$P-lim"
pid2=$(host_pid "$P-lim")
[ "$pid2" != "$pid" ] || fail "restart kept host pid $pid"
check_limits "$pid2"
verify_ct "$P-lim" "limits pids"
[ "$(ckctl --json stats "$P-lim" | json_get pids_limit)" = 20 ] || fail "stats after restart: pids_limit"
log "after restart: $(last_log "$P-lim" '^PASS')"

# an image restored under a new name gets its limits
ckctl checkpoint "$P-lim" -o "$TMP/lim.img" --leave-running >/dev/null || fail "checkpoint -o"
ckctl restart "$P-new" -i "$TMP/lim.img" >/dev/null || fail "restart $P-new from $TMP/lim.img"
expect_state "$P-new" running
check_limits "$(host_pid "$P-new")"
verify_ct "$P-new" "limits pids"
mapfile -t dirs2 < <(limit_dirs "$(host_pid "$P-new")")
log "restored under a new name with its limits"

# rm removes the cgroups
ckctl rm "$P-lim" >/dev/null || fail "rm $P-lim"
ckctl rm "$P-new" >/dev/null || fail "rm $P-new"
for d in "${dirs[@]}" "${dirs2[@]}"; do
	[ -d "$d" ] && fail "cgroup $d left after rm"
done

# --memory 64M: touching 200 MiB gets it OOM-killed; the container exited
ckctl run "$P-mem" --cwd "$WORK" --memory 64M -- "$WL/limits" mem=200 >/dev/null || fail "run --memory 64M"
wait_state "$P-mem" stopped 60
fail_if_failed "$P-mem"
st=$(ct_field "$P-mem" exit_status)
[ "$((st & 0x7f))" = 9 ] || fail "$P-mem: exit status $st, want killed by SIGKILL"
log "200 MiB under --memory 64M: OOM-killed (status $st)"
ckctl rm "$P-mem" >/dev/null || fail "rm $P-mem"
[ -z "$(find /sys/fs/cgroup -maxdepth 6 -type d -name "ckptd-$P-*" 2>/dev/null)" ] ||
	fail "cgroups left: $(find /sys/fs/cgroup -maxdepth 6 -type d -name "ckptd-$P-*")"
pass
