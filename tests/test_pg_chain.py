#!/usr/bin/env python3
"""dump --chain on PostgreSQL (Debian's): psql blocked in an UPDATE whose
row another session's open transaction has locked. The chain must go
from psql through its Unix socket to its own backend, the one the server
itself reports waiting on a lock (pg_stat_activity, the oracle), whose
stack shows the wait (ProcSleep, under heap_update) as eu-stack shows it,
and end there saying the chain ends inside postgres: its lock table is
not readable from outside. Recorded together (record -p psql,backend),
the report puts psql's blocked time on its backend."""
import json
import os
import shutil
import subprocess
import time

import pgserver
import wp

if not shutil.which("eu-stack"):
    wp.skip("eu-stack is not installed ('make deps' installs it)")
srv = pgserver.Server(port="5993")
holder = waiter = None
try:
    srv.query("CREATE TABLE acct(id int PRIMARY KEY, v int); INSERT INTO acct VALUES (1, 0);")
    holder = subprocess.Popen(srv.psql, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    holder.stdin.write("BEGIN; UPDATE acct SET v = 1 WHERE id = 1; SELECT 'held';\n")
    holder.stdin.flush()
    wp.check(holder.stdout.readline().strip() == "held", "session 1 holds the row")
    waiter = subprocess.Popen(srv.psql + ["-c", "UPDATE acct SET v = 2 WHERE id = 1"],
                              stdout=subprocess.PIPE, text=True)
    backend = []
    wp.wait_for(lambda: backend.extend(int(x) for x in srv.query(
        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'").split()) or backend, 10, 0.1)
    wp.check(len(backend) == 1, f"the server reports one backend waiting on a lock: {backend}")
    time.sleep(0.2)
    r = wp.run([wp.WALLPROF, "dump", "--chain", "--json", "-p", str(waiter.pid)])
    wp.check(r.returncode == 0, f"dump --chain exits 0: {r.stderr.strip()}")
    j = json.loads(r.stdout) if r.returncode == 0 else {"chains": [], "processes": []}
    hops = [[(l["kind"], l["from"]["pid"], l["to"]["pid"] if l["to"] else None,
              l["to"]["tid"] if l["to"] else None) for l in c] for c in j["chains"]]
    want = [[("unix", waiter.pid, backend[0] if backend else -1, backend[0] if backend else -1)]]
    wp.check(hops == want, f"psql -> its backend through the Unix socket {want}: {hops}")
    then = j["chains"][0][-1].get("then", "") if j["chains"] else ""
    wp.check("ends inside postgres" in then, f"  the chain ends inside the server: {then!r}")
    frames = [f["function"] for p in j["processes"] for t in p.get("threads", [])
              for f in t["frames"]]
    oracle = [f["function"] for fs in wp.eu_stack(backend[0]).values() for f in fs] if backend else []
    for fn in ("ProcSleep", "heap_update"):
        wp.check(fn in oracle and fn in frames,
                 f"  the backend's stack shows {fn}, as eu-stack does: ours {fn in frames}, "
                 f"eu-stack {fn in oracle}")
    t = wp.run([wp.WALLPROF, "dump", "--chain", "-p", str(waiter.pid)]).stdout
    wp.check("UPDATE waiting" in t, "  the text names the backend by its title (UPDATE waiting)")
    # Recorded together, psql's blocked time is all on its backend.
    if backend:
        prof = os.path.join(wp.tmpdir(), "p.json")
        r = wp.run([wp.WALLPROF, "record", "-d", "1", "-F", "99", "-o", prof, "-p",
                    f"{waiter.pid},{backend[0]}"])
        rep = wp.run([wp.WALLPROF, "report", "--format=json", prof])
        rows = [w for w in json.loads(rep.stdout)["waiting_on_processes"]
                if w["tid"] == waiter.pid] if rep.returncode == 0 else []
        wp.check(r.returncode == 0 and len(rows) == 1 and rows[0]["peer_pid"] == backend[0]
                 and rows[0]["share"] >= 0.9,
                 f"record -p psql,backend: psql's blocked time is on its backend (>= 90%): {rows}")
finally:
    for p in (waiter, holder):
        if p:
            p.kill()
            p.wait()
    srv.stop()
wp.done()
