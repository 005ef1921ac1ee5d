#!/usr/bin/env python3
"""Go programs, which have no .eh_frame for their Go code.

1. tests/targets/go-waits as built: only a compressed .debug_frame, which
   wallprof rewrites for its unwinder. dump's stacks must be eu-stack -i -s
   -n 0's (the oracle) on the same live process, thread by thread, up to
   where eu-stack stops (Go's scheduler switches stacks); and a recording
   has its goroutines' frames.
2. The same binary stripped as Debian strips its Go programs (no symbols,
   no DWARF, so no .debug_frame), also built as a PIE: wallprof has only
   Go's own table
   (.gopclntab) to name and unwind by. eu-stack gets the stripped part back
   as a separate debug file, in a directory only it is told of, and stays
   the oracle: the same frames, names without the linker's ".abi0". Built
   with -ldflags=-w (symbols, no DWARF), its frames get their lines from
   that table too.
3. Debian's fzf (a stripped Go program) blocked reading its input: every
   frame named as Go's own debug/gosym names its address
   (tests/targets/go-pcln), and with its line where wallprof gives one; and
   every return address follows a direct call into the function of the
   frame below, or an indirect call.
Skips without the Go toolchain (Debian package golang-go); part 3 without
fzf."""
import json
import os
import shutil
import subprocess
import time

import wp

if not shutil.which("go"):
    wp.skip("the Go toolchain is not installed (Debian package golang-go; 'make deps' installs it)")
if not shutil.which("eu-stack"):
    wp.skip("eu-stack is not installed (Debian package elfutils)")
src = os.path.join(wp.ROOT, "tests", "targets", "go-waits")
out = os.path.join(wp.ROOT, "build", "targets", "go-waits")
env = dict(os.environ, GOCACHE=os.path.join(wp.ROOT, "build", "go-cache"), GOFLAGS="-mod=mod",
           GOPATH=os.path.join(wp.ROOT, "build", "go-path"), GOPROXY="off", CGO_ENABLED="1")
b = wp.run(["go", "build", "-o", out, "."], cwd=src, env=env, timeout=600)
wp.check(b.returncode == 0, f"go build: {b.stderr.strip()[:300]}")
secs = wp.run(["readelf", "-SW", out]).stdout
wp.check(".eh_frame" not in secs and ".debug_frame" in secs, "the binary has .debug_frame and no .eh_frame")

d = wp.tmpdir()


def eu(pid, extra):
    return {tid: [f["function"] for f in frames] for tid, frames in wp.eu_stack(pid, extra).items()}


def dump_beside_eu(binary, extra=(), record=None):
    """Start binary, dump it between two eu-stack looks; optionally record
    it. Returns (dump's threads by tid, eu-stack's stacks that did not move,
    the recording's result)."""
    v = subprocess.Popen([binary, os.path.join(d, "f.dat")], stdout=subprocess.PIPE, text=True)
    rec = None
    try:
        wp.check(v.stdout.readline().strip() == "ready", f"{os.path.basename(binary)}: every goroutine waits")
        # Go's threads move now and then (the scheduler, the garbage
        # collector, the write of "ready" returning): two snapshots a few
        # milliseconds apart may differ. eu-stack looks before and after
        # the dump, and a thread it saw in two places moved meanwhile: it
        # is not compared (an idle M goes between netpoll and a futex sleep
        # in findRunnable; seen under ASan beside a CPU hog, three tries in
        # a row). Up to five tries for one where the others agree.
        time.sleep(0.3)
        for attempt in range(5):
            before = eu(v.pid, extra)
            r = wp.run([wp.WALLPROF, "dump", "--json", "-p", str(v.pid)])
            after = eu(v.pid, extra)
            ours = {t["tid"]: t for t in json.loads(r.stdout)["threads"]} if r.returncode == 0 else {}
            theirs = {tid: fr for tid, fr in after.items() if before.get(tid) == fr}
            if all([f["function"] for f in t["frames"]][:3] == [norm(x) for x in theirs[tid][:3]]
                   for tid, t in ours.items() if tid in theirs):
                break
            time.sleep(0.5)
        wp.check(r.returncode == 0, f"dump: {r.returncode} {r.stderr.strip()}")
        if record:
            rec = wp.run([wp.WALLPROF, "record", "-q", "-F", "199", "-d", "1.5", "-o", record, "-p", str(v.pid)])
    finally:
        v.kill()
        v.wait()
    return ours, theirs, rec


norm = str


def compare(ours, theirs, what):
    compared = 0
    for tid, t in ours.items():
        names = [f["function"] for f in t["frames"]]
        want = []
        for fn in theirs.get(tid, []):
            if not fn:
                break  # eu-stack went astray past a stack switch
            want.append(norm(fn))
        # The thread in write+fsync, and sysmon (which wakes every few
        # ms), move between the two snapshots: each against what it must
        # show.
        if any("syncFile" in n for n in names + want):
            # Between two calls it may be in the scheduler, on another stack.
            wp.check(("main.syncFile" in names and names[-1] == norm("runtime.goexit.abi0"))
                     or any(n.startswith("runtime.") for n in names[1:]),
                     f"{what}: the write+fsync goroutine's thread, in its goroutine or the scheduler: {names}")
            continue
        if names[:1] == ["__vdso_clock_gettime"]:
            # Caught on a CPU inside the vDSO (sysmon reads the clock every
            # few ms; seen beside a CPU hog): Go's nanotime1 moved to the
            # g0 stack for the call, which its frame tables do not
            # describe. The stack ends there, and must say so.
            wp.check(t["truncated"], f"{what}: a thread in Go's vDSO call, its stack marked cut short: {names}")
            continue
        if "runtime.sysmon" in names + want:
            # Its thread was started by cgo's crosscall_amd64 (which the
            # symbol table calls runtime/cgo(.text)), from libc.
            wp.check(names[-4:-1] in ([norm("runtime.mstart.abi0"), "runtime/cgo(.text)", "start_thread"],
                                      [norm("runtime.mstart.abi0"), "crosscall_amd64", "start_thread"])
                     or norm("runtime.mstart.abi0") in names, f"{what}: sysmon's thread, whole: {names}")
            continue
        if tid not in theirs:
            print(f"note: thread {tid} moved while eu-stack and wallprof looked: not compared")
            continue
        n = min(len(want), len(names))
        wp.check(n >= 3 and names[:n] == want[:n],
                 f"{what}, thread {tid}: {n} frames as eu-stack's\n  wallprof {names}\n  eu-stack {want}")
        compared += 1
    wp.check(compared >= 2, f"{what}: threads compared: {compared}")


# 1. As built.
prof = os.path.join(d, "go.json")
ours, theirs, rec = dump_beside_eu(out, record=prof)
compare(ours, theirs, "go-waits")
wp.check(rec.returncode == 0, f"record -p: {rec.returncode} {rec.stderr.strip()}")
p = wp.load(prof)
fns = {f["function"] for f in p["frames"]}
wp.check({"main.syncFile", "runtime.futexsleep", "runtime.findRunnable"} <= fns,
         f"the recording has the goroutines' and the scheduler's frames: {sorted(fns)[:12]}")

# 2. Stripped, as Debian ships Go programs: as built, and as a
# position-independent executable (Ubuntu's and Fedora's default), whose
# table is in .data.rel.ro.gopclntab. The debug file goes where only
# eu-stack looks: its --debuginfo-path, under the binary's own directory.
private = os.path.join(d, "eu-only")
os.makedirs(private + d)


def norm(name):
    """The linker's name for an assembly function; Go's table has none of
    the ".abi0" it appends. cgo's thread entry, which the symbol table
    knows by its section's start, is named by the binary's .dynsym."""
    if name == "runtime/cgo(.text)":
        return "crosscall_amd64"
    return name[:-5] if name.endswith(".abi0") else name


for what, built, flags in (("stripped", out, None), ("stripped PIE", os.path.join(d, "go-waits-pie.full"),
                                                     ["-buildmode=pie"])):
    if flags:
        b = wp.run(["go", "build", *flags, "-o", built, "."], cwd=src, env=env, timeout=600)
        wp.check(b.returncode == 0, f"go build {' '.join(flags)}: {b.stderr.strip()[:300]}")
    stripped = os.path.join(d, os.path.basename(built).replace(".full", "") + ".s")
    debug = os.path.join(private + d, os.path.basename(stripped) + ".debug")
    for cmd in (["objcopy", "--only-keep-debug", built, debug],
                ["strip", "--strip-all", "-o", stripped, built],
                ["objcopy", "--add-gnu-debuglink=" + debug, stripped]):
        c = wp.run(cmd)
        wp.check(c.returncode == 0, f"{' '.join(cmd[:2])}: {c.stderr.strip()[:200]}")
    secs = wp.run(["readelf", "-SW", stripped]).stdout
    wp.check("gopclntab" in secs and ".debug_frame" not in secs and ".symtab" not in secs,
             f"{what}: Go's table, and no .debug_frame and no symbols")

    ours, theirs, rec = dump_beside_eu(stripped, ["--debuginfo-path=" + private], record=prof)
    compare(ours, theirs, what)
    p = wp.load(prof)
    fns = {f["function"] for f in p["frames"]}
    wp.check(rec.returncode == 0 and {"main.syncFile", "runtime.futexsleep", "runtime.findRunnable"} <= fns,
             f"{what}: the recording has the goroutines' and the scheduler's frames: {sorted(fns)[:12]}")
    # main.main.func1 (the fsync goroutine's start) is the table's last
    # function: its CFI is the last record, which an unwind once could not
    # read whole, and every such stack ended there, cut short.
    sync = [row for row in p["samples"] if "main.syncFile" in wp.functions_of(p, row)]
    whole = [row for row in sync if wp.functions_of(p, row)[-1] == "runtime.goexit"
             and not p["stacks"][row[2]]["truncated"]]
    wp.check(len(sync) >= 50 and len(whole) >= 0.95 * len(sync),
             f"{what}: the fsync goroutine's stacks reach runtime.goexit through the last function: "
             f"{len(whole)} of {len(sync)}")
    files = {f["file"] for f in p["frames"] if f["function"] == "main.syncFile"}
    wp.check(files == {os.path.join(src, "main.go")}, f"{what}: main.syncFile's lines are in main.go: {files}")
    # Stacks end where Go's own traceback ends: at its stack switches
    # (mcall, systemstack), whole, with nothing read past them (a stale
    # return address gave runtime.newproc under 5-11% of restic's and
    # hugo's samples, and 28-49% were marked cut short).
    cut = sum(1 for row in p["samples"] if p["stacks"][row[2]]["truncated"])
    past = sum(1 for row in p["samples"] for k, f in enumerate(wp.functions_of(p, row)[:-1])
               if f in ("runtime.mcall", "runtime.systemstack"))
    wp.check(cut <= 0.02 * len(p["samples"]) and past == 0,
             f"{what}: {cut} of {len(p['samples'])} stacks cut short, {past} with a frame past a stack switch")
    rep = wp.run([wp.WALLPROF, "report", prof]).stdout
    wp.check("no debug info for" not in rep and "have no function name" not in rep,
             f"{what}: the report does not call Go's names and lines missing: "
             f"{[x for x in rep.splitlines() if 'debug info' in x or 'function name' in x]}")

# 2b. Built with -ldflags=-w (symbols, no DWARF): the lines from Go's table.
nodwarf = os.path.join(d, "go-waits-w")
b = wp.run(["go", "build", "-ldflags=-w", "-o", nodwarf, "."], cwd=src, env=env, timeout=600)
wp.check(b.returncode == 0 and ".debug_line" not in wp.run(["readelf", "-SW", nodwarf]).stdout,
         f"go build -ldflags=-w, no DWARF: {b.stderr.strip()[:200]}")
v = subprocess.Popen([nodwarf, os.path.join(d, "f.dat")], stdout=subprocess.PIPE, text=True)
try:
    v.stdout.readline()
    rec = wp.run([wp.WALLPROF, "record", "-q", "-F", "199", "-d", "1", "-o", prof, "-p", str(v.pid)])
finally:
    v.kill()
    v.wait()
p = wp.load(prof)
lines = {(f["file"], f["line"]) for f in p["frames"] if f["function"] == "main.syncFile"}
wp.check(rec.returncode == 0 and lines and all(f == os.path.join(src, "main.go") and ln > 0 for f, ln in lines),
         f"-ldflags=-w: main.syncFile's frames have their lines in main.go: {lines}")

# 3. Debian's fzf, blocked reading its input from a pipe.
fzf = shutil.which("fzf")
if not fzf:
    print("note: fzf is not installed (Debian package fzf; 'make deps' installs it): part 3 not run")
    wp.done()
rfd, wfd = os.pipe()
z = subprocess.Popen([fzf, "--filter=abc"], stdin=rfd, stdout=subprocess.DEVNULL)
os.close(rfd)
try:
    os.write(wfd, b"abc\n")
    time.sleep(0.5)
    r = wp.run([wp.WALLPROF, "dump", "--json", "-p", str(z.pid)])
    wp.check(r.returncode == 0, f"dump of fzf: {r.returncode} {r.stderr.strip()}")
    threads = json.loads(r.stdout)["threads"]
    with open(f"/proc/{z.pid}/mem", "rb") as mem:
        def code(addr, n):
            mem.seek(addr)
            return mem.read(n)
        frames = [f for t in threads for f in t["frames"] if f.get("module") == "fzf"]
        addrs = sorted({int(f["address"], 16) for f in frames})
        # Calls: the return address of each caller in fzf, and the callee.
        calls = []
        for t in threads:
            fr = t["frames"]
            for k in range(len(fr) - 1):
                if fr[k].get("module") == "fzf" and fr[k + 1].get("module") == "fzf" \
                        and fr[k + 1]["function"] != "runtime.goexit":
                    ra = int(fr[k + 1]["address"], 16) + 1
                    calls.append((fr[k]["function"], fr[k + 1]["function"], ra, code(ra - 5, 5)))
finally:
    os.close(wfd)
    z.wait(timeout=10)
targets = [ra + int.from_bytes(b[1:5], "little", signed=True) for _, _, ra, b in calls if b[0] == 0xE8]
# The oracle: Go's own debug/gosym reading fzf's table (tests/targets/go-pcln;
# `go tool addr2line` of Go 1.19 is off by 256 bytes on fzf: it takes the
# code to start where .text does, before the C start-up code).
pcln = os.path.join(wp.ROOT, "build", "targets", "go-pcln")
b = wp.run(["go", "build", "-o", pcln, "."], cwd=os.path.join(wp.ROOT, "tests", "targets", "go-pcln"), env=env,
           timeout=600)
wp.check(b.returncode == 0, f"go build go-pcln: {b.stderr.strip()[:300]}")
a2l = wp.run([pcln, fzf], input="".join(f"{a:#x}\n" for a in addrs + targets))
lines = [x.split("\t") for x in a2l.stdout.splitlines()]
wp.check(a2l.returncode == 0 and len(lines) == len(addrs) + len(targets),
         f"go-pcln: {a2l.returncode} {a2l.stderr.strip()[:200]}")
named = dict(zip(addrs + targets, lines))
# Its C code (cgo's, named from .dynsym) is not in Go's table.
go_frames = [f for f in frames if named[int(f["address"], 16)][0] != "?"]
bad = [(f["address"], f["function"], f["file"], f["line"], named[int(f["address"], 16)]) for f in go_frames
       if f["function"] != named[int(f["address"], 16)][0]
       or (f["line"] and f"{f['file']}:{f['line']}" != named[int(f["address"], 16)][1])]
wp.check(len(go_frames) >= 20 and not bad,
         f"fzf: {len(go_frames)} frames of Go code named as debug/gosym names them; differing: {bad[:5]}")
reader = [t for t in threads if any(f["function"].endswith("src.(*Reader).feed") for f in t["frames"])]
wp.check(reader and "syscall.read" in [f["function"] for f in reader[0]["frames"][:6]],
         f"fzf: its reader's thread in syscall.read under Reader.feed: "
         f"{[f['function'] for f in reader[0]['frames']] if reader else None}")
direct = [(callee, caller, named[t][0]) for (callee, caller, _, b), t in
          zip([c for c in calls if c[3][0] == 0xE8], targets)]
wrong = [c for c in direct if c[0] != c[2]]
indirect = [c[:2] for c in calls if c[3][0] != 0xE8 and not any(
    c[3][i] == 0xFF and (c[3][i + 1] >> 3) & 7 == 2 for i in range(4))]
wp.check(len(direct) >= 15 and not wrong and not indirect,
         f"fzf: {len(direct)} return addresses after a direct call into the callee's function; "
         f"into another: {wrong[:5]}; after no call: {indirect[:5]}")
wp.done()
