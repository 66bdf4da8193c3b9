// SPDX-License-Identifier: GPL-2.0
/* The event trace; see trace.h. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "trace.h"

bool trace_enabled;
static FILE *trace_file;
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;

int trace_open(const char *path)
{
	trace_file = fopen(path, "ae");
	if (!trace_file)
		return -errno;
	/* Line-buffered: a line is whole in the file once traced. */
	setvbuf(trace_file, NULL, _IOLBF, 0);
	trace_enabled = true;
	return 0;
}

void trace_close(void)
{
	trace_enabled = false;
	if (trace_file)
		fclose(trace_file);
	trace_file = NULL;
}

void trace_write(const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&trace_lock);
	fprintf(trace_file, "%lld.%09ld ", (long long)ts.tv_sec, ts.tv_nsec);
	va_start(ap, fmt);
	vfprintf(trace_file, fmt, ap);
	va_end(ap);
	fputc('\n', trace_file);
	pthread_mutex_unlock(&trace_lock);
}
