#!/usr/bin/env python3
"""A Go program (tests/targets/go-waits): no .eh_frame at all, only a
compressed .debug_frame, which wallprof rewrites for its unwinder. dump's
stacks must be eu-stack -i -s -n 0's (the oracle) on the same live
process, thread by thread, up to where eu-stack stops (Go's scheduler
switches stacks); and a recording has its goroutines' frames.
Skips without the Go toolchain (Debian package golang-go)."""
import json
import os
import shutil
import subprocess
import time

import wp

if not shutil.which("go"):
    wp.skip("the Go toolchain is not installed (Debian package golang-go; 'make deps' installs it)")
if not shutil.which("eu-stack"):
    wp.skip("eu-stack is not installed (Debian package elfutils)")
src = os.path.join(wp.ROOT, "tests", "targets", "go-waits")
out = os.path.join(wp.ROOT, "build", "targets", "go-waits")
env = dict(os.environ, GOCACHE=os.path.join(wp.ROOT, "build", "go-cache"), GOFLAGS="-mod=mod",
           GOPATH=os.path.join(wp.ROOT, "build", "go-path"), GOPROXY="off", CGO_ENABLED="1")
b = wp.run(["go", "build", "-o", out, "."], cwd=src, env=env, timeout=600)
wp.check(b.returncode == 0, f"go build: {b.stderr.strip()[:300]}")
secs = wp.run(["readelf", "-SW", out]).stdout
wp.check(".eh_frame" not in secs and ".debug_frame" in secs, "the binary has .debug_frame and no .eh_frame")

d = wp.tmpdir()
v = subprocess.Popen([out, os.path.join(d, "f.dat")], stdout=subprocess.PIPE, text=True)
try:
    wp.check(v.stdout.readline().strip() == "ready", "every goroutine waits")
    # Go's threads move now and then (the scheduler, the garbage collector,
    # the write of "ready" returning): two snapshots a few milliseconds
    # apart may differ. eu-stack looks before and after the dump, and a
    # thread it saw in two places moved meanwhile: it is not compared (an
    # idle M goes between netpoll and a futex sleep in findRunnable; seen
    # under ASan beside a CPU hog, three tries in a row). Up to five tries
    # for one where the others agree.
    time.sleep(0.3)

    def eu(pid):
        return {tid: [f["function"] for f in frames] for tid, frames in wp.eu_stack(pid).items()}
    for attempt in range(5):
        before = eu(v.pid)
        r = wp.run([wp.WALLPROF, "dump", "--json", "-p", str(v.pid)])
        after = eu(v.pid)
        ours = {t["tid"]: t for t in json.loads(r.stdout)["threads"]} if r.returncode == 0 else {}
        theirs = {tid: fr for tid, fr in after.items() if before.get(tid) == fr}
        if all([f["function"] for f in t["frames"]][:3] == theirs[tid][:3]
               for tid, t in ours.items() if tid in theirs):
            break
        time.sleep(0.5)
    wp.check(r.returncode == 0, f"dump: {r.returncode} {r.stderr.strip()}")
    prof = os.path.join(d, "go.json")
    rec = wp.run([wp.WALLPROF, "record", "-q", "-F", "199", "-d", "1.5", "-o", prof, "-p", str(v.pid)])
finally:
    v.kill()
    v.wait()

compared = 0
for tid, t in ours.items():
    names = [f["function"] for f in t["frames"]]
    want = []
    for fn in theirs.get(tid, []):
        if not fn:
            break  # eu-stack went astray past a stack switch
        want.append(fn)
    # The thread in write+fsync, and sysmon (which wakes every few ms),
    # move between the two snapshots: each against what it must show.
    if any("syncFile" in n for n in names + want):
        # Between two calls it may be in the scheduler, on another stack.
        wp.check(("main.syncFile" in names and names[-1] == "runtime.goexit.abi0")
                 or any(n.startswith("runtime.") for n in names[1:]),
                 f"the write+fsync goroutine's thread, in its goroutine or the scheduler: {names}")
        continue
    if names[:1] == ["__vdso_clock_gettime"]:
        # Caught on a CPU inside the vDSO (sysmon reads the clock every
        # few ms; seen beside a CPU hog): Go's nanotime1 moved to the g0
        # stack for the call, which its frame tables do not describe. The
        # stack ends there, and must say so.
        wp.check(t["truncated"], f"a thread in Go's vDSO call, its stack marked cut short: {names}")
        continue
    if "runtime.sysmon" in names + want:
        wp.check(names[-4:-1] == ["runtime.mstart0", "runtime.mstart.abi0", "runtime/cgo(.text)"]
                 or "runtime.mstart.abi0" in names, f"sysmon's thread, whole: {names}")
        continue
    if tid not in theirs:
        print(f"note: thread {tid} moved while eu-stack and wallprof looked: not compared")
        continue
    n = min(len(want), len(names))
    wp.check(n >= 3 and names[:n] == want[:n],
             f"thread {tid}: {n} frames as eu-stack's\n  wallprof {names}\n  eu-stack {want}")
    compared += 1
wp.check(compared >= 2, f"threads compared: {compared}")
wp.check(rec.returncode == 0, f"record -p: {rec.returncode} {rec.stderr.strip()}")
p = wp.load(prof)
fns = {f["function"] for f in p["frames"]}
wp.check({"main.syncFile", "runtime.futexsleep", "runtime.findRunnable"} <= fns,
         f"the recording has the goroutines' and the scheduler's frames: {sorted(fns)[:12]}")
wp.done()
