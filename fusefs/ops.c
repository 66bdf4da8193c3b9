// SPDX-License-Identifier: GPL-2.0
/*
 * The FUSE operations table and the connection's capabilities.
 */
#include "fusefs.h"

void dfs_init(void *userdata, struct fuse_conn_info *conn)
{
	const struct dfs_options *opts = userdata;

	/*
	 * WRITEBACK_CACHE: writes must come from the writer (its pid names
	 * the cgroup to charge, its reply is what a throttle holds), not
	 * from the kernel's flusher.
	 * HANDLE_KILLPRIV: version 1 makes the kernel leave clearing setuid
	 * to us on every write; version 2, which transport.c negotiates,
	 * tells us when.
	 * AUTO_INVAL_DATA: every change goes through this mount, so the
	 * kernel's page cache of a file stays right across opens.
	 * EXPORT_SUPPORT: no lookups of "." and ".." (inode_lookup refuses).
	 * READDIRPLUS_AUTO: there is no plain readdir; readdirplus always.
	 */
	conn->want &= ~(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_HANDLE_KILLPRIV |
			FUSE_CAP_AUTO_INVAL_DATA | FUSE_CAP_EXPORT_SUPPORT |
			FUSE_CAP_READDIRPLUS_AUTO);
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	/* POSIX_ACL: without it the kernel checks the mode bits alone, and
	 * an ACL in BACKING that grants or denies a user is ignored on the
	 * mount. With it the kernel reads the system.posix_acl_* xattrs,
	 * which BACKING keeps and interprets (mode sync, inheritance). */
	if (conn->capable & FUSE_CAP_POSIX_ACL)
		conn->want |= FUSE_CAP_POSIX_ACL;
	/* DONT_MASK: the caller's umask is ours to apply (create_mode in
	 * namei.c), as under a default ACL it must not be. */
	if (conn->capable & FUSE_CAP_DONT_MASK)
		conn->want |= FUSE_CAP_DONT_MASK;
	/* The kernel copies a whole request without a preemption point:
	 * smaller requests keep one writer from holding a CPU as long
	 * (max_write in the man page). Said in the INIT reply, so that
	 * libfuse's buffers keep room for any other request. */
	conn->max_write = DFS_MAX_WRITE;
	transport_set_max_write((uint32_t)opts->max_write_bytes);
}

/* The unmount's writeback is main's, after the session loop has ended. */
void dfs_destroy(void *userdata)
{
	(void)userdata;
}

const struct fuse_lowlevel_ops dfs_ops = {
	.init = dfs_init,
	.destroy = dfs_destroy,
	.lookup = dfs_lookup,
	.forget = dfs_forget,
	.forget_multi = dfs_forget_multi,
	.getattr = dfs_getattr,
	.setattr = dfs_setattr,
	.access = dfs_access,
	.statfs = dfs_statfs,
	.readlink = dfs_readlink,
	.mknod = dfs_mknod,
	.mkdir = dfs_mkdir,
	.symlink = dfs_symlink,
	.link = dfs_link,
	.unlink = dfs_unlink,
	.rmdir = dfs_rmdir,
	.rename = dfs_rename,
	.create = dfs_create,
	.open = dfs_open,
	.read = dfs_read,
	.write = dfs_write,
	.flush = dfs_flush,
	.release = dfs_release,
	.fsync = dfs_fsync,
	.fallocate = dfs_fallocate,
	.lseek = dfs_lseek,
	.opendir = dfs_opendir,
	.readdirplus = dfs_readdirplus,
	.releasedir = dfs_releasedir,
	.fsyncdir = dfs_fsyncdir,
	.setxattr = dfs_setxattr,
	.getxattr = dfs_getxattr,
	.listxattr = dfs_listxattr,
	.removexattr = dfs_removexattr,
};
