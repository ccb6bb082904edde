#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Only root and the members of ckptd's group may talk to ckptd: a peer in
# neither (uid 65534, with ckptd's group set to root's) that can reach the
# socket gets a clear permission error from ckptd (SO_PEERCRED and
# SO_PEERGROUPS), and ckptd goes on serving root. Refused peers hold no
# slot (200 of them connected at once leave root served), and a client
# that sends nothing is closed after --idle-timeout. (48-access drives
# members and owners.)
. "$(dirname "$0")/lib.sh"

start_ckptd --idle-timeout 2 --group root
[ "$(stat -c '%a %G' "$SOCK")" = "660 root" ] || fail "socket is $(stat -c '%a %U:%G' "$SOCK"), want 660 root:root"
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
	echo "$out" | grep -qi 'permission denied.*neither root nor in group root' ||
		fail "ckptctl $verb as uid 65534: unclear refusal: $out"
	log "$verb: $out"
done
[ -z "$(ct_state "$P-x")" ] || fail "a container was created for uid 65534"

# 200 refused connections held open by uid 65534: root is still served
hold_py='
import socket, sys, time
socks = []
for i in range(200):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    socks.append(s)
print("held", flush=True)
time.sleep(30)
'
as_nobody "$PYTHON" -c "$hold_py" "$SOCK" > "$TMP/hold.out" 2>&1 &
holder=$!
for i in $(seq 100); do grep -q held "$TMP/hold.out" && break; sleep 0.1; done
grep -q held "$TMP/hold.out" || fail "the holder could not connect 200 times: $(cat "$TMP/hold.out")"
ckctl version >/dev/null || fail "root refused while 200 refused peers hold connections"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null

# a silent root client is closed after the idle timeout (2 s here)
"$PYTHON" - "$SOCK" <<'PY' || fail "an idle client was not closed"
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.settimeout(10)
t = time.monotonic()
data = s.recv(4096)
dt = time.monotonic() - t
sys.exit(0 if data == b"" and 1.5 < dt < 8 else 1)
PY
ckctl version >/dev/null || fail "ckptd stopped answering root"
echo "PASS: $TEST_NAME"
