#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `checkpoint -o PATH` never destroys what PATH is: a device, a FIFO or
# /dev/stdout is written in place and stays what it was; a regular file is
# replaced atomically (a failed checkpoint leaves it byte-identical and no
# temporary file behind); a symlink stays a symlink and its target gets the
# image; a directory or a dangling symlink is refused before anything
# happens to the container. And ckptd itself never follows a symlink
# planted in its state dir, nor starts on a state dir others may write.
#
# The /dev cases run in a mount namespace of their own whose /dev is a
# private tmpfs holding a fresh null (1:3) and stdout (-> /proc/self/fd/1):
# a client that replaced its output there would not damage the machine.
. "$(dirname "$0")/lib.sh"

start_ckptd
name=$P-mem
run_ct "$name" "$WL/memory" "$TMP/wd"
sleep 0.3
verify_ct "$name" memory
pid=$(host_pid "$name")

# still_running WHAT: the container survived whatever WHAT did, unfrozen
still_running() {
	[ "$(ct_state "$name")" = running ] || fail "$1: container is '$(ct_state "$name")'"
	[ "$(host_pid "$name")" = "$pid" ] || fail "$1: host pid changed"
	grep -q '^State:[[:space:]]*[RS]' "/proc/$pid/status" || fail "$1: workload $(grep '^State:' "/proc/$pid/status")"
}

# valid_image FILE WHAT: ckptctl inspect accepts it as a whole image
valid_image() {
	local v
	v=$(ckctl --json inspect "$1" 2>/dev/null | json_get valid)
	[ "$v" = True ] || fail "$2: not a valid image: $(ckctl inspect "$1" 2>&1 | tail -n 2)"
}

# in_private_dev CMD...: CMD with /dev a private tmpfs (see above); then
# records what /dev/null and /dev/stdout are and what /dev holds.
in_private_dev() {
	E2E_OUT=$TMP unshare --mount --propagation private -- bash -c '
		mount -t tmpfs -o mode=755 e2e-dev /dev || exit 99
		mknod -m 666 /dev/null c 1 3 && ln -s /proc/self/fd/1 /dev/stdout || exit 99
		"$@"
		rc=$?
		stat -c "%F %t:%T" /dev/null >"$E2E_OUT/dev.null"
		readlink /dev/stdout >"$E2E_OUT/dev.stdout"
		ls -A /dev >"$E2E_OUT/dev.ls"
		exit $rc' bash "$@"
}
CK=(timeout -k 5 180 "$CKPTCTL" --socket "$SOCK")

# --- /dev/null: written in place, still the null device ---------------------
in_private_dev "${CK[@]}" checkpoint "$name" --leave-running -o /dev/null >"$TMP/null.out" 2>&1 ||
	fail "checkpoint -o /dev/null: $(cat "$TMP/null.out")"
[ "$(cat "$TMP/dev.null")" = "character special file 1:3" ] ||
	fail "-o /dev/null: /dev/null became '$(cat "$TMP/dev.null")'"
[ "$(tr '\n' ' ' <"$TMP/dev.ls")" = "null stdout " ] || fail "-o /dev/null left in /dev: $(cat "$TMP/dev.ls")"
still_running "-o /dev/null"
log "/dev/null ok"

# --- /dev/stdout redirected to a file: the file gets the image --------------
in_private_dev "${CK[@]}" checkpoint "$name" --leave-running -o /dev/stdout >"$TMP/stdout.img" 2>"$TMP/stdout.err" ||
	fail "checkpoint -o /dev/stdout: $(cat "$TMP/stdout.err")"
[ "$(cat "$TMP/dev.stdout")" = /proc/self/fd/1 ] || fail "-o /dev/stdout: /dev/stdout became '$(cat "$TMP/dev.stdout")'"
[ "$(tr '\n' ' ' <"$TMP/dev.ls")" = "null stdout " ] || fail "-o /dev/stdout left in /dev: $(cat "$TMP/dev.ls")"
valid_image "$TMP/stdout.img" "-o /dev/stdout"
grep -q "^checkpointed $name" "$TMP/stdout.err" || fail "-o /dev/stdout: no report on stderr: $(cat "$TMP/stdout.err")"
log "/dev/stdout ok"

# --- /dev/stdout as a pipe, and a FIFO with a reader ------------------------
ckctl checkpoint "$name" --leave-running -o /dev/stdout 2>"$TMP/pipe.err" | ckctl --json inspect - >"$TMP/pipe.json"
st=("${PIPESTATUS[@]}")
[ "${st[0]}" = 0 ] || fail "checkpoint -o /dev/stdout into a pipe: $(cat "$TMP/pipe.err")"
[ "$(json_get valid <"$TMP/pipe.json")" = True ] || fail "-o /dev/stdout into a pipe: inspect says $(json_get error <"$TMP/pipe.json")"

mkfifo "$TMP/fifo"
ckctl --json inspect - <"$TMP/fifo" >"$TMP/fifo.json" 2>&1 &
reader=$!
out=$(ckctl checkpoint "$name" --leave-running -o "$TMP/fifo" 2>&1)
rc=$?
[ -p "$TMP/fifo" ] || { kill "$reader"; fail "-o FIFO: the FIFO is now $(stat -c %F "$TMP/fifo")"; }
[ $rc = 0 ] || { kill "$reader"; fail "checkpoint -o FIFO: $out"; }
wait "$reader" || fail "inspect - on the FIFO failed: $(cat "$TMP/fifo.json")"
[ "$(json_get valid <"$TMP/fifo.json")" = True ] || fail "-o FIFO: inspect says $(json_get error <"$TMP/fifo.json")"
still_running "-o FIFO"
log "FIFO ok"

# --- a regular file: replaced whole, or not at all ---------------------------
mkdir "$TMP/out"
head -c 4096 /dev/urandom >"$TMP/out/reg.img"
cp "$TMP/out/reg.img" "$TMP/reg.orig"
ino=$(stat -c %i "$TMP/out/reg.img")
ckctl checkpoint "$name" --leave-running -o "$TMP/out/reg.img" >/dev/null || fail "checkpoint -o FILE"
valid_image "$TMP/out/reg.img" "-o FILE"
[ "$(stat -c %i "$TMP/out/reg.img")" != "$ino" ] || fail "-o FILE: rewritten in place, not replaced"
[ "$(ls -A "$TMP/out")" = reg.img ] || fail "-o FILE left: $(ls -A "$TMP/out")"
still_running "-o FILE"
cp "$TMP/out/reg.img" "$TMP/reg.orig"

bad=$P-refuse
run_ct "$bad" "$WL/refuse" socket
out=$(ckctl checkpoint "$bad" -o "$TMP/out/reg.img" 2>&1) && fail "checkpoint -o FILE of a refusing container succeeded"
cmp -s "$TMP/out/reg.img" "$TMP/reg.orig" || fail "a failed checkpoint changed the existing output file"
out=$(ckctl checkpoint "$bad" -o "$TMP/out/new.img" 2>&1) && fail "checkpoint -o NEW of a refusing container succeeded"
[ "$(ls -A "$TMP/out")" = reg.img ] || fail "a failed checkpoint left: $(ls -A "$TMP/out")"
ckctl rm "$bad" >/dev/null || fail "rm $bad"
log "regular file ok"

# --- a symlink to a regular file: the link stays, its target is replaced ----
ln -s reg.img "$TMP/out/link.img"
ckctl checkpoint "$name" --leave-running -o "$TMP/out/link.img" >/dev/null || fail "checkpoint -o SYMLINK"
[ -L "$TMP/out/link.img" ] && [ "$(readlink "$TMP/out/link.img")" = reg.img ] ||
	fail "-o SYMLINK: the link is now $(stat -c %F "$TMP/out/link.img")"
cmp -s "$TMP/out/reg.img" "$TMP/reg.orig" && fail "-o SYMLINK: its target was not rewritten"
valid_image "$TMP/out/reg.img" "-o SYMLINK"
[ "$(ls -A "$TMP/out" | tr '\n' ' ')" = "link.img reg.img " ] || fail "-o SYMLINK left: $(ls -A "$TMP/out")"

# a dangling symlink is refused, and stays as it was
ln -s nowhere.img "$TMP/out/dangling.img"
out=$(ckctl checkpoint "$name" -o "$TMP/out/dangling.img" 2>&1) && fail "checkpoint -o DANGLING succeeded"
echo "$out" | grep -q "symlink" || fail "-o DANGLING: unclear error: $out"
[ "$(readlink "$TMP/out/dangling.img")" = nowhere.img ] && [ ! -e "$TMP/out/nowhere.img" ] ||
	fail "-o DANGLING: changed $(ls -l "$TMP/out")"
still_running "-o DANGLING"
log "symlinks ok"

# --- a directory: refused before the container is touched -------------------
mkdir "$TMP/dir"
out=$(ckctl checkpoint "$name" -o "$TMP/dir" 2>&1) && fail "checkpoint -o DIR succeeded"
echo "$out" | grep -q "directory" || fail "-o DIR: unclear error: $out"
[ -d "$TMP/dir" ] && [ -z "$(ls -A "$TMP/dir")" ] || fail "-o DIR: the directory changed: $(ls -lA "$TMP/dir")"
leftover=$(find "$TMP" -maxdepth 1 -name 'dir.*')
[ -z "$leftover" ] || fail "-o DIR left: $leftover"
still_running "-o DIR"
log "directory ok"

# --- ckptd's own paths: a symlink planted in its state dir is never followed
plant=$P-plant
run_ct "$plant" "$WL/counter"
ckctl kill "$plant" >/dev/null || fail "kill $plant"
wait_state "$plant" stopped 10
ckptd_stop
mkdir "$TMP/elsewhere"
echo keep >"$TMP/elsewhere/1.img.tmp"
echo keep >"$TMP/elsewhere/2.img"
rmdir "$STATE/containers/$plant/images" || fail "$plant has no empty images/"
ln -s "$TMP/elsewhere" "$STATE/containers/$plant/images"
# a state file naming a "cgroup" that is a plain directory listing a bystander
(echo "$BASHPID" >"${E2E_CGROUPS[0]}/cgroup.procs" && exec sleep 600) &
bystander=$!
mkdir -p "$TMP/fake/ckptd-$plant"
echo "$bystander" >"$TMP/fake/ckptd-$plant/cgroup.procs"
echo 0 >"$TMP/fake/ckptd-$plant/cgroup.freeze"
printf 'cgroup_v1=0\ncgroup=%s\n' "$TMP/fake/ckptd-$plant" >>"$STATE/containers/$plant/state"
ckptd_start
kill -0 "$bystander" 2>/dev/null || fail "ckptd killed a process listed in a fake cgroup from its state file"
[ -d "$TMP/fake/ckptd-$plant" ] || fail "ckptd removed a fake cgroup directory from its state file"
kill "$bystander"
[ "$(images_count "$plant" 2>/dev/null)" != 1 ] || fail "ckptd lists images through a planted symlink"
ckctl rm "$plant" >/dev/null 2>&1
[ "$(cat "$TMP/elsewhere/1.img.tmp" "$TMP/elsewhere/2.img" 2>/dev/null | tr '\n' ' ')" = "keep keep " ] ||
	fail "ckptd removed files through a planted images/ symlink: $(ls -A "$TMP/elsewhere")"
[ ! -e "$STATE/containers/$plant" ] || fail "rm $plant left $(ls -lA "$STATE/containers/$plant")"
log "planted symlink ok"

# a state dir others may write into is refused at start
mkdir -m 0777 "$TMP/loose"
out=$(timeout -k 5 20 "$CKPTD" --socket "$TMP/loose.sock" --state-dir "$TMP/loose" 2>&1 </dev/null) &&
	fail "ckptd started on a world-writable state dir"
echo "$out" | grep -q "writable by no one else" || fail "loose state dir: unclear error: $out"
[ ! -e "$TMP/loose.sock" ] && [ -z "$(ls -A "$TMP/loose")" ] || fail "loose state dir: ckptd left $(ls -A "$TMP")"
log "loose state dir ok"

verify_ct "$name" memory
[ "$(images_count "$name")" = 0 ] || fail "-o also stored images: $(ckctl images "$name")"
[ "$(stat -c '%F %t:%T' /dev/null)" = "character special file 1:3" ] || fail "the machine's /dev/null is not the null device"
echo "PASS: $TEST_NAME"
