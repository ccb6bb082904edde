#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""net-serve: a process without sockets that serves TCP on demand.

Usage: net-serve.py PORT TOKEN [IFACES]

The process itself holds no socket, so it can be checkpointed between
serves. SIGUSR1: fork a child that listens on 0.0.0.0:PORT, prints
"LISTENING <n>", answers one connection's line L with "pong L TOKEN", and
exits; the parent reaps it and prints "SERVED <n>". SIGUSR2: the names of
the interfaces of its network namespace must be IFACES (comma-separated,
sorted; default: not checked); prints "PASS net-serve ifaces=<names>
served=<n>" or "FAIL ...".
"""
import os
import signal
import socket
import sys
import time

port = int(sys.argv[1])
token = sys.argv[2]
want_ifaces = sys.argv[3] if len(sys.argv) > 3 else None
flags = {"serve": False, "verify": False}
served = 0
child = 0


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def on_usr1(signum, frame):
    flags["serve"] = True


def on_usr2(signum, frame):
    flags["verify"] = True


def serve_once(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(4)
    s.settimeout(60)
    say("LISTENING %d" % n)
    c, _ = s.accept()
    c.settimeout(10)
    line = b""
    while not line.endswith(b"\n"):
        got = c.recv(256)
        if not got:
            break
        line += got
    c.sendall(b"pong " + line.strip() + b" " + token.encode() + b"\n")
    c.close()
    s.close()


def ifaces():
    return ",".join(sorted(name for _, name in socket.if_nameindex()))


signal.signal(signal.SIGUSR1, on_usr1)
signal.signal(signal.SIGUSR2, on_usr2)
say("READY net-serve port=%d" % port)
while True:
    time.sleep(0.02)
    if child:
        pid, st = os.waitpid(child, os.WNOHANG)
        if pid == child:
            child = 0
            if os.waitstatus_to_exitcode(st) != 0:
                say("FAIL serve %d: the server exited with %d" % (served + 1, os.waitstatus_to_exitcode(st)))
                sys.exit(1)
            served += 1
            say("SERVED %d" % served)
    if flags["serve"] and not child:
        flags["serve"] = False
        child = os.fork()
        if child == 0:
            try:
                serve_once(served + 1)
            except Exception as e:  # the parent reports it
                say("serve: %s" % e)
                os._exit(1)
            os._exit(0)
    if flags["verify"]:
        flags["verify"] = False
        names = ifaces()
        if want_ifaces is not None and names != want_ifaces:
            say("FAIL net-serve: interfaces %s, want %s" % (names, want_ifaces))
            sys.exit(1)
        say("PASS net-serve ifaces=%s served=%d" % (names, served))
