#!/usr/bin/env python3
"""Signals, fork and thread churn under wallprof: output and exit status
equal to a plain run, in launch mode, with SIGSTOP/SIGCONT sent from
outside while recording, and in attach mode."""
import os
import signal
import subprocess
import time

import wp

d = wp.tmpdir()
prof = os.path.join(d, "sig.json")
p, r = wp.same_as_plain([wp.target("signals")], "launch: output identical", ["-F", "200"], status=5, prof=prof)
# 300 threads of ~1 ms each, at 200 Hz: a good share of them is sampled.
wp.check(len(p["threads"]) >= 30, f"churned threads were followed: {len(p['threads'])} threads seen")

# SIGSTOP/SIGCONT from outside while recording.
prof2 = os.path.join(d, "stop.json")
w = subprocess.Popen([wp.WALLPROF, "record", "-q", "-F", "200", "-o", prof2, "--", wp.target("signals"), "2000"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(0.5)
child = None
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            with open(f"/proc/{pid}/stat") as f:
                st = f.read()
            if "(signals)" in st and int(st.split(")")[1].split()[1]) == w.pid:
                child = int(pid)
        except OSError:
            pass
wp.check(child is not None, "found the launched command")
if child:
    os.kill(child, signal.SIGSTOP)
    stopped = wp.wait_for(lambda: wp.proc_state(child) in ("T", "t"), 2)
    wp.check(stopped, f"SIGSTOP holds the command while recording: state {wp.proc_state(child)}")
    time.sleep(0.3)
    still = wp.proc_state(child)
    wp.check(still in ("T", "t"), f"and it stays stopped (group-stop kept with LISTEN): {still}")
    os.kill(child, signal.SIGCONT)
out, err = w.communicate(timeout=60)
plain2 = wp.run([wp.target("signals"), "2000"])
wp.check(out == plain2.stdout, f"after SIGSTOP/SIGCONT: output identical: {out.splitlines()[-1:]} ")
wp.check(w.returncode == 5, f"after SIGSTOP/SIGCONT: exit status 5: {w.returncode} {err.strip()}")
if os.path.exists(prof2):
    p2 = wp.load(prof2)
    states = p2["states"]
    stopped_samples = sum(1 for s in p2["samples"] if states[s[3]] == "stopped")
    wp.check(stopped_samples > 0, f"stopped time shows up as 'stopped': {stopped_samples} samples")

# Attach mode to the same workload.
t = subprocess.Popen([wp.target("signals"), "2000"], stdout=subprocess.PIPE, text=True)
time.sleep(0.05)
prof3 = os.path.join(d, "attach.json")
a = wp.run([wp.WALLPROF, "record", "-q", "-F", "200", "-d", "1", "-o", prof3, "-p", str(t.pid)])
out, _ = t.communicate(timeout=60)
wp.check(a.returncode == 0, f"attach: record exits 0: {a.returncode} {a.stderr.strip()}")
wp.check(out == plain2.stdout, "attach: output identical")
wp.check(t.returncode == 5, f"attach: exit status 5: {t.returncode}")
wp.done()
