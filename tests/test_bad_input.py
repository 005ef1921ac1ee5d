#!/usr/bin/env python3
"""Bad input of every kind: a one-line error naming the subject (plus at most
one hint line), the documented exit code, never a crash or a stopped target."""
import json
import os
import subprocess
import time

import wp

d = wp.tmpdir()


def expect(args, code, needle, what):
    print(f"-- {what}")
    wp.one_error(wp.run([wp.WALLPROF] + args), code, needle)


def dead_pid():
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


r = wp.run([wp.WALLPROF])
wp.check(r.returncode == 64 and "usage" in r.stderr, f"no arguments: usage, exit 64 ({r.returncode})")
expect(["frobnicate"], 64, "unknown command 'frobnicate'", "unknown command")
expect(["record", "-p", str(dead_pid())], 2, "no such process", "record -p of a dead pid")
expect(["record", "-p", "12x"], 64, "invalid PID '12x'", "record -p garbage")
expect(["record", "-F", "0", "--", "true"], 64, "invalid frequency '0'", "record -F 0")
expect(["record", "-F", "fast", "--", "true"], 64, "invalid frequency 'fast'", "record -F garbage")
expect(["record", "-d", "-3", "--", "true"], 64, "invalid duration '-3'", "record -d negative")
# Options are parsed strictly: no spaces, signs, hex or nan where a number goes.
expect(["record", "-F", " 99", "--", "true"], 64, "invalid frequency ' 99'", "record -F with a space")
expect(["record", "-F", "0x63", "--", "true"], 64, "invalid frequency '0x63'", "record -F in hex")
expect(["record", "-p", " 1"], 64, "invalid PID ' 1'", "record -p with a space")
expect(["record", "-p", "+1"], 64, "invalid PID '+1'", "record -p with a sign")
expect(["record", "-d", "0x10", "--", "true"], 64, "invalid duration '0x10'", "record -d in hex")
expect(["record", "-d", "1e-10", "--", "true"], 64, "invalid duration '1e-10'", "record -d below 1 ms")
expect(["record", "-d", "nan", "--", "true"], 64, "invalid duration 'nan'", "record -d nan")
expect(["record", "-d", "inf", "--", "true"], 64, "invalid duration 'inf'", "record -d inf")
expect(["record", "--threshold", "0x5ms", "--", "true"], 64, "invalid threshold '0x5ms'", "record --threshold in hex")
expect(["record", "--threshold", "-1ms", "--", "true"], 64, "invalid threshold '-1ms'", "record --threshold negative")
expect(["record", "--syscalls=", "--", "true"], 64, "'' is not a list of syscall names", "record --syscalls= empty")
expect(["record", "--syscalls=,", "--", "true"], 64, "',' is not a list", "record --syscalls=, empty")
expect(["record", "--syscalls=read,,write", "--", "true"], 64, "'read,,write' is not a list", "record --syscalls with an empty item")
expect(["record", "--syscalls=frobnicate", "--", "true"], 64, "frobnicate", "record --syscalls unknown name")
expect(["record", "-r", "99", "--", "true"], 64, "-r takes no value; the priority is given as --realtime=99",
       "record -r followed by a number")
expect(["record", "--realtime=0", "--", "true"], 64, "invalid --realtime priority '0'", "record --realtime=0")
expect(["record", "--format", "pdf", "--", "true"], 64, "unknown format 'pdf'", "record --format unknown")
expect(["record", "--bogus", "--", "true"], 64, "'--bogus'", "record unknown option")
expect(["record"], 64, "give either -p PID or -- COMMAND", "record without target")
expect(["record", "-p", "1", "--", "true"], 64, "give either", "record with both -p and a command")
expect(["record", "-o", os.path.join(d, "x.json"), "--", "/nonexistent/program"], 127,
       "cannot run '/nonexistent/program'", "record of a missing program")
noexec = os.path.join(d, "not-executable")
with open(noexec, "w") as f:
    f.write("data\n")
os.chmod(noexec, 0o644)
expect(["record", "-o", os.path.join(d, "y.json"), "--", noexec], 126,
       f"cannot run '{noexec}'", "record of a non-executable file")
wp.check(not os.path.exists(os.path.join(d, "x.json")), "no profile left behind for a command that never ran")
expect(["record", "-o", "/nonexistent/dir/out.json", "--", "true"], 2, "cannot write '/nonexistent/dir/out.json'",
       "record to an unwritable path")
expect(["record", "-p", "2", "-o", os.path.join(d, "k.json")], 2, "kernel thread", "record -p of a kernel thread")
z = subprocess.Popen(["true"])  # not reaped: a zombie
time.sleep(0.3)
expect(["record", "-p", str(z.pid), "-o", os.path.join(d, "z.json")], 2, "zombie", "record -p of a zombie")
expect(["dump", "-p", str(z.pid)], 2, "zombie", "dump of a zombie")
z.wait()
expect(["dump", "-p", str(dead_pid())], 2, "no such process", "dump of a dead pid")
expect(["convert", "x.json"], 64, "give one profile and -o OUT", "convert without -o")
expect(["convert", "x.json", "-o", "out.pdf"], 64, "cannot tell the format", "convert to an unknown extension")
expect(["convert", "x.json", "-o", "o.svg", "--state", "asleep"], 64, "invalid --state 'asleep'", "convert --state unknown")
expect(["diff", "x.json"], 64, "give two profiles", "diff with one profile")
expect(["diff", "-o", "d.folded", "a.json", "b.json"], 64, "give -o FILE.svg", "diff -o to a non-SVG")
expect(["top"], 64, "give either -p PID or -- COMMAND", "top without a target")
expect(["top", "-F", "0", "--", "true"], 64, "invalid frequency '0'", "top -F 0")
expect(["report", "--format", "xml", "x.json"], 64, "invalid --format 'xml'", "report --format unknown")
expect(["dump"], 64, "give -p PID", "dump without -p")
expect(["report"], 64, "exactly one profile", "report without a file")
expect(["report", "--top", "0", "x"], 64, "invalid --top", "report --top 0")

# Profiles: missing, not JSON, foreign JSON, truncated, hostile values.
expect(["report", os.path.join(d, "missing.json")], 2, "cannot read profile", "report of a missing file")
bad = {
    "garbage.json": "this is not json",
    "foreign.json": json.dumps({"traceEvents": []}),
    "array.json": "[1,2,3]",
    "newer.json": json.dumps({"format": "wallprof-profile", "version": 99}),
    "empty.json": "",
    "two-samples.json": '{"samples":[],"samples":[]}',
    "nested.json": "[" * 50_000_000,
}
good = os.path.join(d, "good.json")
r = wp.run([wp.WALLPROF, "record", "-q", "-o", good, "--", wp.target("mixed"), "0.4"])
text = open(good).read()
bad["truncated.json"] = text[: len(text) - 40]  # rows complete, the end cut off
p = json.loads(text)
p["samples"][0][2] = 10**6
bad["stack-range.json"] = json.dumps(p)
p = json.loads(text)
p["stacks"][0]["frames"] = [-1]
bad["frame-range.json"] = json.dumps(p)
p = json.loads(text)
p["samples"][0] = "x"
bad["row.json"] = json.dumps(p)
p = json.loads(text)
p["metadata"]["frequency_hz"] = 0
bad["freq.json"] = json.dumps(p)
for name, content in bad.items():
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(content)
    expect(["report", path], 2, "cannot read profile", f"report of {name}")
r = wp.run([wp.WALLPROF, "report", os.path.join(d, "nested.json")])
wp.check("nested more than 64 levels deep" in r.stderr, f"50 MB of brackets refused at depth 64: {r.stderr.strip()}")
r = wp.run([wp.WALLPROF, "report", good])
wp.check(r.returncode == 0, "the untouched profile still reads")
# Cut inside the samples, as a SIGKILL of wallprof leaves it: what was
# streamed is read, and the report says the recording was cut short.
cut = os.path.join(d, "cut.json")
head = text[: text.index('"samples":[') + len('"samples":[')]
rows = text[len(head):].split("\n")
with open(cut, "w") as f:
    f.write(head + "\n".join(rows[: len(rows) // 2]) + "\n[12")
r = wp.run([wp.WALLPROF, "report", cut])
wp.check(r.returncode == 0 and "cut short" in r.stdout and "lock wait" in r.stdout,
         f"a profile cut inside its samples is read, and says so: {r.returncode} {r.stderr.strip()}")

# Permission: an unprivileged user may not trace root's process.
if os.geteuid() == 0 and wp.run(["sh", "-c", "command -v setpriv"]).returncode == 0:
    t = subprocess.Popen(["sleep", "5"])
    r = wp.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", wp.WALLPROF, "record",
                "-o", "/tmp/wallprof-perm-test.json", "-p", str(t.pid)])
    lines = r.stderr.splitlines()
    wp.check(r.returncode == 2 and lines and "cannot attach to process" in lines[0]
             and "Operation not permitted" in lines[0], f"attach without permission: {lines[:1]}")
    wp.check(len(lines) == 2 and f"process {t.pid} runs as user 0" in lines[1] and "CAP_SYS_PTRACE" in lines[1],
             f"and says whose it is and what to do: {lines[1:2]}")
    wp.check(wp.proc_state(t.pid) not in ("t", "T"), "target untouched")
    t.kill()
    t.wait()
    # A process of the same user that made itself undumpable.
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    t = subprocess.Popen(nobody + ["/usr/bin/python3", "-c", "import ctypes, time\n"
                                   "ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)\ntime.sleep(10)"])
    time.sleep(0.5)
    r = wp.run(nobody + [wp.WALLPROF, "record", "-o", "/tmp/wallprof-perm-test.json", "-p", str(t.pid)])
    lines = r.stderr.splitlines()
    wp.check(r.returncode == 2 and len(lines) == 2 and "Operation not permitted" in lines[0]
             and f"process {t.pid} is undumpable" in lines[1] and "PR_SET_DUMPABLE" in lines[1],
             f"an undumpable process is named as such: {lines}")
    t.kill()
    t.wait()
else:
    print("note: permission case not run (needs root and setpriv)")

# Already traced, by a thread that is not its process's main thread: the
# hint names the thread and its process, with the process's command.
t = subprocess.Popen(["sleep", "10"])
tracer = subprocess.Popen(["python3", "-c", f"""
import ctypes, threading, time
def seize():
    print(threading.get_native_id(), ctypes.CDLL(None).ptrace(0x4206, {t.pid}, None, None), flush=True)
    time.sleep(10)
threading.Thread(target=seize).start()
"""], stdout=subprocess.PIPE, text=True)
tid, rc = tracer.stdout.readline().split()
r = wp.run([wp.WALLPROF, "record", "-o", os.path.join(d, "traced.json"), "-p", str(t.pid)])
lines = r.stderr.splitlines()
wp.check(rc == "0" and r.returncode == 2 and len(lines) == 2 and "Operation not permitted" in lines[0]
         and f"already traced by thread {tid} of process {tracer.pid} (python3 -c " in lines[1],
         f"already traced: the tracer's thread, process and command: {lines}")
tracer.kill()
tracer.wait()
t.kill()
t.wait()

# A thread id means its process, said so.
m = subprocess.Popen([wp.target("mixed"), "3"], stdout=subprocess.DEVNULL)
time.sleep(0.5)
tid = max(int(x) for x in os.listdir(f"/proc/{m.pid}/task"))
for cmd in (["record", "-d", "0.3", "-o", os.path.join(d, "tid.json")], ["dump"]):
    r = wp.run([wp.WALLPROF] + cmd + ["-p", str(tid)])
    first = r.stderr.splitlines()[:1]
    wp.check(r.returncode == 0 and first == [f"wallprof: {tid} is a thread of process {m.pid} "
                                             f"({wp.target('mixed')} 3): taking the whole process, every thread"],
             f"{cmd[0]} -p TID: {first}")
wp.check(wp.load(os.path.join(d, "tid.json"))["metadata"]["pid"] == m.pid and
         len(wp.load(os.path.join(d, "tid.json"))["threads"]) == 5, "the profile is the process's, all 5 threads")
wp.check(f"Process {m.pid}:" in r.stdout and "5 threads" in r.stdout, "dump shows the process, all 5 threads")
m.kill()
m.wait()
wp.done()
