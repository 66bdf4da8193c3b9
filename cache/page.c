// SPDX-License-Identifier: GPL-2.0
/*
 * The page pool: every page of the cache, the clean-page LRU, the
 * reservations that keep the cache within cache_size, and the global dirty
 * and writeback counters.
 *
 * A page is in exactly one of: the free list; a request's batch; a mapping's
 * tree and the LRU (clean and idle, evictable); a mapping's tree only (dirty
 * or under writeback). The pages' data and their struct pages are two
 * mappings of cache_size's worth made at mount: reserved, not touched until
 * a page is first carved, and never returned while mounted, so a page's
 * memory is faulted in only once (first touch is slow on virtual machines)
 * and costs nothing beyond its struct page (no allocator header, no data
 * pointer: page_address() is the page's place in the pool).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../cgroup/memcg.h"
#include "../writeback/writeback.h"
#include "cache.h"

#define CHUNK_PAGES 256U /* pages carved onto the free list at a time */
/* A waiting reserver looks again this often, in case a wake-up was lost. */
#define RESERVE_RECHECK_NS (50 * 1000 * 1000L)

/* The pool's state has this one owner and this one lock. */
struct page_pool {
	pthread_mutex_t lock;
	pthread_cond_t space; /* signalled when pages become free/clean */
	uint64_t limit_pages; /* cache_size / PAGE_SIZE */
	uint64_t nr_taken; /* pages in mappings' trees or in batches */
	uint64_t nr_carved; /* pages[0 .. nr_carved) are in use */
	unsigned int nr_waiters; /* threads in cache_reserve() waiting */
	int stuck_err; /* writeback cannot make progress: errno */
	struct list_head free; /* free pages */
	struct list_head lru; /* clean idle pages, oldest first */
	struct page *pages; /* limit_pages of them; immutable after init */
	char *data; /* limit_pages * PAGE_SIZE bytes; likewise */
	/* Read without the lock by statistics and thresholds. */
	_Atomic uint64_t nr_dirty, nr_writeback, written_bytes;
	_Atomic uint64_t background_pages;
};

static struct page_pool pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* An anonymous mapping of size bytes, reserved but untouched; NULL if the
 * address space has no room. */
static void *pool_map(size_t size)
{
	const int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	/* cppcheck-suppress invalidFunctionArg ; fd -1 with MAP_ANONYMOUS */
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	return p;
}

static void pool_unmap(void)
{
	if (pool.pages)
		munmap(pool.pages, pool.limit_pages * sizeof(struct page));
	if (pool.data)
		munmap(pool.data, pool.limit_pages * PAGE_SIZE);
	pool.pages = NULL;
	pool.data = NULL;
}

int cache_init(uint64_t cache_bytes)
{
	pthread_condattr_t attr;

	if (cache_bytes < CACHE_SIZE_MIN)
		return -EINVAL;
	pool.limit_pages = cache_bytes / PAGE_SIZE;
	pool.pages = pool_map(pool.limit_pages * sizeof(struct page));
	pool.data = pool_map(pool.limit_pages * PAGE_SIZE);
	if (!pool.pages || !pool.data) {
		pool_unmap();
		return -ENOMEM;
	}
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&pool.space, &attr);
	pthread_condattr_destroy(&attr);
	INIT_LIST_HEAD(&pool.free);
	INIT_LIST_HEAD(&pool.lru);
	pool.background_pages = pool.limit_pages / 2;
	return 0;
}

void cache_exit(void)
{
	pool_unmap();
	pthread_cond_destroy(&pool.space);
}

char *page_address(const struct page *page)
{
	return pool.data + (size_t)(page - pool.pages) * PAGE_SIZE;
}

/* Carve the next pages onto the free list. Pool lock held. */
static int pool_grow(void)
{
	uint64_t left = pool.limit_pages - pool.nr_carved;
	uint64_t n = left < CHUNK_PAGES ? left : CHUNK_PAGES;

	if (n == 0)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++)
		list_add_tail(&pool.pages[pool.nr_carved + i].lru, &pool.free);
	pool.nr_carved += n;
	return 0;
}

/*
 * Evict up to nr clean pages from the LRU, oldest first. Pool lock held; a
 * mapping's lock can only be tried (lock order): the pages of a mapping
 * found busy are passed over without trying again, and one lock serves
 * each run of a mapping's pages. Returns how many were evicted.
 */
static uint64_t pool_evict(uint64_t nr)
{
	struct address_space *locked = NULL, *busy = NULL;
	struct list_head *pos, *next;
	uint64_t done = 0;

	for (pos = pool.lru.next; pos != &pool.lru && done < nr; pos = next) {
		struct page *page = list_entry(pos, struct page, lru);
		struct address_space *mapping = page->mapping;

		next = pos->next;
		if (mapping == busy)
			continue;
		if (mapping != locked) {
			if (pthread_mutex_trylock(&mapping->lock)) {
				busy = mapping;
				continue;
			}
			if (locked)
				pthread_mutex_unlock(&locked->lock);
			locked = mapping;
		}
		pagetree_delete(&mapping->pages, page->index);
		mapping->nr_pages--;
		list_move_tail(&page->lru, &pool.free);
		page->mapping = NULL;
		pool.nr_taken--;
		done++;
	}
	if (locked)
		pthread_mutex_unlock(&locked->lock);
	return done;
}

/* Pages to evict before nr more fit; 0 if they fit. */
static uint64_t pool_excess(unsigned int nr)
{
	uint64_t want = pool.nr_taken + nr;

	return want > pool.limit_pages ? want - pool.limit_pages : 0;
}

static bool pool_fits(unsigned int nr)
{
	return !pool_excess(nr);
}

static void wait_for_space(void)
{
	struct timespec ts = ns_to_timespec(now_ns() + RESERVE_RECHECK_NS);

	pool.nr_waiters++;
	pthread_cond_timedwait(&pool.space, &pool.lock, &ts);
	pool.nr_waiters--;
}

/* Make room for nr more pages; pool lock held, may drop it. 0 or -errno. */
static int pool_make_room(unsigned int nr)
{
	while (!pool_fits(nr)) {
		if (pool_evict(pool_excess(nr)))
			continue;
		if (pool.stuck_err)
			return -pool.stuck_err;
		/* The flusher's wake-up takes its own lock: not under ours. */
		pool.nr_waiters++;
		pthread_mutex_unlock(&pool.lock);
		writeback_kick();
		pthread_mutex_lock(&pool.lock);
		pool.nr_waiters--;
		if (!pool_fits(nr) && !pool_evict(pool_excess(nr)))
			wait_for_space();
	}
	return 0;
}

void page_batch_init(struct page_batch *batch)
{
	INIT_LIST_HEAD(&batch->pages);
	batch->nr = 0;
}

int cache_reserve(struct page_batch *batch, unsigned int nr)
{
	int ret;

	if (nr > pool.limit_pages / 2)
		return -EFBIG;
	pthread_mutex_lock(&pool.lock);
	ret = pool_make_room(nr);
	while (!ret && nr) {
		struct page *page;

		if (list_empty(&pool.free) && pool_grow()) {
			ret = -ENOMEM;
			break;
		}
		page = list_first_entry(&pool.free, struct page, lru);
		list_move_tail(&page->lru, &batch->pages);
		batch->nr++;
		pool.nr_taken++;
		nr--;
	}
	pthread_mutex_unlock(&pool.lock);
	return ret;
}

void cache_unreserve(struct page_batch *batch)
{
	if (!batch->nr)
		return;
	pthread_mutex_lock(&pool.lock);
	while (!list_empty(&batch->pages))
		list_move_tail(batch->pages.next, &pool.free);
	pool.nr_taken -= batch->nr;
	batch->nr = 0;
	if (pool.nr_waiters)
		pthread_cond_broadcast(&pool.space);
	pthread_mutex_unlock(&pool.lock);
}

struct page *page_batch_take(struct page_batch *batch,
			     struct address_space *mapping, uint64_t index)
{
	struct page *page = list_first_entry(&batch->pages, struct page, lru);

	list_del_init(&page->lru);
	batch->nr--;
	page->mapping = mapping;
	page->index = index;
	page->flags = 0;
	page->cgroup = CGROUP_ROOT;
	return page;
}

static bool page_idle(const struct page *page)
{
	return !(page->flags & (PG_DIRTY | PG_WRITEBACK));
}

void page_free(struct page *page)
{
	if (page->flags & PG_DIRTY) {
		page->mapping->nr_dirty--;
		pool.nr_dirty--;
		memcg_uncharge_dirty(page->cgroup, 1);
	}
	if (page->flags & PG_TOWRITE)
		page->mapping->nr_towrite--;
	pthread_mutex_lock(&pool.lock);
	/* An idle page is on the LRU; a dirty one is on no list. */
	if (page_idle(page))
		list_del_init(&page->lru);
	list_add_tail(&page->lru, &pool.free);
	page->mapping = NULL;
	page->flags = 0;
	pool.nr_taken--;
	if (pool.nr_waiters)
		pthread_cond_broadcast(&pool.space);
	pthread_mutex_unlock(&pool.lock);
}

bool page_mark_dirty(struct page *page)
{
	if (page->flags & PG_DIRTY)
		return false;
	/* A page just taken is on no list; a clean one is on the LRU. */
	if (page_idle(page) && !list_empty(&page->lru)) {
		pthread_mutex_lock(&pool.lock);
		list_del_init(&page->lru);
		pthread_mutex_unlock(&pool.lock);
	}
	page->flags |= PG_DIRTY;
	pagetree_tag_set(&page->mapping->pages, page->index,
			 PAGETREE_TAG_DIRTY);
	page->mapping->nr_dirty++;
	return true;
}

void cache_account_dirty(uint64_t pages)
{
	pool.nr_dirty += pages;
}

void page_start_writeback(struct page *page)
{
	struct address_space *mapping = page->mapping;

	if (page->flags & PG_TOWRITE) {
		mapping->nr_towrite--;
		pagetree_tag_clear(&mapping->pages, page->index,
				   PAGETREE_TAG_TOWRITE);
	}
	pagetree_tag_clear(&mapping->pages, page->index, PAGETREE_TAG_DIRTY);
	page->flags &= ~(PG_DIRTY | PG_TOWRITE);
	page->flags |= PG_WRITEBACK;
	mapping->nr_dirty--;
	mapping->nr_writeback++;
}

/* Writeback is raised before dirty is lowered: cache_unwritten_bytes. */
void cache_account_writeback(uint64_t pages)
{
	pool.nr_writeback += pages;
	pool.nr_dirty -= pages;
}

/*
 * A failed page that nobody dirtied while it was in flight is dirty again,
 * charged to page->cgroup as before its writeback: that is still the
 * cgroup its writeback was charged to (only a write changes it, and a
 * write would have made it dirty), and the mapping still has that owner or
 * is shared (a mapping under writeback is not clean, so keeps its owner).
 * One written during the flight is dirty and charged already.
 */
void pages_end_writeback(struct page **pages, unsigned int nr, bool ok)
{
	struct address_space *mapping = nr ? pages[0]->mapping : NULL;
	struct list_head clean;
	uint64_t redirtied = 0;
	cgroup_id_t run_id = CGROUP_NONE; /* charged once per run of a cgroup */
	int64_t run_nr = 0;

	INIT_LIST_HEAD(&clean);
	for (unsigned int i = 0; i < nr; i++) {
		struct page *page = pages[i];

		page->flags &= ~PG_WRITEBACK;
		if (!ok && !(page->flags & PG_DIRTY)) {
			page->flags |= PG_DIRTY;
			pagetree_tag_set(&mapping->pages, page->index,
					 PAGETREE_TAG_DIRTY);
			redirtied++;
			if (page->cgroup != run_id) {
				memcg_charge_dirty(run_id, run_nr);
				run_id = page->cgroup;
				run_nr = 0;
			}
			run_nr++;
		}
		if (page->flags & PG_DIRTY)
			continue;
		list_add_tail(&page->lru, &clean);
	}
	memcg_charge_dirty(run_id, run_nr);
	if (!nr)
		return;
	mapping->nr_writeback -= nr;
	mapping->nr_dirty += redirtied;
	/* Dirty is raised before writeback is lowered: cache_unwritten_bytes. */
	pool.nr_dirty += redirtied;
	pool.nr_writeback -= nr;
	if (list_empty(&clean))
		return;
	pthread_mutex_lock(&pool.lock);
	while (!list_empty(&clean))
		list_move_tail(clean.next, &pool.lru);
	pthread_mutex_unlock(&pool.lock);
}

void cache_get_stats(struct cache_stats *st)
{
	pthread_mutex_lock(&pool.lock);
	st->cache_bytes = pool.nr_taken * PAGE_SIZE;
	st->cache_size = pool.limit_pages * PAGE_SIZE;
	pthread_mutex_unlock(&pool.lock);
	st->dirty = pool.nr_dirty * PAGE_SIZE;
	st->writeback = pool.nr_writeback * PAGE_SIZE;
	st->written = pool.written_bytes;
}

/*
 * A page moving from dirty to writeback is counted in writeback first, one
 * going back (a failed writeback) in dirty first, and dirty is read on both
 * sides of writeback: whichever move runs meanwhile, one of the two reads
 * of dirty, or the read of writeback, still has the page.
 */
uint64_t cache_unwritten_bytes(void)
{
	uint64_t before = pool.nr_dirty, writeback = pool.nr_writeback,
		 after = pool.nr_dirty;

	return ((before > after ? before : after) + writeback) * PAGE_SIZE;
}

void cache_account_written(uint64_t bytes)
{
	pool.written_bytes += bytes;
}

bool cache_over_background(void)
{
	return pool.nr_dirty > pool.background_pages;
}

void cache_set_background_bytes(uint64_t bytes)
{
	pool.background_pages = bytes / PAGE_SIZE;
}

void cache_set_stuck(int err)
{
	pthread_mutex_lock(&pool.lock);
	pool.stuck_err = err;
	if (err && pool.nr_waiters)
		pthread_cond_broadcast(&pool.space);
	pthread_mutex_unlock(&pool.lock);
}

void cache_wake_reservers(void)
{
	pthread_mutex_lock(&pool.lock);
	if (pool.nr_waiters)
		pthread_cond_broadcast(&pool.space);
	pthread_mutex_unlock(&pool.lock);
}

bool cache_under_pressure(void)
{
	bool waiting;

	pthread_mutex_lock(&pool.lock);
	waiting = pool.nr_waiters > 0;
	pthread_mutex_unlock(&pool.lock);
	return waiting;
}
