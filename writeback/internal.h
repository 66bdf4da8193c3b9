/* SPDX-License-Identifier: GPL-2.0 */
/* writeback/ private: the unit of I/O and the pass builder (pass.c). */
#ifndef DIRTYFS_WRITEBACK_INTERNAL_H
#define DIRTYFS_WRITEBACK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../cache/cache.h"

#define WB_RUN_MAX_PAGES 256U /* 1 MiB in one write */
#define WB_QUEUE_DEPTH 64U /* writes in flight, all mappings together */
/* A mapping whose write failed waits this long before the next try,
 * doubling with each failure in a row up to the most. */
#define WB_BACKOFF_MIN_NS (100 * 1000 * 1000ULL)
#define WB_BACKOFF_MAX_NS (5 * 1000 * 1000 * 1000ULL)

/* One write of a run of contiguous pages of one mapping. */
struct wb_io {
	struct list_head entry; /* on the flusher's free list, or in a batch */
	struct address_space *mapping;
	int fd;
	uint64_t offset, bytes;
	unsigned int nr_pages;
	struct page *pages[WB_RUN_MAX_PAGES];
	struct iovec iov[WB_RUN_MAX_PAGES];
	/* The cgroup each page's writeback is charged to: its page->cgroup
	 * when the io was built. A writer may re-dirty the page meanwhile and
	 * move page->cgroup (its dirty charge) to another cgroup; writeback
	 * ends against the one it started on. */
	cgroup_id_t cgroup[WB_RUN_MAX_PAGES];
};

enum wb_reason {
	WB_REASON_BACKGROUND, /* threshold, pressure, or unmount */
	WB_REASON_SYNC, /* only a pending sync round's tagged pages */
};

struct wb_pass_limits {
	unsigned int max_ios; /* the mapping's writes in flight at once */
	unsigned int new_ios; /* writes this pass may start (writeback_bw) */
	unsigned int run_max_pages; /* smaller under writeback_bw */
	bool ignore_backoff; /* unmount: retry at once */
	bool give_up; /* unmount, nothing in flight: see wb_open_fds */
	bool others_in_flight; /* other mappings' writes: see wb_open_fds */
};

/*
 * Build one pass for mapping (mapping->lock held): take runs of dirty pages,
 * mark them under writeback, fill ios from the free list and move them to
 * batch. Returns the number of ios, or -errno if BACKING's file could not be
 * opened for writing (then none; with lim->give_up, the dirty data may have
 * been dropped: see wb_open_fds), -EAGAIN if only for want of descriptors
 * that writes in flight hold (nothing recorded: try again once they end).
 * Sets in_pass when it returns > 0.
 */
int wb_pass_build(struct address_space *mapping, enum wb_reason reason,
		  const struct wb_pass_limits *lim, struct list_head *free_ios,
		  struct list_head *batch);

/*
 * Finish one io whose write returned res (bytes or -errno). Takes
 * mapping->lock. With final set (unmount), failed pages are given up after
 * recording the error. Returns 0 or the positive errno of the failure.
 */
int wb_io_complete(struct wb_io *io, int res, bool final);

/*
 * Sync-round bookkeeping and cleanliness, after a pass or when the flusher
 * looks at a mapping (mapping->lock held). Tags pages for a new round,
 * finishes a round with nothing left to write, restores BACKING's mtime once
 * clean. Returns true if the mapping is clean and idle, so the caller should
 * take it off the flusher's lists.
 */
bool wb_mapping_settle(struct address_space *mapping);

#endif
