#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Real servers across checkpoint and restart, their clients on the host.
# redis-server: a client connected before the checkpoint writes keys (one
# value of 1 MiB), keeps its connection through a checkpoint and restart
# (store, then --leave-running, then a pipe), and on that same connection
# reads the keys back and writes more: no reconnection, nothing lost. A new
# client connects after each restart too. With the host's network, a
# client outside is refused by name. `python3 -m http.server`: a file
# served before and after a restart, byte for byte.
. "$(dirname "$0")/lib.sh"

py=$(python_bin)
[ -x "$py" ] || skip "no python3 interpreter"
REDIS=$(command -v redis-server || true)

# a TCP port free on 127.0.0.1 now
free_port() {
	"$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The clients are on the host and reach the servers through a published
# port: the container's traffic is held while it is checkpointed, so a
# client's segment in that time (a delayed ACK) is neither answered by a
# reset nor taken by a half-saved socket.

start_ckptd

# --- redis -------------------------------------------------------------------
# The client: one connection for its whole life. Each line on its stdin is
# a step; it answers "ok STEP" or "FAIL ..." on stdout.
cat > "$TMP/rclient.py" <<'EOF'
import socket, sys

def cmd(s, f, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    s.sendall(out)
    return reply(f)

def reply(f):
    line = f.readline()
    if not line:
        raise SystemExit("FAIL the connection ended")
    t, rest = line[:1], line[1:-2]
    if t in (b"+", b"-"):
        return rest.decode()
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    raise SystemExit("FAIL unexpected reply %r" % line)

big = bytes((i * 7 + 3) & 0xff for i in range(1 << 20))
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
f = s.makefile("rb")
local = s.getsockname()
n = 0
for step in sys.stdin:
    step = step.strip()
    n += 1
    if s.getsockname() != local:
        raise SystemExit("FAIL the connection changed")
    # what the steps before wrote is there
    for k in range(1, n):
        if cmd(s, f, "GET", "key%d" % k) != b"value%d" % k:
            raise SystemExit("FAIL key%d lost at step %s" % (k, step))
    if n > 1 and cmd(s, f, "GET", "big") != big:
        raise SystemExit("FAIL the big value changed at step %s" % step)
    if cmd(s, f, "SET", "key%d" % n, "value%d" % n) != "OK":
        raise SystemExit("FAIL SET at step %s" % step)
    if n == 1 and cmd(s, f, "SET", "big", big) != "OK":
        raise SystemExit("FAIL SET big")
    if cmd(s, f, "INCR", "counter") != n:
        raise SystemExit("FAIL the counter is not %d at step %s" % (n, step))
    print("ok", step, flush=True)
EOF

redis_step() {
	local step=$1 line
	echo "$step" >&7
	IFS= read -r -t 30 line <&8 || fail "redis client: no answer to step $step: $(cat "$TMP/rclient.err")"
	[ "$line" = "ok $step" ] || fail "redis client, step $step: $line $(cat "$TMP/rclient.err")"
	log "redis client: $line"
}

# a new connection sees what the first one wrote: the counter is at N
redis_fresh() {
	local port=$1 want=$2 got
	got=$("$py" - "$port" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
s.sendall(b"*2\r\n$3\r\nGET\r\n$7\r\ncounter\r\n")
f = s.makefile("rb")
f.readline()
print(f.readline().decode().strip())
EOF
	) || fail "redis: a new connection failed"
	[ "$got" = "$want" ] || fail "redis: a new connection reads the counter as '$got', want $want"
}

if [ -z "$REDIS" ]; then
	log "redis-server is not installed (tests/run.sh installs it): its part is skipped"
else
	port=$(free_port)
	name=$P-redis
	ckctl run "$name" --publish "$port:$port" --cwd "$WORK" -- "$REDIS" --port "$port" --bind 0.0.0.0 --save "" \
		--appendonly no --protected-mode no >/dev/null || fail "run redis-server"
	wait_log "$name" 'Ready to accept connections' 30
	mkfifo "$TMP/rin" "$TMP/rout"
	"$py" -u "$TMP/rclient.py" "$port" <"$TMP/rin" >"$TMP/rout" 2>"$TMP/rclient.err" &
	client=$!
	exec 7>"$TMP/rin" 8<"$TMP/rout"
	redis_step before
	checkpoint_ct "$name"
	restart_ct "$name"
	redis_step after-store
	redis_fresh "$port" 2
	checkpoint_ct "$name" --leave-running
	redis_step after-leave-running
	ckctl checkpoint "$name" -o - 2>"$TMP/ck.err" | ckctl restart "$name" -i - >"$TMP/rs.out" 2>"$TMP/rs.err"
	st=("${PIPESTATUS[@]}")
	[ "${st[0]}" = 0 ] || fail "redis: checkpoint -o - exited ${st[0]}: $(cat "$TMP/ck.err")"
	[ "${st[1]}" = 0 ] || fail "redis: restart -i - exited ${st[1]}: $(cat "$TMP/rs.err")"
	redis_step after-stream
	redis_fresh "$port" 4
	exec 7>&- 8<&-
	wait "$client" || fail "redis client: $(cat "$TMP/rclient.err")"
	ckctl rm "$name" >/dev/null || fail "rm $name"

	# In the host's network a client outside can't be held: refused by
	# name, and the connection goes on.
	port=$(free_port)
	name=$P-redis-host
	ckctl run "$name" --net host --cwd "$WORK" -- "$REDIS" --port "$port" --bind 127.0.0.1 --save "" \
		--appendonly no --protected-mode no >/dev/null || fail "run redis-server --net host"
	wait_log "$name" 'Ready to accept connections' 30
	rm -f "$TMP/rin" "$TMP/rout"
	mkfifo "$TMP/rin" "$TMP/rout"
	"$py" -u "$TMP/rclient.py" "$port" <"$TMP/rin" >"$TMP/rout" 2>"$TMP/rclient.err" &
	client=$!
	exec 7>"$TMP/rin" 8<"$TMP/rout"
	redis_step host-before
	out=$(ckctl checkpoint "$name" 2>&1) && fail "checkpoint of redis with a host client in the host's network succeeded"
	echo "$out" | grep -q 'a peer outside the container, in the host.s network' ||
		fail "the refusal does not name the outside peer: $out"
	log "redis --net host: $out"
	[ "$(ct_state "$name")" = running ] || fail "redis --net host: not running after the refusal"
	redis_step host-after
	exec 7>&- 8<&-
	wait "$client" || fail "redis client: $(cat "$TMP/rclient.err")"
	ckctl rm "$name" >/dev/null || fail "rm $name"
fi

# --- python3 -m http.server -----------------------------------------------------
port=$(free_port)
name=$P-http
mkdir -p "$WORK/www"
head -c 300000 /dev/urandom > "$WORK/www/blob"
ckctl run "$name" --publish "$port:$port" --cwd "$WORK/www" -- "$py" -u -m http.server "$port" --bind 0.0.0.0 >/dev/null ||
	fail "run http.server"
fetch() {
	local what=$1 i
	for i in $(seq 50); do
		"$py" -c 'import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1], timeout=10).read())' \
			"http://127.0.0.1:$port/blob" >"$TMP/got" 2>"$TMP/fetch.err" && break
		sleep 0.2
	done
	cmp -s "$TMP/got" "$WORK/www/blob" || fail "http.server, $what: the file differs: $(cat "$TMP/fetch.err")"
	log "http.server, $what: served"
}
fetch "before"
checkpoint_ct "$name"
restart_ct "$name"
fetch "after a restart"
checkpoint_ct "$name" --leave-running
fetch "after --leave-running"
ckctl rm "$name" >/dev/null || fail "rm $name"
echo "PASS: $TEST_NAME"
