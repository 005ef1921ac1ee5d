#!/usr/bin/env python3
"""dump --chain follows each wait to the process and thread that can end
it. Each case is built so that its chain is known: which process and
thread each link must reach, found here from /proc (thread names, the
pids we started), not from wallprof.

1. two processes each blocked writing a full pipe to the other: a
   deadlock across processes, closed by two pipe links;
2. a client blocked reading a Unix socket, whose server's handler thread
   waits for a mutex held by a thread that sleeps (tests/targets/chainsrv);
3. the same over TCP on loopback;
4. flock(1) waiting for a lock held by another flock(1), which waits for
   its child (sleep): a file-lock link, then a child link;
5. an OFD lock (fcntl F_OFD_SETLKW), whose holder /proc/locks does not
   name: found by who has the file open; a POSIX lock (lockf); a named
   FIFO read by cat, written by a sleeping process;
6. a process-shared mutex in shared memory, held by another process;
7. a UDP socket connected to an address no host here has: the chain
   leaves the host, and says so;
8. a pipe whose writer is traced by strace: the chain ends there with
   what /proc says, not with an error;
9. a server that exits as soon as it is traced: the walk reaches a
   process that goes while it is read, without an error;
and real ones: Debian's redis with a client blocked in BLPOP (its event
loop: a chain, no deadlock; the client answered after)."""
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time

import wp


def dump(pid):
    r = wp.run([wp.WALLPROF, "dump", "--chain", "--json", "-p", str(pid)])
    if not wp.check(r.returncode == 0, f"dump --chain --json -p {pid} exits 0: {r.stderr.strip()}"):
        return {"chains": [], "deadlocks": [], "processes": []}
    return json.loads(r.stdout)


def text(pid):
    return wp.run([wp.WALLPROF, "dump", "--chain", "-p", str(pid)]).stdout


def hops(chain):
    """[(kind, from pid, from tid, to pid, to tid)] of a chain."""
    return [(l["kind"], l["from"]["pid"], l["from"]["tid"],
             l["to"]["pid"] if l["to"] else None, l["to"]["tid"] if l["to"] else None)
            for l in chain]


def tid_named(pid, name):
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            if f.read().strip() == name:
                return int(tid)
    return None


def blocked(pid, tid=None):
    tid = tid or pid
    return wp.wait_for(lambda: wp.task_states(pid).get(tid) == "S", 5)


def stop(*procs):
    for p in procs:
        try:
            p.kill()
            p.wait()
        except (OSError, AttributeError):
            pass


# 1. A pipe deadlock across two processes.
parent, child = wp.pipe_deadlock()
try:
    j = dump(parent.pid)
    got = [hops(c) for c in j["chains"]]
    want = [("pipe", parent.pid, parent.pid, child, child), ("pipe", child, child, parent.pid, parent.pid)]
    wp.check(got == [want], f"pipe deadlock: one chain {want}: {got}")
    wp.check(j["chains"] and j["chains"][0][-1].get("deadlock") is True, "  ... marked a deadlock")
    cycles = [sorted(c) for c in j["deadlocks"]]
    wp.check(cycles == [sorted([parent.pid, child])], f"  deadlocks: [[{parent.pid}, {child}]]: {j['deadlocks']}")
    t = text(parent.pid)
    wp.check(f"deadlock across processes: Thread {parent.pid}" in t, "  text names the deadlock across processes")
finally:
    os.kill(child, 9)
    stop(parent)

# 2 and 3. Client -> socket -> handler -> mutex -> holder, which sleeps.
client_py = r'''
import socket, sys
if sys.argv[1] == "unix":
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[2])
else:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
s.sendall(b"get\n")
print("sent", flush=True)
s.recv(16)
'''
d = wp.tmpdir()
for kind, where in (("unix", os.path.join(d, "srv.sock")), ("tcp", str(18000 + os.getpid() % 2000))):
    srv = subprocess.Popen([wp.target("chainsrv"), kind, where], stdout=subprocess.PIPE, text=True)
    cl = None
    try:
        if not wp.check(srv.stdout.readline().strip() == "ready", f"{kind}: chainsrv ready"):
            continue
        cl = subprocess.Popen([sys.executable, "-c", client_py, kind, where], stdout=subprocess.PIPE, text=True)
        cl.stdout.readline()
        wp.wait_for(lambda: tid_named(srv.pid, "handler") is not None, 5)
        handler, holder = tid_named(srv.pid, "handler"), tid_named(srv.pid, "holder")
        blocked(cl.pid)
        blocked(srv.pid, handler)
        time.sleep(0.2)
        j = dump(cl.pid)
        got = [hops(c) for c in j["chains"]]
        want = [(kind, cl.pid, cl.pid, srv.pid, handler), ("lock", srv.pid, handler, srv.pid, holder)]
        wp.check(got == [want], f"{kind}: client -> handler -> holder {want}: {got}")
        end = j["chains"][0][-1].get("then", "") if j["chains"] else ""
        wp.check("sleeps in clock_nanosleep" in end, f"  the chain ends with the holder asleep: {end!r}")
        wp.check([p["pid"] for p in j["processes"]] == [srv.pid], f"  processes: the server's dump: {[p['pid'] for p in j['processes']]}")
        frames = [f["function"] for p in j["processes"] for t in p.get("threads", []) if t["tid"] == handler
                  for f in t["frames"]]
        wp.check("handler" in frames, f"  the handler's stack holds handler(): {frames[:6]}")
    finally:
        stop(cl, srv)

# 4. flock(1) held by another flock(1), which waits for its child.
if shutil.which("flock"):
    lk = os.path.join(d, "lock")
    open(lk, "w").close()
    holder = subprocess.Popen(["flock", lk, "sleep", "30"])
    waiter = None
    try:
        wp.wait_for(lambda: os.path.exists(f"/proc/{holder.pid}/task/{holder.pid}/children") and
                    open(f"/proc/{holder.pid}/task/{holder.pid}/children").read().strip(), 5)
        sleeper = int(open(f"/proc/{holder.pid}/task/{holder.pid}/children").read().split()[0])
        waiter = subprocess.Popen(["flock", lk, "true"])
        blocked(waiter.pid)
        time.sleep(0.2)
        j = dump(waiter.pid)
        got = [hops(c) for c in j["chains"]]
        want = [("file-lock", waiter.pid, waiter.pid, holder.pid, holder.pid),
                ("child", holder.pid, holder.pid, sleeper, sleeper)]
        wp.check(got == [want], f"flock: waiter -> holder -> its child {want}: {got}")
    finally:
        stop(waiter, holder)
        os.kill(sleeper, 9)
else:
    print("skip part 4: flock(1) is not installed (util-linux)")

# 5. An OFD lock (/proc/locks names no pid for it) and a POSIX lock
#    (lockf: fcntl F_SETLKW), each taken by one process and awaited by
#    a second running the same script.
def lock_case(what, name, take):
    lk = os.path.join(d, name)
    open(lk, "w").close()
    a = subprocess.Popen([sys.executable, "-c", take, lk], stdout=subprocess.PIPE, text=True)
    b = None
    try:
        a.stdout.readline()
        b = subprocess.Popen([sys.executable, "-c", take, lk], stdout=subprocess.PIPE, text=True)
        blocked(b.pid)
        time.sleep(0.2)
        got = [hops(c)[0] for c in dump(b.pid)["chains"]]
        wp.check(got == [("file-lock", b.pid, b.pid, a.pid, a.pid)], f"{what}: waiter -> holder: {got}")
    finally:
        stop(b, a)


if hasattr(fcntl, "F_OFD_SETLKW"):
    lock_case("OFD lock", "ofd", r"""
import fcntl, os, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.fcntl(fd, fcntl.F_OFD_SETLKW, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0))
print("locked", flush=True)
time.sleep(30)
""")
lock_case("POSIX lock", "posix", r"""
import fcntl, sys, time
f = open(sys.argv[1], "w"); fcntl.lockf(f, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(30)
""")

# 5b. A named FIFO whose writer sleeps.
fifo = os.path.join(d, "fifo")
os.mkfifo(fifo)
writer = subprocess.Popen(f"exec sleep 30 > {fifo}", shell=True)
with open(fifo) as rd:
    reader = subprocess.Popen(["cat"], stdin=rd, stdout=subprocess.DEVNULL)
try:
    blocked(reader.pid)
    time.sleep(0.2)
    j = dump(reader.pid)
    got = [hops(c) for c in j["chains"]]
    wp.check(got == [[("fifo", reader.pid, reader.pid, writer.pid, writer.pid)]],
             f"named FIFO: cat -> the sleeping writer: {got}")
finally:
    stop(reader, writer)

# 6. A process-shared mutex held by another process.
sl = subprocess.Popen([wp.target("sharedlock")], stdout=subprocess.PIPE, text=True)
try:
    kid = int(sl.stdout.readline())
    blocked(kid)
    time.sleep(0.2)
    j = dump(kid)
    got = [hops(c) for c in j["chains"]]
    want = [[("shared-lock", kid, kid, sl.pid, sl.pid)]]
    wp.check(got == want, f"shared mutex: child -> parent {want}: {got}")
finally:
    stop(sl)
    wp.wait_for(lambda: wp.proc_state(kid) in (None, "Z"), 1) or os.kill(kid, 9)

# 7. A UDP socket connected to an address of no host here (TEST-NET-1):
#    the peer is elsewhere, and the chain says so.
udp = subprocess.Popen([sys.executable, "-c", r'''
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(("192.0.2.1", 9))
print("connected", flush=True)
s.recv(16)
'''], stdout=subprocess.PIPE, text=True)
try:
    udp.stdout.readline()
    blocked(udp.pid)
    j = dump(udp.pid)
    got = [hops(c) for c in j["chains"]]
    then = j["chains"][0][-1].get("text", "") if j["chains"] else ""
    wp.check(got == [[("udp", udp.pid, udp.pid, None, None)]] and "not on this host" in then,
             f"udp to 192.0.2.1: the chain leaves the host: {got} {then!r}")
finally:
    stop(udp)

# 7b. A UDP client connected to a local server whose socket is bound, not
#     connected back: the server, found by its bound address.
usrv = subprocess.Popen([sys.executable, "-c", r'''
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
time.sleep(30)
'''], stdout=subprocess.PIPE, text=True)
ucl = None
try:
    port = int(usrv.stdout.readline())
    ucl = subprocess.Popen([sys.executable, "-c", r'''
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(("127.0.0.1", int(sys.argv[1])))
print("connected", flush=True)
s.recv(16)
''', str(port)], stdout=subprocess.PIPE, text=True)
    ucl.stdout.readline()
    blocked(ucl.pid)
    got = [[h[:4] for h in hops(c)][:1] for c in dump(ucl.pid)["chains"]]
    wp.check(got == [[("udp", ucl.pid, ucl.pid, usrv.pid)]], f"udp to a local bound server: {got}")
finally:
    stop(ucl, usrv)

# 7c. A file lock held by the waiter's own process (another thread, through
#     another open file description): the chain ends inside the process.
own = subprocess.Popen([sys.executable, "-c", r'''
import fcntl, sys, threading, time
a = open(sys.argv[1], "w"); fcntl.flock(a, fcntl.LOCK_EX)
def other():
    b = open(sys.argv[1], "w"); fcntl.flock(b, fcntl.LOCK_EX)
threading.Thread(target=other, daemon=True).start()
print("locked", flush=True)
time.sleep(30)
''', os.path.join(d, "own")], stdout=subprocess.PIPE, text=True)
try:
    own.stdout.readline()
    wp.wait_for(lambda: len(wp.task_states(own.pid)) == 2 and set(wp.task_states(own.pid).values()) == {"S"}, 5)
    time.sleep(0.2)
    other = max(wp.task_states(own.pid))
    chains = dump(own.pid)["chains"]
    got = [hops(c) for c in chains]
    says = chains[0][0]["text"] if chains else ""
    wp.check(got == [[("file-lock", own.pid, other, None, None)]] and "its own process" in says,
             f"a flock held by its own process: {got} {says!r}")
finally:
    stop(own)

# 7d. select() on 20 pipes, each written by a child of its own that
#     sleeps: 20 chains, one per child (more processes than the walk's
#     tables first hold).
fan = subprocess.Popen([sys.executable, "-c", r'''
import os, select, time
pipes = [os.pipe() for _ in range(20)]
kids = []
for i, (r, w) in enumerate(pipes):
    pid = os.fork()
    if pid == 0:
        for j, (r2, w2) in enumerate(pipes):
            os.close(r2)
            if j != i:
                os.close(w2)
        time.sleep(30)
        os._exit(0)
    kids.append(pid)
for r, w in pipes:
    os.close(w)
print(" ".join(map(str, kids)), flush=True)
select.select([r for r, w in pipes], [], [])
'''], stdout=subprocess.PIPE, text=True)
kids = []
try:
    kids = [int(x) for x in fan.stdout.readline().split()]
    blocked(fan.pid)
    time.sleep(0.2)
    got = sorted(hops(c)[0][3] for c in dump(fan.pid)["chains"])
    wp.check(got == sorted(kids), f"select on 20 pipes: a chain to each writer: {len(got)} of {len(kids)}")
finally:
    for k in kids:
        os.kill(k, 9)
    stop(fan)

# 7e. An event loop (epoll on its listening socket and its client's
#     connection) that never answers, and a client polling its own
#     wake-up socket pair and its connection: one link, client -> server,
#     no deadlock (the server's set holds the client's connection too, and
#     the client's the socket pair whose other end is its own).
loop = subprocess.Popen([sys.executable, "-c", r'''
import select, socket, sys
srv = socket.socket(socket.AF_UNIX); srv.bind(sys.argv[1]); srv.listen(4)
ep = select.epoll(); ep.register(srv.fileno(), select.EPOLLIN)
print("ready", flush=True)
conns = []
while True:
    for fd, ev in ep.poll():
        if fd == srv.fileno():
            c, _ = srv.accept(); conns.append(c); ep.register(c.fileno(), select.EPOLLIN)
        else:
            [c for c in conns if c.fileno() == fd][0].recv(64)
''', os.path.join(d, "loop.sock")], stdout=subprocess.PIPE, text=True)
lc = None
try:
    loop.stdout.readline()
    lc = subprocess.Popen([sys.executable, "-c", r'''
import select, socket, sys
wake_r, wake_w = socket.socketpair()
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"get\n")
print("sent", flush=True)
p = select.poll(); p.register(wake_r, select.POLLIN); p.register(s, select.POLLIN); p.poll()
''', os.path.join(d, "loop.sock")], stdout=subprocess.PIPE, text=True)
    lc.stdout.readline()
    blocked(lc.pid)
    time.sleep(0.3)
    j = dump(lc.pid)
    got = [hops(c) for c in j["chains"]]
    then = j["chains"][0][-1].get("then", "") if j["chains"] else ""
    wp.check(got == [[("unix", lc.pid, lc.pid, loop.pid, loop.pid)]] and not j["deadlocks"]
             and "not a deadlock" in then,
             f"client -> idle event loop: one link, no deadlock: {got} {j['deadlocks']} {then!r}")
    j = dump(loop.pid)
    got = [hops(c) for c in j["chains"]]
    then = j["chains"][0][-1].get("then", "") if j["chains"] else ""
    wp.check(got == [[("unix", loop.pid, loop.pid, lc.pid, lc.pid)]] and not j["deadlocks"]
             and "not a deadlock" in then,
             f"  from the server: to the client, whose wait leads back, not a deadlock: {got} {then!r}")
finally:
    stop(lc, loop)

# 7f. Debian's redis with a client blocked in BLPOP over a Unix socket
#     (ss -xp would name the same peer): the client's chain reaches
#     redis-server's main thread in its event loop; from the server, the
#     way back to the client is no deadlock. After LPUSH the client gets
#     its answer: nothing was disturbed.
if shutil.which("redis-server") and shutil.which("redis-cli"):
    rsock = os.path.join(d, "redis.sock")
    rs = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", rsock, "--save", "",
                           "--appendonly", "no", "--dir", d, "--logfile", os.path.join(d, "redis.log")])
    cli = None
    try:
        wp.wait_for(lambda: os.path.exists(rsock), 10)
        cli = subprocess.Popen(["redis-cli", "-s", rsock, "BLPOP", "chain-key", "0"],
                               stdout=subprocess.PIPE, text=True)
        blocked(cli.pid)
        time.sleep(0.3)
        j = dump(cli.pid)
        got = [hops(c) for c in j["chains"]]
        then = j["chains"][0][-1].get("then", "") if j["chains"] else ""
        wp.check(got == [[("unix", cli.pid, cli.pid, rs.pid, rs.pid)]] and "not a deadlock" in then,
                 f"redis-cli BLPOP -> redis-server's event loop: {got} {then[:100]!r}")
        j = dump(rs.pid)
        wp.check(not j["deadlocks"] and all(hops(c)[0][3] == cli.pid for c in j["chains"]),
                 f"  from redis-server: to the client, no deadlock: {[hops(c) for c in j['chains']]} {j['deadlocks']}")
        wp.run(["redis-cli", "-s", rsock, "LPUSH", "chain-key", "v"])
        out, _ = cli.communicate(timeout=10)
        wp.check(out.split() == ["chain-key", "v"], f"  the client then got its answer: {out.split()}")
    finally:
        stop(cli)
        rs.terminate()
        rs.wait(timeout=10)
else:
    print("skip part 7f: redis-server and redis-cli are not installed (Debian redis-server, redis-tools; 'make deps' installs them)")

# 8. The writer is traced by strace: not ours to enter.
if shutil.which("strace"):
    w = subprocess.Popen(["strace", "-o", os.devnull, "sleep", "30"], stdout=subprocess.PIPE)
    cat = subprocess.Popen(["cat"], stdin=w.stdout, stdout=subprocess.DEVNULL)
    w.stdout.close()
    try:
        # strace forks short-lived children of its own first (to probe
        # ptrace's features): the tracee is the child that runs sleep.
        def sleeping_child():
            for k in open(f"/proc/{w.pid}/task/{w.pid}/children").read().split():
                try:
                    if open(f"/proc/{k}/comm").read().strip() == "sleep":
                        return int(k)
                except OSError:
                    pass
            return None
        wp.wait_for(sleeping_child, 10)
        traced = sleeping_child()
        blocked(cat.pid)
        time.sleep(0.3)
        r = wp.run([wp.WALLPROF, "dump", "--chain", "--json", "-p", str(cat.pid)])
        j = json.loads(r.stdout) if r.returncode == 0 else {"chains": [], "processes": []}
        wp.check(r.returncode == 0 and not r.stderr.strip(),
                 f"a chain into a process we may not trace is no error: rc {r.returncode} {r.stderr.strip()!r}")
        got = [hops(c) for c in j["chains"]]
        wp.check(got == [[("pipe", cat.pid, cat.pid, traced, None)]], f"  cat -> sleep ({traced}), not entered: {got}")
        p = [p for p in j["processes"] if p["pid"] == traced]
        why = p[0].get("not_entered", "") if p else ""
        wp.check("already traced" in why and p[0].get("state") in ("S", "t"),
                 f"  says why, and what /proc says: {why!r} state {p[0].get('state') if p else None}")
    finally:
        stop(cat, w)
        try:
            os.kill(traced, 9)
        except (OSError, NameError):
            pass
# 9. The server exits as soon as it is traced (it watches its own
#    TracerPid): the walk reaches a process that goes while it is read.
#    Whether its snapshot was had first is a race; either way the chain
#    reaches it, and dump neither fails nor complains.
quitter = subprocess.Popen([sys.executable, "-c", r'''
import os, socket, sys, time
srv = socket.socket(socket.AF_UNIX); srv.bind(sys.argv[1]); srv.listen(1)
print("ready", flush=True)
conn, _ = srv.accept()
while True:
    with open("/proc/self/status") as f:
        if [l for l in f if l.startswith("TracerPid:") and l.split()[1] != "0"]:
            os._exit(0)
    time.sleep(0.0005)
''', os.path.join(d, "quit.sock")], stdout=subprocess.PIPE, text=True)
cl = None
try:
    quitter.stdout.readline()
    cl = subprocess.Popen([sys.executable, "-c", client_py, "unix", os.path.join(d, "quit.sock")],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    cl.stdout.readline()
    blocked(cl.pid)
    r = wp.run([wp.WALLPROF, "dump", "--chain", "--json", "-p", str(cl.pid)])
    j = json.loads(r.stdout) if r.returncode == 0 else {"chains": [], "processes": []}
    got = [[h[:4] for h in hops(c)] for c in j["chains"]]
    gone = [p.get("not_entered", "") for p in j["processes"] if p["pid"] == quitter.pid]
    wp.check(r.returncode == 0 and not r.stderr.strip() and got == [[("unix", cl.pid, cl.pid, quitter.pid)]],
             f"a server that exits when traced: the chain reaches it, no error: {got} {gone} {r.stderr.strip()!r}")
    wp.check(quitter.wait(timeout=5) == 0, "  the server saw itself traced (it was entered)")
finally:
    stop(cl, quitter)

wp.done()
