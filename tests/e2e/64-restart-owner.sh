#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What a restart opens and makes, it opens and makes as the container's
# owner; what a privileged image had, only root gives again:
# - a member's containers (a member of a throwaway ckptd group): the memory
#   workload (a file mapped shared and writable, libraries mapped private)
#   and the ghosts workload (files deleted while open and mapped, removed
#   directories, a removed working directory, inotify watches) checkpointed
#   and restarted by the member, their own checks passing, still the
#   member's processes;
# - images of those, a mapped file and a watched file renamed to a file only
#   root may read (tests/tools/imgpath, with its size, mtime and type),
#   restarted by root into the member's containers (--trust-image): both
#   refused, naming the file and the owner, the file not opened for
#   reading, no process left and nothing mapping it; the untouched image
#   then restores;
# - a program the member runs, made unreadable to the member: the
#   checkpoint is refused naming its mapping, the workload running on;
# - a member's process holding a file root deleted: the checkpoint is
#   refused (restart would make it again as the member, who can't give it
#   to root), and the workload keeps running;
# - a shell under run -t reading and answering through /dev/tty (fd 5)
#   across two restarts; a /dev/tty held by a process that left the
#   session of its terminal (setsid) refused at checkpoint;
# - a working directory its owner may no longer enter: the restart is
#   refused naming it, and goes through once the owner may again;
# - images of a --privileged and a --cap-add NET_ADMIN container restarted
#   under a new name: refused without the option, the refusal naming it;
#   restored with it, the contain workload finding its capabilities; a
#   member asking for either is refused.
# The users and the group are removed whatever happens.
. "$(dirname "$0")/lib.sh"

{ command -v useradd && command -v groupadd; } >/dev/null || skip "no useradd/groupadd"
command -v setpriv >/dev/null || skip "no setpriv"
IMGPATH=$BUILD/tests/tools/imgpath
WATCH=$BUILD/tests/tools/openwatch
[ -x "$IMGPATH" ] && [ -x "$WATCH" ] || fail "no $IMGPATH or $WATCH"

G=ckg$$
UA=cka$$
USER_MADE=
GROUP_MADE=
owner_cleanup() {
	local rc=$?
	if [ -n "$USER_MADE" ]; then
		userdel -f "$USER_MADE" >/dev/null 2>&1 || echo "[$E2E_NAME] cleanup: userdel $USER_MADE failed" >&2
	fi
	if [ -n "$GROUP_MADE" ]; then
		groupdel "$GROUP_MADE" >/dev/null 2>&1 || echo "[$E2E_NAME] cleanup: groupdel $GROUP_MADE failed" >&2
	fi
	return $rc
}
trap 'owner_cleanup; e2e_cleanup' EXIT

groupadd "$G" || fail "groupadd $G"
GROUP_MADE=$G
useradd -M -N -s /usr/sbin/nologin -G "$G" "$UA" || fail "useradd $UA"
USER_MADE=$UA
uid_a=$(id -u "$UA")

cp "$CKPTCTL" "$TMP/ckptctl" && chmod 755 "$TMP/ckptctl"
uctl() {
	local u=$1
	shift
	timeout -k 5 120 setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups \
		"$TMP/ckptctl" --socket "$SOCK" "$@"
}
printf '# e2e 64\ngroup = %s\n' "$G" > "$TMP/ckptd.conf"
chmod 644 "$TMP/ckptd.conf"
start_ckptd --config "$TMP/ckptd.conf"

# a file only root may read, as big as what it will stand for
SECRET=$TMP/secret
head -c 1048576 /dev/zero > "$SECRET"
chmod 600 "$SECRET"

# the member's own directory, where its workloads make their files
D=$WORK/m
mkdir -p "$D"
chown "$uid_a" "$D"

uid_of() { awk '/^Uid:/ { print $2 }' "/proc/$(host_pid "$1")/status"; }
# member_cycle NAME TAG: the member checkpoints and restarts NAME, which
# passes its own checks and is still the member's
member_cycle() {
	local name=$1 tag=$2
	uctl "$UA" checkpoint "$name" >/dev/null || fail "$UA: checkpoint $name"
	expect_state "$name" checkpointed
	uctl "$UA" restart "$name" >/dev/null || fail "$UA: restart $name"
	expect_state "$name" running
	verify_ct "$name" "$tag"
	[ "$(uid_of "$name")" = "$uid_a" ] || fail "$name: uid $(uid_of "$name") after restart, want $uid_a"
}

# refused_by_root NAME IMAGE WHY: root restarting NAME from the edited IMAGE
# is refused for WHY; SECRET was not opened, nothing maps it, nothing of
# NAME runs, and NAME is still checkpointed
refused_by_root() {
	local name=$1 img=$2 why=$3 out cg
	out=$("$WATCH" "$TMP/watch.$name" "$SECRET" -- timeout -k 5 120 "$CKPTCTL" --socket "$SOCK" \
		restart "$name" -i "$img" --trust-image 2>&1) && fail "$name: the edited image restored: $out"
	printf '%s\n' "$out" | grep -Eq "$why" || fail "$name: refused, but not for '$why': $out"
	grep -q OPEN "$TMP/watch.$name" && fail "$name: $SECRET was opened: $(cat "$TMP/watch.$name")"
	grep -l "$SECRET" /proc/[0-9]*/maps 2>/dev/null && fail "$name: something maps $SECRET"
	cg=$(cgroup_dir_of "$CKPTD_PID")/ckptd-$name
	[ -n "$(cat "$cg/cgroup.procs" 2>/dev/null)" ] && fail "$name: processes left in $cg"
	expect_state "$name" checkpointed
	info "$name: $out"
}

# --- a member's mapped files, ghosts and watches round-trip -------------------
uctl "$UA" run "$P-mem" --cwd "$D" -- "$WL/memory" "$D" >/dev/null || fail "$UA: run memory"
wait_log "$P-mem" '^READY' 30
uctl "$UA" run "$P-gh" --cwd "$D" -- "$WL/ghosts" 65536 >/dev/null || fail "$UA: run ghosts"
wait_log "$P-gh" '^READY' 30
[ "$(uid_of "$P-mem")" = "$uid_a" ] || fail "$P-mem does not run as $UA"
for _ in 1 2; do
	member_cycle "$P-mem" memory
	member_cycle "$P-gh" ghosts
done
log "the member's mappings, deleted files and watches came back twice: $(last_log "$P-gh" '^PASS ghosts')"

# a program the member runs, which it may no longer read: refused at
# checkpoint, naming the mapping
install -m 755 -o "$uid_a" "$(command -v sleep)" "$D/mysleep" || fail "install $D/mysleep"
uctl "$UA" run "$P-map" --cwd "$D" -- "$D/mysleep" 1000 >/dev/null || fail "$UA: run $D/mysleep"
expect_state "$P-map" running
chmod 000 "$D/mysleep"
out=$(uctl "$UA" checkpoint "$P-map" 2>&1) && fail "$P-map: checkpointed a mapping its owner can't open: $out"
chmod 755 "$D/mysleep"
echo "$out" | grep -Eq "mapping [0-9a-fx-]+ $D/mysleep: restart could not open it as the container's owner \(uid $uid_a\): Permission denied" ||
	fail "$P-map: refused, but not for its mapping: $out"
expect_state "$P-map" running
info "$P-map: $out"

# a working directory the owner may no longer enter by the restart: the
# restart is refused naming it (restart opens it as the owner, in the
# container's root), and goes through once the owner may again
mkdir -p "$D/cwd" && chown "$uid_a" "$D/cwd"
uctl "$UA" run "$P-cwd" --cwd "$D/cwd" -- "$(command -v sleep)" 1000 >/dev/null || fail "$UA: run sleep in $D/cwd"
expect_state "$P-cwd" running
uctl "$UA" checkpoint "$P-cwd" >/dev/null || fail "$UA: checkpoint $P-cwd"
chown root "$D/cwd" && chmod 700 "$D/cwd"
out=$(uctl "$UA" restart "$P-cwd" 2>&1) && fail "$P-cwd: restarted into a directory its owner may not enter: $out"
echo "$out" | grep -q "working directory $D/cwd, as the owner (uid $uid_a): Permission denied" ||
	fail "$P-cwd: refused, but not for its working directory: $out"
expect_state "$P-cwd" checkpointed
chown "$uid_a" "$D/cwd"
uctl "$UA" restart "$P-cwd" >/dev/null || fail "$UA: restart $P-cwd once it may enter $D/cwd again"
[ "$(readlink "/proc/$(host_pid "$P-cwd")/cwd")" = "$D/cwd" ] || fail "$P-cwd: cwd $(readlink "/proc/$(host_pid "$P-cwd")/cwd")"
info "$P-cwd: $out"

# --- a mapping and a watch of what the owner can't read -----------------------
uctl "$UA" checkpoint "$P-mem" -o - > "$TMP/mem.img" || fail "$UA: checkpoint $P-mem -o -"
expect_state "$P-mem" checkpointed
"$IMGPATH" "$TMP/mem.img" "$TMP/mem-secret.img" "$D/memory.shared" "$SECRET" || fail "imgpath memory.shared"
refused_by_root "$P-mem" "$TMP/mem-secret.img" \
	"mapped file $SECRET: opening it as the container's owner \\(uid $uid_a\\): Permission denied$"
ckctl restart "$P-mem" -i "$TMP/mem.img" >/dev/null || fail "restart $P-mem from its own image"
verify_ct "$P-mem" memory
[ "$(uid_of "$P-mem")" = "$uid_a" ] || fail "$P-mem: restarted by root, not the member's"

uctl "$UA" checkpoint "$P-gh" -o - > "$TMP/gh.img" || fail "$UA: checkpoint $P-gh -o -"
expect_state "$P-gh" checkpointed
"$IMGPATH" "$TMP/gh.img" "$TMP/gh-secret.img" "$D/ghosts.watched" "$SECRET" || fail "imgpath ghosts.watched"
refused_by_root "$P-gh" "$TMP/gh-secret.img" \
	"\\(inotify\\): watch 3 on $SECRET \\(as the container's owner, uid $uid_a\\): Permission denied"
ckctl restart "$P-gh" -i "$TMP/gh.img" >/dev/null || fail "restart $P-gh from its own image"
verify_ct "$P-gh" ghosts

# --- a file of root's, deleted while the member's process holds it ------------
echo "root's" > "$D/roots"
chmod 644 "$D/roots"
uctl "$UA" run "$P-held" --cwd "$D" -- /bin/sh -c 'exec 3<roots; echo READY; exec sleep 1000' >/dev/null ||
	fail "$UA: run $P-held"
wait_log "$P-held" '^READY' 30
rm "$D/roots"
out=$(uctl "$UA" checkpoint "$P-held" 2>&1) && fail "$P-held: checkpointed a deleted file of root's: $out"
echo "$out" | grep -q "fd 3 ($D/roots (deleted)): a file deleted while open, owned by uid 0: restart makes it again as the container's owner (uid $uid_a)" ||
	fail "$P-held: refused, but not for its deleted file: $out"
expect_state "$P-held" running
info "$P-held: $out"

# --- /dev/tty on the console ----------------------------------------------------
CONSOLE=$REPO/tests/tools/console.py
console() { "$PYTHON" "$CONSOLE" "$CKPTCTL" "$SOCK" "$@"; }
# a shell that reads lines from /dev/tty (fd 5) and answers through it
ckctl run -t "$P-tty" -- bash --norc --noprofile -c \
	'exec 5<>/dev/tty; while read -r l <&5; do echo "tty:$l:$(readlink /proc/self/fd/5)" >&5; done' >/dev/null ||
	fail "run -t $P-tty"
console "$P-tty" 'one\r' 'tty:one:/dev/tty' || fail "$P-tty: no answer through /dev/tty"
for _ in 1 2; do
	checkpoint_ct "$P-tty"
	restart_ct "$P-tty"
	pid=$(host_pid "$P-tty")
	[ "$(stat -L -c '%t:%T' "/proc/$pid/fd/5")" = 5:0 ] || fail "$P-tty: fd 5 is $(stat -L -c '%t:%T' "/proc/$pid/fd/5"), not /dev/tty"
	console "$P-tty" 'two\r' 'tty:two:/dev/tty' || fail "$P-tty: no answer through /dev/tty after a restart"
done
# a /dev/tty whose terminal is no longer its process's controlling terminal
ckctl run -t "$P-notty" -- bash --norc --noprofile -c 'exec 5<>/dev/tty; exec setsid -w sleep 1000' >/dev/null ||
	fail "run -t $P-notty"
sleep 1
out=$(ckctl checkpoint "$P-notty" 2>&1) && fail "$P-notty: checkpointed a /dev/tty of no controlling terminal: $out"
echo "$out" | grep -q "fd 5 (/dev/tty): /dev/tty opened on a terminal that is not its controlling terminal" ||
	fail "$P-notty: refused, but not for its /dev/tty: $out"
expect_state "$P-notty" running
info "$P-notty: $out"

# --- privileged images under a new name ----------------------------------------
ALL=$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)
NET_ADMIN=$(printf '%016x' $(( 0xa80425fb | 1 << 12 )))
ckctl run "$P-priv" --cwd "$WORK" --privileged -- "$WL/contain" capeff="$ALL" capbnd="$ALL" >/dev/null ||
	fail "run --privileged"
wait_log "$P-priv" '^READY' 30
ckctl checkpoint "$P-priv" -o "$TMP/priv.img" >/dev/null || fail "checkpoint $P-priv -o"
ckctl run "$P-na" --cwd "$WORK" --cap-add NET_ADMIN -- "$WL/contain" capeff="$NET_ADMIN" capbnd="$NET_ADMIN" >/dev/null ||
	fail "run --cap-add NET_ADMIN"
wait_log "$P-na" '^READY' 30
ckctl checkpoint "$P-na" -o "$TMP/na.img" >/dev/null || fail "checkpoint $P-na -o"

# new_refused NAME IMAGE WANT [OPTIONS]: refused, the message saying WANT, NAME not left behind
new_refused() {
	local name=$1 img=$2 want=$3 out
	shift 3
	out=$(ckctl restart "$name" -i "$img" "$@" 2>&1) && fail "$name: restarted $img ${*}: $out"
	echo "$out" | grep -q -- "$want" || fail "$name: refused, but not with '$want': $out"
	ckctl --json list | grep -q "\"$name\"" && fail "$name: left behind by a refused restart"
	info "$name: $out"
}
new_refused "$P-priv2" "$TMP/priv.img" "it was privileged, this container is not (root may restart its image under a new name with --privileged)"
new_refused "$P-priv2" "$TMP/priv.img" "with --privileged" --cap-add ALL
new_refused "$P-na2" "$TMP/na.img" "holds NET_ADMIN, beyond this container's (root may restart its image under a new name with --cap-add NET_ADMIN)"
new_refused "$P-na2" "$TMP/na.img" "unknown capability 'NOPE'" --cap-add NOPE
out=$(uctl "$UA" restart "$P-m2" -i - --privileged < "$TMP/priv.img" 2>&1) && fail "$UA restarted with --privileged: $out"
echo "$out" | grep -q "only root may restart a container with --privileged or --cap-add" || fail "$UA --privileged: $out"
out=$(ckctl restart "$P-priv" -i "$TMP/priv.img" --privileged 2>&1) && fail "--privileged on an existing container: $out"
echo "$out" | grep -q "keeps its own privileges" || fail "--privileged on an existing container: $out"

ckctl restart "$P-priv2" -i "$TMP/priv.img" --privileged >/dev/null || fail "restart $P-priv2 --privileged"
expect_state "$P-priv2" running
verify_ct "$P-priv2" contain
[ "$(awk '/^CapEff:/ { print $2 }' "/proc/$(host_pid "$P-priv2")/status")" = "$ALL" ] || fail "$P-priv2: not every capability"
ckctl restart "$P-na2" -i "$TMP/na.img" --cap-add net_admin >/dev/null || fail "restart $P-na2 --cap-add net_admin"
expect_state "$P-na2" running
verify_ct "$P-na2" contain
[ "$(awk '/^CapEff:/ { print $2 }' "/proc/$(host_pid "$P-na2")/status")" = "$NET_ADMIN" ] || fail "$P-na2: CapEff not $NET_ADMIN"
# the new containers keep what they were given across their own restarts
checkpoint_ct "$P-na2"
restart_ct "$P-na2"
verify_ct "$P-na2" contain
log "privileged images under new names: $(last_log "$P-priv2" '^PASS contain'), $(last_log "$P-na2" '^PASS contain')"
pass
