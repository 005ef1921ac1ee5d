#!/usr/bin/env python3
"""top under tmux, driven with send-keys and read with capture-pane: the
threads of the mixed target with their states, the functions and waits
taking its time, the keys that switch views, and the command's exit status
after quitting the view."""
import shutil
import subprocess
import time

import wp

if not shutil.which("tmux"):
    wp.skip("tmux is not installed (apt-get install tmux)")
sock = f"wallprof-test-{time.time_ns()}"
tmux = ["tmux", "-L", sock]
done_file = wp.tmpdir() + "/exit"
cmd = f"{wp.WALLPROF} top -i 0.5 -- {wp.target('mixed')} 5; echo $? > {done_file}; sleep 60"
subprocess.run(tmux + ["new-session", "-d", "-s", "t", "-x", "130", "-y", "45", cmd], check=True)

def screen():
    return subprocess.run(tmux + ["capture-pane", "-p", "-t", "t"], capture_output=True, text=True).stdout

try:
    wp.wait_for(lambda: "burn_cpu" in screen(), timeout=6)
    s = screen()
    wp.check("wallprof top: pid" in s and "5 threads" in s, "header: pid and 5 threads")
    wp.check("waiter" in s and "lock wait (futex) on lock" in s, "the waiter shown waiting on the lock 'lock'")
    rows = [l for l in s.splitlines() if " worker " in f" {l} "]
    wp.check(any("blocked: read on pipe:[" in l or "on-CPU" in l or "runnable" in l for l in rows),
             f"the worker shown on its pipe, on CPU or waiting for one: {rows[:2]}")
    wp.check("[blocked: clock_nanosleep]" in s and "burn_cpu" in s, "functions and waits listed")
    subprocess.run(tmux + ["send-keys", "-t", "t", "o"], check=True)
    wp.wait_for(lambda: "on-CPU only" in screen(), timeout=3)
    time.sleep(0.8)
    s = screen()
    rows = [l for l in s.splitlines() if "%" in l and "LAST" not in l and "showing" not in l]
    wp.check("showing on-CPU only" in s and rows and "burn_cpu" in rows[0],
             f"'o' switches to on-CPU only, burn_cpu on top: {rows[:2]}")
    wp.check(not any("[blocked" in r for r in rows), "no wait rows in the on-CPU view")
    subprocess.run(tmux + ["send-keys", "-t", "t", "i"], check=True)
    wp.wait_for(lambda: "inclusive time" in screen(), timeout=3)
    time.sleep(0.8)
    wp.check("worker" in "\n".join(l for l in screen().splitlines() if "%" in l),
             "'i' switches to inclusive time: the worker function appears")
    subprocess.run(tmux + ["send-keys", "-t", "t", "q"], check=True)
    wp.wait_for(lambda: wp.os.path.exists(done_file) and open(done_file).read().strip(), timeout=10)
    status = open(done_file).read().strip() if wp.os.path.exists(done_file) else "?"
    wp.check(status == "3", f"after 'q' the command runs to its end and its status (3) is top's: {status}")
    wp.check("mixed: 25 rounds done" in screen(), "the command's own output is untouched")
finally:
    subprocess.run(tmux + ["kill-server"], capture_output=True)
wp.done()
