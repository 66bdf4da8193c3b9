/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fusefs/log.c: the daemon's messages, to syslog in the background and to
 * stderr ("dirtyfs: ...") in the foreground, from any thread and any
 * subsystem (writeback's errors too, so that a daemon run with -f shows
 * them where its user looks).
 */
#ifndef DIRTYFS_LOG_H
#define DIRTYFS_LOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

void dfs_log(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * A message that can repeat without end (a failed write of every dirty
 * file while BACKING is full) is said at most burst times an interval, as
 * the kernel's printk_ratelimited; the first one said after a quiet spell
 * is preceded by the count of those left out. One per message site.
 */
struct dfs_ratelimit {
	pthread_mutex_t lock; /* a leaf: nothing is taken under it */
	uint64_t interval_ns, begin_ns;
	unsigned int burst, said, missed;
};

#define DFS_RATELIMIT_INIT(interval_ns_, burst_) \
	{ \
		.lock = PTHREAD_MUTEX_INITIALIZER, \
		.interval_ns = interval_ns_, .burst = burst_ \
	}

/* The kernel's default: ten messages in five seconds. */
#define DFS_RATELIMIT_DEFAULT DFS_RATELIMIT_INIT(5000000000ULL, 10)

/* dfs_log, unless rs has said burst messages this interval. Returns
 * whether it logged. */
bool dfs_log_ratelimited(struct dfs_ratelimit *rs, int prio, const char *fmt,
			 ...) __attribute__((format(printf, 3, 4)));
/* Send dfs_log's and libfuse's messages to syslog from now on. */
void dfs_log_to_syslog(void);

#endif
