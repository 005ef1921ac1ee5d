#!/usr/bin/env python3
"""Debian's PostgreSQL 15, a row lock: one session holds it in an open
transaction, a second waits for it in an UPDATE. The waiting backend sits
in epoll_wait (read without a stop: wallprof never interrupts it) under
WaitEventSetWait, which PostgreSQL builds with frame pointers. `dump` must
show the wait the user came to find, ProcSleep <- LockAcquireExtended <-
XactLockTableWait <- heap_update <- the executor, frame for frame as
eu-stack -i -s -n 0 (the oracle) shows it on the same process.
The server runs on a Unix socket under a temporary directory, and is
stopped at the end.
"""
import json
import re
import shutil
import subprocess
import time

import wp
from pgserver import Server

if not shutil.which("eu-stack"):
    wp.skip("eu-stack is not installed ('make deps' installs it)")
pg = Server()
psql = pg.psql
holder = waiter = None
try:
    wp.run(psql + ["-c", "create table t(id int primary key, v int); insert into t values (1, 0);"])
    holder = subprocess.Popen(psql + ["-c", "begin; update t set v = 1 where id = 1; select pg_sleep(60);"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    waiter = subprocess.Popen(psql + ["-c", "update t set v = 2 where id = 1;"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def blocked():
        out = wp.run(psql + ["-c", "select pid from pg_stat_activity where wait_event = 'transactionid'"])
        return out.stdout.strip()
    wp.wait_for(lambda: blocked() != "", 10)
    pid = int(blocked() or 0)
    wp.check(pid > 0, f"a backend waits for the row lock: {pid}")

    r = wp.run([wp.WALLPROF, "dump", "--json", "-p", str(pid)])
    wp.check(r.returncode == 0, f"dump exits 0: {r.returncode} {r.stderr.strip()}")
    t = json.loads(r.stdout)["threads"][0]
    ours = [f["function"] for f in t["frames"]]
    want = ["WaitEventSetWait", "WaitLatch", "ProcSleep", "LockAcquireExtended",
            "XactLockTableWait", "heap_update", "standard_ExecutorRun", "PortalRun",
            "PostgresMain", "PostmasterMain", "main"]
    at = [ours.index(w) if w in ours else -1 for w in want]
    wp.check(-1 not in at and at == sorted(at) and t["syscall"] == "epoll_wait" and not t["truncated"],
             f"dump shows the row-lock wait down to the executor, in order: {ours}")

    oracle = wp.run(["eu-stack", "-i", "-s", "-n", "0", "-p", str(pid)], timeout=60).stdout
    theirs = [m.group(2) or "" for m in re.finditer(r"^#\d+[ \t]+0x([0-9a-f]+)[ \t]*(\S*)", oracle, re.M)]
    same = len(theirs) == len(ours) and all(
        not b or a == b or a.split("+")[0] == b for a, b in zip(ours, theirs)
        if not b.startswith("__libc_start_main") and not a.startswith("__libc_start_main"))
    wp.check(same, f"frame for frame as eu-stack ({len(ours)} and {len(theirs)}):\n"
             f"  wallprof {ours}\n  eu-stack {theirs}")
finally:
    for p in (holder, waiter):
        if p:
            p.kill()
            p.wait()
    pg.stop()
wp.done()
