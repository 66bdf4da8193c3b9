/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fusefs/: the FUSE low-level filesystem stacked over BACKING.
 *
 * Inodes are keyed by the backing (st_dev, st_ino) and hold an O_PATH
 * descriptor of the backing object, so renames in the tree never confuse
 * them. Every path resolution is one component under a parent's O_PATH fd
 * with O_NOFOLLOW: nothing resolves outside BACKING.
 *
 * LIFETIME
 * An inode is referenced by: the kernel (one reference while nlookup > 0),
 * each open file description (struct dfs_file), and the page cache while the
 * inode has dirty or writeback pages (cache a_ops ihold/iput). It is freed,
 * and its mapping destroyed, when the last reference goes.
 *
 * LOCK ORDER
 *   struct address_space.lock   (cache/cache.h, and what follows it there)
 *   inode table lock (inode.c)  -- innermost: a reference (a_ops ihold) is
 *                                  taken under the writeback list lock and
 *                                  memcg_lock; no lock is taken under it
 */
#ifndef DIRTYFS_FUSEFS_H
#define DIRTYFS_FUSEFS_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uthash.h>

#include "../cache/cache.h"
#include "log.h"
#include "options.h"

struct inode_key {
	dev_t dev;
	ino_t ino;
};

struct dfs_inode {
	UT_hash_handle hh; /* in the inode table, by key */
	struct inode_key key;
	int path_fd; /* O_PATH | O_NOFOLLOW, owned; -1 once shed */
	mode_t type; /* S_IFMT bits of the backing object */
	uint64_t nlookup; /* kernel lookup count; inode table lock */
	uint64_t refcount; /* see LIFETIME; inode table lock */
	unsigned int nr_open; /* open file descriptions; atomic */
	struct address_space mapping; /* regular files: cached data */
};

/* An open file description (fi->fh of open/create). */
struct dfs_file {
	struct list_head open_list; /* all open files (file.c) */
	struct dfs_inode *inode; /* holds a reference */
	uint32_t err_seen; /* mapping.err_seq when last reported */
	char *opener_cgroup; /* CGPATH of the opener, or NULL if unknown */
};

/* --- inode.c ----------------------------------------------------------- */
/* Entry and attribute timeout of every reply, in seconds. */
#define DFS_TIMEOUT_S 1.0

/* Open BACKING (the root inode). Before the session starts. 0 or -errno. */
int inode_table_init(const char *backing_dir);
/*
 * Once the session has ended (no request comes any more) and held writes
 * are answered (no page becomes dirty any more), before the final
 * writeback: close the descriptors that served only the kernel, which is
 * gone, so that writeback finds free the ones it opens, however many inodes
 * the kernel had looked up. Every inode's but the root's and those of files
 * with data to write back: O_PATH (path_fd is -1 afterwards) and data.
 */
void inode_table_shed(void);
/* Free every inode; only once the session is destroyed. */
void inode_table_exit(void);
struct dfs_inode *inode_root(void);
/* nodeid <-> inode; FUSE_ROOT_ID is the root. */
struct dfs_inode *inode_get(fuse_ino_t ino);
fuse_ino_t inode_nodeid(const struct dfs_inode *inode);
/*
 * Look name up under parent (one component, O_NOFOLLOW), find or create the
 * inode and fill e (attributes through mapping_fixup_stat, timeouts). On
 * success nlookup is incremented by one: the caller must reply with e or
 * undo it with inode_forget(inode, 1). 0 or -errno.
 */
int inode_lookup(struct dfs_inode *parent, const char *name,
		 struct fuse_entry_param *e, struct dfs_inode **out);
/* A lookup, create or open failed with err (-errno): if for want of a
 * descriptor (-EMFILE), say so in the log, at most once a minute. */
void inode_note_error(int err);
/* 0, or -EINVAL for a name that is not one child: "", ".", "..", "a/b". */
int inode_check_name(const char *name);
/* Names starting with DFS_OWN_PREFIX in BACKING's root are dirtyfs's own
 * files (the stored limits, control.c), hidden from the mount. */
#define DFS_OWN_PREFIX ".dirtyfs."
/* inode_check_name, and -ENOENT for one of dirtyfs's own names: for names
 * looked up or removed in dir. */
int inode_check_existing(const struct dfs_inode *dir, const char *name);
/* inode_check_name, and -EPERM for one of dirtyfs's own names: for names
 * made in dir. */
int inode_check_new(const struct dfs_inode *dir, const char *name);
/* 0, or -EMFILE (-errno) when fewer than n descriptors (at most
 * INODE_MAX_NEW_FDS) are free outside writeback's reserve: a call that
 * makes a name checks before making it, so that at the limit it fails as
 * open(2) does, with nothing made. Other threads can take descriptors in
 * between; a later refusal still fails the call, leaving the name. */
#define INODE_MAX_NEW_FDS 3
int inode_check_descriptors(unsigned int n);
void inode_forget(struct dfs_inode *inode, uint64_t nlookup);
/* A file description of inode was closed: file_discard_if_unlinked once
 * the kernel has forgotten the inode too (else its forget does: an O_PATH
 * descriptor, say, can still open it through /proc/self/fd). */
void inode_file_closed(struct dfs_inode *inode);
void inode_ref(struct dfs_inode *inode);
/* NULL-safe, as free(). */
void inode_unref(struct dfs_inode *inode);
/* The inode already in the table for the regular file name in dir, with a
 * reference (inode_unref), or NULL: the file whose ctime a namespace change
 * is about to move, found before the name moves. Only files are looked up,
 * as only a mapping keeps a ctime of its own. */
struct dfs_inode *inode_find_file(const struct dfs_inode *dir,
				  const char *name);
/* BACKING changed inode's ctime (chmod, chown, xattrs, link count, name):
 * call after the change. NULL-safe. */
void inode_ctime_changed(struct dfs_inode *inode);
/* fstat the backing object and overlay cached size and times. 0/-errno. */
int inode_stat(struct dfs_inode *inode, struct stat *st);
/* "/proc/self/fd/N" for a path-taking syscall on an O_PATH fd. */
void inode_proc_path(const struct dfs_inode *inode, char buf[64]);
extern const struct address_space_operations dfs_aops;

/* --- creds.c: act with the caller's fsuid, fsgid and groups ------------- */
struct creds_saved {
	bool switched;
};
/* Record the daemon's credentials, once, before any worker runs. 0/-errno. */
int creds_init(void);
/* Act as the caller in this thread until creds_leave() on the same thread,
 * which may also follow a failed creds_enter() (it then changed nothing).
 * 0 or -errno. */
int creds_enter(fuse_req_t req, struct creds_saved *saved);
void creds_leave(struct creds_saved *saved);

/* --- transport.c: libfuse's I/O on /dev/fuse ------------------------- */
/* Read and write the session's requests through transport.c, once mounted
 * and before the session loop. 0 or -errno. */
int transport_attach(struct fuse_session *se);
/* Whether the request this worker is serving asks the filesystem to clear
 * setuid and setgid (a write, truncate or O_TRUNC open by a caller without
 * CAP_FSETID, and chown; FUSE_HANDLE_KILLPRIV_V2), or, for a SETXATTR, setgid
 * (an access ACL set by a caller outside the group without CAP_FSETID;
 * FUSE_SETXATTR_ACL_KILL_SGID). */
bool transport_kills_suidgid(void);
/* The max_write that INIT's reply gives the kernel (from dfs_init, before
 * that reply); libfuse's request buffers keep room for DFS_MAX_WRITE. */
void transport_set_max_write(uint32_t bytes);

/* --- handlers, one file per group (the fuse_lowlevel_ops table is in
 *     ops.c). Each replies exactly once on every path. --------------------- */
extern const struct fuse_lowlevel_ops dfs_ops;
void dfs_init(void *userdata, struct fuse_conn_info *conn);
void dfs_destroy(void *userdata);

/* namei.c */
void dfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void dfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void dfs_forget_multi(fuse_req_t req, size_t count,
		      struct fuse_forget_data *forgets);
void dfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       dev_t rdev);
void dfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
	       mode_t mode);
void dfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		 const char *name);
void dfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent,
	      const char *name);
void dfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void dfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void dfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		fuse_ino_t newparent, const char *newname, unsigned int flags);
void dfs_readlink(fuse_req_t req, fuse_ino_t ino);
/* Create the backing file with the caller's credentials and look it up. */
void dfs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		mode_t mode, struct fuse_file_info *fi);

/* attr.c */
void dfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void dfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		 struct fuse_file_info *fi);
void dfs_access(fuse_req_t req, fuse_ino_t ino, int mask);
/* If transport_kills_suidgid(): clear setuid, and setgid where the group may
 * execute (as the kernel does for a write by a caller without CAP_FSETID).
 * 0 or -errno. */
int attr_kill_suidgid(struct dfs_inode *inode);
/* Once an access ACL is set: if transport_kills_suidgid(), clear setgid, as
 * the kernel's posix_acl_update_mode does. 0 or -errno. */
int attr_acl_kill_sgid(struct dfs_inode *inode);
void dfs_statfs(fuse_req_t req, fuse_ino_t ino);

/* dir.c */
void dfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void dfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi);
void dfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void dfs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		  struct fuse_file_info *fi);
/* After the session ended: close the directories the kernel never released
 * (it sends no RELEASEDIR once unmounted or killed). */
void dir_table_exit(void);

/* xattr.c: BACKING's xattrs, and the control names on the root. */
void dfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  const char *value, size_t size, int flags);
void dfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  size_t size);
void dfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void dfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

/* control.c: the control names on the root (see there). */
/* Load the limits kept in BACKING. 0 or -errno. */
int control_init(void);
/* setxattr of a control name; flags (XATTR_CREATE, XATTR_REPLACE) apply to
 * limits, whose value is kept: the others are actions. 0 or -errno. */
int control_set(const char *name, const char *value, size_t size, int flags);
int control_remove(const char *name);
/* Replies to the getxattr. */
void control_get(fuse_req_t req, const char *name, size_t size);
/* Append the root's control names for req's caller to *list (len bytes,
 * malloc'd, may be moved). The new length or -errno. */
ssize_t control_list(fuse_req_t req, char **list, size_t len);

/* file.c: file data through the page cache. */
/* Attach a struct dfs_file to fi for inode (open or create by req's
 * caller, whose cgroup is remembered for writes without a pid); created:
 * create made the backing file just now. 0/-errno. */
int file_attach(fuse_req_t req, struct dfs_inode *inode,
		struct fuse_file_info *fi, bool created);
void dfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void dfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	      struct fuse_file_info *fi);
void dfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
	       off_t off, struct fuse_file_info *fi);
/* Writes held before the cache keep at most bytes of data aside (0 until
 * set: none is held there). */
void file_set_early_budget(uint64_t bytes);
void dfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void dfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void dfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
	       struct fuse_file_info *fi);
void dfs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		   off_t length, struct fuse_file_info *fi);
void dfs_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
	       struct fuse_file_info *fi);
/* A regular file that is unlinked, closed and forgotten by the kernel:
 * nobody can read its data again, so its dirty pages are dropped instead of
 * written to an orphan. No lock held. */
void file_discard_if_unlinked(struct dfs_inode *inode);
/* setattr's size change of a regular file. 0/-errno. */
int file_truncate(struct dfs_inode *inode, uint64_t size);
/* After the session ended: free the descriptions the kernel never released
 * (it sends no RELEASE once unmounted or killed). Before inode_table_exit. */
void file_table_exit(void);

/* --- cli.c: the stat, sync and limit subcommands (main thread only) ----- */
/* Their usage text, for --help; it begins with an empty line. */
extern const char cli_usage[];
/* If argv[0] names a subcommand, run it with its arguments argv[1..argc):
 * its exit status, 0 or 1 (after a message). -1 if it names none. */
int cli_main(int argc, char *argv[]);

#endif
