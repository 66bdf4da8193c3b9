# shellcheck shell=bash
# bench/lib.sh: helpers for bench/run.sh (sourced, bash). Every resource
# made here is recorded so that cleanup() can undo it, whatever failed:
# mounts and daemon pids, background pids, cgroups, sysctls, the work dir.

DFS_BIN=${DFS_BIN:-build/dirtyfs}
PY=${PY:-/usr/bin/python3}
CGROOT=/sys/fs/cgroup/memory

MOUNTS=()       # mountpoints we mounted
DAEMONS=()      # their daemon pids, same order
BGPIDS=()       # other background processes we started
CGROUPS=()      # cgroup directories we made
SYSCTL_SAVED="" # "dirty_bytes dirty_ratio" before we changed them

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

# Is MNT a mountpoint now (field 5 of /proc/self/mountinfo)?
is_mounted() { # MNT
	awk -v m="$1" '$5 == m { found = 1 } END { exit !found }' \
		/proc/self/mountinfo
}

# Wait (bounded) for a mountpoint to appear in /proc/self/mountinfo; fail
# at once if the daemon dies.
wait_mounted() { # MNT PID
	local i
	for ((i = 0; i < 100; i++)); do
		is_mounted "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# dfs_mount BACKING MNT LOG OPTS: start the daemon in the foreground, in the
# background of this shell. Sets DFS_PID. The daemon's soft RLIMIT_NOFILE is
# raised to the hard one (see README.md: dirtyfs keeps three descriptors per
# inode the kernel caches, and does not raise the limit itself).
dfs_mount() {
	local back=$1 mnt=$2 logf=$3 opts=$4
	mkdir -p "$back" "$mnt"
	(ulimit -n "$(ulimit -Hn)" 2>/dev/null
	 exec "$DFS_BIN" -f -o "allow_other,$opts" "$back" "$mnt") \
		>"$logf" 2>&1 &
	DFS_PID=$!
	MOUNTS+=("$mnt")
	DAEMONS+=("$DFS_PID")
	if ! wait_mounted "$mnt" "$DFS_PID"; then
		log "mount of $mnt failed; daemon log:"
		cat "$logf" >&2
		return 1
	fi
}

# Unmount (writes everything back) and wait for the daemon to exit; kill it
# by pid if it does not within the bound. Returns the daemon's exit status.
dfs_umount() { # MNT PID
	local mnt=$1 pid=$2 i rc=0
	if is_mounted "$mnt"; then
		fusermount3 -u "$mnt" 2>/dev/null ||
			{ sleep 1; fusermount3 -u "$mnt" 2>/dev/null; } ||
			fusermount3 -uz "$mnt" 2>/dev/null
	fi
	for ((i = 0; i < 1200; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "daemon $pid did not exit after unmount: killing it"
		kill -KILL "$pid" 2>/dev/null
		rc=1
	fi
	is_mounted "$mnt" && fusermount3 -uz "$mnt" 2>/dev/null
	wait "$pid" 2>/dev/null || rc=$?
	return "$rc"
}

# cg_make NAME: make cgroup /NAME in the memory hierarchy and set CG to its
# CGPATH. Not in a $(...) subshell: CGROUPS must remember it for cleanup.
cg_make() {
	mkdir "$CGROOT/$1" || return 1
	CGROUPS+=("$CGROOT/$1")
	CG=/$1
}

cg_remove_all() {
	local d i
	for d in "${CGROUPS[@]}"; do
		[ -d "$d" ] || continue
		for ((i = 0; i < 50; i++)); do
			rmdir "$d" 2>/dev/null && break
			sleep 0.1
		done
		[ -d "$d" ] && log "could not remove cgroup $d"
	done
	CGROUPS=()
}

sysctl_save() {
	[ -n "$SYSCTL_SAVED" ] && return
	SYSCTL_SAVED="$(cat /proc/sys/vm/dirty_bytes) $(cat /proc/sys/vm/dirty_ratio)"
}

# Writing dirty_ratio zeroes dirty_bytes and the other way round: restore
# whichever of the two was in force.
sysctl_restore() {
	[ -n "$SYSCTL_SAVED" ] || return 0
	local bytes=${SYSCTL_SAVED% *} ratio=${SYSCTL_SAVED#* }
	if [ "$bytes" != 0 ]; then
		echo "$bytes" >/proc/sys/vm/dirty_bytes
	else
		echo "$ratio" >/proc/sys/vm/dirty_ratio
	fi
	SYSCTL_SAVED=""
}

cleanup() {
	local i
	trap - EXIT INT TERM
	for i in "${BGPIDS[@]}"; do
		kill "$i" 2>/dev/null
	done
	for i in "${BGPIDS[@]}"; do
		wait "$i" 2>/dev/null
	done
	BGPIDS=()
	sysctl_restore
	for i in "${!MOUNTS[@]}"; do
		dfs_umount "${MOUNTS[$i]}" "${DAEMONS[$i]}" ||
			log "daemon of ${MOUNTS[$i]} exited with failure"
	done
	MOUNTS=()
	DAEMONS=()
	cg_remove_all
	# Never rm -rf through a mount that is still there.
	if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
		if awk -v w="$WORK/" 'index($5, w) == 1 { f = 1 } END { exit !f }' \
			/proc/self/mountinfo; then
			log "something is still mounted under $WORK: left in place"
		else
			rm -rf "$WORK"
		fi
	fi
}

# Run a command inside a cgroup: a shell that moves itself, then execs it.
in_cgroup() { # CGPATH CMD...
	local cg=$1
	shift
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CGROOT$cg" "$@"
}

# stat_key MNT CGPATH KEY: one statistics value.
stat_key() {
	getfattr --absolute-names --only-values -n "trusted.dirtyfs.stat:$2" "$1" 2>/dev/null |
		awk -v k="$3" '$1 == k { print $2 }'
}

dfs_sync() { # MNT [CGPATH]
	timeout 300 setfattr -n trusted.dirtyfs.sync -v "${2:-/}" "$1"
}

# Daemon CPU time in seconds (utime + stime, /proc/PID/stat fields 14, 15).
cpu_s() {
	local tck
	tck=$(getconf CLK_TCK)
	awk -v t="$tck" '{ sub(/^.*\) /, ""); print ($12 + $13) / t }' \
		"/proc/$1/stat"
}

now_s() { date +%s.%N; }

# Append one measurement: WORKLOAD VARIANT ROUND KEY VALUE.
record() {
	echo "$1,$2,$3,$4,$5" >>"$RAW/measurements.csv"
}

# fio_run NAME JSONOUT fio-args...: run fio (bounded), keep its JSON.
fio_run() {
	local out=$1
	shift
	timeout 300 fio --output-format=json --output="$out" "$@" >/dev/null
}

# fio_get JSON rw KEY: a job-0 value (bw_bytes, iops) from fio's JSON.
fio_get() {
	"$PY" -c 'import json,sys
j = json.load(open(sys.argv[1]))
print(sum(x[sys.argv[2]][sys.argv[3]] for x in j["jobs"]))' "$1" "$2" "$3"
}
