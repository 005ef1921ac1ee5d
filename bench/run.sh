#!/bin/sh
# wallprof benchmarks. Every figure is a ratio of two measurements taken side
# by side in this run, alternating the two commands, median of RUNS runs.
# Tools: /usr/bin/time (GNU time) and the workloads under bench/ and
# tests/targets/. Prints a markdown table; see bench/README.md.
#
# usage: bench/run.sh [RUNS]   (default 7)
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-7}
W=build/wallprof
SPIN=build/targets/spin
STOPCOST=build/bench/stopcost
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
elapsed() { /usr/bin/time -f "%e" -o "$tmp/t" "$@" >/dev/null 2>&1 || true; cat "$tmp/t"; }

# Size the CPU-bound work to about 3 s on this machine.
iters=$(awk -v t="$(elapsed $SPIN 1000)" 'BEGIN { n = int(1000 * 3 / (t > 0.05 ? t : 0.05)); print (n < 100 ? 100 : n) }')

echo "| benchmark | baseline | with wallprof | ratio |"
echo "|---|---|---|---|"

# 1. Slowdown of a CPU-bound thread at 100 Hz and at 1000 Hz, as the target
#    itself measures its work (wallprof's start-up and final write excluded).
work() { SPIN_TIME=1 "$@" 2>&1 >/dev/null | sed -n 's/^work_ns=//p'; }
for hz in 100 1000; do
	: >"$tmp/base"
	: >"$tmp/prof"
	for i in $(seq "$RUNS"); do
		work $SPIN "$iters" >>"$tmp/base"
		work $W record -q -F "$hz" -o "$tmp/p.json" -- $SPIN "$iters" >>"$tmp/prof"
	done
	b=$(median <"$tmp/base")
	p=$(median <"$tmp/prof")
	echo "| CPU-bound thread at $hz Hz: its work's duration (median of $RUNS) | $(awk -v x="$b" 'BEGIN { printf "%.3f s", x / 1e9 }') | $(awk -v x="$p" 'BEGIN { printf "%.3f s", x / 1e9 }') | $(awk -v a="$p" -v b="$b" 'BEGIN { printf "%.3f", a / b }') |"
done

# 2. wallprof's own CPU while recording 200 parked threads and one busy one
#    at 100 Hz: the on-CPU time of wallprof's threads (schedstat) between
#    2 s and 12 s into a 13 s recording, so attaching, symbolizing and
#    writing the profile are not counted.
$SPIN 1000000 200 >/dev/null &
target=$!
sleep 1
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { print s }'; }
: >"$tmp/cpu"
for i in $(seq 3); do
	$W record -q -F 100 -d 13 -o "$tmp/p.json" -p $target &
	w=$!
	sleep 2
	c1=$(cpu_ns $w)
	sleep 10
	c2=$(cpu_ns $w)
	wait $w
	awk -v a="$c1" -v b="$c2" 'BEGIN { printf "%.5f\n", (b - a) / 1e9 / 10 }' >>"$tmp/cpu"
done
missed=$(python3 -c "import json,sys; s=json.load(open(sys.argv[1]))['stats']; print(s['ticks_missed'], 'of', s['ticks'])" "$tmp/p.json")
kill $target 2>/dev/null || true
wait $target 2>/dev/null || true
share=$(median <"$tmp/cpu")
echo "| 201 threads (200 parked, 1 busy) at 100 Hz: wallprof's CPU while recording (median of 3; ticks missed: $missed) | - | $(awk -v s="$share" 'BEGIN { printf "%.2f%% of one core", 100 * s }') | - |"

# 3. Stop time per stopped thread vs a bare INTERRUPT + GETREGS + CONT.
$SPIN 1000000 >/dev/null &
target=$!
sleep 0.5
: >"$tmp/bare"
: >"$tmp/wp"
: >"$tmp/bare99"
: >"$tmp/wp99"
for i in $(seq "$RUNS"); do
	$STOPCOST $target 300 100 >"$tmp/sc"
	sed -n 's/.*p50_ns=\([0-9]*\).*/\1/p' "$tmp/sc" >>"$tmp/bare"
	sed -n 's/.*p99_ns=\([0-9]*\).*/\1/p' "$tmp/sc" >>"$tmp/bare99"
	$W record -q -F 100 -d 3 -o "$tmp/s.json" -p $target
	python3 -c "import json,sys; s=json.load(open(sys.argv[1]))['stats']; print(s['stop_ns_p50']); print(s['stop_ns_p99'], file=sys.stderr)" \
		"$tmp/s.json" >>"$tmp/wp" 2>>"$tmp/wp99"
done
kill $target 2>/dev/null || true
wait $target 2>/dev/null || true
b=$(median <"$tmp/bare")
p=$(median <"$tmp/wp")
b99=$(median <"$tmp/bare99")
p99=$(median <"$tmp/wp99")
echo "| stop time per stopped thread, p50 (median of $RUNS) | $(awk -v x="$b" 'BEGIN { printf "%.1f us", x / 1000 }') | $(awk -v x="$p" 'BEGIN { printf "%.1f us", x / 1000 }') | $(awk -v a="$p" -v b="$b" 'BEGIN { printf "%.2f", a / b }') |"
echo "| stop time per stopped thread, p99 (median of $RUNS) | $(awk -v x="$b99" 'BEGIN { printf "%.1f us", x / 1000 }') | $(awk -v x="$p99" 'BEGIN { printf "%.1f us", x / 1000 }') | $(awk -v a="$p99" -v b="$b99" 'BEGIN { printf "%.2f", a / b }') |"
# 4. Exact syscall tracing on a syscall-heavy workload (tests/targets/syscalls:
#    about 3 calls per iteration, two threads), elapsed wall time of
#    the whole run, each command alternating with the others. Plain sampling
#    must add nothing per syscall; --syscalls is compared with strace counting
#    the same set (-c, with and without --seccomp-bpf) and with strace
#    printing a stack per call (-k), as wallprof records stacks.
SC=build/targets/syscalls
SET=read,write,fsync,nanosleep,clock_nanosleep,pread64
N=10000
for name in plain sampled traced strace_c strace_seccomp strace_k; do : >"$tmp/sc_$name"; done
sc_work() { SYSCALLS_TIME=1 "$@" 2>&1 >/dev/null | sed -n 's/^work_ns=//p'; }
for i in $(seq "$RUNS"); do
	sc_work $SC $((N * 5)) >>"$tmp/sc_plain"
	sc_work $W record -q -F 99 -o "$tmp/x.json" -- $SC $((N * 5)) >>"$tmp/sc_sampled"
	elapsed $W record -q --syscalls=$SET -o "$tmp/x.json" -- $SC $N >>"$tmp/sc_traced"
	elapsed strace -f -c -e trace=$SET -o /dev/null $SC $N >>"$tmp/sc_strace_c"
	elapsed strace -f -c --seccomp-bpf -e trace=$SET -o /dev/null $SC $N >>"$tmp/sc_strace_seccomp"
	elapsed strace -f -k -e trace=$SET -o /dev/null $SC $N >>"$tmp/sc_strace_k"
done
for name in plain sampled traced strace_c strace_seccomp strace_k; do
	eval "m_$name=$(median <"$tmp/sc_$name")"
done
row() { awk -v a="$2" -v b="$3" -v l="$1" 'BEGIN { printf "| %s | %.2f s | %.2f s | %.2f |\n", l, b, a, (b > 0 ? a / b : 0) }'; }
m_plain=$(awk -v x="$m_plain" 'BEGIN { print x / 1e9 }')
m_sampled=$(awk -v x="$m_sampled" 'BEGIN { print x / 1e9 }')
row "syscall-heavy work (its own timing of 150k calls), sampling at 99 Hz vs no profiler" "$m_sampled" "$m_plain"
row "syscall-heavy run, wallprof --syscalls vs strace -f -c (same set)" "$m_traced" "$m_strace_c"
row "syscall-heavy run, wallprof --syscalls vs strace -f -c --seccomp-bpf" "$m_traced" "$m_strace_seccomp"
row "syscall-heavy run, wallprof --syscalls (stacks of calls over 1 ms) vs strace -f -k (a stack per call)" "$m_traced" "$m_strace_k"

# 5. Converting a long profile: one hour of 16 threads at 100 Hz (5.76
#    million samples, synthetic: bench/bigprofile.py) to each format, wall
#    time and peak memory (GNU time), as a ratio to re-writing the native
#    profile (reading and writing it, the least any conversion does).
python3 bench/bigprofile.py "$tmp/big.json"
size=$(du -m "$tmp/big.json" | cut -f1)
conv() { /usr/bin/time -f "%e %M" -o "$tmp/t" $W convert "$tmp/big.json" -o "$tmp/out$1" >/dev/null 2>&1; cat "$tmp/t"; }
base=$(conv .json)
for ext in .folded .svg .speedscope.json .trace.json .pb.gz; do
	m=$(conv $ext)
	echo "$base $m" | awk -v e="$ext" -v mb="$size" '{ printf "| convert a 1-hour, 16-thread, 100 Hz profile (5.76M samples, %d MB) to %s: time (peak memory) | %.1f s (%d MB) | %.1f s (%d MB) | %.2f |\n", mb, e, $1, $2 / 1024, $3, $4 / 1024, ($1 > 0 ? $3 / $1 : 0) }'
done
rm -f "$tmp"/big.json "$tmp"/out.*

echo
echo "Machine: $(nproc) CPUs, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
