#!/usr/bin/env python3
"""wallprof under valgrind (memcheck, full leak check) for a short
recording of the mixed target, its report, and a conversion: no error, no
leak, and the same results as without valgrind."""
import os
import shutil
import subprocess

import wp

if not shutil.which("valgrind"):
    wp.skip("valgrind is not installed (apt-get install valgrind)")
if wp.sanitized():
    wp.skip("wallprof is built with sanitizers (SANITIZE=...), which valgrind cannot run; "
            "the plain build is checked")
d = wp.tmpdir()
vg = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite"]
prof = os.path.join(d, "vg.json")
r = wp.run(vg + [wp.WALLPROF, "record", "-q", "-o", prof, "--", wp.target("mixed"), "1"], timeout=300)
wp.check(r.returncode == 3, f"record under valgrind: the command's status 3, no valgrind error (99): {r.returncode} {r.stderr[-500:]}")
wp.check(r.stdout.strip() == "mixed: 5 rounds done", f"the command's output unchanged: {r.stdout.strip()!r}")
r = wp.run(vg + [wp.WALLPROF, "report", prof], timeout=300)
wp.check(r.returncode == 0 and "waiter (" in r.stdout, f"report under valgrind: {r.returncode} {r.stderr[-500:]}")
r = wp.run(vg + [wp.WALLPROF, "convert", prof, "-o", os.path.join(d, "vg.svg")], timeout=300)
wp.check(r.returncode == 0, f"convert under valgrind: {r.returncode} {r.stderr[-500:]}")
wp.done()
