// SPDX-License-Identifier: GPL-2.0
/* Writeback fault injection for tests; see fault.h. */
#ifdef DIRTYFS_FAULT_INJECTION
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"

#define FAULT_SHORT (-1) /* in fault.err: store half the bytes */
#define FAULT_HOLD (-2) /* in fault.err: hold completions until changed */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* signalled when err is set */
	int err; /* positive errno, FAULT_SHORT, FAULT_HOLD, or 0 for none */
	long count; /* writes left to fail; -1: all */
} fault = { .lock = PTHREAD_MUTEX_INITIALIZER,
	    .changed = PTHREAD_COND_INITIALIZER };

static int fault_errno(const char *name)
{
	static const struct {
		const char *name;
		int err;
	} names[] = { { "EIO", EIO },
		      { "ENOSPC", ENOSPC },
		      { "EDQUOT", EDQUOT },
		      { "short", FAULT_SHORT },
		      { "hold", FAULT_HOLD } };

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (!strcmp(name, names[i].name))
			return names[i].err;
	return 0;
}

/* "NAME" or "NAME COUNT" into *err and *count. 0 or -EINVAL. */
static int fault_parse(char *text, int *err, long *count)
{
	char *save, *end;
	char *name = strtok_r(text, " ", &save);
	char *num = strtok_r(NULL, " ", &save);

	if (!name || strtok_r(NULL, " ", &save))
		return -EINVAL;
	if (!strcmp(name, "off") && !num) {
		*err = 0;
		*count = 0;
		return 0;
	}
	*err = fault_errno(name);
	*count = -1;
	/* A hold lasts until the next setting: a count means nothing. */
	if (*err == FAULT_HOLD && num)
		return -EINVAL;
	if (num) {
		errno = 0;
		*count = strtol(num, &end, 10);
		if (errno || *end || end == num)
			return -EINVAL;
	}
	return *err && *count >= -1 && *count ? 0 : -EINVAL;
}

int wb_fault_set(const char *value, size_t size)
{
	char text[64];
	long count;
	int err;

	if (size >= sizeof(text) || memchr(value, '\0', size))
		return -EINVAL;
	memcpy(text, value, size);
	text[size] = '\0';
	if (fault_parse(text, &err, &count))
		return -EINVAL;
	pthread_mutex_lock(&fault.lock);
	fault.err = err;
	fault.count = count;
	pthread_cond_broadcast(&fault.changed);
	pthread_mutex_unlock(&fault.lock);
	return 0;
}

int wb_fault_apply(int res, uint64_t bytes)
{
	int err;

	pthread_mutex_lock(&fault.lock);
	/* The flusher waits here, with no lock of the cache held, so writers
	 * can dirty the pages of the write it holds in flight. */
	while (fault.err == FAULT_HOLD)
		pthread_cond_wait(&fault.changed, &fault.lock);
	err = fault.err;
	if (err && fault.count > 0 && --fault.count == 0)
		fault.err = 0;
	pthread_mutex_unlock(&fault.lock);
	if (!err || res < 0)
		return res;
	if (err == FAULT_SHORT)
		return (int)(bytes / 2);
	return -err;
}
#endif
