#!/usr/bin/env python3
"""report: the share of each thread's blocked time spent waiting on
another recorded process, and on which. Truth by construction, recorded
with -f:

1. a pipeline: the consumer sleeps 1 s, then blocks reading the pipe for
   about 1 s until the producer (asleep 2 s) writes: about half of the
   consumer's blocked time is on the producer, through the pipe;
2. a Unix socket: a child connects to its parent's server and waits
   about 1 s for the reply: nearly all of its blocked time is on the
   parent (sock_diag's peer);
3. the same over TCP and UDP on loopback.

Shares are within 0.12 of the truth: a sample's state is read at a tick,
so the edges of each wait cost up to a tick each, and a loaded machine
delays the processes' own sleeps."""
import json
import os
import sys

import wp

py = sys.executable
d = wp.tmpdir()


def record(cmd):
    prof = os.path.join(d, "p.json")
    r = wp.run([wp.WALLPROF, "record", "-F", "99", "-f", "-o", prof, "--", "sh", "-c", cmd], timeout=120)
    wp.check(r.returncode == 0, f"record -f exits 0: {r.stderr.strip()[-200:]}")
    p = wp.load(prof)
    rep = wp.run([wp.WALLPROF, "report", "--format=json", prof])
    text = wp.run([wp.WALLPROF, "report", prof]).stdout
    return p, json.loads(rep.stdout), text


def pid_titled(p, marker):
    pids = [pr["pid"] for pr in p.get("processes", [])
            if marker in pr.get("title", "") and "python" in pr.get("exe", "")]
    return pids[0] if len(pids) == 1 else None


# 1. producer | consumer
producer = "import sys, time; time.sleep(2); sys.stdout.write('x'); sys.stdout.flush()  # producer"
consumer = "import sys, time; time.sleep(1); sys.stdin.read()  # consumer"
p, rep, text = record(f'"{py}" -c "{producer}" | "{py}" -c "{consumer}"')
prod, cons = pid_titled(p, "# producer"), pid_titled(p, "# consumer")
wp.check(prod and cons, f"both processes recorded with their titles: {prod} {cons}")
rows = [r for r in rep["waiting_on_processes"] if r["tid"] == cons]
wp.check(len(rows) == 1 and rows[0]["peer_pid"] == prod and rows[0]["object"].startswith("pipe:["),
         f"the consumer waited on the producer, through a pipe: {rows}")
if rows:
    wp.near(rows[0]["share"], 0.5, 0.12, "  share of the consumer's blocked time on the producer")
    wp.near(rows[0]["blocked_samples"] / 99, 2.0, 0.3, "  the consumer's blocked time, s")
wp.check(not [r for r in rep["waiting_on_processes"] if r["tid"] == prod and r["peer_pid"] == cons],
         "the producer never waited on the consumer")
wp.check("Waiting on other recorded processes" in text and f"on process {prod} (" in text,
         "the text report has the section, naming the producer")

# 2. a Unix socket to the parent
script = r'''
import os, socket, sys, time
path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX); srv.bind(path); srv.listen(1)
kid = os.fork()
if kid == 0:
    c = socket.socket(socket.AF_UNIX); c.connect(path); c.recv(4)
    os._exit(0)
open(path + ".pids", "w").write(f"{os.getpid()} {kid}")
conn, _ = srv.accept()
time.sleep(1)
conn.send(b"ok")
os.wait()
'''
p, rep, text = record(f'"{py}" -c \'{script}\' {os.path.join(d, "s.sock")}')
with open(os.path.join(d, "s.sock.pids")) as f:
    parent, kid = map(int, f.read().split())
rows = [r for r in rep["waiting_on_processes"] if r["tid"] == kid]
wp.check(len(rows) == 1 and rows[0]["peer_pid"] == parent and rows[0]["object"].startswith("unix"),
         f"the child waited on its parent, through the Unix socket: {rows}")
if rows:
    # The parent has no descriptor for its end until its accept returns,
    # which on a slow run (sanitizers) can come after the child's first
    # sampled wait: the lookup is tried again every 100 ms, so up to about
    # a tenth of the second may go unattributed.
    wp.near(rows[0]["share"], 0.95, 0.07, "  share of the child's blocked time on the parent")
# 3. TCP and UDP on loopback: a child waits about 1 s for its parent's
#    answer (a UDP server bound, not connected back). The peer is asked of
#    sock_diag by the connection's addresses.
script = r'''
import os, socket, sys, time
tcp = sys.argv[1] == "tcp"
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
srv.bind(("127.0.0.1", 0))
if tcp:
    srv.listen(1)
port = srv.getsockname()[1]
kid = os.fork()
if kid == 0:
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
    c.connect(("127.0.0.1", port))
    c.send(b"x")
    c.recv(4)
    os._exit(0)
open(sys.argv[2], "w").write(f"{os.getpid()} {kid}")
if tcp:
    conn, _ = srv.accept(); conn.recv(1); time.sleep(1); conn.send(b"ok")
else:
    _, addr = srv.recvfrom(1); time.sleep(1); srv.sendto(b"ok", addr)
os.wait()
'''
for proto in ("tcp", "udp"):
    pids = os.path.join(d, proto + ".pids")
    p, rep, text = record(f'"{py}" -c \'{script}\' {proto} {pids}')
    with open(pids) as f:
        parent, kid = map(int, f.read().split())
    rows = [r for r in rep["waiting_on_processes"] if r["tid"] == kid]
    wp.check(len(rows) == 1 and rows[0]["peer_pid"] == parent and rows[0]["object"].startswith(proto),
             f"{proto}: the child waited on its parent: {rows}")
    if rows:
        wp.near(rows[0]["share"], 1.0, 0.12, f"  {proto}: share of the child's blocked time on the parent")
wp.done()
