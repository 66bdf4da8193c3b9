// SPDX-License-Identifier: GPL-2.0
/*
 * Description: the mount option parsers of fusefs/options.c: SIZE, LIMIT and
 * SECONDS values, defaults, and the -o list splitter that leaves libfuse's
 * options in place.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../cache/cache.h"
#include "../../fusefs/options.h"

static void assert_size(const char *s, uint64_t want)
{
	uint64_t v = 0;

	assert_int_equal(parse_size(s, &v), 0);
	assert_true(v == want);
}

static void assert_size_err(const char *s, int err)
{
	uint64_t v = 12345;

	assert_int_equal(parse_size(s, &v), err);
	assert_true(v == 12345); /* untouched on error */
}

static void size_accepts_digits_and_binary_suffixes(void **state)
{
	(void)state;
	assert_size("0", 0);
	assert_size("4096", 4096);
	assert_size("007", 7);
	assert_size("1k", 1024);
	assert_size("1K", 1024);
	assert_size("3m", 3ULL << 20);
	assert_size("256M", 256ULL << 20);
	assert_size("2g", 2ULL << 30);
	assert_size("5T", 5ULL << 40);
	assert_size("18446744073709551615", UINT64_MAX);
	assert_size("16777215T", 16777215ULL << 40);
}

static void size_rejects_malformed_text(void **state)
{
	(void)state;
	assert_size_err("", -EINVAL);
	assert_size_err("K", -EINVAL);
	assert_size_err("M1", -EINVAL);
	assert_size_err("-1", -EINVAL); /* no sign */
	assert_size_err("+1", -EINVAL);
	assert_size_err(" 1", -EINVAL); /* no spaces */
	assert_size_err("1 ", -EINVAL);
	assert_size_err("1 M", -EINVAL);
	assert_size_err("1MB", -EINVAL); /* one-letter suffixes only */
	assert_size_err("1KiB", -EINVAL);
	assert_size_err("1P", -EINVAL);
	assert_size_err("1b", -EINVAL);
	assert_size_err("1.5M", -EINVAL);
	assert_size_err("0x10", -EINVAL);
	assert_size_err("1,2", -EINVAL);
	assert_size_err("12abc", -EINVAL);
}

static void size_rejects_overflow_with_erange(void **state)
{
	(void)state;
	assert_size_err("18446744073709551616", -ERANGE);
	assert_size_err("99999999999999999999999", -ERANGE);
	assert_size_err("16777216T", -ERANGE);
	assert_size_err("17179869184G", -ERANGE);
}

static void assert_limit(const char *s, enum limit_kind kind, uint64_t value)
{
	struct limit l = { LIMIT_BYTES, 0 };

	assert_int_equal(parse_limit(s, &l), 0);
	assert_int_equal(l.kind, kind);
	assert_true(l.value == value);
}

static void limit_accepts_size_percent_and_max(void **state)
{
	(void)state;
	assert_limit("0", LIMIT_BYTES, 0);
	assert_limit("100M", LIMIT_BYTES, 100ULL << 20);
	assert_limit("1%", LIMIT_PERCENT, 1);
	assert_limit("20%", LIMIT_PERCENT, 20);
	assert_limit("100%", LIMIT_PERCENT, 100);
	assert_limit("max", LIMIT_MAX, UINT64_MAX);
}

static void limit_rejects_bad_percent_and_text(void **state)
{
	struct limit l;

	(void)state;
	assert_int_equal(parse_limit("0%", &l), -ERANGE);
	assert_int_equal(parse_limit("101%", &l), -ERANGE);
	assert_int_equal(parse_limit("99999999999999999999999%", &l), -ERANGE);
	assert_int_equal(parse_limit("%", &l), -EINVAL);
	assert_int_equal(parse_limit("", &l), -EINVAL);
	assert_int_equal(parse_limit("5%%", &l), -EINVAL);
	assert_int_equal(parse_limit("5M%", &l), -EINVAL);
	assert_int_equal(parse_limit("%5", &l), -EINVAL);
	assert_int_equal(parse_limit("-5%", &l), -EINVAL);
	assert_int_equal(parse_limit("MAX", &l), -EINVAL);
	assert_int_equal(parse_limit("max ", &l), -EINVAL);
	assert_int_equal(parse_limit("unlimited", &l), -EINVAL);
	assert_int_equal(parse_limit("20000000T", &l), -ERANGE);
}

static void seconds_accept_plain_numbers_only(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(parse_seconds("0", &v), 0);
	assert_true(v == 0);
	assert_int_equal(parse_seconds("3600", &v), 0);
	assert_true(v == 3600);
	assert_int_equal(parse_seconds("1s", &v), -EINVAL);
	assert_int_equal(parse_seconds("1K", &v), -EINVAL);
	assert_int_equal(parse_seconds("", &v), -EINVAL);
	assert_int_equal(parse_seconds("-1", &v), -EINVAL);
}

static void seconds_fit_in_nanoseconds(void **state)
{
	char buf[32];
	uint64_t v = 0;

	(void)state;
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)SECONDS_MAX);
	assert_int_equal(parse_seconds(buf, &v), 0);
	assert_true(v == SECONDS_MAX);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)SECONDS_MAX + 1);
	assert_int_equal(parse_seconds(buf, &v), -ERANGE);
}

/*
 * Regression (found by tests/fuzz/fuzz_size_limit.c): digits too many for
 * 64 bits followed by garbage were "out of range" (-ERANGE) before the
 * garbage was seen; a malformed value is -EINVAL whatever its digits.
 */
static void malformed_beats_overflow(void **state)
{
	struct limit l;
	uint64_t v;

	(void)state;
	assert_size_err("99999999999999999999x", -EINVAL);
	assert_size_err("99999999999999999999KB", -EINVAL);
	assert_size_err("99999999999999999999", -ERANGE);
	assert_size_err("99999999999999999999K", -ERANGE);
	assert_int_equal(parse_seconds("99999999999999999999s", &v), -EINVAL);
	assert_int_equal(parse_seconds("99999999999999999999", &v), -ERANGE);
	assert_int_equal(parse_limit("99999999999999999999%x", &l), -EINVAL);
	assert_int_equal(parse_limit("99999999999999999999x", &l), -EINVAL);
	assert_int_equal(parse_limit("99999999999999999999%", &l), -ERANGE);
}

static void defaults_match_the_interface(void **state)
{
	struct dfs_options o;

	(void)state;
	memset(&o, 0xa5, sizeof(o));
	options_set_defaults(&o);
	assert_true(o.cache_size_bytes == 256ULL << 20);
	assert_int_equal(o.dirty_limit.kind, LIMIT_PERCENT);
	assert_true(o.dirty_limit.value == 20);
	assert_int_equal(o.dirty_background_limit.kind, LIMIT_PERCENT);
	assert_true(o.dirty_background_limit.value == 10);
	assert_true(o.dirty_expire_s == 30);
	assert_true(o.writeback_interval_s == 5);
	assert_true(o.writeback_bw_bytes == 0);
	assert_true(o.max_write_bytes == 1U << 20);
	assert_int_equal(o.cgroup, CGROUP_MODE_AUTO);
	assert_null(o.trace_file);
	assert_null(o.backing);
	assert_null(o.mountpoint);
}

/* Parse optstr into fresh defaults; returns options_parse's result. */
static int parse(struct dfs_options *o, char *optstr, char *err, size_t len)
{
	options_set_defaults(o);
	err[0] = '\0';
	return options_parse(o, optstr, err, len);
}

static void parse_takes_every_option_and_keeps_the_rest(void **state)
{
	char s[] = "allow_other,cache_size=64M,dirty_limit=256M,"
		   "default_permissions,dirty_background_limit=5%,"
		   "dirty_expire=3600,writeback_interval=1,writeback_bw=10M,"
		   "cgroup=memory,trace=/tmp/t.log,fsname=x";
	struct dfs_options o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, s, err, sizeof(err)), 0);
	assert_string_equal(s, "allow_other,default_permissions,fsname=x");
	assert_string_equal(err, "");
	assert_true(o.cache_size_bytes == 64ULL << 20);
	assert_int_equal(o.dirty_limit.kind, LIMIT_BYTES);
	assert_true(o.dirty_limit.value == 256ULL << 20);
	assert_int_equal(o.dirty_background_limit.kind, LIMIT_PERCENT);
	assert_true(o.dirty_background_limit.value == 5);
	assert_true(o.dirty_expire_s == 3600);
	assert_true(o.writeback_interval_s == 1);
	assert_true(o.writeback_bw_bytes == 10ULL << 20);
	assert_int_equal(o.cgroup, CGROUP_MODE_MEMORY);
	assert_string_equal(o.trace_file, "/tmp/t.log");
	options_free(&o);
	assert_null(o.trace_file);
}

static void parse_leaves_foreign_list_untouched(void **state)
{
	char s[] = "ro,allow_other,max_read=131072,subtype=x";
	struct dfs_options o;
	char err[64];

	(void)state;
	assert_int_equal(parse(&o, s, err, sizeof(err)), 0);
	assert_string_equal(s, "ro,allow_other,max_read=131072,subtype=x");
	assert_true(o.cache_size_bytes == CACHE_SIZE_DEFAULT);
}

static void parse_can_consume_everything(void **state)
{
	char s[] = "cgroup=unified,dirty_limit=max";
	char empty[] = "";
	struct dfs_options o;
	char err[64];

	(void)state;
	assert_int_equal(parse(&o, s, err, sizeof(err)), 0);
	assert_string_equal(s, "");
	assert_int_equal(o.cgroup, CGROUP_MODE_UNIFIED);
	assert_int_equal(o.dirty_limit.kind, LIMIT_MAX);
	assert_int_equal(parse(&o, empty, err, sizeof(err)), 0);
	assert_string_equal(empty, "");
}

static void parse_later_option_overrides_earlier(void **state)
{
	char s[] = "trace=/a,cache_size=8M,trace=/b,cache_size=16M";
	struct dfs_options o;
	char err[64];

	(void)state;
	assert_int_equal(parse(&o, s, err, sizeof(err)), 0);
	assert_true(o.cache_size_bytes == 16ULL << 20);
	assert_string_equal(o.trace_file, "/b");
	options_free(&o);
}

static void parse_honours_escaped_commas(void **state)
{
	char s[] = "fsname=a\\,b,trace=/tmp/x\\,y,ro";
	struct dfs_options o;
	char err[64];

	(void)state;
	assert_int_equal(parse(&o, s, err, sizeof(err)), 0);
	assert_string_equal(s, "fsname=a\\,b,ro");
	assert_string_equal(o.trace_file, "/tmp/x,y");
	options_free(&o);
}

static void parse_drops_empty_tokens(void **state)
{
	char s[] = ",ro,,cache_size=8M,,rw,";
	struct dfs_options o;
	char err[64];

	(void)state;
	assert_int_equal(parse(&o, s, err, sizeof(err)), 0);
	assert_string_equal(s, "ro,rw");
}

static void parse_does_not_match_option_prefixes(void **state)
{
	char s[] = "cache_size_x=1,xcache_size=1,cgroups=1";
	struct dfs_options o;
	char err[64];

	(void)state;
	assert_int_equal(parse(&o, s, err, sizeof(err)), 0);
	assert_string_equal(s, "cache_size_x=1,xcache_size=1,cgroups=1");
}

/* options_parse(optstr) must fail with -EINVAL and this exact message. */
static void assert_parse_error(const char *optstr, const char *msg)
{
	char s[256];
	char err[256];
	struct dfs_options o;

	snprintf(s, sizeof(s), "%s", optstr);
	assert_int_equal(parse(&o, s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, msg);
	options_free(&o);
}

/* optstr parses; its values in *o. */
static void assert_parses(const char *optstr, struct dfs_options *o)
{
	char s[256];
	char err[256];

	snprintf(s, sizeof(s), "%s", optstr);
	assert_int_equal(parse(o, s, err, sizeof(err)), 0);
}

static void parse_errors_name_the_option_and_value(void **state)
{
	(void)state;
	assert_parse_error("ro,dirty_limit=x",
			   "invalid value 'x' for option dirty_limit=: "
			   "expected a SIZE, N% with N in 1..100, or max");
	assert_parse_error("dirty_background_limit=0%",
			   "invalid value '0%' for option "
			   "dirty_background_limit=: out of range");
	assert_parse_error("cache_size=12Q",
			   "invalid value '12Q' for option cache_size=: "
			   "expected a number with an optional K, M, G or T "
			   "suffix");
	assert_parse_error("dirty_expire=5m",
			   "invalid value '5m' for option dirty_expire=: "
			   "expected a whole number of seconds");
	assert_parse_error("cgroup=v2", "invalid value 'v2' for option "
					"cgroup=: expected auto, unified or "
					"memory");
	assert_parse_error("trace=", "invalid value '' for option trace=: "
				     "expected a file name");
	assert_parse_error("writeback_bw", "invalid value '' for option "
					   "writeback_bw=: expected a number "
					   "with an optional K, M, G or T "
					   "suffix");
}

/*
 * Regression (found by tests/fuzz/fuzz_options.c): the name of a token
 * without '=' was looked up in the text up to the next '=', across the
 * comma, so "cache_size,ro=1" passed cache_size on to libfuse unchecked
 * while "ro,cache_size" was refused.
 */
static void parse_option_without_value_before_another(void **state)
{
	(void)state;
	assert_parse_error("cache_size,G1=x",
			   "invalid value '' for option cache_size=: "
			   "expected a number with an optional K, M, G or T "
			   "suffix");
	assert_parse_error("trace,ro,dirty_limit=5%",
			   "invalid value '' for option trace=: "
			   "expected a file name");
}

static void parse_enforces_minimums(void **state)
{
	struct dfs_options o;

	(void)state;
	assert_parses("cache_size=4M,writeback_interval=1", &o);
	assert_true(o.cache_size_bytes == CACHE_SIZE_MIN);
	assert_parse_error("cache_size=4095K",
			   "invalid value '4095K' for option cache_size=: "
			   "out of range (at least 4194304 bytes)");
	assert_parse_error("writeback_interval=0",
			   "invalid value '0' for option writeback_interval=: "
			   "out of range (at least 1 s)");
	/* Too large for 64 bits is not "at least". */
	assert_parse_error("cache_size=99999999999999999999",
			   "invalid value '99999999999999999999' for option "
			   "cache_size=: too large (more than 64 bits)");
	assert_parse_error("cache_size=20000000000000000000K",
			   "invalid value '20000000000000000000K' for option "
			   "cache_size=: too large (more than 64 bits)");
}

/* writeback_bw: 0 (unlimited), or at least a page a second. */
static void parse_bounds_writeback_bw(void **state)
{
	struct dfs_options o;

	(void)state;
	assert_parses("writeback_bw=0", &o);
	assert_true(o.writeback_bw_bytes == 0);
	assert_parses("writeback_bw=4K", &o);
	assert_true(o.writeback_bw_bytes == 4096);
	assert_parse_error("writeback_bw=5",
			   "invalid value '5' for option writeback_bw=: "
			   "out of range (0, or at least 4096 bytes)");
	assert_parse_error("writeback_bw=4095",
			   "invalid value '4095' for option writeback_bw=: "
			   "out of range (0, or at least 4096 bytes)");
}

/* max_write: whole 4K pages from one page to the kernel's 1 MiB. */
static void parse_bounds_max_write(void **state)
{
	struct dfs_options o;

	(void)state;
	assert_parses("max_write=4K", &o);
	assert_true(o.max_write_bytes == 4096);
	assert_parses("max_write=1M", &o);
	assert_true(o.max_write_bytes == 1U << 20);
	assert_parses("max_write=131072", &o);
	assert_true(o.max_write_bytes == 128U << 10);
	assert_parse_error("max_write=5000",
			   "invalid value '5000' for option max_write=: "
			   "expected a multiple of 4K (4096, 128K, 1M)");
	assert_parse_error("max_write=0",
			   "invalid value '0' for option max_write=: "
			   "out of range (4096 to 1048576 bytes)");
	assert_parse_error("max_write=1028K",
			   "invalid value '1028K' for option max_write=: "
			   "out of range (4096 to 1048576 bytes)");
	assert_parse_error("max_write=1M1",
			   "invalid value '1M1' for option max_write=: "
			   "expected a multiple of 4K (4096, 128K, 1M)");
}

static void parse_error_message_is_truncated_safely(void **state)
{
	char s[] = "dirty_limit=bogus";
	char err[16];
	struct dfs_options o;

	(void)state;
	memset(err, 'x', sizeof(err));
	options_set_defaults(&o);
	assert_int_equal(options_parse(&o, s, err, sizeof(err)), -EINVAL);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_int_equal(options_parse(&o, s, NULL, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(size_accepts_digits_and_binary_suffixes),
		cmocka_unit_test(size_rejects_malformed_text),
		cmocka_unit_test(size_rejects_overflow_with_erange),
		cmocka_unit_test(limit_accepts_size_percent_and_max),
		cmocka_unit_test(limit_rejects_bad_percent_and_text),
		cmocka_unit_test(seconds_accept_plain_numbers_only),
		cmocka_unit_test(seconds_fit_in_nanoseconds),
		cmocka_unit_test(malformed_beats_overflow),
		cmocka_unit_test(defaults_match_the_interface),
		cmocka_unit_test(parse_takes_every_option_and_keeps_the_rest),
		cmocka_unit_test(parse_leaves_foreign_list_untouched),
		cmocka_unit_test(parse_can_consume_everything),
		cmocka_unit_test(parse_later_option_overrides_earlier),
		cmocka_unit_test(parse_honours_escaped_commas),
		cmocka_unit_test(parse_drops_empty_tokens),
		cmocka_unit_test(parse_does_not_match_option_prefixes),
		cmocka_unit_test(parse_errors_name_the_option_and_value),
		cmocka_unit_test(parse_option_without_value_before_another),
		cmocka_unit_test(parse_enforces_minimums),
		cmocka_unit_test(parse_bounds_writeback_bw),
		cmocka_unit_test(parse_bounds_max_write),
		cmocka_unit_test(parse_error_message_is_truncated_safely),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
