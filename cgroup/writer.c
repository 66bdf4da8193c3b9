// SPDX-License-Identifier: GPL-2.0
/*
 * Who wrote: the cgroup of a FUSE request's pid, through a pid cache so the
 * steady state costs a hash lookup, not a /proc read (cgroup_lib.h says why
 * a ttl, and what a move or a pid reuse costs).
 */
#include <errno.h>

#include "../writeback/writeback.h"
#include "memcg.h"

/* A writer moved to another cgroup is charged to the new one within this. */
#define WRITER_TTL_NS (1000 * 1000 * 1000ULL)
/* Each entry keeps a descriptor of its task (cgroup_lib.h): writer threads
 * past this many cost a /proc read each, not descriptors without end. */
#define WRITER_CACHE_ENTRIES 1024

static struct cg_pid_cache writers;

/*
 * Entries keep their descriptors only in the lower half of those below
 * writeback's reserve: writers, however many and short-lived, leave the
 * upper half to lookups, creates and opens (300 writers in a second took
 * every descriptor of a 256 limit, and creates failed EMFILE). Past it an
 * entry has only the ttl.
 */
static bool writer_keep_fd(int fd)
{
	return !writeback_fd_reserved(2 * fd);
}

int writer_init(enum cg_hierarchy hier)
{
	int ret = cg_pid_cache_init(&writers, hier, WRITER_TTL_NS,
				    WRITER_CACHE_ENTRIES);

	writers.keep_fd = writer_keep_fd;
	return ret;
}

void writer_exit(void)
{
	cg_pid_cache_destroy(&writers);
}

void writer_expire(void)
{
	cg_pid_cache_expire(&writers, now_ns());
}

int writer_cgroup(pid_t pid, char *buf, size_t size)
{
	int ret;

	if (pid <= 0)
		return -ESRCH;
	ret = cg_pid_cache_lookup(&writers, pid, now_ns(), buf, size);
	if (!ret)
		cg_path_clamp_depth(buf, MEMCG_MAX_DEPTH);
	return ret;
}
