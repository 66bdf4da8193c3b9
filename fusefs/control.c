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
 * BACKING's root as the xattr trusted.dirtyfs.limits, which the mount never
 * shows: rewritten whole on every change, read at mount.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <syslog.h>

#include "../cgroup/memcg.h"
#include "../cgroup/throttle.h"
#include "../writeback/fault.h"
#include "../writeback/writeback.h"
#include "ctlname.h"
#include "fusefs.h"

#define STORE_NAME CTL_PREFIX "limits"
#define LIMITS_MAX 65536 /* the VFS's largest xattr value */

static enum memcg_limit_kind memcg_kind(enum ctl_limit limit)
{
	return limit == CTL_LIMIT_BACKGROUND ? MEMCG_BACKGROUND : MEMCG_HARD;
}

static void root_xattr_path(char path[64])
{
	inode_proc_path(inode_root(), path);
}

/* Write every limit to BACKING's root. 0 or -errno. */
static int store_limits(void)
{
	char path[64], *buf = malloc(LIMITS_MAX);
	int len, ret = 0;

	if (!buf)
		return -ENOMEM;
	len = memcg_format_limits(buf, LIMITS_MAX);
	root_xattr_path(path);
	if (len < 0)
		ret = len;
	else if (len == 0 && removexattr(path, STORE_NAME) && errno != ENODATA)
		ret = -errno;
	else if (len > 0 && setxattr(path, STORE_NAME, buf, (size_t)len, 0))
		ret = -errno;
	free(buf);
	if (ret)
		dfs_log(LOG_ERR, "cannot keep the limits in %s of BACKING: %s",
			STORE_NAME, strerror(-ret));
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

int control_init(void)
{
	char path[64], *buf = malloc(LIMITS_MAX + 1), *line, *save;
	ssize_t len;

	if (!buf)
		return -ENOMEM;
	root_xattr_path(path);
	len = getxattr(path, STORE_NAME, buf, LIMITS_MAX);
	if (len < 0) {
		free(buf);
		/* Nothing stored yet, or BACKING keeps no trusted xattrs. */
		return errno == ENODATA || errno == ENOTSUP ? 0 : -errno;
	}
	buf[len] = '\0';
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

static int control_set_limit(enum memcg_limit_kind kind, const char *cgpath,
			     const char *value, size_t size)
{
	char text[64];
	struct limit limit;
	int ret;

	if (ctl_parse_value(value, size, text, sizeof(text)) ||
	    parse_limit(text, &limit))
		return -EINVAL;
	ret = memcg_set_limit(cgpath, kind, &limit);
	if (!ret) {
		store_limits();
		throttle_kick(); /* a higher limit may release writers */
	}
	return ret;
}

int control_set(const char *name, const char *value, size_t size)
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
					 size);
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
	ret = memcg_set_limit(cn.cgpath, memcg_kind(cn.limit), NULL);
	if (!ret) {
		store_limits();
		throttle_kick();
	}
	return ret;
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
	int ret = writer_cgroup(fuse_req_ctx(req)->pid, &id);

	if (!ret)
		ret = memcg_path(id, cgpath, sizeof(cgpath));
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
	size_t cap = LIMITS_MAX;
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
	text = malloc(LIMITS_MAX);
	if (!text)
		return -ENOMEM;
	n = memcg_format_limits(text, LIMITS_MAX);
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
