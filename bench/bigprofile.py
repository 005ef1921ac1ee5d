#!/usr/bin/env python3
"""Write a synthetic wallprof profile of a long run, for conversion
benchmarks: THREADS threads sampled at HZ for SECONDS (default: 16 threads,
100 Hz, one hour: 5.76 million samples), over 3000 distinct stacks of 4 to
40 frames drawn from 2000 functions, in every state, some waiting on files
and locks. Deterministic (seeded).

usage: bigprofile.py OUT.json [SECONDS] [THREADS] [HZ]
"""
import json
import random
import sys

out = sys.argv[1]
seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 3600
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 16
hz = int(sys.argv[4]) if len(sys.argv) > 4 else 100
rng = random.Random(42)

frames = [{"function": f"ns{i % 40}::module{i % 97}::function_{i}", "module": "app", "file": f"src/file{i % 300}.rs",
           "line": 10 + i % 900, "inlined": i % 7 == 0, "address": 0x400000 + 16 * i} for i in range(2000)]
stacks = []
for s in range(3000):
    depth = rng.randint(4, 40)
    stacks.append({"frames": [rng.randrange(2000) for _ in range(depth)], "truncated": s % 200 == 0})
states = ["on-cpu", "runnable", "syscall", "lock", "sleep", "disk", "stopped", "other"]
objects = [{"kind": "file", "name": f"/var/lib/app/data{i}.db", "fd": 10 + i} for i in range(20)] + \
          [{"kind": "lock", "name": f"lock_{i}", "address": 0x601000 + 64 * i, "lock_kind": "mutex"} for i in range(10)]
syscall_of = {2: 0, 3: 202, 4: 230, 5: 74}  # read, futex, clock_nanosleep, fsync
tids = [1000 + t for t in range(threads)]
period = 10**9 // hz

with open(out, "w") as f:
    f.write('{"format":"wallprof-profile","version":2,\n"metadata":')
    json.dump({"command": ["./big-service", "--serve"], "pid": 1000, "mode": "attach", "start_unix_ns": 1764000000000000000,
               "duration_ns": seconds * 10**9, "frequency_hz": hz, "host": "bench", "kernel": "6.x", "cpus": 16,
               "wallprof_version": "0.1.0", "binaries": [{"path": "/usr/bin/big-service", "build_id": "ab" * 20,
               "start": 0x400000, "end": 0x500000, "has_symbols": True, "has_debuginfo": True,
               "unoptimized": False, "producer": "rustc"}]}, f)
    f.write(',\n"threads":')
    json.dump([{"tid": t, "names": [f"worker-{t - 1000}"], "first_seen_ns": 0, "last_seen_ns": seconds * 10**9} for t in tids], f)
    f.write(',\n"frames":')
    json.dump(frames, f)
    f.write(',\n"stacks":')
    json.dump(stacks, f)
    f.write(',\n"states":')
    json.dump(states, f)
    f.write(',\n"syscall_names":{"0":"read","202":"futex","230":"clock_nanosleep","74":"fsync"}')
    f.write(',\n"objects":')
    json.dump(objects, f)
    f.write(',\n"sample_columns":["time_ns","tid","stack","state","syscall","object","owner"],\n"samples":[')
    # Each thread keeps a stack and state for a while, as real threads do.
    cur = {t: (rng.randrange(3000), rng.randrange(6)) for t in tids}
    first = True
    rows = []
    for tick in range(seconds * hz):
        t_ns = tick * period
        for t in tids:
            if rng.random() < 0.05:
                cur[t] = (rng.randrange(3000), rng.choice([0, 0, 0, 1, 2, 2, 3, 4, 5]))
            stack, st = cur[t]
            nr = syscall_of.get(st, -1)
            obj = (stack % 20) if st in (2, 5) else (20 + stack % 10 if st == 3 else -1)
            owner = tids[(stack + 1) % len(tids)] if st == 3 else 0
            rows.append(f"[{t_ns},{t},{stack},{st},{nr},{obj},{owner}]")
        if len(rows) >= 100000:
            f.write(("" if first else ",\n") + ",\n".join(rows))
            first = False
            rows = []
    if rows:
        f.write(("" if first else ",\n") + ",\n".join(rows))
    n = seconds * hz * threads
    f.write('],\n"stats":')
    json.dump({"ticks": seconds * hz, "ticks_missed": 0, "samples": n, "stops": n // 10, "reused": n // 2,
               "nostop": n // 3, "late_stops": 0, "stop_ns_p50": 60000, "stop_ns_p99": 140000,
               "stop_ns_max": 900000, "unwind_errors": n // 200, "eintr_risk": 0, "threads_lost": 0}, f)
    f.write("}\n")
