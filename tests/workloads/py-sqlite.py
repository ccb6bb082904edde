#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""py-sqlite: sqlite3 writing rows in a loop, the way many programs keep
their data. sqlite opens its database and journals with O_NOFOLLOW.

Two databases in the working directory: rows.db (rollback journal) and
wal.db (write-ahead log, its -wal and -shm files mapped shared). Each
iteration inserts one row in each and commits; every ~30 ms the row count
and the last row are checked against the iteration. SIGUSR2 runs
PRAGMA integrity_check on both and prints "PASS py-sqlite <rows>".
"""
import os
import signal
import sqlite3
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


def open_db(name, wal):
    for suffix in ("", "-journal", "-wal", "-shm"):
        try:
            os.unlink(name + suffix)
        except FileNotFoundError:
            pass
    db = sqlite3.connect(name)
    if wal and db.execute("PRAGMA journal_mode=WAL").fetchone()[0] != "wal":
        fail("%s: no WAL mode" % name)
    db.execute("CREATE TABLE rows (n INTEGER PRIMARY KEY, v TEXT)")
    db.commit()
    return db


def check(db, name, n):
    count, last = db.execute("SELECT COUNT(*), MAX(n) FROM rows").fetchone()
    if count != n or (n and last != n - 1):
        fail("%s: %s rows, last %s, want %d" % (name, count, last, n))
    if n and db.execute("SELECT v FROM rows WHERE n = ?", (n - 1,)).fetchone()[0] != "row-%d" % (n - 1):
        fail("%s: row %d content" % (name, n - 1))


def main():
    signal.signal(signal.SIGUSR2, on_usr2)
    dbs = [("rows.db", open_db("rows.db", False)), ("wal.db", open_db("wal.db", True))]
    n = 0
    say("READY")
    while True:
        for name, db in dbs:
            db.execute("INSERT INTO rows VALUES (?, ?)", (n, "row-%d" % n))
            db.commit()
        n += 1
        if n % 3 == 0:
            for name, db in dbs:
                check(db, name, n)
        if got_usr2:
            globals()["got_usr2"] = False
            for name, db in dbs:
                check(db, name, n)
                ok = db.execute("PRAGMA integrity_check").fetchone()[0]
                if ok != "ok":
                    fail("%s: integrity_check: %s" % (name, ok))
            say("PASS py-sqlite %d" % n)
        time.sleep(0.01)


main()
