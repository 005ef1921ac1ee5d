#!/usr/bin/env python3
"""Bad input and errors inside wallprof: hostile profile files (deep
nesting, indexes out of range, huge numbers, NULs, a million frames, cut
short), an output that fails while attached (/dev/full), and a process of
another user. Every time: a one-line error (and at most a hint), a
documented exit code, no crash, and the target never left stopped."""
import json
import os
import stat
import shutil
import subprocess
import time

import wp

d = wp.tmpdir()

# A small valid profile to start from.
good = os.path.join(d, "good.json")
r = wp.run([wp.WALLPROF, "record", "-q", "-o", good, "--", wp.target("mixed"), "1"])
wp.check(r.returncode == 3 and os.path.exists(good), f"a profile to mutate: {r.returncode}")
base = json.load(open(good))


def mutated(name, change):
    p = json.loads(json.dumps(base))
    change(p)
    path = os.path.join(d, name + ".json")
    with open(path, "w") as f:
        json.dump(p, f)
    return path


def raw(name, text):
    path = os.path.join(d, name + ".json")
    with open(path, "w") as f:
        f.write(text)
    return path


def set_first_sample(col, value):
    def change(p):
        p["samples"][0][col] = value
    return change


cases = {
    "nested 100,000 deep": raw("deep", "[" * 100000 + "]" * 100000),
    "object nested in samples": raw("deepobj", '{"format":"wallprof","version":2,"samples":[' + "[" * 50000 + "]" * 50000 + "]}"),
    "sample stack out of range": mutated("stack", set_first_sample(2, 10**9)),
    "sample state out of range": mutated("state", set_first_sample(3, 77)),
    "negative time": mutated("negtime", set_first_sample(0, -5)),
    "number beyond 64 bits": raw("bignum", json.dumps(base).replace('"samples": [[', '"samples": [[1' + "0" * 400 + ", ", 1)),
    "float as an index": mutated("floatidx", set_first_sample(2, 1.5)),
    "frame index out of range": mutated("frameidx", lambda p: p["stacks"][0]["frames"].insert(0, 2**31)),
    "NUL inside a function name": mutated("nul", lambda p: p["frames"][0].__setitem__("function", "a\u0000b")),
    "a million frames, no samples": mutated("million", lambda p: (p["frames"].extend([p["frames"][0]] * 1000000), p.__setitem__("samples", []))),
    "a 20 MB function name": mutated("longname", lambda p: p["frames"][0].__setitem__("function", "x" * 20000000)),
    "threads not a list": mutated("threads", lambda p: p.__setitem__("threads", 42)),
    "cut in the middle": raw("cut", json.dumps(base)[: len(json.dumps(base)) // 2]),
    "binary garbage": raw("garbage", "\x00\xff\xfe" * 1000),
}
for what, path in cases.items():
    for cmd in (["report", path], ["convert", path, "-o", os.path.join(d, "out.folded")]):
        t0 = time.time()
        r = wp.run([wp.WALLPROF, *cmd], timeout=120)
        lines = r.stderr.strip().splitlines()
        ok_exit = r.returncode == 0 or (r.returncode == 2 and 1 <= len(lines) <= 2 and lines[0].startswith("wallprof: "))
        wp.check(ok_exit and r.returncode >= 0,
                 f"{cmd[0]} of a profile with {what}: exit {r.returncode} in {time.time() - t0:.1f} s, {lines[:2]}")

# An output that fails while attached: the error is said, the target is
# detached and runs on, never stopped.
t = subprocess.Popen([wp.target("mixed"), "4"], stdout=subprocess.PIPE, text=True)
wp.wait_for(lambda: len(wp.task_states(t.pid)) == 5)
# A /dev/full of our own (a broken set-up once left a regular file there).
full = "/dev/full"
if not os.path.exists(full) or not stat.S_ISCHR(os.stat(full).st_mode):
    full = os.path.join(wp.tmpdir(), "full")
    os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
r = wp.run([wp.WALLPROF, "record", "-q", "-d", "1", "-o", full, "-p", str(t.pid)])
print("-- record -o /dev/full: exit 2 and the reason")
wp.one_error(r, 2, "No space left")
states = wp.task_states(t.pid)
wp.check(states and all(st not in "tT" for st in states.values()), f"the target was not left stopped: {states}")
out, _ = t.communicate(timeout=30)
wp.check(t.returncode == 3 and "rounds done" in out, "the target finished normally")

# A process of another user: what failed, and what to do.
if os.geteuid() != 0 or not shutil.which("setpriv"):
    print("note: not root or no setpriv: another user's process not tested")
else:
    t = subprocess.Popen([wp.target("mixed"), "2"], stdout=subprocess.DEVNULL)
    drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"]
    for cmd in (["record", "-q", "-d", "1", "-o", "/dev/null", "-p", str(t.pid)], ["dump", "-p", str(t.pid)]):
        r = wp.run(drop + [wp.WALLPROF, *cmd])
        print(f"-- {cmd[0]} of root's process as nobody: the reason and what to do")
        wp.check(len(wp.one_error(r, 2, "not permitted")) == 2, "a hint follows")
    t.wait(timeout=30)
    wp.check(t.returncode == 3, f"that process finished normally: {t.returncode}")
wp.done()
