#!/bin/sh
# What a sample without a stop costs wallprof, against the stop it
# replaces (issue 11): wallprof's own CPU time per sample, recording 20
# threads of bench/fpwait.c at 100 Hz for 6 s, three ways, alternated,
# median of RUNS runs:
#   - in frame-pointer code, blocked in epoll_wait and changed at every
#     tick: each sample is read without a stop, rbp recovered from the stack;
#   - the same wait in code without frame pointers: read without a stop, no
#     recovery needed;
#   - in frame-pointer code, running: each sample is a stop.
# wallprof's CPU is the on-CPU time of its threads (schedstat) between 1 s
# and 5 s, so that attaching and writing the profile are not counted.
#
# usage: bench/nostop.sh [RUNS]   (default 5)
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-5}
W=build/wallprof
FP=build/bench/fpwait
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }

# One run: wallprof's CPU per sample (us) while recording MODE.
per_sample() {
	$FP "$1" 20 8 &
	target=$!
	sleep 0.5
	$W record -q -F 100 -d 6 -o "$tmp/p.json" -p $target &
	w=$!
	sleep 1
	c1=$(cpu_ns $w)
	sleep 4
	c2=$(cpu_ns $w)
	wait $w
	wait $target
	python3 - "$tmp/p.json" "$c1" "$c2" "$1" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
s = p["stats"]
cut = sum(1 for r in p["samples"] if p["stacks"][r[2]]["truncated"])
# Samples in the 4 s window: 20 threads at 100 Hz.
print("%.2f %d %d %d %d" % ((int(sys.argv[3]) - int(sys.argv[2])) / 1e3 / (20 * 100 * 4),
                            s["nostop"], s["stops"], cut, s["samples"]))
PY
}

for m in wait plain spin; do : >"$tmp/$m"; done
for i in $(seq "$RUNS"); do
	for m in wait plain spin; do per_sample $m >>"$tmp/$m"; done
done
med() { cut -d' ' -f1 <"$tmp/$1" | median; }
w=$(med wait)
p=$(med plain)
s=$(med spin)
last() { tail -n 1 "$tmp/$1" | awk '{ printf "%d without a stop, %d stops, %d of %d cut short", $2, $3, $4, $5 }'; }
echo "| benchmark | baseline | with wallprof | ratio |"
echo "|---|---|---|---|"
echo "| wallprof CPU per sample: frame-pointer thread read without a stop, rbp recovered ($(last wait)) vs a stop of the same thread running ($(last spin)); median of $RUNS | $s us | $w us | $(awk -v a="$w" -v b="$s" 'BEGIN { printf "%.2f", a / b }') |"
echo "| wallprof CPU per sample: frame-pointer thread read without a stop vs the same wait without frame pointers ($(last plain)); median of $RUNS | $p us | $w us | $(awk -v a="$w" -v b="$p" 'BEGIN { printf "%.2f", a / b }') |"
