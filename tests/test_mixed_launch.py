#!/usr/bin/env python3
"""Launch mode on the `mixed` target, whose truth is known (see
tests/targets/mixed.c): per-thread shares within 10 points, the right
functions on the stacks, output and exit status unchanged."""
import os

import wp

d = wp.tmpdir()
prof = os.path.join(d, "mixed.json")
p, r = wp.same_as_plain([wp.target("mixed"), "3"], "output unchanged, exit status passed through",
                        ["-F", "99"], status=3, prof=prof)

s, n = wp.shares(p, "worker")
wp.check(n >= 250, f"worker sampled at 99 Hz for 3 s: {n} samples")
cpu = s.get("on-cpu", 0) + s.get("runnable", 0)
wp.near(cpu, 50, 10, "worker on CPU (on-cpu + runnable) %")
sc, _ = wp.syscall_shares(p, "worker")
wp.near(sc.get("read", 0), 50, 10, "worker blocked in read %")
burn, _ = wp.share_with_function(p, "worker", "burn_cpu", "on-cpu")
wp.check(burn >= 90, f"worker's on-CPU samples are in burn_cpu: {burn:.0f}%")
rd, _ = wp.share_with_function(p, "worker", "wait_for_data", "syscall")
wp.check(rd >= 90, f"worker's read samples are in wait_for_data: {rd:.0f}%")

s, n = wp.shares(p, "feeder")
wp.near(s.get("sleep", 0), 100, 10, "feeder sleeping %")
s, n = wp.shares(p, "holder")
wp.near(s.get("sleep", 0), 100, 10, "holder sleeping (holding the mutex) %")
s, n = wp.shares(p, "waiter")
wp.near(s.get("lock", 0), 100, 10, "waiter in lock wait %")
tl, _ = wp.share_with_function(p, "waiter", "take_lock")
wp.check(tl >= 90, f"waiter's stacks show take_lock: {tl:.0f}%")
s, n = wp.shares(p, "mixed")
wp.near(s.get("lock", 0), 100, 10, "main thread in lock wait (join) %")
jn, _ = wp.share_with_function(p, "mixed", "pthread_clockjoin")
wp.check(jn >= 90, f"main thread's stacks show the join: {jn:.0f}%")

st = p["stats"]
wp.check(st["samples"] == len(p["samples"]), f"stats.samples = number of samples ({st['samples']})")
parts = {k: st[k] for k in wp.SAMPLE_SOURCES}
wp.check(sum(parts.values()) == st["samples"], f"every sample accounted for, exactly: {parts}")
wp.check(st["reused"] > st["stops"], f"blocked threads mostly reuse their stack: reused {st['reused']} > stops {st['stops']}")
wp.check(st["eintr_risk"] == 0, f"no EINTR risked: {st['eintr_risk']}")
truncated = sum(1 for row in p["samples"] if p["stacks"][row[2]]["truncated"])
wp.check(truncated <= len(p["samples"]) // 50, f"stacks complete: {truncated} truncated of {len(p['samples'])}")
wp.check(p["metadata"]["exit_status"] == 3, "profile records the exit status")

rep = wp.run([wp.WALLPROF, "report", prof])
wp.check(rep.returncode == 0, "report runs")
wp.check("worker (" in rep.stdout and "blocked: read" in rep.stdout and "lock wait (futex)" in rep.stdout,
         "report shows the worker, the read and the lock wait")
wp.check("burn_cpu" in rep.stdout and "mixed.c:" in rep.stdout, "report names burn_cpu with file:line")
one = wp.run([wp.WALLPROF, "report", "--thread", "waiter", "--top", "3", prof])
wp.check(one.returncode == 0 and "worker (" not in one.stdout and "waiter (" in one.stdout,
         "report --thread waiter shows only the waiter")
wp.done()
