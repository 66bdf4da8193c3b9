// SPDX-License-Identifier: GPL-2.0
/* The descriptor reserve; see writeback.h. */
#include <limits.h>
#include <sys/resource.h>

#include "writeback.h"

/* An eighth of the limit on open files, at most this many. */
#define RESERVE_SHARE 8
#define RESERVE_MAX 128

/* The first reserved descriptor number (INT_MAX: none yet); set before any
 * other thread runs, read-only afterwards. */
static int reserve_from = INT_MAX;
static unsigned int reserved;

unsigned int writeback_reserve_fds(void)
{
	struct rlimit rl;
	rlim_t n;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > INT_MAX)
		return reserved;
	n = rl.rlim_cur / RESERVE_SHARE;
	reserved = (unsigned int)(n < RESERVE_MAX ? n : RESERVE_MAX);
	reserve_from = (int)(rl.rlim_cur - reserved);
	return reserved;
}

unsigned int writeback_reserve_size(void)
{
	return reserved;
}

bool writeback_fd_reserved(int fd)
{
	return fd >= reserve_from;
}
