#!/usr/bin/env python3
"""The report's "Before trusting this report" says what is missing, once
per cause, with the binaries it concerns and what fixes it; and nothing
when nothing is. The same CPU-bound program (tests/targets/spin.c) built
three ways, each recorded for about 1.5 s:

- -O2 -g: no warning about symbols, debug info or stacks;
- -O2 without -g: functions named from .symtab, but "no debug info" (no
  file:line, no inlines), once; samples at different pcs of one function
  are one stack in "Top stacks";
- -O2 -g, then strip: a PIE keeps only its dynamic symbols, so its frames
  have addresses only; said once, as "only its dynamic symbols", and the
  hot function is one row (named by its start from the unwind table), not
  one row per sampled address.
"""
import json
import os
import re
import shutil
from collections import Counter

import wp

SRC = os.path.join(wp.ROOT, "tests", "targets", "spin.c")
d = wp.tmpdir()


def build(name, flags, strip=False):
    out = os.path.join(d, name)
    r = wp.run(["cc", "-O2", "-D_GNU_SOURCE", "-o", out, SRC, "-lpthread"] + flags)
    wp.check(r.returncode == 0, f"built {name}: {r.stderr.strip()[:200]}")
    if strip:
        wp.run(["strip", out])
    return out


def report(binary):
    prof = binary + ".json"
    r = wp.run([wp.WALLPROF, "record", "-q", "-F", "199", "-o", prof, "--", binary, "1400"])
    wp.check(r.returncode == 0, f"recorded {os.path.basename(binary)}: {r.returncode}")
    return wp.run([wp.WALLPROF, "report", prof]).stdout


def trust(text):
    m = re.search(r"Before trusting this report\n(.*?)\n\n", text + "\n\n", re.S)
    return m.group(1) if m else ""


full = report(build("spin-g", ["-g"]))
t = trust(full)
wp.check("no function name" not in t and "no debug info" not in t and "cut short" not in t,
         f"-O2 -g: nothing to say about symbols or stacks: {t!r}")
wp.check(re.search(r"spin_work\s+(9\d\.\d|100\.0)%", full) is not None, "-O2 -g: spin_work is the hot function")

nodebug = report(build("spin-nodebug", []))
t = trust(nodebug)
wp.check(t.count("no debug info for") == 1 and "spin-nodebug" in t and "no function name" not in t,
         f"-O2: 'no debug info' once, naming the binary, names still there: {t!r}")
wp.check(re.search(r"spin_work\s+(9\d\.\d|100\.0)%", nodebug) is not None, "-O2: spin_work still named (.symtab)")
# Samples at different pcs of spin_work (no lines to tell them apart) are one
# stack: Top stacks lists each stack and state once.
blocks = [re.sub(r"^\s*[\d.]+%\s+\S+ \S+\s+\(\d+ samples\)", "", b.strip())
          for b in nodebug.split("Top stacks\n", 1)[-1].split("Before trusting")[0].split("\n\n") if b.strip()]
wp.check(len(blocks) == len(set(blocks)) and blocks,
         f"-O2: each stack and state once in Top stacks: {len(blocks)} entries, {len(set(blocks))} distinct")

stripped = report(build("spin-stripped", ["-g"], strip=True))
t = trust(stripped)
wp.check(t.count("no function name") == 1 and "spin-stripped (only its dynamic symbols)" in t,
         f"stripped: addresses only, said once with the cause: {t!r}")
wp.check(t.count("no debug info for") == 1, "stripped: and no debug info, once")
self_rows = re.search(r"Top functions by self wall time.*?\n((?:    .*\n)+)", stripped)
rows = [l for l in (self_rows.group(1) if self_rows else "").splitlines() if "spin-stripped+0x" in l]
nm = wp.run(["nm", build("spin-ref", ["-g"])]).stdout
start = int(re.search(r"^([0-9a-f]+) t spin_work$", nm, re.M).group(1), 16)
wp.check(len(rows) == 1 and f"spin-stripped+0x{start:x}" in rows[0],
         f"the stripped hot function is one row, at spin_work's start 0x{start:x}: {rows}")

# Code no unwind table covers, in a stripped binary: named by its own
# address, not as part of the function whose table entry comes before it
# (every Go function of Debian's restic was "restic+0x2380", a one-byte
# entry of its C runtime; busybox's functions took their neighbours' names).
nofde = os.path.join(d, "nofde")
shutil.copy(wp.target("nofde"), nofde)
m = re.search(r"^([0-9a-f]+) T nofde_spin$", wp.run(["nm", nofde]).stdout, re.M)
spin_at = int(m.group(1), 16) if m else 0
wp.run(["strip", nofde])
prof = os.path.join(d, "nofde.json")
wp.run([wp.WALLPROF, "record", "-q", "-F", "199", "-o", prof, "--", nofde, "100"])
pj = wp.load(prof)
leaves = Counter(wp.functions_of(pj, row)[0] for row in pj["samples"] if wp.functions_of(pj, row))
in_loop = sum(n for name, n in leaves.items()
              if re.fullmatch(r"nofde\+0x([0-9a-f]+)", name) and 0 <= int(name.split("+0x")[1], 16) - spin_at < 6)
wp.check(spin_at and sum(leaves.values()) > 50 and in_loop >= sum(leaves.values()) - 3,
         f"code no FDE covers is named by its own address (nofde_spin at 0x{spin_at:x}): {leaves.most_common(4)}")

# The symbol cache: a second recording of the same binaries, its frames
# read from the cache, says the same about them as the first (the cache
# once made every binary whose frames all came from it "without debug
# info", libc.so.6 with its debug symbols installed among them).
cache = os.path.join(d, "cache")
env = dict(os.environ, WALLPROF_CACHE_DIR=cache)
trusts = []
for run in range(2):
    prof = os.path.join(d, f"cached-{run}.json")
    r = wp.run([wp.WALLPROF, "record", "-q", "-F", "99", "-o", prof, "--", wp.target("mixed"), "1"], env=env)
    rep = wp.run([wp.WALLPROF, "report", prof], env=env).stdout
    # What it says of the binaries' debug info, not of the run: which
    # addresses lack a name depends on where the samples fell (CI beside
    # a CPU hog once caught a frame no symbol covers in one run only).
    trusts.append([l for l in rep.splitlines() if "no debug info" in l])
wp.check(os.path.isdir(cache) and trusts[0] == trusts[1],
         f"with the symbol cache warm, the same said of the binaries as cold: {trusts}")
# And of a binary with only dynamic symbols (the cache once called it
# stripped, as MariaDB's mariadbd, libstdc++ and liburing were called).
said = []
for run in range(2):
    prof = os.path.join(d, f"cached-stripped-{run}.json")
    wp.run([wp.WALLPROF, "record", "-q", "-F", "199", "-o", prof, "--", os.path.join(d, "spin-stripped"), "400"],
           env=env)
    t = trust(wp.run([wp.WALLPROF, "report", prof], env=env).stdout)
    said.append(("spin-stripped (only its dynamic symbols)" in t, "spin-stripped (stripped)" in t))
wp.check(said == [(True, False), (True, False)],
         f"stripped binary, cold then warm cache: 'only its dynamic symbols' both times, never 'stripped': {said}")

# A frame in code no symbol covers (mixed's PLT, at its start +0x1020) in a
# binary with a full symbol table: said as such, without advice to install
# debug symbols that would not name it.
pj = json.load(open(os.path.join(d, "cached-1.json")))
mixed = [i for i, f in enumerate(pj["frames"]) if f.get("module") == "mixed"]
if mixed:
    pj["frames"][mixed[0]]["function"] = "mixed+0x1020"
    pj["frames"][mixed[0]]["file"] = None
    with open(os.path.join(d, "plt.json"), "w") as f:
        json.dump(pj, f)
    t = trust(wp.run([wp.WALLPROF, "report", os.path.join(d, "plt.json")]).stdout)
    wp.check("fell in code no symbol covers in mixed" in t and "install their debug symbols" not in t,
             f"a frame no symbol covers, in a binary with symbols: said so, no advice to install: {t!r}")
else:
    wp.check(False, "the recording of mixed has frames of mixed")
wp.done()
