#!/usr/bin/env python3
"""record -o FILE.folded: Brendan Gregg's format, root frame "NAME (TID)",
a synthetic state frame at the leaf, counts that add up to the samples."""
import os
import re

import wp

d = wp.tmpdir()
folded = os.path.join(d, "m.folded")
js = os.path.join(d, "m.json")
r = wp.run([wp.WALLPROF, "record", "-q", "-o", folded, "--", wp.target("mixed"), "1"])
wp.check(r.returncode == 3, "record -o .folded runs the command")
lines = open(folded).read().splitlines()
pat = re.compile(r"^(\S+) \((\d+)\);(.+);\[([^\]]+)\] (\d+)$")
bad = [l for l in lines if not pat.match(l)]
wp.check(lines and not bad, f"every line is ROOT (TID);...;[state] COUNT: {bad[:2]}")
total = sum(int(l.rsplit(" ", 1)[1]) for l in lines)
wp.check(90 * 5 <= total <= 102 * 5, f"counts add up to ~1 s x 99 Hz x 5 threads: {total}")
leaves = {pat.match(l).group(4) for l in lines if pat.match(l)}
wp.check({"on-cpu", "blocked: read", "blocked: futex", "blocked: clock_nanosleep"} <= leaves, f"leaf states: {sorted(leaves)}")
wp.check(any(";worker;burn_cpu" in l and l.split(";")[-1].startswith("[on-cpu]") for l in lines),
         "worker's CPU time ends in burn_cpu;[on-cpu]")
wp.check(any(";lll_mutex_lock_optimized;" in l for l in lines), "inlined frames appear as frames")
keys = [l.rsplit(" ", 1)[0] for l in lines]
wp.check(len(keys) == len(set(keys)), "each distinct stack appears once")
txt = os.path.join(d, "m.txt")
r = wp.run([wp.WALLPROF, "record", "-q", "-o", txt, "--", wp.target("mixed"), "0.4"])
wp.check(pat.match(open(txt).readline().strip()) is not None, ".txt also gives folded stacks")
r = wp.run([wp.WALLPROF, "record", "-q", "--format", "folded", "-o", js, "--", wp.target("mixed"), "0.4"])
wp.check(pat.match(open(js).readline().strip()) is not None, "--format folded wins over the extension")
wp.done()
