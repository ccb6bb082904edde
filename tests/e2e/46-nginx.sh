#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# nginx (Debian's nginx), a master and two workers sharing a listening
# socket, serves a file through a published port before and after a
# checkpoint and restart, a --leave-running checkpoint and a pipe into the
# same container; a keep-alive connection made before each stays open and
# is served on after it.
. "$(dirname "$0")/lib.sh"

NGINX=$(command -v nginx || true)
[ -n "$NGINX" ] || skip "nginx is not installed (tests/run.sh installs nginx-light)"
py=$(python_bin)
start_ckptd

port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK/www" "$WORK/tmp"
head -c 200000 /dev/urandom > "$WORK/www/blob"
cat > "$WORK/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 2;
pid $WORK/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $WORK/tmp/body;
    proxy_temp_path $WORK/tmp/proxy;
    fastcgi_temp_path $WORK/tmp/fastcgi;
    uwsgi_temp_path $WORK/tmp/uwsgi;
    scgi_temp_path $WORK/tmp/scgi;
    keepalive_timeout 600s;
    server {
        listen $port;
        root $WORK/www;
    }
}
CONF
name=$P-nginx
ckctl run "$name" --publish "$port:$port" --cwd "$WORK" -- "$NGINX" -c "$WORK/nginx.conf" >/dev/null ||
	fail "run nginx"

# The client: one keep-alive connection; each line on stdin asks for the
# file again on it and on a new connection, and answers "ok STEP".
cat > "$TMP/client.py" <<'PY'
import http.client, sys
port, blob = int(sys.argv[1]), open(sys.argv[2], "rb").read()
def get(c):
    c.request("GET", "/blob")
    r = c.getresponse()
    return r.status, r.read()
keep = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
for step in sys.stdin:
    step = step.strip()
    st, body = get(keep)
    if st != 200 or body != blob:
        raise SystemExit("FAIL %s: the kept connection got %d, %d bytes" % (step, st, len(body)))
    fresh = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    st, body = get(fresh)
    fresh.close()
    if st != 200 or body != blob:
        raise SystemExit("FAIL %s: a new connection got %d, %d bytes" % (step, st, len(body)))
    print("ok", step, flush=True)
PY
for _ in $(seq 100); do
	"$py" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)' "$port" 2>/dev/null && break
	sleep 0.1
done
mkfifo "$TMP/cin" "$TMP/cout"
"$py" -u "$TMP/client.py" "$port" "$WORK/www/blob" <"$TMP/cin" >"$TMP/cout" 2>"$TMP/client.err" &
client=$!
exec 7>"$TMP/cin" 8<"$TMP/cout"
trap 'rc=$?; exec 7>&- 8<&-; kill $client 2>/dev/null; (exit $rc); e2e_cleanup' EXIT
step() {
	local line
	echo "$1" >&7
	IFS= read -r -t 60 line <&8 || fail "client: no answer to step $1: $(cat "$TMP/client.err")"
	[ "$line" = "ok $1" ] || fail "client, step $1: $line $(cat "$TMP/client.err")"
	log "client: $line"
}
procs() { ckctl ps "$name" | grep -c 'nginx'; }
step before
n=$(procs)
[ "$n" -ge 3 ] || fail "nginx: $n processes, want a master and 2 workers"
checkpoint_ct "$name"
restart_ct "$name"
step after-restart
[ "$(procs)" = "$n" ] || fail "nginx: $(procs) processes after the restart, want $n"
checkpoint_ct "$name" --leave-running
step after-leave-running
ckctl checkpoint "$name" -o - 2>"$TMP/ck.err" | ckctl restart "$name" -i - >/dev/null 2>"$TMP/rs.err"
st=("${PIPESTATUS[@]}")
[ "${st[0]}" = 0 ] || fail "checkpoint -o - exited ${st[0]}: $(cat "$TMP/ck.err")"
[ "${st[1]}" = 0 ] || fail "restart -i - exited ${st[1]}: $(cat "$TMP/rs.err")"
step after-pipe
exec 7>&-
wait "$client" || fail "client: $(cat "$TMP/client.err")"
ckctl rm "$name" >/dev/null || fail "rm $name"
echo "PASS: $TEST_NAME"
