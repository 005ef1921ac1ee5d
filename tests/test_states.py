#!/usr/bin/env python3
"""Thread states as the kernel counts them. tests/targets/cpuload.c runs
spinning threads (more than CPUs: they wait for one), half-busy threads
(5 ms of CPU, 5 ms of sleep) and a sleeper; wallprof attaches for 3 s,
and /proc/TID/schedstat is read just before and just after: its deltas
are the kernel's own on-CPU and run-queue times for that window. Each
thread's on-CPU and runnable shares must equal them within 10 points,
saturated and at light load. Then a thread under SIGSTOP/SIGCONT in
clock_nanosleep is still shown in clock_nanosleep (the kernel resumes it
as restart_syscall), and a thread stopped by job control is "stopped"."""
import os
import signal
import subprocess
import time

import wp

CPUS = os.cpu_count() or 1


def schedstat(pid):
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                run, wait, _ = f.read().split()
            out[name] = (int(run), int(wait))
        except OSError:
            pass
    return out


def compare(spin, half, label):
    v = subprocess.Popen([wp.target("cpuload"), str(spin), str(half), "1", "7"], stdout=subprocess.PIPE, text=True)
    try:
        v.stdout.readline()
        time.sleep(0.5)
        prof = os.path.join(wp.tmpdir(), "states.json")
        t0, before = time.monotonic(), schedstat(v.pid)
        r = wp.run([wp.WALLPROF, "record", "-q", "-F", "99", "-d", "3", "-o", prof, "-p", str(v.pid)])
        after, t1 = schedstat(v.pid), time.monotonic()
    finally:
        v.wait()
    wp.check(r.returncode == 0, f"{label}: record {r.returncode} {r.stderr.strip()}")
    p = wp.load(prof)
    for name in sorted(after):
        if name == "cpuload" or name not in before:
            continue
        run = 100 * (after[name][0] - before[name][0]) / 1e9 / (t1 - t0)
        wait = 100 * (after[name][1] - before[name][1]) / 1e9 / (t1 - t0)
        sh, n = wp.shares(p, name)
        on, rn = sh.get("on-cpu", 0), sh.get("runnable", 0)
        wp.check(n > 250 and abs(on - run) <= 10 and abs(rn - wait) <= 10,
                 f"{label} {name}: on-CPU {on:.1f}% (kernel {run:.1f}), runnable {rn:.1f}% (kernel {wait:.1f}), {n} samples")


compare(CPUS + 3, 1, f"{CPUS + 3} spinners on {CPUS} CPUs")
compare(1, 1, "light load")

# SIGSTOP and SIGCONT: the sleeper's clock_nanosleep goes on as
# restart_syscall, which is still clock_nanosleep to the program.
v = subprocess.Popen([wp.target("cpuload"), "0", "0", "1", "30"], stdout=subprocess.PIPE, text=True)
try:
    v.stdout.readline()
    os.kill(v.pid, signal.SIGSTOP)
    wp.wait_for(lambda: wp.proc_state(v.pid) == "T", 2)
    r = wp.run([wp.WALLPROF, "dump", "-p", str(v.pid)])
    wp.check('"sleep-0": stopped' in r.stdout, f"under SIGSTOP: stopped (job control): {r.stdout[:300]!r}")
    os.kill(v.pid, signal.SIGCONT)
    time.sleep(0.2)
    # The sleeper runs for a few microseconds between its 50 ms sleeps
    # (longer on a loaded machine, waiting for a CPU): a dump may catch
    # it on-CPU there, which is true. It must never read restart_syscall,
    # and of five dumps most catch it asleep.
    lines = []
    for _ in range(5):
        r = wp.run([wp.WALLPROF, "dump", "-p", str(v.pid)])
        lines += [l for l in r.stdout.splitlines() if '"sleep-0"' in l]
        wp.check("restart_syscall" not in r.stdout, f"after SIGCONT: not restart_syscall: {r.stdout[:300]!r}")
    asleep = sum("sleep (clock_nanosleep)" in l for l in lines)
    wp.check(len(lines) == 5 and asleep >= 3, f"after SIGCONT: in clock_nanosleep in {asleep} of 5 dumps: {lines}")
    prof = os.path.join(wp.tmpdir(), "stopcont.json")
    r = wp.run([wp.WALLPROF, "record", "-q", "-d", "1", "-o", prof, "-p", str(v.pid)])
    sc, n = wp.syscall_shares(wp.load(prof), "sleep-0")
    wp.check(n > 50 and sc.get("clock_nanosleep", 0) >= 95, f"recorded: clock_nanosleep {sc}")
finally:
    v.kill()
    v.wait()
wp.done()
