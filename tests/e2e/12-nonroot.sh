#!/bin/bash
# Only root may talk to ckptd: a non-root peer (uid 65534) that can reach
# the socket gets a clear permission error from ckptd (SO_PEERCRED), and
# ckptd goes on serving root.
. "$(dirname "$0")/lib.sh"

start_ckptd
# let uid 65534 reach the socket, so the refusal is ckptd's, not the fs's
cp "$CKPTCTL" "$TMP/ckptctl" && chmod 755 "$TMP/ckptctl"
chmod 0777 "$SOCK"
if command -v setpriv >/dev/null; then
	as_nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups "$@"; }
elif command -v runuser >/dev/null; then
	as_nobody() { runuser -u nobody -- "$@"; }
else
	skip "neither setpriv nor runuser"
fi
for verb in version list "run $P-x -- /bin/true" "checkpoint $P-x"; do
	# shellcheck disable=SC2086
	out=$(as_nobody "$TMP/ckptctl" --socket "$SOCK" $verb 2>&1) && fail "uid 65534 was allowed: ckptctl $verb: $out"
	echo "$out" | grep -Eqi 'permission|denied|root' || fail "ckptctl $verb as uid 65534: unclear refusal: $out"
	log "$verb: $out"
done
[ -z "$(ct_state "$P-x")" ] || fail "a container was created for uid 65534"
ckctl version >/dev/null || fail "ckptd stopped answering root"
echo "PASS: $TEST_NAME"
