/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The event trace (-o trace=FILE), after the RFC's memcontrol tracepoints:
 * one line per event, "SECONDS.NANOSECONDS EVENT key=value ...". Events:
 * inode_dirtied, inode_shared, cgroup_over_background,
 * cgroup_under_background, writeback_cgroup, writeback_shared_downshift,
 * write_held, write_released, cgroup_freed.
 *
 * Without trace= it costs one predictable branch: the arguments are not
 * even evaluated. Any thread may trace; lines never interleave.
 */
#ifndef DIRTYFS_TRACE_H
#define DIRTYFS_TRACE_H

#include <stdbool.h>

extern bool trace_enabled;

/* Open FILE for appending. 0 or -errno. */
int trace_open(const char *path);
void trace_close(void);
void trace_write(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define trace_event(...) \
	do { \
		if (__builtin_expect(trace_enabled, 0)) \
			trace_write(__VA_ARGS__); \
	} while (0)

#endif
