#!/usr/bin/env python3
"""More busy threads than CPUs (tests/targets/spin.c: the main thread and 7
more spin, 20 are parked): a thread waiting for a CPU takes milliseconds to
reach its stop, past the next tick. Such a stop is taken when it comes, as
that thread's sample at every tick it missed, so every thread has exactly
one sample per tick that was not missed (counts exact). With -r the
sampling thread runs SCHED_FIFO. The busy threads' samples are on CPU or
runnable, in busy_loop or spin_work. Ticks are then on time (their mean
lateness under a tenth of the interval, stats.tick_late_ns), and the report
says nothing of it; recorded again at nice 10 without -r, they are late
and the report says so and names -r."""
import os
import time

import wp

if os.geteuid() != 0:
    wp.skip("record -r needs root (or CAP_SYS_NICE), and this test runs -r")

d = wp.tmpdir()
prof = os.path.join(d, "overload.json")
busy, parked = 7, 20
target = wp.subprocess.Popen([wp.target("spin"), "100000", str(parked), str(busy)],
                             stdout=wp.subprocess.DEVNULL)
try:
    # Every parked thread asleep in pthread_cond_wait before the attach,
    # and every busy one in its loop (10 ms of CPU each: on a crowded
    # machine a thread just created may still be in __clone3).
    def started():
        states = wp.task_states(target.pid)
        ran = []
        for tid, st in states.items():
            try:
                with open(f"/proc/{target.pid}/task/{tid}/schedstat") as f:
                    ran.append(int(f.read().split()[0]))
            except OSError:
                pass
        return (list(states.values()).count("S") == parked and len(states) == 1 + busy + parked
                and sum(1 for ns in ran if ns >= 10_000_000) >= 1 + busy)
    wp.check(wp.wait_for(started, 20), "every thread started before the attach")
    w = wp.subprocess.Popen([wp.WALLPROF, "record", "-r", "-q", "-F", "100", "-d", "2", "-o", prof,
                             "-p", str(target.pid)], stderr=wp.subprocess.PIPE, text=True)
    time.sleep(1)
    policies = []
    for tid in os.listdir(f"/proc/{w.pid}/task"):
        with open(f"/proc/{w.pid}/task/{tid}/stat") as f:
            policies.append(int(f.read().rsplit(")", 1)[1].split()[38]))
    _, err = w.communicate(timeout=30)
    wp.check(w.returncode == 0, f"record -r exits 0: {w.returncode} {err.strip()}")
    wp.check(policies.count(1) == 1, f"one wallprof thread runs SCHED_FIFO (policy 1): {policies}")
    wp.check(target.poll() is None and wp.proc_state(target.pid) in "RS",
             f"the target runs on after the detach: {wp.proc_state(target.pid)}")
    niced = os.path.join(d, "niced.json")
    r = wp.run(["nice", "-n", "10", wp.WALLPROF, "record", "-q", "-F", "100", "-d", "1", "-o", niced,
                "-p", str(target.pid)])
    wp.check(r.returncode == 0, f"record at nice 10 exits 0: {r.returncode} {r.stderr.strip()}")
finally:
    target.kill()
    target.wait()

p = wp.load(prof)
st = p["stats"]
kept = st["ticks"] - st["ticks_missed"]
per_tid = {}
for row in p["samples"]:
    per_tid[row[1]] = per_tid.get(row[1], 0) + 1
wp.check(len(per_tid) == 1 + busy + parked, f"every thread in the profile: {len(per_tid)}")
off = {tid: n for tid, n in per_tid.items() if n != kept}
wp.check(not off, f"every thread has one sample per kept tick ({kept} of {st['ticks']}): {off or 'all equal'}")
if (os.cpu_count() or 1) <= 1 + busy:
    wp.check(st["late_stops"] > 0, f"some stops came after the tick's wait (CPUs overloaded): {st['late_stops']}")
else:
    print(f"note: {os.cpu_count()} CPUs are not overloaded by {1 + busy} busy threads; late stops: {st['late_stops']}")

def late_ms(p):
    st = p["stats"]
    return st["tick_late_ns"] / max(1, st["ticks"] - st["ticks_missed"]) / 1e6


def late_warned(path):
    r = wp.run([wp.WALLPROF, "report", path])
    return "ms late on average" in r.stdout and "Record with -r" in r.stdout


wp.check(late_ms(p) < 1 and not late_warned(prof),
         f"with -r the ticks began {late_ms(p):.2f} ms late on average, and the report says nothing of it")
q = wp.load(niced)
wp.check(late_ms(q) > 1 and late_warned(niced),
         f"at nice 10 without -r they began {late_ms(q):.2f} ms late, and the report says so")

names = wp.thread_names(p)
states = wp.state_names(p)
busy_rows = [row for row in p["samples"] if not any("pthread_cond_wait" in f for f in wp.functions_of(p, row))]
wp.check(len(busy_rows) == (1 + busy) * kept, f"the busy threads' samples: {len(busy_rows)} of {(1 + busy) * kept}")
running = sum(1 for row in busy_rows if states[row[3]] in ("on-cpu", "runnable"))
wp.check(running == len(busy_rows), f"all of them on CPU or runnable: {running}")
inside = sum(1 for row in busy_rows if any(f in ("busy_loop", "spin_work") for f in wp.functions_of(p, row)))
wp.check(inside == len(busy_rows), f"all of them in busy_loop or spin_work: {inside}")
wp.done()
