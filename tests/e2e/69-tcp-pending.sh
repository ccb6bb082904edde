#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Connections waiting in a listener's accept queue (tests/workloads/tcppend.c):
# five connections from a client process of the container to two
# listeners (IPv4 and IPv6), none accepted.
# 1. Checkpoint and restart: the restart connects each client end again,
#    in the order they were queued; the server then finds its queues as
#    they were, accepts each connection from the port it expects, in
#    order, and both ends check the bytes of an echo round over each.
#    A second cycle with the connections established.
# 2. --leave-running: the workload accepts and talks on its own
#    connections; the image then restarts (after a kill) with them queued.
# 3. A connection that sent bytes while it waited is refused by name (the
#    listener, the peer's address and port, the bytes) and the workload
#    goes on: it accepts every connection, bytes included, and talks.
# 4. LAST_ACK with a client on the host, through --publish: the client
#    sends a line and closes its side, and reads nothing; the server reads
#    the line and EOF (CLOSE_WAIT), writes until its send buffer is full
#    and shuts its side (LAST_ACK, its FIN behind bytes the client's closed
#    window holds). After a restart the server is in LAST_ACK again (the
#    restart forged the client's FIN, then sent its own); the client then
#    reads every byte in order, then EOF, and the server's FIN is
#    acknowledged (CLOSE).
# 5. CLOSING the same way: the server shuts its side first (FIN_WAIT1, its
#    FIN behind the bytes), then the client's FIN crosses it. After the
#    restart (its own FIN again, then the client's forged) it is in
#    CLOSING; the client reads everything, then EOF.
. "$(dirname "$0")/lib.sh"

start_ckptd

name=$P-pend
run_wl "$name" "$WL/tcppend"
checkpoint_ct "$name"
restart_ct "$name"
verify_ct "$name" tcppend
log "queued again, accepted in order: $(last_log "$name" '^PASS')"
verify_ct "$name" tcppend
checkpoint_ct "$name"
restart_ct "$name"
verify_ct "$name" tcppend
log "established afterwards: $(last_log "$name" '^PASS')"
ckctl rm "$name" >/dev/null || fail "rm $name"

name=$P-pend-lr
run_wl "$name" "$WL/tcppend"
checkpoint_ct "$name" --leave-running
verify_ct "$name" tcppend
log "leave-running, its own queue: $(last_log "$name" '^PASS')"
pid=$(host_pid "$name")
ckctl kill "$name" >/dev/null || fail "kill $name"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait_state "$name" stopped 10
restart_ct "$name"
verify_ct "$name" tcppend
log "its image, restarted: $(last_log "$name" '^PASS')"
ckctl rm "$name" >/dev/null || fail "rm $name"

name=$P-pend-data
run_wl "$name" "$WL/tcppend" data
port=$(last_log "$name" '^READY' | awk '{ print $6 }')
out=$(ckctl checkpoint "$name" 2>&1) && fail "checkpoint of a queued connection holding bytes succeeded"
log "refused: $out"
echo "$out" | grep -q "socket:\[" || fail "the error does not name the socket: $out"
echo "$out" | grep -q "not accepted yet" || fail "the error does not name the accept queue: $out"
echo "$out" | grep -q "127.0.0.1 port $port holds 6 bytes" || fail "the error does not name the peer $port and its bytes: $out"
expect_state "$name" running
verify_ct "$name" tcppend
log "the workload goes on: $(last_log "$name" '^PASS')"
ckctl rm "$name" >/dev/null || fail "rm $name"

# The same queue, but the server accepts it while the checkpoint runs: the
# checkpoint finds the queue unsettled, lets the container run a moment and
# freezes again, and succeeds once the server has accepted.
name=$P-pend-retry
run_wl "$name" "$WL/tcppend" data
n=$(count_log "$name" '^PASS tcppend')
pid=$(host_pid "$name")
ckctl checkpoint "$name" --leave-running >"$TMP/retry.out" 2>&1 &
ck=$!
sleep 0.05
# from the host: ckptd answers "busy" to a kill while it checkpoints
kill -USR2 "$pid" || fail "kill -USR2 $pid"
wait "$ck" || fail "checkpoint while the server accepts its queue: $(cat "$TMP/retry.out")"
wait_log_count "$name" '^PASS tcppend' $(( n + 1 )) 60
fail_if_failed "$name"
verify_ct "$name" tcppend
log "accepted while the checkpoint waited: $(last_log "$name" '^PASS')"
ckctl rm "$name" >/dev/null || fail "rm $name"

[ -n "$PYTHON" ] || skip "no python3"
command -v nft >/dev/null || skip "no nft (nftables) for --publish"
# ckptd removes a container's nft table when it ends; a test that fails
# before its rm leaves that to lib.sh's cgroup kill, after ckptd is gone
NET_TABLES=()
trap 'rc=$?; kill "${client:-}" 2>/dev/null; for t in "${NET_TABLES[@]}"; do nft delete table ip "$t" 2>/dev/null; done; (exit $rc); e2e_cleanup' EXIT
HP=$(( 20000 + ($$ % 20000) ))
# the host's own address: DNAT only (74-publish-loop has a loopback client)
HOST_IP=$(ip -4 -o addr show scope global | awk '{ split($4, a, "/"); print a[1]; exit }')
[ -n "$HOST_IP" ] || skip "no global IPv4 address on the host for a client through --publish"
# the server: MODE lastack or closing
SERVER='
import signal, socket, sys, time
mode = sys.argv[1]
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
def state(c):
    return c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)[0]
def wait_state(c, want):
    for _ in range(100):
        if state(c) == want:
            break
        time.sleep(0.05)
    return state(c)
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 80))
l.listen(4)
print("READY " + mode, flush=True)
c, _ = l.accept()
got = b""
while len(got) < 8 or mode == "lastack":
    b = c.recv(4096)
    if not b:
        break
    got += b
if got != b"request\n":
    print("FAIL %s: read %r" % (mode, got), flush=True)
data = memoryview(bytes((k * 7) % 251 for k in range(251)) * 256)
c.setblocking(False)
n = 0
while True:
    try:
        n += c.send(data[n % 251:])
    except BlockingIOError:
        break
c.shutdown(socket.SHUT_WR)
print("SENT %d state %d" % (n, state(c)), flush=True)
want = 9 if mode == "lastack" else 11
if mode == "closing":
    signal.sigwait({signal.SIGUSR2})
    print("FIN state %d" % wait_state(c, want), flush=True)
signal.sigwait({signal.SIGUSR2})
st = state(c)
print(("PASS %s state=%d" if st == want else "FAIL %s: state %d") % (mode, st), flush=True)
signal.sigwait({signal.SIGUSR2})
st = wait_state(c, 7)
print(("PASS %s acked state=%d" if st == 7 else "FAIL %s: state %d, not CLOSE") % (mode, st), flush=True)
signal.sigwait({signal.SIGUSR2})
'
# the client on the host: HOST PORT PREFIX MODE
CLIENT='
import os, socket, sys, time
def wait_file(f):
    while not os.path.exists(f):
        time.sleep(0.1)
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(b"request\n")
if sys.argv[4] == "closing":
    wait_file(sys.argv[3] + ".fin")
s.shutdown(socket.SHUT_WR)
wait_file(sys.argv[3] + ".go")
s.settimeout(60)
p = bytes((k * 7) % 251 for k in range(251))
got, bad = 0, -1
while True:
    b = s.recv(1 << 20)
    if not b:
        break
    want = (p * (len(b) // 251 + 2))[got % 251:got % 251 + len(b)]
    if bad < 0 and b != want:
        bad = got + next(i for i in range(len(b)) if b[i] != want[i])
    got += len(b)
open(sys.argv[3] + ".out", "w").write("%d %d\n" % (got, bad))
'
# closing_outside MODE STATE: a server in MODE (TCP state STATE) with its
# client outside, through a checkpoint and restart
closing_outside() {
	local mode=$1 want=$2 sent st got bad
	name=$P-$mode
	ckctl run "$name" --publish "$HP:80" --cwd "$WORK" -- "$PYTHON" -c "$SERVER" "$mode" >/dev/null ||
		fail "run $name --publish $HP:80"
	NET_TABLES+=("ckptd_$(ct_field "$name" net_veth | sed 's/^ck-//')")
	wait_log "$name" '^READY' 30
	"$PYTHON" -c "$CLIENT" "$HOST_IP" "$HP" "$WORK/$mode" "$mode" &
	client=$!
	wait_log "$name" '^SENT' 30
	read -r _ sent _ st <<<"$(last_log "$name" '^SENT')"
	if [ "$mode" = closing ]; then
		# its FIN waits behind the bytes: the client's FIN crosses it
		[ "$st" = 4 ] || fail "$mode: the server is in TCP state $st, not FIN_WAIT1, before the client's FIN"
		touch "$WORK/$mode.fin"
		sleep 0.5
		ckctl kill "$name" --signal USR2 >/dev/null || fail "kill -USR2 $name"
		wait_log "$name" '^FIN' 30
		st=$(last_log "$name" '^FIN' | awk '{ print $3 }')
	fi
	[ "$st" = "$want" ] || fail "$mode: the server is in TCP state $st, not $want, before the checkpoint"
	checkpoint_ct "$name"
	restart_ct "$name"
	verify_ct "$name" "$mode state"
	touch "$WORK/$mode.go"
	wait "$client" || fail "$mode: the host client failed"
	read -r got bad <"$WORK/$mode.out"
	[ "$got" = "$sent" ] && [ "$bad" = -1 ] || fail "$mode: the host client read $got bytes of $sent (first wrong at $bad)"
	verify_ct "$name" "$mode acked"
	log "$mode with a client outside: $sent bytes, then EOF; $(last_log "$name" '^PASS')"
	ckctl rm "$name" >/dev/null || fail "rm $name"
}
closing_outside lastack 9
closing_outside closing 11
echo "PASS: $TEST_NAME"
