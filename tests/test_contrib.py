#!/usr/bin/env python3
"""contrib/: the bash completion completes commands and options, the zsh
completion parses, and cargo-wallprof explains the missing [profile.profiling]
and then profiles a Rust program built with it."""
import os
import shutil
import subprocess

import wp

bash = subprocess.run(["bash", "-c", f"""
source {wp.ROOT}/contrib/completions/wallprof.bash
COMP_WORDS=(wallprof co); COMP_CWORD=1; _wallprof; echo "${{COMPREPLY[*]}}"
COMP_WORDS=(wallprof convert --format ''); COMP_CWORD=3; _wallprof; echo "${{COMPREPLY[*]}}"
COMP_WORDS=(wallprof record --sys); COMP_CWORD=2; _wallprof; echo "${{COMPREPLY[*]}}"
"""], capture_output=True, text=True)
lines = bash.stdout.splitlines()
wp.check(bash.returncode == 0 and len(lines) == 3, f"bash completion runs: {bash.stderr.strip()}")
if len(lines) == 3:
    wp.check(lines[0] == "convert", f"'co' completes to convert: {lines[0]!r}")
    wp.check(lines[1].split() == ["json", "folded", "svg", "speedscope", "trace", "pprof"], f"convert --format: {lines[1]!r}")
    wp.check("--syscalls" in lines[2].split(), f"record --sys completes --syscalls: {lines[2]!r}")
if shutil.which("zsh"):
    z = subprocess.run(["zsh", "-n", os.path.join(wp.ROOT, "contrib", "completions", "_wallprof")], capture_output=True, text=True)
    wp.check(z.returncode == 0, f"zsh completion parses: {z.stderr.strip()}")
else:
    print("note: zsh not installed; its completion was not parsed")

if not shutil.which("cargo"):
    wp.skip("cargo is not installed: cargo-wallprof cannot be tried")
d = wp.tmpdir()
crate = os.path.join(d, "crate")
shutil.copytree(os.path.join(wp.ROOT, "tests", "targets", "rust-locks"), crate, ignore=shutil.ignore_patterns("target"))
toml = os.path.join(crate, "Cargo.toml")
full = open(toml).read()
open(toml, "w").write(full.split("# The profile wallprof recommends")[0])
bindir = os.path.join(d, "bin")
os.makedirs(bindir)
os.symlink(wp.WALLPROF, os.path.join(bindir, "wallprof"))
env = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"], CARGO_TARGET_DIR=os.path.join(d, "target"), CARGO_NET_OFFLINE="true")
tool = os.path.join(wp.ROOT, "contrib", "cargo", "cargo-wallprof")
r = subprocess.run([tool, "wallprof", "-q", "--", "1"], cwd=crate, env=env, capture_output=True, text=True, timeout=600)
wp.check(r.returncode == 1 and "[profile.profiling]" in r.stderr and 'inherits = "release"' in r.stderr and "debug = true" in r.stderr,
         f"without the profile: exit 1 and how to add it: {r.returncode} {r.stderr.strip()[:120]!r}")
open(toml, "w").write(full)
r = subprocess.run([tool, "wallprof", "-q", "--", "1"], cwd=crate, env=env, capture_output=True, text=True, timeout=600)
wp.check(r.returncode == 0, f"with the profile: cargo wallprof builds, records, reports: {r.returncode} {r.stderr.strip()[-300:]}")
prof = os.path.join(crate, "wallprof-rust-locks.json")
wp.check(os.path.exists(prof) and "rust-locks: 1 entries" in r.stdout, "the program ran and its profile was written")
if os.path.exists(prof):
    p = wp.load(prof)
    wp.check(any(f["function"] == "rust_locks::wait_for_ledger" for f in p["frames"]), "demangled Rust names in the profile")
    wp.check("Threads: wall time by state" in r.stdout, "the report was printed")
wp.done()
