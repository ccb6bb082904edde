#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Restart checks the whole image's metadata before it acts: an image whose
# last fd table names a file no record has (tests/tools/imglastfd, with
# the checksums and counts made right again) is refused, and nothing was
# done before the refusal. The image is fed through a FIFO that stops just
# before the bad record: by then no process of the image may have been
# forked into the container (only its init, pid 1 inside, is in its
# cgroup), and none of the workload's files may have been opened (inotify
# IN_OPEN on their directory, watched from before the restart); then the
# rest is fed, the restart fails naming the fd and the file id, and still
# nothing was opened and nothing is left in the container's cgroup. Two
# workloads: files (regular files in a scratch directory) and tree (seven
# processes, the last one's fd table the bad record).
. "$(dirname "$0")/lib.sh"

TOOL=$BUILD/tests/tools/imglastfd
[ -x "$TOOL" ] || fail "no $TOOL"
start_ckptd

SCR=$TMP/scratch
mkdir -p "$SCR"

# Every open of a file in $SCR from now on, one line each, until $TMP/stop.
watch_opens() {
	python3 - "$SCR" "$TMP/opens" "$TMP/stop" <<'EOF' &
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
IN_OPEN, IN_NONBLOCK = 0x20, 0o4000
fd = libc.inotify_init1(IN_NONBLOCK)
if fd < 0 or libc.inotify_add_watch(fd, sys.argv[1].encode(), IN_OPEN) < 0:
    sys.exit(1)
with open(sys.argv[2], "a") as out:
    out.write("watching\n")
    out.flush()
    while True:
        try:
            buf = os.read(fd, 65536)
        except BlockingIOError:
            buf = b""
        off = 0
        while off < len(buf):
            ln = int.from_bytes(buf[off + 12:off + 16], "little")
            name = buf[off + 16:off + 16 + ln].rstrip(b"\0").decode(errors="replace")
            out.write("open %s\n" % name)
            out.flush()
            off += 16 + ln
        if os.path.exists(sys.argv[3]) and not buf:
            break
        time.sleep(0.05)
EOF
	WATCHER=$!
	for _ in $(seq 100); do grep -q watching "$TMP/opens" 2>/dev/null && break; sleep 0.1; done
	grep -q watching "$TMP/opens" || fail "the inotify watcher did not start"
}

opens() { grep -c '^open ' "$TMP/opens"; }

# Processes in the container's cgroup other than its init (pid 1 inside).
forked() {
	local cg=$1 p n=0
	for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do
		[ "$(awk '/^NSpid:/ { print $NF }' "/proc/$p/status" 2>/dev/null)" = 1 ] || n=$((n + 1))
	done
	echo "$n"
}

# refused TAG WORKLOAD [ARGS...]: checkpoint it, make the bad image, and
# restart it as above.
refused() {
	local tag=$1 at size cg n o st out
	shift
	run_ct "src$tag" "$@"
	verify_pass "src$tag"
	ckctl checkpoint "src$tag" -o "$TMP/$tag.img" >/dev/null || fail "checkpoint $tag"
	ckctl rm "src$tag" >/dev/null || fail "rm src$tag"
	at=$("$TOOL" "$TMP/$tag.img" "$TMP/bad$tag.img") || fail "imglastfd $tag"
	size=$(stat -c %s "$TMP/bad$tag.img")
	info "$tag: bad fd table at offset $at of $size"
	rm -f "$TMP/opens" "$TMP/stop" "$TMP/feed"
	watch_opens
	mkfifo "$TMP/feed"
	ckctl restart "bad$tag" -i - --trust-image <"$TMP/feed" >"$TMP/rs.out" 2>&1 &
	RS=$!
	exec 7>"$TMP/feed"
	head -c "$at" "$TMP/bad$tag.img" >&7
	cg=$(cgroup_dir_of "$CKPTD_PID")/ckptd-bad$tag
	for _ in $(seq 100); do [ -n "$(cat "$cg/cgroup.procs" 2>/dev/null)" ] && break; sleep 0.1; done
	# the worker has read all it was given: give it time to act on it
	sleep 2
	n=$(forked "$cg")
	o=$(opens)
	info "$tag: before the bad record: $n process(es) forked, $o open(s) in $SCR"
	tail -c +"$((at + 1))" "$TMP/bad$tag.img" >&7
	exec 7>&-
	st=0
	wait "$RS" || st=$?
	out=$(cat "$TMP/rs.out")
	touch "$TMP/stop"
	wait "$WATCHER" 2>/dev/null
	[ "$st" != 0 ] || fail "$tag: the bad image was restored: $out"
	info "$tag: refused: $out"
	case $out in *"fd "*2147483632*) ;; *) fail "$tag: the refusal does not name the fd and the missing file id: $out" ;; esac
	[ "$n" = 0 ] || fail "$tag: $n process(es) were forked into the container before the bad record was read"
	[ "$o" = 0 ] || fail "$tag: $o file(s) were opened before the bad record was read: $(grep '^open ' "$TMP/opens" | sort -u | tr '\n' ' ')"
	[ "$(opens)" = 0 ] || fail "$tag: files were opened by a refused restart: $(grep '^open ' "$TMP/opens" | sort -u | tr '\n' ' ')"
	[ -z "$(cat "$cg/cgroup.procs" 2>/dev/null)" ] || fail "$tag: processes left in $cg"
	CKCTL_TIMEOUT=10 ckctl version >/dev/null || fail "ckptd stopped answering"
}

refused f "$WL/files" "$SCR"
refused t "$WL/tree"

# The same images unchanged restore, and the workloads verify themselves.
for tag in f t; do
	ckctl restart "good$tag" -i "$TMP/$tag.img" >/dev/null || fail "restart of the good image $tag"
	verify_pass "good$tag"
done
pass
