#!/bin/bash
# make demo: mount dirtyfs over a temporary BACKING, write a file, show the
# statistics while the data is dirty and after a sync, unmount, and check
# that BACKING holds the data. Needs root (trusted.* attributes).
set -euo pipefail

bin=$(realpath "${1:-build/dirtyfs}")
work=$(mktemp -d /tmp/dirtyfs-demo.XXXXXX)
backing=$work/backing
mnt=$work/mnt
mkdir "$backing" "$mnt"

cleanup() {
	if mountpoint -q "$mnt"; then
		fusermount3 -u "$mnt" || fusermount3 -u -z "$mnt"
	fi
	# The daemon exits once unmounted; wait for it before removing BACKING.
	if [ -n "${pid:-}" ]; then
		wait "$pid" || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

step() {
	printf '\n$ %s\n' "$*"
	"$@"
}

echo "BACKING=$backing MOUNTPOINT=$mnt"
"$bin" -f -o cache_size=64M,dirty_expire=3600 "$backing" "$mnt" &
pid=$!
for _ in $(seq 100); do
	mountpoint -q "$mnt" && break
	kill -0 "$pid" 2>/dev/null || { echo "dirtyfs failed to mount" >&2; exit 1; }
	sleep 0.1
done
mountpoint -q "$mnt" || { echo "no mount after 10 s" >&2; exit 1; }

step dd if=/dev/urandom of="$mnt/file" bs=1M count=16 status=none
step ls -l "$mnt/file" "$backing/file"
step getfattr --absolute-names --only-values -n trusted.dirtyfs.stat "$mnt"
step setfattr -n trusted.dirtyfs.sync -v / "$mnt"
step getfattr --absolute-names --only-values -n trusted.dirtyfs.stat "$mnt"
sum=$(sha256sum <"$mnt/file")
step fusermount3 -u "$mnt"
wait "$pid"
pid=
[ "$(sha256sum <"$backing/file")" = "$sum" ]
echo
echo "BACKING holds the same 16 MiB after unmount."
