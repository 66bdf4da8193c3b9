// SPDX-License-Identifier: GPL-2.0
/*
 * dirtyfs's own mount options: value parsers and the -o list splitter.
 *
 * The option list is rewritten in place: dirtyfs's options are cut out, all
 * others stay in their order for libfuse. A token is split at commas that are
 * not escaped by a backslash, as libfuse's fuse_opt does, so a trace file name
 * may contain "\,".
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cache/cache.h"
#include "options.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Leading decimal digits of s into *out; *end after them, also on -ERANGE
 * (too many for 64 bits), so that the caller can refuse what follows as
 * malformed first. 0, -EINVAL (no digit) or -ERANGE.
 */
static int parse_digits(const char *s, uint64_t *out, const char **end)
{
	bool over = false;
	uint64_t v = 0;

	if (!is_digit(*s))
		return -EINVAL;
	for (; is_digit(*s); s++) {
		unsigned int d = (unsigned int)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			over = true;
		else
			v = v * 10 + d;
	}
	*out = v;
	*end = s;
	return over ? -ERANGE : 0;
}

/* Binary shift of a size suffix, or -1 if c is not one. */
static int suffix_shift(char c)
{
	switch (c) {
	case 'k':
	case 'K':
		return 10;
	case 'm':
	case 'M':
		return 20;
	case 'g':
	case 'G':
		return 30;
	case 't':
	case 'T':
		return 40;
	default:
		return -1;
	}
}

int parse_size(const char *s, uint64_t *out)
{
	const char *end;
	uint64_t v;
	int shift = 0;
	int ret = parse_digits(s, &v, &end);

	if (ret == -EINVAL)
		return ret;
	if (*end) {
		shift = suffix_shift(*end);
		if (shift < 0 || end[1])
			return -EINVAL;
	}
	if (ret || v > UINT64_MAX >> shift)
		return -ERANGE;
	*out = v << shift;
	return 0;
}

static int parse_percent(const char *s, const char *pct, struct limit *out)
{
	const char *end;
	uint64_t v;
	int ret = parse_digits(s, &v, &end);

	if (ret == -EINVAL || end != pct || pct[1])
		return -EINVAL;
	if (ret || v < 1 || v > 100)
		return -ERANGE;
	out->kind = LIMIT_PERCENT;
	out->value = v;
	return 0;
}

int parse_limit(const char *s, struct limit *out)
{
	const char *pct = strchr(s, '%');
	uint64_t bytes;
	int ret;

	if (strcmp(s, "max") == 0) {
		out->kind = LIMIT_MAX;
		out->value = UINT64_MAX;
		return 0;
	}
	if (pct)
		return parse_percent(s, pct, out);
	ret = parse_size(s, &bytes);
	if (ret)
		return ret;
	out->kind = LIMIT_BYTES;
	out->value = bytes;
	return 0;
}

int parse_seconds(const char *s, uint64_t *out)
{
	const char *end;
	uint64_t v;
	int ret = parse_digits(s, &v, &end);

	if (ret == -EINVAL || *end)
		return -EINVAL;
	if (ret || v > SECONDS_MAX)
		return -ERANGE;
	*out = v;
	return 0;
}

void options_set_defaults(struct dfs_options *opts)
{
	*opts = (struct dfs_options){
		.cache_size_bytes = CACHE_SIZE_DEFAULT,
		.dirty_limit = { LIMIT_PERCENT, 20 },
		.dirty_background_limit = { LIMIT_PERCENT, 10 },
		.dirty_expire_s = 30,
		.writeback_interval_s = 5,
		.writeback_bw_bytes = 0,
		.max_write_bytes = DFS_MAX_WRITE,
		.cgroup = CGROUP_MODE_AUTO,
	};
}

void options_free(struct dfs_options *opts)
{
	free(opts->trace_file);
	free(opts->backing);
	free(opts->mountpoint);
	opts->trace_file = NULL;
	opts->backing = NULL;
	opts->mountpoint = NULL;
}

/* --- the -o list ------------------------------------------------------- */

/* OPT_PAGES: a SIZE in whole pages (PAGE_SIZE, 4K). */
enum opt_type {
	OPT_SIZE,
	OPT_PAGES,
	OPT_LIMIT,
	OPT_SECONDS,
	OPT_CGROUP,
	OPT_FILE
};

struct opt_desc {
	const char *name; /* without the '=' */
	enum opt_type type;
	size_t offset; /* of the field in struct dfs_options */
	uint64_t min, max; /* range of a SIZE, pages or SECONDS accepted */
	bool zero_is_off; /* 0 is accepted too, below min */
};

/* options.h spells a page out, to stay free of the cache's header. */
_Static_assert(DFS_MIN_WRITE == PAGE_SIZE, "max_write's floor is a page");

#define FIELD(f) offsetof(struct dfs_options, f)
#define NO_RANGE 0, UINT64_MAX, false

static const struct opt_desc opt_table[] = {
	{ "cache_size", OPT_SIZE, FIELD(cache_size_bytes), CACHE_SIZE_MIN,
	  UINT64_MAX, false },
	{ "dirty_limit", OPT_LIMIT, FIELD(dirty_limit), NO_RANGE },
	{ "dirty_background_limit", OPT_LIMIT, FIELD(dirty_background_limit),
	  NO_RANGE },
	{ "dirty_expire", OPT_SECONDS, FIELD(dirty_expire_s), NO_RANGE },
	{ "writeback_interval", OPT_SECONDS, FIELD(writeback_interval_s), 1,
	  UINT64_MAX, false },
	/* Below a page a second, one dirty page would hold an unmount for
	 * minutes: a slip for M or K, not a rate. */
	{ "writeback_bw", OPT_SIZE, FIELD(writeback_bw_bytes), PAGE_SIZE,
	  UINT64_MAX, true },
	{ "max_write", OPT_PAGES, FIELD(max_write_bytes), DFS_MIN_WRITE,
	  DFS_MAX_WRITE, false },
	{ "cgroup", OPT_CGROUP, FIELD(cgroup), NO_RANGE },
	{ "trace", OPT_FILE, FIELD(trace_file), NO_RANGE },
};

static const char *const expected_text[] = {
	[OPT_SIZE] = "expected a number with an optional K, M, G or T suffix",
	[OPT_PAGES] = "expected a multiple of 4K (4096, 128K, 1M)",
	[OPT_LIMIT] = "expected a SIZE, N% with N in 1..100, or max",
	[OPT_SECONDS] = "expected a whole number of seconds",
	[OPT_CGROUP] = "expected auto, unified or memory",
	[OPT_FILE] = "expected a file name",
};

/* The descriptor whose name is the token's text before '=' (or all of it). */
static const struct opt_desc *find_option(const char *token)
{
	size_t len = strcspn(token, "=");

	for (size_t i = 0; i < sizeof(opt_table) / sizeof(opt_table[0]); i++) {
		const struct opt_desc *d = &opt_table[i];

		if (strlen(d->name) == len && memcmp(d->name, token, len) == 0)
			return d;
	}
	return NULL;
}

static int parse_cgroup_mode(const char *s, enum cgroup_mode *out)
{
	static const char *const names[] = {
		[CGROUP_MODE_AUTO] = "auto",
		[CGROUP_MODE_UNIFIED] = "unified",
		[CGROUP_MODE_MEMORY] = "memory",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum cgroup_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

static int set_file(char **field, const char *value)
{
	char *copy;

	if (!*value)
		return -EINVAL;
	copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

/* Store value in the field d names. 0, -EINVAL, -ERANGE (outside d's
 * range), -EOVERFLOW (beyond 64 bits) or -ENOMEM. */
static int set_option(struct dfs_options *opts, const struct opt_desc *d,
		      const char *value)
{
	void *field = (char *)opts + d->offset;

	switch (d->type) {
	case OPT_SIZE:
	case OPT_PAGES:
	case OPT_SECONDS: {
		uint64_t v;
		int ret = d->type == OPT_SECONDS ? parse_seconds(value, &v) :
						   parse_size(value, &v);

		if (ret == -ERANGE)
			ret = -EOVERFLOW;
		if (!ret && d->type == OPT_PAGES && v % PAGE_SIZE)
			ret = -EINVAL;
		if (!ret && (v < d->min || v > d->max) &&
		    !(d->zero_is_off && !v))
			ret = -ERANGE;
		if (!ret)
			*(uint64_t *)field = v;
		return ret;
	}
	case OPT_LIMIT:
		return parse_limit(value, field);
	case OPT_CGROUP:
		return parse_cgroup_mode(value, field);
	case OPT_FILE:
		return set_file(field, value);
	}
	return -EINVAL;
}

static void format_error(char *err, size_t errlen, const struct opt_desc *d,
			 const char *value, int ret)
{
	const char *why = expected_text[d->type];
	char range[64];

	if (!err || !errlen)
		return;
	if (ret == -ENOMEM) {
		why = "out of memory";
	} else if (ret == -EOVERFLOW) {
		why = "too large (more than 64 bits)";
	} else if (ret == -ERANGE && d->max != UINT64_MAX) {
		snprintf(range, sizeof(range),
			 "out of range (%" PRIu64 " to %" PRIu64 " %s)", d->min,
			 d->max, d->type == OPT_SECONDS ? "s" : "bytes");
		why = range;
	} else if (ret == -ERANGE && d->min) {
		snprintf(range, sizeof(range),
			 "out of range (%sat least %" PRIu64 " %s)",
			 d->zero_is_off ? "0, or " : "", d->min,
			 d->type == OPT_SECONDS ? "s" : "bytes");
		why = range;
	} else if (ret == -ERANGE) {
		why = "out of range";
	}
	snprintf(err, errlen, "invalid value '%s' for option %s=: %s", value,
		 d->name, why);
}

/* End of the token at s: the first comma not escaped by a backslash. */
static char *token_end(char *s)
{
	for (; *s && *s != ','; s++) {
		if (*s == '\\' && s[1])
			s++;
	}
	return s;
}

/* Drop the backslashes of escaped characters, in place. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (*s == '\\' && s[1])
			s++;
		*out++ = *s;
	}
	*out = '\0';
}

/* Apply one of our tokens ("name=value", NUL-terminated). 0 or -errno. */
static int apply_token(struct dfs_options *opts, const struct opt_desc *d,
		       char *token, char *err, size_t errlen)
{
	char *eq = strchr(token, '=');
	char *value = eq ? eq + 1 : token + strlen(token);
	int ret;

	unescape(value);
	ret = set_option(opts, d, value);
	if (ret) {
		format_error(err, errlen, d, value, ret);
		return ret == -ENOMEM ? ret : -EINVAL;
	}
	return 0;
}

int options_parse(struct dfs_options *opts, char *optstr, char *err,
		  size_t errlen)
{
	char *out = optstr;
	char *s = optstr;

	while (*s) {
		char *end = token_end(s);
		char *next = *end ? end + 1 : end;
		const struct opt_desc *d;

		/* The token ends here before its name is looked up: a name
		 * without '=' must not run on into the next token. */
		*end = '\0';
		d = find_option(s);
		if (d) {
			int ret = apply_token(opts, d, s, err, errlen);

			if (ret)
				return ret;
		} else if (end > s) {
			/* Kept for libfuse; out never passes s, so this
			 * overwrites only tokens already consumed. */
			if (out != optstr)
				*out++ = ',';
			memmove(out, s, (size_t)(end - s));
			out += end - s;
		}
		s = next;
	}
	*out = '\0';
	return 0;
}

int limit_format(const struct limit *l, char *buf, size_t size)
{
	int n;

	switch (l->kind) {
	case LIMIT_PERCENT:
		n = snprintf(buf, size, "%llu%%", (unsigned long long)l->value);
		break;
	case LIMIT_MAX:
		n = snprintf(buf, size, "max");
		break;
	default:
		n = snprintf(buf, size, "%llu", (unsigned long long)l->value);
		break;
	}
	return n >= 0 && (size_t)n < size ? n : -ERANGE;
}
