#!/usr/bin/env python3
"""Torture targets (tests/torture/*.c) behave exactly as without wallprof:
glibc's internal signals (SIGSETXID from setresuid in a threaded process,
SIGCANCEL from pthread_cancel), a target that is itself a tracer (and,
with --syscalls, the warning that it cannot be one then), 3,000
short-lived threads, SIGTSTP from outside while recording, and set-user-ID
programs (run with their privilege when wallprof may trace them, refused
with a clear error when it may not)."""
import os
import shutil
import signal
import subprocess
import time

import wp

d = wp.tmpdir()


# 1. glibc's internal signals: 2 x 200 setxid broadcasts to 8 threads, 28
#    cancellations; with --syscalls too (signal stops inside traced calls).
wp.same_as_plain([wp.target("glibcsig"), "200"], "SIGSETXID and SIGCANCEL")
wp.same_as_plain([wp.target("glibcsig"), "100"], "SIGSETXID and SIGCANCEL, --syscalls", ["--syscalls"])

# 2. A target that traces its own child: the child is the target's, not
#    ours, and every syscall stop reaches the target (201: 100 writes in and
#    out, and exit_group in).
p, _ = wp.same_as_plain([wp.target("selftrace"), "100"], "a target that is a tracer itself")
out = wp.run([wp.target("selftrace"), "100"]).stdout
wp.check("syscall stops: 201 " in out, f"its tracer counted every stop: {out.strip()!r}")

# With --syscalls wallprof must follow every child (the seccomp filter is
# inherited and needs a tracer), so the child cannot be the target's: the
# call fails, as under strace -f, and wallprof says so in a warning and a hint.
r = wp.run([wp.WALLPROF, "record", "-q", "--syscalls", "-o", os.path.join(d, "st.json"), "--",
            wp.target("selftrace"), "10"])
lines = [x for x in r.stderr.splitlines() if x.startswith("wallprof:")]
wp.check(len(lines) == 2 and "ptrace(PTRACE_TRACEME)" in lines[0] and "hint:" in lines[1],
         f"--syscalls on a target that traces its child: a warning and a hint: {lines}")

# A target that asks to be traced itself fails (a process has one tracer),
# and says so: seen when the call is traced (--syscalls, launched or
# attached), said in advance from its symbols when it is not.
ST = wp.target("selftrace")
for extra in ([], ["--syscalls"], ["--locks"]):
    r = wp.run([wp.WALLPROF, "record", *extra, "-o", os.path.join(d, "self.json"), "--", ST, "self", "0.2"])
    lines = [x for x in r.stderr.splitlines() if x.startswith("wallprof:") and " wrote " not in x]
    pid = wp.load(os.path.join(d, "self.json"))["metadata"]["pid"] if r.returncode == 0 else 0
    want = ([f"wallprof: warning: process {pid} ({ST} self 0.2) calls ptrace: should it trace itself, that "
             "fails with EPERM while wallprof traces it (a process has one tracer)"] if not extra else
            [f"wallprof: warning: thread {pid} of process {pid} calls ptrace(PTRACE_TRACEME): it fails with "
             "EPERM while wallprof traces it (a process has one tracer)"])
    wp.check(r.returncode == 0 and r.stdout == "PTRACE_TRACEME: Operation not permitted\n" and lines == want,
             f"record {' '.join(extra)} of a target calling PTRACE_TRACEME: {r.stdout.strip()!r} {lines}")
t = subprocess.Popen([ST, "self", "1"], stdout=subprocess.PIPE, text=True)
time.sleep(0.3)
r = wp.run([wp.WALLPROF, "record", "--syscalls", "-d", "2", "-o", os.path.join(d, "self-p.json"), "-p", str(t.pid)])
out = t.communicate()[0]
lines = [x for x in r.stderr.splitlines() if x.startswith("wallprof:") and " wrote " not in x and "exact tracing" not in x]
wp.check(r.returncode == 0 and out == "PTRACE_TRACEME: Operation not permitted\n" and lines ==
         [f"wallprof: warning: thread {t.pid} of process {t.pid} calls ptrace(PTRACE_TRACEME): it fails with "
          "EPERM while wallprof traces it (a process has one tracer)"],
         f"record --syscalls -p of a target calling PTRACE_TRACEME: {out.strip()!r} {lines}")
r = wp.run([wp.WALLPROF, "record", "-f", "-o", os.path.join(d, "st-f.json"), "--", ST, "10"])
lines = [x for x in r.stderr.splitlines() if x.startswith("wallprof:") and " wrote " not in x]
wp.check(len(lines) == 1 and "calls ptrace: should it trace itself or its children, that fails with EPERM "
         "while wallprof traces them" in lines[0], f"record -f of a target that traces its child: {lines}")

# strace, a real tracer: launched plainly it runs (its children are its
# own) with the warning in advance; under --syscalls its PTRACE_SEIZE of its
# child is seen failing, and said.
if shutil.which("strace"):
    r = wp.run([wp.WALLPROF, "record", "-o", os.path.join(d, "strace.json"), "--", "strace", "-o", "/dev/null", "true"])
    lines = [x for x in r.stderr.splitlines() if x.startswith("wallprof:") and " wrote " not in x]
    wp.check(r.returncode == 0 and len(lines) == 1 and "(strace -o /dev/null true) calls ptrace: should it trace itself,"
             in lines[0], f"record -- strace: it runs, warned in advance: {r.returncode} {lines}")
    r = wp.run([wp.WALLPROF, "record", "--syscalls", "-o", os.path.join(d, "strace.json"), "--", "strace", "-o",
                "/dev/null", "true"])
    lines = [x for x in r.stderr.splitlines() if x.startswith("wallprof:") and " wrote " not in x]
    wp.check(r.returncode == 1 and len(lines) == 2 and "calls ptrace(PTRACE_SEIZE): it fails with EPERM while "
             "wallprof traces its target" in lines[0] and "record without --syscalls and --locks" in lines[1],
             f"record --syscalls -- strace: its seize of its child fails, and is said: {r.returncode} {lines}")
else:
    print("note: strace not installed; the real tracer's case is not run")

# 3. 3,000 short-lived threads, 4 at a time, at 200 Hz.
p, _ = wp.same_as_plain([wp.target("churn"), "3000", "4"], "3,000 short-lived threads", ["-F", "200"])
n = len(p["threads"]) if p else 0
# Each lives about 0.2 ms, so a tick catches some of them only.
wp.check(n >= 20 and p["stats"]["threads_lost"] == 0,
         f"the short-lived threads were followed and sampled: {n} in the profile, {p['stats']['threads_lost']} lost")

# 4. SIGTSTP from outside while recording: the command stops (state T) and
#    goes on after SIGCONT, output and status unchanged.
plain = wp.run([wp.target("mixed"), "3"])
prof = os.path.join(d, "tstp.json")
w = subprocess.Popen([wp.WALLPROF, "record", "-q", "-o", prof, "--", wp.target("mixed"), "3"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
child = None
wp.wait_for(lambda: bool(subprocess.run(["pgrep", "-P", str(w.pid)], capture_output=True).stdout.strip()))
child = int(subprocess.run(["pgrep", "-P", str(w.pid)], capture_output=True, text=True).stdout.split()[0])
time.sleep(0.3)
os.kill(child, signal.SIGTSTP)
# (A traced thread in a group-stop shows "t", as under strace or gdb.)
stopped = wp.wait_for(lambda: set(wp.task_states(child).values()) <= {"T", "t"}, timeout=3)
wp.check(stopped, f"SIGTSTP holds every thread of the command while recording: {wp.task_states(child)}")
time.sleep(0.5)
held = wp.task_states(child)
wp.check(set(held.values()) <= {"T", "t"}, f"and they stay stopped (group-stop kept with LISTEN): {held}")
os.kill(child, signal.SIGCONT)
out, err = w.communicate(timeout=60)
wp.check(w.returncode == plain.returncode == 3 and out == plain.stdout,
         f"after SIGTSTP/SIGCONT: status {w.returncode}, output unchanged")

# 5. Set-user-ID programs. As root (CAP_SYS_PTRACE) the privilege applies
#    under wallprof as without it; without CAP_SYS_PTRACE the kernel would
#    drop it, so wallprof refuses (126) with a one-line error and a hint.
if os.geteuid() != 0 or not shutil.which("setpriv"):
    print("note: not root or no setpriv: set-user-ID programs not tested")
else:
    os.chmod(d, 0o755)
    ids = os.path.join(d, "ids-nobody")
    shutil.copy(wp.target("ids"), ids)
    os.chown(ids, 65534, 65534)
    os.chmod(ids, 0o4755)
    plain = wp.run([ids])
    r = wp.run([wp.WALLPROF, "record", "-q", "-o", os.path.join(d, "ids.json"), "--", ids])
    wp.check(r.returncode == plain.returncode == 0 and r.stdout == plain.stdout and "euid 65534" in r.stdout,
             f"set-user-ID nobody, wallprof as root: {r.stdout.strip()!r} (plain {plain.stdout.strip()!r})")
    ids_root = os.path.join(d, "ids-root")
    shutil.copy(wp.target("ids"), ids_root)
    os.chmod(ids_root, 0o4755)
    drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"]
    plain = wp.run(drop + [ids_root])
    wp.check("euid 0" in plain.stdout, f"plainly, nobody runs it as euid 0: {plain.stdout.strip()!r}")
    r = wp.run(drop + [wp.WALLPROF, "record", "-q", "-o", "/dev/null", "--", ids_root])
    lines = r.stderr.strip().splitlines()
    wp.check(r.returncode == 126 and r.stdout == "" and len(lines) == 2 and "set-user-ID" in lines[0]
             and "hint:" in lines[1],
             f"wallprof as nobody refuses it (126, error and hint, not run): {r.returncode} {lines}")
wp.done()
