#!/bin/sh
# wallprof at scale and against its peers (issue 5). Every figure is a
# ratio of two measurements taken side by side in this run, alternating
# the commands, median of RUNS runs, with GNU time and /proc only.
#
# usage: bench/scale.sh [RUNS]   (default 5)
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-5}
W=build/wallprof
SPIN=build/targets/spin
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
elapsed() { /usr/bin/time -f "%e" -o "$tmp/t" "$@" >/dev/null 2>&1 || true; cat "$tmp/t"; }
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }

echo "| benchmark | baseline | with wallprof | ratio |"
echo "|---|---|---|---|"

# 6. One snapshot of a 50-thread process (49 parked, 1 busy): wallprof dump
#    against eu-stack and gdb's "thread apply all bt", the usual tools.
#    wallprof twice: without its symbol cache (everything from DWARF, as
#    the others do each time) and with it warm (a dump before filled it).
$SPIN 1000000 49 >/dev/null &
target=$!
sleep 1
cache="$tmp/cache"
WALLPROF_CACHE_DIR="$cache" $W dump -p $target >/dev/null
: >"$tmp/dump"
: >"$tmp/dumpw"
: >"$tmp/eu"
: >"$tmp/eui"
: >"$tmp/gdb"
for i in $(seq "$RUNS"); do
	WALLPROF_CACHE_DIR=off elapsed $W dump -p $target >>"$tmp/dump"
	WALLPROF_CACHE_DIR="$cache" elapsed $W dump -p $target >>"$tmp/dumpw"
	if command -v eu-stack >/dev/null; then
		elapsed eu-stack -p $target >>"$tmp/eu"
		elapsed eu-stack -i -s -p $target >>"$tmp/eui"
	fi
	if command -v gdb >/dev/null; then elapsed gdb -q -batch -ex "thread apply all bt" -p $target >>"$tmp/gdb"; fi
done
kill $target
wait $target 2>/dev/null || true
d=$(median <"$tmp/dump")
dw=$(median <"$tmp/dumpw")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
if [ -s "$tmp/eu" ]; then
	e=$(median <"$tmp/eu")
	ei=$(median <"$tmp/eui")
	echo "| snapshot of a 50-thread process: wallprof dump, no symbol cache, vs eu-stack -p (names only; median of $RUNS) | $e s | $d s | $(ratio "$d" "$e") |"
	echo "| snapshot of a 50-thread process: wallprof dump, no symbol cache, vs eu-stack -i -s -p (inlined frames and file:line, as dump; median of $RUNS) | $ei s | $d s | $(ratio "$d" "$ei") |"
	echo "| snapshot of a 50-thread process: wallprof dump, symbol cache warm, vs eu-stack -p (names only; median of $RUNS) | $e s | $dw s | $(ratio "$dw" "$e") |"
	echo "| snapshot of a 50-thread process: wallprof dump, symbol cache warm, vs eu-stack -i -s -p (median of $RUNS) | $ei s | $dw s | $(ratio "$dw" "$ei") |"
fi
if [ -s "$tmp/gdb" ]; then
	g=$(median <"$tmp/gdb")
	echo "| snapshot of a 50-thread process: wallprof dump, no symbol cache, vs gdb thread apply all bt (median of $RUNS) | $g s | $d s | $(ratio "$d" "$g") |"
fi

# 6b. Symbolizing a large Rust and C++ binary: record rustc (librustc_driver:
#     165,000 symbols; LLVM) compiling a small program at 1000 Hz, and read
#     the time the profile says symbolization took (stats.symbolize_ns),
#     without the symbol cache. Skipped without rustc.
if command -v rustc >/dev/null 2>&1; then
	printf 'use std::collections::HashMap;\nfn main() { let mut m: HashMap<u64, u64> = HashMap::new(); for i in 0..100u64 { *m.entry(i %% 7).or_default() += i; } println!("{:?}", m.get(&3)); }\n' >"$tmp/big.rs"
	rc=$(rustc --print sysroot)/bin/rustc
	: >"$tmp/sym"
	for i in $(seq "$RUNS"); do
		WALLPROF_CACHE_DIR=off $W record -q -F 1000 -o "$tmp/rs.json" -- "$rc" -O "$tmp/big.rs" -o "$tmp/big" >/dev/null 2>&1
		python3 -c "import json,sys; p=json.load(open(sys.argv[1])); print(p['stats']['symbolize_ns'] / 1e9, len(p['stacks']), len(p['frames']))" "$tmp/rs.json" >>"$tmp/sym"
	done
	s=$(cut -d' ' -f1 "$tmp/sym" | median)
	facts=$(sort -n "$tmp/sym" | sed -n "$(((RUNS + 1) / 2))p" | awk '{ print $2 " stacks, " $3 " frames" }')
	echo "| symbolizing a profile of rustc (librustc_driver, 165k symbols; $facts; median of $RUNS) | - | $(awk -v a="$s" 'BEGIN { printf "%.2f s", a }') | - |"
fi

# 7. 1,000 threads at 100 Hz, 990 parked and 10 busy (on this 2-CPU machine,
#    ten CPU-bound threads overload it), and 999 parked with 1 busy:
#    wallprof's CPU between 2 s and 7 s of an 8 s recording, ticks missed,
#    threads in the profile, and whether every thread has a sample at every
#    tick that was not missed. With 10 busy, also with -r (SCHED_FIFO), as
#    root only.
for cfg in 1 10 10r; do
	busy=${cfg%r}
	rt=
	if [ "$cfg" != "$busy" ]; then
		[ "$(id -u)" = 0 ] || continue
		rt=-r
	fi
	$SPIN 1000000 $((1000 - busy)) $((busy - 1)) >/dev/null &
	target=$!
	sleep 2
	$W record -q $rt -F 100 -d 8 -o "$tmp/k.json" -p $target &
	w=$!
	sleep 2
	c1=$(cpu_ns $w)
	sleep 5
	c2=$(cpu_ns $w)
	wait $w
	kill $target
	wait $target 2>/dev/null || true
	facts=$(python3 -c "
import json, sys
p = json.load(open(sys.argv[1])); s = p['stats']
kept = s['ticks'] - s['ticks_missed']
per = {}
for row in p['samples']:
    per[row[1]] = per.get(row[1], 0) + 1
full = sum(1 for n in per.values() if n == kept)
print(s['ticks_missed'], 'of', s['ticks'], 'ticks missed,', len(per), 'threads in the profile,', full, 'with a sample at every tick not missed')" "$tmp/k.json")
	echo "| 1,000 threads ($((1000 - busy)) parked, $busy busy) at 100 Hz${rt:+, record -r}: wallprof's CPU ($facts) | - | $(awk -v a="$c1" -v b="$c2" 'BEGIN { printf "%.1f%% of one core", (b - a) / 1e9 / 5 * 100 }') | - |"
done

# 8. Memory and size of a long recording: 16 threads (1 busy, 15 parked) at
#    100 Hz for 10 s and for 60 s; peak RSS (GNU time) of each, and the
#    profile's size per sample, JSON and gzip-compressed, projected to an
#    hour (5.76 million samples).
$SPIN 1000000 15 >/dev/null &
target=$!
sleep 1
rss() { /usr/bin/time -f "%M" -o "$tmp/t" $W record -q -F 100 -d "$1" -o "$2" -p $target >/dev/null 2>&1; cat "$tmp/t"; }
r10=$(rss 10 "$tmp/a.json")
r60=$(rss 60 "$tmp/b.json")
rss 60 "$tmp/c.json.gz" >/dev/null
kill $target
wait $target 2>/dev/null || true
n=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['samples']))" "$tmp/b.json")
echo "| 16 threads at 100 Hz: wallprof's peak memory, 10 s vs 60 s of recording | $((r10 / 1024)) MB | $((r60 / 1024)) MB | $(awk -v a="$r60" -v b="$r10" 'BEGIN { printf "%.2f", a / b }') |"
for f in b.json c.json.gz; do
	sz=$(stat -c %s "$tmp/$f")
	echo "| profile size for a 1-hour, 16-thread, 100 Hz recording ($f, projected from 60 s: $n samples) | - | $(awk -v s="$sz" -v n="$n" 'BEGIN { printf "%.0f MB (%.1f bytes per sample)", s / n * 5760000 / 1e6, s / n }') | - |"
done
echo
echo "Machine: $(nproc) CPUs, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
