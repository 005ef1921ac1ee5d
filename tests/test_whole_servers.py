#!/usr/bin/env python3
"""Whole servers, the way they run: trees of processes.

- nginx (master and two workers, sendfile on), already running: wallprof
  attaches to the master with -f and --syscalls=sendfile, and so to the
  workers it had forked before; ab fetches a 100,000-byte file 300 times.
  Oracles: the file's size times ab's count of requests is the bytes the
  served file gave to sendfile; every worker is profiled, under its title.
  Then --syscalls=epoll_wait: each worker's kept waits list its epoll's
  interest list, which holds the listening socket at the descriptor ss(8)
  gives.
- A shell that starts 2,000 short-lived children (two alive at a time)
  under record -f: wallprof's peak memory (GNU time) stays under 100 MB,
  and every child is in the profile. Likewise 1,000 forks alive at once
  under -f at 999 Hz, and a script that execs itself 300 times at 999 Hz.
- PostgreSQL under pgbench -C (a new connection, so a new backend process,
  for every transaction), attached through its postmaster with -f:
  every auxiliary process there under its title, peak memory under 150 MB,
  and the report shows the server as one program.
The memory bounds are the plain build's; under ASan (SANITIZE=...), whose
shadow memory and quarantine are counted too, they are four times that plus
the quarantine, which these runs cap (wp.memory_env).
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import wp

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
d = wp.tmpdir()
os.chmod(d, 0o755)
if wp.sanitized():
    print("note: built with sanitizers: the memory bounds are four times the plain build's, plus ASan's quarantine capped at"
          f" {wp.ASAN_QUARANTINE_MB} MB")


def peak_kb(time_file):
    with open(time_file) as f:
        return int(f.read().split()[-1])


# ---- nginx ----
if not os.path.exists(NGINX) or not shutil.which("ab"):
    print("note: nginx or ab is not installed ('make deps' installs them): the nginx part is skipped")
else:
    www = os.path.join(d, "www")
    os.makedirs(www)
    size = 100000
    with open(os.path.join(www, "blob.bin"), "wb") as f:
        f.write(os.urandom(size))
    os.chmod(www, 0o755)
    os.chmod(os.path.join(www, "blob.bin"), 0o644)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    conf = os.path.join(d, "nginx.conf")
    temps = "".join(f"    {k}_temp_path {d}/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    with open(conf, "w") as f:
        f.write(f"worker_processes 2;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n"
                f"events {{ worker_connections 512; }}\nhttp {{\n    access_log off;\n    sendfile on;\n"
                f"{temps}    server {{ listen 127.0.0.1:{port}; root {www}; }}\n}}\n")
    master = subprocess.Popen([NGINX, "-e", os.path.join(d, "error.log"), "-c", conf, "-g", "daemon off;"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wp.wait_for(lambda: len(os.popen(f"pgrep -P {master.pid}").read().split()) == 2, 10)
        prof = os.path.join(d, "nginx.json")
        # Recording ends when ab is done (Ctrl-C), not after a fixed time:
        # on a loaded machine ab may take longer than any bound chosen.
        rec = subprocess.Popen([wp.WALLPROF, "record", "-q", "-f", "--syscalls=sendfile",
                                "-o", prof, "-p", str(master.pid)], stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        ab = wp.run(["ab", "-q", "-n", "300", "-c", "4", f"http://127.0.0.1:{port}/blob.bin"], timeout=60)
        time.sleep(0.5)
        rec.send_signal(signal.SIGINT)
        _, err = rec.communicate(timeout=60)
        done = int(re.search(r"Complete requests:\s+(\d+)", ab.stdout).group(1))
        wp.check(rec.returncode == 0 and done == 300, f"record -f -p master: {rec.returncode}; ab: {done} requests")
        p = wp.load(prof)
        titles = sorted(x["title"] for x in p["processes"])
        wp.check(titles.count("nginx: worker process") == 2 and any(t.startswith("nginx: master") for t in titles),
                 f"master and both workers, by title: {titles}")
        workers = {x["pid"] for x in p["processes"] if x["title"] == "nginx: worker process"}
        sampled = {t["pid"] for t in p["threads"]}
        wp.check(workers <= sampled, f"both workers sampled: {workers} in {sampled}")
        names = p["syscall_names"]
        ew = [r for r in p["samples"] if r[1] in workers and names.get(str(r[4])) == "epoll_wait"]
        wp.check(len(ew) > 100, f"the workers wait in epoll_wait: {len(ew)} samples")
        blob = [o for o in p["objects"] if o["name"].endswith("/blob.bin")]
        got = sum(o.get("bytes_read", 0) for o in blob)
        wp.check(got == size * done, f"sendfile read {got} bytes of blob.bin: {size} x {done} = {size * done}")
        sent = sum(o.get("bytes_written", 0) for o in p["objects"] if o["kind"] == "socket")
        wp.check(sent == size * done, f"and wrote them to the sockets: {sent}")

        # The workers' epoll_wait, traced: each kept wait names the epoll's
        # interest list, which holds the listening socket at the
        # descriptor ss(8) gives for each worker.
        prof = os.path.join(d, "nginx-epoll.json")
        rec = subprocess.Popen([wp.WALLPROF, "record", "-q", "-f", "--syscalls=epoll_wait",
                                "-o", prof, "-p", str(master.pid)], stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        wp.run(["ab", "-q", "-n", "50", "-c", "2", f"http://127.0.0.1:{port}/blob.bin"], timeout=60)
        time.sleep(0.5)
        rec.send_signal(signal.SIGINT)
        rec.communicate(timeout=60)
        ss = wp.run(["ss", "-Hltnp", f"sport = :{port}"]).stdout
        lfd = {int(pid): int(fd) for pid, fd in re.findall(r"pid=(\d+),fd=(\d+)", ss)}
        p = wp.load(prof)
        sets = {}
        for e in p["events"]:
            if e["syscall"] == "epoll_wait" and e["tid"] in workers and "wait_set" in e:
                sets.setdefault(e["tid"], []).append(e["wait_set"])
        ok = {w: bool(sets.get(w)) and all(re.search(rf"(^|, )fd {lfd.get(w)} in\b", x) for x in sets[w])
              for w in workers}
        wp.check(workers <= set(lfd) and all(ok.values()),
                 f"each worker's kept epoll_wait lists the listening socket (ss: {lfd}): {ok}, "
                 f"{ {w: sets.get(w, [])[:2] for w in workers} }")
    finally:
        master.send_signal(signal.SIGQUIT)
        master.wait(timeout=30)

# ---- 2,000 short-lived children ----
script = os.path.join(d, "churn.sh")
with open(script, "w") as f:
    f.write("i=0\nwhile [ $i -lt 1000 ]; do\n\t/bin/true &\n\t/bin/true\n\twait\n\ti=$((i+1))\ndone\n")
prof = os.path.join(d, "churn.json")
tf = os.path.join(d, "time")
r = wp.run(["/usr/bin/time", "-f", "%M", "-o", tf, wp.WALLPROF, "record", "-q", "-f", "-o", prof,
            "--", "sh", script], timeout=300, env=wp.memory_env())
p = wp.load_after(r, prof)
children = [x for x in p["processes"] if x["exe"].endswith("/true")]
wp.check(r.returncode == 0 and len(children) == 2000, f"every child in the profile: {len(children)} of 2000")
wp.check(peak_kb(tf) < wp.memory_limit_kb(100), f"peak memory under {wp.memory_limit_kb(100) // 1024} MB: {peak_kb(tf) / 1024:.0f} MB")

# ---- 1,000 forks at once, and 300 execs of one process, at 999 Hz ----
r = wp.run(["/usr/bin/time", "-f", "%M", "-o", tf, wp.WALLPROF, "record", "-q", "-f", "-F", "999", "-o", prof,
            "--", wp.target("forker"), "1000", "5"], timeout=300, env=wp.memory_env())
p = wp.load_after(r, prof)
wp.check(r.returncode == 0 and len(p["processes"]) == 1001, f"1,000 forks at 999 Hz: {len(p['processes'])} processes")
wp.check(peak_kb(tf) < wp.memory_limit_kb(100), f"1,000 forks at 999 Hz: peak memory under {wp.memory_limit_kb(100) // 1024} MB: {peak_kb(tf) / 1024:.0f} MB")
reexec = os.path.join(d, "reexec.sh")
with open(reexec, "w") as f:
    f.write('#!/bin/sh\nif [ "$1" -gt 0 ]; then sleep 0.005; exec "$0" $(($1 - 1)); fi\necho done\n')
os.chmod(reexec, 0o755)
r = wp.run(["/usr/bin/time", "-f", "%M", "-o", tf, wp.WALLPROF, "record", "-q", "-F", "999", "-o", prof,
            "--", reexec, "300"], timeout=300, env=wp.memory_env())
wp.check(r.returncode == 0 and r.stdout == "done\n", f"a script exec'ing itself 300 times: {r.returncode} {r.stdout!r}")
wp.check(peak_kb(tf) < wp.memory_limit_kb(100), f"300 execs at 999 Hz: peak memory under {wp.memory_limit_kb(100) // 1024} MB: {peak_kb(tf) / 1024:.0f} MB")
p = wp.load_after(r, prof)
tids = [t["tid"] for t in p["threads"]]
wp.check(len(tids) == 1 and p["threads"][0]["names"] == ["reexec.sh"],
         f"300 execs of one thread: one thread in the profile, named once: {len(tids)} {p['threads'][0]['names']}")

# ---- PostgreSQL under pgbench -C ----
if not shutil.which("pgbench"):
    print("note: pgbench is not installed: the PostgreSQL part is skipped")
else:
    from pgserver import Server
    pg = Server(port="5990")
    try:
        pgb = ["-h", pg.dir, "-p", pg.port, "-U", "postgres"]
        wp.run(["pgbench", "-i", "-q", "-s", "1"] + pgb + ["postgres"], timeout=120)
        prof = os.path.join(d, "pg.json")
        rec = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", tf, wp.WALLPROF, "record", "-q", "-f",
                                "-d", "8", "-o", prof, "-p", str(pg.postmaster())],
                               stderr=subprocess.PIPE, text=True, env=wp.memory_env())
        time.sleep(1)
        bench = wp.run(["pgbench", "-n", "-C", "-c", "4", "-T", "5"] + pgb + ["postgres"], timeout=60)
        rec.communicate(timeout=120)
        m = re.search(r"number of transactions actually processed: (\d+)", bench.stdout)
        wp.check(rec.returncode == 0 and m and int(m.group(1)) > 100,
                 f"pgbench -C ran: {m.group(1) if m else bench.stderr[-200:]} transactions")
        p = wp.load(prof)
        titles = {x["title"] for x in p["processes"]}
        aux = ["postgres: checkpointer", "postgres: background writer", "postgres: walwriter",
               "postgres: autovacuum launcher"]
        wp.check(all(a in titles for a in aux), f"the auxiliary processes under their titles: {sorted(titles)[:8]}")
        backends = [x for x in p["processes"] if "[local]" in x["title"]]
        wp.check(len(backends) > 100, f"the short-lived backends too: {len(backends)}")
        wp.check(peak_kb(tf) < wp.memory_limit_kb(150), f"peak memory under {wp.memory_limit_kb(150) // 1024} MB: {peak_kb(tf) / 1024:.0f} MB")
        folded = os.path.join(d, "pg.folded")
        wp.run([wp.WALLPROF, "convert", prof, "-o", folded])
        with open(folded) as f:
            roots = {l.split(";", 1)[0] for l in f}
        wp.check("postgres: checkpointer" in roots and "postgres: walwriter" in roots,
                 f"folded stacks are rooted at each process's title: {sorted(roots)[:4]}")
        trace = os.path.join(d, "pg.trace.json")
        wp.run([wp.WALLPROF, "convert", prof, "-o", trace])
        tj = json.load(open(trace))
        named = {e["pid"] for e in tj["traceEvents"] if e.get("name") == "process_name"}
        wp.check(len(named) >= 5, f"the trace has a track group per process: {len(named)}")
        rep = wp.run([wp.WALLPROF, "report", prof]).stdout
        wp.check(re.search(r"^  postgres: \d+ processes", rep, re.M) is not None and
                 "role postgres: checkpointer" in rep, "the report shows one program, postgres, with its roles")
    finally:
        pg.stop()
wp.done()
