#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# More of the accept queue (tests/workloads/tcppend.c, 69-tcp-pending).
# 1. A connection that waits in the queue with its client's FIN (the
#    client shut its writing side: CLOSE_WAIT, the client in FIN_WAIT2),
#    among four open ones: checkpoint and restart; the server accepts the
#    five in order, the half-closed one reads EOF at once, then rounds of
#    bytes go through each (the half-closed one's one way). A second cycle
#    with them accepted.
# 2. --tcp-pending: a server behind --publish that does not accept (it
#    waits for SIGUSR2) holds two connections in its queue: its own, from
#    a socket of its own that shut its writing side, and one from a
#    client on the host that sent a line. A checkpoint is refused, naming
#    the outside client and --tcp-pending=reset, and so is one with
#    --tcp-pending=reset --leave-running; the server runs on. With
#    --tcp-pending=reset the checkpoint succeeds and the host client's
#    read fails with ECONNRESET. After the restart the server accepts its
#    own connection (EOF at once) and finds nothing else queued.
. "$(dirname "$0")/lib.sh"

start_ckptd

name=$P-fin
run_wl "$name" "$WL/tcppend" fin
checkpoint_ct "$name"
restart_ct "$name"
verify_ct "$name" tcppend
log "queued again with its FIN, accepted in order: $(last_log "$name" '^PASS')"
checkpoint_ct "$name"
restart_ct "$name"
verify_ct "$name" tcppend
log "accepted, half-closed afterwards: $(last_log "$name" '^PASS')"
ckctl rm "$name" >/dev/null || fail "rm $name"

[ -n "$PYTHON" ] || skip "no python3"
command -v nft >/dev/null || skip "no nft (nftables) for --publish"
NET_TABLES=()
trap 'rc=$?; kill "${client:-}" 2>/dev/null; for t in "${NET_TABLES[@]}"; do nft delete table ip "$t" 2>/dev/null; done; (exit $rc); e2e_cleanup' EXIT
HP=$(( 20000 + ($$ % 20000) ))
# the host's own address: a loopback client would be masqueraded, which
# the kernel forgets when the veth goes at the checkpoint
HOST_IP=$(ip -4 -o addr show scope global | awk '{ split($4, a, "/"); print a[1]; exit }')
[ -n "$HOST_IP" ] || skip "no global IPv4 address on the host for a client through --publish"
SERVER='
import signal, socket
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 80))
l.listen(8)
own = socket.create_connection(("127.0.0.1", 80))
own.shutdown(socket.SHUT_WR)
print("READY own port %d" % own.getsockname()[1], flush=True)
signal.sigwait({signal.SIGUSR2})
l.settimeout(5)
c, a = l.accept()
if a != own.getsockname():
    print("FAIL accepted %r first, not its own %r" % (a, own.getsockname()), flush=True)
c.settimeout(5)
b = c.recv(100)
if b:
    print("FAIL its own connection read %r, not EOF" % b, flush=True)
l.setblocking(False)
try:
    x, a = l.accept()
    print("FAIL another connection was queued, from %r: %r" % (a, x.recv(100)), flush=True)
except BlockingIOError:
    pass
print("PASS reset own=%d" % a[1], flush=True)
signal.sigwait({signal.SIGUSR2})
'
# the client on the host: HOST PORT OUT
CLIENT='
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(b"hello\n")
open(sys.argv[3] + ".up", "w").write("%d\n" % s.getsockname()[1])
s.settimeout(60)
try:
    b = s.recv(100)
    r = "read %r" % b
except ConnectionResetError:
    r = "reset"
except socket.timeout:
    r = "timeout"
open(sys.argv[3], "w").write(r + "\n")
'
name=$P-reset
ckctl run "$name" --publish "$HP:80" --cwd "$WORK" -- "$PYTHON" -c "$SERVER" >/dev/null || fail "run $name --publish $HP:80"
NET_TABLES+=("ckptd_$(ct_field "$name" net_veth | sed 's/^ck-//')")
wait_log "$name" '^READY' 30
"$PYTHON" -c "$CLIENT" "$HOST_IP" "$HP" "$WORK/reset.out" &
client=$!
for _ in $(seq 100); do [ -s "$WORK/reset.out.up" ] && break; sleep 0.1; done
cport=$(cat "$WORK/reset.out.up" 2>/dev/null) || fail "the host client did not connect"
out=$(ckctl checkpoint "$name" 2>&1) && fail "checkpoint of a queued connection from the host succeeded"
log "refused: $out"
echo "$out" | grep -q "not accepted yet" || fail "the error does not name the accept queue: $out"
echo "$out" | grep -q "outside the container" || fail "the error does not say the peer is outside: $out"
echo "$out" | grep -q -- "--tcp-pending=reset" || fail "the error does not name --tcp-pending=reset: $out"
expect_state "$name" running
out=$(ckctl checkpoint "$name" --tcp-pending=reset --leave-running 2>&1) &&
	fail "checkpoint --tcp-pending=reset --leave-running succeeded"
log "refused: $out"
echo "$out" | grep -q -- "--leave-running" || fail "the error does not name --leave-running: $out"
expect_state "$name" running
# --check says yes to what the checkpoint will do
out=$(ckctl checkpoint "$name" --check --tcp-pending=reset 2>&1) ||
	fail "checkpoint --check --tcp-pending=reset said no: $out"
expect_state "$name" running
[ ! -e "$WORK/reset.out" ] || fail "the host client's connection ended before the checkpoint: $(cat "$WORK/reset.out")"
checkpoint_ct "$name" --tcp-pending reset
wait "$client" || fail "the host client failed"
client=
got=$(cat "$WORK/reset.out")
[ "$got" = reset ] || fail "the host client (port $cport) read '$got', not a reset"
log "the host client (port $cport) was reset"
restart_ct "$name"
verify_ct "$name" reset
log "after the restart: $(last_log "$name" '^PASS')"
ckctl rm "$name" >/dev/null || fail "rm $name"

echo "PASS: $TEST_NAME"
