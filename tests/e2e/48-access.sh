#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Who may ask (issue 8): a ckptd whose ckptd.conf names a throwaway group,
# two throwaway members of it (one by a supplementary group, one by its
# primary group) and an outsider. The outsider is refused every verb with
# a permission error; member A runs, checkpoints and restarts its own
# container, which proves its state survived; member B neither sees A's
# container nor reaches it (it is "not found", its name and published
# port merely taken);
# root sees both with their owners, a checkpoint and restart by root keep
# A the owner, and B's stopped container run again by root becomes root's.
# Then --group on the command line overrides the file: a group that does
# not exist leaves ckptd to root (logged), and A's container, re-adopted,
# is still A's. A config file with an unknown key stops ckptd, naming the
# line.
# The users and the group are removed whatever happens.
. "$(dirname "$0")/lib.sh"

{ command -v useradd && command -v groupadd; } >/dev/null || skip "no useradd/groupadd"
command -v setpriv >/dev/null || skip "no setpriv"

G=ckg$$
UA=cka$$
UB=ckb$$
UO=cko$$
USERS_MADE=()
GROUP_MADE=

access_cleanup() {
	local rc=$? u
	for u in "${USERS_MADE[@]}"; do
		userdel -f "$u" >/dev/null 2>&1 || echo "[$E2E_NAME] cleanup: userdel $u failed" >&2
	done
	if [ -n "$GROUP_MADE" ]; then
		groupdel "$GROUP_MADE" >/dev/null 2>&1 || echo "[$E2E_NAME] cleanup: groupdel $GROUP_MADE failed" >&2
	fi
	return $rc
}
trap 'access_cleanup; e2e_cleanup' EXIT

groupadd "$G" || fail "groupadd $G"
GROUP_MADE=$G
# A: in the group by a supplementary group; B: by its primary group; O: not at all
useradd -M -N -s /usr/sbin/nologin -G "$G" "$UA" || fail "useradd $UA"
USERS_MADE+=("$UA")
useradd -M -N -s /usr/sbin/nologin -g "$G" "$UB" || fail "useradd $UB"
USERS_MADE+=("$UB")
useradd -M -N -s /usr/sbin/nologin "$UO" || fail "useradd $UO"
USERS_MADE+=("$UO")
uid_a=$(id -u "$UA")
uid_b=$(id -u "$UB")

# the members must be able to run the client
cp "$CKPTCTL" "$TMP/ckptctl" && chmod 755 "$TMP/ckptctl"
# uctl USER ARGS...: ckptctl as USER, with USER's groups from the group database
uctl() {
	local u=$1
	shift
	timeout -k 5 60 setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups \
		"$TMP/ckptctl" --socket "$SOCK" "$@"
}
# names_of USER: the containers USER's `list` shows, one a line
names_of() {
	uctl "$1" --json list | "$PYTHON" -c 'import json,sys; [print(c["name"]) for c in json.load(sys.stdin)["containers"]]'
}
# refused_as USER WANT VERB...: the verb fails and says WANT
refused_as() {
	local u=$1 want=$2 out
	shift 2
	out=$(uctl "$u" "$@" 2>&1 </dev/null) && fail "$u was allowed: ckptctl $*: $out"
	echo "$out" | grep -qi -- "$want" || fail "ckptctl $* as $u: want '$want', got: $out"
}

printf '# e2e 48\ngroup = %s\n\nidle_timeout = 30\n' "$G" > "$TMP/ckptd.conf"
chmod 644 "$TMP/ckptd.conf"
start_ckptd --config "$TMP/ckptd.conf"
[ "$(stat -c '%a %G' "$SOCK")" = "660 $G" ] || fail "socket is $(stat -c '%a %U:%G' "$SOCK"), want 660 root:$G"
grep -q "for root and group $G" "$TMP/ckptd.log" || fail "ckptd does not say it serves group $G"

# runs_as_member NAME WHEN: its workload has member A's uid and gid and no
# capability at all, as the kernel sees it
runs_as_member() {
	local pid st
	pid=$(host_pid_of "$1")
	[ -n "$pid" ] || fail "$1 ($2): no host pid"
	st=$(cat "/proc/$pid/status") || fail "$1 ($2): no /proc/$pid/status"
	grep -Eq "^Uid:[[:space:]]+${uid_a}[[:space:]]+${uid_a}[[:space:]]+${uid_a}[[:space:]]+${uid_a}\$" <<<"$st" ||
		fail "$1 ($2): $(grep ^Uid: <<<"$st"), want $uid_a everywhere"
	grep -Eq '^CapEff:[[:space:]]+0+$' <<<"$st" || fail "$1 ($2): $(grep ^CapEff: <<<"$st"), want none"
	grep -Eq '^CapBnd:[[:space:]]+0+$' <<<"$st" || fail "$1 ($2): $(grep ^CapBnd: <<<"$st"), want none"
}

# --- member A: its own container, checkpointed and restarted by itself ---
port=$((20000 + $$ % 20000))
uctl "$UA" run "$P-a" --cwd "$WORK" --publish "$port:8080" -- "$WL/counter" >/dev/null || fail "$UA: run"
wait_log "$P-a" '^READY'
runs_as_member "$P-a" "ran"
[ "$(ct_field "$P-a" owner_uid)" = "$uid_a" ] || fail "$P-a: owner_uid '$(ct_field "$P-a" owner_uid)', want $uid_a"
[ "$(ct_field "$P-a" owner)" = "$UA" ] || fail "$P-a: owner '$(ct_field "$P-a" owner)', want $UA"
[ "$(names_of "$UA")" = "$P-a" ] || fail "$UA lists '$(names_of "$UA")', want only $P-a"
uctl "$UA" logs "$P-a" | grep '^READY' >/dev/null || fail "$UA can't read its own container's log"
uctl "$UA" ps "$P-a" >/dev/null || fail "$UA: ps of its own container"
uctl "$UA" stats "$P-a" >/dev/null || fail "$UA: stats of its own container"
uctl "$UA" checkpoint "$P-a" >/dev/null || fail "$UA: checkpoint of its own container"
expect_state "$P-a" checkpointed
img_owner=$(uctl "$UA" --json images "$P-a" | "$PYTHON" -c 'import json,sys; print(" ".join(str(i.get("owner_uid")) for i in json.load(sys.stdin)["images"]))')
[ "$img_owner" = "$uid_a" ] || fail "$UA's image owners: '$img_owner', want $uid_a"
uctl "$UA" restart "$P-a" >/dev/null || fail "$UA: restart of its own container"
expect_state "$P-a" running
n=$(count_log "$P-a" '^PASS counter')
uctl "$UA" kill "$P-a" --signal USR2 >/dev/null || fail "$UA: kill -USR2 its own container"
wait_log_count "$P-a" '^PASS counter' $((n + 1)) 30
fail_if_failed "$P-a"
runs_as_member "$P-a" "restarted"
refused_as "$UA" "only root may" run "$P-p" --privileged --cwd "$WORK" -- /bin/true
refused_as "$UA" "runs as the member" run "$P-p" --user 0 --cwd "$WORK" -- /bin/true
refused_as "$UA" "only root may run a container in a user namespace" run "$P-p" --userns --cwd "$WORK" -- /bin/true
refused_as "$UA" "only root may restore a container in a user namespace" restart "$P-p" --userns=1879048192 -i /dev/null
log "$UA ran, checkpointed and restarted $P-a: $(last_log "$P-a" '^PASS counter')"

# --- the outsider: every verb refused before anything is decoded ---
for verb in version list check images "images $P-a" "images rm $P-a 1" "run $P-o -- /bin/true" \
	    "checkpoint $P-a" "restart $P-a" "logs $P-a" "attach $P-a" "ps $P-a" "wait $P-a" \
	    "stats $P-a" "kill $P-a" "rm $P-a"; do
	# shellcheck disable=SC2086
	refused_as "$UO" "permission denied" $verb
done
[ -z "$(ct_state "$P-o")" ] || fail "a container was created for the outsider"

# --- member B: A's container is not there for it ---
uctl "$UB" run "$P-b" --cwd "$WORK" -- "$WL/counter" >/dev/null || fail "$UB: run"
wait_log "$P-b" '^READY'
[ "$(names_of "$UB")" = "$P-b" ] || fail "$UB lists '$(names_of "$UB")', want only $P-b"
uctl "$UB" --json images | grep "$P-a" >/dev/null && fail "$UB sees $P-a's images"
for verb in "checkpoint $P-a" "restart $P-a" "logs $P-a" "attach $P-a" "ps $P-a" "wait $P-a" \
	    "stats $P-a" "kill $P-a" "kill $P-a --signal USR2" "rm $P-a" "images $P-a" "images rm $P-a 1"; do
	# shellcheck disable=SC2086
	refused_as "$UB" "no such container" $verb
done
refused_as "$UB" "name is taken" run "$P-a" --cwd "$WORK" -- /bin/true
refused_as "$UB" "name is taken" restart "$P-a" -i /dev/null
# a port A publishes is taken, but whose it is B is not told
out=$(uctl "$UB" run "$P-b2" --cwd "$WORK" --publish "$port:80" -- /bin/true 2>&1) &&
	fail "$UB could publish $UA's port $port"
echo "$out" | grep -q "published by container (another user's)" || fail "$UB: port $port refused unclearly: $out"
echo "$out" | grep -q -- "$P-a" && fail "$UB was told the name of $UA's container: $out"
expect_state "$P-a" running
[ "$(ct_field "$P-a" owner_uid)" = "$uid_a" ] || fail "$P-a changed owner"
n=$(count_log "$P-a" '^PASS counter')
ckctl kill "$P-a" --signal USR2 >/dev/null || fail "kill -USR2 $P-a"
wait_log_count "$P-a" '^PASS counter' $((n + 1)) 30
fail_if_failed "$P-a"

# --- root: sees both, acts on both; a restart by root keeps A the owner ---
all=$(ckctl --json list | "$PYTHON" -c 'import json,sys; print(" ".join(sorted("%s:%s" % (c["name"], c.get("owner_uid")) for c in json.load(sys.stdin)["containers"])))')
[ "$all" = "$P-a:$uid_a $P-b:$uid_b" ] || fail "root lists '$all', want $P-a:$uid_a $P-b:$uid_b"
checkpoint_ct "$P-a"
restart_ct "$P-a"
[ "$(ct_field "$P-a" owner_uid)" = "$uid_a" ] || fail "$P-a: owner after root's restart '$(ct_field "$P-a" owner_uid)'"
img_owner=$(ckctl --json images "$P-a" | "$PYTHON" -c 'import json,sys; print(" ".join(str(i.get("owner_uid")) for i in json.load(sys.stdin)["images"]))')
[ "$img_owner" = "$uid_a $uid_a" ] || fail "image owners after root's checkpoint: '$img_owner', want $uid_a twice"
verify_ct "$P-a" counter
[ "$(names_of "$UA")" = "$P-a" ] || fail "$UA lists '$(names_of "$UA")' after root's restart"
uctl "$UA" images rm "$P-a" 1 >/dev/null || fail "$UA: images rm of its own image"

# a stopped container run again belongs to whoever ran it: root takes B's
uctl "$UB" kill "$P-b" >/dev/null || fail "$UB: kill its own container"
wait_state "$P-b" stopped
ckctl run "$P-b" --cwd "$WORK" -- "$WL/counter" >/dev/null || fail "root: run over $UB's stopped $P-b"
[ "$(ct_field "$P-b" owner_uid)" = 0 ] || fail "$P-b run again by root: owner_uid '$(ct_field "$P-b" owner_uid)', want 0"
[ -z "$(names_of "$UB")" ] || fail "$UB still lists '$(names_of "$UB")' after root took $P-b"

# --- the command line wins over the file: a missing group leaves root alone ---
ckptd_stop
start_ckptd --config "$TMP/ckptd.conf" --group "nosuch$$"
grep -q "group nosuch$$ does not exist: only root may use ckptd" "$TMP/ckptd.log" ||
	fail "ckptd did not log that its group is missing"
[ "$(stat -c '%a' "$SOCK")" = 600 ] || fail "socket mode $(stat -c '%a' "$SOCK") without a group, want 600"
chmod 666 "$SOCK"      # so that the refusal is ckptd's, not the file system's
refused_as "$UA" "only root may" list
expect_state "$P-a" running
[ "$(ct_field "$P-a" owner_uid)" = "$uid_a" ] || fail "$P-a: owner after ckptd's restart '$(ct_field "$P-a" owner_uid)'"
verify_ct "$P-a" counter

# --- a config file with a mistake stops ckptd, naming the line ---
printf 'group = %s\ngrop = x\n' "$G" > "$TMP/bad.conf"
out=$(timeout 10 "$CKPTD" --config "$TMP/bad.conf" --state-dir "$TMP/state2" --socket "$TMP/sock2" 2>&1) &&
	fail "ckptd started with a bad config: $out"
echo "$out" | grep -q "bad.conf: line 2: unknown key 'grop'" || fail "bad config: unclear error: $out"
[ -e "$TMP/sock2" ] && fail "ckptd made its socket before reading its config"
echo "PASS: $TEST_NAME"
