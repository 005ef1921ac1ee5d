#!/usr/bin/env python3
"""dump names who holds the other end of a pipe a thread is blocked on:
cat reading from `sleep 30 |` (real programs: the write end is sleep's
stdout, known by construction), and two processes each blocked writing a
full pipe to the other (a deadlock across processes: each one's read end
is held by the other). Text and JSON."""
import json
import os
import subprocess
import sys
import time

import wp

# 1. sleep 30 | cat: cat waits in read on its stdin, whose write end is
#    sleep's stdout; the test holds neither end.
sleeper = subprocess.Popen(["sleep", "30"], stdout=subprocess.PIPE)
cat = subprocess.Popen(["cat"], stdin=sleeper.stdout, stdout=subprocess.DEVNULL)
sleeper.stdout.close()
try:
    wp.wait_for(lambda: wp.proc_state(cat.pid) == "S", 5)
    time.sleep(0.2)
    r = wp.run([wp.WALLPROF, "dump", "-p", str(cat.pid)])
    line = [l.strip() for l in r.stdout.splitlines() if "the pipe's" in l]
    want = f'the pipe\'s write end: process {sleeper.pid} "sleep" (state S, fd 1)'
    wp.check(r.returncode == 0 and line == [want], f"cat's read: {want!r}: {line} {r.stderr.strip()}")
    j = wp.run([wp.WALLPROF, "dump", "--json", "-p", str(cat.pid)])
    th = json.loads(j.stdout)["threads"][0] if j.returncode == 0 else {}
    holders = th.get("pipe_holders") or []
    wp.check([(h["pid"], h["end"], h["fd"]) for h in holders] == [(sleeper.pid, "write", 1)],
             f"--json: pipe_holders {holders}")
finally:
    for p in (cat, sleeper):
        p.kill()
        p.wait()

# 2. Two processes, each blocked writing a full pipe to the other.
parent, child = wp.pipe_deadlock()
try:
    for me, other in ((parent.pid, child), (child, parent.pid)):
        r = wp.run([wp.WALLPROF, "dump", "-p", str(me)])
        blocked = [l.strip() for l in r.stdout.splitlines() if l.strip().startswith("in write(")]
        line = [l.strip() for l in r.stdout.splitlines() if "the pipe's" in l]
        wp.check(r.returncode == 0 and len(blocked) == 1 and len(line) == 1
                 and line[0].startswith(f"the pipe's read end: process {other} "),
                 f"process {me} blocked writing: the read end is process {other}'s: {blocked} {line}")
finally:
    os.kill(child, 9)
    parent.kill()
    parent.wait()
wp.done()
