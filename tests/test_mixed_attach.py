#!/usr/bin/env python3
"""Attach mode (-p) on a running `mixed`: the same shares as in launch mode,
every thread found, and the target's output and exit status unchanged."""
import os
import subprocess

import wp

d = wp.tmpdir()
prof = os.path.join(d, "attach.json")
plain = wp.run([wp.target("mixed"), "4", "300"])
t = subprocess.Popen([wp.target("mixed"), "4", "300"], stdout=subprocess.PIPE, text=True)
wp.wait_for(lambda: len(wp.task_states(t.pid)) == 5)
r = wp.run([wp.WALLPROF, "record", "-q", "-F", "99", "-d", "2.5", "-o", prof, "-p", str(t.pid)])
wp.check(r.returncode == 0, f"record -p exits 0 after -d: {r.returncode} {r.stderr.strip()}")
state_after = wp.proc_state(t.pid)
wp.check(state_after not in ("t", "T"), f"target not left stopped after detach: state {state_after}")
out, _ = t.communicate(timeout=30)
wp.check(out == plain.stdout, f"output unchanged: {out.strip()!r}")
wp.check(t.returncode == plain.returncode == 3, f"exit status unchanged: {t.returncode}")

p = wp.load(prof)
names = set(wp.thread_names(p).values())
wp.check({"mixed", "worker", "feeder", "holder", "waiter"} <= names, f"all threads found: {sorted(names)}")
wp.check(p["metadata"]["mode"] == "attach" and p["metadata"]["pid"] == t.pid, "metadata: attach mode and pid")
s, n = wp.shares(p, "worker")
wp.check(n >= 200, f"worker samples over 2.5 s at 99 Hz: {n}")
wp.near(s.get("on-cpu", 0) + s.get("runnable", 0), 50, 10, "worker on CPU %")
sc, _ = wp.syscall_shares(p, "worker")
wp.near(sc.get("read", 0), 50, 10, "worker blocked in read %")
wp.near(wp.shares(p, "waiter")[0].get("lock", 0), 100, 10, "waiter lock wait %")
wp.near(wp.shares(p, "holder")[0].get("sleep", 0), 100, 10, "holder sleep %")
wp.near(wp.shares(p, "mixed")[0].get("lock", 0), 100, 10, "main thread join (lock) %")
cmd = p["metadata"]["command"]
wp.check(cmd[:1] == [wp.target("mixed")], f"command line read from /proc: {cmd}")
wp.done()
