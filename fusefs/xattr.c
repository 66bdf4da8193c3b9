// SPDX-License-Identifier: GPL-2.0
/*
 * Extended attributes: BACKING's, and dirtyfs's control names on the root.
 *
 * BACKING's are reached through /proc/self/fd/N of the inode's O_PATH
 * descriptor with the path calls that follow links: the magic link leads to
 * the object itself, so for a symlink they act on the link, as l*xattr would
 * (the l* calls would act on the magic link instead and fail).
 *
 * Names under "trusted.dirtyfs." and "user.dirtyfs." are dirtyfs's own and
 * never reach BACKING. On any inode but the root they are refused with
 * ENOTSUP, so a control request never lands on a tenant's file; on the root
 * they are the control plane (control.c). Listings leave BACKING's copies
 * out; the root's shows the limits set, to privileged callers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <linux/xattr.h>

#include "fusefs.h"

#define CTL_SYNC "trusted.dirtyfs.sync"
#define CTL_STAT "trusted.dirtyfs.stat"

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static bool is_reserved(const char *name)
{
	return has_prefix(name, "trusted.dirtyfs.") ||
	       has_prefix(name, "user.dirtyfs.");
}

/* Reply with len bytes of value to a request for size bytes (0: the
 * length only), as getxattr and listxattr do. */
static void reply_value(fuse_req_t req, const char *value, size_t len,
			size_t size)
{
	if (!size)
		fuse_reply_xattr(req, len);
	else if (len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, value, len);
}

static bool is_acl(const char *name)
{
	return !strcmp(name, XATTR_NAME_POSIX_ACL_ACCESS) ||
	       !strcmp(name, XATTR_NAME_POSIX_ACL_DEFAULT);
}

static void backing_setxattr(fuse_req_t req, struct dfs_inode *inode,
			     const char *name, const char *value, size_t size,
			     int flags)
{
	char path[64];
	int err = 0;

	inode_proc_path(inode, path);
	if (setxattr(path, name, value, size, flags))
		err = -errno;
	else if (!strcmp(name, XATTR_NAME_POSIX_ACL_ACCESS))
		err = attr_acl_kill_sgid(inode);
	if (!err)
		inode_ctime_changed(inode);
	fuse_reply_err(req, -err);
}

/* --- handlers ---------------------------------------------------------- */

void dfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  const char *value, size_t size, int flags)
{
	if (is_reserved(name) && ino != FUSE_ROOT_ID) {
		fuse_reply_err(req, ENOTSUP);
	} else if (is_reserved(name)) {
		fuse_reply_err(req, -control_set(name, value, size, flags));
	} else {
		backing_setxattr(req, inode_get(ino), name, value, size, flags);
	}
}

static void backing_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			     size_t size)
{
	char path[64], *buf = NULL;
	ssize_t len;

	inode_proc_path(inode_get(ino), path);
	if (size) {
		buf = malloc(size);
		if (!buf) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
	}
	len = getxattr(path, name, buf, size);
	/*
	 * A BACKING without POSIX ACLs (ramfs, ext4 -o noacl) refuses their
	 * names with EOPNOTSUPP. The kernel (FUSE_CAP_POSIX_ACL) reads the
	 * access ACL to check anyone's access but the owner's, and fails the
	 * check with any error but ENODATA: every such access would fail,
	 * even one the mode bits allow. There is no ACL: ENODATA says so.
	 */
	if (len < 0 && errno == EOPNOTSUPP && is_acl(name))
		errno = ENODATA;
	if (len < 0)
		fuse_reply_err(req, errno);
	else
		reply_value(req, buf, (size_t)len, size);
	free(buf);
}

void dfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	if (!is_reserved(name))
		backing_getxattr(req, ino, name, size);
	else if (ino == FUSE_ROOT_ID)
		control_get(req, name, size);
	else
		fuse_reply_err(req, ENOTSUP);
}

/* Drop reserved names from a list of len bytes of NUL-ended names; returns
 * the new length. */
static size_t filter_reserved(char *list, size_t len)
{
	size_t in = 0, out = 0;

	while (in < len) {
		size_t n = strnlen(list + in, len - in) + 1;

		if (!is_reserved(list + in)) {
			memmove(list + out, list + in, n);
			out += n;
		}
		in += n;
	}
	return out;
}

/* BACKING's whole list of names at path into *out (malloc'd). Returns its
 * length or -errno. */
static ssize_t read_list(const char *path, char **out)
{
	for (;;) {
		ssize_t len = listxattr(path, NULL, 0);
		char *list;

		if (len <= 0) {
			*out = NULL;
			return len < 0 ? -errno : 0;
		}
		list = malloc((size_t)len);
		if (!list)
			return -ENOMEM;
		len = listxattr(path, list, (size_t)len);
		if (len >= 0) {
			*out = list;
			return len;
		}
		free(list);
		/* ERANGE: a name was added since the first call. */
		if (errno != ERANGE)
			return -errno;
	}
}

/* The whole list is read even for a length query: the reply's length must
 * leave out the reserved names. */
void dfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char path[64], *list;
	ssize_t len;

	inode_proc_path(inode_get(ino), path);
	len = read_list(path, &list);
	if (len >= 0)
		len = (ssize_t)filter_reserved(list, (size_t)len);
	if (len >= 0 && ino == FUSE_ROOT_ID)
		len = control_list(req, &list, (size_t)len);
	if (len < 0)
		fuse_reply_err(req, (int)-len);
	else
		reply_value(req, list, (size_t)len, size);
	free(list);
}

void dfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	char path[64];

	if (is_reserved(name)) {
		fuse_reply_err(req, ino == FUSE_ROOT_ID ?
					    -control_remove(name) :
					    ENOTSUP);
		return;
	}
	inode_proc_path(inode_get(ino), path);
	if (removexattr(path, name)) {
		fuse_reply_err(req, errno);
		return;
	}
	inode_ctime_changed(inode_get(ino));
	fuse_reply_err(req, 0);
}
