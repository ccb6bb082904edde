#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Unix sockets (tests/workloads/unixsk.c): stream, datagram and seqpacket
# pairs split between two processes with messages waiting both ways
# (boundaries, credentials, SO_PEEK_OFF), listeners bound to a path and to
# an abstract name with a connection waiting in their backlog, an accepted
# connection, shut down halves, a pair whose other end was closed, named
# datagram sockets: 3 cycles through the store, a --leave-running
# checkpoint (the container goes on; then the image restarts), and
# `checkpoint -o - | restart -i -`; the workload checks every socket after
# each; a pipe travels in flight (SCM_RIGHTS) in every round. A socket in
# flight and a peer outside the container are refused by name, and the
# container goes on.
. "$(dirname "$0")/lib.sh"

start_ckptd
name=$P-unix
run_ct "$name" "$WL/unixsk"
verify_ct "$name" unixsk
for c in 1 2 3; do
	cr_tree_cycle "$name" unixsk
	log "cycle $c ok: $(last_log "$name" '^PASS')"
done

# --leave-running: it goes on, and the image restarts
checkpoint_ct "$name" --leave-running
verify_ct "$name" unixsk
pass_grew "$name" unixsk
pid=$(host_pid "$name")
ckctl kill "$name" >/dev/null || fail "kill $name"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait_state "$name" stopped 10
restart_ct "$name"
verify_ct "$name" unixsk
log "leave-running ok: $(last_log "$name" '^PASS')"

# a stream, into a container of another name
ckctl checkpoint "$name" -o - 2>"$TMP/ck.err" | ckctl restart "$name-2" -i - >"$TMP/rs.out" 2>"$TMP/rs.err"
st=("${PIPESTATUS[@]}")
[ "${st[0]}" = 0 ] || fail "checkpoint -o - exited ${st[0]}: $(cat "$TMP/ck.err")"
[ "${st[1]}" = 0 ] || fail "restart -i - exited ${st[1]}: $(cat "$TMP/rs.err")"
expect_state "$name-2" running
verify_ct "$name-2" unixsk
log "stream ok: $(last_log "$name-2" '^PASS')"
ckctl rm "$name" >/dev/null 2>&1
ckctl rm "$name-2" >/dev/null || fail "rm $name-2"

# refusals: named, and the container goes on
refused() {
	local name=$1 re=$2 out
	shift 2
	run_ct "$name" "$WL/unixsk" "$@"
	out=$(ckctl checkpoint "$name" 2>&1) && fail "checkpoint of unixsk $* succeeded"
	echo "$out" | grep -Eq "$re" || fail "unixsk $*: unexpected refusal: $out"
	expect_state "$name" running
	verify_ct "$name" unixsk
	log "unixsk $* refused: $out"
	ckctl rm "$name" >/dev/null || fail "rm $name"
}
refused "$P-rights" 'socket:\[[0-9]+\].*a socket in flight \(SCM_RIGHTS\)' rights

"$PYTHON" -c '
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(4)
os.close(1)
c, _ = s.accept()
time.sleep(120)
' "$WORK/outside.sock" >/dev/null &
outside=$!
trap 'rc=$?; kill $outside 2>/dev/null; (exit $rc); e2e_cleanup' EXIT
for _ in $(seq 50); do [ -S "$WORK/outside.sock" ] && break; sleep 0.1; done
refused "$P-outside" "its peer socket:\[[0-9]+\].* is outside the container" outside "$WORK/outside.sock"
kill "$outside" 2>/dev/null
echo "PASS: $TEST_NAME"
