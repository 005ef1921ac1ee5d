#!/usr/bin/env python3
"""Stacks and symbols against eu-stack -i -s -n 0 (elfutils), the oracle,
on the same live processes, thread by thread: the program's own frames must
be the same functions, files, lines and inline levels.

tests/targets/deep.c holds threads blocked where stacks are hard: a sleep
under four always_inline levels, a 600-deep recursion, a frame-pointer
function in epoll_wait (read without a stop: its CFA needs rbp, which
/proc does not give), a write+fsync loop, a wait for a mutex that lies in
.bss past the file-backed pages, a frame-pointer function in epoll_wait
whose unwritten locals hold stale frame records of earlier deeper calls
(a wrong guess of rbp among them still unwinds to the outermost frame,
as in MariaDB's connection threads); deep-static is the same program
linked -static (no .eh_frame_hdr). wallprof dump runs first (it disturbs
nothing), then eu-stack (which stops every thread). A recording of deep
then has no stack cut short, with or without a stop, nor has one of
seesaw, whose stack goes 1 to 4000 frames deep and back while it runs.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

import wp

if not shutil.which("eu-stack"):
    wp.skip("eu-stack is not installed (Debian package elfutils; 'make deps' installs it)")

SUFFIX = re.compile(r"\.(constprop|isra|part|cold|lto_priv|localalias)(\.\d+)?")


def norm(fn):
    """A function's name without the clones' suffixes GCC adds to symbols
    (eu-stack names frames from DWARF, which has none)."""
    return SUFFIX.sub("", fn or "")


def eu_stack(pid):
    """tid -> [(function, module basename, file basename, line, inlined)]"""
    out = {}
    for tid, frames in wp.eu_stack(pid).items():
        rows = []
        for i, f in enumerate(frames):
            # With -i, every frame but the last of one address is inlined
            # (the same function again at the same address is recursion).
            nxt = frames[i + 1] if i + 1 < len(frames) else None
            inlined = bool(nxt) and nxt["address"] == f["address"] and nxt["function"] != f["function"]
            rows.append((norm(f["function"]), os.path.basename(f["module"]),
                         os.path.basename(f["file"] or ""), f["line"], inlined))
        out[tid] = rows
    return out


def wallprof_dump(pid):
    r = wp.run([wp.WALLPROF, "dump", "--json", "-p", str(pid)])
    wp.check(r.returncode == 0, f"dump exits 0: {r.returncode} {r.stderr.strip()}")
    d = json.loads(r.stdout)
    out = {}
    for t in d["threads"]:
        out[t["tid"]] = (t, [(norm(f["function"]), f["module"] or "", os.path.basename(f["file"] or ""),
                              f["line"] or 0, f["inlined"]) for f in t["frames"]])
    return out


def own(frames, module):
    return [f for f in frames if f[1] == module]


def compare(binary, label):
    d = wp.tmpdir()
    proc = subprocess.Popen([binary, d], stdout=subprocess.PIPE, text=True)
    try:
        wp.check(proc.stdout.readline().strip() == "ready", f"{label}: every thread in place")
        time.sleep(0.2)
        ours = wallprof_dump(proc.pid)
        oracle = eu_stack(proc.pid)
        module = os.path.basename(binary)
        names = {tid: t["name"] for tid, (t, _) in ours.items()}
        for tid, name in sorted(names.items()):
            t, frames = ours[tid]
            if name == "disk":
                # It moves between the two snapshots: compare with the truth.
                fns = [f[0] for f in frames]
                wp.check("disk_thread" in fns and fns[-2:] == ["start_thread", "__clone3"]
                         and not t["truncated"],
                         f"{label} disk ({t['state']}): whole stack {fns}")
                continue
            want = own(oracle.get(tid, []), module)
            got = own(frames, module)
            wp.check(got == want and len(want) > 0,
                     f"{label} {name}: {len(got)} own frames, as eu-stack's {len(want)}"
                     + ("" if got == want else f"\n  wallprof {got[:8]}\n  eu-stack {want[:8]}"))
            wp.check(not t["truncated"] and len(frames) >= len(oracle.get(tid, [])) - 1,
                     f"{label} {name}: not cut short, {len(frames)} frames in all (eu-stack "
                     f"{len(oracle.get(tid, []))})")
        inline = [f for tid, (t, fr) in ours.items() if t["name"] == "inline" for f in fr]
        levels = [(f[0], f[3], f[4]) for f in inline if f[0].startswith("level") or f[0] == "outer"]
        wp.check([l[0] for l in levels] == ["level4", "level3", "level2", "level1", "outer"]
                 and all(l[2] for l in levels[:4]) and not levels[4][2],
                 f"{label}: the whole inline chain, each with its line: {levels}")
        # A mutex 1 MiB into a .bss object, past the file-backed pages: named
        # by its object, with its owner.
        waiter = [t for tid, (t, fr) in ours.items() if t["name"] == "bsswait"][0]
        holder = [tid for tid, (t, fr) in ours.items() if t["name"] == "holder"][0]
        wf = waiter.get("waiting_for") or {}
        wp.check(wf.get("symbol") == "big+1048576" and wf.get("owner_tid") == holder,
                 f"{label}: the .bss lock is big+1048576, held by holder ({holder}): {wf}")
        rec = [f for tid, (t, fr) in ours.items() if t["name"] == "recurse" for f in fr]
        wp.check(sum(1 for f in rec if f[0] == "recurse") == 601, f"{label}: 601 recurse frames")
    finally:
        proc.kill()
        proc.wait()


compare(wp.target("deep"), "deep")
compare(wp.target("deep-static"), "deep -static")

# A recording: no stack cut short, whether read with a stop or without.
d = wp.tmpdir()
proc = subprocess.Popen([wp.target("deep"), d], stdout=subprocess.PIPE, text=True)
try:
    proc.stdout.readline()
    prof = os.path.join(d, "deep.json")
    r = wp.run([wp.WALLPROF, "record", "-q", "-F", "199", "-d", "2", "-o", prof, "-p", str(proc.pid)])
    wp.check(r.returncode == 0, f"record: {r.returncode} {r.stderr.strip()}")
finally:
    proc.kill()
    proc.wait()
p = wp.load(prof)
names = wp.thread_names(p)
cut = {}
for row in p["samples"]:
    n = names[row[1]]
    c = cut.setdefault(n, [0, 0])
    c[0] += 1
    c[1] += p["stacks"][row[2]]["truncated"]
wp.check(all(c[1] == 0 for c in cut.values()) and len(cut) == 8,
         f"no stack cut short in any thread (samples, cut short): {cut}")
wp.check(p["stats"]["nostop"] > 0 and p["stats"]["stops"] > 0,
         f"both kinds of sample were taken: {p['stats']['nostop']} without a stop, {p['stats']['stops']} stops")
fp, n = wp.share_with_function(p, "fp", "fp_outer")
wp.check(n > 300 and fp == 100, f"the frame-pointer thread's samples all reach fp_outer: {fp:.0f}% of {n}")

# A running thread whose stack goes deep and comes back (seesaw: 1 to 4000
# frames, as a compiler's): the copy of its stack at each stop is sized from
# the unwinds before, and an unwind that runs past it cannot be read again
# (the thread has gone on). Sizing each copy to the last unwind cut 30% of
# these stacks (457 and 460 of about 1,500), as it cut 8-10% of clang++'s;
# now the copy shrinks slowly: at most 1% (0 in three runs).
prof = os.path.join(wp.tmpdir(), "seesaw.json")
r = wp.run([wp.WALLPROF, "record", "-q", "-F", "499", "-o", prof, "--", wp.target("seesaw"), "3"])
wp.check(r.returncode == 0 and r.stdout.startswith("seesaw: "), f"seesaw ran: {r.returncode} {r.stdout.strip()!r}")
p = wp.load(prof)
cut = sum(p["stacks"][row[2]]["truncated"] for row in p["samples"])
# Samples before main (in ld.so) or after it returned reach _start instead.
whole = sum(bool({"main", "_start"} & set(wp.functions_of(p, row))) for row in p["samples"])
n = len(p["samples"])
wp.check(n > 500 and cut <= n / 100 and whole == n - cut,
         f"seesaw: {cut} of {n} stacks cut short (at most 1%), the {whole} others reach main or _start")

# A 32-bit program is refused with one line, never read as if it were
# x86_64 (its syscall numbers and frames are not): launched (126), attached
# and dumped (2). Run by a 64-bit parent under -f, it is sampled for its
# states only, with a warning. Made with binutils alone: no 32-bit libc.
d = wp.tmpdir()
src = os.path.join(d, "t32.s")
with open(src, "w") as f:
    f.write("\t.globl _start\n\t.text\n_start:\n"
            "\tmovl $162, %eax\n\tmovl $ts, %ebx\n\txorl %ecx, %ecx\n\tint $0x80\n"  # nanosleep
            "\tmovl $1, %eax\n\txorl %ebx, %ebx\n\tint $0x80\n"  # exit(0)
            "\t.data\nts:\t.long 1, 0\n")
t32 = os.path.join(d, "t32")
built = (wp.run(["as", "--32", "-o", t32 + ".o", src]).returncode == 0 and
         wp.run(["ld", "-m", "elf_i386", "-o", t32, t32 + ".o"]).returncode == 0)
if not built:
    print("note: binutils cannot build a 32-bit program here; the 32-bit checks are skipped")
else:
    prof = os.path.join(d, "t32.json")
    r = wp.run([wp.WALLPROF, "record", "-o", prof, "--", t32])
    wp.check(r.returncode == 126 and "32-bit program" in r.stderr and not os.path.exists(prof),
             f"launching a 32-bit program is refused: {r.returncode} {r.stderr.strip()}")
    v = subprocess.Popen([t32])
    time.sleep(0.2)
    for cmd in (["record", "-o", prof, "-p", str(v.pid)], ["dump", "-p", str(v.pid)]):
        r = wp.run([wp.WALLPROF] + cmd)
        wp.check(r.returncode == 2 and r.stderr.count("\n") == 1 and "32-bit program" in r.stderr,
                 f"{cmd[0]} -p of a 32-bit process: {r.returncode} {r.stderr.strip()}")
    v.wait()
    r = wp.run([wp.WALLPROF, "record", "-q", "-f", "-o", prof, "--", "sh", "-c", f"{t32}; true"])
    p = wp.load(prof)
    rows = [row for row in p["samples"] if wp.thread_names(p)[row[1]] == "t32"]
    wp.check(r.returncode == 0 and "32-bit program" in r.stderr and len(rows) > 50
             and all(row[4] == -1 for row in rows),
             f"-f into a 32-bit program: warned, {len(rows)} samples, none with a syscall")

# Where the binary is not where its path says: deleted after it started
# (read through /proc/PID/map_files), or in a mount namespace of its own
# (read through /proc/PID/root). Names and lines as before.


def dumped_names(pid):
    r = wp.run([wp.WALLPROF, "dump", "--json", "-p", str(pid)])
    d = json.loads(r.stdout) if r.returncode == 0 else {"threads": []}
    return {t["name"]: t for t in d["threads"]}


def inline_ok(threads):
    t = threads.get("inline")
    fr = [(f["function"], f["line"] or 0) for f in t["frames"]] if t else []
    return any(f == "level3" and ln > 0 for f, ln in fr) and any(f == "outer" for f, _ in fr)


d = wp.tmpdir()
copy = os.path.join(d, "deep-gone")
shutil.copy(wp.target("deep"), copy)
v = subprocess.Popen([copy, d], stdout=subprocess.PIPE, text=True)
try:
    v.stdout.readline()
    os.unlink(copy)
    wp.check(inline_ok(dumped_names(v.pid)), "a deleted binary: names and lines still found")
finally:
    v.kill()
    v.wait()

if os.geteuid() != 0 or not shutil.which("unshare"):
    print("note: not root or no unshare(1): the mount namespace case is not run")
else:
    hidden = os.path.join(d, "hidden")
    os.makedirs(hidden)
    v = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                          f"mount -t tmpfs none {hidden} && cp {wp.target('deep')} {hidden}/deep && "
                          f"exec {hidden}/deep {d}"], stdout=subprocess.PIPE, text=True)
    try:
        wp.check(v.stdout.readline().strip() == "ready", "a binary in a mount namespace of its own runs")
        wp.check(not os.path.exists(os.path.join(hidden, "deep")), "and is not visible from here")
        wp.check(inline_ok(dumped_names(v.pid)), "another mount namespace: names and lines found")
    finally:
        v.kill()
        v.wait()
# A library loaded while recording (dlopen): its code lies in no mapping
# read at the start. An unwind that meets it reads the maps again (the
# address space grew), and the wait inside it is named.
if not shutil.which("cc"):
    print("note: no C compiler (cc): the dlopen case is not run")
else:
    src = os.path.join(d, "wplate.c")
    lib = os.path.join(d, "libwplate.so")
    with open(src, "w") as f:
        f.write("#include <poll.h>\n"
                "__attribute__((noinline)) int wp_late_wait(int ms) { return poll(0, 0, ms); }\n"
                "int wp_late_entry(int ms) { return wp_late_wait(ms) + 1; }\n")
    wp.run(["cc", "-O1", "-g", "-shared", "-fPIC", "-o", lib, src])
    prof = os.path.join(d, "late.json")
    script = f"import ctypes, time\ntime.sleep(0.5)\nctypes.CDLL({lib!r}).wp_late_entry(1500)\n"
    r = wp.run([wp.WALLPROF, "record", "-q", "-o", prof, "--", sys.executable, "-c", script])
    p = wp.load(prof)
    polls = [row for row in p["samples"] if row[4] >= 0 and p["syscall_names"].get(str(row[4])) == "poll"]
    named = [row for row in polls if "wp_late_wait" in wp.functions_of(p, row)]
    wp.check(r.returncode == 0 and len(polls) >= 100 and len(named) == len(polls),
             f"a dlopen'ed library's wait: {len(named)} of {len(polls)} poll samples name wp_late_wait (want all, 100 or more)")
wp.done()
