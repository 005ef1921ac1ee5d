#!/usr/bin/env python3
"""Every output format, checked by its real consumer or an independent
parser: the SVG flame graph and speedscope in headless Chromium (with
screenshots, and a click that zooms), pprof decoded by the npm pprof-format
package, the Chrome trace events and speedscope files validated against
JSON schemas with ajv; folded stacks, report --format=json and diff checked
against the known truth of the mixed target."""
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import threading

import wp

d = wp.tmpdir()
prof = os.path.join(d, "mixed.json")
r = wp.run([wp.WALLPROF, "record", "-q", "-F", "99", "-o", prof, "--", wp.target("mixed"), "2"])
wp.check(r.returncode == 3, f"recorded mixed: {r.returncode}")
p = wp.load(prof)
names = wp.thread_names(p)
n = len(p["samples"])
period = 10**9 // 99

def convert(out, *extra):
    c = wp.run([wp.WALLPROF, "convert", prof, "-o", out, *extra])
    wp.check(c.returncode == 0 and os.path.getsize(out) > 0, f"convert -o {os.path.basename(out)} {' '.join(extra)}: {c.returncode} {c.stderr.strip()}")
    return out

svg = convert(os.path.join(d, "mixed.svg"))
svg_threads = convert(os.path.join(d, "threads.svg"), "--threads", "--state", "off-cpu")
ss = convert(os.path.join(d, "mixed.speedscope.json"))
tr = convert(os.path.join(d, "mixed.trace.json"))
pb = convert(os.path.join(d, "mixed.pb.gz"))
fo = convert(os.path.join(d, "mixed.folded"))

# Folded: every sample once, on-CPU samples of the worker in burn_cpu.
lines = open(fo).read().splitlines()
wp.check(sum(int(l.rsplit(" ", 1)[1]) for l in lines) == n, f"folded: counts add up to {n} samples")
# --state off-cpu: no on-CPU frame left, one root per thread.
text = open(svg_threads).read()
wp.check("[on-cpu]" not in text and "waiter (" in text and "feeder (" in text,
         "svg --threads --state off-cpu: thread roots, no on-CPU frames")

# speedscope: the format's own schema, then its viewer.
sd = json.load(open(ss))
wp.check(len(sd["profiles"]) == 5, f"speedscope: one profile per thread: {len(sd['profiles'])}")
total_w = sum(sum(x["weights"]) for x in sd["profiles"])
wp.check(total_w == n * period, f"speedscope: weights add up to {n} samples x {period} ns: {total_w}")
td = json.load(open(tr))
slices = [e for e in td["traceEvents"] if e["ph"] == "X"]
covered = sum(e["dur"] for e in slices if e["tid"] in names) * 1000
wp.check(abs(covered - n * period) <= n * period * 0.02, f"trace: state slices cover the sampled time: {covered / 1e9:.2f} s")
wp.check(any(e["name"] == "waiting for mutex lock" and names[e["tid"]] == "waiter" for e in slices),
         "trace: the waiter's slice says 'waiting for mutex lock'")

# A gzip-compressed profile: written by its name, read like any other.
gz = os.path.join(d, "mixed.json.gz")
wp.run([wp.WALLPROF, "record", "-q", "-o", gz, "--", wp.target("mixed"), "1"])
with open(gz, "rb") as f:
    wp.check(f.read(2) == b"\x1f\x8b", "record -o x.json.gz writes gzip")
import gzip
pg = json.load(gzip.open(gz))
rg = json.loads(wp.run([wp.WALLPROF, "report", "--format=json", gz]).stdout)
wp.check(rg["run"]["samples"] == len(pg["samples"]) > 400, f"report reads it: {rg['run']['samples']} samples")

browser = os.path.join(wp.ROOT, "tests", "browser")
node = shutil.which("node")
chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
if not node or not shutil.which("npm"):
    wp.skip("node and npm are needed for the format consumers (apt-get install nodejs npm)")
if not os.path.isdir(os.path.join(browser, "node_modules")):
    inst = wp.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=browser, timeout=600)
    if inst.returncode != 0:
        wp.skip(f"cannot install the npm packages of tests/browser: {inst.stderr.strip()[:200]}")

def check_js(*args, timeout=120):
    c = wp.run([node, os.path.join(browser, "check.mjs"), *args], timeout=timeout)
    if c.returncode != 0:
        print(c.stderr[-1500:])
    wp.check(c.returncode == 0, f"check.mjs {args[0]} ran")
    return json.loads(c.stdout) if c.returncode == 0 else {}

v = check_js("schema", tr, os.path.join(browser, "trace-event.schema.json"))
wp.check(v.get("ok") is True, f"trace: valid against the trace-event schema: {v.get('errors')}")
v = check_js("schema", ss, os.path.join(browser, "node_modules", "speedscope", "dist", "release", "file-format-schema.json"))
wp.check(v.get("ok") is True, f"speedscope: valid against speedscope's own schema: {v.get('errors')}")

pp = check_js("pprof", pb)
wp.check(pp.get("sampleTypes") == ["samples/count", "wall/nanoseconds"], f"pprof: sample types: {pp.get('sampleTypes')}")
wp.check(pp.get("values") == [n, n * period], f"pprof: {n} samples, {n * period} ns of wall time: {pp.get('values')}")
wp.check(pp.get("labelKeys") == ["state", "thread", "thread_id"], f"pprof: labels thread, thread_id, state: {pp.get('labelKeys')}")
wp.check(any(t.startswith("worker (") for t in pp.get("threads", [])), "pprof: the worker thread is a label")
wp.check("[on-cpu]" in pp.get("functions", []) and any(f.startswith("burn_cpu") for f in pp.get("functions", [])),
         "pprof: burn_cpu and the [on-cpu] state frame are functions")
# pprof names the program by the first mapping: the recorded program's,
# wherever its binary comes in the profile (clang's came after libc).
with open(prof) as f:
    rot = json.load(f)
rot["metadata"]["binaries"].append(rot["metadata"]["binaries"].pop(0))
with open(os.path.join(d, "rotated.json"), "w") as f:
    json.dump(rot, f)
c = wp.run([wp.WALLPROF, "convert", os.path.join(d, "rotated.json"), "-o", os.path.join(d, "rotated.pb.gz")])
main_file = check_js("pprof", os.path.join(d, "rotated.pb.gz")).get("mainFile") or ""
wp.check(c.returncode == 0 and main_file.endswith("/mixed") and (pp.get("mainFile") or "").endswith("/mixed"),
         f"pprof: the first mapping is the target's, its binary listed first or last: "
         f"{pp.get('mainFile')}, {main_file}")

if not os.access(chromium, os.X_OK):
    wp.skip(f"{chromium} not found: the browser checks need Chromium (apt-get install chromium)")

# Serve the files and speedscope's viewer over HTTP for the browser.
root = os.path.join(d, "www")
os.makedirs(root)
for f in (svg, ss):
    shutil.copy(f, root)
os.symlink(os.path.join(browser, "node_modules", "speedscope", "dist", "release"), os.path.join(root, "speedscope"))
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
handler = functools.partial(Quiet, directory=root)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()
base = f"http://127.0.0.1:{srv.server_address[1]}"

shots = os.path.join(wp.ROOT, "build", "test-views")
os.makedirs(shots, exist_ok=True)
z = check_js("svg", f"{base}/mixed.svg", os.path.join(shots, "flamegraph.png"), os.path.join(shots, "flamegraph-zoomed.png"), "worker")
wp.check(z.get("errors") == [], f"svg: no script errors: {z.get('errors')}")
wp.check(z.get("before") and z["before"] < 600 and z.get("after") == 1180,
         f"svg: clicking 'worker' zooms it to the full width: {z.get('before')} -> {z.get('after')} px")
wp.check(z.get("visibleAfter", 99) < z.get("visibleBefore", 0), f"svg: frames outside the zoomed one hidden: {z.get('visibleBefore')} -> {z.get('visibleAfter')}")
wp.check(os.path.getsize(os.path.join(shots, "flamegraph-zoomed.png")) > 5000, "svg: screenshots taken (build/test-views)")

s = check_js("speedscope", f"{base}/speedscope/index.html#profileURL={base}/mixed.speedscope.json", os.path.join(shots, "speedscope.png"))
wp.check(s.get("errors") == [], f"speedscope: no script errors: {s.get('errors')}")
wp.check("(1/5)" in s.get("text", "") and s.get("canvases", 0) >= 1,
         f"speedscope: the viewer loaded 5 thread profiles and drew them: {s.get('text', '')[:120]!r}")
srv.shutdown()

# report --format=json: the same truth as the text report.
j = json.loads(wp.run([wp.WALLPROF, "report", "--format=json", prof]).stdout)
th = {t["name"]: t for t in j["threads"]}
waiter_lock = next((x["share"] for x in th["waiter"]["states"] if x["state"] == "lock"), 0)
wp.near(100 * waiter_lock, 100, 10, "report --format=json: waiter in lock wait %")
wp.check(j["run"]["samples"] == n and any(f["function"].startswith("burn_cpu") for f in j["functions_self"]),
         "report --format=json: run totals and burn_cpu among self functions")

# diff: the same program twice changes little; a different one changes all.
prof2 = os.path.join(d, "mixed2.json")
wp.run([wp.WALLPROF, "record", "-q", "-o", prof2, "--", wp.target("mixed"), "2"])
prof3 = os.path.join(d, "parked.json")
wp.run([wp.WALLPROF, "record", "-q", "-o", prof3, "--", wp.target("parked"), "10", "500"])
same = wp.run([wp.WALLPROF, "diff", prof, prof2])
wp.check(same.returncode == 0 and "By state" in same.stdout, "diff of two runs of mixed")
by_state = {st: float(m) for m, st in
            re.findall(r"^\s+([+-]\d+\.\d) pts\s+(\S+)\s", same.stdout.split("Functions")[0], re.M)}
# On a loaded machine a busy thread waits for a CPU more in one run than in
# the other: on-cpu and runnable trade places, their sum does not move.
busy = by_state.pop("on-cpu", 0.0) + by_state.pop("runnable", 0.0)
moves = [abs(busy)] + [abs(v) for v in by_state.values()]
wp.check(len(moves) > 3 and max(moves) <= 5,
         f"same program: every state share within 5 points (on-cpu and runnable together): {moves}")
out = os.path.join(d, "diff.svg")
other = wp.run([wp.WALLPROF, "diff", "--top", "50", "-o", out, prof, prof3])
grew = other.stdout.split("Functions that grew")[1].split("Functions that shrank")[0]
shrank = other.stdout.split("Functions that shrank")[1]
wp.check("wake_work" in grew and "burn_cpu" in shrank, "diff mixed -> parked: wake_work grew, burn_cpu shrank")
wp.check(other.returncode == 0 and "grew" in open(out).read(), "diff -o diff.svg: a differential flame graph")
wp.done()
