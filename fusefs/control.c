// SPDX-License-Identifier: GPL-2.0
/*
 * The control plane: dirtyfs's extended attributes on the mount root
 * (../shared/interface.md).
 *
 *   trusted.dirtyfs.dirty_limit:CGPATH             get, set, remove
 *   trusted.dirtyfs.dirty_background_limit:CGPATH  get, set, remove
 *   trusted.dirtyfs.stat[:CGPATH]                  get
 *   trusted.dirtyfs.cgroups                        get
 *   trusted.dirtyfs.sync                           set CGPATH
 *   user.dirtyfs.stat                              get (anyone)
 *
 * The VFS lets only CAP_SYS_ADMIN callers (of the initial user namespace)
 * reach trusted.* names. Every other name under the two prefixes is
 * reserved; ctlname.c says which kind a name is. Limits persist in
 * BACKING's root as the file .dirtyfs.limits, which the mount never shows
 * (DFS_OWN_PREFIX): rewritten whole on every change (a new file renamed
 * over the old, so a crash leaves one or the other), read at mount. A file,
 * not an xattr: ext4 keeps at most a block of xattrs an inode, about a
 * hundred limits, and a thousand cgroups with limits are expected.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <syslog.h>
#include <unistd.h>

#include "../cgroup/memcg.h"
#include "../cgroup/throttle.h"
#include "../writeback/fault.h"
#include "../writeback/writeback.h"
#include "ctlname.h"
#include "fusefs.h"

#define STORE_FILE DFS_OWN_PREFIX "limits"
#define STORE_NEW DFS_OWN_PREFIX "limits.new"
#define LIMITS_BUF 65536 /* the first guess; grown as the limits need */
#define XATTR_VALUE_MAX 65536 /* the VFS's largest xattr value */

/* One change of the limits at a time, from the registry to the store: a
 * change that cannot be stored is undone before another is made (the order
 * of the limits in the store is the registry's at formatting time). */
static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;

static enum memcg_limit_kind memcg_kind(enum ctl_limit limit)
{
	return limit == CTL_LIMIT_BACKGROUND ? MEMCG_BACKGROUND : MEMCG_HARD;
}

/* Every limit set, as "NAME:CGPATH VALUE" lines, into a buffer to free.
 * The length, or -ENOMEM. */
static int format_limits(char **out)
{
	size_t size = LIMITS_BUF;

	for (;;) {
		char *buf = malloc(size);
		int len;

		if (!buf)
			return -ENOMEM;
		len = memcg_format_limits(buf, size);
		if (len >= 0) {
			*out = buf;
			return len;
		}
		free(buf);
		if (len != -ERANGE || size > INT32_MAX / 2)
			return len;
		size *= 2;
	}
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Replace the store in BACKING's root with len bytes of text (none: remove
 * it). Store lock held. 0 or -errno. */
static int store_write(const char *text, int len)
{
	int dir = inode_root()->path_fd, fd, ret;

	if (len == 0)
		return unlinkat(dir, STORE_FILE, 0) && errno != ENOENT ?
			       -errno :
			       0;
	fd = openat(dir, STORE_NEW,
		    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return -errno;
	ret = write_all(fd, text, (size_t)len);
	if (!ret && fdatasync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && renameat(dir, STORE_NEW, dir, STORE_FILE))
		ret = -errno;
	if (ret)
		unlinkat(dir, STORE_NEW, 0);
	return ret;
}

/* Write every limit to BACKING's root. Store lock held. 0 or -errno. */
static int store_limits(void)
{
	char *text = NULL;
	int len, ret;

	len = format_limits(&text);
	ret = len < 0 ? len : store_write(text, len);
	free(text);
	if (ret)
		dfs_log(LOG_ERR, "cannot keep the limits in %s of BACKING: %s",
			STORE_FILE, strerror(-ret));
	return ret;
}

/* Apply one stored "NAME:CGPATH VALUE" line. A CGPATH may hold spaces; a
 * value never does: it starts after the last one. */
static void load_line(char *line)
{
	char full[512], *value = strrchr(line, ' ');
	struct ctl_name cn;
	struct limit limit;

	if (!value)
		return;
	*value++ = '\0';
	snprintf(full, sizeof(full), CTL_PREFIX "%s", line);
	if (ctl_parse_name(full, &cn) || cn.kind != CTL_LIMIT ||
	    parse_limit(value, &limit) ||
	    memcg_set_limit(cn.cgpath, memcg_kind(cn.limit), &limit))
		dfs_log(LOG_ERR, "ignoring stored limit %s %s", line, value);
}

/* The whole store, NUL-ended, into a buffer to free; NULL with *err 0 if
 * there is none. BACKING's root is ours to keep the file in: nothing else
 * writes it while mounted. */
static char *store_read(int *err)
{
	int fd = openat(inode_root()->path_fd, STORE_FILE,
			O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	size_t len = 0;
	struct stat st;
	char *buf;

	*err = fd < 0 && errno != ENOENT ? -errno : 0;
	if (fd < 0)
		return NULL;
	buf = fstat(fd, &st) ? NULL : malloc((size_t)st.st_size + 1);
	*err = buf ? 0 : -errno;
	while (buf && len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		/* Shorter than fstat said (changed meanwhile): EIO, not a
		 * stale errno. */
		if (n <= 0) {
			*err = n < 0 ? -errno : -EIO;
			break;
		}
		len += (size_t)n;
	}
	if (!buf || len < (size_t)st.st_size) {
		free(buf);
		buf = NULL;
	} else {
		buf[len] = '\0';
	}
	close(fd);
	return buf;
}

int control_init(void)
{
	char *buf, *line, *save;
	int err;

	buf = store_read(&err);
	if (!buf)
		return err;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		load_line(line);
	free(buf);
	return 0;
}

/* --- set and remove ------------------------------------------------------ */

static int control_sync(const char *value, size_t size)
{
	struct address_space **v;
	char cgpath[CGPATH_MAX];
	ssize_t nr;

	if (ctl_parse_value(value, size, cgpath, sizeof(cgpath)) ||
	    !cg_path_valid(cgpath, strlen(cgpath)))
		return -EINVAL;
	if (!strcmp(cgpath, "/"))
		return writeback_sync_all();
	nr = memcg_mappings_of(cgpath, &v);
	if (nr == -ENOENT)
		return memcg_exists(cgpath) ? 0 : -ENOENT;
	return nr < 0 ? (int)nr : writeback_sync_mappings(v, (size_t)nr);
}

/*
 * Set (limit != NULL) or remove cgpath's own limit, and store the change.
 * A change that cannot be stored (BACKING full or read-only) is undone and
 * fails with the store's error: a limit that would be gone after a remount
 * must not seem set. flags: setxattr(2)'s XATTR_CREATE (EEXIST if set) and
 * XATTR_REPLACE (ENODATA if not), checked under the lock that orders
 * changes.
 */
static int change_limit(enum memcg_limit_kind kind, const char *cgpath,
			const struct limit *limit, int flags)
{
	struct limit old;
	bool had;
	int ret;

	pthread_mutex_lock(&store_lock);
	had = !memcg_get_limit(cgpath, kind, &old);
	if (had && flags & XATTR_CREATE)
		ret = -EEXIST;
	else if (!had && flags & XATTR_REPLACE)
		ret = -ENODATA;
	else if (!(ret = memcg_set_limit(cgpath, kind, limit)) &&
		 (ret = store_limits()))
		memcg_set_limit(cgpath, kind, had ? &old : NULL);
	pthread_mutex_unlock(&store_lock);
	if (!ret)
		throttle_kick(); /* a higher limit may release writers */
	return ret;
}

static int control_set_limit(enum memcg_limit_kind kind, const char *cgpath,
			     const char *value, size_t size, int flags)
{
	char text[64];
	struct limit limit;

	if (ctl_parse_value(value, size, text, sizeof(text)) ||
	    parse_limit(text, &limit))
		return -EINVAL;
	return change_limit(kind, cgpath, &limit, flags);
}

int control_set(const char *name, const char *value, size_t size, int flags)
{
	struct ctl_name cn;

	if (ctl_parse_name(name, &cn))
		return -EINVAL;
	switch (cn.kind) {
	case CTL_SYNC:
		return control_sync(value, size);
#ifdef DIRTYFS_FAULT_INJECTION
	case CTL_FAULT:
		return wb_fault_set(value, size);
#endif
	case CTL_USER_STAT:
		return -EPERM; /* statistics are read-only, for anyone */
	case CTL_LIMIT:
		return control_set_limit(memcg_kind(cn.limit), cn.cgpath, value,
					 size, flags);
	default:
		return -EINVAL; /* read-only or reserved (fault: test builds) */
	}
}

/* Only limits can be removed; any other name has nothing to remove. */
int control_remove(const char *name)
{
	struct ctl_name cn;
	int ret = ctl_parse_name(name, &cn);

	if (cn.kind != CTL_LIMIT)
		return -ENODATA;
	if (ret)
		return ret;
	return change_limit(memcg_kind(cn.limit), cn.cgpath, NULL, 0);
}

/* --- get and list -------------------------------------------------------- */

static int global_stat(char *buf, size_t size)
{
	struct cache_stats st;
	int len;

	cache_get_stats(&st);
	len = snprintf(buf, size,
		       "cache_bytes %" PRIu64 "\ncache_size %" PRIu64
		       "\ndirty %" PRIu64 "\nwriteback %" PRIu64
		       "\nwritten %" PRIu64 "\nshared_inodes %" PRIu64 "\n",
		       st.cache_bytes, st.cache_size, st.dirty, st.writeback,
		       st.written, memcg_shared_inodes());
	return (size_t)len < size ? len : -ERANGE;
}

/* Statistics of the valid cgpath; an existing cgroup not tracked yet is
 * tracked. */
static int cgroup_stat(const char *cgpath, char *buf, size_t size)
{
	cgroup_id_t id;
	int len;

	len = memcg_format_stat(cgpath, buf, size);
	if (len != -ENODATA)
		return len;
	if (!memcg_exists(cgpath))
		return -ENOENT;
	len = memcg_id(cgpath, &id);
	return len ? len : memcg_format_stat(cgpath, buf, size);
}

static int caller_stat(fuse_req_t req, char *buf, size_t size)
{
	char cgpath[CGPATH_MAX];
	cgroup_id_t id;
	int ret = writer_cgroup(fuse_req_ctx(req)->pid, cgpath, sizeof(cgpath));

	if (!ret)
		ret = memcg_id(cgpath, &id); /* tracked from now on */
	return ret ? ret : memcg_format_stat(cgpath, buf, size);
}

static int limit_value(const struct ctl_name *cn, char *buf, size_t size)
{
	struct limit limit;
	int ret = memcg_get_limit(cn->cgpath, memcg_kind(cn->limit), &limit);

	return ret ? ret : limit_format(&limit, buf, size);
}

/*
 * The value of a control name into buf: its length or -errno. A limit
 * name with a malformed CGPATH has no value (ENODATA); a statistics name
 * with one is an error (EINVAL). Write-only and reserved names: ENODATA.
 */
static int control_value(fuse_req_t req, const char *name, char *buf,
			 size_t size)
{
	struct ctl_name cn;
	int ret = ctl_parse_name(name, &cn);

	switch (cn.kind) {
	case CTL_STAT:
		return global_stat(buf, size);
	case CTL_STAT_CGROUP:
		return ret ? ret : cgroup_stat(cn.cgpath, buf, size);
	case CTL_USER_STAT:
		return caller_stat(req, buf, size);
	case CTL_CGROUPS:
		return memcg_format_list(buf, size);
	case CTL_LIMIT:
		return ret ? -ENODATA : limit_value(&cn, buf, size);
	default:
		return -ENODATA;
	}
}

void control_get(fuse_req_t req, const char *name, size_t size)
{
	size_t cap = XATTR_VALUE_MAX;
	char *buf = malloc(cap);
	int len;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	len = control_value(req, name, buf, cap);
	if (len < 0)
		fuse_reply_err(req, -len);
	else if (!size)
		fuse_reply_xattr(req, (size_t)len);
	else if ((size_t)len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, (size_t)len);
	free(buf);
}

/* Does the caller have CAP_SYS_ADMIN in the initial user namespace? The
 * kernel checks that for trusted.* names, but not for listxattr. */
static bool caller_is_admin(fuse_req_t req)
{
	const unsigned long long cap_sys_admin = 1ULL << 21;
	char path[64], line[256];
	unsigned long long caps = 0;
	struct stat ours, theirs;
	pid_t pid = fuse_req_ctx(req)->pid;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", pid);
	if (pid <= 0 || stat(path, &theirs) ||
	    stat("/proc/self/ns/user", &ours) || theirs.st_ino != ours.st_ino)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(f);
	return caps & cap_sys_admin;
}

/*
 * Append the names of the limits set (as NUL-ended names) to list, which
 * holds len bytes of size; for privileged callers only. Returns the new
 * length, or -ERANGE/-ENOMEM.
 */
ssize_t control_list(fuse_req_t req, char **list, size_t len)
{
	char *text, *line, *save, *grown;
	ssize_t out = (ssize_t)len;
	int n;

	if (!caller_is_admin(req))
		return out;
	n = format_limits(&text);
	if (n < 0)
		return n;
	for (line = n > 0 ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *value = strrchr(line, ' ');
		size_t add;

		if (value)
			*value = '\0';
		add = strlen(CTL_PREFIX) + strlen(line) + 1;
		grown = realloc(*list, (size_t)out + add);
		if (!grown) {
			out = -ENOMEM;
			break;
		}
		*list = grown;
		snprintf(grown + out, add, CTL_PREFIX "%s", line);
		out += (ssize_t)add;
	}
	free(text);
	return out;
}
