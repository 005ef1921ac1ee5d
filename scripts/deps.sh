#!/bin/sh
# Install what wallprof needs to build and test on Debian/Ubuntu.
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -eu

pkgs="gcc make pkg-config libunwind-dev libseccomp-dev libjansson-dev \
libdw-dev libelf-dev libiberty-dev libc6-dbg \
libprotobuf-c-dev protobuf-c-compiler zlib1g-dev"
# Used by the tests and benchmarks, not by the build.
tools="python3 time tmux hyperfine strace nodejs chromium zsh elfutils gdb \
nginx redis-server redis-tools apache2-utils postgresql golang-go fzf clang-format wrk"

missing=""
for p in $pkgs $tools; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done

if [ -z "$missing" ]; then
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "wallprof: missing packages:$missing (no apt-get here; install their equivalents)" >&2
	exit 1
fi

if [ "$(id -u)" != 0 ]; then
	echo "wallprof: missing packages:$missing" >&2
	echo "run: sudo apt-get install -y$missing" >&2
	exit 1
fi

echo "wallprof: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
