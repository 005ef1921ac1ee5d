"""Helpers for wallprof's tests: run wallprof and targets for real, read the
profile they produce, and check numbers against the known truth.

A test script exits 0 (pass), 1 (fail) or 77 (skip, with the reason on
stderr). Every check prints what it compared, so a failure explains itself.
"""
import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WALLPROF = os.path.join(ROOT, "build", "wallprof")
TARGETS = os.path.join(ROOT, "build", "targets")

_failures = 0


def sanitized():
    """Is wallprof built with ASan/UBSan (SANITIZE=...)? Its memory is then
    the sanitizers' as much as its own (shadow memory, freed blocks held in
    quarantine)."""
    out = subprocess.run(["ldd", WALLPROF], capture_output=True, text=True).stdout
    return "libasan" in out or "libubsan" in out


# ASan holds freed blocks back in a quarantine (256 MB by default) to catch
# use after free; that memory counts in the peak RSS without being
# wallprof's. The memory runs cap it, and the bound allows for it.
ASAN_QUARANTINE_MB = 16


def memory_env():
    """The environment for a run whose peak memory is measured."""
    env = dict(os.environ)
    if sanitized():
        opts = env.get("ASAN_OPTIONS", "")
        env["ASAN_OPTIONS"] = (opts + ":" if opts else "") + f"quarantine_size_mb={ASAN_QUARANTINE_MB}"
    return env


def memory_limit_kb(mb):
    """A peak-memory bound for the plain build; under the sanitizers four
    times it (shadow memory, redzones) plus the capped quarantine of
    memory_env(), which still catches growth per process or per exec."""
    if sanitized():
        return (mb * 4 + ASAN_QUARANTINE_MB) * 1024
    return mb * 1024


def target(name):
    return os.path.join(TARGETS, name)


_tmpdirs = []


def tmpdir():
    """A new temporary directory, removed when the test ends, unless it
    failed (then kept, and named, as evidence)."""
    d = tempfile.mkdtemp(prefix="wallprof-test-")
    _tmpdirs.append(d)
    return d


@atexit.register
def _remove_tmpdirs():
    for d in _tmpdirs:
        if _failures:
            print(f"kept for a look: {d}")
        else:
            shutil.rmtree(d, ignore_errors=True)


def run(args, timeout=60, **kw):
    """Run a command; return CompletedProcess with text stdout/stderr."""
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


def check(cond, what):
    global _failures
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        _failures += 1
    return cond


def near(got, want, tol, what):
    return check(abs(got - want) <= tol, f"{what}: {got:.1f} (want {want} +/- {tol})")


def skip(reason):
    print(f"skip: {reason}", file=sys.stderr)
    sys.exit(77)


def done():
    sys.exit(1 if _failures else 0)


SAMPLE_SOURCES = ("stops", "late_samples", "reused", "nostop", "pc_only", "stops_skipped")


def load(path):
    """A profile; for one recorded by wallprof, checks that its samples are
    all accounted for: each was taken in one of six ways (stats), and the
    six add up to the samples in the file."""
    with open(path) as f:
        text = f.read()
    try:
        p = json.loads(text)
    except json.JSONDecodeError as e:
        # Evidence: the file stays in its (kept) directory; the text
        # around the fault is shown.
        check(False, f"{path} is not valid JSON: {e}; around it: {text[max(0, e.pos - 400):e.pos + 400]!r}")
        raise
    st = p.get("stats") if isinstance(p, dict) else None
    if isinstance(st, dict) and all(k in st for k in SAMPLE_SOURCES) and isinstance(p.get("samples"), list):
        parts = {k: st[k] for k in SAMPLE_SOURCES}
        check(sum(parts.values()) == st["samples"] == len(p["samples"]),
              f"{os.path.basename(path)}: sample sources add up: {parts} = {sum(parts.values())}, "
              f"stats.samples {st['samples']}, {len(p['samples'])} in the file")
    return p


def load_after(r, path):
    """load(path) of what the run r wrote; a failed run says how it ended
    (a sanitizer's report, a crash) before the file is read."""
    if r.returncode != 0:
        print(f"note: {path}: the run exited {r.returncode}; its stderr ends with:\n{r.stderr[-3000:]}")
    return load(path)


def shell_status(returncode):
    """A status as a shell (and wallprof) gives it: 128 + N for a death by
    signal N, which subprocess reports as -N."""
    return 128 - returncode if returncode < 0 else returncode


def same_as_plain(args, what, extra=(), status=0, prof=None, timeout=120):
    """Run the command args plainly, then under `wallprof record -q extra`:
    the same output and exit status (status, which wallprof passes on), the
    profile written to prof (default: a file in tmpdir()). Returns
    (profile or None, wallprof's CompletedProcess)."""
    plain = run(args, timeout=timeout)
    prof = prof or os.path.join(tmpdir(), f"{os.path.basename(args[0])}-{time.monotonic_ns()}.json")
    r = run([WALLPROF, "record", "-q", *extra, "-o", prof, "--", *args], timeout=timeout)
    check(shell_status(plain.returncode) == r.returncode == status and plain.stdout == r.stdout,
          f"{what}: status {r.returncode} (plain {shell_status(plain.returncode)}, want {status}), "
          f"output {'unchanged' if plain.stdout == r.stdout else 'changed'}: {r.stdout.strip()[-200:]!r}")
    return (load(prof) if os.path.exists(prof) else None), r


def one_error(r, code, *words):
    """A failure said as it should be: exit status code, one line of error
    on stderr (naming each of words), at most one hint line after it, and
    nothing on stdout."""
    lines = r.stderr.strip().splitlines()
    check(r.returncode == code and 1 <= len(lines) <= 2 and lines[0].startswith("wallprof")
          and all(w in lines[0] for w in words) and (len(lines) == 1 or lines[1].startswith("wallprof: hint:"))
          and not r.stdout,
          f"exit {r.returncode} (want {code}), one error line naming {list(words)} and at most a hint: {lines}")
    return lines


def state_names(p):
    return p["states"]


def thread_names(p):
    """tid -> last name"""
    return {t["tid"]: (t["names"][-1] if t["names"] else "?") for t in p["threads"]}


def samples_by_name(p):
    """name -> list of sample rows"""
    names = thread_names(p)
    out = defaultdict(list)
    for row in p["samples"]:
        out[names.get(row[1], "?")].append(row)
    return out


def shares(p, name):
    """Share (in percent) of each state among the samples of thread `name`,
    and the sample count."""
    rows = samples_by_name(p)[name]
    states = state_names(p)
    c = Counter(states[r[3]] for r in rows)
    n = len(rows)
    return {k: 100.0 * v / n for k, v in c.items()} if n else {}, n


def syscall_shares(p, name):
    rows = samples_by_name(p)[name]
    names = p["syscall_names"]
    c = Counter(names.get(str(r[4]), "-") if r[4] >= 0 else "-" for r in rows)
    n = len(rows)
    return {k: 100.0 * v / n for k, v in c.items()} if n else {}, n


def functions_of(p, row):
    """The function names of a sample's stack, innermost first."""
    frames = p["frames"]
    return [frames[i]["function"] for i in p["stacks"][row[2]]["frames"]]


def share_with_function(p, name, func, state=None):
    """Share of thread `name`'s samples (optionally in `state`) whose stack
    contains a function whose name contains `func`."""
    rows = samples_by_name(p)[name]
    states = state_names(p)
    if state:
        rows = [r for r in rows if states[r[3]] == state]
    if not rows:
        return 0.0, 0
    hit = sum(1 for r in rows if any(func in f for f in functions_of(p, r)))
    return 100.0 * hit / len(rows), len(rows)


def wait_for(pred, timeout=5.0, step=0.02):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def proc_state(pid):
    """The state letter of /proc/PID/stat, or None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        return s[s.rindex(")") + 2]
    except (OSError, ValueError):
        return None


def task_states(pid):
    out = {}
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    s = f.read()
                out[int(tid)] = s[s.rindex(")") + 2]
            except OSError:
                pass
    except OSError:
        pass
    return out


def eu_stack(pid, extra=()):
    """Stacks of a live process as `eu-stack -i -s -m -n 0` (elfutils, the
    oracle) prints them: tid -> [frame], innermost first, each frame a dict
    with address, function ("" if it has none), module (the binary's path,
    "" if none), file and line (None and 0 when it has no line). extra:
    more options (--debuginfo-path=...)."""
    import re
    r = run(["eu-stack", "-i", "-s", "-m", "-n", "0", *extra, "-p", str(pid)], timeout=60)
    threads, cur = {}, None
    for line in r.stdout.splitlines():
        m = re.match(r"TID (\d+):", line)
        if m:
            cur = threads.setdefault(int(m.group(1)), [])
            continue
        m = re.match(r"#\d+[ \t]+0x([0-9a-f]+)[ \t]*(\S*)(?:[ \t]+-[ \t]+(\S+))?", line)
        if m and cur is not None:
            fn = m.group(2) if m.group(2) != "-" else ""
            cur.append({"address": int(m.group(1), 16), "function": fn,
                        "module": m.group(3) or "", "file": None, "line": 0})
            continue
        m = re.match(r"\s+(\S+?):(\d+)(?::\d+)?$", line)
        if m and cur:
            cur[-1]["file"], cur[-1]["line"] = m.group(1), int(m.group(2))
    return threads


def strace_counts(args, calls, follow=False, timeout=120):
    """strace -c's count of each call of `calls` (comma-separated) that the
    command args made: its own, or with follow (-f) its children's too.
    None if strace is not installed."""
    if not shutil.which("strace"):
        return None
    out = os.path.join(tmpdir(), "strace.txt")
    subprocess.run(["strace"] + (["-f"] if follow else []) + ["-c", "-e", "trace=" + calls, "-o", out] + list(args),
                   capture_output=True, timeout=timeout)
    counts = {}
    with open(out) as f:
        for line in f:
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$", line)
            if m and m.group(2) != "total":
                counts[m.group(2)] = int(m.group(1))
    return counts


_PIPE_DEADLOCK = r'''
import os
a_r, a_w = os.pipe()   # written by the parent, read by the child
b_r, b_w = os.pipe()   # written by the child, read by the parent
pid = os.fork()
if pid == 0:
    os.close(a_w); os.close(b_r)
    os.write(b_w, b"x" * (1 << 20))
    os._exit(0)
os.close(a_r); os.close(b_w)
print(pid, flush=True)
os.write(a_w, b"y" * (1 << 20))
'''


def pipe_deadlock():
    """Two processes, each blocked writing 1 MiB into a pipe the other
    never reads: each one's read end is held by the other, and only by it.
    Returns (the parent's Popen, the child's pid) once both are blocked;
    kill the child, then the parent."""
    import subprocess
    parent = subprocess.Popen([sys.executable, "-c", _PIPE_DEADLOCK], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    wait_for(lambda: proc_state(parent.pid) == "S" and proc_state(child) == "S", 5)
    time.sleep(0.2)
    return parent, child
