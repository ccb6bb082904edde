#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Named pipes, files deleted while open, inotify:
# - the ghosts workload (a FIFO with a line in it, three descriptions of it;
#   a deleted file open twice and mapped shared and private; a directory
#   removed while open; inotify watches wd 1 and 3 past a removed wd 2; an
#   epoll over the FIFO and the inotify; a child whose working directory was
#   removed): 3 x (checkpoint, restart), the same /proc view, and the
#   workload checks the FIFO gives back its line, the deleted file its
#   contents, offsets and mappings, the watches fire under their wds for
#   what happens after the restart, and the child's cwd is still the removed
#   directory (getcwd says ENOENT, "." opens and stats);
# - a shell whose cwd was removed, and the children it forks: 2 x
#   (checkpoint, restart), /proc shows the cwd "(deleted)" where it was,
#   and the shell finds getcwd still failing and "." a removed directory;
# - a deleted file bigger than the ghost limit (1 MiB by default) is
#   refused by name and the workload keeps running; --ghost-limit raises it;
# - a directory removed while open at an offset that can't be set again
#   (read to its end), a queued inotify event, a FIFO whose path was
#   deleted, a deleted file still linked under another name and a removed
#   working directory whose parent is gone too are refused by name;
# - coreutils `tail -f` (inotify) sees lines appended after the restart,
#   each once;
# - `make -j4` (its jobserver a pipe) of a Makefile whose jobs sleep,
#   checkpointed mid-build and restarted, ends with the same result as an
#   uninterrupted build.
. "$(dirname "$0")/lib.sh"

start_ckptd
CYCLES=${CYCLES:-3}

# ghost_cycle NAME N [ARGS]: checkpoint (with ARGS), restart, the same /proc view (a deleted
# file made again, and the child's pipe, are new inodes: their numbers are masked), PASS.
ghost_cycle()
{
	local name=$1 c=$2 f
	shift 2
	snap "$name" "$TMP/$name.before.$c"
	checkpoint_ct "$name" "$@"
	restart_ct "$name"
	snap "$name" "$TMP/$name.after.$c"
	for f in "$TMP/$name.before.$c" "$TMP/$name.after.$c"; do
		sed -i -E -e 's/^([0-9a-f]+-[0-9a-f]+ [rwxps-]+ [0-9a-f]+ [0-9a-f:]+ )[0-9]+( +.* \(deleted\))$/\1INODE\2/' \
			-e 's/^18 pipe:\[[0-9]+\]$/18 pipe:[INODE]/' "$f"
	done
	same_snap "$TMP/$name.before.$c" "$TMP/$name.after.$c" "$name cycle $c"
	verify_ct "$name" ghosts
}

# refused_ct NAME REGEX: the checkpoint fails saying REGEX, the workload
# runs on and still passes
refused_ct()
{
	local name=$1 re=$2 out
	shift 2
	out=$(ckctl checkpoint "$name" "$@" 2>&1) && fail "$name: checkpoint $* succeeded"
	echo "$out" | grep -Eq "$re" || fail "$name: not refused as expected ($re): $out"
	expect_state "$name" running
	log "$name refused: $out"
}

# --- ghosts ------------------------------------------------------------------
W=$P-ghosts
run_ct "$W" "$WL/ghosts"
verify_ct "$W" ghosts
for c in $(seq "$CYCLES"); do
	ghost_cycle "$W" "$c"
	log "ghosts: cycle $c ok: $(last_log "$W" '^PASS ghosts')"
done
ckctl rm "$W" >/dev/null || fail "rm $W"

# --- a removed cwd in init's child (spawned) and its children (forked) --------
# realpath . (getcwd) must still fail with ENOENT; "." must still stat as a
# directory in which nothing can be made.
W=$P-cwd
mkdir -p "$WORK/cwd"
# shellcheck disable=SC2016
ckctl run "$W" --cwd "$WORK/cwd" -- /bin/sh -c 'mkdir d && cd d && rmdir "$OLDPWD/d" &&
	trap '\''if realpath . >/dev/null 2>&1 || ! [ -d . ] || mkdir x 2>/dev/null; then echo FAIL cwd; else echo PASS cwd; fi'\'' USR2 &&
	echo READY && while :; do sleep 1; done' >/dev/null || fail "run $W"
wait_log "$W" '^READY' 30
verify_ct "$W" cwd
for c in 1 2; do
	checkpoint_ct "$W"
	restart_ct "$W"
	pid=$(host_pid_of "$W")
	case $(readlink "/proc/$pid/cwd") in
	*/cwd/d" (deleted)") ;;
	*) fail "$W: cwd after restart $c is $(readlink "/proc/$pid/cwd")" ;;
	esac
	verify_ct "$W" cwd
done
log "removed cwd: $(count_log "$W" '^PASS cwd') checks passed"
ckctl rm "$W" >/dev/null || fail "rm $W"

# --- the ghost limit -----------------------------------------------------------
W=$P-big
mkdir -p "$WORK/big"
ckctl run "$W" --cwd "$WORK/big" -- "$WL/ghosts" 3145728 >/dev/null || fail "run $W"
wait_log "$W" '^READY' 30
refused_ct "$W" 'fd 13 \(.*/big/ghosts.ghost \(deleted\)\): a file deleted while open, and its 3145728 bytes.*ghost limit of 1048576.*--ghost-limit'
refused_ct "$W" 'ghost limit of 2097152' --ghost-limit 2097152
verify_ct "$W" ghosts
ghost_cycle "$W" 1 --ghost-limit 4194304
ckctl rm "$W" >/dev/null || fail "rm $W"

# --- a queued inotify event --------------------------------------------------
W=$P-queued
mkdir -p "$WORK/queued"
ckctl run "$W" --cwd "$WORK/queued" -- "$WL/ghosts" 8192 queued >/dev/null || fail "run $W"
wait_log "$W" '^READY' 30
refused_ct "$W" 'fd 15 \(inotify\): [0-9]+ bytes of events not read yet'
ckctl rm "$W" >/dev/null || fail "rm $W"

# --- a removed directory read to its end ---------------------------------------
# Its offset (the end of a hashed ext4 directory) may no longer be one it
# can be seeked to: then refused by name; else restored and checked.
W=$P-readdir
mkdir -p "$WORK/readdir"
ckctl run "$W" --cwd "$WORK/readdir" -- "$WL/ghosts" 8192 readdir >/dev/null || fail "run $W"
wait_log "$W" '^READY' 30
if out=$(ckctl checkpoint "$W" 2>&1); then
	restart_ct "$W"
	verify_ct "$W" ghosts
	log "readdir: restored at its offset"
else
	echo "$out" | grep -Eq 'fd 17 \(.*/ghosts.rmdir \(deleted\)\): a directory removed while open, at offset [0-9]+, which can.t be set again' ||
		fail "$W: not refused as expected: $out"
	expect_state "$W" running
	verify_ct "$W" ghosts
	log "readdir refused: $out"
fi
ckctl rm "$W" >/dev/null || fail "rm $W"

# --- refused: a FIFO deleted while open, a deleted file still linked --------
W=$P-delfifo
mkdir -p "$WORK/delfifo"
ckctl run "$W" --cwd "$WORK/delfifo" -- /bin/sh -c 'mkfifo f && exec 3<>f && rm f && echo READY && exec sleep 600' >/dev/null ||
	fail "run $W"
wait_log "$W" '^READY' 30
refused_ct "$W" 'fd 3 \(.*/f \(deleted\)\): a named pipe whose path was deleted'
ckctl rm "$W" >/dev/null || fail "rm $W"
W=$P-linked
mkdir -p "$WORK/linked"
ckctl run "$W" --cwd "$WORK/linked" -- /bin/sh -c 'echo x > a && exec 3<a && ln a b && rm a && echo READY && exec sleep 600' >/dev/null ||
	fail "run $W"
wait_log "$W" '^READY' 30
refused_ct "$W" 'fd 3 \(.*/linked/a \(deleted\)\): a deleted file still linked under another name'
ckctl rm "$W" >/dev/null || fail "rm $W"
W=$P-gonecwd
mkdir -p "$WORK/gonecwd"
ckctl run "$W" --cwd "$WORK/gonecwd" -- /bin/sh -c 'mkdir -p d/e && cd d/e && rmdir "$OLDPWD/d/e" "$OLDPWD/d" && echo READY && exec sleep 600' >/dev/null ||
	fail "run $W"
wait_log "$W" '^READY' 30
refused_ct "$W" 'its working directory \(.*/gonecwd/d/e \(deleted\)\): a removed directory, and restart could not make it again where it was'
ckctl rm "$W" >/dev/null || fail "rm $W"

# --- tail -f -------------------------------------------------------------------
TAIL=$(command -v tail) || skip "no coreutils tail"
W=$P-tail
echo READY > "$WORK/tailed"
ckctl run "$W" --cwd "$WORK" -- "$TAIL" -f "$WORK/tailed" >/dev/null || fail "run $W"
wait_log "$W" '^READY' 30
for c in $(seq "$CYCLES"); do
	echo "before $c" >> "$WORK/tailed"
	wait_log "$W" "^before $c\$" 10
	sleep 0.5
	checkpoint_ct "$W"
	restart_ct "$W"
	echo "after $c" >> "$WORK/tailed"
	wait_log "$W" "^after $c\$" 10
	[ "$(count_log "$W" "^before $c\$")" = 1 ] || fail "tail: 'before $c' shown $(count_log "$W" "^before $c\$") times"
	log "tail -f: cycle $c ok"
done
ckctl rm "$W" >/dev/null || fail "rm $W"

# --- make -j4 ------------------------------------------------------------------
MAKE=$(command -v make) || skip "no make"
mkbuild()
{
	local d=$1 i
	mkdir -p "$d"
	{
		printf 'OBJS :='
		for i in $(seq 8); do printf ' t%d.out' "$i"; done
		printf '\nresult: $(OBJS)\n\tcat $^ > $@\n'
		printf 't%%.out:\n\tsleep 1; echo "job $*" > $@\n'
	} > "$d/Makefile"
}
mkbuild "$WORK/mk-ref"
(cd "$WORK/mk-ref" && "$MAKE" -j4 -s >/dev/null) || fail "reference make failed"
mkbuild "$WORK/mk"
W=$P-make
ckctl run "$W" --cwd "$WORK/mk" -- /bin/sh -c "echo READY; $MAKE -j4 -s; echo BUILD-DONE \$?" >/dev/null || fail "run $W"
wait_log "$W" '^READY' 30
sleep 1.3
[ -e "$WORK/mk/result" ] && fail "make: done before the checkpoint"
checkpoint_ct "$W"
sleep 1
restart_ct "$W"
wait_log "$W" '^BUILD-DONE' 60
[ "$(last_log "$W" '^BUILD-DONE')" = "BUILD-DONE 0" ] || fail "make: $(logs "$W")"
cmp "$WORK/mk-ref/result" "$WORK/mk/result" || fail "make: result differs from the uninterrupted build's"
log "make -j4: $(tr '\n' ' ' < "$WORK/mk/result")"
ckctl rm "$W" >/dev/null || fail "rm $W"

echo "PASS: $TEST_NAME"
