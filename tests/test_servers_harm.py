#!/usr/bin/env python3
"""Real servers from Debian, profiled under load, see nothing of wallprof.

- nginx, two workers on 127.0.0.1, `error_log ... info` (which logs every
  "epoll_wait() failed (4: Interrupted system call)"), under ab for a few
  seconds: wallprof attached to each worker at 999 Hz, then the whole
  server launched under `record -f` at 999 Hz. Oracles: nginx's own log
  (no EINTR line, no alert) and ab (no failed request, no non-2xx).
- redis under redis-benchmark, wallprof attached at 999 Hz, then dumped 20
  times under load (each dump shows every thread, and the main thread's
  epoll set holds the port redis was told to listen on). Oracles:
  redis-benchmark's own errors, redis's INFO counters (no error reply, no
  rejected connection) and the profile's eintr_risk, which must be 0.
Each server runs under a temporary directory and is stopped at the end.
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

for tool, pkg in (("nginx", "nginx"), ("ab", "apache2-utils"), ("redis-server", "redis-server"),
                  ("redis-benchmark", "redis-tools"), ("redis-cli", "redis-tools")):
    if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
        wp.skip(f"{tool} is not installed (Debian package {pkg}; 'make deps' installs it)")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

d = wp.tmpdir()
os.chmod(d, 0o755)  # nginx's workers run as nobody when started by root


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10):
    def up():
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            return False
    return wp.wait_for(up, timeout)


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


# ---- nginx ----
www = os.path.join(d, "www")
os.makedirs(www)
with open(os.path.join(www, "page.html"), "w") as f:
    f.write("x" * 4096)
os.chmod(www, 0o755)
os.chmod(os.path.join(www, "page.html"), 0o644)


def nginx_conf(name, port):
    log = os.path.join(d, f"{name}-error.log")
    conf = os.path.join(d, f"{name}.conf")
    temps = "".join(f"    {k}_temp_path {d}/{name}-{k};\n"
                    for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    with open(conf, "w") as f:
        f.write(f"""worker_processes 2;
pid {d}/{name}.pid;
error_log {log} info;
events {{ worker_connections 512; }}
http {{
    access_log off;
{temps}    server {{
        listen 127.0.0.1:{port};
        root {www};
    }}
}}
""")
    return conf, log


def ab(port, secs):
    r = wp.run(["ab", "-q", "-t", str(secs), "-n", "2000000", "-c", "8",
                f"http://127.0.0.1:{port}/page.html"], timeout=secs + 60)
    done = re.search(r"Complete requests:\s+(\d+)", r.stdout)
    failed = re.search(r"Failed requests:\s+(\d+)", r.stdout)
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", r.stdout)
    return (int(done.group(1)) if done else 0, int(failed.group(1)) if failed else -1,
            int(non2xx.group(1)) if non2xx else 0)


def check_nginx_log(log, what):
    text = open(log).read() if os.path.exists(log) else ""
    eintr = text.count("Interrupted system call")
    alerts = len(re.findall(r"\[(alert|crit|emerg)\]", text))
    wp.check(eintr == 0, f"{what}: nginx logged {eintr} 'Interrupted system call'")
    wp.check(alerts == 0, f"{what}: nginx logged {alerts} alerts")


# 1. Attached to each worker at 999 Hz.
port = free_port()
conf, log = nginx_conf("attach", port)
master = subprocess.Popen([NGINX, "-e", log, "-c", conf, "-g", "daemon off;"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    wp.check(wait_port(port), f"nginx listens on 127.0.0.1:{port}")
    wp.wait_for(lambda: len(children(master.pid)) == 2, 5)
    workers = children(master.pid)
    wp.check(len(workers) == 2, f"two workers: {workers}")
    profs = [os.path.join(d, f"worker-{w}.json") for w in workers]
    recs = [subprocess.Popen([wp.WALLPROF, "record", "-q", "-F", "999", "-d", "6", "-o", p, "-p", str(w)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for w, p in zip(workers, profs)]
    time.sleep(0.5)
    done, failed, non2xx = ab(port, 4)
    for rec, p in zip(recs, profs):
        out, err = rec.communicate(timeout=60)
        wp.check(rec.returncode == 0, f"record -p worker: exit {rec.returncode} {err.strip()}")
        st = wp.load(p)["stats"]
        wp.check(st["eintr_risk"] == 0, f"worker profile: eintr_risk {st['eintr_risk']}, "
                 f"{st.get('eintr_repaired')} EINTR rewound, {st['samples']} samples")
    wp.check(done > 1000 and failed == 0 and non2xx == 0,
             f"ab while attached: {done} requests, {failed} failed, {non2xx} non-2xx")
finally:
    master.send_signal(signal.SIGQUIT)
    master.wait(timeout=30)
check_nginx_log(log, "attached at 999 Hz")

# 2. The whole server launched under record -f at 999 Hz.
port = free_port()
conf, log = nginx_conf("follow", port)
prof = os.path.join(d, "nginx-f.json")
rec = subprocess.Popen([wp.WALLPROF, "record", "-q", "-f", "-F", "999", "-o", prof, "--",
                        NGINX, "-e", log, "-c", conf, "-g", "daemon off;"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    wp.check(wait_port(port), f"nginx under record -f listens on 127.0.0.1:{port}")
    done, failed, non2xx = ab(port, 4)
    wp.check(done > 1000 and failed == 0 and non2xx == 0,
             f"ab under record -f: {done} requests, {failed} failed, {non2xx} non-2xx")
finally:
    ng = children(rec.pid)
    for pid in ng:
        os.kill(pid, signal.SIGQUIT)
    out, err = rec.communicate(timeout=60)
wp.check(rec.returncode == 0, f"record -f ends with nginx's own status: {rec.returncode} {err.strip()}")
p = wp.load(prof)
pids = {t["pid"] for t in p["threads"]}
wp.check(len(pids) == 3, f"master and both workers profiled: {len(pids)} processes")
wp.check(p["stats"]["eintr_risk"] == 0, f"record -f: eintr_risk {p['stats']['eintr_risk']}")
check_nginx_log(log, "launched under -f at 999 Hz")

# ---- redis ----
port = free_port()
redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--dir", d, "--logfile", os.path.join(d, "redis.log")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    wp.check(wait_port(port), f"redis listens on 127.0.0.1:{port}")
    prof = os.path.join(d, "redis.json")
    rec = subprocess.Popen([wp.WALLPROF, "record", "-q", "-F", "999", "-d", "6", "-o", prof,
                            "-p", str(redis.pid)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    bench = wp.run(["redis-benchmark", "-p", str(port), "-c", "20", "-n", "60000", "-t", "set,get,lpush,incr",
                    "-q"], timeout=120)
    out, err = rec.communicate(timeout=60)
    wp.check(rec.returncode == 0, f"record -p redis: exit {rec.returncode} {err.strip()}")
    wp.check(bench.returncode == 0 and "rror" not in bench.stdout + bench.stderr,
             f"redis-benchmark: exit {bench.returncode}, no error ({bench.stderr.strip()[:200]!r})")
    info = wp.run(["redis-cli", "-p", str(port), "info", "stats"]).stdout
    errs = re.search(r"total_error_replies:(\d+)", info)
    rejected = re.search(r"rejected_connections:(\d+)", info)
    wp.check(errs and int(errs.group(1)) == 0, f"redis: total_error_replies {errs and errs.group(1)}")
    wp.check(rejected and int(rejected.group(1)) == 0, f"redis: rejected_connections {rejected and rejected.group(1)}")
    st = wp.load(prof)["stats"]
    wp.check(st["eintr_risk"] == 0, f"redis profile: eintr_risk {st['eintr_risk']} "
             f"({st.get('eintr_repaired')} EINTR rewound, {st.get('transfers_continued')} transfers continued)")
    # dump under load: every thread every time, the busy main thread too.
    bench = subprocess.Popen(["redis-benchmark", "-p", str(port), "-c", "20", "-n", "2000000", "-t", "set,get",
                              "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    shown = []
    for _ in range(20):
        r = wp.run([wp.WALLPROF, "dump", "-p", str(redis.pid)])
        n = len(os.listdir(f"/proc/{redis.pid}/task"))
        shown.append((r.returncode, r.stdout.count("\nThread "), n, "could not be read" in r.stdout + r.stderr))
    bench.kill()
    bench.wait()
    wp.check(all(rc == 0 and got == n and not unread for rc, got, n, unread in shown),
             f"20 dumps of redis under redis-benchmark show every thread: {shown}")
    # What redis's event loop waits on, against its own config: the port it listens on.
    # Once the load is gone it is idle there; on a loaded machine it may
    # still be closing the benchmark's connections: look up to 20 times.
    for tries in range(1, 21):
        j = wp.run([wp.WALLPROF, "dump", "--json", "-p", str(redis.pid)])
        main = [t for t in json.loads(j.stdout)["threads"] if t["tid"] == redis.pid] if j.returncode == 0 else []
        names = [f["name"] for f in (main[0].get("waits_on") or {}).get("fds", [])] if main else []
        if names:
            break
        time.sleep(0.1)
    wp.check(f"tcp listen 127.0.0.1:{port}" in names,
             f"dump: redis's main thread waits in epoll_wait on its listening socket ({tries} dumps): {names}")
    info = wp.run(["redis-cli", "-p", str(port), "info", "stats"]).stdout
    errs = re.search(r"total_error_replies:(\d+)", info)
    wp.check(errs and int(errs.group(1)) == 0, f"redis after the dumps: total_error_replies {errs and errs.group(1)}")
finally:
    redis.terminate()
    redis.wait(timeout=30)
wp.done()
