#!/usr/bin/env python3
"""A thread in epoll_wait, woken every 50 ms, sampled at 200 Hz: the target
must see no EINTR at all (epoll_wait is never interrupted), and the thread
must still be sampled, in epoll_wait, with its stack."""
import os

import wp

d = wp.tmpdir()
prof = os.path.join(d, "epoll.json")
r = wp.run([wp.WALLPROF, "record", "-q", "-F", "200", "-o", prof, "--", wp.target("epoll"), "2"])
wp.check("eintr=0" in r.stdout, f"target saw no EINTR: {r.stdout.strip()!r}")
wp.check(r.returncode == 0, f"target exit status 0 (it exits 1 on any EINTR): {r.returncode}")
p = wp.load(prof)
sc, n = wp.syscall_shares(p, "server")
wp.check(n >= 300, f"server thread sampled at 200 Hz for 2 s: {n} samples")
wp.check(sc.get("epoll_wait", 0) >= 80, f"server mostly in epoll_wait: {sc.get('epoll_wait', 0):.0f}%")
fn, _ = wp.share_with_function(p, "server", "wait_events", "syscall")
wp.check(fn >= 90, f"its blocked samples show wait_events: {fn:.0f}%")
wp.check(p["stats"]["eintr_risk"] == 0, f"profiler counted no EINTR risk: {p['stats']['eintr_risk']}")
wp.done()
