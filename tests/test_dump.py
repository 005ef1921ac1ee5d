#!/usr/bin/env python3
"""dump: every thread with its state, syscall and symbolized stack, in text
and JSON; blocked epoll threads are read without any EINTR."""
import json
import os
import subprocess
import time

import wp

t = subprocess.Popen([wp.target("mixed"), "3"], stdout=subprocess.PIPE, text=True)
wp.wait_for(lambda: len(wp.task_states(t.pid)) == 5)
time.sleep(0.3)
r = wp.run([wp.WALLPROF, "dump", "-p", str(t.pid)])
wp.check(r.returncode == 0, f"dump exits 0: {r.returncode} {r.stderr.strip()}")
out = r.stdout
wp.check(out.count("\nThread ") == 5, f"five threads shown: {out.count(chr(10) + 'Thread ')}")
wp.check('"waiter": lock wait (futex)' in out, "waiter shown in lock wait")
wp.check('"holder": sleep (clock_nanosleep)' in out, "holder shown sleeping")
wp.check("take_lock" in out and "mixed.c:" in out, "stacks symbolized with file:line")
wp.check("waiting for mutex lock (0x" in out and "held by holder (" in out,
         "the waiter's mutex is named by its symbol and its owner, the sleeping holder, named")
wp.check("in read(fd " in out or "on-CPU" in out, "the worker's read decoded with its fd (or the worker was on CPU)")
wp.check("deadlock:" not in out, "no deadlock claimed where there is none")
j = wp.run([wp.WALLPROF, "dump", "--json", "-p", str(t.pid)])
doc = json.loads(j.stdout)
wp.check(doc["pid"] == t.pid and len(doc["threads"]) == 5, "JSON: pid and five threads")
th = {x["name"]: x for x in doc["threads"]}
w = th.get("waiter", {})
wp.check(w.get("state") == "lock" and w.get("syscall") == "futex", f"JSON: waiter lock/futex: {w.get('state')}/{w.get('syscall')}")
keys = {"address", "function", "module", "file", "line", "inlined"}
wp.check(all(keys <= set(f) for x in doc["threads"] for f in x["frames"]), "JSON: every frame has the documented keys")
wp.check(any(f["function"] == "take_lock" for f in w.get("frames", [])), "JSON: waiter's frames include take_lock")
holder_tid = th.get("holder", {}).get("tid")
wf = w.get("waiting_for") or {}
wp.check(wf.get("kind") == "mutex" and wf.get("symbol") == "lock" and wf.get("owner_tid") == holder_tid
         and wf.get("address", "").startswith("0x"),
         f"JSON: waiter waiting_for = mutex 'lock' owned by the holder ({holder_tid}): {wf}")
m = th.get("mixed", {})
mwf = m.get("waiting_for") or {}
wp.check(mwf.get("kind") == "join" and mwf.get("owner_tid") in {x["tid"] for x in doc["threads"]},
         f"JSON: main thread waits to join one of the threads: {mwf}")
wp.check(isinstance(w.get("in_state_ns"), int) and w["in_state_ns"] >= 200_000_000,
         f"JSON: the waiter has been waiting at least 0.2 s: {w.get('in_state_ns')}")
# The holder took the lock and went to sleep as the waiter began to wait
# (they meet at a barrier): the same time in their states, within 50 ms,
# whichever CPUs they last ran on (each CPU's scheduler clock differs).
h = th.get("holder", {})
hw = [x.get("in_state_ns") for x in (h, w)]
wp.check(all(isinstance(v, int) for v in hw) and abs(hw[0] - hw[1]) <= 50_000_000,
         f"JSON: holder and waiter in their states as long as each other: {hw}")
wp.check(doc.get("deadlocks") == [], f"JSON: no deadlocks: {doc.get('deadlocks')}")

# The symbol cache (src/symcache.c): a second dump reads what the first
# wrote, and names every address exactly as DWARF did; a damaged or stale
# cache file is ignored and rewritten.
cache = os.path.join(wp.tmpdir(), "cache")


def symbolized(env_dir):
    r = wp.run([wp.WALLPROF, "dump", "--json", "-p", str(t.pid)], env=dict(os.environ, WALLPROF_CACHE_DIR=env_dir))
    wp.check(r.returncode == 0, f"dump with WALLPROF_CACHE_DIR={os.path.basename(env_dir)} exits 0: {r.stderr.strip()}")
    # Each address with the set of ways it is named (one per inlined
    # level): how many stacks hold it changes as threads move between two
    # dumps (seen beside a CPU hog), how it is named must not.
    names = {}
    for x in json.loads(r.stdout)["threads"]:
        for f in x["frames"]:
            names.setdefault(f["address"], set()).add((f["function"], f["file"], f["line"], f["inlined"]))
    return names


truth = symbolized("off")
cold = symbolized(cache)
files = [os.path.join(cache, "symbols", n) for n in os.listdir(os.path.join(cache, "symbols"))]
wp.check(len(files) >= 2, f"the first dump cached the target and libc by build-id: {len(files)} files")
heads = [open(f).readline() for f in files]
wp.check(all(h.startswith("wallprof-symcache 5 ") for h in heads), f"each starts with its header (format 5): {heads}")
warm = symbolized(cache)
for name, got in (("cold", cold), ("warm", warm)):
    both = set(got) & set(truth)
    same = sum(1 for a in both if got[a] == truth[a])
    wp.check(len(both) >= 10 and same == len(both),
             f"{name} cache: every address named as without a cache: {same} of {len(both)}")
for f in files:
    with open(f) as fh:
        lines = fh.read().split("\n")
    with open(f, "w") as fh:
        fh.write("\n".join([lines[0]] + ["zz\t9\tgarbage"] + lines[1:3]))
again = symbolized(cache)
both = set(again) & set(truth)
wrong = {a: (again[a], truth[a]) for a in both if again[a] != truth[a]}
wp.check(len(both) >= 10 and not wrong,
         f"a damaged cache file: every address still named right ({len(both)}); named otherwise: {wrong}")
with open(files[0]) as fh:
    rest = fh.read().split("\n", 1)[1]
with open(files[0], "w") as fh:
    fh.write("wallprof-symcache 5 1 1\n" + rest)
stale = symbolized(cache)
both = set(stale) & set(truth)
wp.check(all(stale[a] == truth[a] for a in both), "a cache of another build of the file is not used")
wp.check(open(files[0]).readline() == heads[0], "and it is rewritten for this build")
# A file of the format before (4: stripped Go code was named by its
# offsets, not from Go's table) is not used either.
with open(files[0], "w") as fh:
    fh.write(heads[0].replace("symcache 5 ", "symcache 4 ") + rest)
old = symbolized(cache)
both = set(old) & set(truth)
wp.check(all(old[a] == truth[a] for a in both) and open(files[0]).readline() == heads[0],
         "a cache file of the old format is ignored and rewritten")

for tid, st in wp.task_states(t.pid).items():
    wp.check(st not in ("t", "T"), f"thread {tid} not left stopped: {st}")
out, _ = t.communicate(timeout=30)
wp.check(t.returncode == 3 and "rounds done" in out, "target finished normally")

e = subprocess.Popen([wp.target("epoll"), "2"], stdout=subprocess.PIPE, text=True)
time.sleep(0.2)
for _ in range(10):
    wp.run([wp.WALLPROF, "dump", "-p", str(e.pid)])
    time.sleep(0.05)
out, _ = e.communicate(timeout=30)
wp.check("eintr=0" in out and e.returncode == 0, f"ten dumps of an epoll loop: {out.strip()!r}")

# What a thread in poll, select or epoll_wait waits on: three threads, each
# on descriptors whose numbers and events the target prints.
WAITER = r"""
import os, select, socket, sys, threading, time
lst = socket.socket(); lst.bind(("127.0.0.1", 0)); lst.listen()
r1, w1 = os.pipe(); r2, w2 = os.pipe()
ep = select.epoll(); ep.register(lst.fileno(), select.EPOLLIN); ep.register(r2, select.EPOLLIN | select.EPOLLET)
pl = select.poll(); pl.register(r1, select.POLLIN); pl.register(lst.fileno(), select.POLLIN | select.POLLPRI)
def poller(): pl.poll(20000)
def selector(): select.select([r1, r2], [], [lst.fileno()], 20)
def epoller(): ep.poll(20)
for f in (poller, selector, epoller):
    threading.Thread(target=f, name=f.__name__, daemon=True).start()
print(lst.fileno(), lst.getsockname()[1], r1, r2, ep.fileno(), flush=True)
time.sleep(20)
"""
w = subprocess.Popen(["python3", "-c", WAITER], stdout=subprocess.PIPE, text=True)
lfd, port, r1, r2, epfd = (int(x) for x in w.stdout.readline().split())
time.sleep(0.5)
j = wp.run([wp.WALLPROF, "dump", "--json", "-p", str(w.pid)])
doc = json.loads(j.stdout) if j.returncode == 0 else {"threads": []}
sets = {t["syscall"]: t.get("waits_on") for t in doc["threads"]}
listen = ("socket", f"tcp listen 127.0.0.1:{port}")


def fds(name):
    s = sets.get(name) or {"fds": [], "total": -1}
    return s["total"], {(f["fd"], f["events"], f["kind"], f["name"]) for f in s["fds"]}


pipe_name = lambda fd: os.readlink(f"/proc/{w.pid}/fd/{fd}")
wp.check(fds("poll") == (2, {(r1, "in", "pipe", pipe_name(r1)), (lfd, "in|pri", *listen)}),
         f"poll: the pipe (in) and the listening socket (in|pri): {fds('poll')}")
wp.check(fds("pselect6") == (3, {(r1, "in", "pipe", pipe_name(r1)), (r2, "in", "pipe", pipe_name(r2)),
                                 (lfd, "pri", *listen)}),
         f"select: two pipes to read, the socket's exceptional condition: {fds('pselect6')}")
wp.check(fds("epoll_wait") == (2, {(lfd, "in", *listen), (r2, "in|et", "pipe", pipe_name(r2))}),
         f"epoll_wait: its interest list, from fdinfo: {fds('epoll_wait')}")
t = wp.run([wp.WALLPROF, "dump", "-p", str(w.pid)]).stdout
wp.check(f"      fd {lfd} (in) = socket tcp listen 127.0.0.1:{port}\n" in t and "waiting on 3 descriptors:" in t,
         "the text shows them, one descriptor per line")
wp.check("in poll([2 fds], timeout 20000 ms)" in t and "in pselect6(nfds 7, ...)" in t,
         "poll's and select's arguments decoded")
w.kill()
w.wait()
wp.done()
