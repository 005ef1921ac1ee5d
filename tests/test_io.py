#!/usr/bin/env python3
"""Attribution of blocked time to files and sockets: a reader blocked on a
named FIFO fed every 100 ms and a journal written and fsynced every 20 ms
(tests/targets/io.c), and a TCP client waiting on its server over loopback
(tests/targets/tcp.c). The report names the paths and the addresses."""
import json
import os
import re
import subprocess
import time
from collections import Counter

import wp

d = wp.tmpdir()
# A real disk for the journal, so that fsync has work to do.
work = os.path.join(wp.ROOT, "build", "test-io")
os.makedirs(work, exist_ok=True)
fifo, journal = os.path.join(work, "feed.fifo"), os.path.join(work, "journal.log")

# Sampling only: the FIFO reader's time goes to the FIFO by path.
prof = os.path.join(d, "io.json")
r = wp.run([wp.WALLPROF, "record", "-q", "-F", "99", "-o", prof, "--", wp.target("io"), work, "2"])
wp.check(r.returncode == 0 and r.stdout.startswith("io: "), f"io ran normally: {r.returncode} {r.stdout.strip()!r}")
p = wp.load(prof)
names = wp.thread_names(p)
reader = [row for row in p["samples"] if names.get(row[1]) == "fifo-reader"]
on_fifo = [row for row in reader if row[5] >= 0 and p["objects"][row[5]]["name"] == fifo]
wp.check(len(reader) >= 150, f"fifo-reader sampled for 2 s: {len(reader)}")
wp.near(100.0 * len(on_fifo) / max(1, len(reader)), 100, 10, "fifo-reader's samples blocked on the FIFO by path %")
rep = wp.run([wp.WALLPROF, "report", prof]).stdout
wp.check("I/O by file and socket" in rep and fifo in rep, "report: I/O by file names the FIFO's path")
wp.check("read_feed" in rep, "report: the FIFO wait's stack shows read_feed")
# The stack shown under a file is the one most of its samples had, not the
# last one's (MariaDB's redo log showed a destructor that one sample of 257
# had): the FIFO's last sample given the stack of a thread that never
# touches it, the FIFO still shows read_feed, and not that thread's frames.
other = next((row for row in p["samples"] if names.get(row[1]) == "fifo-feeder"), None)
if on_fifo and other:
    on_fifo[-1][2] = other[2]
    with open(os.path.join(d, "io-last.json"), "w") as f:
        json.dump(p, f)
    rep_last = wp.run([wp.WALLPROF, "report", os.path.join(d, "io-last.json")]).stdout
    # The FIFO's entry: up to the next entry or the end of its section.
    block = rep_last.split(f"    {fifo}\n", 1)[-1].split("\n\n", 1)[0].split("\n    /", 1)[0]
    wp.check("read_feed" in block and "feeder" not in block,
             f"report: the FIFO's stack is its samples' most common one, not the last one's:\n{block}")
else:
    wp.check(False, f"io.json has FIFO samples ({len(on_fifo)}) and a feeder sample ({other is not None})")

# Exact: every write and fsync of the journal, by path, with bytes.
prof2 = os.path.join(d, "io2.json")
r = wp.run([wp.WALLPROF, "record", "-q", "--syscalls", "-o", prof2, "--", wp.target("io"), work, "2"])
m = re.match(r"io: (\d+) lines, (\d+) records", r.stdout)
wp.check(r.returncode == 0 and m is not None, f"io ran normally under --syscalls: {r.stdout.strip()!r}")
lines, records = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
p2 = wp.load(prof2)
objs = {o["name"]: o for o in p2["objects"]}
j = objs.get(journal, {})
wp.check(j.get("traced_calls") == 2 * records, f"journal: one write and one fsync per record, {2 * records} calls: {j.get('traced_calls')}")
wp.check(j.get("bytes_written") == 4096 * records, f"journal: {4096 * records} bytes written: {j.get('bytes_written')}")
f = objs.get(fifo, {})
wp.check(f.get("bytes_read") == 8 * lines, f"FIFO: {8 * lines} bytes read: {f.get('bytes_read')}")
fs = {s["name"]: s for s in p2["syscalls"]}.get("fsync", {})
wp.check(fs.get("count") == records, f"fsync count = records ({records}): {fs.get('count')}")
rep2 = wp.run([wp.WALLPROF, "report", prof2]).stdout
wp.check(journal in rep2 and fifo in rep2, "report names both the journal and the FIFO")
wp.check("Traced syscalls (exact" in rep2 and re.search(r"\n\s+fsync\s+%d\s" % records, rep2) is not None,
         "report: traced syscalls table with the exact fsync count")

# A sample's call and its stack are of one moment. The journal thread goes
# from fsync (disk wait) to a 20 ms sleep: a thread that left its call
# between wallprof's look at /proc and the stop that followed was recorded
# with the call it had left and the stack of the next one, and that sample
# stood for the whole sleep (20 to 186 of about 4,000 in each of three
# runs before that was fixed).
# Each sample in fsync must have fsync innermost, each in a sleep
# nanosleep.
prof4 = os.path.join(d, "io999.json")
r = wp.run([wp.WALLPROF, "record", "-q", "-F", "999", "-o", prof4, "--", wp.target("io"), work, "4"])
wp.check(r.returncode == 0 and r.stdout.startswith("io: "), f"io ran normally at 999 Hz: {r.stdout.strip()!r}")
p4 = wp.load(prof4)
names4, calls4 = wp.thread_names(p4), p4["syscall_names"]
leaf_of = {"fsync": "fsync", "clock_nanosleep": "nanosleep"}
seen, wrong = Counter(), Counter()
for row in p4["samples"]:
    call = calls4.get(str(row[4]), "") if row[4] >= 0 else ""
    if names4.get(row[1]) != "journal" or call not in leaf_of:
        continue
    seen[call] += 1
    fns = wp.functions_of(p4, row)
    if not fns or leaf_of[call] not in fns[0]:
        wrong[(call, fns[0] if fns else "")] += 1
wp.check(seen["clock_nanosleep"] > 1000 and not wrong,
         f"journal at 999 Hz: every sample's call is its stack's innermost frame: {dict(seen)}, "
         f"disagreeing (call, innermost): {dict(wrong)}")

# TCP over loopback: the client's wait on its socket, by address.
prof3 = os.path.join(d, "tcp.json")
r = wp.run([wp.WALLPROF, "record", "-q", "-F", "99", "-o", prof3, "--", wp.target("tcp"), "2"])
m = re.match(r"tcp: server 127\.0\.0\.1:(\d+), client 127\.0\.0\.1:(\d+), (\d+) requests", r.stdout)
wp.check(r.returncode == 0 and m is not None, f"tcp ran normally: {r.stdout.strip()!r}")
sport, cport = (m.group(1), m.group(2)) if m else ("?", "?")
p3 = wp.load(prof3)
want = f"tcp 127.0.0.1:{cport} -> 127.0.0.1:{sport}"
names3 = wp.thread_names(p3)
client = [row for row in p3["samples"] if names3.get(row[1]) == "client"]
on_sock = [row for row in client if row[5] >= 0 and p3["objects"][row[5]]["name"] == want]
wp.near(100.0 * len(on_sock) / max(1, len(client)), 100, 10, f"client's samples blocked on '{want}' %")
rep3 = wp.run([wp.WALLPROF, "report", prof3]).stdout
wp.check(want in rep3, f"report names the socket by its addresses: {want}")

# dump while it runs: the client's call decoded with the socket.
t = subprocess.Popen([wp.target("tcp"), "3"], stdout=subprocess.PIPE, text=True)
time.sleep(0.5)
# The client spends almost all its time in recvfrom; a dump may still
# catch it between calls (or, on a loaded machine, waiting for a CPU), so
# look up to twenty times, at the client's own block of the dump.


def client_block(text):
    """The lines of the dump from the client's Thread line to the next thread."""
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith("Thread ") and '"client"' in l), None)
    if start is None:
        return ""
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("Thread ")), len(lines))
    return "\n".join(lines[start:end])


blocks = []
for _ in range(20):
    blocks.append(client_block(wp.run([wp.WALLPROF, "dump", "-p", str(t.pid)]).stdout))
    if "in recvfrom(fd " in blocks[-1]:
        break
    time.sleep(0.05)
out, _ = t.communicate(timeout=30)
m = re.match(r"tcp: server 127\.0\.0\.1:(\d+), client 127\.0\.0\.1:(\d+)", out)
wp.check(m, f"the target says its addresses: {out!r}")
if m:
    want = f"tcp 127.0.0.1:{m.group(2)} -> 127.0.0.1:{m.group(1)}"
    wp.check("in recvfrom(fd " in blocks[-1] and want in blocks[-1],
             f"dump: the client in recvfrom on '{want}' ({len(blocks)} dumps): {blocks[-1]!r}")
wp.done()
