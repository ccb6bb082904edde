#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The main job, end to end: tests/demo.sh (as root)
#
# Installs what is missing (Debian 12), builds build/, starts a private
# ckptd, runs the counter workload in a container, checkpoints it (leaving
# it running), kills it, restarts it from the stored image and shows from
# its log that it goes on counting from where it was, with the same pid.
#
#   --keep   leave ckptd and the container running at the end (prints how
#            to reach them)
set -u -o pipefail

cd "$(dirname "$0")/.." || exit 1
REPO=$(pwd)
BUILD=${CKPT_BUILD:-$REPO/build}
KEEP=0
[ "${1:-}" = --keep ] && KEEP=1

PACKAGES=(build-essential cmake pkg-config libevent-dev libprotobuf-c-dev protobuf-c-compiler
	  libsystemd-dev libcmocka-dev python3 systemd util-linux procps)

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }
show() { echo "\$ $*"; "$@"; }

[ "$(id -u)" = 0 ] || die "run as root: $0"

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q </dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null ||
		die "apt-get install failed"
fi

say "building $BUILD"
cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
	cmake --build "$BUILD" -j "$(nproc)" >/dev/null || die "build failed (run cmake --build $BUILD to see why)"

TMP=$(mktemp -d /tmp/ckptd-demo.XXXXXX)
chmod 755 "$TMP"
SOCK=$TMP/ckptd.sock
CKPTD_PID=
CGS=()
export CKPTD_SOCKET=$SOCK
ckptctl() { timeout -k 5 120 "$BUILD/ckptctl" "$@"; }

cleanup() {
	local cg d
	trap - EXIT INT TERM
	[ $KEEP = 1 ] && return
	ckptctl rm counter >/dev/null 2>&1
	if [ -n "$CKPTD_PID" ]; then
		kill -TERM "$CKPTD_PID" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$CKPTD_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$CKPTD_PID" 2>/dev/null
	fi
	for cg in "${CGS[@]}"; do
		find "$cg" -depth -type d 2>/dev/null | while read -r d; do
			[ -f "$d/cgroup.freeze" ] && echo 0 >"$d/cgroup.freeze" 2>/dev/null
			[ -f "$d/freezer.state" ] && echo THAWED >"$d/freezer.state" 2>/dev/null
			xargs -r kill -9 <"$d/cgroup.procs" 2>/dev/null
		done
		sleep 0.2
		find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	rm -rf --one-file-system "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ckptd in a cgroup of its own (its containers go below it)
for m in $(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo) \
	 $(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break;
		  if ($(i+1) == "cgroup" && $(i+3) ~ /(^|,)freezer(,|$)/) { print $5; exit } }' /proc/self/mountinfo); do
	mkdir -p "$m/ckptd-demo.$$" && CGS+=("$m/ckptd-demo.$$")
done

say "starting ckptd (socket $SOCK, state $TMP/state, log $TMP/ckptd.log)"
(
	for cg in "${CGS[@]}"; do echo "$BASHPID" >"$cg/cgroup.procs"; done
	exec "$BUILD/ckptd" --socket "$SOCK" --state-dir "$TMP/state"
) >"$TMP/ckptd.log" 2>&1 </dev/null &
CKPTD_PID=$!
for _ in $(seq 100); do
	ckptctl version >/dev/null 2>&1 && break
	sleep 0.1
done
show ckptctl version || { cat "$TMP/ckptd.log"; die "ckptd did not start"; }

last_counter() { ckptctl logs counter | awk '/^counter / { c = $2 } END { print c + 0 }'; }

say "running the counter workload: it counts every 10 ms and prints every second"
show ckptctl run counter -- "$BUILD/tests/workloads/counter" || die "run failed"
sleep 3.2
show ckptctl list
show ckptctl logs counter

say "checkpoint (the container keeps running)"
show ckptctl checkpoint counter --leave-running || die "checkpoint failed"
at_ckpt=$(last_counter)
show ckptctl images counter
sleep 1.5

say "kill it"
show ckptctl kill counter
for _ in $(seq 50); do
	[ "$(ckptctl list | awk '$1 == "counter" { print $2 }')" = stopped ] && break
	sleep 0.1
done
show ckptctl list
at_kill=$(last_counter)
echo "last count before the kill: $at_kill (at the checkpoint: $at_ckpt)"

say "restart from the stored image"
show ckptctl restart counter || die "restart failed"
sleep 2.2
show ckptctl list
echo "\$ ckptctl logs counter | tail -n 6"
ckptctl logs counter | tail -n 6
after=$(last_counter)

say "result"
ckptctl kill counter --signal USR2 >/dev/null
sleep 0.3
pass=$(ckptctl logs counter | grep '^PASS' | tail -n 1)
echo "log at the checkpoint: counter $at_ckpt; at the kill: counter $at_kill; after the restart: counter $after"
echo "(it went on from the checkpoint, not from the kill: what it counted in between is not in the image)"
echo "workload's own check: ${pass:-none}"
if [ $KEEP = 1 ]; then
	echo
	echo "kept: ckptd pid $CKPTD_PID; export CKPTD_SOCKET=$SOCK and try: $BUILD/ckptctl list"
fi
[ -n "$pass" ] && [ "$after" -gt "$at_ckpt" ] || die "the counter did not continue"
