/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fusefs/log.c: the daemon's messages, to syslog in the background and to
 * stderr ("dirtyfs: ...") in the foreground, from any thread and any
 * subsystem (writeback's errors too, so that a daemon run with -f shows
 * them where its user looks).
 */
#ifndef DIRTYFS_LOG_H
#define DIRTYFS_LOG_H

#include <syslog.h>

void dfs_log(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Send dfs_log's and libfuse's messages to syslog from now on. */
void dfs_log_to_syslog(void);

#endif
