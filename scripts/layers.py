#!/usr/bin/env python3
"""The modules of src/ form layers: no cycle among them (make style).

A module is a .c file and its header (src/views/*.c and views.h are one
module, "views"); a module depends on each of ours that its .c or .h
includes. Prints every cycle, with the edges that close it, and exits 1
if there is one.
"""
import os
import re
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
deps = {}
for d in ("src", "src/views", "include"):
    for f in sorted(os.listdir(os.path.join(root, d))):
        if not f.endswith((".c", ".h")):
            continue
        mod = "views" if d == "src/views" else f[:-2]
        with open(os.path.join(root, d, f)) as fh:
            text = fh.read()
        for inc in re.findall(r'^#include "([a-z_0-9]+)\.h"', text, re.M):
            if inc != mod and os.path.exists(os.path.join(root, "include", inc + ".h")):
                deps.setdefault(mod, set()).add(inc)

# Strongly connected components (Tarjan), iteratively.
index, low, on_stack, stack, cycles = {}, {}, set(), [], []
for start in sorted(deps):
    if start in index:
        continue
    work = [(start, iter(sorted(deps.get(start, ()))))]
    index[start] = low[start] = len(index)
    stack.append(start)
    on_stack.add(start)
    while work:
        v, it = work[-1]
        w = next(it, None)
        if w is not None:
            if w not in index:
                index[w] = low[w] = len(index)
                stack.append(w)
                on_stack.add(w)
                work.append((w, iter(sorted(deps.get(w, ())))))
            elif w in on_stack:
                low[v] = min(low[v], index[w])
            continue
        work.pop()
        if work:
            low[work[-1][0]] = min(low[work[-1][0]], low[v])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

for comp in cycles:
    print("layers: these modules include each other: " + " ".join(comp))
    for m in comp:
        print("  %s -> %s" % (m, " ".join(sorted(d for d in deps[m] if d in comp))))
sys.exit(1 if cycles else 0)
