#!/usr/bin/env python3
"""Fast paths on the `parked` target (tests/targets/parked.c): 50 idle
threads and one woken for a known second. Threads that have not run are not
read one by one, yet the one that wakes is seen on CPU exactly when it is:
its on-CPU share within 5 points of the truth (1 s of 3 s), in wake_work, no
other sleeper ever on CPU while parked (they run only as they start and as
they quit at the end), and the clock vouched for most ticks."""
import os

import wp

d = wp.tmpdir()
prof = os.path.join(d, "parked.json")
r = wp.run([wp.WALLPROF, "record", "-q", "-F", "100", "-o", prof, "--", wp.target("parked"), "50", "1000"])
wp.check(r.returncode == 0 and r.stdout == "parked: done\n", f"target ran normally: {r.returncode} {r.stdout!r}")
p = wp.load(prof)
by = wp.samples_by_name(p)
states = wp.state_names(p)

s, n = wp.shares(p, "sleeper-7")
wp.check(n >= 250, f"sleeper-7 sampled at 100 Hz for 3 s: {n} samples")
ww, _ = wp.share_with_function(p, "sleeper-7", "wake_work", "on-cpu")
wp.check(ww >= 95, f"sleeper-7's on-CPU samples are in wake_work: {ww:.0f}%")
# Seen on CPU exactly while it is. Its second of work lies between the last
# parked sample before it and the first parked one after it, and contains
# every sample in state R: so the parked samples around them span at least
# that second (less up to a tick: its first moments after the wake-up read
# as parked, docs/states.md), and the R samples at most that second and a
# tick (a stopped
# thread's sample is stamped when its stop comes, which on a busy machine
# may be after the work ended), however the ticks fell (at a random point
# of each interval, some missed on a busy machine).
tick = 1e9 / 100
rows = sorted(by["sleeper-7"], key=lambda row: row[0])
is_r = [states[row[3]] in ("on-cpu", "runnable") for row in rows]
running = [row[0] for row, r in zip(rows, is_r) if r]
first = is_r.index(True) if running else 0
last = len(is_r) - 1 - is_r[::-1].index(True) if running else 0
inner = (running[-1] - running[0]) / 1e6 if running else 0
outer = ((rows[last + 1][0] if last + 1 < len(rows) else rows[-1][0])
         - (rows[first - 1][0] if first > 0 else rows[0][0])) / 1e6 if running else 0
wp.check(running and inner <= 1000 + tick / 1e6 and outer >= 1000 - tick / 1e6,
         f"sleeper-7 on CPU for its 1000 ms: R samples span {inner:.0f} ms, the parked samples around them "
         f"{outer:.0f} ms")
inside = [row for row in rows if running and min(running) <= row[0] <= max(running)]
outside = [row for row in rows if not running or not min(running) <= row[0] <= max(running)]
wp.check(all(states[row[3]] in ("on-cpu", "runnable") for row in inside),
         f"every sample within that second on CPU: {sum(states[r[3]] in ('on-cpu', 'runnable') for r in inside)} "
         f"of {len(inside)}")
notparked = sum(1 for row in outside if not any("pthread_cond_wait" in f for f in wp.functions_of(p, row)))
wp.check(outside and notparked <= 2, f"outside it, parked in pthread_cond_wait: {notparked} of {len(outside)} are not "
         "(its own start and end may be caught)")
# Its share of the samples is the truth (1 s of 3) when no tick was missed;
# ticks missed on a busy machine fall mostly while it runs (its stop waits
# for a CPU too), which the report says.
if p["stats"]["ticks_missed"] <= p["stats"]["ticks"] // 50:
    cpu = s.get("on-cpu", 0) + s.get("runnable", 0)
    wp.near(cpu, 100 / 3, 5, "sleeper-7 on CPU % (truth 33.3)")
else:
    rep = wp.run([wp.WALLPROF, "report", prof]).stdout
    wp.check("ticks were missed" in rep and "-r (real-time priority)" in rep,
             f"{p['stats']['ticks_missed']} ticks missed: the report says so, and what to do")

others = [name for name in by if name.startswith("sleeper-") and name != "sleeper-7"]
wp.check(len(others) == 49, f"all 49 other sleepers in the profile: {len(others)}")
# The other sleepers run only as they start (the first few milliseconds)
# and when main tells them all to quit (at 3 s): between 0.2 s and 2.9 s
# they are parked, and every sample there must say so.
parked = [row for name in others for row in by[name] if 0.2e9 <= row[0] <= 2.9e9]
wp.check(len(parked) >= 49 * 200, f"the other sleepers' samples between 0.2 s and 2.9 s: {len(parked)}")
oncpu = sum(1 for row in parked if states[row[3]] in ("on-cpu", "runnable"))
wp.check(oncpu == 0, f"no other sleeper ever on CPU while parked: {oncpu} samples")
wrong = sum(1 for row in parked if not any("pthread_cond_wait" in f for f in wp.functions_of(p, row)))
wp.check(wrong == 0, f"every other sleeper's sample while parked is in pthread_cond_wait: {wrong} are not")

st = p["stats"]
wp.check(st["clock_vouched"] >= st["ticks"] // 2,
         f"the process clock vouched for the quiet threads in most ticks: {st['clock_vouched']} of {st['ticks']}")
wp.check(st["stops"] <= st["ticks"] + 60, f"about one stop per tick while one thread runs: {st['stops']} stops, {st['ticks']} ticks")
wp.done()
