// SPDX-License-Identifier: GPL-2.0
/*
 * Messages of the daemon: to stderr while it runs in the foreground (the
 * terminal, mount(8) or a test harness reads them), to syslog once it has
 * gone to the background and stderr is /dev/null.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <syslog.h>

#include "fusefs.h"

static bool use_syslog;

void dfs_log(int prio, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (use_syslog)
		syslog(prio, "%s", msg);
	else
		/* One write per message: workers log concurrently. */
		fprintf(stderr, "dirtyfs: %s\n", msg);
}

/* libfuse's levels are syslog's priorities. */
static void fuse_log_to_syslog(enum fuse_log_level level, const char *fmt,
			       va_list ap)
{
	vsyslog((int)level, fmt, ap);
}

void dfs_log_to_syslog(void)
{
	openlog("dirtyfs", LOG_PID, LOG_DAEMON);
	use_syslog = true;
	fuse_set_log_func(fuse_log_to_syslog);
}
