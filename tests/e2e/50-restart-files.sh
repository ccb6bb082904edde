#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What restart may open, and what checkpoint refuses before it kills:
# - images of the files workload, one FILE record edited and the checksums
#   recomputed (tests/tools/imgedit), restarted while inotify watches what
#   they name (tests/tools/openwatch): /dev/mem and /dev/kmsg by their
#   numbers, /dev/kmsg under /dev/null's number, a host file by a path with
#   ".." and through a symlink, a new file with O_CREAT|O_TRUNC, an
#   existing one with O_TRUNC, O_TMPFILE in a directory: each is refused
#   with one line that says why, nothing is left in the container's cgroup,
#   and nothing named was opened, created or changed (stat before/after);
# - a file the workload holds open, modified (same size, new mtime) after
#   the checkpoint: the restart is refused naming it, and then restores
#   with --allow-changed-files, the workload passing its own checks;
# - processes in a nested user, network or pid namespace, holding an
#   O_TMPFILE file or /dev/kmsg, or mapping an ordinary file named
#   "/dev/zero (deleted)" (a file still linked, not shared memory), or moved
#   into a cgroup of its own below the container's: the checkpoint is
#   refused by name, and the workload keeps running, unfrozen and untraced.
. "$(dirname "$0")/lib.sh"

EDIT=$BUILD/tests/tools/imgedit
WATCH=$BUILD/tests/tools/openwatch
[ -x "$EDIT" ] && [ -x "$WATCH" ] || fail "no $EDIT or $WATCH"
# flags every restart of an edited image takes (images are authenticated)
TAMPERED_FLAGS=(--trust-image)
start_ckptd

D=$WORK/f
mkdir -p "$D" "$TMP/tmpdir" "$TMP/newdir"
run_ct src "$WL/files" "$D"
verify_ct src files
ckctl checkpoint src -o "$TMP/good.img" >/dev/null || fail "checkpoint src"
ckctl rm src >/dev/null || fail "rm src"

# tamper OUT PATH EDIT...: the good image with the first FILE record of PATH edited
tamper() {
	local out=$1
	shift
	"$EDIT" "$TMP/good.img" "$TMP/$out" "$@" || fail "imgedit $*"
}

# restart_tampered NAME IMAGE WHY TOUCHED WATCHED...: restarting NAME from
# the edited IMAGE is refused with one line matching WHY, leaves nothing in
# its cgroup, and no event on the WATCHED paths meanwhile matches TOUCHED
# (a regex of openwatch's lines: the host's own processes open /dev/null).
restart_tampered() {
	local name=$1 img=$2 why=$3 touched=$4 out cg
	shift 4
	out=$("$WATCH" "$TMP/watch.$name" "$@" -- timeout -k 5 120 "$CKPTCTL" --socket "$SOCK" \
		restart "$name" -i "$TMP/$img" "${TAMPERED_FLAGS[@]}" 2>&1) && fail "$name: the edited image restored: $out"
	[ "$(printf '%s\n' "$out" | grep -vc '^hint: ')" = 1 ] || fail "$name: not one error line: $out"
	case $out in "ckptctl: restart: "*) ;; *) fail "$name: unexpected output: $out" ;; esac
	printf '%s\n' "$out" | grep -Eq "$why" || fail "$name: refused, but not for '$why': $out"
	grep -Eq "$touched" "$TMP/watch.$name" && fail "$name: touched on the host: $(cat "$TMP/watch.$name")"
	cg=$(cgroup_dir_of "$CKPTD_PID")/ckptd-$name
	[ -n "$(cat "$cg/cgroup.procs" 2>/dev/null)" ] && fail "$name: processes left in $cg"
	info "$name: $out"
	ckctl rm "$name" >/dev/null 2>&1
	return 0
}

# devices: refused by number (whether the node exists or not) before
# anything is opened, and by what the path names now
tamper mem.img /dev/null path=/dev/mem rdev=1:1
restart_tampered mem mem.img "character device other than" "^/dev/mem " /dev
tamper kmsg.img /dev/null path=/dev/kmsg rdev=1:11
restart_tampered kmsg kmsg.img "character device other than" . /dev/kmsg
tamper kmsg2.img /dev/null path=/dev/kmsg
restart_tampered kmsg2 kmsg2.img "/dev/kmsg: it is not the saved device" . /dev/kmsg

# a host file: by a path with "..", and through a symlink the container made
echo secret >"$TMP/host-secret"
ln -s "$TMP/host-secret" "$D/link"
tamper dots.img "$D/files.ro" path="$D/../../host-secret"
restart_tampered dots dots.img "\. or \.\. component" . "$TMP/host-secret"
tamper link.img "$D/files.ro" path="$D/link"
restart_tampered link link.img "$D/link: it is no longer a regular file" . "$TMP/host-secret"

# creation flags: nothing made, nothing truncated
printf 'victim data\n' >"$TMP/victim"
before=$(stat -c '%s %Y %Z %i' "$TMP/victim")
tamper creat.img "$D/files.ro" path="$TMP/newdir/created" addflags=0x240   # O_CREAT|O_TRUNC
restart_tampered creat creat.img "create or truncate" . "$TMP/newdir"
[ -z "$(ls -A "$TMP/newdir")" ] || fail "creat: $TMP/newdir is not empty"
tamper trunc.img "$D/files.ro" path="$TMP/victim" flags=0x201     # O_WRONLY|O_TRUNC
restart_tampered trunc trunc.img "create or truncate" . "$TMP/victim"
[ "$(stat -c '%s %Y %Z %i' "$TMP/victim")" = "$before" ] || fail "trunc: $TMP/victim changed"
tamper tmpf.img "$D/files.ro" path="$TMP/tmpdir" flags=0x410002   # O_TMPFILE|O_RDWR
restart_tampered tmpf tmpf.img "O_TMPFILE" . "$TMP/tmpdir"
[ -z "$(ls -A "$TMP/tmpdir")" ] || fail "tmpf: $TMP/tmpdir is not empty"

# the good image still restores
ckctl restart good -i "$TMP/good.img" >/dev/null || fail "the good image no longer restores"
verify_ct good files
ckctl rm good >/dev/null || fail "rm good"

# a file modified since the checkpoint: refused, unless allowed
run_ct chg "$WL/files" "$D"
ckctl checkpoint chg >/dev/null || fail "checkpoint chg"
touch -d '2001-01-01 00:00:00' "$D/files.ro"
out=$(ckctl restart chg 2>&1) && fail "restart of a modified file succeeded"
printf '%s\n' "$out" | grep -q "files.ro: it was modified since the checkpoint" || fail "chg: not refused for its mtime: $out"
info "chg: $out"
expect_state chg checkpointed
ckctl restart chg --allow-changed-files >/dev/null || fail "restart --allow-changed-files"
expect_state chg running
verify_ct chg files
ckctl rm chg >/dev/null || fail "rm chg"

# refused at checkpoint, the workload untouched
# refused_ckpt MODE WHY [ARGS]: the refuse workload in MODE
refused_ckpt() {
	local mode=$1 re=$2 name=rf-$1 out pid t1 cg
	shift 2
	# unshare(CLONE_NEWNET/NEWPID) and moving its own cgroup take
	# privileges a default container does not have
	ckctl run "$name" --cwd "$WORK" --privileged -- "$WL/refuse" "$mode" "$@" >/dev/null || fail "run $name"
	wait_log "$name" '^READY' 30
	pid=$(host_pid "$name")
	out=$(ckctl checkpoint "$name" 2>&1) && fail "$mode: checkpoint succeeded"
	printf '%s\n' "$out" | grep -Eq "^ckptctl: checkpoint: .*task [0-9]+.*($re)" || fail "$mode: not refused by name for '$re': $out"
	info "$mode: $out"
	[ "$(ct_state "$name")" = running ] || fail "$mode: container is '$(ct_state "$name")' after the refusal"
	kill -0 "$pid" 2>/dev/null || fail "$mode: workload died"
	cg=$(cgroup_dir_of "$pid")
	grep -q '^frozen 0$' "$cg/cgroup.events" 2>/dev/null || fail "$mode: $cg is frozen"
	grep -q '^TracerPid:[[:space:]]*0$' "/proc/$pid/status" || fail "$mode: workload still traced"
	t1=$(count_log "$name" '^tick ')
	wait_log_count "$name" '^tick ' $((t1 + 3)) 10
	[ "$(images_count "$name")" = 0 ] || fail "$mode: a refused checkpoint left an image"
	ckctl rm "$name" >/dev/null || fail "rm $name"
}
refused_ckpt userns "its own user namespace"
refused_ckpt netns "its own network namespace"
refused_ckpt pidns "pid namespace"
refused_ckpt tmpfile "O_TMPFILE"
refused_ckpt kmsg "/dev/kmsg.*character device other than"
FAKE="/dev/zero (deleted)"
[ -e "$FAKE" ] && fail "$FAKE exists already"
trap 'rc=$?; rm -f "$FAKE"; (exit $rc); e2e_cleanup' EXIT
head -c 4096 /dev/zero >"$FAKE"
refused_ckpt fakeshm "/dev/zero \(deleted\).*still linked|/dev/zero \(deleted\).*links"
rm -f "$FAKE"
refused_ckpt cgroup "left the container's cgroup" "$(findmnt -n -t cgroup2 -o TARGET | head -n 1)"
pass
