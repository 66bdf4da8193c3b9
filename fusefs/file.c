// SPDX-License-Identifier: GPL-2.0
/*
 * File data: open file descriptions, and read, write, fsync and friends
 * through the page cache (cache/).
 *
 * KERNEL CACHING: the FUSE writeback cache is off, so every write reaches us
 * synchronously with its writer's pid. The kernel's page cache of the mount
 * is kept across opens (keep_cache) and FUSE_CAP_AUTO_INVAL_DATA is off:
 * every change to a file goes through this mount, and the kernel updates its
 * cached pages on each write it sends, so what it caches is what we hold.
 * Changes made to BACKING behind the daemon's back are not seen by readers
 * until the kernel drops its pages (see the man page, CONSISTENCY).
 *
 * ERRORS: writeback errors are reported as the kernel's errseq does: each
 * file description remembers the mapping's err_seq it has seen, and fsync
 * and close (flush) report an error it has not seen, once.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../cgroup/memcg.h"
#include "../cgroup/throttle.h"
#include "../writeback/writeback.h"
#include "fusefs.h"
#include "handoff.h"

/* Per-thread, page-aligned reply buffer for reads: BACKING reads go into it
 * with O_DIRECT, and its memory is touched once, not on every request. */
struct read_buf {
	char *data;
	size_t size;
};

/* Every open file description, for file_table_exit(). */
static pthread_mutex_t open_files_lock = PTHREAD_MUTEX_INITIALIZER;
static struct list_head open_files = { &open_files, &open_files };

static pthread_key_t read_buf_key;
static pthread_once_t read_buf_once = PTHREAD_ONCE_INIT;

static void read_buf_free(void *p)
{
	struct read_buf *rb = p;

	free(rb->data);
	free(rb);
}

static void read_buf_key_init(void)
{
	pthread_key_create(&read_buf_key, read_buf_free);
}

static char *read_buf_get(size_t size)
{
	struct read_buf *rb;

	pthread_once(&read_buf_once, read_buf_key_init);
	rb = pthread_getspecific(read_buf_key);
	if (!rb) {
		rb = calloc(1, sizeof(*rb));
		if (!rb || pthread_setspecific(read_buf_key, rb)) {
			free(rb);
			return NULL;
		}
	}
	if (rb->size < size) {
		free(rb->data);
		rb->size = 0;
		if (posix_memalign((void **)&rb->data, PAGE_SIZE, size))
			return rb->data = NULL;
		rb->size = size;
	}
	return rb->data;
}

static struct dfs_file *file_of(struct fuse_file_info *fi)
{
	struct dfs_file *f = (struct dfs_file *)(uintptr_t)fi->fh;

	handoff_in(f);
	return f;
}

/* The error this file description has not seen yet, as -errno; marks it
 * seen. */
static int file_check_wb_err(struct dfs_file *f)
{
	struct address_space *mapping = &f->inode->mapping;
	int err = 0;

	pthread_mutex_lock(&mapping->lock);
	if (f->err_seen != mapping->err_seq) {
		err = -mapping->err;
		f->err_seen = mapping->err_seq;
	}
	pthread_mutex_unlock(&mapping->lock);
	return err;
}

/* The CGPATH of req's caller, or NULL. */
static char *caller_cgroup_path(fuse_req_t req)
{
	char path[CGPATH_MAX];

	if (writer_cgroup(fuse_req_ctx(req)->pid, path, sizeof(path)))
		return NULL;
	return strdup(path);
}

/*
 * Whom a write is charged to, with a reference on its entry (memcg_put): the
 * writing thread's cgroup; for a write without a visible pid (pid 0 from
 * mmap writeback, or a thread that has exited) the cgroup that opened the
 * file, else the inode's owner, else the root.
 */
static cgroup_id_t write_cgroup(fuse_req_t req, struct dfs_file *f)
{
	char path[CGPATH_MAX];
	cgroup_id_t id;

	if (!writer_cgroup(fuse_req_ctx(req)->pid, path, sizeof(path)) &&
	    !memcg_id_get(path, &id))
		return id;
	if (f->opener_cgroup && !memcg_id_get(f->opener_cgroup, &id))
		return id;
	id = memcg_tryget_owner(&f->inode->mapping);
	if (id != CGROUP_NONE)
		return id;
	memcg_tryget(CGROUP_ROOT); /* never freed */
	return CGROUP_ROOT;
}

int file_attach(fuse_req_t req, struct dfs_inode *inode,
		struct fuse_file_info *fi, bool created)
{
	struct address_space *mapping = &inode->mapping;
	bool write = (fi->flags & O_ACCMODE) != O_RDONLY || fi->flags & O_TRUNC;
	struct dfs_file *f;
	int ret = mapping_open_backing(mapping, inode->path_fd, write, true);

	if (ret) {
		inode_note_error(ret);
		return ret;
	}
	/* Even at size 0 it sets mtime and ctime, as for any O_TRUNC open;
	 * skipped for an empty file just created, whose times are new. */
	if ((fi->flags & O_TRUNC) && (mapping->size_bytes || !created))
		ret = mapping_truncate(mapping, 0);
	if (!ret && (fi->flags & O_TRUNC))
		ret = attr_kill_suidgid(inode);
	f = ret ? NULL : calloc(1, sizeof(*f));
	if (!f) {
		mapping_release_backing(mapping); /* taken above */
		return ret ? ret : -ENOMEM;
	}
	inode_ref(inode); /* dropped in dfs_release */
	__atomic_add_fetch(&inode->nr_open, 1, __ATOMIC_RELAXED);
	f->inode = inode;
	f->opener_cgroup = caller_cgroup_path(req);
	pthread_mutex_lock(&mapping->lock);
	f->err_seen = mapping->err_seq;
	pthread_mutex_unlock(&mapping->lock);
	pthread_mutex_lock(&open_files_lock);
	list_add_tail(&f->open_list, &open_files);
	pthread_mutex_unlock(&open_files_lock);
	handoff_out(f);
	fi->fh = (uintptr_t)f;
	fi->keep_cache = 1;
	return 0;
}

void dfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dfs_inode *inode = inode_get(ino);
	int ret;

	if (!S_ISREG(inode->type)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	ret = file_attach(req, inode, fi, false);
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_open(req, fi);
}

void dfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	      struct fuse_file_info *fi)
{
	char *buf = read_buf_get(size);
	ssize_t ret;

	(void)ino;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ret = mapping_read(&file_of(fi)->inode->mapping, buf, size, off);
	if (ret < 0)
		fuse_reply_err(req, (int)-ret);
	else
		fuse_reply_buf(req, buf, (size_t)ret);
}

/* A write held before it enters the cache: its data, copied from the
 * request buffer (which libfuse reuses once the handler returns). */
struct early_write {
	struct throttle_write w;
	struct dfs_inode *inode; /* holds a reference */
	off_t off;
	size_t size;
	char data[];
};

/*
 * Early writes' buffers (DFS_MAX_WRITE each) are recycled, up to
 * EARLY_FREE_MAX of them: a fresh buffer from malloc is fresh memory, and
 * faulting it in on every hold was where all of the daemon's page faults
 * came from under a throttled neighbour (perf record -e page-faults).
 *
 * The data they hold aside is at most budget bytes (a share of cache_size):
 * past it, a write goes into the cache and its reply is held there, so the
 * daemon's memory has a bound however many writers are held (one 1 MiB
 * copy each took 400 held writers to 4x a 64M cache_size).
 */
#define EARLY_FREE_MAX 16

static struct {
	pthread_mutex_t lock;
	unsigned int n;
	struct early_write *v[EARLY_FREE_MAX];
	uint64_t bytes, budget; /* data held aside now, and at most */
} early = { .lock = PTHREAD_MUTEX_INITIALIZER };

void file_set_early_budget(uint64_t bytes)
{
	early.budget = bytes;
}

/* Give back e (NULL: only its size's share of the budget). */
static void early_free_one(struct early_write *e, size_t size)
{
	pthread_mutex_lock(&early.lock);
	early.bytes -= size;
	if (e && early.n < EARLY_FREE_MAX) {
		early.v[early.n++] = e;
		e = NULL;
	}
	pthread_mutex_unlock(&early.lock);
	free(e);
}

/* A buffer for size bytes, or NULL past the budget or without memory. */
static struct early_write *early_alloc(size_t size)
{
	struct early_write *e = NULL;
	bool fits;

	pthread_mutex_lock(&early.lock);
	fits = early.bytes + size <= early.budget;
	if (fits) {
		early.bytes += size;
		if (early.n)
			e = early.v[--early.n];
	}
	pthread_mutex_unlock(&early.lock);
	if (fits && !e && !(e = malloc(sizeof(*e) + DFS_MAX_WRITE)))
		early_free_one(NULL, size);
	return e;
}

static ssize_t early_commit(struct throttle_write *w)
{
	struct early_write *e = container_of(w, struct early_write, w);

	return mapping_write(&e->inode->mapping, e->data, e->size, e->off,
			     w->id);
}

static void early_release(struct throttle_write *w)
{
	struct early_write *e = container_of(w, struct early_write, w);

	inode_unref(e->inode); /* taken in hold_early */
	early_free_one(e, e->size);
}

/* Hand the write to the throttle to wait outside the cache. false past the
 * budget or without memory to hold it: then it goes into the cache at once,
 * and its reply is held there. */
static bool hold_early(fuse_req_t req, struct dfs_inode *inode, cgroup_id_t id,
		       const char *buf, size_t size, off_t off)
{
	struct early_write *e;

	if (size > DFS_MAX_WRITE || !(e = early_alloc(size)))
		return false;
	e->w = (struct throttle_write){ .req = req,
					.id = id,
					.commit = early_commit,
					.release = early_release };
	inode_ref(inode); /* dropped in early_release */
	e->inode = inode;
	e->off = off;
	e->size = size;
	memcpy(e->data, buf, size);
	throttle_hold_write(&e->w);
	return true;
}

/*
 * A write of a cgroup over its hard limit waits outside the cache; any other
 * goes into the cache, then balance_dirty_pages answers it: at once, after a
 * pause, or once under the limit. Writes without a pid come from the
 * kernel's writeback of shared mmaps: charged, never held (holding them
 * would stall the kernel's flusher, which paces mmap writers itself).
 */
static void write_as(fuse_req_t req, struct dfs_file *f, cgroup_id_t id,
		     const char *buf, size_t size, off_t off)
{
	bool kernel = fuse_req_ctx(req)->pid == 0;
	ssize_t ret = attr_kill_suidgid(f->inode);

	if (ret) {
		fuse_reply_err(req, (int)-ret);
		return;
	}
	if (!kernel && throttle_must_hold(id) &&
	    hold_early(req, f->inode, id, buf, size, off))
		return;
	ret = mapping_write(&f->inode->mapping, buf, size, off, id);
	if (ret < 0)
		fuse_reply_err(req, (int)-ret);
	else if (kernel)
		fuse_reply_write(req, (size_t)ret);
	else
		balance_dirty_pages(req, id, (size_t)ret);
}

void dfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
	       off_t off, struct fuse_file_info *fi)
{
	struct dfs_file *f = file_of(fi);
	cgroup_id_t id = write_cgroup(req, f);

	(void)ino;
	write_as(req, f, id, buf, size, off);
	memcg_put(id);
}

/* Every close(2): no writeback here (that is the point of the cache), but a
 * writeback error this description has not seen is reported. */
void dfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fuse_reply_err(req, -file_check_wb_err(file_of(fi)));
}

void file_discard_if_unlinked(struct dfs_inode *inode)
{
	struct stat st;

	if (!__atomic_load_n(&inode->nr_open, __ATOMIC_RELAXED) &&
	    !fstatat(inode->path_fd, "", &st, AT_EMPTY_PATH) &&
	    st.st_nlink == 0)
		mapping_discard(&inode->mapping);
}

void dfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dfs_file *f = file_of(fi);

	(void)ino;
	pthread_mutex_lock(&open_files_lock);
	list_del_init(&f->open_list);
	pthread_mutex_unlock(&open_files_lock);
	__atomic_sub_fetch(&f->inode->nr_open, 1, __ATOMIC_RELAXED);
	inode_file_closed(f->inode);
	mapping_release_backing(&f->inode->mapping); /* file_attach's */
	inode_unref(f->inode); /* taken in file_attach */
	free(f->opener_cgroup);
	free(f);
	fuse_reply_err(req, 0);
}

void dfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
	       struct fuse_file_info *fi)
{
	struct dfs_file *f = file_of(fi);
	struct address_space *mapping = &f->inode->mapping;
	int ret, err;

	(void)ino;
	ret = writeback_sync_inode(mapping);
	if (!ret && (datasync ? fdatasync(mapping->fd) : fsync(mapping->fd)))
		ret = -errno;
	err = file_check_wb_err(f);
	fuse_reply_err(req, -(ret ? ret : err));
}

void dfs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		   off_t length, struct fuse_file_info *fi)
{
	(void)ino;
	fuse_reply_err(req, -mapping_fallocate(&file_of(fi)->inode->mapping,
					       mode, offset, length));
}

void dfs_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
	       struct fuse_file_info *fi)
{
	off_t ret;

	(void)ino;
	ret = mapping_lseek(&file_of(fi)->inode->mapping, off, whence);
	if (ret < 0)
		fuse_reply_err(req, (int)-ret);
	else
		fuse_reply_lseek(req, ret);
}

int file_truncate(struct dfs_inode *inode, uint64_t size)
{
	int ret = mapping_open_backing(&inode->mapping, inode->path_fd, true,
				       false);

	if (ret)
		return ret;
	ret = mapping_truncate(&inode->mapping, size);
	mapping_release_backing(&inode->mapping);
	return ret;
}

void file_table_exit(void)
{
	while (early.n)
		free(early.v[--early.n]);
	while (!list_empty(&open_files)) {
		struct dfs_file *f = list_first_entry(
			&open_files, struct dfs_file, open_list);

		list_del_init(&f->open_list);
		inode_unref(f->inode);
		free(f->opener_cgroup);
		free(f);
	}
}
