#!/bin/sh
# Run every test: the C unit tests under build/unit/, then each
# tests/test_*.py and tests/torture/test_*.py. A test exits 0 (pass), 77
# (skip, saying why) or anything else (fail). Output of each test goes to build/test-logs/NAME.log and is
# shown when it fails. Ends with "N passed, N failed, N skipped".
#
# usage: tests/run.sh [NAME...]   (default: all)
set -u
cd "$(dirname "$0")/.." || exit 2
logs=build/test-logs
mkdir -p "$logs"
pass=0 fail=0 skip=0 failed=""

if ! command -v python3 >/dev/null 2>&1; then
	echo "tests: python3 is required to run the tests (apt-get install python3)" >&2
	exit 2
fi

# Processes of this tree's build (wallprof, targets) still alive: a test
# must stop all it starts. Given a second to go, then killed.
root=$(pwd -P)
leftovers() {
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		case $exe in "$root"/build/*) echo "${p#/proc/}" ;; esac
	done
}
run_one() {
	name=$1
	shift
	start=$(date +%s)
	"$@" >"$logs/$name.log" 2>&1
	rc=$?
	left=$(leftovers)
	[ -n "$left" ] && sleep 1 && left=$(leftovers)
	if [ -n "$left" ] && [ "$rc" -eq 0 ]; then
		rc=1
		for p in $left; do
			echo "left running: $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
		done >>"$logs/$name.log"
	fi
	for p in $left; do kill -9 "$p" 2>/dev/null; done
	secs=$(($(date +%s) - start))
	case $rc in
	0)
		pass=$((pass + 1))
		echo "PASS $name (${secs}s)"
		;;
	77)
		skip=$((skip + 1))
		echo "SKIP $name: $(grep -h '^skip:' "$logs/$name.log" | head -n 1)"
		;;
	*)
		fail=$((fail + 1))
		failed="$failed $name"
		echo "FAIL $name (exit $rc, ${secs}s)"
		sed 's/^/    /' "$logs/$name.log" | grep -v '^    ok ' | tail -n 40
		;;
	esac
}

want() {
	[ $# -eq 0 ] && return 0
	for w in $WANT; do [ "$w" = "$1" ] && return 0; done
	return 1
}
WANT="$*"
# Symbolize from DWARF every time: no test reads or writes the user's
# symbol cache (test_dump checks the cache in a directory of its own).
export WALLPROF_CACHE_DIR=off
# tests/wp.py, for the tests in subdirectories too.
export PYTHONPATH="$root/tests${PYTHONPATH:+:$PYTHONPATH}"

for t in build/unit/test_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	[ -z "$WANT" ] || want "$n" || continue
	run_one "$n" "$t"
done
for t in tests/test_*.py tests/torture/test_*.py; do
	n=$(basename "$t" .py)
	[ -z "$WANT" ] || want "$n" || continue
	run_one "$n" timeout 600 python3 "$t"
done

[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
