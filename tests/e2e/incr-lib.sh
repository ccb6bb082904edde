# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Shared by the incremental tests (67-incremental, 77-incr-default,
# 78-incr-compress), after lib.sh: checkpoints that keep their --json
# answer, the chain as the store shows it, and tests/workloads/incrwriter
# driven a step at a time and asked to check its memory.

# ck NAME [ARGS...]: checkpoint, its --json answer in $out
ck() {
	local name=$1
	shift
	out=$(ckctl --json checkpoint "$name" "$@" 2>&1) || fail "checkpoint $name $*: $out"
}

# incr NAME [ARGS...]: checkpoint --incremental, its --json answer in $out
incr() {
	local name=$1
	shift
	ck "$name" --incremental "$@"
}

# chain_of NAME: "ID:PARENT ..." as images --json shows the store
chain_of() {
	ckctl --json images "$1" | "$PYTHON" -c '
import json, sys
print(" ".join(i["id"] + ":" + i.get("parent_id", "-") for i in json.load(sys.stdin)["images"]))'
}

# passes NAME COUNT: SIGUSR2, then COUNT more PASS lines (one per process)
passes() { wl_passes "$1" incrwriter "$2"; }

# step NAME N: SIGUSR1, wait for "STEP N"
step() {
	ckctl kill "$1" --signal USR1 >/dev/null || fail "kill -USR1 $1"
	wait_log "$1" "^STEP $2\$" 30
}

# stopped NAME: kill the container, wait until it is stopped
stopped() {
	ckctl kill "$1" >/dev/null 2>&1
	wait_state "$1" stopped 30
}

# untracked NAME: every private anonymous mapping (heap and stack too) of
# every process of NAME that has no write tracking (no "uw" in its smaps
# VmFlags), one "PID START-END" a line; nothing if all are tracked
untracked() {
	local pids kids i=0 p
	pids=("$(host_pid "$1")")
	while [ "$i" -lt "${#pids[@]}" ]; do
		read -r -a kids < <(cat "/proc/${pids[$i]}"/task/*/children 2>/dev/null)
		pids+=("${kids[@]}")
		i=$(( i + 1 ))
	done
	for p in "${pids[@]}"; do
		awk -v pid="$p" '
			function out() { if (r != "" && !uw) print pid, r }
			/^[0-9a-f]+-[0-9a-f]+ / { out(); r = ""; uw = 0
				if ($2 ~ /p$/ && (NF == 5 || $6 ~ /^\[(heap|stack)\]$/)) r = $1; next }
			/^VmFlags:/ { uw = / uw( |$)/ }
			END { out() }' "/proc/$p/smaps"
	done
}
