#!/usr/bin/env python3
"""The lock view separates contention from idleness (tests/targets/pool.c):
a pool of four workers idle on a condition variable for the whole run, and
a mutex a contender waits for while its holder sleeps with it. The report
lists the contended mutex first under "Lock waits by lock", with its holder;
the pool's condition variable only under "Idle waits", after it; and the
"Longest waits" are not the idle workers'."""
import os
import re

import wp

prof = os.path.join(wp.tmpdir(), "pool.json")
r = wp.run([wp.WALLPROF, "record", "-q", "-o", prof, "--", wp.target("pool"), "2"])
wp.check(r.returncode == 0, f"pool ran: {r.returncode}")
rep = wp.run([wp.WALLPROF, "report", prof]).stdout
sections = re.split(r"\n(?=\S)", rep)
locks = next((s for s in sections if s.startswith("Lock waits by lock")), "")
idle = next((s for s in sections if s.startswith("Idle waits")), "")
longest = next((s for s in sections if s.startswith("Longest waits")), "")
rows = [l.strip() for l in locks.splitlines()[1:] if l.startswith("    ") and not l.startswith("     ")]
wp.check(rows and rows[0] == "mutex ledger_lock" and "held by holder" in locks,
         f"the contended mutex is the first lock, with its holder: {rows[:3]}")
wp.check("work_ready" not in locks and "condvar work_ready" in idle,
         "the pool's condition variable is an idle wait, not a lock")
wp.check(rep.index("Lock waits by lock") < rep.index("Idle waits"), "idle waits come after the locks")
wp.check(re.search(r"worker-\d \(\d+\), worker-\d", idle) is not None, "the idle section names the workers")
wp.check(longest and "worker-" not in longest, "the longest waits are not the idle workers'")
wp.done()
