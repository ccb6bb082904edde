#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""py-state: a real interpreter holding state in the middle of a loop.

A dict built deterministically, a running sha256 hash chain and a generator
suspended mid-iteration are checked every ~30 ms against independent
recomputation. SIGUSR2 verifies everything from scratch and prints
"PASS py-state <iteration>"; any mismatch prints "FAIL <what>" and exits 1.
"""
import hashlib
import signal
import sys
import time

got_usr2 = False


def on_usr2(signum, frame):
    global got_usr2
    got_usr2 = True


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fail(what):
    say("FAIL " + what)
    sys.exit(1)


def entry(i):
    return hashlib.sha256(b"entry-%d" % i).hexdigest()[:16]


def fib_mod():
    a, b = 0, 1
    while True:
        yield a
        a, b = b, (a + b) % 1000000007


def chain_step(h, i):
    return hashlib.sha256(h + str(i).encode()).digest()


SEED = b"ckptd-py-state"
N_ENTRIES = 5000

table = {i: entry(i) for i in range(N_ENTRIES)}
table_sum = sum(int(v, 16) for v in table.values())
gen = fib_mod()
shadow = (0, 1)          # the generator's state, computed independently
chain = SEED
chain_prev = SEED
iteration = 0


def verify_table():
    if len(table) != N_ENTRIES:
        fail("dict has %d entries" % len(table))
    if sum(int(v, 16) for v in table.values()) != table_sum:
        fail("dict checksum")


def verify_full():
    verify_table()
    for i in range(N_ENTRIES):
        if table[i] != entry(i):
            fail("dict entry %d" % i)
    h = SEED
    for i in range(iteration):
        h = chain_step(h, i)
    if h != chain:
        fail("hash chain after %d steps" % iteration)


signal.signal(signal.SIGUSR2, on_usr2)
verify_full()
say("READY")
while True:
    time.sleep(0.03)
    verify_table()
    # generator: its next value must match the independent recurrence
    v = next(gen)
    if v != shadow[0]:
        fail("generator gave %d, want %d at %d" % (v, shadow[0], iteration))
    shadow = (shadow[1], (shadow[0] + shadow[1]) % 1000000007)
    # hash chain: one step, checked against the previous link
    chain_prev, chain = chain, chain_step(chain, iteration)
    if chain_step(chain_prev, iteration) != chain:
        fail("hash chain step %d" % iteration)
    iteration += 1
    if got_usr2:
        got_usr2 = False
        verify_full()
        say("PASS py-state %d" % iteration)
