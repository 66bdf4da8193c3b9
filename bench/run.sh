#!/bin/bash
# bench/run.sh: the dirtyfs benchmark suite (`make bench`). See
# bench/README.md for what each workload measures and why.
#
# Every figure is a ratio against a baseline measured in the same run, in
# alternating rounds (A B A B ...), medians quoted. Numbers are recorded,
# never asserted: the run fails only when something breaks (a command
# fails, a daemon dies, a mount does not come up).
#
# Environment:
#   BENCH_ROUNDS=3        measured rounds per workload (after a warm-up)
#   BENCH_QUICK=1         small sizes, for developing the suite
#   BENCH_RESULTS=DIR     where results go (default bench/results)
#   BENCH_ONLY="seq rand" run only these workloads (names as in WORKLOADS)
#   BENCH_SCHED=1         trace the scheduler for 2 s of the first noisy
#                         round of each dirtyfs isolation variant (perf) and
#                         say where the victim's slow writes waited
set -u
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=bench/lib.sh
source bench/lib.sh

T_START=$(now_s)
ROUNDS=${BENCH_ROUNDS:-3}
QUICK=${BENCH_QUICK:-0}
RESULTS=${BENCH_RESULTS:-bench/results}
WORKLOADS="seq rand read meta drain iso thr scale"
ONLY=${BENCH_ONLY:-$WORKLOADS}

# Sizes. The full sizes fit the 15-minute budget on a 2-vCPU machine;
# README.md and results.md say where they are below issue 5's.
if [ "$QUICK" = 1 ]; then
	SEQ_SIZE=128M RAND_FILE=64M RAND_RUNTIME=2 META_N=1000
	DRAIN_SIZE=256M ISO_SECONDS=3 THR_SECONDS=1 M_CACHE=1G
	SCALE_CGROUPS=100 SCALE_FILES=2
else
	SEQ_SIZE=1G RAND_FILE=256M RAND_RUNTIME=4 META_N=15000
	DRAIN_SIZE=2G ISO_SECONDS=8 THR_SECONDS=2 M_CACHE=5G
	SCALE_CGROUPS=1000 SCALE_FILES=15
fi
ISO_INTERVAL_US=488     # 4 KiB every 488 us: 8 MiB/s
ISO_REGION=$((64 << 20))
ISO_NB_WRITERS=16
ISO_NB_LIMIT=32M ISO_NB_BG=16M ISO_BW=64M
ISO_BW_LOW=4M           # writeback_bw below ISO_BW (a list)
ISO_NB_FIO_RATE=4m      # a writer: 16 of them write at ISO_BW
KERNEL_DIRTY_BYTES=268435456
THR_LIMIT=16M THR_BG=8M THR_BW=32M
# 9: one writer process per cgroup, SCALE_FILES files of SCALE_BYTES each;
# per-cgroup limits that each process's files go over. SCALE_CGROUPS x
# SCALE_FILES dirty files: 15,000, not issue 5's 100,000, because the
# daemon holds a descriptor per looked-up inode and RLIMIT_NOFILE's hard
# limit here is 20,000 (README.md, results.md).
SCALE_BYTES=65536 SCALE_JOBS=4 SCALE_LIMIT=512K SCALE_BG=256K
PICK_CALLS=1000000

if [ "$(id -u)" != 0 ]; then
	echo "bench: run as root (FUSE mounts, cgroups, sysctls)" >&2
	exit 1
fi
SCHED=${BENCH_SCHED:-}
for tool in fio gnuplot setfattr getfattr fusermount3 cc valgrind "$PY" \
	${SCHED:+perf}; do
	if ! command -v "$tool" >/dev/null; then
		echo "bench: $tool is missing; scripts/deps.sh installs it" >&2
		exit 1
	fi
done
if [ ! -d "$CGROOT" ]; then
	echo "bench: needs the cgroup v1 memory hierarchy at $CGROOT" >&2
	exit 1
fi

# BACKING lives on the root disk: /var/tmp, never a tmpfs.
WORK=$(mktemp -d /var/tmp/dfsbench.XXXXXX) || exit 1
if [ "$(stat -f -c %T "$WORK")" = tmpfs ]; then
	echo "bench: /var/tmp is a tmpfs here; need a disk" >&2
	rmdir "$WORK"
	exit 1
fi
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

RAW=$RESULTS/raw
rm -rf "$RAW"
mkdir -p "$RAW"/{fio,iso,thr,scale,logs} || exit 1
echo "workload,variant,round,key,value" >"$RAW/measurements.csv"
: >"$RAW/status.txt"
: >"$RAW/notes.txt"
TAG=dfsbench.$$
BIN_DIR=build/bench
mkdir -p "$BIN_DIR"
cc -O2 -Wall -Wextra -o "$BIN_DIR/victim" bench/victim.c || exit 1
cc -O2 -Wall -Wextra -o "$BIN_DIR/meta" bench/meta.c || exit 1
cc -O2 -Wall -Wextra -o "$BIN_DIR/scale" bench/scale.c || exit 1
# pick links the daemon's own registry (the objects `make` built).
cc -O2 -g -Wall -Wextra -D_GNU_SOURCE -pthread $(pkg-config --cflags fuse3) \
	-o "$BIN_DIR/pick" bench/pick.c build/obj/cgroup/memcg.o \
	build/obj/cgroup/procfs.o build/obj/cgroup/memlimit.o \
	build/obj/cgroup/pacing.o build/obj/cgroup/trace.o \
	build/obj/fusefs/options.o -lcgroup || exit 1

note() { echo "$*" >>"$RAW/notes.txt"; }

NOFILE_HARD=$(ulimit -Hn)
{
	[ "$QUICK" = 1 ] &&
		echo "- BENCH_QUICK=1: development sizes, not the issue's."
	echo "- 4. metadata: $META_N files, not 100,000. dirtyfs keeps an" \
		"O_PATH descriptor open for every file the kernel has looked up," \
		"until the kernel forgets it (and two more while a file is open" \
		"or being written back). It raises RLIMIT_NOFILE to fs.nr_open" \
		"where it may (root with CAP_SYS_RESOURCE), else to the hard" \
		"limit: here $NOFILE_HARD, and root cannot raise it."
	[ "$DRAIN_SIZE" = 2G ] || echo "- 5. draining: $DRAIN_SIZE, not 2 GiB."
	[ "$SEQ_SIZE" = 1G ] || echo "- 1. sequential writes: $SEQ_SIZE, not 1 GiB."
	echo "- 6. victim runs of $ISO_SECONDS s (about" \
		"$((ISO_SECONDS * 1000000 / ISO_INTERVAL_US)) writes each): a" \
		"run's p99.99 rests on its two or three slowest writes."
	echo "- 8. memory: $SEQ_SIZE cached in one file written in 1 MiB" \
		"requests (dirtyfs's cache pages are 4 KiB), not many small files."
	echo "- 9. scale: $SCALE_CGROUPS cgroups and" \
		"$((SCALE_CGROUPS * SCALE_FILES)) dirty files, not 100,000: one" \
		"descriptor per looked-up file (above) against the hard limit of" \
		"$NOFILE_HARD. The choice of the next inode is shown at 100,000" \
		"dirty inodes by bench/pick.c, without FUSE."
} >"$RAW/scaled.txt"

# --- machine -----------------------------------------------------------

machine_txt() {
	{
		echo "date: $(date -Is)"
		echo "nproc: $(nproc)"
		grep -E '^(MemTotal|MemAvailable)' /proc/meminfo
		echo "kernel: $(uname -srvm)"
		# none: a task in the kernel (a FUSE copy) keeps its CPU
		echo "preemption: $(dmesg 2>/dev/null |
			grep -o 'Dynamic Preempt: [a-z]*' | tail -1)"
		echo "backing: $WORK on $(df -T "$WORK" | awk 'NR == 2 {
			print $1 " (" $2 ")" }'), mounted $(findmnt -no OPTIONS \
			--target "$WORK")"
		echo "tmp: /tmp is $(stat -f -c %T /tmp)"
		echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
		echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
		echo "fio: $(fio --version)"
		echo "dirtyfs: $(git rev-parse --short HEAD 2>/dev/null)" \
			"$(git status --porcelain 2>/dev/null | grep -q . &&
				echo '(working tree has changes)')"
		echo "RLIMIT_NOFILE (soft/hard, the daemons'): $(ulimit -Hn)/$(ulimit -Hn)"
		echo "vm.dirty_bytes=$(cat /proc/sys/vm/dirty_bytes)" \
			"vm.dirty_ratio=$(cat /proc/sys/vm/dirty_ratio)" \
			"vm.dirty_background_ratio=$(cat /proc/sys/vm/dirty_background_ratio)"
		echo "sizes: SEQ_SIZE=$SEQ_SIZE RAND_FILE=$RAND_FILE" \
			"RAND_RUNTIME=${RAND_RUNTIME}s META_N=$META_N" \
			"DRAIN_SIZE=$DRAIN_SIZE ISO_SECONDS=$ISO_SECONDS" \
			"THR_SECONDS=$THR_SECONDS ROUNDS=$ROUNDS"
	} >"$RESULTS/machine.txt"
}

# --- the mounts of workloads 1-5 and 8 ---------------------------------
#
# M:  dirtyfs, cached: cache_size big enough for every file of these
#     workloads, no limits and no expiry, so nothing is throttled and
#     nothing is written back until a workload asks (sync).
# WT: dirtyfs in write-through mode (dirty_limit=0), the plain-FUSE baseline.
# D:  BACKING's filesystem written directly (a sibling directory).
# MW: M with smaller write requests (max_write=$MW_MAX_WRITE), workload 1
#     only: what they cost in throughput.

M_MNT=$WORK/m.mnt WT_MNT=$WORK/wt.mnt D_DIR=$WORK/direct MW_MNT=$WORK/mw.mnt
M_PID="" WT_PID="" MW_PID=""
MW_MAX_WRITE=128K
M_OPTS="cache_size=$M_CACHE,dirty_limit=max,dirty_background_limit=max,dirty_expire=3600"
WT_OPTS="dirty_limit=0"

# (Re)mount M and WT where their daemon is not running.
ensure_mounts() {
	mkdir -p "$D_DIR"
	if [ -z "$M_PID" ] || ! kill -0 "$M_PID" 2>/dev/null; then
		[ -n "$M_PID" ] && note "the cached daemon (pid $M_PID) had died; remounted"
		dfs_mount "$WORK/m.back" "$M_MNT" "$RAW/logs/m-$(date +%s).log" \
			"$M_OPTS" || return 1
		M_PID=$DFS_PID
	fi
	if [ -z "$WT_PID" ] || ! kill -0 "$WT_PID" 2>/dev/null; then
		[ -n "$WT_PID" ] && note "the write-through daemon (pid $WT_PID) had died; remounted"
		dfs_mount "$WORK/wt.back" "$WT_MNT" "$RAW/logs/wt-$(date +%s).log" \
			"$WT_OPTS" || return 1
		WT_PID=$DFS_PID
	fi
}

dir_of() { # VARIANT
	case $1 in
	direct) echo "$D_DIR" ;;
	dirtyfs_mw) echo "$MW_MNT" ;;
	dirtyfs*) echo "$M_MNT" ;;
	wt) echo "$WT_MNT" ;;
	esac
}

pid_of() { # VARIANT
	case $1 in
	dirtyfs_mw) echo "$MW_PID" ;;
	dirtyfs*) echo "$M_PID" ;;
	wt) echo "$WT_PID" ;;
	*) echo "" ;;
	esac
}

# Leave nothing dirty behind a run (untimed): fsync the direct files,
# sync dirtyfs.
settle() { # VARIANT FILE
	case $1 in
	direct) sync "$2" ;;
	dirtyfs_mw) dfs_sync "$MW_MNT" ;;
	dirtyfs*) dfs_sync "$M_MNT" ;;
	wt) dfs_sync "$WT_MNT" ;;
	esac
}

# --- 1 and 8: sequential 1 MiB writes; daemon CPU per GiB, memory ------

w_seq() {
	local v r json c0 c1 bw f
	local args=(--name=seq --rw=write --bs=1M --size="$SEQ_SIZE"
		--ioengine=psync --end_fsync=0)
	# Unmounted with the others at the end (cleanup).
	dfs_mount "$WORK/mw.back" "$MW_MNT" "$RAW/logs/mw.log" \
		"$M_OPTS,max_write=$MW_MAX_WRITE" || return 1
	MW_PID=$DFS_PID
	# Warm-up (not recorded): lays the files out and touches the memory
	# of the caches once (fresh memory is slow to touch here).
	for v in direct dirtyfs wt dirtyfs_mw; do
		f=$(dir_of $v)/seq
		fio_run "$RAW/fio/seq-$v-warm.json" "${args[@]}" --filename="$f" ||
			return 1
		settle $v "$f" || return 1
	done
	for ((r = 1; r <= ROUNDS; r++)); do
		for v in direct dirtyfs wt dirtyfs_mw; do
			f=$(dir_of $v)/seq
			json=$RAW/fio/seq-$v-r$r.json
			[ -n "$(pid_of $v)" ] && c0=$(cpu_s "$(pid_of $v)")
			fio_run "$json" "${args[@]}" --filename="$f" || return 1
			bw=$(fio_get "$json" write bw_bytes) || return 1
			record seq $v $r MBps "$(awk -v b="$bw" 'BEGIN { print b / 1e6 }')"
			if [ $v = dirtyfs ] && [ $r = 1 ]; then
				record mem dirtyfs $r rss_bytes \
					"$(awk '/^VmRSS/ { print $2 * 1024 }' \
						"/proc/$M_PID/status")"
				record mem dirtyfs $r cache_bytes \
					"$(getfattr --absolute-names --only-values -n trusted.dirtyfs.stat \
						"$M_MNT" 2>/dev/null | awk '$1 == "cache_bytes" { print $2 }')"
			fi
			# The cost includes writing the data back (settle).
			settle $v "$f" || return 1
			if [ -n "$(pid_of $v)" ]; then
				c1=$(cpu_s "$(pid_of $v)")
				record cost $v $r cpu_s_per_GiB "$(awk -v a="$c0" \
					-v b="$c1" -v s="$(fio_get "$json" write io_bytes)" \
					'BEGIN { print (b - a) / (s / 1073741824) }')"
			fi
		done
	done
}

# --- 2: random 4 KiB writes over a RAND_FILE file ----------------------

w_rand() {
	local v r json f
	local args=(--name=rand --rw=randwrite --bs=4k --size="$RAND_FILE"
		--ioengine=psync --end_fsync=0 --runtime="$RAND_RUNTIME")
	for v in direct dirtyfs wt; do
		f=$(dir_of $v)/rand
		# Lay the file out, then one unrecorded pass.
		fio_run "$RAW/fio/rand-$v-layout.json" --name=layout --rw=write \
			--bs=1M --size="$RAND_FILE" --filename="$f" || return 1
		fio_run "$RAW/fio/rand-$v-warm.json" "${args[@]}" --filename="$f" ||
			return 1
		settle $v "$f" || return 1
	done
	for ((r = 1; r <= ROUNDS; r++)); do
		for v in direct dirtyfs wt; do
			f=$(dir_of $v)/rand
			json=$RAW/fio/rand-$v-r$r.json
			fio_run "$json" "${args[@]}" --filename="$f" || return 1
			record rand $v $r iops "$(fio_get "$json" write iops)"
			settle $v "$f" || return 1
		done
	done
}

# --- 3: reads of cached data -------------------------------------------
#
# direct:          BACKING's file from the kernel's page cache.
# dirtyfs:         the mount's file from dirtyfs's cache: fio's default
#                  invalidate=1 drops the kernel's pages of the FUSE file
#                  (POSIX_FADV_DONTNEED) first, so every read reaches the
#                  daemon.
# dirtyfs_kcache:  the mount's file with the kernel's FUSE page cache warm
#                  (what a reader sees right after writing): not dirtyfs's
#                  own path; shown for information.

w_read() {
	local v r json f kind
	for v in direct dirtyfs; do
		[ -f "$(dir_of $v)/seq" ] && [ -f "$(dir_of $v)/rand" ] || {
			note "read: needs the files of seq and rand"
			return 1
		}
	done
	for ((r = 0; r <= ROUNDS; r++)); do # round 0: warm-up
		for kind in read1m read4k; do
			for v in direct dirtyfs dirtyfs_kcache; do
				json=$RAW/fio/$kind-$v-r$r.json
				local inval=1
				[ $v = dirtyfs ] || inval=0
				f=$(dir_of $v)/seq
				[ $kind = read4k ] && f=$(dir_of $v)/rand
				# Fill the kernel's page cache of the file (untimed).
				[ $inval = 0 ] && { dd if="$f" of=/dev/null bs=1M \
					status=none || return 1; }
				if [ $kind = read1m ]; then
					fio_run "$json" --name=$kind --rw=read --bs=1M \
						--size="$SEQ_SIZE" --ioengine=psync \
						--invalidate=$inval --filename="$f" || return 1
					[ "$r" = 0 ] || record $kind $v $r MBps "$(awk -v \
						b="$(fio_get "$json" read bw_bytes)" \
						'BEGIN { print b / 1e6 }')"
				else
					fio_run "$json" --name=$kind --rw=randread --bs=4k \
						--size="$RAND_FILE" --ioengine=psync \
						--runtime="$RAND_RUNTIME" --invalidate=$inval \
						--filename="$f" || return 1
					[ "$r" = 0 ] ||
						record $kind $v $r iops "$(fio_get "$json" read iops)"
				fi
			done
		done
	done
}

# --- 4: metadata -------------------------------------------------------

w_meta() {
	local v r out fds0 fds1
	fds0=$(ls "/proc/$M_PID/fd" | wc -l)
	for ((r = 0; r <= ROUNDS; r++)); do # round 0: warm-up
		for v in direct dirtyfs; do
			out=$(timeout 600 "$BIN_DIR/meta" "$(dir_of $v)/meta" "$META_N") ||
				return 1
			echo "$v r$r $out" >>"$RAW/meta.txt"
			[ "$r" = 0 ] && continue
			for kv in $out; do
				record meta $v $r "${kv%%=*}" "${kv#*=}"
			done
		done
	done
	fds1=$(ls "/proc/$M_PID/fd" | wc -l)
	note "meta: the cached daemon had $fds0 descriptors open before, $fds1 after"
}

# --- 5: draining -------------------------------------------------------

w_drain() {
	local r json t0 t1 dirty bw
	local fill=(--name=fill --rw=write --bs=1M --size="$DRAIN_SIZE"
		--ioengine=psync --end_fsync=0 --filename="$M_MNT/drain")
	local dio=(--name=dio --rw=write --bs=1M --size="$DRAIN_SIZE"
		--ioengine=io_uring --direct=1 --iodepth=16
		--filename="$D_DIR/drain")
	for ((r = 0; r <= ROUNDS; r++)); do # round 0: warm-up
		dfs_sync "$M_MNT" || return 1
		fio_run "$RAW/fio/drain-fill-r$r.json" "${fill[@]}" || return 1
		dirty=$(stat_key "$M_MNT" / dirty)
		t0=$(now_s)
		dfs_sync "$M_MNT" || return 1
		t1=$(now_s)
		if [ "$r" != 0 ]; then
			record drain dirtyfs $r dirty_bytes "$dirty"
			record drain dirtyfs $r MBps "$(awk -v d="$dirty" -v a="$t0" \
				-v b="$t1" 'BEGIN { print d / (b - a) / 1e6 }')"
		fi
		json=$RAW/fio/drain-dio-r$r.json
		fio_run "$json" "${dio[@]}" || return 1
		[ "$r" = 0 ] || record drain fio_direct $r MBps "$(awk -v \
			b="$(fio_get "$json" write bw_bytes)" 'BEGIN { print b / 1e6 }')"
	done
}

# --- 6: isolation ------------------------------------------------------

# A victim write that takes this long counts as slow in the scheduler
# trace (about 3x its solo p99 here).
SCHED_SLOW_US=150
# read, pwrite64, writev, io_uring_enter
SCHED_SYSCALLS="id == 0 || id == 18 || id == 20 || id == 426"

# iso_sched_start TAG: in the background, record 2 s of the scheduler's
# switches and wake-ups and of those system calls, machine-wide, 1 s from
# now; the recorder's pid goes to SCHED_PID.
iso_sched_start() {
	(sleep 1 && exec perf record -q -a -o "$RAW/iso/$1-sched.data" \
		-e sched:sched_switch -e sched:sched_waking \
		-e raw_syscalls:sys_enter --filter "$SCHED_SYSCALLS" \
		-e raw_syscalls:sys_exit --filter "$SCHED_SYSCALLS" \
		sleep 2) >/dev/null 2>&1 &
	SCHED_PID=$!
	BGPIDS+=("$SCHED_PID")
}

# iso_sched_report TAG: bench/schedtrace.py's summary of the trace, which
# is then removed (hundreds of megabytes).
iso_sched_report() {
	local data=$RAW/iso/$1-sched.data
	perf script -i "$data" -F comm,tid,cpu,time,event,trace 2>/dev/null |
		"$PY" bench/schedtrace.py "$SCHED_SLOW_US" \
			>"$RAW/iso/$1-sched.txt"
	local rc=$?
	rm -f "$data"
	[ $rc = 0 ] && note "scheduler trace ($1, writes over" \
		"$SCHED_SLOW_US us): $(tr '\n' ' ' <"$RAW/iso/$1-sched.txt")"
	return $rc
}

# One victim run: SYSTEM (dirtyfs|dirtyfs_bw|dirtyfs_bwSIZE|dirtyfs_nbfuse|
# kernel) MODE (solo|noisy) ROUND DIR (the mount, or the kernel's
# directory). The neighbour writes into DIR/nb, at ISO_NB_RATE per writer
# (fio's --rate) where that is set.
iso_run() {
	local sys=$1 mode=$2 r=$3 dir=$4 nb_pid="" smp_pid="" perf_pid="" out rc=0
	local tag=$sys-$mode-r$r c0=""
	[ "$sys" != kernel ] && c0=$(cpu_s "$ISO_PID")
	if [ "$mode" = noisy ]; then
		in_cgroup "$CG_NB" timeout $((ISO_SECONDS + 120)) fio \
			--output-format=json --output="$RAW/iso/$tag-nb.json" \
			--name=nb --numjobs=$ISO_NB_WRITERS --rw=write --bs=1M \
			--size=128M --ioengine=psync --end_fsync=0 --time_based \
			--runtime=$((ISO_SECONDS + 2)) --group_reporting \
			${ISO_NB_RATE:+--rate=$ISO_NB_RATE} \
			--directory="$dir/nb" >/dev/null &
		nb_pid=$!
		BGPIDS+=("$nb_pid")
		sleep 1.5 # the neighbour is over its limit and held by now
	fi
	if [ "$sys" != kernel ]; then
		"$PY" bench/sampler.py "$dir" 0.1 "$RAW/iso/$tag-dirty.csv" \
			"$CG_VICTIM" "$CG_NB" &
	else
		"$PY" bench/sampler.py memcg 0.1 "$RAW/iso/$tag-dirty.csv" \
			"$CG_VICTIM" "$CG_NB" &
	fi
	smp_pid=$!
	BGPIDS+=("$smp_pid")
	if [ -n "$SCHED" ] && [ "$mode$r" = noisy1 ] && [ "$sys" != kernel ]; then
		iso_sched_start "$tag"
		perf_pid=$SCHED_PID
	fi
	out=$(in_cgroup "$CG_VICTIM" timeout $((ISO_SECONDS + 120)) \
		"$BIN_DIR/victim" "$dir/victim" "$ISO_SECONDS" "$ISO_INTERVAL_US" \
		"$ISO_REGION" "$RAW/iso/$tag-lat.txt") || rc=1
	kill "$smp_pid" 2>/dev/null
	wait "$smp_pid" 2>/dev/null
	if [ -n "$perf_pid" ]; then
		wait "$perf_pid" || rc=1
		iso_sched_report "$tag" || rc=1
	fi
	if [ -n "$nb_pid" ]; then
		wait "$nb_pid" || rc=1
	fi
	BGPIDS=()
	echo "$tag $out" >>"$RAW/iso/summary.txt"
	[ $rc = 0 ] || return 1
	for kv in $out; do
		record "iso_$sys" "$mode" "$r" "${kv%%=*}" "${kv#*=}"
	done
	[ -n "$c0" ] && record "iso_$sys" "$mode" "$r" daemon_cpu_s \
		"$(awk -v a="$c0" -v b="$(cpu_s "$ISO_PID")" 'BEGIN { print b - a }')"
	if [ -n "$nb_pid" ]; then
		record "iso_$sys" "$mode" "$r" nb_MBps "$(awk -v b="$(fio_get \
			"$RAW/iso/$tag-nb.json" write bw_bytes)" 'BEGIN { print b / 1e6 }')"
	fi
	# Start the next run clean.
	if [ "$sys" != kernel ]; then
		dfs_sync "$dir" || return 1
	else
		find "$dir" -type f -exec sync {} + || return 1
	fi
}

# The victim's file is written by a process in the victim's cgroup, so that
# the kernel's memcg charges its page cache pages there (v1 charges a page
# to the cgroup that brought it in) and memory.stat shows the victim's dirty.
iso_prepare() { # DIR
	mkdir -p "$1/nb" || return 1
	in_cgroup "$CG_VICTIM" dd if=/dev/zero of="$1/victim" bs=1M \
		count=$((ISO_REGION >> 20)) conv=fsync status=none
}

# iso_mount NAME OPTS: a dirtyfs mount for the isolation runs, with the
# neighbour's limits set and the victim's file in place; sets ISO_DIR.
iso_mount() {
	ISO_DIR=$WORK/$1.mnt
	dfs_mount "$WORK/$1.back" "$ISO_DIR" "$RAW/logs/$1.log" "$2" || return 1
	ISO_PID=$DFS_PID
	setfattr -n "trusted.dirtyfs.dirty_limit:$CG_NB" -v $ISO_NB_LIMIT \
		"$ISO_DIR" || return 1
	setfattr -n "trusted.dirtyfs.dirty_background_limit:$CG_NB" \
		-v $ISO_NB_BG "$ISO_DIR" || return 1
	iso_prepare "$ISO_DIR" && dfs_sync "$ISO_DIR"
}

iso_note() { # LABEL MNT
	local cg
	for cg in "$CG_NB" "$CG_VICTIM"; do
		getfattr --absolute-names --only-values \
			-n "trusted.dirtyfs.stat:$cg" "$2" \
			>"$RAW/iso/$1-${cg##*.}-stat.txt"
	done
	note "iso ($1): neighbour" \
		"throttle_events=$(stat_key "$2" "$CG_NB" throttle_events)" \
		"throttled_usec=$(stat_key "$2" "$CG_NB" throttled_usec);" \
		"victim throttle_events=$(stat_key "$2" "$CG_VICTIM" throttle_events)"
}

# iso_series SYSTEM NAME OPTS: ROUNDS of solo and noisy victim runs on a
# new mount NAME with OPTS.
iso_series() {
	local r
	iso_mount "$2" "$3" || return 1
	for ((r = 1; r <= ROUNDS; r++)); do
		iso_run "$1" solo $r "$ISO_DIR" || return 1
		iso_run "$1" noisy $r "$ISO_DIR" || return 1
	done
	iso_note "$1" "$ISO_DIR"
}

w_iso() {
	local r
	cg_make "$TAG.victim" || return 1
	CG_VICTIM=$CG
	cg_make "$TAG.neighbour" || return 1
	CG_NB=$CG

	# dirtyfs as issue 5 asks: writeback_bw unlimited.
	iso_series dirtyfs i "cache_size=1G" || return 1

	# The same with writeback_bw=$ISO_BW: the neighbour is held most of
	# the time instead of writing at the disk's speed (and burning the
	# CPU the victim needs).
	iso_series dirtyfs_bw ib "cache_size=1G,writeback_bw=$ISO_BW" || return 1

	# Slower still: what the victim's tail owes to how fast the neighbour
	# is let write (each of its requests costs the CPUs the same). Each
	# such series takes longer, its syncs running at that rate: with 16M
	# as well make bench took 17 minutes. For the same reason smaller
	# requests (max_write) and the neighbour writing into BACKING's
	# filesystem directly are no longer run here (README.md has their
	# figures).
	local bw
	for bw in $ISO_BW_LOW; do
		iso_series "dirtyfs_bw$bw" "ib$bw" "cache_size=1G,writeback_bw=$bw" ||
			return 1
	done

	# What the neighbour's rate at writeback_bw=$ISO_BW costs the victim through the mount
	# when nothing holds the neighbour: no hard limit for it (writeback
	# still starts at its background limit), writeback_bw unlimited, fio's
	# --rate in place of the throttle.
	iso_mount if "cache_size=1G" || return 1
	setfattr -n "trusted.dirtyfs.dirty_limit:$CG_NB" -v max "$ISO_DIR" ||
		return 1
	for ((r = 1; r <= ROUNDS; r++)); do
		ISO_NB_RATE=$ISO_NB_FIO_RATE \
			iso_run dirtyfs_nbfuse solo $r "$ISO_DIR" || return 1
		ISO_NB_RATE=$ISO_NB_FIO_RATE \
			iso_run dirtyfs_nbfuse noisy $r "$ISO_DIR" || return 1
	done
	iso_note dirtyfs_nbfuse "$ISO_DIR"

	# The kernel, same scenario on BACKING's filesystem directly.
	sysctl_save
	echo $KERNEL_DIRTY_BYTES >/proc/sys/vm/dirty_bytes || return 1
	local kdir=$WORK/kernel
	iso_prepare "$kdir" || return 1
	for ((r = 1; r <= ROUNDS; r++)); do
		iso_run kernel solo $r "$kdir" || return 1
		iso_run kernel noisy $r "$kdir" || return 1
	done
	sysctl_restore
}

# --- 7: throttle precision ---------------------------------------------

w_thr() {
	local w bs r tag smp_pid peak rc
	cg_make "$TAG.throttled" || return 1
	CG_THR=$CG
	dfs_mount "$WORK/t.back" "$WORK/t.mnt" "$RAW/logs/thr.log" \
		"cache_size=512M,writeback_bw=$THR_BW" || return 1
	setfattr -n "trusted.dirtyfs.dirty_limit:$CG_THR" -v $THR_LIMIT \
		"$WORK/t.mnt" || return 1
	setfattr -n "trusted.dirtyfs.dirty_background_limit:$CG_THR" \
		-v $THR_BG "$WORK/t.mnt" || return 1
	mkdir -p "$WORK/t.mnt/thr"
	for w in 1 4 16; do
		for bs in 1M 4k; do
			for ((r = 1; r <= ROUNDS; r++)); do
				tag=w$w-$bs-r$r
				dfs_sync "$WORK/t.mnt" || return 1
				"$PY" bench/sampler.py "$WORK/t.mnt" 0.005 \
					"$RAW/thr/$tag.csv" "$CG_THR" &
				smp_pid=$!
				BGPIDS+=("$smp_pid")
				rc=0
				in_cgroup "$CG_THR" timeout $((THR_SECONDS + 120)) fio \
					--output-format=json --output="$RAW/thr/$tag.json" \
					--name=thr --numjobs=$w --rw=write --bs=$bs \
					--size=64M --ioengine=psync --end_fsync=0 \
					--time_based --runtime=$THR_SECONDS \
					--group_reporting --directory="$WORK/t.mnt/thr" \
					>/dev/null || rc=1
				kill "$smp_pid" 2>/dev/null
				wait "$smp_pid" 2>/dev/null
				BGPIDS=()
				[ $rc = 0 ] || return 1
				peak=$(awk -F, 'NR > 1 && $2 != "" && $2 > m { m = $2 }
					END { print m + 0 }' "$RAW/thr/$tag.csv")
				record thr "w$w-$bs" $r peak_dirty "$peak"
			done
		done
	done
	getfattr --absolute-names --only-values -n "trusted.dirtyfs.stat:$CG_THR" "$WORK/t.mnt" \
		>"$RAW/thr/stat.txt"
	note "thr: the throttled cgroup's throttle_events=$(stat_key \
		"$WORK/t.mnt" "$CG_THR" throttle_events)"
}

# --- 9: scale -----------------------------------------------------------

# The flusher's choice of the next inode: instructions per
# memcg_next_writeback() (callgrind: deterministic) and nanoseconds per call,
# for 1 and 1,000 cgroups over their limits and 1,000 to 100,000 dirty
# inodes.
scale_pick() {
	local nc ni out ir
	for nc in 1 1000; do
		for ni in 1000 10000 100000; do
			out=$("$BIN_DIR/pick" $nc $ni $PICK_CALLS) || return 1
			echo "$out" >>"$RAW/scale/pick.txt"
			record pick "c$nc-i$ni" 1 ns "$(echo "$out" |
				sed 's/.*ns_per_pick=//')"
			valgrind --tool=callgrind --collect-atstart=no \
				--toggle-collect=memcg_next_writeback \
				--callgrind-out-file="$RAW/scale/pick-c$nc-i$ni.cg" \
				"$BIN_DIR/pick" $nc $ni 10000 >/dev/null 2>&1 ||
				return 1
			ir=$(awk '/^totals:/ { print $2 / 10000 }' \
				"$RAW/scale/pick-c$nc-i$ni.cg")
			record pick "c$nc-i$ni" 1 ir "$ir"
		done
	done
}

# One scale run: VARIANT (one|many) ROUND. The same processes write the
# same files; only the cgroups they are in differ.
scale_run() {
	local out
	mkdir "$SCALE_MNT/d" || return 1
	out=$(timeout 600 "$BIN_DIR/scale" "$SCALE_MNT/d" "$WORK/scale-$1.txt" \
		"$SCALE_CGROUPS" "$SCALE_FILES" "$SCALE_BYTES" "$SCALE_JOBS") ||
		return 1
	echo "$1 r$2 $out" >>"$RAW/scale/runs.txt"
	[ "$2" = 0 ] || record scale "$1" "$2" MBps "${out##*MBps=}"
	# Untimed: start the next run clean and empty.
	dfs_sync "$SCALE_MNT" && rm -rf "$SCALE_MNT/d"
}

w_scale() {
	local i r v mnt=$WORK/s.mnt
	scale_pick || return 1
	dfs_mount "$WORK/s.back" "$mnt" "$RAW/logs/scale.log" \
		"cache_size=1G" || return 1
	SCALE_MNT=$mnt
	cg_make "$TAG.one" || return 1
	echo "$CGROOT$CG" >"$WORK/scale-one.txt"
	setfattr -n "trusted.dirtyfs.dirty_limit:$CG" \
		-v $((SCALE_CGROUPS * ${SCALE_LIMIT%K}))K "$mnt" &&
		setfattr -n "trusted.dirtyfs.dirty_background_limit:$CG" \
			-v $((SCALE_CGROUPS * ${SCALE_BG%K}))K "$mnt" || return 1
	: >"$WORK/scale-many.txt"
	for ((i = 0; i < SCALE_CGROUPS; i++)); do
		cg_make "$TAG.s$i" || return 1
		echo "$CGROOT$CG" >>"$WORK/scale-many.txt"
		setfattr -n "trusted.dirtyfs.dirty_limit:$CG" -v $SCALE_LIMIT \
			"$mnt" &&
			setfattr -n "trusted.dirtyfs.dirty_background_limit:$CG" \
				-v $SCALE_BG "$mnt" || return 1
	done
	for ((r = 0; r <= ROUNDS; r++)); do # round 0: warm-up
		for v in one many; do
			scale_run $v $r || return 1
		done
	done
	note "scale: $SCALE_CGROUPS processes x $SCALE_FILES files of" \
		"$SCALE_BYTES bytes, $SCALE_JOBS at a time; the daemon had" \
		"$(ls "/proc/$DFS_PID/fd" | wc -l) descriptors open at the end"
}

# --- driver ------------------------------------------------------------

FAILED=0
run_workload() { # NAME FUNCTION
	local t0 rc=0
	case " $ONLY " in
	*" $1 "*) ;;
	*) echo "$1 not-run" >>"$RAW/status.txt"; return 0 ;;
	esac
	log "== $1"
	t0=$(now_s)
	case $1 in
	seq | rand | read | meta | drain) ensure_mounts || rc=1 ;;
	esac
	[ $rc = 0 ] && { "$2" || rc=1; }
	if [ $rc = 0 ]; then
		echo "$1 ok $(awk -v a="$t0" -v b="$(now_s)" \
			'BEGIN { printf "%.0f", b - a }') s, load average" \
			"$(cut -d' ' -f1-3 /proc/loadavg)" >>"$RAW/status.txt"
	else
		log "$1 BROKE"
		echo "$1 BROKEN $(awk -v a="$t0" -v b="$(now_s)" \
			'BEGIN { printf "%.0f", b - a }')" >>"$RAW/status.txt"
		FAILED=1
		sysctl_restore
		# A broken workload may leave its background jobs behind.
		for p in "${BGPIDS[@]}"; do kill "$p" 2>/dev/null; done
		BGPIDS=()
	fi
}

machine_txt
log "work directory $WORK, results in $RESULTS"
run_workload seq w_seq
run_workload rand w_rand
run_workload read w_read
run_workload meta w_meta
run_workload drain w_drain
run_workload iso w_iso
run_workload thr w_thr
run_workload scale w_scale

# Unmount everything now, to check each daemon exits 0 with a clean log.
for i in "${!MOUNTS[@]}"; do
	if ! dfs_umount "${MOUNTS[$i]}" "${DAEMONS[$i]}"; then
		note "the daemon of ${MOUNTS[$i]} exited with a failure status"
		FAILED=1
	fi
done
MOUNTS=() DAEMONS=()
for f in "$RAW"/logs/*.log; do
	[ -s "$f" ] && note "daemon output in $(basename "$f"): $(head -c 600 "$f" | tr '\n' ' ')"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS/machine.txt"
T_END=$(now_s)
RUNTIME_S=$(awk -v a="$T_START" -v b="$T_END" 'BEGIN { printf "%.0f", b - a }')
echo "runtime: ${RUNTIME_S} s" >>"$RESULTS/machine.txt"

# Per-write latencies are the bulk of the raw data: keep them compressed.
gzip -f "$RAW"/iso/*-lat.txt 2>/dev/null

# Plot and table.
CSV=$RAW/iso/dirtyfs-noisy-r1-dirty.csv
if [ -f "$CSV" ]; then
	gnuplot -e "csv='$CSV'; bcsv='$RAW/iso/dirtyfs_bw-noisy-r1-dirty.csv';
		kcsv='$RAW/iso/kernel-noisy-r1-dirty.csv'; out='$RESULTS/dirty.png';
		limit=$((${ISO_NB_LIMIT%M} << 20)); bw='$ISO_BW'" bench/dirty.gp || { note "gnuplot failed"; FAILED=1; }
fi
BENCH_ROUNDS=$ROUNDS RUNTIME_S=$RUNTIME_S SEQ_SIZE=$SEQ_SIZE \
	RAND_FILE=$RAND_FILE RAND_RUNTIME=$RAND_RUNTIME META_N=$META_N \
	DRAIN_SIZE=$DRAIN_SIZE ISO_SECONDS=$ISO_SECONDS THR_SECONDS=$THR_SECONDS \
	THR_LIMIT=$THR_LIMIT THR_BG=$THR_BG THR_BW=$THR_BW \
	ISO_NB_LIMIT=$ISO_NB_LIMIT ISO_NB_BG=$ISO_NB_BG ISO_BW=$ISO_BW \
	ISO_BW_LOW="$ISO_BW_LOW" \
	MW_MAX_WRITE=$MW_MAX_WRITE \
	M_OPTS=$M_OPTS SCALE_CGROUPS=$SCALE_CGROUPS SCALE_FILES=$SCALE_FILES \
	SCALE_BYTES=$SCALE_BYTES SCALE_JOBS=$SCALE_JOBS SCALE_LIMIT=$SCALE_LIMIT \
	SCALE_BG=$SCALE_BG PICK_CALLS=$PICK_CALLS \
	"$PY" bench/report.py "$RESULTS" || FAILED=1
log "results: $RESULTS/results.md (${RUNTIME_S} s)"
[ "$FAILED" = 0 ] || log "some workload BROKE: see $RAW/status.txt"
exit "$FAILED"
