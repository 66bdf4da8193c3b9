// SPDX-License-Identifier: GPL-2.0
/*
 * Writeback passes over one mapping: which pages go into which writes, and
 * what their completion does to the pages, the sync rounds and the errors.
 *
 * A pass adds writes of contiguous dirty pages to a mapping's writes in
 * flight, up to WB_PASS_MAX_IOS of them (pass_ios), so one file's writeback
 * keeps the disk busy without a gap between passes. A truncate or fallocate
 * waits until none is in flight (in_pass). A sync round is tagged only
 * with none in flight (a failed write makes its pages dirty again, for the
 * round to take), so background writes stop topping up a mapping that has
 * a sync wanted: a stream of new dirty data cannot starve an fsync.
 *
 * SYNC ROUNDS (fsync, trusted.dirtyfs.sync, expiry): a caller bumps
 * sync_wanted. The next pass tags every page dirty at that moment PG_TOWRITE
 * (as the kernel's PAGECACHE_TAG_TOWRITE), passes write only tagged pages,
 * and the round is done when none is left: pages dirtied later cannot make
 * a sync wait forever.
 *
 * BACKING I/O MODE: full pages go through an O_DIRECT descriptor, so a byte
 * is not kept both here and in BACKING's page cache; the partial page at end
 * of file goes through the buffered descriptor (O_DIRECT needs whole
 * blocks). Where BACKING refuses O_DIRECT everything is buffered.
 *
 * ERRORS: a failed page stays dirty and is retried after a backoff that
 * doubles from 100 ms to 5 s; the error is recorded errseq-style in the
 * mapping, for fsync and close to report. Nothing is dropped, except at
 * unmount (final), where the data cannot be kept anywhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cgroup/memcg.h"
#include "../fusefs/log.h"
#include "fault.h"
#include "internal.h"

/*
 * Call fn once per run of pages of io whose writeback is charged to one
 * cgroup (io->cgroup, not page->cgroup, which a writer may have changed
 * since), with the run's page count and bytes: an io usually has one
 * writer, so accounting costs one memcg update per io, not one per page.
 */
static void for_each_cgroup_run(const struct wb_io *io,
				void (*fn)(cgroup_id_t id, uint64_t nr,
					   uint64_t bytes, int err),
				int err)
{
	unsigned int i = 0;

	while (i < io->nr_pages) {
		cgroup_id_t id = io->cgroup[i];
		uint64_t nr = 0, bytes = 0;

		for (; i < io->nr_pages && io->cgroup[i] == id; i++) {
			nr++;
			bytes += io->iov[i].iov_len;
		}
		fn(id, nr, bytes, err);
	}
}

static void account_start(cgroup_id_t id, uint64_t nr, uint64_t bytes, int err)
{
	(void)bytes;
	(void)err;
	memcg_start_writeback(id, (int64_t)nr);
}

static bool sync_round_open(const struct address_space *mapping)
{
	return mapping->sync_tagged > mapping->sync_done;
}

/* Tag every dirty page for the sync round now starting. */
static void wb_tag_towrite(struct address_space *mapping)
{
	uint64_t index = 0;
	struct page *page;

	while ((page = pagetree_next_tagged(&mapping->pages, &index,
					    PAGETREE_TAG_DIRTY))) {
		if (!(page->flags & PG_TOWRITE)) {
			page->flags |= PG_TOWRITE;
			pagetree_tag_set(&mapping->pages, index,
					 PAGETREE_TAG_TOWRITE);
			mapping->nr_towrite++;
		}
		index++;
	}
	mapping->sync_tagged = mapping->sync_wanted;
	mapping->sync_index = 0;
	mapping->sync_err = 0;
	mapping->sync_tagged_ns = now_ns();
}

/* The tag of the pages a pass of this reason writes. */
static enum pagetree_tag wb_tag(enum wb_reason reason)
{
	return reason == WB_REASON_SYNC ? PAGETREE_TAG_TOWRITE :
					  PAGETREE_TAG_DIRTY;
}

static bool page_wanted(const struct page *page, enum wb_reason reason)
{
	return reason == WB_REASON_SYNC ? page->flags & PG_TOWRITE :
					  page->flags & PG_DIRTY;
}

/* Bytes of the page at index that lie below end of file. */
static uint64_t page_bytes(const struct address_space *mapping, uint64_t index)
{
	uint64_t start = index << PAGE_SHIFT;

	if (start + PAGE_SIZE <= mapping->size_bytes)
		return PAGE_SIZE;
	return mapping->size_bytes > start ? mapping->size_bytes - start : 0;
}

/* Start an io at the page found at *index and extend it over the run. */
static void wb_fill_io(struct address_space *mapping, struct wb_io *io,
		       struct page *page, uint64_t *index,
		       enum wb_reason reason, unsigned int run_max)
{
	bool direct = mapping->fd_direct >= 0 &&
		      page_bytes(mapping, *index) == PAGE_SIZE;
	uint64_t len;

	io->mapping = mapping;
	io->fd = direct ? mapping->fd_direct : mapping->fd;
	io->offset = *index << PAGE_SHIFT;
	io->bytes = 0;
	io->nr_pages = 0;
	do {
		len = page_bytes(mapping, *index);

		/* The partial last page cannot join an O_DIRECT write. */
		if (direct && len != PAGE_SIZE)
			break;
		page_start_writeback(page);
		io->pages[io->nr_pages] = page;
		io->cgroup[io->nr_pages] = page->cgroup;
		io->iov[io->nr_pages].iov_base = page_address(page);
		io->iov[io->nr_pages].iov_len = len;
		io->nr_pages++;
		io->bytes += len;
		(*index)++;
		page = pagetree_lookup(&mapping->pages, *index);
	} while (page && io->nr_pages < run_max && page_wanted(page, reason) &&
		 !(page->flags & PG_WRITEBACK) && len == PAGE_SIZE);
}

static void wb_record_error(struct address_space *mapping, int err);

/*
 * The data fds of a mapping nobody has open were closed when it became idle;
 * open them for this pass, fd writable. A failure (EMFILE, a vanished
 * BACKING file, a BACKING remounted read-only) is a writeback error:
 * recorded and reported as a failed write is, the pages stay dirty and are
 * tried again after the backoff, and a sync round ends (untagged) with the
 * error instead of waiting for fds. At unmount (give_up: no write in
 * flight) an open that keeps failing, WB_GIVE_UP_FAILURES times in a row,
 * one try a flusher loop, is not a descriptor another mapping is about to
 * free: the dirty data is given up, as a final write's failure gives up its
 * pages, for it can be kept nowhere.
 *
 * Out of descriptors (EMFILE, ENFILE) while other mappings' writes are in
 * flight, the reserve (writeback.h) is in writeback's own use: their
 * descriptors close as they end, so this is no error but a wait (-EAGAIN,
 * nothing recorded), and a sync of more files than the reserve holds at
 * once is written in turns instead of failing.
 */
#define WB_GIVE_UP_FAILURES 50 /* about a second */

static int wb_open_fds(struct address_space *mapping,
		       const struct wb_pass_limits *lim)
{
	int err = mapping_open_writable(mapping,
					mapping->a_ops->path_fd(mapping));
	uint64_t index = 0;
	struct page *page;

	if (!err)
		return 0;
	if ((err == -EMFILE || err == -ENFILE) && lim->others_in_flight)
		return -EAGAIN;
	wb_record_error(mapping, -err);
	while ((page = pagetree_next_tagged(&mapping->pages, &index,
					    PAGETREE_TAG_TOWRITE))) {
		page->flags &= ~PG_TOWRITE;
		pagetree_tag_clear(&mapping->pages, index,
				   PAGETREE_TAG_TOWRITE);
		mapping->nr_towrite--;
		index++;
	}
	if (lim->give_up && mapping->wb_failures >= WB_GIVE_UP_FAILURES) {
		dfs_log(LOG_ERR,
			"giving up %llu dirty bytes: the backing file cannot be "
			"opened: %s",
			(unsigned long long)mapping->nr_dirty * PAGE_SIZE,
			strerror(-err));
		mapping_drop_dirty(mapping);
	}
	return err;
}

/* A pass starts: the ctime a stat shows while BACKING's is the one the
 * pass leaves, BACKING's now (or, if that is still what the last pass
 * left, the one shown for it). The writes' own ctime is added when the
 * mapping is clean (wb_restore_times); until then the cache shows it. A
 * stat while the pass is in flight may show its time. */
static void wb_ctime_before_pass(struct address_space *mapping)
{
	struct timespec now;

	if (!mapping_backing_ctime(mapping, &now)) {
		mapping->wb_ctime_set = false;
		return;
	}
	if (!mapping->wb_ctime_set || !ts_equal(&now, &mapping->wb_ctime))
		mapping->shown_ctime = now;
	mapping->wb_ctime_pending = true;
}

int wb_pass_build(struct address_space *mapping, enum wb_reason reason,
		  const struct wb_pass_limits *lim, struct list_head *free_ios,
		  struct list_head *batch)
{
	uint64_t *cursor = reason == WB_REASON_SYNC ? &mapping->sync_index :
						      &mapping->wb_index;
	uint64_t index = *cursor;
	int err;
	unsigned int nr = 0, room = lim->max_ios > mapping->pass_ios ?
					    lim->max_ios - mapping->pass_ios :
					    0;
	bool wrapped = false;

	if (room > lim->new_ios)
		room = lim->new_ios;
	if (!room)
		return 0;
	if (reason == WB_REASON_BACKGROUND &&
	    (mapping->sync_wanted > mapping->sync_done ||
	     (!lim->ignore_backoff && mapping->retry_after_ns > now_ns())))
		return 0;
	err = wb_open_fds(mapping, lim);
	if (err)
		return err;
	while (nr < room && !list_empty(free_ios)) {
		struct page *page = pagetree_next_tagged(
			&mapping->pages, &index, wb_tag(reason));
		struct wb_io *io;

		if (page && page_bytes(mapping, index) == 0)
			page = NULL; /* beyond end of file: nothing to write */
		if (!page) {
			/* Background passes wrap around once. */
			if (reason == WB_REASON_SYNC || wrapped)
				break;
			wrapped = true;
			index = 0;
			continue;
		}
		if (!page_wanted(page, reason) || page->flags & PG_WRITEBACK) {
			index++;
			continue;
		}
		io = list_first_entry(free_ios, struct wb_io, entry);
		list_move_tail(&io->entry, batch);
		wb_fill_io(mapping, io, page, &index, reason,
			   lim->run_max_pages);
		cache_account_writeback(io->nr_pages);
		for_each_cgroup_run(io, account_start, 0);
		nr++;
	}
	*cursor = index;
	if (nr && !mapping->in_pass)
		wb_ctime_before_pass(mapping);
	if (nr) {
		mapping->in_pass = true;
		mapping->pass_ios += nr;
	}
	return (int)nr;
}

/* The iovecs of io from byte done on, into iov. Returns their count. */
static int wb_iov_tail(const struct wb_io *io, uint64_t done, struct iovec *iov)
{
	unsigned int i = 0, n = 0;

	while (i < io->nr_pages && done >= io->iov[i].iov_len)
		done -= io->iov[i++].iov_len;
	for (; i < io->nr_pages; i++, n++) {
		iov[n].iov_base = (char *)io->iov[i].iov_base + done;
		iov[n].iov_len = io->iov[i].iov_len - done;
		done = 0;
	}
	return (int)n;
}

/* The write came back short (or O_DIRECT was refused): finish it with
 * buffered writes, which also tell why it stopped. */
static int wb_finish_short(struct wb_io *io, uint64_t done)
{
	struct iovec iov[WB_RUN_MAX_PAGES];

	while (done < io->bytes) {
		int n = wb_iov_tail(io, done, iov);
		ssize_t r = pwritev(io->mapping->fd, iov, n,
				    (off_t)(io->offset + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno;
		if (r == 0)
			return EIO;
		done += (uint64_t)r;
	}
	return 0;
}

/* Result of the io as a positive errno, 0 for success. */
static int wb_io_result(struct wb_io *io, int res)
{
	if (res >= 0 && (uint64_t)res == io->bytes)
		return 0;
	if (res >= 0)
		return wb_finish_short(io, (uint64_t)res);
	/* Some filesystems open O_DIRECT but refuse the write itself. */
	if (res == -EINVAL && io->fd == io->mapping->fd_direct)
		return wb_finish_short(io, 0);
	return -res;
}

static void wb_record_error(struct address_space *mapping, int err)
{
	uint64_t backoff =
		WB_BACKOFF_MIN_NS
		<< (mapping->wb_failures < 6 ? mapping->wb_failures : 6);

	mapping->err = err;
	mapping->err_seq++;
	if (sync_round_open(mapping) && !mapping->sync_err)
		mapping->sync_err = err;
	if (backoff > WB_BACKOFF_MAX_NS)
		backoff = WB_BACKOFF_MAX_NS;
	/* The flusher's walk reads it without the lock (walk_skips). */
	__atomic_store_n(&mapping->retry_after_ns, now_ns() + backoff,
			 __ATOMIC_RELAXED);
	mapping->wb_failures++;
}

int wb_io_complete(struct wb_io *io, int res, bool final)
{
	struct address_space *mapping = io->mapping;
	int err = wb_io_result(io, wb_fault_apply(res, io->bytes));

	pthread_mutex_lock(&mapping->lock);
	/* Re-charge the pages a failure makes dirty before their cgroups'
	 * writeback ends: between the two, a removed cgroup's entry would
	 * look idle and could be freed. */
	pages_end_writeback(io->pages, io->nr_pages, !err || final);
	for_each_cgroup_run(io, memcg_end_writeback, final ? 0 : err);
	if (err)
		wb_record_error(mapping, err);
	else
		mapping->wb_failures = 0;
	if (--mapping->pass_ios == 0) {
		mapping->in_pass = false;
		pthread_cond_broadcast(&mapping->wb_cond);
	}
	pthread_mutex_unlock(&mapping->lock);
	if (!err)
		cache_account_written(io->bytes);
	return err;
}

/* After a pass (and its restore of mtime): the ctime it left in BACKING,
 * behind which a stat shows the ctime from before. */
static void wb_ctime_after_pass(struct address_space *mapping)
{
	if (!mapping->wb_ctime_pending)
		return;
	mapping->wb_ctime_pending = false;
	mapping->wb_ctime_set =
		mapping_backing_ctime(mapping, &mapping->wb_ctime);
}

static struct dfs_ratelimit times_rs = DFS_RATELIMIT_DEFAULT;

/* Give BACKING the mtime the writes had, not the time of writeback. */
static void wb_restore_times(struct address_space *mapping)
{
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, mapping->mtime };

	if (!mapping->times_set)
		return;
	/* The writes' ctime is the one to show once BACKING's is ours. */
	if (ts_before(&mapping->shown_ctime, &mapping->ctime))
		mapping->shown_ctime = mapping->ctime;
	/* The data is in BACKING; only its mtime is the writeback's. */
	if (futimens(mapping->fd, ts))
		dfs_log_ratelimited(&times_rs, LOG_WARNING,
				    "cannot restore a file's mtime after "
				    "writeback: %s",
				    strerror(errno));
	mapping->times_set = false;
}

bool wb_mapping_settle(struct address_space *mapping)
{
	if (mapping->in_pass)
		return false;
	if (mapping->sync_wanted > mapping->sync_tagged &&
	    !sync_round_open(mapping))
		wb_tag_towrite(mapping);
	if (sync_round_open(mapping) && mapping->nr_towrite == 0) {
		mapping->sync_done = mapping->sync_tagged;
		mapping->sync_result = mapping->sync_err;
		/* What is still dirty was dirtied after the round began. */
		if (mapping->nr_dirty)
			mapping->dirtied_when_ns = mapping->sync_tagged_ns;
		pthread_cond_broadcast(&mapping->wb_cond);
	}
	if (mapping->nr_dirty || mapping->nr_writeback ||
	    mapping->sync_wanted > mapping->sync_done) {
		wb_ctime_after_pass(mapping);
		/* Still dirty (a failed write, or more than a pass) between
		 * passes: the next opens its fds again. */
		mapping_close_if_idle(mapping);
		return false;
	}
	wb_restore_times(mapping);
	wb_ctime_after_pass(mapping);
	memcg_mapping_clean(mapping);
	mapping_close_if_idle(mapping);
	return true;
}
