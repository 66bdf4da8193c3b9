// SPDX-License-Identifier: GPL-2.0
/*
 * Directories: opendir, readdirplus, releasedir, fsyncdir.
 *
 * Only readdirplus is offered (ops.c): each entry but "." and ".." is
 * looked up, which counts one kernel lookup (nlookup +1) that the kernel
 * takes over with the entry. "." and ".." go out with only an inode number
 * and type and nodeid 0, which the kernel does not count: it never makes
 * dentries for them from readdirplus.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "../writeback/writeback.h"
#include "fusefs.h"
#include "handoff.h"

/* An open directory (fi->fh of opendir). The kernel serialises readdir on
 * one open directory, so it needs no lock. */
struct dfs_dir {
	struct list_head open_list; /* all open directories; open_dirs_lock */
	DIR *dp;
	off_t offset; /* of the next entry dp returns */
	struct dirent *entry; /* read, but did not fit the last reply */
};

/* Every open directory, for dir_table_exit(). */
static pthread_mutex_t open_dirs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct list_head open_dirs = { &open_dirs, &open_dirs };

static struct dfs_dir *dir_of(struct fuse_file_info *fi)
{
	struct dfs_dir *d = (struct dfs_dir *)(uintptr_t)fi->fh;

	handoff_in(d);
	return d;
}

static int dir_open(struct dfs_inode *inode, struct dfs_dir **out)
{
	struct dfs_dir *d = calloc(1, sizeof(*d));
	int fd, err;

	if (!d)
		return -ENOMEM;
	fd = openat(inode->path_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* The open directory keeps fd: not one of writeback's. */
	if (fd >= 0 && writeback_fd_reserved(fd)) {
		close(fd);
		fd = -1;
		errno = EMFILE;
	}
	if (fd >= 0 && (d->dp = fdopendir(fd))) {
		pthread_mutex_lock(&open_dirs_lock);
		list_add_tail(&d->open_list, &open_dirs);
		pthread_mutex_unlock(&open_dirs_lock);
		*out = d;
		return 0;
	}
	err = -errno;
	if (fd >= 0)
		close(fd);
	free(d);
	inode_note_error(err);
	return err;
}

void dfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dfs_dir *d = NULL;
	int err = dir_open(inode_get(ino), &d);

	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	handoff_out(d);
	fi->fh = (uintptr_t)d;
	fuse_reply_open(req, fi);
}

/* The next entry of d, or NULL at the end (err 0) or on error (-errno). */
static struct dirent *dir_next(struct dfs_dir *d, int *err)
{
	if (!d->entry) {
		errno = 0;
		d->entry = readdir(d->dp);
		*err = -errno;
	}
	return d->entry;
}

static bool is_dot_or_dotdot(const char *name)
{
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

/*
 * Add one entry at buf (rem bytes left). Returns its size, which is more than
 * rem if it did not fit (and then nothing was added and no lookup is left
 * counted), or -errno.
 */
static ssize_t add_entry(fuse_req_t req, struct dfs_inode *dir,
			 struct dirent *de, char *buf, size_t rem)
{
	struct fuse_entry_param e = { 0 };
	struct dfs_inode *inode = NULL;
	size_t size;
	int err;

	if (is_dot_or_dotdot(de->d_name)) {
		/* e.ino 0: no lookup is counted. */
		e.attr.st_ino = de->d_ino;
		e.attr.st_mode = (mode_t)DTTOIF(de->d_type);
	} else {
		/* nlookup +1, the kernel's once the entry is sent. */
		err = inode_lookup(dir, de->d_name, &e, &inode);
		if (err)
			return err;
	}
	size = fuse_add_direntry_plus(req, buf, rem, de->d_name, &e, de->d_off);
	/* Not sent: undo the lookup. */
	if (size > rem && inode)
		inode_forget(inode, 1);
	return (ssize_t)size;
}

/* Fill buf with entries of d from its current place. Returns the bytes
 * filled, or -errno if an error came before any entry. */
static ssize_t fill_dir(fuse_req_t req, struct dfs_inode *dir,
			struct dfs_dir *d, char *buf, size_t size)
{
	size_t used = 0;
	struct dirent *de;
	ssize_t len;
	int err = 0;

	while ((de = dir_next(d, &err))) {
		len = add_entry(req, dir, de, buf + used, size - used);
		/* Removed behind our back since readdir: skip it. */
		if (len == -ENOENT)
			len = 0;
		else if (len < 0)
			return used ? (ssize_t)used : len;
		else if ((size_t)len > size - used)
			return (ssize_t)used; /* de waits in d->entry */
		used += (size_t)len;
		d->offset = de->d_off;
		d->entry = NULL;
	}
	return used || !err ? (ssize_t)used : err;
}

void dfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct dfs_dir *d = dir_of(fi);
	char *buf = malloc(size);
	ssize_t len;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* The kernel asks from where the last reply ended, unless the
	 * application sought. */
	if (off != d->offset) {
		seekdir(d->dp, off);
		d->offset = off;
		d->entry = NULL;
	}
	len = fill_dir(req, inode_get(ino), d, buf, size);
	if (len < 0)
		fuse_reply_err(req, (int)-len);
	else
		fuse_reply_buf(req, buf, (size_t)len);
	free(buf);
}

void dfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dfs_dir *d = dir_of(fi);

	(void)ino;
	pthread_mutex_lock(&open_dirs_lock);
	list_del_init(&d->open_list);
	pthread_mutex_unlock(&open_dirs_lock);
	closedir(d->dp);
	free(d);
	fuse_reply_err(req, 0);
}

void dir_table_exit(void)
{
	pthread_mutex_lock(&open_dirs_lock);
	while (!list_empty(&open_dirs)) {
		struct dfs_dir *d =
			list_first_entry(&open_dirs, struct dfs_dir, open_list);

		list_del_init(&d->open_list);
		closedir(d->dp);
		free(d);
	}
	pthread_mutex_unlock(&open_dirs_lock);
}

void dfs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		  struct fuse_file_info *fi)
{
	int fd = dirfd(dir_of(fi)->dp);
	int res = datasync ? fdatasync(fd) : fsync(fd);

	(void)ino;
	fuse_reply_err(req, res ? errno : 0);
}
