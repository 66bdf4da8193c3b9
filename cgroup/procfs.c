// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup/procfs.c: which cgroup a writer is in. The hierarchy that names
 * cgroups (cgroup= option), the text of /proc/PID/cgroup, the CGPATH rules,
 * and a pid -> CGPATH cache in front of /proc.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A failed hash insert frees the entry instead of exiting the daemon. */
#define HASH_NONFATAL_OOM 1
#include <uthash.h>

#include "cgroup_lib.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* linux/pidfd.h, 6.9 */
#endif

/* Largest file read whole: /proc/PID/cgroup of a deep v1 host is ~50 KiB. */
#define READ_MAX_BYTES (1U << 20)

struct cg_pid_entry {
	pid_t pid; /* hash key */
	uint64_t read_ns; /* when path was read from /proc */
	int task_fd; /* open_task's descriptor of the task read, or -1 */
	UT_hash_handle hh;
	char path[]; /* NUL-terminated CGPATH */
};

/* Double *buf (starting at 4 KiB), up to READ_MAX_BYTES. */
static int grow(char **buf, size_t *size)
{
	size_t want = *size ? *size * 2 : 4096;
	char *b;

	if (want > READ_MAX_BYTES)
		return -EFBIG;
	b = realloc(*buf, want);
	if (!b)
		return -ENOMEM;
	*buf = b;
	*size = want;
	return 0;
}

/* Read fd to EOF into a malloc'ed *buf. */
static int read_fd(int fd, char **buf, size_t *len)
{
	size_t size = 0, got = 0;
	char *b = NULL;
	ssize_t n;
	int ret;

	for (;;) {
		ret = got == size ? grow(&b, &size) : 0;
		if (ret)
			break;
		n = read(fd, b + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n ? -errno : 0;
			break;
		}
		got += (size_t)n;
	}
	if (ret) {
		free(b);
		return ret;
	}
	*buf = b;
	*len = got;
	return 0;
}

/*
 * The whole of a /proc or cgroupfs file into a malloc'ed *buf that the
 * caller frees. Their text is made at read time and stat() says nothing of
 * its size, so read until EOF.
 */
static int read_whole(const char *path, char **buf, size_t *len)
{
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = read_fd(fd, buf, len);
	close(fd);
	return ret;
}

/* Is word one of the seps-separated tokens of s[0..len)? */
static bool has_token(const char *s, size_t len, const char *word,
		      const char *seps)
{
	size_t wlen = strlen(word), nseps = strlen(seps), i = 0, n;

	while (i <= len) {
		for (n = 0; i + n < len && !memchr(seps, s[i + n], nseps); n++)
			;
		if (n == wlen && !memcmp(s + i, word, wlen))
			return true;
		i += n + 1;
	}
	return false;
}

static int join(char *out, size_t outlen, const char *a, const char *b)
{
	int n = snprintf(out, outlen, "%s%s", a, b);

	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

int cg_unified_root(const char *sysfs_root, char *out, size_t outlen,
		    bool *has_memory)
{
	/* Pure v2 first: there sysfs_root itself is the cgroup2 mount. */
	static const char *const subdirs[] = { "", "/unified" };
	char file[PATH_MAX], *buf;
	size_t i, len;
	int ret;

	for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		ret = join(out, outlen, sysfs_root, subdirs[i]);
		if (!ret)
			ret = join(file, sizeof(file), out,
				   "/cgroup.controllers");
		if (!ret)
			ret = read_whole(file, &buf, &len);
		if (ret == -ENOENT)
			continue;
		if (ret)
			return ret;
		*has_memory = has_token(buf, len, "memory", " \n");
		free(buf);
		return 0;
	}
	return -ENOENT;
}

static int file_exists(const char *path, bool *out)
{
	struct stat st;

	if (stat(path, &st) == 0) {
		*out = S_ISREG(st.st_mode);
		return 0;
	}
	*out = false;
	return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
}

/*
 * cgroup=auto takes the hierarchy where percentage limits find the memory
 * limit that applies:
 *   1. v2, if the memory controller is enabled in the v2 root (its
 *      cgroup.controllers lists "memory": a pure v2 host);
 *   2. else v1's memory controller, if it is mounted at sysfs_root/memory
 *      (v1 and hybrid hosts): its root has memory.limit_in_bytes, where
 *      an empty directory (a container's, or one unmounted) would give no
 *      memory limit to read, and every percentage would come to 0;
 *   3. else v2 (no memory controller anywhere: every limit is physical
 *      memory, and v2 paths at least name the writer's cgroup).
 * cgroup=unified and cgroup=memory take that hierarchy, or fail with
 * -ENOENT when it is not mounted.
 */
int cg_choose_hierarchy(enum cgroup_mode mode, const char *sysfs_root,
			enum cg_hierarchy *out)
{
	char path[PATH_MAX];
	bool v2_memory = false, v1_memory;
	int ret, v2_ret;

	v2_ret = cg_unified_root(sysfs_root, path, sizeof(path), &v2_memory);
	if (v2_ret && v2_ret != -ENOENT)
		return v2_ret;
	ret = join(path, sizeof(path), sysfs_root,
		   "/memory/memory.limit_in_bytes");
	if (!ret)
		ret = file_exists(path, &v1_memory);
	if (ret)
		return ret;
	switch (mode) {
	case CGROUP_MODE_AUTO:
		*out = v2_memory || !v1_memory ? CG_UNIFIED : CG_MEMORY_V1;
		return 0;
	case CGROUP_MODE_UNIFIED:
		if (v2_ret)
			return v2_ret;
		*out = CG_UNIFIED;
		return 0;
	case CGROUP_MODE_MEMORY:
		if (!v1_memory)
			return -ENOENT;
		*out = CG_MEMORY_V1;
		return 0;
	}
	return -EINVAL;
}

/* One line of /proc/PID/cgroup: "ID:CONTROLLERS:PATH". */
struct proc_line {
	bool id_zero; /* ID is "0": the v2 line */
	const char *ctrl; /* comma-separated controllers, "" for v2 */
	size_t ctrl_len;
	const char *path; /* the rest of the line: PATH may contain ':' */
	size_t path_len;
};

static int split_line(const char *s, size_t len, struct proc_line *l)
{
	const char *c1 = memchr(s, ':', len), *c2, *p;

	if (!c1 || c1 == s)
		return -EINVAL;
	for (p = s; p < c1; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - s));
	if (!c2)
		return -EINVAL;
	l->id_zero = c1 - s == 1 && s[0] == '0';
	l->ctrl = c1 + 1;
	l->ctrl_len = (size_t)(c2 - l->ctrl);
	l->path = c2 + 1;
	l->path_len = len - (size_t)(l->path - s);
	return 0;
}

/*
 * v2 is "0::PATH". v1 memory is the line whose controller list holds
 * exactly "memory" (co-mounted as "cpu,memory" still counts, while
 * "name=memory", a named hierarchy without controllers, does not).
 */
static bool line_is(const struct proc_line *l, enum cg_hierarchy h)
{
	if (h == CG_UNIFIED)
		return l->id_zero && l->ctrl_len == 0;
	return !l->id_zero && has_token(l->ctrl, l->ctrl_len, "memory", ",");
}

static int copy_cgpath(const char *s, size_t len, char *out, size_t outlen)
{
	if (len >= outlen || len >= CGPATH_MAX)
		return -ENAMETOOLONG;
	if (!cg_path_valid(s, len))
		return -EINVAL;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/*
 * Every line is checked, not only up to the one wanted: a malformed line
 * means the text is not what we think it is, so none of it is trusted.
 */
int cg_parse_proc_cgroup(const char *content, size_t len, enum cg_hierarchy h,
			 char *out, size_t outlen)
{
	const char *p = content, *end = content + len, *nl;
	struct proc_line l, found = { 0 };
	int ret;

	if (h != CG_UNIFIED && h != CG_MEMORY_V1)
		return -EINVAL;
	if (len && memchr(content, '\0', len))
		return -EINVAL;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		ret = split_line(p, nl ? (size_t)(nl - p) : (size_t)(end - p),
				 &l);
		if (ret)
			return ret;
		if (!found.path && line_is(&l, h))
			found = l;
		p = nl ? nl + 1 : end;
	}
	if (!found.path)
		return -ENOENT;
	return copy_cgpath(found.path, found.path_len, out, outlen);
}

int cg_read_pid_cgroup(pid_t pid, enum cg_hierarchy h, char *out, size_t outlen)
{
	char path[32], *buf;
	size_t len;
	int ret;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	ret = read_whole(path, &buf, &len);
	/* /proc/PID goes once the task is reaped; reads fail ESRCH before. */
	if (ret == -ENOENT)
		return -ESRCH;
	if (ret)
		return ret;
	ret = cg_parse_proc_cgroup(buf, len, h, out, outlen);
	free(buf);
	return ret;
}

static bool component_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	if (s[0] != '.')
		return true;
	return !(n == 1 || (n == 2 && s[1] == '.'));
}

bool cg_path_valid(const char *s, size_t len)
{
	const char *slash;
	size_t start, stop;

	if (len == 0 || len >= CGPATH_MAX || s[0] != '/')
		return false;
	if (len == 1)
		return true;
	/* The kernel refuses '\n' in a cgroup's name, and dirtyfs keeps its
	 * limits and lists its cgroups one a line. */
	if (memchr(s, '\0', len) || memchr(s, '\n', len))
		return false;
	/* Each component runs from after a '/' to the next '/' or the end. */
	for (start = 1; start <= len; start = stop + 1) {
		slash = memchr(s + start, '/', len - start);
		stop = slash ? (size_t)(slash - s) : len;
		if (!component_ok(s + start, stop - start))
			return false;
	}
	return true;
}

bool cg_path_clamp_depth(char *path, unsigned int max_depth)
{
	unsigned int depth = 0;
	char *p;

	if (!strcmp(path, "/"))
		return false;
	for (p = path; (p = strchr(p, '/')); p++) {
		if (depth++ == max_depth) {
			/* The root's own '/' stays: "/a" at 0 -> "/". */
			p[p == path] = '\0';
			return true;
		}
	}
	return false;
}

int cg_path_parent(const char *path, char *out, size_t outlen)
{
	size_t len = strlen(path);
	const char *slash;

	if (len == 0 || path[0] != '/')
		return -EINVAL;
	if (len == 1)
		return -ENOENT;
	slash = memrchr(path, '/', len);
	len = slash == path ? 1 : (size_t)(slash - path);
	if (len >= outlen)
		return -ENAMETOOLONG;
	memmove(out, path, len);
	out[len] = '\0';
	return 0;
}

int cg_pid_cache_init(struct cg_pid_cache *c, enum cg_hierarchy h,
		      uint64_t ttl_ns, size_t max_entries)
{
	if (max_entries == 0)
		return -EINVAL;
	c->table = NULL;
	c->nr_entries = 0;
	c->max_entries = max_entries;
	c->ttl_ns = ttl_ns;
	c->hier = h;
	c->read = cg_read_pid_cgroup;
	c->open_task = cg_open_task;
	c->keep_fd = NULL;
	return -pthread_mutex_init(&c->lock, NULL);
}

int cg_open_task(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, PIDFD_THREAD);

	/* Before 6.9 only a process's pidfd, of a leader: its pid is not
	 * freed before the whole process has gone. */
	if (fd < 0 && errno == EINVAL)
		fd = (int)syscall(SYS_pidfd_open, pid, 0);
	return fd;
}

/* Whether the task behind fd (open_task's) has exited: it polls readable. */
static bool task_exited(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

/* Caller holds c->lock. */
static void drop(struct cg_pid_cache *c, struct cg_pid_entry *e)
{
	HASH_DEL(c->table, e);
	if (e->task_fd >= 0)
		close(e->task_fd);
	free(e);
	c->nr_entries--;
}

void cg_pid_cache_destroy(struct cg_pid_cache *c)
{
	struct cg_pid_entry *e;

	while ((e = c->table))
		drop(c, e); /* HASH_DEL must not be handed the head itself */
	pthread_mutex_destroy(&c->lock);
}

/* Caller holds c->lock. */
static struct cg_pid_entry *find(struct cg_pid_cache *c, pid_t pid)
{
	struct cg_pid_entry *e;

	HASH_FIND(hh, c->table, &pid, sizeof(pid), e);
	return e;
}

/*
 * Caller holds c->lock. Replaces pid's entry, so that the table stays in
 * read order and its head is the entry to evict; the entry keeps task_fd
 * (-1: none). Out of memory, pid is simply not cached.
 */
static void store(struct cg_pid_cache *c, pid_t pid, const char *path,
		  uint64_t now_ns, int task_fd)
{
	struct cg_pid_entry *e = find(c, pid);
	size_t len = strlen(path);

	if (e)
		drop(c, e);
	if (c->nr_entries >= c->max_entries) {
		e = c->table; /* HASH_DEL must not be handed the head itself */
		drop(c, e);
	}
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		goto fail;
	e->pid = pid;
	e->read_ns = now_ns;
	e->task_fd = task_fd;
	memcpy(e->path, path, len + 1);
	HASH_ADD(hh, c->table, pid, sizeof(e->pid), e);
	if (!e->hh.tbl) {
		free(e);
		goto fail;
	}
	c->nr_entries++;
	return;
fail:
	if (task_fd >= 0)
		close(task_fd);
}

/* A descriptor of pid's task for an entry to keep, or -1. */
static int open_task(const struct cg_pid_cache *c, pid_t pid)
{
	int fd = c->open_task ? c->open_task(pid) : -1;

	if (fd >= 0 && c->keep_fd && !c->keep_fd(fd)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* A clock that went backwards counts as expired: re-reading is safe. */
static bool fresh(const struct cg_pid_cache *c, const struct cg_pid_entry *e,
		  uint64_t now_ns)
{
	return now_ns >= e->read_ns && now_ns - e->read_ns < c->ttl_ns;
}

static int copy_out(const char *path, char *out, size_t outlen)
{
	size_t len = strlen(path);

	if (len >= outlen)
		return -ENAMETOOLONG;
	memcpy(out, path, len + 1);
	return 0;
}

void cg_pid_cache_expire(struct cg_pid_cache *c, uint64_t now_ns)
{
	struct cg_pid_entry *e;

	pthread_mutex_lock(&c->lock);
	/* In read order: the head is the oldest. */
	while ((e = c->table) && !fresh(c, e, now_ns))
		drop(c, e);
	pthread_mutex_unlock(&c->lock);
}

int cg_pid_cache_lookup(struct cg_pid_cache *c, pid_t pid, uint64_t now_ns,
			char *out, size_t outlen)
{
	struct cg_pid_entry *e;
	char path[CGPATH_MAX];
	bool hit;
	int ret, task_fd;

	pthread_mutex_lock(&c->lock);
	e = find(c, pid);
	hit = e && fresh(c, e, now_ns) &&
	      (e->task_fd < 0 || !task_exited(e->task_fd));
	ret = hit ? copy_out(e->path, out, outlen) : 0;
	pthread_mutex_unlock(&c->lock);
	if (hit)
		return ret;

	/* The task first, then its cgroup: if it is still there after the
	 * read, the read was of it and not of a successor with its pid. The
	 * /proc read runs unlocked: hits on other threads go on. */
	task_fd = open_task(c, pid);
	ret = c->read(pid, c->hier, path, sizeof(path));
	if (!ret && task_fd >= 0 && task_exited(task_fd))
		ret = -ESRCH;
	pthread_mutex_lock(&c->lock);
	e = find(c, pid);
	if (ret && e)
		drop(c, e);
	if (!ret)
		store(c, pid, path, now_ns, task_fd);
	else if (task_fd >= 0)
		close(task_fd);
	pthread_mutex_unlock(&c->lock);
	return ret ? ret : copy_out(path, out, outlen);
}
