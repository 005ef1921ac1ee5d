#!/bin/sh
# Throughput of real servers while profiled (issue 13), against the same
# load unprofiled, alternating, median of RUNS runs; next to perf record -g
# and strace -f -c on the same load. nginx (2 workers) under wrk, and
# PostgreSQL under pgbench (4 clients); wallprof attached to the server's
# master or postmaster with -f. Needs root (the server runs as the postgres
# user; perf). Prints a markdown table; its last column is the profiler
# process's own CPU time (user + system, median, seconds per run of SECS
# seconds and half a second of start): perf's sampling runs mostly in the
# target's context, so that column understates perf's cost.
#
# usage: bench/servers.sh [RUNS] [SECS]   (default 3 runs of 5 s)
# ONLY=REGEX runs the configurations whose name matches (grep -E).
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-3}
SECS=${2:-5}
W=$(pwd)/build/wallprof
tmp=$(mktemp -d)
chmod 755 "$tmp"
BIN=$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)
cleanup() {
	[ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null
	runuser -u postgres -- "$BIN/pg_ctl" -D "$tmp/pg/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# Run "$@" (a profiler around the server, given its pid as {}) for the
# length of one load, and print the load's throughput. The profiler's own
# CPU time (user + system, GNU time) goes to $tmp/cpu-$name.
profiled() {
	load=$1
	shift
	if [ $# -gt 0 ]; then
		# {} is the server's pid; {p} each of its processes as strace
		# takes them, {c} all of them as perf does (both attach only to
		# the processes given, -f or not).
		all=$(pgrep -P "$server" | tr '\n' ' ')
		plist="-p $server $(for c in $all; do printf -- '-p %s ' "$c"; done)"
		clist="$server$(for c in $all; do printf ',%s' "$c"; done)"
		cmd=$(echo "$*" | sed "s/{}/$server/g; s/{p}/$plist/g; s/{c}/$clist/g")
		# shellcheck disable=SC2086
		/usr/bin/time -f '%U %S' -o "$tmp/time" $cmd >/dev/null 2>&1 &
		prof=$!
		sleep 0.5
	fi
	$load
	if [ $# -gt 0 ]; then
		# GNU time ignores SIGINT while it waits: the profiler gets it.
		kill -INT $(pgrep -P $prof) 2>/dev/null || true
		wait $prof 2>/dev/null || true
		awk '{ print $1 + $2 }' "$tmp/time" >>"$tmp/cpu-$name"
	fi
}

row() { # name, then the files of baseline, profiled and CPU figures
	b=$(median <"$2")
	p=$(median <"$3")
	c=$(median <"$4")
	echo "| $1 | $b | $p | $(awk -v a="$p" -v b="$b" 'BEGIN { printf "%.2f", a / b }') | $c s |"
}

configs() {
	echo "wallprof 99 Hz|$W record -q -f -F 99 -o $tmp/w.json -p {}"
	echo "wallprof 999 Hz|$W record -q -f -F 999 -o $tmp/w.json -p {}"
	echo "wallprof --syscalls (attached: PTRACE_SYSCALL)|$W record -q -f --syscalls -o $tmp/w.json -p {}"
	echo "wallprof --locks (attached: waits a tick sees, followed)|$W record -q -f --locks -o $tmp/w.json -p {}"
	echo "perf record -g, 99 Hz|perf record -q -g -F 99 -o $tmp/perf.data --pid {c}"
	echo "strace -f -c|strace -f -c -o $tmp/strace.txt {p}"
	echo "ptrace floor: bare stops of running threads, 999 Hz|$(pwd)/build/bench/stopcost {c} 100000000 999 running"
}
selected() { configs | grep -E "^[^|]*(${ONLY:-.})"; }

bench() { # name of the server, load function
	for i in $(seq "$RUNS"); do
		selected | while IFS='|' read -r name cmd; do
			profiled "$2" >>"$tmp/base-$name"
			# shellcheck disable=SC2086
			profiled "$2" $cmd >>"$tmp/prof-$name"
		done
	done
	selected | while IFS='|' read -r name cmd; do
		row "$1: $name, throughput (median of $RUNS)" "$tmp/base-$name" "$tmp/prof-$name" \
			"$tmp/cpu-$name"
		rm -f "$tmp/base-$name" "$tmp/prof-$name" "$tmp/cpu-$name"
	done
}

echo "| benchmark | baseline | profiled | ratio | profiler's CPU |"
echo "|---|---|---|---|---|"

# nginx: requests per second of a 4 KB page, wrk with 8 connections.
mkdir -p "$tmp/www"
head -c 4096 /dev/urandom >"$tmp/www/page"
chmod -R a+rX "$tmp/www"
cat >"$tmp/nginx.conf" <<CONF
worker_processes 2;
pid $tmp/nginx.pid;
error_log $tmp/error.log;
events { worker_connections 512; }
http { access_log off; sendfile on; client_body_temp_path $tmp/cb; proxy_temp_path $tmp/px;
  fastcgi_temp_path $tmp/fc; uwsgi_temp_path $tmp/uw; scgi_temp_path $tmp/sc;
  server { listen 127.0.0.1:18089; root $tmp/www; } }
CONF
nginx -e "$tmp/error.log" -c "$tmp/nginx.conf"
sleep 0.5
server=$(cat "$tmp/nginx.pid")
nginx_load() { wrk -t 2 -c 8 -d "${SECS}s" http://127.0.0.1:18089/page 2>/dev/null | awk '/Requests\/sec/ { print $2 }'; }
bench nginx nginx_load
kill "$server"
rm -f "$tmp/nginx.pid"

# PostgreSQL: transactions per second of pgbench's TPC-B-like script.
mkdir "$tmp/pg"
chown postgres "$tmp/pg"
runuser -u postgres -- "$BIN/initdb" -D "$tmp/pg/data" -A trust -U postgres >/dev/null
runuser -u postgres -- "$BIN/pg_ctl" -D "$tmp/pg/data" -w -l "$tmp/pg/log" \
	-o "-k $tmp/pg -c listen_addresses='' -p 5991" start >/dev/null
pgbench -i -q -s 4 -h "$tmp/pg" -p 5991 -U postgres postgres >/dev/null 2>&1
server=$(head -n 1 "$tmp/pg/data/postmaster.pid")
pg_load() { pgbench -n -c 4 -j 2 -T "$SECS" -h "$tmp/pg" -p 5991 -U postgres postgres 2>/dev/null | awk '/^tps/ { print $3; exit }'; }
bench postgres pg_load
