/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fusefs/options.c: dirtyfs's own mount options (../shared/interface.md).
 * Parsing is pure and unit-tested; options dirtyfs does not know are left in
 * the fuse_args for libfuse.
 */
#ifndef DIRTYFS_OPTIONS_H
#define DIRTYFS_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A LIMIT: bytes, a percentage of the memory limit, or no limit. */
enum limit_kind { LIMIT_BYTES, LIMIT_PERCENT, LIMIT_MAX };
struct limit {
	enum limit_kind kind;
	uint64_t value; /* bytes, or 1..100 */
};

enum cgroup_mode { CGROUP_MODE_AUTO, CGROUP_MODE_UNIFIED, CGROUP_MODE_MEMORY };

#define CACHE_SIZE_DEFAULT (256ULL << 20)
/* Write requests: 1 MiB, the most the kernel sends (FUSE_MAX_PAGES) and
 * libfuse's request buffer holds, is the default and the largest max_write;
 * a page is the smallest. */
#define DFS_MAX_WRITE (1U << 20)
#define DFS_MIN_WRITE 4096U

struct dfs_options {
	uint64_t cache_size_bytes; /* default CACHE_SIZE_DEFAULT */
	struct limit dirty_limit; /* default 20% */
	struct limit dirty_background_limit; /* default 10% */
	uint64_t dirty_expire_s; /* default 30 */
	uint64_t writeback_interval_s; /* default 5, >= 1 */
	uint64_t writeback_bw_bytes; /* 0: unlimited (default) */
	/* Largest write request, in whole pages (default DFS_MAX_WRITE). */
	uint64_t max_write_bytes;
	enum cgroup_mode cgroup;
	char *trace_file; /* -o trace=FILE, or NULL */
	char *backing; /* BACKING directory, absolute */
	char *mountpoint;
};

/*
 * SIZE: decimal digits with an optional K, M, G or T suffix (powers of 1024,
 * either case). Nothing else: no sign, no spaces, no trailing bytes.
 * Returns 0 or -EINVAL (malformed) / -ERANGE (over 64 bits).
 */
int parse_size(const char *s, uint64_t *out);
/*
 * LIMIT: a SIZE, N% with N in 1..100, or "max" (value UINT64_MAX).
 * 0 or -EINVAL / -ERANGE (too big, or a percentage outside 1..100).
 */
int parse_limit(const char *s, struct limit *out);
/* Largest SECONDS: its nanoseconds still fit in a uint64_t. */
#define SECONDS_MAX (UINT64_MAX / 1000000000ULL)
/* A LIMIT as parse_limit() reads it back: bytes, "N%" or "max". Length or
 * -ERANGE. */
int limit_format(const struct limit *l, char *buf, size_t size);
/* Decimal seconds, no suffix, at most SECONDS_MAX. 0 or -EINVAL/-ERANGE. */
int parse_seconds(const char *s, uint64_t *out);

/* All defaults; no strings allocated. */
void options_set_defaults(struct dfs_options *opts);
/*
 * Take dirtyfs's options out of the comma-separated list optstr (modified in
 * place: what remains, in its order, is for libfuse; commas escaped with a
 * backslash do not split). A later occurrence of an option overrides an
 * earlier one. cache_size must be at least CACHE_SIZE_MIN, writeback_interval
 * at least 1, and max_write a multiple of 4K from DFS_MIN_WRITE to
 * DFS_MAX_WRITE. On error, writes a message naming the option
 * into err (if errlen > 0) and returns -EINVAL (-ENOMEM if out of memory);
 * optstr and opts are then partly updated and fit only for options_free().
 */
int options_parse(struct dfs_options *opts, char *optstr, char *err,
		  size_t errlen);
/* Free the strings (trace_file, backing, mountpoint) and NULL them. */
void options_free(struct dfs_options *opts);

#endif
