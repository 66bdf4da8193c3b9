#!/bin/sh
# Install the Debian packages that building and testing dirtyfs need.
# Idempotent: packages already installed are left alone, and the package
# lists are refreshed only when something is missing. Must run as root.
set -eu

PACKAGES="libfuse3-dev fuse3 liburing-dev libcgroup-dev uthash-dev pkg-config
libcmocka-dev python3-pytest attr strace fio gnuplot-nox valgrind linux-perf cppcheck clang-format gcc make
clang libclang-rt-14-dev"

missing=""
for pkg in $PACKAGES; do
	# dpkg -s also knows removed-but-configured packages: check the state.
	if ! dpkg -s "$pkg" 2>/dev/null |
		grep -q '^Status: install ok installed$'; then
		missing="$missing $pkg"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages; run as root:" >&2
	echo "  apt-get install -y$missing" >&2
	exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086 # one word per package
apt-get install -y --no-install-recommends $missing
