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

static void log_msg(int prio, const char *msg)
{
	if (use_syslog)
		syslog(prio, "%s", msg);
	else
		/* One write per message: workers log concurrently. */
		fprintf(stderr, "dirtyfs: %s\n", msg);
}

void dfs_log(int prio, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(prio, msg);
}

/* Whether rs lets one more message through now; *missed: how many it left
 * out since the last one. */
static bool ratelimit_pass(struct dfs_ratelimit *rs, unsigned int *missed)
{
	uint64_t now = now_ns();
	bool pass;

	pthread_mutex_lock(&rs->lock);
	*missed = 0;
	if (!rs->begin_ns || now - rs->begin_ns >= rs->interval_ns) {
		*missed = rs->missed;
		rs->begin_ns = now;
		rs->said = 0;
		rs->missed = 0;
	}
	pass = rs->said < rs->burst;
	if (pass)
		rs->said++;
	else
		rs->missed++;
	pthread_mutex_unlock(&rs->lock);
	return pass;
}

bool dfs_log_ratelimited(struct dfs_ratelimit *rs, int prio, const char *fmt,
			 ...)
{
	char msg[1024];
	unsigned int missed;
	va_list ap;

	if (!ratelimit_pass(rs, &missed))
		return false;
	if (missed) {
		char note[64];

		snprintf(note, sizeof(note), "%u similar messages left out",
			 missed);
		log_msg(prio, note);
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(prio, msg);
	return true;
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
