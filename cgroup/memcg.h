/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cgroup/memcg.c: the cgroups dirtyfs tracks, after the RFC's mem_cgroup
 * dirty accounting: per-cgroup dirty and writeback page counts,
 * hierarchical (a cgroup's figures include its descendants), hard and
 * background limits, the over-background set that wakes the flusher, and
 * each cgroup's list of the dirty inodes it owns.
 *
 * A dirty page carries the id of the cgroup it is charged to (struct
 * page.cgroup): the last cgroup that dirtied it. A write to BACKING records
 * the cgroups its pages had when it began (struct wb_io) and ends their
 * writeback there: the kernel's folio keeps one memcg for its life, so its
 * writeback ends where it began; ours must remember where, as another
 * cgroup may dirty the page again while it is in flight.
 *
 * A mapping carries its owner: one cgroup, CGROUP_SHARED once a second
 * cgroup dirties it, CGROUP_NONE while it is clean. A shared mapping goes
 * back to single ownership when it is clean again.
 *
 * LOCKING: one mutex, memcg_lock, protects every struct memcg, the id table,
 * the inode lists and the over-background set. Lock order:
 *   address_space.lock -> writeback list lock -> memcg_lock -> page pool lock
 * Nothing here reads cgroupfs with memcg_lock held (the limit refresh and
 * the tracking of a new cgroup drop it to read); with trace= on, the trace
 * writes its lines under it (trace.c), a diagnostic's cost.
 *
 * An entry lives while it has charged pages, owned inodes, held writes, a
 * limit of its own or statistics, and its cgroup exists; a cgroup removed
 * from cgroupfs keeps its entry until its data is written, then goes.
 */
#ifndef DIRTYFS_MEMCG_H
#define DIRTYFS_MEMCG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../cache/cache.h"
#include "../fusefs/options.h"
#include "cgroup.h"
#include "cgroup_lib.h"

/* Mount-wide settings of the cgroup layer. */
struct memcg_config {
	enum cg_hierarchy hier;
	struct limit dirty_limit; /* default hard limit */
	struct limit dirty_background_limit; /* default background limit */
	/* The whole mount's, from cache_size: the root's limits never exceed
	 * them, as the kernel's global dirty limit binds every memcg. */
	uint64_t cache_dirty_bytes, cache_background_bytes;
};

int memcg_init(const struct memcg_config *cfg);
void memcg_exit(void);

/*
 * The id of cgpath (a valid CGPATH), tracking it and its ancestors from now
 * on. -ENOMEM, or -EINVAL for a malformed path.
 */
int memcg_id(const char *cgpath, cgroup_id_t *id);
/* The CGPATH of a tracked id into buf. -ENOENT or -ERANGE. */
int memcg_path(cgroup_id_t id, char *buf, size_t size);
/*
 * memcg_id, keeping the entry while a request uses it: a write may wait for
 * room in the cache longer than the entry of a removed cgroup lives, and
 * must then not charge a freed id, or one a new cgroup took. The reference
 * is taken under the lock that finds the entry; drop it with memcg_put once
 * the pages are charged (they keep the entry) or the reply is held
 * (memcg_hold takes its own).
 */
int memcg_id_get(const char *cgpath, cgroup_id_t *id);
/* The same for an id already known (an inode's owner): false if its entry
 * is gone. */
bool memcg_tryget(cgroup_id_t id);
/* The same for mapping's owner, read under the lock that keeps its id from
 * being freed and handed to another cgroup meanwhile: the owner's id, or
 * CGROUP_NONE (no reference) for a shared or unowned mapping. */
cgroup_id_t memcg_tryget_owner(const struct address_space *mapping);
void memcg_put(cgroup_id_t id);

/* --- writer.c: who wrote ------------------------------------------------ */

int writer_init(enum cg_hierarchy hier);
void writer_exit(void);
/*
 * The CGPATH of thread pid's cgroup into buf (CGPATH_MAX), or of its
 * ancestor MEMCG_MAX_DEPTH levels down where it lies deeper: a tenant with
 * a delegated subtree can nest some 2000 levels, and every level tracked
 * costs each refresh a cgroupfs read as deep. -ESRCH for pid 0 or a
 * vanished pid: the caller falls back to the opener's cgroup, else the
 * inode's owner. May read /proc.
 */
#define MEMCG_MAX_DEPTH 32
int writer_cgroup(pid_t pid, char *buf, size_t size);
/* Forget writers not looked up for a while, and close their pidfds: the
 * throttle thread's once a second. */
void writer_expire(void);

/* --- accounting (mapping->lock held) ------------------------------------ */

/*
 * Charge a page the request just dirtied to cgroup id, and take ownership of
 * its mapping (or make it shared). Use memcg_charge_dirty for the counters,
 * once per request: nr pages more dirty for id and its ancestors; it wakes
 * the flusher when that takes one of them over its background limit.
 * page->cgroup is the dirty charge only: a page under writeback that id
 * dirties again is id's from now on, while its writeback stays charged to
 * the cgroup it started on, which writeback records (struct wb_io).
 */
void memcg_dirty_page(struct page *page, cgroup_id_t id, bool was_dirty);
void memcg_charge_dirty(cgroup_id_t id, int64_t nr);
/* nr pages of cgroup id moved from dirty to writeback, or back (nr < 0). */
void memcg_start_writeback(cgroup_id_t id, int64_t nr);
/* nr pages of id left writeback (id as memcg_start_writeback had it,
 * whoever dirtied them since): written (err 0), or the write failed with
 * the positive errno err, which the cgroup keeps until one of its writes
 * succeeds. The pages a failure makes dirty again are charged as dirty
 * by pages_end_writeback, not here: some may be dirty already. */
void memcg_end_writeback(cgroup_id_t id, uint64_t nr, uint64_t bytes, int err);
/* The writeback error of id or an ancestor, positive, or 0. */
int memcg_write_error(cgroup_id_t id);
/* A dirty page of id was dropped (truncate, punch). */
void memcg_uncharge_dirty(cgroup_id_t id, uint64_t nr);
/* The mapping became clean: it leaves its owner's list. */
void memcg_mapping_clean(struct address_space *mapping);

/* --- limits -------------------------------------------------------------- */

enum memcg_limit_kind { MEMCG_HARD, MEMCG_BACKGROUND };

/* Set (limit != NULL) or clear cgpath's own limit. -ENODATA: clearing a
 * limit never set. */
int memcg_set_limit(const char *cgpath, enum memcg_limit_kind kind,
		    const struct limit *limit);
/* The limit cgpath has of its own, as set. -ENODATA if none. */
int memcg_get_limit(const char *cgpath, enum memcg_limit_kind kind,
		    struct limit *limit);
/* Re-resolve percentages against the memory limits now in force. May read
 * cgroupfs; call from a thread that can wait (the throttle thread). */
void memcg_refresh_limits(void);

/* --- throttling ---------------------------------------------------------- */

struct memcg_verdict {
	uint64_t pause_usec; /* 0, a pause, or PACING_HOLD */
	cgroup_id_t over; /* the cgroup (or ancestor) that decided it */
};
/* balance_dirty_pages for a writer in id that just dirtied bytes. */
void memcg_balance(cgroup_id_t id, uint64_t bytes, uint64_t ratelimit_bps,
		   struct memcg_verdict *v);
/* True while id or an ancestor is at or over its hard limit. */
bool memcg_over_hard(cgroup_id_t id);
/* A write reply of id is held from now on (counted in throttle_events). */
void memcg_hold(cgroup_id_t id);
/* The held reply was sent after usec (added to throttled_usec). */
void memcg_account_throttle(cgroup_id_t id, uint64_t usec);

/* --- writeback ----------------------------------------------------------- */

/*
 * The next mapping the flusher should write for the over-background set,
 * round-robin among over-limit cgroups, each one's own inodes (or its
 * descendants') first, then shared inodes (downshift). An inode reference
 * is taken: the caller drops it with a_ops->iput. NULL when no cgroup is
 * over its background limit or nothing is eligible (all in a pass).
 */
struct address_space *memcg_next_writeback(void);
/* Mappings owned in cgpath's subtree and the shared ones, each with a
 * reference held, into *v (malloc'd, NULL if none), for
 * trusted.dirtyfs.sync. Their number, or -ENOENT for an untracked cgroup,
 * -ENOMEM. */
ssize_t memcg_mappings_of(const char *cgpath, struct address_space ***v);
/* Does cgpath exist in the hierarchy (cgroupfs)? Reads it. */
bool memcg_exists(const char *cgpath);

/* --- statistics ---------------------------------------------------------- */

/* cgpath's statistics text ("KEY VALUE\n" lines) into buf; its length, or
 * -ENODATA for an untracked cgroup, -ERANGE if buf is short. */
int memcg_format_stat(const char *cgpath, char *buf, size_t size);
/* The tracked CGPATHs, one a line. Length or -ERANGE. */
int memcg_format_list(char *buf, size_t size);
/* Every limit set, as "NAME:CGPATH VALUE\n" lines for persistence and
 * listxattr. Length or -ERANGE. */
int memcg_format_limits(char *buf, size_t size);
/* Inodes dirtied by more than one cgroup now. */
uint64_t memcg_shared_inodes(void);
/* Drop entries of cgroups removed from cgroupfs once clean (flusher tick). */
void memcg_reap(void);

#endif
