#!/usr/bin/env python3
"""-f/--follow-forks: the processes a target forks are profiled too, each
against its own maps (a child that execs is symbolized as its new
program). tests/torture/forker.c forks 2 workers that spin in child_work()
for 1 s while the parent blocks in wait4: the truth is known for each.
Without -f only the parent is in the profile; with --syscalls the
counts stay equal to strace's; attaching with -f follows what the process
forks from then on. Output and exit status unchanged throughout."""
import collections
import os
import shutil
import subprocess
import time

import wp

d = wp.tmpdir()
forker = wp.target("forker")


def by_pid(p):
    """pid -> the samples of its threads."""
    pid_of = {t["tid"]: t.get("pid", 0) for t in p["threads"]}
    out = collections.defaultdict(list)
    for row in p["samples"]:
        out[pid_of.get(row[1], 0)].append(row)
    return out


def share(p, rows, pred):
    return 100.0 * sum(1 for r in rows if pred(r)) / len(rows) if rows else 0.0


# 1. Launch with -f: the parent and both workers, each with its truth.
prof = os.path.join(d, "f.json")
p, r = wp.same_as_plain([forker, "2", "1000"], "-f", ["-f", "-F", "100"], prof=prof)
plain_out = r.stdout  # the same as without wallprof
states = wp.state_names(p)
groups = by_pid(p)
# (Before its exec the launched command was a copy of wallprof: not a
# process to list the binaries of.)
bins = [b["path"] for b in p["metadata"]["binaries"]]
wp.check(forker in bins and not any(b.endswith("/wallprof") for b in bins), f"the binaries are the command's: {bins}")
parent = p["metadata"]["pid"]
wp.check(len(groups) == 3 and parent in groups, f"three processes in the profile: {sorted(groups)} (parent {parent})")
rep = wp.run([wp.WALLPROF, "report", prof]).stdout
wp.check("of 3 threads in 3 processes" in rep and rep.count(", process ") == 2,
         "the report says so, and names each child's process")
for pid, rows in sorted(groups.items()):
    if pid == parent:
        w = share(p, rows, lambda row: row[4] >= 0 and p["syscall_names"].get(str(row[4])) == "wait4")
        wp.near(w, 100, 10, f"parent {pid}: share of its samples waiting in wait4 (truth 100)")
    else:
        oncpu = share(p, rows, lambda row: states[row[3]] in ("on-cpu", "runnable"))
        work = share(p, rows, lambda row: "child_work" in wp.functions_of(p, row))
        wp.near(oncpu, 100, 10, f"child {pid}: on CPU or runnable % (truth 100)")
        wp.near(work, 100, 10, f"child {pid}: in child_work % (truth 100)")
        wp.near(len(rows), 100, 25, f"child {pid}: samples for 1 s at 100 Hz")

# 2. Without -f: the parent alone.
prof = os.path.join(d, "nof.json")
r = wp.run([wp.WALLPROF, "record", "-q", "-o", prof, "--", forker, "2", "300"])
wp.check(r.returncode == 0 and len(by_pid(wp.load(prof))) == 1, "without -f only the parent is profiled")

# 3. -f with --syscalls: vfork + exec 20 times, counted as strace -f -c does.
prof = os.path.join(d, "fs.json")
r = wp.run([wp.WALLPROF, "record", "-q", "-f", "--syscalls=execve,wait4,vfork", "-o", prof, "--",
            wp.target("execer"), "vfork", "20"])
counts = {s["name"]: s["count"] for s in wp.load(prof)["syscalls"]} if r.returncode == 0 else {}
wp.check(r.returncode == 0 and counts.get("execve") == 21 and counts.get("wait4") == 20 and counts.get("vfork") == 20,
         f"-f --syscalls: execve 21, wait4 20, vfork 20 (strace -f -c's counts): {counts}")

# 4. Attach with -f to a shell that forks and execs forker after the attach:
#    forker and its workers appear, symbolized against forker's own maps.
sh = subprocess.Popen(["sh", "-c", f"sleep 0.5; {forker} 2 800"], stdout=subprocess.PIPE, text=True)
time.sleep(0.1)
prof = os.path.join(d, "fa.json")
r = wp.run([wp.WALLPROF, "record", "-q", "-f", "-d", "2", "-o", prof, "-p", str(sh.pid)])
out, _ = sh.communicate(timeout=30)
wp.check(r.returncode == 0 and sh.returncode == 0 and out == plain_out,
         f"attach -f: wallprof {r.returncode}, the shell {sh.returncode}, output unchanged")
p = wp.load(prof)
groups = by_pid(p)
working = [pid for pid, rows in groups.items() if any("child_work" in wp.functions_of(p, row) for row in rows)]
wp.check(len(groups) >= 4 and len(working) == 2,
         f"the shell, sleep, forker and its 2 workers: {len(groups)} processes, {len(working)} in child_work")
wp.done()
