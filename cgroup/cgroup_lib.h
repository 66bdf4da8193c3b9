/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cgroup/: the library half. Who wrote (procfs.c), how much memory their
 * cgroup may use (memlimit.c), and how long a writer over its dirty
 * threshold waits (pacing.c).
 *
 * Every int function returns 0 or -errno; errno is never the channel. No
 * function here keeps a pointer to its arguments. Unless a function says
 * otherwise it does no I/O, never sleeps and may be called from any thread.
 */
#ifndef DIRTYFS_CGROUP_LIB_H
#define DIRTYFS_CGROUP_LIB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../fusefs/options.h"
#include "cgroup.h"

/* --- procfs.c: hierarchies, CGPATHs, /proc/PID/cgroup ------------------- */

/*
 * Longest CGPATH plus its NUL. The kernel sets no limit; a longer path in
 * /proc is refused, never truncated. A CGPATH named in an xattr name is
 * shorter still: names stop at 255 bytes.
 */
#define CGPATH_MAX 4096

/* The hierarchy whose paths name cgroups: cgroup v2, or v1's memory tree. */
enum cg_hierarchy { CG_UNIFIED, CG_MEMORY_V1 };

/*
 * The cgroup2 mount under sysfs_root (normally "/sys/fs/cgroup"): sysfs_root
 * itself on a pure v2 host, sysfs_root/unified on a hybrid one, recognised
 * by the cgroup.controllers file only v2 has. Writes its directory into out
 * and whether the memory controller is enabled there into *has_memory.
 * -ENOENT: no v2 hierarchy; -ENAMETOOLONG: out too small. Reads files.
 */
int cg_unified_root(const char *sysfs_root, char *out, size_t outlen,
		    bool *has_memory);

/*
 * Resolve the cgroup= option against the hierarchies mounted under
 * sysfs_root (a parameter so that tests can fake the tree). The rule is in
 * procfs.c above the function. -ENOENT: an explicit mode's hierarchy is not
 * mounted; -EINVAL: unknown mode. Reads files.
 */
int cg_choose_hierarchy(enum cgroup_mode mode, const char *sysfs_root,
			enum cg_hierarchy *out);

/*
 * Find hierarchy h's line in the text of /proc/PID/cgroup (content, len
 * bytes, any bytes at all: NULs and missing newlines are handled) and copy
 * its path, a valid CGPATH, with a NUL into out. -ENOENT: no line for h;
 * -EINVAL: a malformed line anywhere, or a path that is not a CGPATH (such as
 * "/.." for a writer outside our cgroup namespace); -ENAMETOOLONG: the path
 * does not fit in outlen or CGPATH_MAX. out is untouched on error.
 */
int cg_parse_proc_cgroup(const char *content, size_t len, enum cg_hierarchy h,
			 char *out, size_t outlen);

/*
 * cg_parse_proc_cgroup() of /proc/PID/cgroup. pid may be a thread id (FUSE
 * gives the thread's). -ESRCH: no such process (also for pid <= 0). Reads
 * /proc: a few microseconds, see cg_pid_cache.
 */
int cg_read_pid_cgroup(pid_t pid, enum cg_hierarchy h, char *out,
		       size_t outlen);

/*
 * Is s[0..len) a CGPATH a user may name: '/' then components separated by
 * single '/', none empty, "." or "..", no NUL or newline (no cgroup has
 * one: the kernel refuses it), no trailing '/' ("/" itself is the root),
 * len < CGPATH_MAX.
 */
bool cg_path_valid(const char *s, size_t len);

/*
 * The parent of the valid CGPATH path into out ("/a/b" -> "/a", "/a" ->
 * "/"); out may be path itself, to walk up in place. -ENOENT for "/",
 * -EINVAL if path does not begin with '/', -ENAMETOOLONG if out is short.
 */
int cg_path_parent(const char *path, char *out, size_t outlen);

/* Cut the valid CGPATH path to its ancestor max_depth levels below "/"
 * (depth 0) if it lies deeper: "/a/b/c" at 2 -> "/a/b". Whether it cut. */
bool cg_path_clamp_depth(char *path, unsigned int max_depth);

/*
 * A pid -> CGPATH cache, so that a write in the steady state costs a hash
 * lookup instead of a /proc read.
 *
 * Why entries live for a fixed ttl instead of being invalidated: cgroup v1
 * tells nobody when a task moves (v2's cgroup.events reports only whether a
 * cgroup is populated), so the only way to see a move is to read /proc
 * again, and the ttl bounds how long a moved writer is charged to its old
 * cgroup.
 *
 * A pid is not a task: once its task exits the pid (or tid) can come back
 * as another's, in under a second where pid_max is 32768 and threads are
 * made fast. So each entry keeps a descriptor of the task it was read for
 * (a thread pidfd, readable once the task has exited, opened before the
 * read), and a hit whose task has exited is a miss: one poll(2) a hit. Where
 * none can be had (a kernel before 6.9 for a thread that is not a leader,
 * or keep_fd refuses it) the entry has only the ttl.
 *
 * Entries are kept in the order they were read; a full cache evicts the
 * oldest read. Locking: one mutex, taken inside each call; the /proc read of
 * a miss runs without it, so hits never wait for a miss.
 */
typedef int (*cg_pid_reader_fn)(pid_t pid, enum cg_hierarchy h, char *out,
				size_t outlen);

struct cg_pid_entry;

struct cg_pid_cache {
	pthread_mutex_t lock; /* guards table and nr_entries */
	struct cg_pid_entry *table; /* uthash head, oldest read first */
	size_t nr_entries;
	size_t max_entries; /* >= 1 */
	uint64_t ttl_ns; /* an entry older than this is read again */
	enum cg_hierarchy hier;
	/* cg_read_pid_cgroup() after init; tests put a fake here. */
	cg_pid_reader_fn read;
	/* A descriptor readable once thread pid has exited, or -1:
	 * cg_open_task() after init; tests put a fake here. */
	int (*open_task)(pid_t pid);
	/* Whether an entry may keep descriptor fd; NULL: any. */
	bool (*keep_fd)(int fd);
};

/* A pidfd of thread pid (PIDFD_THREAD; before Linux 6.9, of a process's
 * leader only), or -1. */
int cg_open_task(pid_t pid);

/* -EINVAL if max_entries is 0, or pthread_mutex_init's error. */
int cg_pid_cache_init(struct cg_pid_cache *c, enum cg_hierarchy h,
		      uint64_t ttl_ns, size_t max_entries);
/* Free every entry and close its descriptor; c must not be in use. */
void cg_pid_cache_destroy(struct cg_pid_cache *c);
/*
 * pid's CGPATH into out. Served from the cache when read less than ttl_ns
 * before now_ns (any clock, as long as the caller always uses the same) and
 * its task has not exited; otherwise read through c->read and cached. A
 * failed read drops the entry and returns the reader's error: -ESRCH for a
 * vanished pid, or one whose task exited during the read. -ENAMETOOLONG
 * if out is too small. Thread-safe; may read /proc.
 */
int cg_pid_cache_lookup(struct cg_pid_cache *c, pid_t pid, uint64_t now_ns,
			char *out, size_t outlen);
/* Drop the entries read ttl_ns or more before now_ns, which a lookup would
 * read again anyway, closing their descriptors: called now and then, so
 * that the descriptors of writers long gone are not kept. */
void cg_pid_cache_expire(struct cg_pid_cache *c, uint64_t now_ns);

/* --- memlimit.c: the memory a cgroup may use ----------------------------- */

/*
 * The memory limit in bytes that binds cgroup cgpath (a CGPATH) of
 * hierarchy h: the smallest of its own limit (v2 memory.max, v1
 * memory.limit_in_bytes), its ancestors' limits, and physical memory. "max"
 * and values >= 2^62 (v1's unlimited is 9223372036854771712) are no limit.
 * -ENOENT: no such cgroup, or h is not mounted; -EINVAL: cgpath is not a
 * CGPATH or a limit file holds garbage. Reads cgroupfs through libcgroup
 * (initialised on first use); may be called from any thread.
 */
int cg_memory_limit(enum cg_hierarchy h, const char *cgpath, uint64_t *bytes);
/*
 * The same, given parent_bytes, the limit that binds cgpath's parent (for
 * "/", physical memory): the smaller of that and cgpath's own, one read
 * where cg_memory_limit reads every ancestor's, for callers that walk a
 * tree from the top. Errors as cg_memory_limit's.
 */
int cg_memory_limit_under(enum cg_hierarchy h, const char *cgpath,
			  uint64_t parent_bytes, uint64_t *bytes);
/* The machine's physical memory in bytes. 0 or -EINVAL. */
int cg_physical_memory(uint64_t *bytes);

/* --- pacing.c: the throttle arithmetic (law and properties in pacing.c) --- */

/* Fixed point of pos_ratio: 1.0. */
#define PACING_RATIO_ONE 1024
/* Longest single pause: the kernel's MAX_PAUSE. */
#define PACING_MAX_PAUSE_USEC 200000ULL
/* pacing_pause_usec(): at or over the hard limit, hold until under it. */
#define PACING_HOLD UINT64_MAX
/* How often the bandwidth estimate moves. */
#define PACING_BW_INTERVAL_NS 200000000ULL
/* Its smoothing window: the kernel's ~3 s. */
#define PACING_BW_PERIOD_NS 3000000000ULL
/* Estimate before anything was measured: the kernel's INIT_BW, 100 MiB/s. */
#define PACING_BW_INIT_BPS (100ULL << 20)

/*
 * pos_ratio of a domain with dirty bytes dirty, background threshold
 * bg_thresh and hard threshold thresh: PACING_RATIO_ONE at the setpoint,
 * 2 * PACING_RATIO_ONE at or below freerun, 0 at or over thresh.
 */
uint64_t pacing_pos_ratio(uint64_t dirty, uint64_t bg_thresh, uint64_t thresh);

/*
 * How long in microseconds a writer of bytes must pause when the domain has
 * dirty bytes dirty (before this write) and the writer may dirty
 * ratelimit_bps bytes/s at the setpoint: 0 at or under freerun, at most
 * PACING_MAX_PAUSE_USEC, PACING_HOLD at or over thresh.
 */
uint64_t pacing_pause_usec(uint64_t bytes, uint64_t dirty, uint64_t bg_thresh,
			   uint64_t thresh, uint64_t ratelimit_bps);

/*
 * Write bandwidth estimate of a flusher. Not locked: the caller serialises
 * updates (one flusher thread, or its own lock) and may read bps racily.
 */
struct pacing_bw {
	uint64_t bps; /* smoothed bytes/s written back */
	uint64_t last_ns; /* when the estimate last moved */
	uint64_t last_bytes; /* total written at last_ns */
};

/* Start at PACING_BW_INIT_BPS with total_bytes written so far. */
void pacing_bw_init(struct pacing_bw *bw, uint64_t now_ns,
		    uint64_t total_bytes);
/*
 * Feed the running total of bytes written back. Moves the estimate once per
 * PACING_BW_INTERVAL_NS; returns whether it moved. An interval with nothing
 * written leaves bps alone (an idle flusher is not a slow one).
 */
bool pacing_bw_update(struct pacing_bw *bw, uint64_t now_ns,
		      uint64_t total_bytes);
/* Each of nr_dirtiers writers' share of the bandwidth, bytes/s. */
uint64_t pacing_dirty_ratelimit(const struct pacing_bw *bw,
				unsigned int nr_dirtiers);

#endif
