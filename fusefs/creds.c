// SPDX-License-Identifier: GPL-2.0
/*
 * Act with the FUSE caller's credentials while creating backing objects, so
 * that they get the caller's owner and group (BACKING's setgid directories
 * apply, as the kernel decides) and the caller's permission checks.
 *
 * fsuid, fsgid and the supplementary groups are per-thread in the kernel.
 * glibc's setfsuid() and setfsgid() are plain system calls, but its
 * setgroups() changes every thread of the process, so the groups are set
 * with the raw system call: other workers must keep their own credentials.
 *
 * A thread whose fsuid is not 0 also loses its filesystem capabilities
 * (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_CHOWN, CAP_FOWNER, ...) until
 * its fsuid is 0 again.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fusefs.h"

/* Groups read on the stack before falling back to the heap. */
#define GROUPS_ON_STACK 64

/* The daemon's own credentials, which creds_leave() restores. */
static struct {
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	int nr_groups;
} daemon_creds;

int creds_init(void)
{
	int n = getgroups(0, NULL);

	if (n < 0)
		return -errno;
	daemon_creds.uid = geteuid();
	daemon_creds.gid = getegid();
	daemon_creds.groups = calloc((size_t)n + 1, sizeof(gid_t));
	if (!daemon_creds.groups)
		return -ENOMEM;
	n = getgroups(n, daemon_creds.groups);
	if (n < 0)
		return -errno;
	daemon_creds.nr_groups = n;
	return 0;
}

static int set_groups(size_t n, const gid_t *list)
{
	return syscall(SYS_setgroups, n, list) ? -errno : 0;
}

/*
 * Take on the caller's supplementary groups, read from /proc/PID/status.
 * Where they cannot be read (the caller has exited, or its pid is not
 * visible here), act with none: never with more rights than the caller has.
 */
static int set_caller_groups(fuse_req_t req)
{
	gid_t small[GROUPS_ON_STACK], *list = small;
	int n = fuse_req_getgroups(req, GROUPS_ON_STACK, small);
	int err;

	if (n > GROUPS_ON_STACK) {
		int size = n;

		list = malloc((size_t)size * sizeof(gid_t));
		if (!list)
			return -ENOMEM;
		n = fuse_req_getgroups(req, size, list);
		/* The caller may have gained groups since: keep those read. */
		if (n > size)
			n = size;
	}
	if (n < 0)
		n = 0;
	err = set_groups((size_t)n, list);
	if (list != small)
		free(list);
	return err;
}

/* Back to the daemon's credentials. As root these calls cannot fail but for
 * a lack of memory in setgroups, which leaves only extra groups to a thread
 * whose fsuid 0 bypasses group checks anyway. */
static void restore(void)
{
	setfsuid(daemon_creds.uid);
	setfsgid(daemon_creds.gid);
	set_groups((size_t)daemon_creds.nr_groups, daemon_creds.groups);
}

int creds_enter(fuse_req_t req, struct creds_saved *saved)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	int err;

	saved->switched = false;
	/* Nothing to change for the daemon's own identity. A daemon that is
	 * not root cannot change it and creates everything as itself, like
	 * any unprivileged FUSE filesystem. */
	if (daemon_creds.uid != 0 ||
	    (ctx->uid == daemon_creds.uid && ctx->gid == daemon_creds.gid))
		return 0;
	err = set_caller_groups(req);
	if (err)
		return err;
	setfsgid(ctx->gid);
	setfsuid(ctx->uid);
	/* Both return the previous value, never an error: read them back. */
	if ((gid_t)setfsgid((gid_t)-1) != ctx->gid ||
	    (uid_t)setfsuid((uid_t)-1) != ctx->uid) {
		restore();
		return -EPERM;
	}
	saved->switched = true;
	return 0;
}

void creds_leave(struct creds_saved *saved)
{
	if (saved->switched)
		restore();
	saved->switched = false;
}
