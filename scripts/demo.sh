#!/bin/bash
# make demo: two cgroups write into one dirtyfs mount; one is held at its
# dirty limit while the other writes freely.
#
# Mounts dirtyfs over a temporary BACKING (writeback_bw=32M, so that the
# flusher, not the disk, sets the pace), makes the memory cgroups
# dirtyfs-demo-tight (dirty_limit 16M) and dirtyfs-demo-free (1G), starts a
# dd in each, shows `dirtyfs stat --watch 1` while they run, writes the rest
# back, and prints what each cgroup got. Everything it made is removed on
# exit, however it exits. Needs root: cgroups, mounts, trusted.* xattrs.
set -euo pipefail

bin=$(realpath "${1:-build/dirtyfs}")
tight_mib=512 # at 32 MiB/s: about 16 s, held at 16 MiB dirty all along
free_mib=256  # fits under its limit: done at memory speed
writers_timeout_s=90
tight=dirtyfs-demo-tight
free=dirtyfs-demo-free

if [ "$(id -u)" -ne 0 ]; then
	echo "demo.sh: run as root (it makes cgroups and mounts)" >&2
	exit 1
fi

# The hierarchy dirtyfs's cgroup=auto takes: v2 where its memory controller
# is enabled (a pure v2 host), else v1's memory controller (v1, hybrid).
if grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
	cgroot=/sys/fs/cgroup
	cgmode=unified
elif [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
	cgroot=/sys/fs/cgroup/memory
	cgmode=memory
else
	echo "demo.sh: no memory cgroup hierarchy under /sys/fs/cgroup" >&2
	exit 1
fi
[ -e /dev/fuse ] || modprobe fuse

work=$(mktemp -d /var/tmp/dirtyfs-demo.XXXXXX)
backing=$work/backing
mnt=$work/mnt
mkdir "$backing" "$mnt"
daemon_pid=
watch_pid=
sampler_pid=
writer_pids=()
made_cgroups=()

stop_pid() {
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

remove_cgroup() {
	for _ in $(seq 50); do
		rmdir "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "demo.sh: could not remove $1" >&2
}

cleanup() {
	local pid dir
	for pid in "${writer_pids[@]}" $watch_pid $sampler_pid; do
		stop_pid "$pid"
	done
	if mountpoint -q "$mnt"; then
		fusermount3 -u "$mnt" || fusermount3 -u -z "$mnt"
	fi
	# The daemon exits once it has written everything back.
	if [ -n "$daemon_pid" ]; then
		wait "$daemon_pid" || echo "dirtyfs exited with $?" >&2
	fi
	for dir in "${made_cgroups[@]}"; do
		remove_cgroup "$dir"
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

make_cgroup() {
	if [ -e "$cgroot/$1" ]; then
		rmdir "$cgroot/$1" || {
			echo "demo.sh: $cgroot/$1 exists and is in use" >&2
			exit 1
		}
	fi
	mkdir "$cgroot/$1"
	made_cgroups+=("$cgroot/$1")
}

# dd of MiB into FILE from inside cgroup NAME: the subshell moves itself
# into the cgroup, then becomes dd. Its report goes to $work/NAME.dd.
start_writer() {
	(
		echo "$BASHPID" >"$cgroot/$1/cgroup.procs"
		exec dd if=/dev/zero of="$mnt/$2" bs=1M count="$3" \
			2>"$work/$1.dd"
	) &
	writer_pids+=($!)
}

writers_running() {
	local pid
	for pid in "${writer_pids[@]}"; do
		kill -0 "$pid" 2>/dev/null && return 0
	done
	return 1
}

wait_writers() {
	local deadline=$((SECONDS + writers_timeout_s)) pid
	while writers_running; do
		if [ $SECONDS -ge $deadline ]; then
			echo "demo.sh: writers still running after" \
				"${writers_timeout_s} s" >&2
			exit 1
		fi
		sleep 0.5
	done
	for pid in "${writer_pids[@]}"; do
		wait "$pid"
	done
	writer_pids=()
}

step() {
	printf '\n$ %s\n' "$*"
	"$@"
}

mib() {
	awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'
}

# KEY of cgroup NAME in the JSON of `dirtyfs stat --json` (a cgroup a line).
json_key() {
	grep "\"/$1\":" | sed -n "s/.*\"$2\": \\([0-9]*\\).*/\\1/p" | tail -n 1
}

peak_dirty() {
	grep "\"/$1\":" "$work/samples" |
		sed -n 's/.*"dirty": \([0-9]*\).*/\1/p' | sort -n | tail -n 1
}

summary() {
	local name=$1 final=$2 written usec events limit peak
	written=$(json_key "$name" written <"$final")
	usec=$(json_key "$name" throttled_usec <"$final")
	events=$(json_key "$name" throttle_events <"$final")
	limit=$(json_key "$name" dirty_limit <"$final")
	peak=$(peak_dirty "$name")
	printf '%s\n' "/$name:"
	printf '  written back      %s\n' "$(mib "$written")"
	printf '  replies held      %s, for %s s in all\n' "$events" \
		"$(awk -v u="$usec" 'BEGIN { printf "%.1f", u / 1e6 }')"
	printf '  peak dirty        %s against a dirty_limit of %s\n' \
		"$(mib "${peak:-0}")" "$(mib "$limit")"
	printf '  dd                %s\n' "$(tail -n 1 "$work/$name.dd")"
}

echo "BACKING=$backing MOUNTPOINT=$mnt cgroups under $cgroot"
"$bin" -f -o "cache_size=512M,writeback_bw=32M,cgroup=$cgmode" \
	"$backing" "$mnt" 2>"$work/daemon.log" &
daemon_pid=$!
for _ in $(seq 100); do
	mountpoint -q "$mnt" && break
	if ! kill -0 "$daemon_pid" 2>/dev/null; then
		cat "$work/daemon.log" >&2
		daemon_pid=
		echo "demo.sh: dirtyfs failed to mount" >&2
		exit 1
	fi
	sleep 0.1
done
mountpoint -q "$mnt" || { echo "demo.sh: no mount after 10 s" >&2; exit 1; }

make_cgroup "$tight"
make_cgroup "$free"
step "$bin" limit "$mnt" "/$tight" 16M 8M
step "$bin" limit "$mnt" "/$free" 1G 512M
step "$bin" limit "$mnt" "/$tight"

echo
echo "Writing ${tight_mib} MiB from /$tight and ${free_mib} MiB from /$free..."
"$bin" stat "$mnt" --json --watch 0.2 >"$work/samples" &
sampler_pid=$!
start_writer "$tight" tight "$tight_mib"
start_writer "$free" free "$free_mib"
sleep 0.5
"$bin" stat "$mnt" --watch 1 &
watch_pid=$!
wait_writers
stop_pid "$watch_pid"
watch_pid=
stop_pid "$sampler_pid"
sampler_pid=

step "$bin" sync "$mnt"
"$bin" stat "$mnt" --json >"$work/final"
step "$bin" stat "$mnt"

echo
echo "Summary (writeback_bw=32M):"
summary "$tight" "$work/final"
summary "$free" "$work/final"

step fusermount3 -u "$mnt"
wait "$daemon_pid"
daemon_pid=
[ "$(stat -c %s "$backing/tight")" -eq $((tight_mib << 20)) ]
[ "$(stat -c %s "$backing/free")" -eq $((free_mib << 20)) ]
echo
echo "BACKING holds both files whole after unmount."
