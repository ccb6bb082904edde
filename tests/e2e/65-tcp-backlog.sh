#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# TCP at scale and the accept queue.
# 1. ckptd with an fd limit of 2048 restarts a container holding 1,500
#    established loopback connections (3,000 sockets, in three processes
#    of 1,000: bench/tcpconns): the restart hands each task its own
#    connections a chunk at a time, so neither the worker nor init needs
#    more fds than one task has. Every connection delivers the bytes in
#    flight and answers after the restart, twice.
# 2. A listener with a connection not accepted yet that holds bytes it
#    received is refused by name and the container goes on running.
# 3. A client on the host, through --publish, sends a line and closes its
#    side (FIN); the server in the container has read nothing (CLOSE_WAIT)
#    when it is checkpointed. After the restart it reads the line, then
#    EOF (the restart forged the client's FIN again), and answers on the
#    same connection: the client, still waiting, gets the answer and EOF.
. "$(dirname "$0")/lib.sh"

[ -x "$BUILD/bench/tcpconns" ] || skip "no $BUILD/bench/tcpconns"
[ -n "$PYTHON" ] || skip "no python3"
# ckptd and everything it starts get 2048 fds at most (hard limit: root
# here can't raise it back)
ulimit -Sn 2048 && ulimit -Hn 2048 || fail "lowering the fd limit"
start_ckptd

name=$P-conns
run_wl "$name" "$BUILD/bench/tcpconns" 1500 500
checkpoint_ct "$name"
restart_ct "$name"
verify_ct "$name" tcpconns
log "1500 connections under a limit of 2048 fds: $(last_log "$name" '^PASS')"
checkpoint_ct "$name"
restart_ct "$name"
verify_ct "$name" tcpconns
log "second cycle: $(last_log "$name" '^PASS')"
ckctl rm "$name" >/dev/null || fail "rm $name"

name=$P-backlog
# shellcheck disable=SC2016
ckctl run "$name" --cwd "$WORK" -- "$PYTHON" -c '
import socket, time
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(4)
c = socket.create_connection(l.getsockname())
c.sendall(b"x")
print("READY backlog", flush=True)
while True:
    time.sleep(1)
' >/dev/null || fail "run $name"
wait_log "$name" '^READY' 30
out=$(ckctl checkpoint "$name" 2>&1) && fail "checkpoint of a listener with a connection not accepted succeeded"
echo "$out" | grep -q 'listening TCP socket with 1 connections not accepted yet' || fail "unexpected refusal: $out"
expect_state "$name" running
log "refused: $out"
ckctl rm "$name" >/dev/null || fail "rm $name"

command -v nft >/dev/null || skip "no nft (nftables) for --publish"
# ckptd removes a container's nft table when it ends; a test that fails
# before its rm leaves that to lib.sh's cgroup kill, after ckptd is gone
NET_TABLES=()
trap 'rc=$?; kill "${client:-}" 2>/dev/null; for t in "${NET_TABLES[@]}"; do nft delete table ip "$t" 2>/dev/null; done; (exit $rc); e2e_cleanup' EXIT
HP=$(( 20000 + ($$ % 20000) ))
# the host's own address: DNAT only (74-publish-loop has a loopback client)
HOST_IP=$(ip -4 -o addr show scope global | awk '{ split($4, a, "/"); print a[1]; exit }')
[ -n "$HOST_IP" ] || skip "no global IPv4 address on the host for a client through --publish"
name=$P-finout
# shellcheck disable=SC2016
ckctl run "$name" --publish "$HP:80" --cwd "$WORK" -- "$PYTHON" -c '
import signal, socket
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 80))
l.listen(4)
print("READY finout", flush=True)
c, _ = l.accept()
print("ACCEPTED", flush=True)
signal.sigwait({signal.SIGUSR2})
got = b""
while True:
    b = c.recv(4096)
    if not b:
        break
    got += b
if got != b"hello from the host\n":
    print("FAIL finout: read %r" % got, flush=True)
c.sendall(b"answer to " + got)
c.close()
print("PASS finout read=%d then EOF" % len(got), flush=True)
signal.sigwait({signal.SIGUSR2})
' >/dev/null || fail "run $name --publish $HP:80"
NET_TABLES+=("ckptd_$(ct_field "$name" net_veth | sed 's/^ck-//')")
wait_log "$name" '^READY' 30
"$PYTHON" - "$HP" "$WORK/client.out" "$HOST_IP" <<'PY' &
import socket, sys
s = socket.create_connection((sys.argv[3], int(sys.argv[1])), timeout=5)
s.sendall(b"hello from the host\n")
s.shutdown(socket.SHUT_WR)
open(sys.argv[2] + ".sent", "w").close()
s.settimeout(120)
got = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    got += b
open(sys.argv[2], "wb").write(got)
PY
client=$!
wait_log "$name" '^ACCEPTED' 30
for _ in $(seq 50); do [ -e "$WORK/client.out.sent" ] && break; sleep 0.1; done
[ -e "$WORK/client.out.sent" ] || fail "the host client did not connect and close its side"
sleep 0.5
checkpoint_ct "$name"
restart_ct "$name"
verify_ct "$name" finout
wait "$client" || fail "the host client failed"
got=$(cat "$WORK/client.out")
[ "$got" = "answer to hello from the host" ] || fail "the host client got '$got'"
log "CLOSE_WAIT from a peer outside: $(last_log "$name" '^PASS'); the client got '$got' and EOF"
ckctl rm "$name" >/dev/null || fail "rm $name"
echo "PASS: $TEST_NAME"
