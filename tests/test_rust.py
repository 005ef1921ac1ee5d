#!/usr/bin/env python3
"""A Rust program built with the recommended [profile.profiling]: names
demangled with no hashes, a std Mutex wait attributed to the waiting
thread, CPU time to the generic function that burns it."""
import os
import re
import shutil

import wp

if not shutil.which("cargo"):
    wp.skip("cargo is not installed: the Rust target cannot be built")
src = os.path.join(wp.ROOT, "tests", "targets", "rust-locks")
tdir = os.path.join(wp.ROOT, "build", "rust-target")
b = wp.run(["cargo", "build", "--offline", "-q", "--profile", "profiling", "--target-dir", tdir],
           cwd=src, timeout=600)
if b.returncode != 0:
    print(b.stderr)
wp.check(b.returncode == 0, "cargo build --profile profiling")
exe = os.path.join(tdir, "profiling", "rust-locks")
d = wp.tmpdir()
prof = os.path.join(d, "rust.json")
r = wp.run([wp.WALLPROF, "record", "-q", "-o", prof, "--", exe, "2"])
wp.check(r.returncode == 0 and "rust-locks: 1 entries" in r.stdout, f"target ran normally: {r.stdout.strip()!r}")
p = wp.load(prof)
funcs = [f["function"] for f in p["frames"]]
hashed = [f for f in funcs if re.search(r"::h[0-9a-f]{16}\b", f)]
mangled = [f for f in funcs if f.startswith("_R") or f.startswith("_ZN")]
wp.check(not hashed, f"no Rust hashes in names: {hashed[:3]}")
wp.check(not mangled, f"no mangled names: {mangled[:3]}")
wp.check(any(f == "rust_locks::wait_for_ledger" for f in funcs), "demangled rust_locks::wait_for_ledger present")
lock, n = wp.shares(p, "waiter")
wp.near(lock.get("lock", 0), 100, 10, "Rust waiter thread in lock wait %")
mx, _ = wp.share_with_function(p, "waiter", "Mutex", "lock")
wp.check(mx >= 90, f"its lock-wait stacks go through std's Mutex: {mx:.0f}%")
wl, _ = wp.share_with_function(p, "waiter", "rust_locks::wait_for_ledger", "lock")
wp.check(wl >= 90, f"and through rust_locks::wait_for_ledger: {wl:.0f}%")
names = wp.thread_names(p)
objs = {row[5] for row in p["samples"] if names.get(row[1]) == "waiter" and row[5] >= 0}
kinds = {p["objects"][o].get("lock_kind") for o in objs}
wp.check(kinds == {"rust-mutex"}, f"the waiter's lock is classified as a Rust std Mutex: {kinds}")
cs, _ = wp.share_with_function(p, "cruncher", "rust_locks::checksum", "on-cpu")
wp.check(cs >= 90, f"cruncher's CPU time is in rust_locks::checksum: {cs:.0f}%")
sl, _ = wp.shares(p, "holder")
wp.near(sl.get("sleep", 0), 100, 10, "holder sleeping %")
bins = [b for b in p["metadata"]["binaries"] if b["path"].endswith("/rust-locks")]
wp.check(bins and bins[0]["has_debuginfo"], "the Rust binary has debug info (profile keeps it)")

# The program's own frames against eu-stack -i -s on the same live process:
# the same files, lines and inline levels (eu-stack leaves Rust names
# mangled, so names are compared only where they read the same), and a
# file:line on every frame for which eu-stack has one.
if shutil.which("eu-stack"):
    import json
    import subprocess
    import time
    v = subprocess.Popen([exe, "3"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.7)
        dj = json.loads(wp.run([wp.WALLPROF, "dump", "--json", "-p", str(v.pid)]).stdout)
        eu = wp.eu_stack(v.pid)
    finally:
        v.wait()
    oracle = {tid: [[f["module"].endswith("/rust-locks"), os.path.basename(f["file"] or ""), f["line"]]
                    for f in frames] for tid, frames in eu.items()}
    for t in dj["threads"]:
        if t["name"] not in ("holder", "waiter"):
            continue
        ours = [(os.path.basename(f["file"] or ""), f["line"] or 0) for f in t["frames"]
                if (f["module"] or "") == "rust-locks"]
        theirs = [(f or "", ln) for own, f, ln in oracle.get(t["tid"], []) if own]
        wp.check(ours == theirs and ours and all(f for f, _ in ours),
                 f"{t['name']}: own frames with file:line as eu-stack's ({len(ours)}):\n"
                 f"  wallprof {ours}\n  eu-stack {theirs}")
else:
    print("note: eu-stack is not installed: the comparison with it is skipped")
wp.done()
