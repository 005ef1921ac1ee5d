#!/bin/sh
# wallprof's state split against perf's (issue 12): PostgreSQL saturated by
# pgbench (3 clients per CPU), two backends recorded by wallprof for 5 s
# while `perf sched record` records the scheduler over the same window;
# `perf sched timehist` then gives each backend's run time, scheduling delay
# (runnable) and the rest (off-CPU), which wallprof's on-cpu, runnable and
# other shares are set against. Needs root (perf, and the server runs as
# the postgres user). Prints a markdown table.
#
# usage: bench/states.sh
set -eu
cd "$(dirname "$0")/.."
W=$(pwd)/build/wallprof
BIN=$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)
tmp=$(mktemp -d)
chmod 755 "$tmp"
chown postgres "$tmp"
trap 'runuser -u postgres -- "$BIN/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
runuser -u postgres -- "$BIN/initdb" -D "$tmp/data" -A trust -U postgres >/dev/null
runuser -u postgres -- "$BIN/pg_ctl" -D "$tmp/data" -w -l "$tmp/log" \
	-o "-k $tmp -c listen_addresses='' -p 5989" start >/dev/null
PG="-h $tmp -p 5989 -U postgres"
# shellcheck disable=SC2086
pgbench -i -q -s 2 $PG postgres >/dev/null 2>&1
clients=$((3 * $(nproc)))
# shellcheck disable=SC2086
pgbench -n -c "$clients" -j 2 -T 12 $PG postgres >"$tmp/pgbench.out" 2>&1 &
sleep 2
# shellcheck disable=SC2086
pids=$(psql $PG -X -At -c "select pid from pg_stat_activity where application_name = 'pgbench' order by pid limit 2")
perf sched record -o "$tmp/perf.data" -- sleep 5.5 >/dev/null 2>&1 &
perfpid=$!
sleep 0.2
for p in $pids; do
	$W record -q -F 99 -d 5 -o "$tmp/w$p.json" -p "$p" &
done
wait $perfpid
wait
perf sched timehist -i "$tmp/perf.data" 2>/dev/null >"$tmp/timehist"
echo "| backend | perf: run / sched delay / off-CPU | wallprof: on-cpu / runnable / rest |"
echo "|---|---|---|"
for p in $pids; do
	perf_split=$(awk -v pid="$p" '
		$3 ~ "\\[" pid "\\]$" { wait += $4; delay += $5; run += $6 }
		END { t = wait + delay + run; if (t > 0) printf "%.1f%% / %.1f%% / %.1f%%", 100 * run / t, 100 * delay / t, 100 * wait / t }' "$tmp/timehist")
	wp_split=$(python3 -c "
import json, sys, collections
p = json.load(open(sys.argv[1]))
c = collections.Counter(p['states'][r[3]] for r in p['samples'])
n = sum(c.values())
print('%.1f%% / %.1f%% / %.1f%%' % (100 * c['on-cpu'] / n, 100 * c['runnable'] / n, 100 * (n - c['on-cpu'] - c['runnable']) / n))
" "$tmp/w$p.json")
	echo "| postgres backend $p under pgbench -c $clients | $perf_split | $wp_split |"
done
