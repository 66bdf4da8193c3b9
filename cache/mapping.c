// SPDX-License-Identifier: GPL-2.0
/*
 * One file's cached data: writes into pages, reads from pages or BACKING,
 * size changes, and the size and times a stat must show.
 *
 * Invariants, under mapping->lock:
 * - a page not in the tree holds nothing newer than BACKING (only clean pages
 *   are evicted), so BACKING, read up to its end and zero-filled beyond it,
 *   is the truth for every uncached byte below size_bytes;
 * - the bytes of a cached page beyond size_bytes are zero;
 * - while in_pass, no one but the flusher changes BACKING's size.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cgroup/memcg.h"
#include "../writeback/writeback.h"
#include "cache.h"

/* BACKING's largest file size (its s_maxbytes); set once at mount. */
static uint64_t max_file_bytes = UINT64_MAX;

void mapping_set_max_file_bytes(uint64_t bytes)
{
	max_file_bytes = bytes;
}

void mapping_init(struct address_space *mapping,
		  const struct address_space_operations *a_ops)
{
	pthread_condattr_t attr;

	memset(mapping, 0, sizeof(*mapping));
	pthread_mutex_init(&mapping->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&mapping->wb_cond, &attr);
	pthread_condattr_destroy(&attr);
	mapping->a_ops = a_ops;
	mapping->fd = -1;
	mapping->fd_direct = -1;
	INIT_LIST_HEAD(&mapping->wb_list);
	INIT_LIST_HEAD(&mapping->sync_list);
	INIT_LIST_HEAD(&mapping->owner_list);
	mapping->owner = CGROUP_NONE;
}

/* Drop every page at or above index. Pages must not be under writeback. */
static void mapping_drop_from(struct address_space *mapping, uint64_t index)
{
	struct page *page;

	while ((page = pagetree_next(&mapping->pages, &index))) {
		pagetree_delete(&mapping->pages, index);
		mapping->nr_pages--;
		page_free(page);
	}
}

void mapping_close_fds(struct address_space *mapping)
{
	if (mapping->fd >= 0)
		close(mapping->fd);
	if (mapping->fd_direct >= 0)
		close(mapping->fd_direct);
	mapping->fd = -1;
	mapping->fd_direct = -1;
}

void mapping_destroy(struct address_space *mapping)
{
	/* No reference is left, but eviction still reaches the clean pages
	 * through the LRU, and edits the tree under this lock (trylock). */
	pthread_mutex_lock(&mapping->lock);
	mapping_drop_from(mapping, 0);
	pthread_mutex_unlock(&mapping->lock);
	pagetree_destroy(&mapping->pages);
	mapping_close_fds(mapping);
	pthread_cond_destroy(&mapping->wb_cond);
	pthread_mutex_destroy(&mapping->lock);
}

static int reopen(int path_fd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", path_fd);
	return open(path, flags | O_CLOEXEC);
}

static int mapping_open_fds(struct address_space *mapping, int path_fd)
{
	struct stat st;

	if (mapping->fd >= 0)
		return 0;
	mapping->fd = reopen(path_fd, O_RDWR);
	mapping->writable = mapping->fd >= 0;
	/* A running executable (ETXTBSY) can still be read. */
	if (mapping->fd < 0)
		mapping->fd = reopen(path_fd, O_RDONLY);
	if (mapping->fd < 0 || fstat(mapping->fd, &st)) {
		int err = -errno;

		if (mapping->fd >= 0)
			close(mapping->fd);
		mapping->fd = -1;
		return err;
	}
	/* Where BACKING refuses O_DIRECT, writeback stays buffered. */
	if (mapping->writable)
		mapping->fd_direct = reopen(path_fd, O_RDWR | O_DIRECT);
	/* While dirty, the size is ours (it includes unwritten data). */
	if (!mapping->size_known) {
		mapping->size_bytes = (uint64_t)st.st_size;
		mapping->size_known = true;
	}
	return 0;
}

/*
 * fd was opened O_RDONLY (BACKING refused O_RDWR: a running executable, an
 * immutable or append-only file, a file system remounted read-only) and a
 * writer or writeback comes: open it O_RDWR now, or fail with BACKING's
 * refusal, as BACKING's own open would, rather than fail every write with
 * EBADF. dup3 swaps the file behind the same number, for an fsync(fd) made
 * outside the lock, and keeps it close-on-exec (dup2 would clear that).
 * Nothing is in flight on a read-only fd: writeback writes only after this.
 */
static int mapping_reopen_writable(struct address_space *mapping, int path_fd)
{
	int fd = reopen(path_fd, O_RDWR);

	if (fd < 0)
		return -errno;
	if (dup3(fd, mapping->fd, O_CLOEXEC) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	mapping->writable = true;
	mapping->fd_direct = reopen(path_fd, O_RDWR | O_DIRECT);
	return 0;
}

int mapping_open_writable(struct address_space *mapping, int path_fd)
{
	int ret = mapping_open_fds(mapping, path_fd);

	if (!ret && !mapping->writable) {
		ret = mapping_reopen_writable(mapping, path_fd);
		/* The fds may have been opened above for this alone: refused,
		 * they must not stay open without a user until the inode is
		 * forgotten, one for every file tried. */
		if (ret)
			mapping_close_if_idle(mapping);
	}
	return ret;
}

/* Whether the fds, opened by this call, took numbers of writeback's
 * descriptor reserve (writeback.h). */
static bool mapping_fds_reserved(const struct address_space *mapping)
{
	return writeback_fd_reserved(mapping->fd) ||
	       (mapping->fd_direct >= 0 &&
		writeback_fd_reserved(mapping->fd_direct));
}

int mapping_open_backing(struct address_space *mapping, int path_fd, bool write,
			 bool keep)
{
	bool opened;
	int ret;

	pthread_mutex_lock(&mapping->lock);
	opened = mapping->fd < 0 || (write && !mapping->writable);
	ret = write ? mapping_open_writable(mapping, path_fd) :
		      mapping_open_fds(mapping, path_fd);
	if (!ret && keep && opened && mapping_fds_reserved(mapping)) {
		mapping_close_if_idle(mapping);
		ret = -EMFILE;
	}
	if (!ret)
		mapping->nr_users++;
	pthread_mutex_unlock(&mapping->lock);
	return ret;
}

/* Dirty data does not keep the fds open: writeback opens them again for
 * each pass, so a descriptor limit bounds open files, not dirty ones. */
void mapping_close_if_idle(struct address_space *mapping)
{
	if (mapping->fd < 0 || mapping->nr_users || mapping->nr_writeback ||
	    mapping->in_pass || (mapping->times_set && !mapping->nr_dirty))
		return;
	mapping_close_fds(mapping);
	/* Clean: BACKING has the size; it is read again at the next open. */
	if (!mapping->nr_dirty)
		mapping->size_known = false;
}

void mapping_release_backing(struct address_space *mapping)
{
	pthread_mutex_lock(&mapping->lock);
	mapping->nr_users--;
	mapping_close_if_idle(mapping);
	pthread_mutex_unlock(&mapping->lock);
}

/*
 * Read [off, off + len) of BACKING into buf, zero-filling past its end.
 * O_DIRECT where the request is aligned, so the bytes do not also land in
 * BACKING's page cache.
 */
static int backing_read(struct address_space *mapping, char *buf, size_t len,
			uint64_t off)
{
	bool aligned = !((uintptr_t)buf % PAGE_SIZE) && !(off % PAGE_SIZE) &&
		       !(len % PAGE_SIZE);
	int fd = aligned && mapping->fd_direct >= 0 ? mapping->fd_direct :
						      mapping->fd;
	size_t done = 0;

	while (done < len) {
		ssize_t n =
			pread(fd, buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
		/* A short read ends at BACKING's end of file, which our own
		 * writeback may be moving: the rest, unaligned now, goes
		 * through the buffered descriptor (O_DIRECT refuses it with
		 * EINVAL below the new end). */
		fd = mapping->fd;
	}
	memset(buf + done, 0, len - done);
	return 0;
}

/* Pages of [first, last] not in the cache. */
static unsigned int mapping_missing(struct address_space *mapping,
				    uint64_t first, uint64_t last)
{
	unsigned int missing = 0;
	uint64_t index = first;

	while (index <= last) {
		uint64_t next = index;

		if (!pagetree_next(&mapping->pages, &next) || next > last)
			return missing + (unsigned int)(last - index + 1);
		missing += (unsigned int)(next - index);
		index = next + 1;
	}
	return missing;
}

/*
 * Lock mapping with enough pages in batch for a write of [first, last].
 * Pages are taken without the lock, so eviction may make more pages missing
 * meanwhile: count again until the batch covers them. Returns 0 with
 * mapping->lock held, or -errno without it.
 */
static int mapping_lock_reserved(struct address_space *mapping,
				 struct page_batch *batch, uint64_t first,
				 uint64_t last)
{
	for (;;) {
		unsigned int need;
		int ret;

		pthread_mutex_lock(&mapping->lock);
		need = mapping_missing(mapping, first, last);
		if (need <= batch->nr)
			return 0;
		pthread_mutex_unlock(&mapping->lock);
		ret = cache_reserve(batch, need - batch->nr);
		if (ret)
			return ret;
	}
}

/* Find or create the page at index for a write of [from, to) in it. */
static int mapping_get_page(struct address_space *mapping,
			    struct page_batch *batch, uint64_t index,
			    size_t from, size_t to, struct page **out)
{
	struct page *page = pagetree_lookup(&mapping->pages, index);
	int ret;

	if (page)
		goto found;
	page = page_batch_take(batch, mapping, index);
	ret = pagetree_insert(&mapping->pages, index, page);
	if (ret) {
		page_free(page);
		return ret;
	}
	mapping->nr_pages++;
	/* A partial write needs the rest of the page as it is now. */
	if (from > 0 || to < PAGE_SIZE) {
		ret = backing_read(mapping, page_address(page), PAGE_SIZE,
				   index << PAGE_SHIFT);
		if (ret) {
			pagetree_delete(&mapping->pages, index);
			mapping->nr_pages--;
			page_free(page);
			return ret;
		}
	}
found:
	*out = page;
	return 0;
}

/* The change time of a write, kept while dirty (mapping_fixup_stat). */
static void mapping_touch(struct address_space *mapping)
{
	clock_gettime(CLOCK_REALTIME, &mapping->mtime);
	mapping->ctime = mapping->mtime;
	mapping->times_set = true;
}

/* Copy into the cache; mapping->lock held, batch covers missing pages. */
static ssize_t mapping_copy_in(struct address_space *mapping,
			       struct page_batch *batch, const char *buf,
			       size_t len, uint64_t off, cgroup_id_t cgroup)
{
	uint64_t dirtied = 0;
	bool was_dirty;
	size_t done = 0;
	int ret = 0;

	while (done < len) {
		uint64_t pos = off + done;
		size_t from = pos % PAGE_SIZE;
		size_t n = PAGE_SIZE - from < len - done ? PAGE_SIZE - from :
							   len - done;
		struct page *page;

		ret = mapping_get_page(mapping, batch, pos >> PAGE_SHIFT, from,
				       from + n, &page);
		if (ret)
			break;
		memcpy(page_address(page) + from, buf + done, n);
		was_dirty = !page_mark_dirty(page);
		dirtied += !was_dirty;
		memcg_dirty_page(page, cgroup, was_dirty);
		done += n;
		if (pos + n > mapping->size_bytes)
			mapping->size_bytes = pos + n;
	}
	cache_account_dirty(dirtied);
	memcg_charge_dirty(cgroup, (int64_t)dirtied);
	return done ? (ssize_t)done : ret;
}

ssize_t mapping_write(struct address_space *mapping, const char *buf,
		      size_t len, off_t off, cgroup_id_t cgroup)
{
	uint64_t first = (uint64_t)off >> PAGE_SHIFT;
	uint64_t last = ((uint64_t)off + len - 1) >> PAGE_SHIFT;
	struct page_batch batch;
	bool listed = false, held = false;
	ssize_t ret;

	if (len == 0)
		return 0;
	if (!mapping->writable)
		return -EBADF;
	/* As BACKING would: short up to its largest file, EFBIG at it. What
	 * went beyond could never be stored. */
	if ((uint64_t)off >= max_file_bytes)
		return -EFBIG;
	if (len > max_file_bytes - (uint64_t)off)
		len = max_file_bytes - (uint64_t)off;
	page_batch_init(&batch);
	for (;;) {
		ret = mapping_lock_reserved(mapping, &batch, first, last);
		if (ret)
			goto out;
		if (mapping->on_wb_list || held)
			break;
		/* The dirty list's inode reference is taken before any page
		 * is dirtied, so that the pages are dirtied and the mapping
		 * listed in one hold of the lock (writeback.h). It cannot be
		 * taken under the lock; our own keeps the inode alive. */
		pthread_mutex_unlock(&mapping->lock);
		mapping->a_ops->ihold(mapping);
		held = true;
	}
	ret = mapping_copy_in(mapping, &batch, buf, len, (uint64_t)off, cgroup);
	if (ret > 0) {
		mapping_touch(mapping);
		listed = writeback_mark_inode_dirty(mapping);
	}
	pthread_mutex_unlock(&mapping->lock);
	if (cache_over_background())
		writeback_kick();
out:
	/* Listed meanwhile by another writer, or nothing written. */
	if (held && !listed)
		mapping->a_ops->iput(mapping);
	cache_unreserve(&batch);
	return ret;
}

ssize_t mapping_read(struct address_space *mapping, char *buf, size_t len,
		     off_t off)
{
	uint64_t pos = (uint64_t)off, end;
	int ret = 0;

	pthread_mutex_lock(&mapping->lock);
	if (pos >= mapping->size_bytes) {
		len = 0;
		goto out;
	}
	if (len > mapping->size_bytes - pos)
		len = mapping->size_bytes - pos;
	end = pos + len;
	while (pos < end && !ret) {
		uint64_t index = pos >> PAGE_SHIFT, next = index;
		struct page *page = pagetree_next(&mapping->pages, &next);
		uint64_t stop = page ? next << PAGE_SHIFT : end;

		if (stop > end)
			stop = end;
		if (stop > pos) {
			/* A gap: BACKING has it. */
			ret = backing_read(mapping, buf + (pos - (uint64_t)off),
					   stop - pos, pos);
			pos = stop;
			continue;
		}
		stop = (index + 1) << PAGE_SHIFT;
		if (stop > end)
			stop = end;
		memcpy(buf + (pos - (uint64_t)off),
		       page_address(page) + (pos % PAGE_SIZE), stop - pos);
		pos = stop;
	}
out:
	pthread_mutex_unlock(&mapping->lock);
	return ret ? ret : (ssize_t)len;
}

/*
 * After a size or extent change made in BACKING (lock held): BACKING's
 * times show it, unless ours (kept while dirty) hide them; and a mapping
 * the change left clean is handed back to the flusher to release.
 */
static void mapping_extent_changed(struct address_space *mapping)
{
	if (mapping->times_set)
		mapping_touch(mapping);
	writeback_inode_cleaned(mapping);
}

/* Wait until no writeback pass of this mapping is in flight. */
static void mapping_wait_pass(struct address_space *mapping)
{
	while (mapping->in_pass)
		pthread_cond_wait(&mapping->wb_cond, &mapping->lock);
}

/* Zero [from, to) of the cached page at index, if there is one. */
static void mapping_zero_page(struct address_space *mapping, uint64_t index,
			      size_t from, size_t to)
{
	struct page *page = pagetree_lookup(&mapping->pages, index);

	if (page && to > from)
		memset(page_address(page) + from, 0, to - from);
}

bool mapping_backing_ctime(struct address_space *mapping, struct timespec *ts)
{
	struct stat st;

	if (fstatat(mapping->a_ops->path_fd(mapping), "", &st,
		    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return false;
	*ts = st.st_ctim;
	return true;
}

/*
 * mapping_ctime_changed with the lock held; also for the changes made here
 * (truncate, fallocate, utimens), whose ctime may fall into the tick of
 * writeback's last write and so equal wb_ctime. While a pass is in flight,
 * the change's ctime is the one to show behind whatever the pass leaves.
 */
static void ctime_changed_locked(struct address_space *mapping)
{
	mapping->wb_ctime_set = false;
	if (mapping->wb_ctime_pending)
		mapping->wb_ctime_pending =
			mapping_backing_ctime(mapping, &mapping->shown_ctime);
}

void mapping_ctime_changed(struct address_space *mapping)
{
	pthread_mutex_lock(&mapping->lock);
	ctime_changed_locked(mapping);
	pthread_mutex_unlock(&mapping->lock);
}

int mapping_truncate(struct address_space *mapping, uint64_t size)
{
	int ret = 0;

	pthread_mutex_lock(&mapping->lock);
	mapping_wait_pass(mapping);
	if (ftruncate(mapping->fd, (off_t)size)) {
		ret = -errno;
		goto out;
	}
	ctime_changed_locked(mapping);
	mapping_drop_from(mapping, (size + PAGE_SIZE - 1) >> PAGE_SHIFT);
	if (size % PAGE_SIZE)
		mapping_zero_page(mapping, size >> PAGE_SHIFT, size % PAGE_SIZE,
				  PAGE_SIZE);
	mapping->size_bytes = size;
	mapping_extent_changed(mapping);
out:
	pthread_mutex_unlock(&mapping->lock);
	return ret;
}

void mapping_drop_dirty(struct address_space *mapping)
{
	uint64_t index = 0;
	struct page *page;

	while ((page = pagetree_next_tagged(&mapping->pages, &index,
					    PAGETREE_TAG_DIRTY))) {
		if (!(page->flags & PG_WRITEBACK)) {
			pagetree_delete(&mapping->pages, index);
			mapping->nr_pages--;
			page_free(page);
		}
		index++;
	}
}

void mapping_discard(struct address_space *mapping)
{
	pthread_mutex_lock(&mapping->lock);
	mapping_wait_pass(mapping);
	mapping_drop_from(mapping, 0);
	writeback_inode_cleaned(mapping);
	pthread_mutex_unlock(&mapping->lock);
}

/*
 * Dropping a dirty page must not shorten the file: the size it carried is
 * BACKING's once BACKING is at least the cached size. true if it is (lock
 * held).
 */
static bool mapping_backing_holds_size(struct address_space *mapping)
{
	struct stat st;

	if (fstat(mapping->fd, &st))
		return false;
	return (uint64_t)st.st_size >= mapping->size_bytes ||
	       !ftruncate(mapping->fd, (off_t)mapping->size_bytes);
}

/*
 * Punch or zero [start, end) in the cache, after BACKING: BACKING reads
 * zeros there now, so the pages the range covers go, dirty or not, and a
 * hole stays a hole; a dirty page it covers in part is zeroed over it.
 */
static void mapping_punch(struct address_space *mapping, uint64_t start,
			  uint64_t end)
{
	uint64_t index = start >> PAGE_SHIFT;
	struct page *page;
	int sized = -1; /* mapping_backing_holds_size, once asked */

	while ((page = pagetree_next(&mapping->pages, &index)) &&
	       (index << PAGE_SHIFT) < end) {
		uint64_t pstart = index << PAGE_SHIFT;
		size_t from = start > pstart ? start - pstart : 0;
		size_t to = end - pstart < PAGE_SIZE ? end - pstart : PAGE_SIZE;
		bool whole = from == 0 && to == PAGE_SIZE;

		if ((page->flags & PG_DIRTY) && whole && sized < 0)
			sized = mapping_backing_holds_size(mapping);
		if ((page->flags & PG_DIRTY) && !(whole && sized > 0)) {
			memset(page_address(page) + from, 0, to - from);
		} else {
			pagetree_delete(&mapping->pages, index);
			mapping->nr_pages--;
			page_free(page);
		}
		index++;
	}
}

int mapping_fallocate(struct address_space *mapping, int mode, off_t off,
		      off_t len)
{
	const int supported = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE |
			      FALLOC_FL_ZERO_RANGE;
	uint64_t end = (uint64_t)off + (uint64_t)len;
	int ret = 0;

	/* Collapse and insert would move cached pages: not offered. */
	if (mode & ~supported)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&mapping->lock);
	mapping_wait_pass(mapping);
	if (fallocate(mapping->fd, mode, off, len)) {
		ret = -errno;
		goto out;
	}
	ctime_changed_locked(mapping);
	if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		mapping_punch(mapping, (uint64_t)off, end);
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > mapping->size_bytes)
		mapping->size_bytes = end;
	mapping_extent_changed(mapping);
out:
	pthread_mutex_unlock(&mapping->lock);
	return ret;
}

void mapping_fixup_stat(struct address_space *mapping, struct stat *st)
{
	blkcnt_t dirty_blocks;

	pthread_mutex_lock(&mapping->lock);
	if (mapping->wb_ctime_set && ts_equal(&st->st_ctim, &mapping->wb_ctime))
		st->st_ctim = mapping->shown_ctime;
	if (!mapping->size_known)
		goto out;
	st->st_size = (off_t)mapping->size_bytes;
	if (mapping->times_set) {
		st->st_mtim = mapping->mtime;
		if (ts_before(&st->st_ctim, &mapping->ctime))
			st->st_ctim = mapping->ctime;
	}
	/* Dirty data will take room in BACKING: du should see it now. */
	dirty_blocks = (blkcnt_t)(mapping->nr_dirty * (PAGE_SIZE / 512));
	if (st->st_blocks < dirty_blocks)
		st->st_blocks = dirty_blocks;
out:
	pthread_mutex_unlock(&mapping->lock);
}

int mapping_utimens(struct address_space *mapping, int path_fd,
		    const struct timespec ts[2])
{
	const int flags = AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW;
	struct stat st;
	int ret = 0;

	pthread_mutex_lock(&mapping->lock);
	if (utimensat(path_fd, "", ts, flags)) {
		ret = -errno;
		goto out;
	}
	ctime_changed_locked(mapping);
	/* Without dirty data BACKING's own times are shown: nothing to keep.
	 * Else the cache's mtime becomes the one just set, as BACKING resolved
	 * UTIME_NOW. */
	if (mapping->times_set && ts[1].tv_nsec != UTIME_OMIT &&
	    !fstatat(path_fd, "", &st, flags))
		mapping->mtime = st.st_mtim;
out:
	pthread_mutex_unlock(&mapping->lock);
	return ret;
}

/* First offset >= off of the kind whence asks, in BACKING alone. */
static off_t backing_seek(struct address_space *mapping, off_t off, int whence)
{
	off_t r = lseek(mapping->fd, off, whence);

	if (r < 0 && errno == ENXIO)
		return whence == SEEK_HOLE ? off : (off_t)mapping->size_bytes;
	return r < 0 ? -errno : r;
}

/* End of the run of cached pages that holds offset pos. */
static uint64_t cached_run_end(struct address_space *mapping, uint64_t pos)
{
	uint64_t index = pos >> PAGE_SHIFT;

	while (pagetree_lookup(&mapping->pages, index))
		index++;
	return index << PAGE_SHIFT;
}

static off_t mapping_seek_data(struct address_space *mapping, uint64_t pos)
{
	uint64_t index = pos >> PAGE_SHIFT;
	off_t b = backing_seek(mapping, (off_t)pos, SEEK_DATA);

	if (b < 0)
		return b;
	if (pagetree_next(&mapping->pages, &index) &&
	    (index << PAGE_SHIFT) < (uint64_t)b)
		b = (off_t)(index << PAGE_SHIFT > pos ? index << PAGE_SHIFT :
							pos);
	return b;
}

static off_t mapping_seek_hole(struct address_space *mapping, uint64_t pos)
{
	for (;;) {
		off_t h = backing_seek(mapping, (off_t)pos, SEEK_HOLE);
		uint64_t run_end;

		if (h < 0)
			return h;
		run_end = cached_run_end(mapping, (uint64_t)h);
		if (run_end <= (uint64_t)h)
			return h;
		pos = run_end;
		if (pos >= mapping->size_bytes)
			return (off_t)mapping->size_bytes;
	}
}

off_t mapping_lseek(struct address_space *mapping, off_t off, int whence)
{
	off_t ret;

	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	pthread_mutex_lock(&mapping->lock);
	if (off < 0 || (uint64_t)off >= mapping->size_bytes) {
		ret = -ENXIO;
		goto out;
	}
	ret = whence == SEEK_DATA ? mapping_seek_data(mapping, (uint64_t)off) :
				    mapping_seek_hole(mapping, (uint64_t)off);
	if (ret >= 0 && (uint64_t)ret >= mapping->size_bytes)
		ret = whence == SEEK_DATA ? -ENXIO : (off_t)mapping->size_bytes;
out:
	pthread_mutex_unlock(&mapping->lock);
	return ret;
}
