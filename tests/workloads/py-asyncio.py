#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""py-asyncio: a real asyncio event loop (epoll underneath) in the middle of
its work.

- call_later timers: a chain of 10 timers at 7, 14, ... 70 ms, re-armed
  when the last fires; they must fire in order, none twice or skipped;
- loop.add_reader on a pipe: a writer task puts one numbered byte in every
  ~15 ms, the reader checks each arrives once, in order, and that the pipe
  never holds more than the bytes not yet read;
- asyncio.sleep: a task sleeping 20 ms at a time counts its wakeups and
  checks it never woke early.
SIGUSR2 (through loop.add_signal_handler) prints
"PASS py-asyncio rounds=<timer chains> bytes=<pipe bytes> sleeps=<wakeups>";
any mismatch prints "FAIL <what>" and exits 1.
"""
import asyncio
import os
import signal
import sys
import time


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fail(what):
    say("FAIL " + what)
    os._exit(1)


class State:
    def __init__(self):
        self.next_timer = 0
        self.rounds = 0
        self.sent = 0
        self.got = 0
        self.sleeps = 0


st = State()
N_TIMERS = 10


def arm_chain(loop):
    for i in range(N_TIMERS):
        loop.call_later(0.007 * (i + 1), on_timer, loop, i)


def on_timer(loop, i):
    if i != st.next_timer:
        fail("timer %d fired, expected %d (round %d)" % (i, st.next_timer, st.rounds))
    st.next_timer += 1
    if st.next_timer == N_TIMERS:
        st.next_timer = 0
        st.rounds += 1
        arm_chain(loop)


def on_readable(rd):
    data = os.read(rd, 4096)
    for b in data:
        if b != st.got % 256:
            fail("pipe byte %d, expected %d" % (b, st.got % 256))
        st.got += 1
    if st.got > st.sent:
        fail("read %d bytes, only %d were written" % (st.got, st.sent))


async def writer(wr):
    while True:
        os.write(wr, bytes([st.sent % 256]))
        st.sent += 1
        await asyncio.sleep(0.015)


async def sleeper():
    while True:
        t0 = time.monotonic()
        await asyncio.sleep(0.02)
        if time.monotonic() - t0 < 0.02:
            fail("asyncio.sleep(0.02) returned after %.4f s" % (time.monotonic() - t0))
        st.sleeps += 1


def on_usr2():
    if st.sent - st.got > 64:
        fail("%d bytes written but not read" % (st.sent - st.got))
    say("PASS py-asyncio rounds=%d bytes=%d sleeps=%d" % (st.rounds, st.got, st.sleeps))


async def main():
    loop = asyncio.get_running_loop()
    rd, wr = os.pipe()
    os.set_blocking(rd, False)
    loop.add_reader(rd, on_readable, rd)
    loop.add_signal_handler(signal.SIGUSR2, on_usr2)
    arm_chain(loop)
    tasks = [asyncio.create_task(writer(wr)), asyncio.create_task(sleeper())]
    say("READY")
    await asyncio.gather(*tasks)


asyncio.run(main())
