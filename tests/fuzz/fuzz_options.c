// SPDX-License-Identifier: GPL-2.0
/*
 * Description: options_parse() (fusefs/options.c) on an arbitrary -o list.
 * It must never crash or leak; on success what it leaves for libfuse must
 * be exactly the input's non-empty tokens that are not dirtyfs's, in
 * order, and the values must be in range; on failure the message must be a
 * C string within the buffer that names the option unless it was cut short.
 * The input's length picks the size of the message buffer (0 to 299), to
 * try truncation, so that the whole input is the -o list.
 */
#include <errno.h>

#include "../../cache/cache.h"
#include "../../fusefs/options.h"
#include "fuzz.h"

static const char *const ours[] = {
	"cache_size",
	"dirty_limit",
	"dirty_background_limit",
	"dirty_expire",
	"writeback_interval",
	"writeback_bw",
	"max_write",
	"cgroup",
	"trace",
};

/* Is the token's name (its text before '=') one of dirtyfs's options? */
static int is_ours(const char *token, size_t len)
{
	const char *eq = memchr(token, '=', len);
	size_t n = eq ? (size_t)(eq - token) : len;

	for (size_t i = 0; i < sizeof(ours) / sizeof(*ours); i++)
		if (strlen(ours[i]) == n && !memcmp(ours[i], token, n))
			return 1;
	return 0;
}

/* Length of the token at s: up to the first comma not after a
 * backslash (a backslash escapes any next byte). */
static size_t token_len(const char *s)
{
	size_t i = 0;

	while (s[i] && s[i] != ',')
		i += s[i] == '\\' && s[i + 1] ? 2 : 1;
	return i;
}

/* What options_parse() should leave of in: a malloc'ed string. */
static char *expected_rest(const char *in)
{
	char *out = malloc(strlen(in) + 1);
	size_t o = 0;

	if (!out)
		abort();
	for (;;) {
		size_t n = token_len(in);

		if (n && !is_ours(in, n)) {
			if (o)
				out[o++] = ',';
			memcpy(out + o, in, n);
			o += n;
		}
		if (!in[n])
			break;
		in += n + 1;
	}
	out[o] = '\0';
	return out;
}

static void check_values(const struct dfs_options *o)
{
	const struct limit *limits[] = { &o->dirty_limit,
					 &o->dirty_background_limit };

	CHECK(o->cache_size_bytes >= CACHE_SIZE_MIN);
	CHECK(o->writeback_interval_s >= 1);
	CHECK(o->writeback_interval_s <= SECONDS_MAX);
	CHECK(o->dirty_expire_s <= SECONDS_MAX);
	CHECK(o->writeback_bw_bytes == 0 || o->writeback_bw_bytes >= 4096);
	CHECK(o->max_write_bytes >= DFS_MIN_WRITE &&
	      o->max_write_bytes <= DFS_MAX_WRITE &&
	      o->max_write_bytes % 4096 == 0);
	CHECK(o->cgroup == CGROUP_MODE_AUTO ||
	      o->cgroup == CGROUP_MODE_UNIFIED ||
	      o->cgroup == CGROUP_MODE_MEMORY);
	CHECK(!o->trace_file || *o->trace_file);
	for (size_t i = 0; i < 2; i++) {
		if (limits[i]->kind == LIMIT_PERCENT)
			CHECK(limits[i]->value >= 1 && limits[i]->value <= 100);
		if (limits[i]->kind == LIMIT_MAX)
			CHECK(limits[i]->value == UINT64_MAX);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t errlen = size * 37 % 300;
	char *in = fuzz_cstring(data, size), *list = strdup(in), *want;
	char *err = malloc(errlen ? errlen : 1);
	struct dfs_options opts;
	int ret;

	if (!list || !err)
		abort();
	options_set_defaults(&opts);
	ret = options_parse(&opts, list, err, errlen);
	CHECK(ret == 0 || ret == -EINVAL || ret == -ENOMEM);
	if (ret == 0) {
		want = expected_rest(in);
		CHECK(!strcmp(list, want));
		check_values(&opts);
		free(want);
	} else if (errlen) {
		CHECK(memchr(err, '\0', errlen));
		CHECK(strlen(err) == errlen - 1 || strstr(err, "option "));
	}
	options_free(&opts);
	CHECK(!opts.trace_file && !opts.backing && !opts.mountpoint);
	free(list);
	free(in);
	free(err);
	return 0;
}
