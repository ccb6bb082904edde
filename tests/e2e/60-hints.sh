#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Errors that suggest their fix: a real ckptd is driven into the errors a
# user meets (no such container or image, a name taken, a restart of a
# running container, a busy container, a checkpoint refusal, an untrusted
# image, a file changed since the checkpoint, a user outside the group, no
# ckptd at all), and each must say what to do: a "hint:" line after the
# one-line error, and the same text as the "hint" key of the --json error
# object, whose other fields are those of the error.
. "$(dirname "$0")/lib.sh"

[ -n "$PYTHON" ] || skip "no python3"
MUT=$BUILD/tests/tools/imgmutate
[ -x "$MUT" ] || skip "tests/tools/imgmutate not built"

# hinted WANT_CODE WANT_HINT ARGS...: ckptctl ARGS fails with a hint that
# holds WANT_HINT, on its own line after the error, and --json prints the
# error object with code WANT_CODE and that same hint.
hinted() {
	local code=$1 want=$2 out hint
	shift 2
	out=$(ckctl "$@" 2>&1 </dev/null) && fail "ckptctl $* succeeded: $out"
	[ "$(echo "$out" | grep -c '^ckptctl: ')" = 1 ] || fail "ckptctl $*: not one error line: $out"
	hint=$(echo "$out" | sed -n '/^ckptctl: /{n;p;}')
	case $hint in "hint: "*"$want"*) ;; *) fail "ckptctl $*: no hint with \"$want\" after the error: $out" ;; esac
	ckctl --json "$@" >"$TMP/err.json" 2>/dev/null </dev/null && fail "ckptctl --json $* succeeded"
	"$PYTHON" - "$TMP/err.json" "$code" "${hint#hint: }" <<'EOF' || fail "ckptctl --json $*: $(cat "$TMP/err.json")"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, "not one object: %r" % lines
e = json.loads(lines[0])["error"]
assert e["code"] == sys.argv[2], "code %s, want %s" % (e["code"], sys.argv[2])
assert e.get("hint") == sys.argv[3], "hint %r, want %r" % (e.get("hint"), sys.argv[3])
assert isinstance(e["errno"], int) and e["message"], e
EOF
	info "$code: $(echo "$out" | tr "\n" " ")"
}

start_ckptd

# no ckptd where the socket should be: start it
hinted CLIENT "systemctl start ckptd" --socket "$TMP/no-such.sock" list

# no such container: list them; no such image: list its images
hinted ERR_NOT_FOUND "'ckptctl list'" ps "$P-none"
name=$P-w
echo hello >"$WORK/data"
ckctl run "$name" --cwd "$WORK" --env HINTMARK=one -- sh -c 'exec 3<"$0"; echo READY; exec sleep 1000' "$WORK/data" >/dev/null ||
	fail "run $name"
wait_log "$name" '^READY' 30
hinted ERR_NOT_FOUND "'ckptctl images $name'" images rm "$name" 99

# a name taken: remove it or choose another; a running container: checkpoint first
hinted ERR_EXISTS "'ckptctl rm $name'" run "$name" -- /bin/true
hinted ERR_BAD_STATE "'ckptctl checkpoint $name'" restart "$name"

# busy: a checkpoint held at its frozen phase by a hook can be canceled
ckctl checkpoint "$name" --leave-running --hook "frozen=touch $TMP/frozen; sleep 4" >/dev/null 2>&1 &
bg=$!
for _ in $(seq 100); do [ -e "$TMP/frozen" ] && break; sleep 0.1; done
[ -e "$TMP/frozen" ] || fail "the checkpoint's frozen hook never ran"
hinted ERR_BUSY "'ckptctl cancel $name'" kill "$name" --signal USR1
wait "$bg" || fail "checkpoint --leave-running with a hook"

# a file changed since the checkpoint: --allow-changed-files
checkpoint_ct "$name" -o "$TMP/w.img"
echo changed >>"$WORK/data"
hinted ERR_BAD_STATE "'ckptctl restart $P-w2 -i FILE --allow-changed-files'" restart "$P-w2" -i "$TMP/w.img"
ckctl restart "$P-w2" -i "$TMP/w.img" --allow-changed-files >/dev/null || fail "restart --allow-changed-files"

# an image changed after it was written: --trust-image, or the trusted keys
n=$("$MUT" --replace HINTMARK=one HINTMARK=two "$TMP/w.img" "$TMP/tampered.img") || fail "imgmutate: $n"
hinted ERR_BAD_IMAGE "'ckptctl restart $P-w3 -i FILE --trust-image'" restart "$P-w3" -i "$TMP/tampered.img" \
	--allow-changed-files
# ... naming the directory of trusted keys ckptd was started with
"$PYTHON" -c 'import json, sys; assert " into /" in json.load(open(sys.argv[1]))["error"]["hint"]' "$TMP/err.json" ||
	fail "untrusted image: the hint names no trusted-keys directory: $(cat "$TMP/err.json")"

# a checkpoint refusal: --check lists every one; the check's refusals are JSON too
ref=$P-ref
run_ct "$ref" "$WL/refuse" socket
hinted ERR_UNSUPPORTED "'ckptctl checkpoint $ref --check'" checkpoint "$ref"
ckctl --json checkpoint "$ref" --check >"$TMP/check.json" 2>/dev/null && fail "checkpoint --check of a vsock holder passed"
"$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert not d["ok"] and d["errors"], d
assert all(e["code"] == "ERR_UNSUPPORTED" and e["object"] for e in d["errors"]), d
' "$TMP/check.json" || fail "checkpoint --check --json: $(cat "$TMP/check.json")"

# a user who may not use ckptd: join the group
command -v setpriv >/dev/null || skip "no setpriv (the rest passed)"
cp "$CKPTCTL" "$TMP/ckptctl-user" && chmod 755 "$TMP/ckptctl-user"
out=$(timeout -k 5 60 setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$TMP/ckptctl-user" --socket "$SOCK" list 2>&1) && fail "uid 65534 may use ckptd: $out"
case $out in *"hint: "*"usermod -aG "*|*"hint: "*"groupadd "*) ;; *) fail "uid 65534: no hint to join the group: $out" ;; esac
info "uid 65534: $(echo "$out" | tr '\n' ' ')"
pass
