#!/usr/bin/env python3
"""--max-overhead: a CPU-bound thread sampled at 1000 Hz is stopped for no
more than the given share of wall time; every tick still gives it a sample
in its exact state, and the samples without a stack are counted and
reported. Without the option no stop is skipped."""
import os

import wp

d = wp.tmpdir()
for limit in (None, "1"):
    prof = os.path.join(d, f"o{limit}.json")
    args = [wp.WALLPROF, "record", "-q", "-F", "1000", "-o", prof]
    if limit:
        args += ["--max-overhead", limit]
    r = wp.run(args + ["--", wp.target("spin"), "1500"])
    wp.check(r.returncode == 0, f"spin ran normally ({limit or 'no limit'}): {r.returncode}")
    p = wp.load(prof)
    s = p["stats"]
    dur = p["metadata"]["duration_ns"]
    states = wp.state_names(p)
    oncpu = sum(1 for row in p["samples"] if states[row[3]] in ("on-cpu", "runnable"))
    wp.check(s["samples"] >= 0.95 * (s["ticks"] - s["ticks_missed"]) and oncpu >= 0.95 * s["samples"],
             f"every tick sampled the spinning thread, on CPU: {s['samples']} samples, {s['ticks']} ticks, {oncpu} on CPU")
    share = 100.0 * s["stops"] * s["stop_ns_p50"] / dur
    if limit:
        wp.check(s["stops_skipped"] > 0, f"stops skipped to stay within 1%: {s['stops_skipped']}")
        wp.check(share <= 1.5, f"time stopped (stops x p50) within the limit: {share:.2f}% of wall time")
        no_stack = sum(1 for row in p["samples"] if any("--max-overhead" in p["frames"][f]["function"] for f in p["stacks"][row[2]]["frames"]))
        wp.check(no_stack == s["stops_skipped"], f"each skipped stop is a sample marked as such: {no_stack}")
        rep = wp.run([wp.WALLPROF, "report", prof]).stdout
        wp.check("--max-overhead skipped" in rep, "the report says stacks were skipped")
    else:
        # Every sample comes from a stop; on a crowded machine one stop
        # that comes late stands for each tick it missed, so stops alone
        # may be fewer than samples.
        other = s["reused"] + s["nostop"]
        wp.check(s["stops_skipped"] == 0 and other <= 0.05 * s["samples"],
                 f"no limit: every sample of the running thread is a stop's: {s['stops']} stops, "
                 f"{s['late_stops']} late, {other} of {s['samples']} samples without one")
b = wp.run([wp.WALLPROF, "record", "--max-overhead", "80", "--", "true"])
wp.check(b.returncode == 64 and "invalid --max-overhead '80'" in b.stderr, f"--max-overhead 80 refused: {b.stderr.strip()}")
wp.done()
