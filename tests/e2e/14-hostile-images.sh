#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Hostile images: metadata records with flipped bytes and *recomputed*
# checksums (tests/tools/imgmutate): the keyed MAC refuses them (the first
# few are tried without --trust-image), and with --trust-image only field
# validation stands in the way. Each restart either fails with a one-line error, leaving nothing in
# the container's cgroup, or restores something the image really describes;
# ckptd answers after every attempt. A restart worker that dies or fails
# internally is a failure of the test, and so is a restored mutant that
# does not pass the workload's own checks, unless what changed are values
# an image is the authority on (registers, a mapping's protections).
. "$(dirname "$0")/lib.sh"

N=${HOSTILE_N:-40}
MUT=$BUILD/tests/tools/imgmutate
[ -x "$MUT" ] || fail "no $MUT"
start_ckptd

# check_restored NAME WORKLOAD: it answers SIGUSR2 with a new PASS in 10 s
check_restored() {
	local n i
	n=$(count_log "$1" "^PASS $2")
	ckctl kill "$1" --signal USR2 >/dev/null 2>&1 || return 1
	for i in $(seq 100); do
		# (not a pipe into grep: under pipefail, grep -c finding no FAIL fails it)
		[ "$(count_log "$1" "^FAIL")" = 0 ] || return 1
		[ "$(count_log "$1" "^PASS $2")" -gt "$n" ] && return 0
		sleep 0.1
	done
	return 1
}

# mutate SRC_IMAGE N TAG WORKLOAD: N mutants of one image
mutate() {
	local img=$1 n=$2 tag=$3 wl=$4 i name out cg rtype refused=0 restored=0
	for i in $(seq "$n"); do
		rtype=$("$MUT" "$img" "$TMP/bad.img" "$i") || fail "imgmutate $i"
		name=h$tag$i
		# without --trust-image a mutant never restores: its MAC refuses it
		# at the tail if field validation did not refuse it before
		if [ "$i" -le 3 ]; then
			out=$(ckctl restart "$name" -i "$TMP/bad.img" 2>&1) && fail "$tag mutant $i restored without --trust-image"
			case $out in "ckptctl: restart: "*) ;; *) fail "$tag mutant $i without --trust-image: $out" ;; esac
			ckctl rm "$name" >/dev/null 2>&1
		fi
		if out=$(ckctl restart "$name" --trust-image -i "$TMP/bad.img" 2>&1); then
			restored=$((restored + 1))
			info "$tag mutant $i restored (record type $rtype): $out"
			# What restores must pass the workload's own checks, except
			# where the image legitimately carries opaque values: the
			# registers of a TASK (2) or THREAD (13) record, and the
			# protections, flags and file offsets of an MM (5) record's
			# mappings, are whatever the image says (a mapping made
			# read-only faults on the program's next write, as the image
			# asked; images are authenticated for that reason).
			if ! check_restored "$name" "$wl"; then
				case $rtype in 2|5|13) info "$tag mutant $i: changed opaque values (record type $rtype), workload did not verify" ;;
				*) fail "$tag mutant $i (record type $rtype) restored but fails its own checks" ;; esac
			fi
			ckctl rm "$name" >/dev/null || fail "rm $name"
		else
			refused=$((refused + 1))
			[ -n "${HOSTILE_VERBOSE:-}" ] && info "$tag mutant $i: $out"
			[ "$(printf '%s\n' "$out" | grep -vc '^hint: ')" = 1 ] || fail "$tag mutant $i: not one error line: $out"
			case $out in "ckptctl: restart: "*) ;; *) fail "$tag mutant $i: unexpected output: $out" ;; esac
			# a refusal is a checked one, never a worker that crashed
			case $out in *"killed by signal"*|*"without an answer"*)
				fail "$tag mutant $i: the restart worker failed instead of refusing: $out" ;; esac
			cg=$(cgroup_dir_of "$CKPTD_PID")/ckptd-$name
			[ -n "$(cat "$cg/cgroup.procs" 2>/dev/null)" ] && fail "$tag mutant $i: processes left in $cg"
		fi
		CKCTL_TIMEOUT=10 ckctl version >/dev/null || fail "ckptd stopped answering after $tag mutant $i ($out)"
	done
	info "$tag: $n mutants: $refused refused, $restored restored"
}

run_ct src "$WL/counter"
ckctl checkpoint src -o "$TMP/good.img" >/dev/null || fail "checkpoint"
ckctl rm src >/dev/null
mutate "$TMP/good.img" "$N" c counter
# trees: pipes, shared memory and a memfd across two processes, threads
run_ct shm "$WL/shmem"
ckctl checkpoint shm -o "$TMP/shm.img" >/dev/null || fail "checkpoint shm"
ckctl rm shm >/dev/null
mutate "$TMP/shm.img" "$N" s shmem
run_ct thr "$WL/threads"
ckctl checkpoint thr -o "$TMP/thr.img" >/dev/null || fail "checkpoint thr"
ckctl rm thr >/dev/null
mutate "$TMP/thr.img" "$N" t threads
# the good images still restore
ckctl restart dst -i "$TMP/good.img" >/dev/null || fail "the good image no longer restores"
verify_ct dst counter
ckctl restart dshm -i "$TMP/shm.img" >/dev/null || fail "the good shm image no longer restores"
verify_ct dshm shmem
pass
