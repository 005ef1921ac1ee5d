#!/bin/sh
# The time of a wait chain walk (dump --chain) on a host with 1,000 more
# processes than usual, against a plain dump of the same process, side by
# side, alternating, median of RUNS (GNU time).
#
# The chain: a Python client blocked reading a Unix socket to
# tests/targets/chainsrv, whose handler waits for a mutex that a sleeping
# thread holds (3 threads, 2 processes, 2 links). Each link that leaves a
# process scans /proc for the holder of the peer's inode, so the walk's
# cost grows with the processes on the host; the 1,000 extra are
# `sleep` processes, each with its three standard descriptors.
#
# usage: bench/chain.sh [RUNS]   (default 7)
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-7}
W=build/wallprof
make -s all build/targets/chainsrv
tmp=$(mktemp -d)
: >"$tmp/pids"
trap 'kill $(cat "$tmp/pids") 2>/dev/null; rm -rf "$tmp"' EXIT

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

build/targets/chainsrv unix "$tmp/s" >"$tmp/ready" 2>/dev/null &
echo $! >>"$tmp/pids"
while ! grep -q ready "$tmp/ready" 2>/dev/null; do sleep 0.05; done
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"get\n"); s.recv(16)
' "$tmp/s" >/dev/null 2>&1 &
client=$!
echo $client >>"$tmp/pids"
sleep 0.5

# Both commands in one hyperfine call (two warm-up runs, then RUNS runs
# of each), the medians compared.
measure() {
	n=$(ls -d /proc/[0-9]* | wc -l)
	WALLPROF_CACHE_DIR="$tmp/cache" hyperfine -N -w 2 -r "$RUNS" --export-json "$tmp/h.json" \
		"$W dump -p $client" "$W dump --chain -p $client" >/dev/null 2>&1
	set -- $(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print(" ".join("%.4f" % x["median"] for x in r))' "$tmp/h.json")
	echo "| dump --chain (2 processes, 2 links) vs dump of the client alone, $n processes on the host (hyperfine, median of $RUNS) | $(printf %.1f "$(echo "$1 * 1000" | bc)") ms | $(printf %.1f "$(echo "$2 * 1000" | bc)") ms | $(ratio "$2" "$1") |"
}

echo "| benchmark | baseline | with wallprof | ratio |"
echo "|---|---|---|---|"
WALLPROF_CACHE_DIR="$tmp/cache" $W dump --chain -p $client >/dev/null # warm the symbol cache
measure
for i in $(seq 1000); do
	sleep 600 >/dev/null 2>&1 &
	echo $! >>"$tmp/pids"
done
sleep 1
measure
