#!/usr/bin/env python3
"""top under tmux, driven with send-keys and read with capture-pane: the
threads of the mixed target with their states, the functions and waits
taking its time, the keys that switch views, and the command's exit status
after quitting the view; then a command that maps its libraries after top's
first look at it."""
import re
import shutil
import subprocess
import time

import wp

if not shutil.which("tmux"):
    wp.skip("tmux is not installed (apt-get install tmux)")
sock = f"wallprof-test-{time.time_ns()}"
tmux = ["tmux", "-L", sock]
done_file = wp.tmpdir() + "/exit"
# 15 s of the target: enough for every view below on a loaded machine.
cmd = f"{wp.WALLPROF} top -i 0.5 -- {wp.target('mixed')} 15; echo $? > {done_file}; sleep 60"
subprocess.run(tmux + ["new-session", "-d", "-s", "t", "-x", "130", "-y", "45", cmd], check=True)

def screen():
    return subprocess.run(tmux + ["capture-pane", "-p", "-t", "t"], capture_output=True, text=True).stdout


def function_rows(s):
    """The names in the tables of functions and waits, in order: each row is
    the last interval's share, the total share, the samples, the name."""
    rows = (re.match(r"\s*\d+\.\d+%\s+\d+\.\d+%\s+\d+\s+(.*\S)", l) for l in s.splitlines())
    return [m.group(1) for m in rows if m]


def settled(want, timeout=10):
    """The screen once want(screen) holds, or the last one after timeout: a
    view starts its counts anew, the target's threads start one after the
    other, and a loaded machine may take a few redraws to show them."""
    shown = {}

    def ready():
        shown["s"] = screen()
        return want(shown["s"])
    wp.wait_for(ready, timeout=timeout)
    return shown["s"]


def after_key(key, banner, want):
    """Press key; the screen once the view says banner and want holds."""
    subprocess.run(tmux + ["send-keys", "-t", "t", key], check=True)
    return settled(lambda s: banner in s and function_rows(s) and want(s))


try:
    s = settled(lambda s: "burn_cpu" in s and "lock wait (futex) on lock" in s)
    wp.check("wallprof top: pid" in s and "5 threads" in s, f"header: pid and 5 threads:\n{s}")
    wp.check("waiter" in s and "lock wait (futex) on lock" in s, f"the waiter shown waiting on the lock 'lock':\n{s}")
    rows = [l for l in s.splitlines() if re.match(r"\s*\d+\s+worker\s", l)]
    wp.check(any("blocked: read on pipe:[" in l or "on-CPU" in l or "runnable" in l for l in rows),
             f"the worker shown on its pipe, on CPU or waiting for one: {rows[:2]}\n{s}")
    names = function_rows(s)
    wp.check("[blocked: clock_nanosleep]" in names and any(n.startswith("burn_cpu") for n in names),
             f"functions and waits listed: {names}\n{s}")
    s = after_key("o", "on-CPU only", lambda s: function_rows(s)[0].startswith("burn_cpu"))
    rows = function_rows(s)
    wp.check("showing on-CPU only" in s and rows and rows[0].startswith("burn_cpu"),
             f"'o' switches to on-CPU only, burn_cpu on top: {rows[:3]}\n{s}")
    wp.check(not any(r.startswith("[blocked") for r in rows), f"no wait rows in the on-CPU view:\n{s}")
    s = after_key("i", "inclusive time", lambda s: any(r.startswith("worker") for r in function_rows(s)))
    wp.check(any(r.startswith("worker") for r in function_rows(s)),
             f"'i' switches to inclusive time: the worker function appears:\n{s}")
    subprocess.run(tmux + ["send-keys", "-t", "t", "q"], check=True)
    # The command's 15 s are wall time, but on a loaded machine each of its
    # rounds wakes late (10 s took 12.4 s beside two CPU hogs): time enough.
    wp.wait_for(lambda: wp.os.path.exists(done_file) and open(done_file).read().strip(), timeout=30)
    status = open(done_file).read().strip() if wp.os.path.exists(done_file) else "?"
    wp.check(status == "3", f"after 'q' the command runs to its end and its status (3) is top's: {status}")
    wp.check("mixed: 75 rounds done" in screen(), f"the command's own output is untouched:\n{screen()}")
    # A command whose libraries are mapped after top's first read of it
    # (sleep starts in ld.so): top once crashed in its symbolizer, sized
    # for the binaries of that first read (exit 139 within 2 s).
    done2 = wp.tmpdir() + "/exit2"
    subprocess.run(tmux + ["new-session", "-d", "-s", "u", "-x", "100", "-y", "30",
                           f"{wp.WALLPROF} top -- sleep 3; echo $? > {done2}; sleep 60"], check=True)
    wp.wait_for(lambda: wp.os.path.exists(done2) and open(done2).read().strip(), timeout=20)
    status = open(done2).read().strip() if wp.os.path.exists(done2) else "?"
    wp.check(status == "0", f"top -- sleep 3 runs to the end and passes on its status 0: {status}")
finally:
    subprocess.run(tmux + ["kill-server"], capture_output=True)
wp.done()
