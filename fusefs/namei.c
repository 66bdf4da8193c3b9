// SPDX-License-Identifier: GPL-2.0
/*
 * Names: lookup and forget, and the calls that make, link, rename or remove
 * a directory entry. Every name is one component under the parent's O_PATH
 * descriptor (inode_check_name), so nothing reaches outside BACKING.
 *
 * Calls that make a backing object run with the caller's credentials
 * (creds.c), so it gets the caller's owner and group; the kernel has checked
 * the permissions on the mount already (default_permissions).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <linux/xattr.h>
#include <unistd.h>

#include "fusefs.h"

void dfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	struct dfs_inode *inode;
	int err = inode_lookup(inode_get(parent), name, &e, &inode);

	if (err == -ENOENT) {
		/* Every change goes through this mount, so the kernel may
		 * cache the absence of a name as long as a name. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = DFS_TIMEOUT_S;
		fuse_reply_entry(req, &e);
	} else if (err) {
		fuse_reply_err(req, -err);
	} else {
		/* The lookup's nlookup +1 goes to the kernel with e. */
		fuse_reply_entry(req, &e);
	}
}

void dfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	/* The kernel gives back nlookup of the lookups it was sent. */
	inode_forget(inode_get(ino), nlookup);
	fuse_reply_none(req);
}

void dfs_forget_multi(fuse_req_t req, size_t count,
		      struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		inode_forget(inode_get(forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

/* Reply to a call that made name under dir (err 0) or failed (-errno). */
static void reply_made(fuse_req_t req, struct dfs_inode *dir, const char *name,
		       int err)
{
	struct fuse_entry_param e;
	struct dfs_inode *inode;

	if (!err)
		err = inode_lookup(dir, name, &e, &inode);
	if (err)
		fuse_reply_err(req, -err);
	else
		/* The lookup's nlookup +1 goes to the kernel with e. */
		fuse_reply_entry(req, &e);
}

/*
 * The mode to create a node with under dir. BACKING applies dir's default
 * ACL, if it has one, in place of the umask, as the kernel does for a
 * filesystem with ACLs; else the caller's umask applies, which the kernel
 * leaves to us (DONT_MASK) and the daemon's own (0) would not.
 */
static mode_t create_mode(fuse_req_t req, struct dfs_inode *dir, mode_t mode)
{
	char path[64];

	inode_proc_path(dir, path);
	if (getxattr(path, XATTR_NAME_POSIX_ACL_DEFAULT, NULL, 0) > 0)
		return mode;
	return mode & ~fuse_req_ctx(req)->umask;
}

/* mknod, mkdir or symlink (by the type in mode) as the caller. 0/-errno. */
static int make_node(fuse_req_t req, struct dfs_inode *dir, const char *name,
		     mode_t mode, dev_t rdev, const char *link)
{
	struct creds_saved saved;
	int res, err = inode_check_new(dir, name);

	mode = create_mode(req, dir, mode);
	/* The new node's inode keeps a descriptor. */
	if (!err)
		err = inode_check_descriptors(1);
	if (!err)
		err = creds_enter(req, &saved);
	if (err)
		return err;
	if (S_ISDIR(mode))
		res = mkdirat(dir->path_fd, name, mode & ~S_IFMT);
	else if (S_ISLNK(mode))
		res = symlinkat(link, dir->path_fd, name);
	else
		res = mknodat(dir->path_fd, name, mode, rdev);
	err = res ? -errno : 0;
	creds_leave(&saved);
	return err;
}

void dfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       dev_t rdev)
{
	struct dfs_inode *dir = inode_get(parent);

	reply_made(req, dir, name, make_node(req, dir, name, mode, rdev, NULL));
}

void dfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct dfs_inode *dir = inode_get(parent);

	reply_made(req, dir, name,
		   make_node(req, dir, name, S_IFDIR | mode, 0, NULL));
}

void dfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		 const char *name)
{
	struct dfs_inode *dir = inode_get(parent);

	reply_made(req, dir, name, make_node(req, dir, name, S_IFLNK, 0, link));
}

/* A new name for inode, through its O_PATH descriptor. 0 or -errno. */
static int link_inode(struct dfs_inode *inode, struct dfs_inode *dir,
		      const char *name)
{
	char path[64];

	if (!linkat(inode->path_fd, "", dir->path_fd, name, AT_EMPTY_PATH))
		return 0;
	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH, which a thread acting as
	 * a caller other than root has not: it fails with ENOENT. */
	if (errno != ENOENT)
		return -errno;
	inode_proc_path(inode, path);
	if (linkat(AT_FDCWD, path, dir->path_fd, name, AT_SYMLINK_FOLLOW))
		return -errno;
	return 0;
}

void dfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent,
	      const char *name)
{
	struct dfs_inode *dir = inode_get(parent);
	struct creds_saved saved;
	int err = inode_check_new(dir, name);

	/* As the caller: BACKING's protected_hardlinks checks apply to it. */
	if (!err)
		err = creds_enter(req, &saved);
	if (!err) {
		err = link_inode(inode_get(ino), dir, name);
		creds_leave(&saved);
	}
	if (!err)
		inode_ctime_changed(inode_get(ino));
	/* The new name's lookup finds the same inode: its nlookup +1 is the
	 * one the kernel counts for a link reply. */
	reply_made(req, dir, name, err);
}

static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name,
			int flags)
{
	struct dfs_inode *dir = inode_get(parent), *inode = NULL;
	int err = inode_check_existing(dir, name);

	/* Only a file's ctime is kept (inode_find_file): rmdir looks none up. */
	if (!err && !(flags & AT_REMOVEDIR))
		inode = inode_find_file(dir, name);
	if (!err && unlinkat(dir->path_fd, name, flags))
		err = -errno;
	if (!err)
		inode_ctime_changed(inode); /* its link count */
	inode_unref(inode);
	fuse_reply_err(req, -err);
}

/* Dirty data of a file unlinked while open is still written back, into the
 * unlinked backing file that its inode's descriptor keeps. */
void dfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, 0);
}

void dfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, AT_REMOVEDIR);
}

void dfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct dfs_inode *moved = NULL, *replaced = NULL;
	int err = inode_check_existing(inode_get(parent), name);

	if (!err)
		err = inode_check_new(inode_get(newparent), newname);
	/* RENAME_WHITEOUT is for overlay filesystems, which never stack on
	 * a FUSE mount's upper layer. */
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		err = -EINVAL;
	if (!err) {
		moved = inode_find_file(inode_get(parent), name);
		replaced = inode_find_file(inode_get(newparent), newname);
	}
	if (!err && renameat2(inode_get(parent)->path_fd, name,
			      inode_get(newparent)->path_fd, newname, flags))
		err = -errno;
	/* The renamed inode's ctime moves, and the replaced one's (its link
	 * count, or its name in an exchange). */
	if (!err) {
		inode_ctime_changed(moved);
		inode_ctime_changed(replaced);
	}
	inode_unref(moved);
	inode_unref(replaced);
	fuse_reply_err(req, -err);
}

void dfs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[PATH_MAX + 1];
	ssize_t len = readlinkat(inode_get(ino)->path_fd, "", buf, sizeof(buf));

	if (len < 0) {
		fuse_reply_err(req, errno);
	} else if ((size_t)len == sizeof(buf)) {
		fuse_reply_err(req, ENAMETOOLONG);
	} else {
		buf[len] = '\0';
		fuse_reply_readlink(req, buf);
	}
}

/*
 * Create the backing file as the caller, and close it again: file_attach
 * opens the data descriptors through the cache. O_TRUNC is left out here
 * because BACKING must not be truncated behind the cache (file_attach does
 * it through the cache); the access mode stays so that a file that exists
 * already is opened with the caller's rights. Those include write for
 * O_TRUNC, even with O_RDONLY: file_attach truncates as the daemon, and
 * the kernel checked only the directory for a name it held absent. So
 * O_RDONLY | O_TRUNC opens O_RDWR, which asks for read and write as the
 * kernel's own open would. O_NONBLOCK keeps a FIFO put there behind our
 * back from blocking the worker.
 *
 * *created says whether this call made the file, which file_attach needs:
 * the kernel sends create also for a name that BACKING got behind our back.
 * So O_EXCL first; on EEXIST the plain O_CREAT open finds the file, or
 * makes it again if it was unlinked in between, a race that only costs
 * file_attach a truncate of an empty file.
 */
static int create_backing(fuse_req_t req, struct dfs_inode *dir,
			  const char *name, mode_t mode, int flags,
			  bool *created)
{
	int oflags = (flags & O_ACCMODE) | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
		     O_CLOEXEC;
	struct creds_saved saved;
	int fd, err = inode_check_new(dir, name);

	if ((flags & O_TRUNC) && (flags & O_ACCMODE) == O_RDONLY)
		oflags = (oflags & ~O_ACCMODE) | O_RDWR;
	mode = create_mode(req, dir, mode);
	/* Its inode and its open file (file_attach) keep three. */
	if (!err)
		err = inode_check_descriptors(INODE_MAX_NEW_FDS);
	if (!err)
		err = creds_enter(req, &saved);
	if (err)
		return err;
	fd = openat(dir->path_fd, name, oflags | O_EXCL, mode);
	*created = fd >= 0;
	if (fd < 0 && errno == EEXIST && !(flags & O_EXCL))
		fd = openat(dir->path_fd, name, oflags, mode);
	err = fd < 0 ? -errno : 0;
	creds_leave(&saved);
	if (fd >= 0)
		close(fd);
	return err;
}

void dfs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		mode_t mode, struct fuse_file_info *fi)
{
	struct dfs_inode *dir = inode_get(parent);
	struct fuse_entry_param e;
	struct dfs_inode *inode;
	bool created;
	int err = create_backing(req, dir, name, mode, fi->flags, &created);

	/* nlookup +1 on success. */
	if (!err)
		err = inode_lookup(dir, name, &e, &inode);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	/* Not a regular file: one put in BACKING behind our back. */
	err = S_ISREG(inode->type) ? file_attach(req, inode, fi, created) :
				     -EEXIST;
	if (err) {
		/* The kernel never sees this lookup: undo its nlookup +1. */
		inode_forget(inode, 1);
		fuse_reply_err(req, -err);
		return;
	}
	/* The kernel sends create only for a name it believes absent, but
	 * BACKING may have it: then file_attach has truncated it for O_TRUNC,
	 * which set its times (and cleared setuid and setgid if asked), and e
	 * must say so. */
	if (fi->flags & O_TRUNC) {
		e.attr.st_size = 0;
		e.attr.st_blocks = 0;
		if (!created || transport_kills_suidgid())
			inode_stat(inode, &e.attr);
	}
	/* nlookup +1 goes to the kernel with e; fi->fh holds a reference of
	 * its own (file_attach). */
	fuse_reply_create(req, &e, fi);
}
