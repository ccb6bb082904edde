#!/bin/bash
# Hostile images: metadata records with flipped bytes and *recomputed*
# checksums (tests/tools/imgmutate), so only field validation stands in the
# way. Each restart either fails with a one-line error, leaving nothing in
# the container's cgroup, or restores something the image really describes;
# ckptd answers after every attempt.
. "$(dirname "$0")/lib.sh"

N=${HOSTILE_N:-40}
MUT=$BUILD/tests/tools/imgmutate
[ -x "$MUT" ] || fail "no $MUT"
start_ckptd

# mutate SRC_IMAGE N TAG: N mutants of one image
mutate() {
	local img=$1 n=$2 tag=$3 i name out cg refused=0 restored=0
	for i in $(seq "$n"); do
		"$MUT" "$img" "$TMP/bad.img" "$i" || fail "imgmutate $i"
		name=h$tag$i
		if out=$(ckctl restart "$name" -i "$TMP/bad.img" 2>&1); then
			restored=$((restored + 1))
			info "$tag mutant $i restored: $out"
			ckctl rm "$name" >/dev/null || fail "rm $name"
		else
			refused=$((refused + 1))
			[ -n "${HOSTILE_VERBOSE:-}" ] && info "$tag mutant $i: $out"
			[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "$tag mutant $i: not one line: $out"
			case $out in "ckptctl: restart: "*) ;; *) fail "$tag mutant $i: unexpected output: $out" ;; esac
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
mutate "$TMP/good.img" "$N" c
# trees: pipes, shared memory and a memfd across two processes, threads
run_ct shm "$WL/shmem"
ckctl checkpoint shm -o "$TMP/shm.img" >/dev/null || fail "checkpoint shm"
ckctl rm shm >/dev/null
mutate "$TMP/shm.img" "$N" s
run_ct thr "$WL/threads"
ckctl checkpoint thr -o "$TMP/thr.img" >/dev/null || fail "checkpoint thr"
ckctl rm thr >/dev/null
mutate "$TMP/thr.img" "$N" t
# the good images still restore
ckctl restart dst -i "$TMP/good.img" >/dev/null || fail "the good image no longer restores"
verify_ct dst counter
ckctl restart dshm -i "$TMP/shm.img" >/dev/null || fail "the good shm image no longer restores"
verify_ct dshm shmem
pass
