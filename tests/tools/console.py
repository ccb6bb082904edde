#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# console.py CKPTCTL SOCKET NAME [SEND EXPECT]...: attach to NAME's console in
# a pty of our own, send each SEND (\r ends a line) and wait until
# the output since then matches the regex EXPECT (30 s); then Ctrl-] to detach
# and check attach ends. Exit 0 or 1 with what was seen.
import os, pty, re, select, sys, time

ctl, sock, name, steps = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(ctl, [ctl, "--socket", sock, "attach", name])

def read_until(pat, timeout=30):
    buf = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                break
            if not d:
                break
            buf += d
            if pat and re.search(pat.encode(), buf):
                return buf
    sys.exit("did not see %r in %r" % (pat, buf[-400:]))

read_until(r"attached to")
for send, expect in zip(steps[0::2], steps[1::2]):
    os.write(fd, send.encode().decode("unicode_escape").encode("latin-1"))
    read_until(expect)
os.write(fd, b"\x1d")
end = time.monotonic() + 10
while time.monotonic() < end:
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        sys.exit(0 if os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0 else "attach ended with status %d" % st)
    try:
        select.select([fd], [], [], 0.1) and os.read(fd, 4096)
    except OSError:
        pass
sys.exit("attach did not end after Ctrl-]")
