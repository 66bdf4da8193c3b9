// SPDX-License-Identifier: GPL-2.0
/*
 * Attributes: getattr and setattr of the backing object (size and times of
 * regular files through the cache, which may be ahead of BACKING), access,
 * and statfs.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fusefs.h"

#define SET_TIMES \
	(FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME | \
	 FUSE_SET_ATTR_MTIME_NOW)

static void reply_stat(fuse_req_t req, struct dfs_inode *inode)
{
	struct stat st;
	int err = inode_stat(inode, &st);

	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_attr(req, &st, DFS_TIMEOUT_S);
}

void dfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	reply_stat(req, inode_get(ino));
}

/* For a symlink, chmod on its /proc path reaches the link itself and fails
 * with EOPNOTSUPP, as lchmod does. */
static int set_mode(struct dfs_inode *inode, mode_t mode)
{
	char path[64];

	inode_proc_path(inode, path);
	if (chmod(path, mode & 07777))
		return -errno;
	inode_ctime_changed(inode);
	return 0;
}

static int set_owner(struct dfs_inode *inode, const struct stat *attr,
		     int to_set)
{
	uid_t uid = to_set & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t)-1;
	gid_t gid = to_set & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t)-1;

	if (fchownat(inode->path_fd, "", uid, gid,
		     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	inode_ctime_changed(inode);
	return 0;
}

static int set_size(struct dfs_inode *inode, off_t size)
{
	if (S_ISDIR(inode->type))
		return -EISDIR;
	if (!S_ISREG(inode->type))
		return -EINVAL;
	return file_truncate(inode, (uint64_t)size);
}

/* One utimensat time from the request: NOW wins over a given time. */
static struct timespec time_arg(int to_set, int set, int now,
				struct timespec ts)
{
	if (to_set & now)
		return (struct timespec){ .tv_nsec = UTIME_NOW };
	if (to_set & set)
		return ts;
	return (struct timespec){ .tv_nsec = UTIME_OMIT };
}

static int set_times(struct dfs_inode *inode, const struct stat *attr,
		     int to_set)
{
	struct timespec ts[2] = {
		time_arg(to_set, FUSE_SET_ATTR_ATIME, FUSE_SET_ATTR_ATIME_NOW,
			 attr->st_atim),
		time_arg(to_set, FUSE_SET_ATTR_MTIME, FUSE_SET_ATTR_MTIME_NOW,
			 attr->st_mtim),
	};

	/* A file with dirty data reports the cache's mtime: set both. */
	if (S_ISREG(inode->type))
		return mapping_utimens(&inode->mapping, inode->path_fd, ts);
	if (utimensat(inode->path_fd, "", ts,
		      AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	return 0;
}

/* If the request asks it (transport_kills_suidgid), clear the bits of the
 * inode's mode that killed(mode) names. 0 or -errno. */
static int kill_mode_bits(struct dfs_inode *inode, mode_t (*killed)(mode_t))
{
	struct stat st;
	mode_t bits;

	if (!transport_kills_suidgid())
		return 0;
	if (fstatat(inode->path_fd, "", &st,
		    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	bits = killed(st.st_mode) & st.st_mode;
	return bits ? set_mode(inode, st.st_mode & ~bits) : 0;
}

/* By a write, truncate or chown: setuid, and setgid where the group may
 * execute (without, setgid marks mandatory locking: kept); files only. */
static mode_t write_kills(mode_t mode)
{
	if (!S_ISREG(mode))
		return 0;
	return S_ISUID | (mode & S_IXGRP ? S_ISGID : 0);
}

/* By an access ACL set: setgid, whatever the type. */
static mode_t acl_kills(mode_t mode)
{
	(void)mode;
	return S_ISGID;
}

int attr_kill_suidgid(struct dfs_inode *inode)
{
	return kill_mode_bits(inode, write_kills);
}

int attr_acl_kill_sgid(struct dfs_inode *inode)
{
	return kill_mode_bits(inode, acl_kills);
}

/* Changes apply in the order of chmod, chown, truncate, clearing setuid and
 * setgid, and utimes; the first error stops there and is the reply. */
void dfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		 struct fuse_file_info *fi)
{
	struct dfs_inode *inode = inode_get(ino);
	int err = 0;

	(void)fi;
	if (to_set & FUSE_SET_ATTR_MODE)
		err = set_mode(inode, attr->st_mode);
	if (!err && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
		err = set_owner(inode, attr, to_set);
	if (!err && (to_set & FUSE_SET_ATTR_SIZE))
		err = set_size(inode, attr->st_size);
	if (!err)
		err = attr_kill_suidgid(inode);
	if (!err && (to_set & SET_TIMES))
		err = set_times(inode, attr, to_set);
	if (err)
		fuse_reply_err(req, -err);
	else
		reply_stat(req, inode);
}

/*
 * The mount always has default_permissions: the kernel checks the mode bits
 * itself and never sends ACCESS. Should one come, the kernel's own check has
 * passed already, and BACKING holds the same modes.
 */
void dfs_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	(void)ino;
	(void)mask;
	fuse_reply_err(req, 0);
}

/* Count bytes of sv's free space as used, in its fragment-size units. */
static void take_free_bytes(struct statvfs *sv, uint64_t bytes)
{
	uint64_t unit = sv->f_frsize ? sv->f_frsize : sv->f_bsize;
	fsblkcnt_t n = unit ? (fsblkcnt_t)((bytes + unit - 1) / unit) : 0;

	sv->f_bfree = sv->f_bfree > n ? sv->f_bfree - n : 0;
	sv->f_bavail = sv->f_bavail > n ? sv->f_bavail - n : 0;
}

/*
 * Of the filesystem that holds ino (BACKING may have mounts inside it),
 * less the cache's data that BACKING has not stored yet: df right after a
 * write shows the space it will take, as on a filesystem that allocates at
 * writeback. The whole cache counts against whichever filesystem is asked
 * about, and an overwrite of blocks BACKING has counts until written back:
 * the free space shown errs low, never high.
 */
void dfs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	/* First: data written back between the two reads then counts twice,
	 * not in neither. */
	uint64_t unwritten = cache_unwritten_bytes();
	struct statvfs sv;

	if (fstatvfs(inode_get(ino)->path_fd, &sv)) {
		fuse_reply_err(req, errno);
		return;
	}
	take_free_bytes(&sv, unwritten);
	fuse_reply_statfs(req, &sv);
}
