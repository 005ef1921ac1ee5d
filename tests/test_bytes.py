#!/usr/bin/env python3
"""Nothing recorded is lost, nothing printed is silently wrong.

- Bytes are bytes: a thread named with a newline and a backslash, blocked
  reading a FIFO whose name is not UTF-8, in a command whose argument is not
  UTF-8 either. record exits 0; the profile reads back with every byte of
  the path, the name and the argument; the report and dump show them
  escaped, one thread one line; an SVG is written; --syscalls too. The
  main thread's name holds a terminal escape: no text output carries its
  ESC, BEL or C1 byte, nor does the default output file's name.
- A recording killed with SIGKILL at 999 Hz, .json and .json.gz: the report
  reads both, with a rate within 5% of 999 Hz and a duration within one
  flush interval (250 ms) of the time it ran.
- Outputs that fail: record into a full tmpfs stops at once (exit 2, one
  line) and keeps what it wrote; report, dump, diff and convert into a full
  device exit 2 with one line.
"""
import json
import os
import signal
import stat
import subprocess
import time

import wp

d = wp.tmpdir()
dbytes = os.fsencode(d)
fifo = dbytes + b"/fifo\xff\xfe"
os.mkfifo(fifo)
ODD = wp.target("oddnames")


def reread(prof):
    # The profile is valid UTF-8 JSON, and its escapes give back the bytes.
    with open(prof, "rb") as f:
        doc = json.loads(f.read().decode("utf-8"))
    return doc


def unescape(s):
    out, i = bytearray(), 0
    while i < len(s):
        if s.startswith("\\\\", i):
            out += b"\\"
            i += 2
        elif s.startswith("\\x", i) and len(s) >= i + 4:
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        else:
            out += s[i].encode()
            i += 1
    return bytes(out)


for extra in ([], ["--syscalls"]):
    prof = os.path.join(d, f"odd{len(extra)}.json")
    r = subprocess.run([os.fsencode(wp.WALLPROF), b"record", b"-q", b"-o", os.fsencode(prof)] +
                       [os.fsencode(x) for x in extra] + [b"--", os.fsencode(ODD), fifo, b"1"],
                       capture_output=True, timeout=60)
    label = " ".join(extra) or "sampling"
    wp.check(r.returncode == 0, f"{label}: record exits 0: {r.returncode} {r.stderr[-200:]!r}")
    doc = reread(prof)
    wp.check(doc.get("string_escapes") is True, f"{label}: the profile says its strings are escaped")
    names = [unescape(n) for t in doc["threads"] for n in t["names"]]
    wp.check(b"odd\nname\\x" in names, f"{label}: the thread's name, every byte: {names}")
    paths = [unescape(o["name"]) for o in doc["objects"]]
    wp.check(fifo in paths, f"{label}: the FIFO's path, every byte: {paths}")
    argv = [unescape(a) for a in doc["metadata"]["command"]]
    wp.check(argv[-2:] == [fifo, b"1"], f"{label}: the command's arguments, every byte: {argv}")
    rep = wp.run([wp.WALLPROF, "report", prof])
    wp.check(rep.returncode == 0 and "odd\\nname\\\\x (" in rep.stdout and "fifo\\xff\\xfe" in rep.stdout,
             f"{label}: report shows them escaped, one thread one line")
    svg = os.path.join(d, f"odd{len(extra)}.svg")
    c = wp.run([wp.WALLPROF, "convert", prof, "-o", svg])
    wp.check(c.returncode == 0 and os.path.getsize(svg) > 1000, f"{label}: an SVG of it: {c.stderr.strip()}")

v = subprocess.Popen([os.fsencode(ODD), fifo, b"5"])
time.sleep(0.3)
r = wp.run([wp.WALLPROF, "dump", "-p", str(v.pid)])
lines = [l for l in r.stdout.splitlines() if l.startswith("Thread ")]
wp.check(r.returncode == 0 and len(lines) == 2 and any('"odd\\nname\\\\x"' in l for l in lines),
         f"dump: two threads, two lines, the name escaped: {lines}")
raw = subprocess.run([wp.WALLPROF, "dump", "-p", str(v.pid)], capture_output=True).stdout
wp.check(b"\x1b" not in raw and b"\x07" not in raw and b"\xc2\x9b" not in raw
         and b'"\\x1b]0;pwned\\x07\\xc2\\x9b"' in raw,
         f"dump: the escape in the main thread's name is shown escaped: {raw[:300]!r}")
r = subprocess.run([wp.WALLPROF, "record", "-d", "0.3", "-p", str(v.pid)], cwd=d, capture_output=True)
made = [n for n in os.listdir(dbytes) if n.startswith(b"wallprof-")]
wp.check(r.returncode == 0 and made == [f"wallprof-_]0;pwned___-{v.pid}.json".encode()],
         f"the default output's name has no control bytes: {made}")
if made:
    rep = subprocess.run([wp.WALLPROF, "report", os.path.join(dbytes, made[0])], capture_output=True).stdout
    wp.check(b"\x1b" not in rep and b"\x07" not in rep and b"\xc2\x9b" not in rep and b"pwned" in rep,
             "report: the escape is shown escaped")
j = wp.run([wp.WALLPROF, "dump", "--json", "-p", str(v.pid)])
wp.check(j.returncode == 0 and len(json.loads(j.stdout)["threads"]) == 2, "dump --json: both threads")
v.kill()
v.wait()

# ---- SIGKILL ----
for name in ("killed.json", "killed.json.gz"):
    prof = os.path.join(d, name)
    w = subprocess.Popen([wp.WALLPROF, "record", "-q", "-F", "999", "-o", prof, "--",
                          wp.target("spin"), "100000", "0", "1"])
    t0 = time.monotonic()
    time.sleep(2.0)
    w.send_signal(signal.SIGKILL)
    ran = time.monotonic() - t0
    w.wait()
    subprocess.run(["pkill", "-f", wp.target("spin")])
    rj = wp.run([wp.WALLPROF, "report", "--format=json", prof])
    wp.check(rj.returncode == 0, f"{name}: report reads it: {rj.stderr.strip()}")
    run = json.loads(rj.stdout)["run"] if rj.returncode == 0 else {}
    hz, dur = run.get("frequency_hz", 0), run.get("duration_ns", 0) / 1e9
    wp.check(abs(hz - 999) <= 0.05 * 999, f"{name}: rate {hz} Hz (true 999)")
    wp.check(ran - 0.6 <= dur <= ran + 0.05, f"{name}: duration {dur:.2f} s (ran {ran:.2f} s, flushed every 0.25 s)")

# ---- outputs that fail ----
if os.geteuid() != 0:
    print("note: not root: no tmpfs or device of our own to fill; that part is skipped")
else:
    small = os.path.join(d, "small")
    os.makedirs(small)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", small]).returncode == 0:
        try:
            prof = os.path.join(small, "p.json")
            v = subprocess.Popen([wp.target("spin"), "100000", "0", "3"])
            time.sleep(0.2)
            t0 = time.monotonic()
            r = wp.run([wp.WALLPROF, "record", "-q", "-F", "999", "-d", "20", "-o", prof, "-p",
                        str(v.pid)], timeout=120)
            wp.check(time.monotonic() - t0 < 10, f"it stopped at once: {time.monotonic() - t0:.1f} s")
            wp.check(v.poll() is None and wp.proc_state(v.pid) in "RS", "the target runs on, detached")
            v.kill()
            v.wait()
            lines = r.stderr.strip().splitlines()
            wp.check(r.returncode == 2 and len(lines) <= 2 and "No space left" in r.stderr,
                     f"record into a full tmpfs: exit 2, one line: {r.returncode} {lines}")
            wp.check(os.path.getsize(prof) > 30000, f"what was written is kept: {os.path.getsize(prof)} bytes")
            rep = wp.run([wp.WALLPROF, "report", prof])
            wp.check(rep.returncode == 0 and "cut short" in rep.stdout + rep.stderr,
                     "and the report reads it, saying it was cut short")
        finally:
            subprocess.run(["pkill", "-f", wp.target("spin")])
            subprocess.run(["umount", small])
    full = os.path.join(d, "full")
    os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    good = os.path.join(d, "odd0.json")
    v = subprocess.Popen([wp.target("spin"), "100000", "0", "1"])
    time.sleep(0.2)
    for cmd in (["report", good], ["report", "--format=json", good], ["diff", good, good],
                ["convert", good, "-o", "-", "--format", "folded"], ["dump", "-p", str(v.pid)]):
        with open(full, "w") as out:
            r = subprocess.run([wp.WALLPROF] + cmd, stdout=out, stderr=subprocess.PIPE, text=True)
        lines = r.stderr.strip().splitlines()
        wp.check(r.returncode == 2 and len(lines) == 1 and "No space left" in lines[0],
                 f"{' '.join(cmd[:2])} into a full device: exit 2, one line: {r.returncode} {lines}")
    v.kill()
    v.wait()
    wp.check(stat.S_ISCHR(os.stat(full).st_mode), "the device is still a device")
wp.done()
