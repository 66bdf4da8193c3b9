// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup/memlimit.c: the memory limit that binds a cgroup, the base of a
 * percentage LIMIT.
 *
 * Limits are read through libcgroup, which knows where the memory
 * controller is mounted (v1 may mount it elsewhere than
 * /sys/fs/cgroup/memory, or co-mount it with others). libcgroup resolves a
 * controller name to the one hierarchy that controller is bound to, so
 * "memory" reaches v2 only where v2 has the memory controller: on a hybrid
 * host the v2 tree has no memory limits at all, and a v2 cgroup there is
 * only checked for existence and bound by physical memory.
 *
 * Fallback: when cgroup_init() fails (it finds no cgroup mount it
 * understands, as in some containers), the files are read directly under
 * /sys/fs/cgroup, where every current init system mounts them.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libcgroup.h>

#include "cgroup_lib.h"

#define SYSFS_CGROUP "/sys/fs/cgroup"
/*
 * At or above this a limit is "unlimited": v1 writes its unlimited as
 * PAGE_COUNTER_MAX pages (9223372036854771712 with 4 KiB pages), and no
 * machine has 4 EiB of memory.
 */
#define UNLIMITED_BYTES (1ULL << 62)

static pthread_once_t libcgroup_once = PTHREAD_ONCE_INIT;
static bool have_libcgroup; /* written once, under libcgroup_once */

static void libcgroup_init(void)
{
	have_libcgroup = cgroup_init() == 0;
}

static int join(char *out, size_t outlen, const char *a, const char *b)
{
	int n = snprintf(out, outlen, "%s%s", a, b);

	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

/* Where v1's memory controller is mounted, per libcgroup if it can tell. */
static int v1_mount(char *dir, size_t len)
{
	char *mnt;
	int ret;

	if (!have_libcgroup)
		return join(dir, len, SYSFS_CGROUP, "/memory");
	if (cgroup_get_subsys_mount_point("memory", &mnt))
		return -ENOENT;
	ret = join(dir, len, mnt, "");
	free(mnt);
	return ret;
}

/*
 * The mount of hierarchy h into dir, and whether its cgroups can have
 * memory limits at all. -ENOENT: h is not mounted.
 */
static int hierarchy_mount(enum cg_hierarchy h, char *dir, size_t len,
			   bool *limited)
{
	bool v2_memory = false;
	int ret;

	ret = cg_unified_root(SYSFS_CGROUP, dir, len, &v2_memory);
	if (ret && ret != -ENOENT)
		return ret;
	if (h == CG_UNIFIED) {
		*limited = v2_memory;
		return ret;
	}
	/* A controller is bound to one hierarchy: in v2, it is not in v1. */
	if (v2_memory)
		return -ENOENT;
	*limited = true;
	return v1_mount(dir, len);
}

static int cgroup_exists(const char *mnt, const char *cgpath)
{
	char dir[PATH_MAX];
	struct stat st;
	int ret;

	ret = join(dir, sizeof(dir), mnt, cgpath);
	if (ret)
		return ret;
	if (stat(dir, &st))
		return errno == ENOTDIR ? -ENOENT : -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOENT;
}

/* libcgroup's error as -errno: ECGOTHER carries the errno behind it. */
static int cgroup_errno(int ret)
{
	if (ret == ECGOTHER && cgroup_get_last_errno())
		return -cgroup_get_last_errno();
	return ret == ECGEOF ? -EINVAL : -EIO;
}

/* mnt/cgpath/name: the file libcgroup would open, or we open without it. */
static int file_of(char *out, size_t outlen, const char *mnt,
		   const char *cgpath, const char *name)
{
	int n = snprintf(out, outlen, "%s%s/%s", mnt, cgpath, name);

	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

/* The first line of file name of cgroup cgpath, through libcgroup. */
static int read_libcgroup(const char *mnt, const char *cgpath, const char *name,
			  char *buf, size_t len)
{
	char file[FILENAME_MAX], var[32];
	void *handle = NULL;
	int ret;

	/* libcgroup builds the same path in FILENAME_MAX and truncates it. */
	ret = file_of(file, sizeof(file), mnt, cgpath, name);
	if (ret)
		return ret;
	snprintf(var, sizeof(var), "%s", name); /* its API takes char * */
	ret = cgroup_read_value_begin("memory", cgpath, var, &handle, buf,
				      (int)len);
	if (handle)
		cgroup_read_value_end(&handle);
	return ret ? cgroup_errno(ret) : 0;
}

/* The same without libcgroup. */
static int read_direct(const char *mnt, const char *cgpath, const char *name,
		       char *buf, size_t len)
{
	char file[PATH_MAX];
	FILE *f;
	int ret;

	ret = file_of(file, sizeof(file), mnt, cgpath, name);
	if (ret)
		return ret;
	f = fopen(file, "re");
	if (!f)
		return -errno;
	ret = fgets(buf, (int)len, f) ? 0 : -EINVAL;
	fclose(f);
	return ret;
}

/* "max", or decimal bytes, with or without the newline. */
static int parse_limit_value(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	char *end;

	if (!strcmp(s, "max\n") || !strcmp(s, "max")) {
		*bytes = UINT64_MAX;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || (*end && strcmp(end, "\n")))
		return -EINVAL;
	*bytes = v >= UNLIMITED_BYTES ? UINT64_MAX : v;
	return 0;
}

/*
 * Cgroup cgpath's own limit, UINT64_MAX for none. A missing file is no
 * limit: v2 has no memory.max in the root, nor where the parent has not
 * enabled the memory controller.
 */
static int own_limit(enum cg_hierarchy h, const char *mnt, const char *cgpath,
		     uint64_t *bytes)
{
	const char *name =
		h == CG_UNIFIED ? "memory.max" : "memory.limit_in_bytes";
	char buf[64];
	int ret;

	if (have_libcgroup)
		ret = read_libcgroup(mnt, cgpath, name, buf, sizeof(buf));
	else
		ret = read_direct(mnt, cgpath, name, buf, sizeof(buf));
	if (ret == -ENOENT) {
		*bytes = UINT64_MAX;
		return 0;
	}
	return ret ? ret : parse_limit_value(buf, bytes);
}

int cg_physical_memory(uint64_t *bytes)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || page <= 0)
		return -EINVAL;
	*bytes = (uint64_t)pages * (uint64_t)page;
	return 0;
}

/*
 * The smallest limit on the way from cgpath up to the root: a child may be
 * set above its parent, but it can never use more than the parent allows.
 */
static int walk_up(enum cg_hierarchy h, const char *mnt, const char *cgpath,
		   uint64_t *bytes)
{
	char path[CGPATH_MAX];
	uint64_t own;
	int ret;

	memcpy(path, cgpath, strlen(cgpath) + 1);
	do {
		ret = own_limit(h, mnt, path, &own);
		if (ret)
			return ret;
		if (own < *bytes)
			*bytes = own;
	} while (!cg_path_parent(path, path, sizeof(path)));
	return 0;
}

/* Where cgpath of h is (mnt), and whether h limits memory: 0, or -ENOENT
 * for a cgroup or hierarchy not there, -EINVAL for a malformed cgpath. */
static int locate(enum cg_hierarchy h, const char *cgpath, char *mnt,
		  size_t len, bool *limited)
{
	int ret;

	if (!cg_path_valid(cgpath, strlen(cgpath)))
		return -EINVAL;
	pthread_once(&libcgroup_once, libcgroup_init);
	ret = hierarchy_mount(h, mnt, len, limited);
	return ret ? ret : cgroup_exists(mnt, cgpath);
}

int cg_memory_limit(enum cg_hierarchy h, const char *cgpath, uint64_t *bytes)
{
	char mnt[PATH_MAX];
	uint64_t limit;
	bool limited;
	int ret = locate(h, cgpath, mnt, sizeof(mnt), &limited);

	if (!ret)
		ret = cg_physical_memory(&limit);
	if (!ret && limited)
		ret = walk_up(h, mnt, cgpath, &limit);
	if (!ret)
		*bytes = limit;
	return ret;
}

int cg_memory_limit_under(enum cg_hierarchy h, const char *cgpath,
			  uint64_t parent_bytes, uint64_t *bytes)
{
	char mnt[PATH_MAX];
	uint64_t own = UINT64_MAX;
	bool limited;
	int ret = locate(h, cgpath, mnt, sizeof(mnt), &limited);

	if (!ret && limited)
		ret = own_limit(h, mnt, cgpath, &own);
	if (!ret)
		*bytes = own < parent_bytes ? own : parent_bytes;
	return ret;
}
