#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""publish-loop: TCP connections with bytes in flight both ways.

Usage: publish-loop.py serve PORT
       publish-loop.py client HOST PORT TAG [reset]

Each connection carries two byte streams known to both ends (seeded by
the connection's TAG, which the client sends first as a line): STREAM
bytes from client to server and STREAM from server to client. Each end
first writes what the buffers take without reading anything ("stuffed":
both receive queues are full, both send queues hold more, both windows
are closed), then waits; told to go on, it writes the rest, reads the
whole of the other's stream and compares it with what it should be
(sha256, and the first offset that differs), then both exchange MORE
bytes each way, checked the same way.

serve: listens on 0.0.0.0:PORT; stuffs each connection as it arrives and
prints "STUFFED TAG sent=N". SIGUSR1: go on with every stuffed connection
at once, "PASS publish-loop TAG ..." for each. SIGUSR2: "PASS publish-loop
served=N" (N connections checked).

client (on the host): connects to HOST:PORT, stuffs, prints "STUFFED TAG
sent=N", waits for SIGUSR1, goes on, prints "PASS publish-loop client TAG
...". With "reset" the server is gone for good: going on must end in a
reset within 30 s (not a hang): "PASS publish-loop client TAG reset".
"""
import hashlib
import os
import random
import select
import signal
import socket
import sys
import time

STREAM = 3 << 20     # less than a socket's queue may hold in an image
MORE = 1 << 20
RCVBUF = 128 << 10   # windows that close soon


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def stream(kind, tag, n):
    return random.Random("%s:%s" % (kind, tag)).randbytes(n)


def digest(b):
    return hashlib.sha256(b).hexdigest()[:16]


def stuff(s, out):
    """Write without blocking until the buffers take no more, twice in a
    row a while apart (a window that was still closing); bytes written."""
    s.setblocking(False)
    sent, idle = 0, 0
    while idle < 2 and sent < len(out):
        try:
            n = s.send(out[sent:sent + 65536])
            sent += n
            idle = 0
        except BlockingIOError:
            idle += 1
            time.sleep(0.3)
    return sent


class Conn:
    def __init__(self, s, tag, outkind, inkind):
        self.s, self.tag = s, tag
        self.outkind, self.inkind = outkind, inkind
        self.out = stream(outkind, tag, STREAM)
        self.sent = 0
        self.got = bytearray()
        self.want = STREAM

    def check(self, what):
        want = stream(self.inkind, self.tag, self.want)
        got = bytes(self.got)
        if got == want:
            return None
        off = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]), min(len(got), len(want)))
        return "%s: %d bytes (sha256 %s), want %d (sha256 %s); first difference at %d" % (
            what, len(got), digest(got), len(want), digest(want), off)


def pump(conns, deadline):
    """Write each conn's out[sent:], read until it has .want bytes; all at
    once, so neither end waits on the other. Raises what the socket says."""
    for c in conns:
        c.s.setblocking(False)
    while True:
        live = [c for c in conns if c.sent < len(c.out) or len(c.got) < c.want]
        if not live:
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("%s: sent %d of %d, got %d of %d" % (
                live[0].tag, live[0].sent, len(live[0].out), len(live[0].got), live[0].want))
        rd = [c.s for c in live if len(c.got) < c.want]
        wr = [c.s for c in live if c.sent < len(c.out)]
        r, w, _ = select.select(rd, wr, [], min(left, 1.0))
        for c in live:
            if c.s in r:
                b = c.s.recv(min(262144, c.want - len(c.got)))
                if not b:
                    raise ConnectionError("%s: EOF after %d of %d bytes" % (c.tag, len(c.got), c.want))
                c.got += b
            if c.s in w:
                try:
                    c.sent += c.s.send(c.out[c.sent:c.sent + 262144])
                except BlockingIOError:
                    pass


def finish(conns, timeout=120):
    """The rest of the first streams, then MORE each way; None or why not."""
    deadline = time.monotonic() + timeout
    pump(conns, deadline)
    for c in conns:
        why = c.check("the first stream")
        if why:
            return "%s: %s" % (c.tag, why)
        c.out = stream(c.outkind + "-more", c.tag, MORE)
        c.sent, c.got, c.want = 0, bytearray(), MORE
        c.inkind += "-more"
    pump(conns, deadline)
    for c in conns:
        why = c.check("the second stream")
        if why:
            return "%s: %s" % (c.tag, why)
    return None


def serve(port):
    flags = {"go": False, "verify": False}
    signal.signal(signal.SIGUSR1, lambda *a: flags.__setitem__("go", True))
    signal.signal(signal.SIGUSR2, lambda *a: flags.__setitem__("verify", True))
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    ls.bind(("0.0.0.0", port))
    ls.listen(8)
    ls.setblocking(False)
    stuffed, served = [], 0
    say("READY publish-loop port=%d" % port)
    while True:
        time.sleep(0.05)
        try:
            s, _ = ls.accept()
            s.settimeout(10)
            tag = b""
            while not tag.endswith(b"\n"):
                b = s.recv(1)
                if not b:
                    raise ConnectionError("EOF in the tag")
                tag += b
            c = Conn(s, tag.strip().decode(), "s2c", "c2s")
            c.sent = stuff(s, c.out)
            stuffed.append(c)
            say("STUFFED %s sent=%d" % (c.tag, c.sent))
        except BlockingIOError:
            pass
        if flags["go"]:
            flags["go"] = False
            try:
                why = finish(stuffed)
            except Exception as e:
                why = "%s" % e
            if why:
                say("FAIL publish-loop: %s" % why)
                sys.exit(1)
            for c in stuffed:
                say("PASS publish-loop %s first=%d more=%d" % (c.tag, STREAM, MORE))
                c.s.close()
            served += len(stuffed)
            stuffed = []
        if flags["verify"]:
            flags["verify"] = False
            say("PASS publish-loop served=%d" % served)


def client(host, port, tag, reset):
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    s.settimeout(10)
    s.connect((host, port))
    s.sendall(tag.encode() + b"\n")
    local = s.getsockname()
    c = Conn(s, tag, "c2s", "s2c")
    c.sent = stuff(s, c.out)
    say("STUFFED %s sent=%d local=%s:%d" % (tag, c.sent, local[0], local[1]))
    signal.sigwait([signal.SIGUSR1])
    try:
        why = finish([c], timeout=30 if reset else 120)
    except (ConnectionResetError, BrokenPipeError):
        if reset:
            say("PASS publish-loop client %s reset" % tag)
            return 0
        why = "the connection was reset"
    except Exception as e:
        why = "%s" % e
    if reset:
        say("FAIL publish-loop client %s: want a reset, got %s" % (tag, why or "the whole exchange"))
        return 1
    if why:
        say("FAIL publish-loop client %s: %s" % (tag, why))
        return 1
    say("PASS publish-loop client %s first=%d more=%d" % (tag, STREAM, MORE))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    elif len(sys.argv) in (5, 6) and sys.argv[1] == "client":
        sys.exit(client(sys.argv[2], int(sys.argv[3]), sys.argv[4], len(sys.argv) == 6 and sys.argv[5] == "reset"))
    else:
        sys.exit(__doc__)
