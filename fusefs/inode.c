// SPDX-License-Identifier: GPL-2.0
/*
 * The inode table: one struct dfs_inode per backing object the kernel knows
 * of, keyed by the backing (st_dev, st_ino), under one mutex.
 *
 * A FUSE nodeid is the inode's address (the root's is FUSE_ROOT_ID), so
 * inode_get() costs nothing: the kernel only sends a nodeid while its lookup
 * count keeps the inode alive (see LIFETIME in fusefs.h).
 *
 * Lookups of a name already known return the same inode and add to its
 * nlookup: the kernel counts every successful lookup reply and forgets them
 * all, so the count here must match the replies sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "../writeback/writeback.h"
#include "fusefs.h"
#include "handoff.h"

/* inode_note_error says it at most this often. */
#define NOTE_EVERY_NS (60 * NSEC_PER_SEC)

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dfs_inode *table; /* uthash head; table_lock */
static struct dfs_inode *root;

static struct dfs_inode *mapping_inode(struct address_space *mapping)
{
	return container_of(mapping, struct dfs_inode, mapping);
}

static void aops_ihold(struct address_space *mapping)
{
	inode_ref(mapping_inode(mapping));
}

static void aops_iput(struct address_space *mapping)
{
	inode_unref(mapping_inode(mapping));
}

static int aops_path_fd(struct address_space *mapping)
{
	return mapping_inode(mapping)->path_fd;
}

const struct address_space_operations dfs_aops = {
	.ihold = aops_ihold,
	.iput = aops_iput,
	.path_fd = aops_path_fd,
};

/* A new inode for the backing object at fd (taken over), one reference. */
static struct dfs_inode *inode_alloc(int fd, const struct stat *st)
{
	struct dfs_inode *inode = calloc(1, sizeof(*inode));

	if (!inode)
		return NULL;
	inode->key.dev = st->st_dev;
	inode->key.ino = st->st_ino;
	inode->path_fd = fd;
	inode->type = st->st_mode & S_IFMT;
	inode->refcount = 1;
	if (S_ISREG(st->st_mode))
		mapping_init(&inode->mapping, &dfs_aops);
	return inode;
}

/* Free an inode no longer in the table: its last reference is gone. */
static void inode_free(struct dfs_inode *inode)
{
	if (S_ISREG(inode->type))
		mapping_destroy(&inode->mapping);
	if (inode->path_fd >= 0) /* -1 once shed */
		close(inode->path_fd);
	free(inode);
}

int inode_table_init(const char *backing_dir)
{
	struct stat st;
	int fd = open(backing_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		int err = -errno;

		close(fd);
		return err;
	}
	root = inode_alloc(fd, &st);
	if (!root) {
		close(fd);
		return -ENOMEM;
	}
	/* inode_alloc's reference is the table's and pins the root for the
	 * whole mount: the kernel's own hold on the root is never counted
	 * (it is not looked up), only lookups that reach it again by name. */
	HASH_ADD(hh, table, key, sizeof(root->key), root);
	return 0;
}

/* Called once the session is gone: nothing can use an inode any more, so
 * inodes still referenced by open files or by the kernel go too. */
void inode_table_exit(void)
{
	struct dfs_inode *inode, *tmp;

	HASH_ITER(hh, table, inode, tmp) {
		HASH_DEL(table, inode);
		inode_free(inode);
	}
	root = NULL;
}

/*
 * Close inode's descriptors (inode_table_shed; not the root's): the O_PATH
 * one and, of a file the kernel never released, the data ones, unless the
 * file has data to write back (its mapping on the flusher's dirty list,
 * read under the mapping's lock): writeback opens its data descriptors from
 * the O_PATH one and writes through them.
 */
static void inode_shed(struct dfs_inode *inode)
{
	struct address_space *mapping = &inode->mapping;
	bool needed = false;

	if (S_ISREG(inode->type)) {
		pthread_mutex_lock(&mapping->lock);
		needed = mapping->on_wb_list;
		if (!needed)
			mapping_close_fds(mapping);
	}
	if (!needed) {
		close(inode->path_fd);
		inode->path_fd = -1;
	}
	if (S_ISREG(inode->type))
		pthread_mutex_unlock(&mapping->lock);
}

void inode_table_shed(void)
{
	struct dfs_inode *inode, *tmp, **v;
	size_t n = 0;

	/* A reference on each keeps it while no table lock is held (a
	 * mapping's lock may not be taken under it), for the flusher may
	 * drop the last other one meanwhile. */
	pthread_mutex_lock(&table_lock);
	v = malloc(HASH_COUNT(table) * sizeof(*v) + 1);
	HASH_ITER(hh, table, inode, tmp) {
		if (!v || inode == root || inode->path_fd < 0)
			continue;
		inode->refcount++;
		v[n++] = inode;
	}
	pthread_mutex_unlock(&table_lock);
	if (!v) {
		dfs_log(LOG_WARNING,
			"cannot close the lookups' descriptors "
			"before the final writeback: %s",
			strerror(ENOMEM));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		inode_shed(v[i]);
		inode_unref(v[i]);
	}
	free(v);
}

struct dfs_inode *inode_root(void)
{
	return root;
}

struct dfs_inode *inode_get(fuse_ino_t ino)
{
	struct dfs_inode *inode;

	if (ino == FUSE_ROOT_ID)
		return root;
	inode = (struct dfs_inode *)(uintptr_t)ino;
	handoff_in(inode);
	return inode;
}

fuse_ino_t inode_nodeid(const struct dfs_inode *inode)
{
	if (inode == root)
		return FUSE_ROOT_ID;
	return (fuse_ino_t)(uintptr_t)inode;
}

void inode_note_error(int err)
{
	static struct dfs_ratelimit rs = DFS_RATELIMIT_INIT(NOTE_EVERY_NS, 1);
	struct rlimit rl;

	if (err != -EMFILE || getrlimit(RLIMIT_NOFILE, &rl))
		return;
	dfs_log_ratelimited(
		&rs, LOG_WARNING,
		"out of descriptors for lookups and opens (the limit on open "
		"files is %llu; writeback keeps the last %u): they fail with "
		"EMFILE until the kernel forgets files or directories",
		(unsigned long long)rl.rlim_cur, writeback_reserve_size());
}

int inode_check_name(const char *name)
{
	/* "." and ".." would resolve to the parent or above it, and a name
	 * with '/' through several directories: never one child. */
	if (!*name || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return -EINVAL;
	return 0;
}

static bool is_own_name(const struct dfs_inode *dir, const char *name)
{
	return dir == root &&
	       !strncmp(name, DFS_OWN_PREFIX, sizeof(DFS_OWN_PREFIX) - 1);
}

int inode_check_existing(const struct dfs_inode *dir, const char *name)
{
	int err = inode_check_name(name);

	return !err && is_own_name(dir, name) ? -ENOENT : err;
}

int inode_check_new(const struct dfs_inode *dir, const char *name)
{
	int err = inode_check_name(name);

	return !err && is_own_name(dir, name) ? -EPERM : err;
}

int inode_check_descriptors(unsigned int n)
{
	int fds[INODE_MAX_NEW_FDS];
	unsigned int i, got = 0;
	int err = 0;

	while (got < n && got < INODE_MAX_NEW_FDS && !err) {
		int fd = fcntl(root->path_fd, F_DUPFD_CLOEXEC, 0);

		if (fd < 0) {
			err = -errno;
			break;
		}
		fds[got++] = fd;
		if (writeback_fd_reserved(fd))
			err = -EMFILE;
	}
	for (i = 0; i < got; i++)
		close(fds[i]);
	inode_note_error(err);
	return err;
}

/* Drop one reference; table_lock held. True if the caller must free it. */
static bool inode_put_locked(struct dfs_inode *inode)
{
	if (--inode->refcount)
		return false;
	HASH_DEL(table, inode);
	return true;
}

void inode_ref(struct dfs_inode *inode)
{
	pthread_mutex_lock(&table_lock);
	inode->refcount++;
	pthread_mutex_unlock(&table_lock);
}

void inode_unref(struct dfs_inode *inode)
{
	bool last;

	if (!inode)
		return;
	pthread_mutex_lock(&table_lock);
	last = inode_put_locked(inode);
	pthread_mutex_unlock(&table_lock);
	/* Outside the table lock: mapping_destroy takes the mapping lock. */
	if (last)
		inode_free(inode);
}

void inode_forget(struct dfs_inode *inode, uint64_t nlookup)
{
	bool last = false, forgotten;

	pthread_mutex_lock(&table_lock);
	/* A forget of more than was looked up would be a kernel bug; never
	 * let it free an inode that others still reference. */
	if (nlookup > inode->nlookup)
		nlookup = inode->nlookup;
	inode->nlookup -= nlookup;
	forgotten = nlookup && !inode->nlookup;
	/* The kernel's reference goes with its last lookup; the dirty list's
	 * keeps an inode with dirty data, so it is never the last then. */
	if (forgotten && S_ISREG(inode->type))
		inode->refcount++;
	else if (forgotten)
		last = inode_put_locked(inode);
	pthread_mutex_unlock(&table_lock);
	if (forgotten && S_ISREG(inode->type)) {
		/* The kernel evicts an unlinked inode at once: drop its data. */
		file_discard_if_unlinked(inode);
		inode_unref(inode); /* the kernel's */
		inode_unref(inode); /* ours, taken above */
	}
	if (last)
		inode_free(inode);
}

void inode_file_closed(struct dfs_inode *inode)
{
	bool forgotten;

	/* Ordered with inode_forget by the table lock: whichever of the two
	 * comes last sees both the last close and the last forget. */
	pthread_mutex_lock(&table_lock);
	forgotten = !inode->nlookup;
	pthread_mutex_unlock(&table_lock);
	if (forgotten)
		file_discard_if_unlinked(inode);
}

/* The inode of key, or NULL; table_lock held. */
static struct dfs_inode *inode_find(const struct inode_key *key)
{
	struct dfs_inode *inode;

	HASH_FIND(hh, table, key, sizeof(*key), inode);
	return inode;
}

struct dfs_inode *inode_find_file(const struct dfs_inode *dir, const char *name)
{
	struct stat st;
	struct inode_key key;
	struct dfs_inode *inode;

	if (fstatat(dir->path_fd, name, &st, AT_SYMLINK_NOFOLLOW) ||
	    !S_ISREG(st.st_mode))
		return NULL;
	key = (struct inode_key){ .dev = st.st_dev, .ino = st.st_ino };
	pthread_mutex_lock(&table_lock);
	inode = inode_find(&key);
	if (inode)
		inode->refcount++;
	pthread_mutex_unlock(&table_lock);
	return inode;
}

/* Only a mapping keeps a ctime of its own (the one from before writeback). */
void inode_ctime_changed(struct dfs_inode *inode)
{
	if (inode && S_ISREG(inode->type))
		mapping_ctime_changed(&inode->mapping);
}

/*
 * Find the inode of the object at fd, or insert a new one made from fd, and
 * count one kernel lookup on it. fd is consumed either way.
 */
static int inode_find_or_add(int fd, const struct stat *st,
			     struct dfs_inode **out)
{
	struct inode_key key = { .dev = st->st_dev, .ino = st->st_ino };
	struct dfs_inode *inode;

	pthread_mutex_lock(&table_lock);
	inode = inode_find(&key);
	if (inode) {
		/* Known already: our O_PATH fd holds the object alive, this
		 * one is a duplicate. The kernel holds one reference while
		 * nlookup > 0. */
		close(fd);
		if (!inode->nlookup)
			inode->refcount++;
	} else if (writeback_fd_reserved(fd)) {
		/* A new inode keeps fd: not one of writeback's. */
		pthread_mutex_unlock(&table_lock);
		close(fd);
		return -EMFILE;
	} else {
		inode = inode_alloc(fd, st);
		if (!inode) {
			pthread_mutex_unlock(&table_lock);
			close(fd);
			return -ENOMEM;
		}
		/* inode_alloc's reference is the kernel's. */
		HASH_ADD(hh, table, key, sizeof(inode->key), inode);
	}
	inode->nlookup++;
	pthread_mutex_unlock(&table_lock);
	*out = inode;
	return 0;
}

static void fill_entry(struct dfs_inode *inode, const struct stat *st,
		       struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	handoff_out(inode);
	e->ino = inode_nodeid(inode);
	e->attr = *st;
	if (S_ISREG(inode->type))
		mapping_fixup_stat(&inode->mapping, &e->attr);
	e->attr_timeout = DFS_TIMEOUT_S;
	e->entry_timeout = DFS_TIMEOUT_S;
}

int inode_lookup(struct dfs_inode *parent, const char *name,
		 struct fuse_entry_param *e, struct dfs_inode **out)
{
	struct stat st;
	int fd, err = inode_check_existing(parent, name);

	if (err)
		return err;
	fd = openat(parent->path_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		inode_note_error(err);
		return err;
	}
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
		err = -errno;
		close(fd);
		return err;
	}
	err = inode_find_or_add(fd, &st, out);
	if (err) {
		inode_note_error(err);
		return err;
	}
	/* nlookup +1 above: the caller replies with e or forgets it. */
	fill_entry(*out, &st, e);
	return 0;
}

int inode_stat(struct dfs_inode *inode, struct stat *st)
{
	if (fstatat(inode->path_fd, "", st,
		    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (S_ISREG(inode->type))
		mapping_fixup_stat(&inode->mapping, st);
	return 0;
}

void inode_proc_path(const struct dfs_inode *inode, char buf[64])
{
	snprintf(buf, 64, "/proc/self/fd/%d", inode->path_fd);
}
