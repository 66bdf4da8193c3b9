/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cache/: dirtyfs's own page cache.
 *
 * DESIGN
 * File data written through the mount lives here, in 4 KiB pages, until the
 * flusher (writeback/) stores it in BACKING. 4 KiB is the kernel's page size:
 * the kernel sends FUSE writes and reads in page-aligned pieces, so aligned
 * writes never need a read-modify-write, a 4 KiB random write dirties exactly
 * one page, and O_DIRECT writeback needs page-aligned buffers anyway. Each
 * page costs a 40-byte struct page plus its slot in the page tree (about
 * 1.4% in all).
 *
 * Reads of data that is not in this cache go straight to BACKING and are not
 * inserted: the kernel's page cache of the FUSE mount already keeps what was
 * read, so caching it here too would hold every byte twice. This cache holds
 * what was written: dirty pages, pages under writeback, and clean pages that
 * were written back (kept, LRU, until cache_size needs the room).
 *
 * Pages come from a pool that grows up to cache_size and never shrinks while
 * mounted: fresh memory is slow to touch the first time on the machines we
 * run on, so a freed page goes back to the pool, not to the allocator.
 *
 * A writer first takes the free pages it will need (cache_reserve) into a
 * batch, without any mapping lock held: that evicts clean pages or waits for
 * writeback, so the cache never holds more than cache_size, and the pool
 * lock is taken once per request, not once per page.
 *
 * LOCK ORDER
 *   struct address_space.lock  (one per inode; protects the mapping's pages,
 *                               size, times, counters and writeback state)
 *     -> writeback list lock   (writeback/flusher.c)
 *       -> memcg_lock          (cgroup/memcg.h)
 *         -> page pool lock    (cache/page.c; pool, LRU, global counters)
 * The inode table lock (fusefs/fusefs.h) is innermost of all.
 * Eviction runs under the pool lock and so may only trylock a mapping.
 */
#ifndef DIRTYFS_CACHE_H
#define DIRTYFS_CACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "../cgroup/cgroup.h"
#include "list.h"
#include "pagetree.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)

/* Minimum cache_size: a 1 MiB request must fit in half of the cache. */
#define CACHE_SIZE_MIN (4UL << 20)

enum page_flags {
	PG_DIRTY = 1 << 0, /* newer than BACKING */
	PG_WRITEBACK = 1 << 1, /* in an I/O to BACKING now */
	PG_TOWRITE = 1 << 2, /* tagged by a sync: must be written for it */
};

struct address_space;

struct page {
	uint64_t index; /* page number in the file */
	struct address_space *mapping; /* NULL while in the free pool */
	struct list_head lru; /* pool LRU (clean, idle) or free list */
	uint32_t flags; /* enum page_flags, under mapping->lock */
	/* Dirty: charged to this cgroup. Writeback is charged to the cgroup
	 * this was when it started, which the writeback io records. */
	cgroup_id_t cgroup;
};

struct address_space_operations {
	/* Take / drop a reference on the inode that embeds the mapping. The
	 * cache holds one while the mapping has dirty or writeback pages.
	 * iput may free the mapping: never call it with mapping->lock held. */
	void (*ihold)(struct address_space *mapping);
	void (*iput)(struct address_space *mapping);
	/* The inode's O_PATH descriptor, to open the data fds from; valid
	 * while a reference is held. */
	int (*path_fd)(struct address_space *mapping);
};

/* One regular file's cached data; embedded in the fusefs inode. */
struct address_space {
	pthread_mutex_t lock;
	const struct address_space_operations *a_ops;
	struct pagetree pages; /* index -> struct page */

	/* BACKING data descriptors, opened by mapping_open_backing(). fd is
	 * buffered O_RDWR (or O_RDONLY); fd_direct is O_DIRECT, or -1 where
	 * BACKING refuses O_DIRECT. They are closed once the mapping is idle:
	 * no user, nothing in flight, times restored or still to be by a
	 * later pass (a descriptor limit of tens of thousands must not bound
	 * how many files the kernel may keep looked up, or how many may be
	 * dirty). Writeback opens them for each pass it builds. */
	int fd;
	int fd_direct;
	bool writable; /* fd was opened O_RDWR */
	unsigned int nr_users; /* open files and size changes using the fds */

	bool size_known; /* size_bytes loaded from BACKING */
	uint64_t size_bytes; /* i_size including dirty data */
	struct timespec mtime, ctime; /* set by writes; valid if times_set */
	bool times_set;
	/* Writing back changes BACKING's ctime, which no call can set back.
	 * While BACKING's ctime is still wb_ctime (what writeback left), a
	 * stat shows shown_ctime, what it was before writeback touched it
	 * (writeback/pass.c). Valid if wb_ctime_set. */
	struct timespec wb_ctime, shown_ctime;
	bool wb_ctime_set, wb_ctime_pending;

	uint64_t nr_pages; /* pages in the tree */
	uint64_t nr_dirty; /* pages with PG_DIRTY */
	uint64_t nr_writeback; /* pages with PG_WRITEBACK */

	/* Writeback state, under lock (see writeback/writeback.h). */
	uint64_t dirtied_when_ns; /* CLOCK_MONOTONIC, when it became dirty */
	struct list_head wb_list; /* on the flusher's dirty list */
	bool on_wb_list; /* the list holds an inode reference meanwhile */
	struct list_head sync_list; /* on the flusher's sync list */
	bool on_sync_list;
	bool in_pass; /* writeback writes are in flight */
	unsigned int pass_ios; /* how many: flusher thread only */
	uint64_t wb_index; /* where the next background pass starts */
	uint64_t nr_towrite; /* pages with PG_TOWRITE */
	/* Sync generations: callers bump sync_wanted and wait for sync_done
	 * to reach it; sync_tagged is the generation whose pages are tagged
	 * PG_TOWRITE; sync_err is the first error of the current round and
	 * sync_result that of the last finished round. */
	uint64_t sync_wanted, sync_tagged, sync_done;
	int sync_err, sync_result;
	pthread_cond_t wb_cond; /* pass completed / sync done */
	uint64_t retry_after_ns; /* after a failed write: not before */
	unsigned int wb_failures; /* failed passes in a row (backoff) */
	uint64_t sync_index; /* where the sync round's next pass starts */
	uint64_t sync_tagged_ns; /* when the current round was tagged */

	/* Writeback errors, as the kernel's errseq: each new error bumps
	 * err_seq; a file description reports it once if it has not seen it. */
	uint32_t err_seq;
	int err; /* last writeback errno, positive */

	/* Owner cgroup, CGROUP_SHARED or CGROUP_NONE (clean), and the place
	 * on that cgroup's inode list or the shared list: memcg_lock. */
	cgroup_id_t owner;
	struct list_head owner_list;
};

/* --- cache/page.c: the page pool ---------------------------------------- */

/* Set up the pool with a limit of cache_bytes (>= CACHE_SIZE_MIN). */
int cache_init(uint64_t cache_bytes);
void cache_exit(void);

/* Free pages taken from the pool for one request, not yet in a mapping. */
struct page_batch {
	struct list_head pages;
	unsigned int nr;
};

void page_batch_init(struct page_batch *batch);
/*
 * Add nr free pages to batch, evicting clean pages, else waking the flusher
 * and waiting for writeback. Must be called with no mapping lock held; may
 * sleep. Returns 0, -EFBIG if nr is more than half the cache, or -ENOSPC
 * (or the writeback error) when the cache is full of data that cannot be
 * written back: then batch is unchanged.
 */
int cache_reserve(struct page_batch *batch, unsigned int nr);
/* Give back the pages left in batch. No mapping lock needed. */
void cache_unreserve(struct page_batch *batch);
/* Take a page from batch (which must not be empty) for mapping at index. */
struct page *page_batch_take(struct page_batch *batch,
			     struct address_space *mapping, uint64_t index);
/* Return a page that is not under writeback to the pool, discarding its
 * data even if dirty (truncate, unlink); mapping->lock held. The caller has
 * taken it out of the mapping's tree. */
void page_free(struct page *page);

/*
 * Page state changes; mapping->lock held. They keep the mapping's counters;
 * the global ones are updated once per request or per write to BACKING.
 */
/* Returns true if the page was not dirty: account it with
 * cache_account_dirty(), and charge it (memcg_dirty_page). */
bool page_mark_dirty(struct page *page);
void cache_account_dirty(uint64_t pages);
/* DIRTY -> WRITEBACK; account with cache_account_writeback(). */
void page_start_writeback(struct page *page);
void cache_account_writeback(uint64_t pages);
/* Writeback of pages ended; ok=false makes those not dirtied meanwhile
 * dirty again. Does all the accounting but the cgroups' writeback counts
 * (memcg_end_writeback): global, and the dirty charge of the pages made
 * dirty again, to page->cgroup. Puts the clean pages on the LRU. */
void pages_end_writeback(struct page **pages, unsigned int nr, bool ok);

struct cache_stats {
	uint64_t cache_bytes, cache_size, dirty, writeback, written;
};
void cache_get_stats(struct cache_stats *st);
/* Dirty and writeback bytes together, never fewer than the cache holds at
 * any instant of the call (a page changing state may count twice). */
uint64_t cache_unwritten_bytes(void);
/* Account bytes stored in BACKING by the flusher. */
void cache_account_written(uint64_t bytes);
/* True while dirty bytes are over the background threshold. */
bool cache_over_background(void);
/* Set the background threshold (bytes of dirty data, whole filesystem). */
void cache_set_background_bytes(uint64_t bytes);
/* Called by the flusher when it gives up on all dirty data for now (err > 0)
 * or makes progress again (err = 0); reservers then fail instead of waiting. */
void cache_set_stuck(int err);
/* Wake reservers after pages became clean or free. */
void cache_wake_reservers(void);
/* True if someone waits in cache_reserve(). */
bool cache_under_pressure(void);

/* --- cache/mapping.c: per-inode file data ------------------------------- */

void mapping_init(struct address_space *mapping,
		  const struct address_space_operations *a_ops);
/* Writes ending beyond bytes fail with EFBIG (BACKING's largest file). */
void mapping_set_max_file_bytes(uint64_t bytes);
/*
 * Drop every page (they must be clean) and close the backing fds, once the
 * inode's last reference is gone: no writer, flusher list or cgroup inode
 * list (dirty mappings, which the dirty list holds) can reach the mapping.
 * Eviction still can, through its clean pages on the LRU, until they are
 * dropped: so this takes mapping->lock.
 */
void mapping_destroy(struct address_space *mapping);
/* Open the backing data fds from an O_PATH descriptor if they are not, and
 * count a user of them; write: the user writes, so fd must be O_RDWR; keep:
 * the user keeps them past this call (an open file), so fds this call opens
 * may not take writeback's reserved numbers (writeback.h), -EMFILE. 0 or
 * -errno (then no user is counted). */
int mapping_open_backing(struct address_space *mapping, int path_fd, bool write,
			 bool keep);
/* Open them, fd O_RDWR, without counting a user (mapping->lock held):
 * writeback's, for the pass it builds; closed again when the mapping is
 * idle, or at once if BACKING refuses O_RDWR. 0 or -errno. */
int mapping_open_writable(struct address_space *mapping, int path_fd);
/* Drop a user; the fds close if the mapping is idle. */
void mapping_release_backing(struct address_space *mapping);
/* Close the fds now, whoever uses them (mapping->lock held, or the last
 * reference): at destroy, and once the kernel is gone (inode_table_shed). */
void mapping_close_fds(struct address_space *mapping);
/* Close the fds if nobody needs them (mapping->lock held). */
void mapping_close_if_idle(struct address_space *mapping);

/* Copy len bytes at off from the writer into the cache. Returns bytes
 * written or -errno. May sleep (reservation); takes mapping->lock. */
ssize_t mapping_write(struct address_space *mapping, const char *buf,
		      size_t len, off_t off, cgroup_id_t cgroup);
/* Read up to len bytes at off: cached pages, else BACKING. */
ssize_t mapping_read(struct address_space *mapping, char *buf, size_t len,
		     off_t off);
/* Drop the dirty pages not under writeback (mapping->lock held): at
 * unmount, when BACKING's file cannot be opened to write them. */
void mapping_drop_dirty(struct address_space *mapping);
/* Drop every cached page, dirty ones too: the file is gone (unlinked and
 * closed), so its data can never be read. Takes mapping->lock. */
void mapping_discard(struct address_space *mapping);
/* Change the file size: cached pages beyond it go, BACKING is truncated. */
int mapping_truncate(struct address_space *mapping, uint64_t size);
/* fallocate(2) on BACKING, keeping the cache right: punched or zeroed
 * ranges drop the pages they cover and zero the dirty ones they cover in
 * part. 0 or -errno. */
int mapping_fallocate(struct address_space *mapping, int mode, off_t off,
		      off_t len);
/* Overlay the cache's size and times on a stat of the backing file, and
 * the ctime from before writeback on the one writeback left there. */
void mapping_fixup_stat(struct address_space *mapping, struct stat *st);
/* BACKING's ctime moved for a reason of its own (chmod, chown, link,
 * rename, xattrs): from now on a stat shows it, not the ctime from before
 * writeback, even if a pass in flight moves BACKING's again. Call after the
 * change. Takes mapping->lock. */
void mapping_ctime_changed(struct address_space *mapping);
/* BACKING's ctime into *ts, through the O_PATH descriptor (the data fds
 * may be closed). false if fstat fails. */
bool mapping_backing_ctime(struct address_space *mapping, struct timespec *ts);

static inline bool ts_equal(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static inline bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}
/* SEEK_DATA / SEEK_HOLE over BACKING's extents and the cached pages. */
off_t mapping_lseek(struct address_space *mapping, off_t off, int whence);
/* utimensat(2) of the file at path_fd (its BACKING O_PATH descriptor) with
 * ts, and the same mtime for the cache to report while dirty: under the
 * lock, so that writeback cannot put back an older one in between. 0 or
 * -errno. */
int mapping_utimens(struct address_space *mapping, int path_fd,
		    const struct timespec ts[2]);

/* The page's PAGE_SIZE bytes of data, page-aligned. */
char *page_address(const struct page *page);

#define NSEC_PER_SEC 1000000000ULL

/* Monotonic clock in nanoseconds. */
uint64_t now_ns(void);

/* ns as a timespec: a deadline for pthread_cond_timedwait on a condition
 * variable whose clock is CLOCK_MONOTONIC. */
static inline struct timespec ns_to_timespec(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / NSEC_PER_SEC),
				  .tv_nsec = (long)(ns % NSEC_PER_SEC) };
}

#endif
