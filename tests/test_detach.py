#!/usr/bin/env python3
"""wallprof's own end never hurts the target: Ctrl-C and SIGTERM end
recording and write the profile; SIGKILL of wallprof leaves an attached
target running, never stopped; in launch mode wallprof waits for the
command and returns its status."""
import json
import os
import signal
import subprocess
import time

import wp

d = wp.tmpdir()
plain = wp.run([wp.target("mixed"), "3"])

for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
    t = subprocess.Popen([wp.target("mixed"), "3"], stdout=subprocess.PIPE, text=True)
    wp.wait_for(lambda: len(wp.task_states(t.pid)) == 5)
    prof = os.path.join(d, f"sig{int(sig)}.json")
    w = subprocess.Popen([wp.WALLPROF, "record", "-q", "-F", "200", "-o", prof, "-p", str(t.pid)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    w.send_signal(sig)
    w.wait(timeout=30)
    time.sleep(0.1)
    states = wp.task_states(t.pid)
    wp.check(states and all(s not in ("t", "T") for s in states.values()),
             f"{sig.name}: no thread of the target left stopped: {sorted(set(states.values()))}")
    out, _ = t.communicate(timeout=30)
    wp.check(out == plain.stdout and t.returncode == 3, f"{sig.name}: target output and status unchanged")
    if sig != signal.SIGKILL:
        wp.check(w.returncode == 0, f"{sig.name}: wallprof exits 0 after writing: {w.returncode}")
        p = wp.load(prof)
        wp.check(len(p["samples"]) >= 5 * 150, f"{sig.name}: profile of ~1 s written: {len(p['samples'])} samples")
    else:
        # Nothing can catch SIGKILL, but what was streamed is on disk
        # (flushed every 250 ms) and report reads it, saying it is partial.
        r = wp.run([wp.WALLPROF, "report", prof])
        wp.check(r.returncode == 0 and "cut short" in r.stdout and "tid " in r.stdout,
                 f"SIGKILL: the streamed samples are read by report: {r.returncode} {r.stderr.strip()}")
        j = wp.run([wp.WALLPROF, "report", "--format=json", prof])

        n = json.loads(j.stdout)["run"]["samples"] if j.returncode == 0 else 0
        wp.check(n >= 5 * 100, f"SIGKILL: at least 0.5 s of the 1 s recorded is there: {n} samples")

# Launch mode: SIGINT to wallprof alone ends recording; wallprof writes the
# profile at once, waits for the command and returns its status.
prof = os.path.join(d, "launch.json")
w = subprocess.Popen([wp.WALLPROF, "record", "-q", "-o", prof, "--", wp.target("mixed"), "3"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(1.0)
w.send_signal(signal.SIGINT)
written = wp.wait_for(lambda: os.path.exists(prof) and os.path.getsize(prof) > 0 and w.poll() is None, 1.5)
wp.check(written, "launch + SIGINT: profile written while the command still runs")
out, err = w.communicate(timeout=30)
wp.check(w.returncode == 3 and out == plain.stdout, f"launch + SIGINT: command finished, status {w.returncode}")
p = wp.load(prof)
dur = p["metadata"]["duration_ns"] / 1e9
wp.check(0.8 <= dur <= 1.6, f"launch + SIGINT: recording covers ~1 s: {dur:.2f} s")

# A second SIGINT ends wallprof at once (and the traced command with it).
prof = os.path.join(d, "twice.json")
w = subprocess.Popen([wp.WALLPROF, "record", "-q", "-o", prof, "--", wp.target("mixed"), "10"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(0.5)
w.send_signal(signal.SIGINT)
time.sleep(0.5)
w.send_signal(signal.SIGINT)
t0 = time.time()
w.wait(timeout=10)
wp.check(time.time() - t0 < 3 and w.returncode == 130, f"second SIGINT: exit 130 at once: {w.returncode}")
wp.check(os.path.exists(prof) and wp.load(prof)["samples"], "second SIGINT: the profile is there")
wp.done()
