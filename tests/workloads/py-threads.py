#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""py-threads: a multi-threaded python3 program, checked from the inside.

  adder-0..2  add to one shared counter under a Lock, each keeping its own
              share: the counter is always the sum of the shares;
  ping, pong  hand a baton back and forth through a Condition, then through
              two Events: the baton's value goes up by exactly one per hand;
  producer,   a queue.Queue: the consumer gets 1, 2, 3, ... with no gap or
  consumer    repeat, the producer blocks when the bounded queue is full;
  sleeper     time.sleep(0.02), checks at least 20 ms went by.
Every thread keeps its own threading.local state (its name, ident, native
id and a step count with a shadow) and checks it on every step, and that
threading.current_thread() and get_native_id() did not change.

SIGUSR2 (signal.signal, so the main thread takes it): main checks the shared
state and the thread list, then, once every thread moved on since the last
PASS (within 10 s): "PASS py-threads n=<passes> c=<per-thread steps>
total=<counter> tids:<native ids>". Any broken invariant prints "FAIL ..."
and exits 1 (from any thread: os._exit).
"""
import os
import queue
import signal
import sys
import threading
import time

got_usr2 = False
tl = threading.local()
steps = {}              # name -> steps, the threads' shadows (written by their owners)
native = {}             # name -> native id at start
lock = threading.Lock()
counter = 0
shares = {}


def on_usr2(signum, frame):
    global got_usr2
    got_usr2 = True


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fail(what):
    say("FAIL py-threads " + what)
    os._exit(1)


def start_local(name):
    tl.name = name
    tl.ident = threading.get_ident()
    tl.native = threading.get_native_id()
    tl.steps = 0
    tl.shadow = ~0
    native[name] = tl.native
    steps[name] = 0


def step():
    """One step of the calling thread: its local state still holds."""
    t = threading.current_thread()
    if tl.name != t.name or tl.ident != threading.get_ident() or tl.ident != t.ident:
        fail("%s: thread-local name/ident %s/%s, thread says %s/%s"
             % (t.name, tl.name, tl.ident, t.name, threading.get_ident()))
    if tl.native != threading.get_native_id() or native[tl.name] != tl.native:
        fail("%s: native id %d, was %d" % (tl.name, threading.get_native_id(), tl.native))
    if tl.shadow != ~tl.steps or steps[tl.name] != tl.steps:
        fail("%s: local steps %d shadow %d, shared %d"
             % (tl.name, tl.steps, ~tl.shadow, steps[tl.name]))
    tl.steps += 1
    tl.shadow = ~tl.steps
    steps[tl.name] = tl.steps


def adder(name):
    global counter
    start_local(name)
    shares[name] = 0
    while True:
        with lock:
            counter += 1
            shares[name] += 1
        step()
        time.sleep(0.001)


cond = threading.Condition()
baton = {"value": 0, "turn": "ping"}
ev_ping, ev_pong = threading.Event(), threading.Event()


def player(name, other, my_ev, other_ev):
    start_local(name)
    last = None
    while True:
        # through the Condition
        with cond:
            while baton["turn"] != name:
                cond.wait()
            v = baton["value"]
            if last is not None and v != last + 2:
                fail("%s: baton %d after %d" % (name, v, last))
            baton["value"] = v + 1
            baton["turn"] = other
            cond.notify_all()
        last = v
        # through the Events: ping sets pong's, pong answers
        if name == "ping":
            # no timeout: time spent checkpointed counts on the clock; a lost
            # wake-up shows as no progress at the next PASS
            other_ev.set()
            my_ev.wait()
            my_ev.clear()
        else:
            my_ev.wait()
            my_ev.clear()
            other_ev.set()
        step()
        time.sleep(0.002)


q = queue.Queue(maxsize=50)
consumed = {"last": 0}


def producer():
    start_local("producer")
    n = 0
    while True:
        n += 1
        q.put(n)
        step()


def consumer():
    start_local("consumer")
    while True:
        v = q.get()
        if v != consumed["last"] + 1:
            fail("consumer: got %d after %d" % (v, consumed["last"]))
        consumed["last"] = v
        step()
        time.sleep(0.0005)


def sleeper():
    start_local("sleeper")
    while True:
        t0 = time.monotonic()
        time.sleep(0.02)
        dt = time.monotonic() - t0
        if dt < 0.02:
            fail("sleeper: sleep(0.02) returned after %.6f s" % dt)
        step()


THREADS = [
    ("adder-0", adder, ("adder-0",)),
    ("adder-1", adder, ("adder-1",)),
    ("adder-2", adder, ("adder-2",)),
    ("ping", player, ("ping", "pong", ev_ping, ev_pong)),
    ("pong", player, ("pong", "ping", ev_pong, ev_ping)),
    ("producer", producer, ()),
    ("consumer", consumer, ()),
    ("sleeper", sleeper, ()),
]
NAMES = [n for n, _, _ in THREADS]


def check_shared(full):
    with lock:
        if counter != sum(shares.values()):
            fail("counter %d, shares add up to %d" % (counter, sum(shares.values())))
    alive = {t.name: t for t in threading.enumerate()}
    for n in NAMES:
        t = alive.get(n)
        if t is None or not t.is_alive():
            fail("thread %s is gone" % n)
        if t.native_id != native[n]:
            fail("thread %s: native id %s, was %d" % (n, t.native_id, native[n]))
    if not full:
        return
    # an fd of its own for a moment: only when asked, not under a snapshot
    tasks = sorted(int(x) for x in os.listdir("/proc/self/task"))
    want = sorted([threading.get_native_id()] + [native[n] for n in NAMES])
    if tasks != want:
        fail("tasks %s, want %s" % (tasks, want))


def main():
    global got_usr2
    signal.signal(signal.SIGUSR2, on_usr2)
    threads = [threading.Thread(target=f, name=n, args=a, daemon=True) for n, f, a in THREADS]
    for t in threads:
        t.start()
    while len(native) < len(NAMES) or len(shares) < 3:
        time.sleep(0.01)
    main_native = threading.get_native_id()
    check_shared(True)
    say("READY py-threads tids:" + ",".join(str(native[n]) for n in NAMES))
    passes = 0
    pass_steps = {n: 0 for n in NAMES}
    pending_until = None
    loops = 0
    while True:
        time.sleep(0.02)
        if threading.get_native_id() != main_native:
            fail("main: native id changed")
        loops += 1
        if loops % 10 == 0:
            check_shared(False)
        if loops % 100 == 0:
            say("py-threads total=%d" % counter)
        if got_usr2:
            got_usr2 = False
            if pending_until is None:
                pending_until = time.monotonic() + 10
        if pending_until is None:
            continue
        now = dict(steps)
        stuck = [n for n in NAMES if now[n] <= pass_steps[n]]
        if stuck:
            if time.monotonic() > pending_until:
                fail("no progress in 10 s from " + ",".join(stuck))
            continue
        check_shared(True)
        passes += 1
        pass_steps = now
        pending_until = None
        say("PASS py-threads n=%d c=%s total=%d tids:%s"
            % (passes, ",".join(str(now[n]) for n in NAMES), counter,
               ",".join(str(native[n]) for n in NAMES)))


main()
