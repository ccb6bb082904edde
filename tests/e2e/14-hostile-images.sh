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
run_ct src "$WL/counter"
ckctl checkpoint src -o "$TMP/good.img" >/dev/null || fail "checkpoint"
ckctl rm src >/dev/null
refused=0 restored=0
for i in $(seq "$N"); do
	"$MUT" "$TMP/good.img" "$TMP/bad.img" "$i" || fail "imgmutate $i"
	name=h$i
	if out=$(ckctl restart "$name" -i "$TMP/bad.img" 2>&1); then
		restored=$((restored + 1))
		info "mutant $i restored: $out"
		ckctl rm "$name" >/dev/null || fail "rm $name"
	else
		refused=$((refused + 1))
		[ -n "${HOSTILE_VERBOSE:-}" ] && info "mutant $i: $out"
		[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "mutant $i: not one line: $out"
		case $out in "ckptctl: restart: "*) ;; *) fail "mutant $i: unexpected output: $out" ;; esac
		cg=$(cgroup_dir_of "$CKPTD_PID")/ckptd-$name
		[ -n "$(cat "$cg/cgroup.procs" 2>/dev/null)" ] && fail "mutant $i: processes left in $cg"
	fi
	CKCTL_TIMEOUT=10 ckctl version >/dev/null || fail "ckptd stopped answering after mutant $i ($out)"
done
info "$N mutants: $refused refused, $restored restored"
# the good image still restores
ckctl restart dst -i "$TMP/good.img" >/dev/null || fail "the good image no longer restores"
verify_ct dst counter
pass
