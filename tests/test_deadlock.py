#!/usr/bin/env python3
"""dump on an ABBA deadlock (tests/targets/deadlock.c): the cycle, both
threads and both locks named, in text and JSON; the target untouched."""
import json
import os
import shutil
import subprocess
import time

import wp

t = subprocess.Popen([wp.target("deadlock")], stdout=subprocess.PIPE, text=True)
try:
    wp.check(t.stdout.readline().strip() == "deadlock: ready", "target holds its first locks")
    # Both tellers sleep 100 ms before taking their second lock.
    wp.wait_for(lambda: wp.task_states(t.pid) and all(s == "S" for s in wp.task_states(t.pid).values()), timeout=5)
    time.sleep(0.3)
    tids = {}
    for tid in wp.task_states(t.pid):
        with open(f"/proc/{t.pid}/task/{tid}/comm") as f:
            tids[f.read().strip()] = tid
    one, two = tids.get("teller-one"), tids.get("teller-two")
    r = wp.run([wp.WALLPROF, "dump", "-p", str(t.pid)])
    wp.check(r.returncode == 0, f"dump exits 0: {r.returncode} {r.stderr.strip()}")
    sentences = [l for l in r.stdout.splitlines() if l.startswith("deadlock:")]
    wp.check(len(sentences) == 1, f"exactly one deadlock reported: {sentences}")
    want = (f"deadlock: teller-one ({one}) waits for lock_b held by teller-two ({two}), "
            f"which waits for lock_a held by teller-one")
    alt = (f"deadlock: teller-two ({two}) waits for lock_a held by teller-one ({one}), "
           f"which waits for lock_b held by teller-two")
    wp.check(sentences and sentences[0] in (want, alt), f"the sentence names the cycle: {sentences[:1]}")
    wp.check(f"waiting for mutex lock_b (0x" in r.stdout and f"held by teller-two ({two})" in r.stdout,
             "teller-one's wait: lock_b, held by teller-two")
    wp.check(f"held by teller-one ({one})" in r.stdout, "teller-two's wait: held by teller-one")
    wp.check("transfer" in r.stdout and "deadlock.c:" in r.stdout, "stacks show transfer() with file:line")

    j = wp.run([wp.WALLPROF, "dump", "--json", "-p", str(t.pid)])
    doc = json.loads(j.stdout)
    dl = doc.get("deadlocks", [])
    wp.check(len(dl) == 1 and sorted(dl[0]) == sorted([one, two]), f"JSON: deadlocks = [[{one}, {two}]]: {dl}")
    th = {x["name"]: x for x in doc["threads"]}
    w1 = th["teller-one"]["waiting_for"] or {}
    w2 = th["teller-two"]["waiting_for"] or {}
    wp.check(w1.get("kind") == "mutex" and w1.get("symbol") == "lock_b" and w1.get("owner_tid") == two,
             f"JSON: teller-one waits for lock_b owned by {two}: {w1}")
    wp.check(w2.get("kind") == "mutex" and w2.get("symbol") == "lock_a" and w2.get("owner_tid") == one,
             f"JSON: teller-two waits for lock_a owned by {one}: {w2}")
    wp.check(th["teller-one"]["call"].startswith("futex(mutex lock_b, FUTEX_WAIT"),
             f"JSON: the call decoded: {th['teller-one']['call']}")
    for tid, st in wp.task_states(t.pid).items():
        wp.check(st not in ("t", "T"), f"thread {tid} not left stopped: {st}")
finally:
    t.kill()
    t.wait()

# The same deadlock in a PID namespace of its own (a container), dumped from
# outside: glibc's __owner holds the namespace's tids, mapped through NSpid.
if os.geteuid() != 0 or not shutil.which("unshare"):
    print("note: not root or no unshare(1): the PID namespace case is not run")
else:
    u = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", wp.target("deadlock")],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    kids = []
    try:
        wp.check(u.stdout.readline().strip() == "deadlock: ready", "in a PID namespace: ready")
        kids = [int(x) for x in os.popen(f"pgrep -P {u.pid}").read().split()]
        pid = kids[0] if kids else 0
        with open(f"/proc/{pid}/status") as f:
            nspid = [l for l in f if l.startswith("NSpid:")][0].split()[1:]
        wp.check(len(nspid) == 2 and nspid[1] == "1", f"it is pid 1 in its namespace: NSpid {nspid}")
        wp.wait_for(lambda: all(s == "S" for s in wp.task_states(pid).values()), timeout=5)
        time.sleep(0.3)
        r = wp.run([wp.WALLPROF, "dump", "-p", str(pid)])
        line = [l for l in r.stdout.splitlines() if l.startswith("deadlock:")]
        wp.check(len(line) == 1 and "teller-one" in line[0] and "teller-two" in line[0],
                 f"the deadlock is found across the namespace: {line}")
    finally:
        u.kill()
        for k in kids:
            try:
                os.kill(k, 9)
            except OSError:
                pass
        u.wait()
wp.done()
