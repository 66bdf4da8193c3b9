// SPDX-License-Identifier: GPL-2.0
/*
 * Description: fusefs/ctlname.c, the control xattr names and values: every
 * kind of name, the names that are not ours, the reserved ones, every
 * malformed CGPATH in a limit or statistics name (empty, relative, "..",
 * "//", a trailing '/'), names of 255 bytes (the VFS's longest) and longer,
 * and set values with and without their NUL.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../cgroup/cgroup_lib.h"
#include "../../fusefs/ctlname.h"

#define LIMIT_NAME CTL_PREFIX "dirty_limit:"
#define BG_NAME CTL_PREFIX "dirty_background_limit:"
#define STAT_NAME CTL_PREFIX "stat:"
#define XATTR_NAME_MAX 255

static void assert_kind(const char *name, enum ctl_kind kind)
{
	struct ctl_name cn;

	assert_int_equal(ctl_parse_name(name, &cn), 0);
	assert_int_equal(cn.kind, kind);
	assert_null(cn.cgpath);
}

/* name is prefix + cgpath, a valid CGPATH. */
static void assert_cgpath_name(const char *name, enum ctl_kind kind,
			       enum ctl_limit limit, size_t prefix_len)
{
	struct ctl_name cn;

	assert_int_equal(ctl_parse_name(name, &cn), 0);
	assert_int_equal(cn.kind, kind);
	assert_int_equal(cn.limit, limit);
	assert_ptr_equal(cn.cgpath, name + prefix_len);
}

/* name is prefix + a malformed CGPATH: -EINVAL, but the kind is known. */
static void assert_bad_cgpath(const char *name, enum ctl_kind kind,
			      size_t prefix_len)
{
	struct ctl_name cn;

	assert_int_equal(ctl_parse_name(name, &cn), -EINVAL);
	assert_int_equal(cn.kind, kind);
	assert_ptr_equal(cn.cgpath, name + prefix_len);
}

static void foreign_names_are_not_ours(void **state)
{
	(void)state;
	assert_kind("", CTL_FOREIGN);
	assert_kind("user.comment", CTL_FOREIGN);
	assert_kind("security.selinux", CTL_FOREIGN);
	assert_kind("trusted.overlay.opaque", CTL_FOREIGN);
	assert_kind("trusted.dirtyfs", CTL_FOREIGN); /* no final dot */
	assert_kind("user.dirtyfs", CTL_FOREIGN);
	assert_kind("trusted.dirtyfsx.stat", CTL_FOREIGN);
	assert_kind("TRUSTED.dirtyfs.stat", CTL_FOREIGN);
	assert_kind("trusted.DirtyFS.stat", CTL_FOREIGN);
	assert_kind(" trusted.dirtyfs.stat", CTL_FOREIGN);
	assert_kind("dirtyfs.stat", CTL_FOREIGN);
	assert_kind("system.posix_acl_access", CTL_FOREIGN);
}

static void prefix_only_is_reserved(void **state)
{
	(void)state;
	assert_kind(CTL_PREFIX, CTL_RESERVED);
	assert_kind(CTL_USER_PREFIX, CTL_RESERVED);
}

static void exact_names_have_their_kinds(void **state)
{
	(void)state;
	assert_kind("trusted.dirtyfs.stat", CTL_STAT);
	assert_kind("trusted.dirtyfs.cgroups", CTL_CGROUPS);
	assert_kind("trusted.dirtyfs.sync", CTL_SYNC);
	assert_kind("trusted.dirtyfs.fault", CTL_FAULT);
	assert_kind("user.dirtyfs.stat", CTL_USER_STAT);
}

/* Exact names match exactly: a suffix, a case change or the other prefix
 * makes a reserved name. */
static void other_names_under_the_prefixes_are_reserved(void **state)
{
	(void)state;
	assert_kind("trusted.dirtyfs.stats", CTL_RESERVED);
	assert_kind("trusted.dirtyfs.stat ", CTL_RESERVED);
	assert_kind("trusted.dirtyfs.Stat", CTL_RESERVED);
	assert_kind("trusted.dirtyfs.cgroups\n", CTL_RESERVED);
	assert_kind("trusted.dirtyfs.sync:/", CTL_RESERVED);
	assert_kind("trusted.dirtyfs.syncx", CTL_RESERVED);
	assert_kind("trusted.dirtyfs.limits", CTL_RESERVED);
	assert_kind("trusted.dirtyfs.dirty_limit", CTL_RESERVED);
	assert_kind("trusted.dirtyfs.dirty_limit=/a", CTL_RESERVED);
	assert_kind("trusted.dirtyfs.dirty_limits:/a", CTL_RESERVED);
	assert_kind("trusted.dirtyfs.background_limit:/a", CTL_RESERVED);
	assert_kind("trusted.dirtyfs.\x01", CTL_RESERVED);
	assert_kind("trusted.dirtyfs..stat", CTL_RESERVED);
	assert_kind("user.dirtyfs.stat:/a", CTL_RESERVED);
	assert_kind("user.dirtyfs.stat:", CTL_RESERVED);
	assert_kind("user.dirtyfs.dirty_limit:/a", CTL_RESERVED);
	assert_kind("user.dirtyfs.sync", CTL_RESERVED);
	assert_kind("user.dirtyfs.cgroups", CTL_RESERVED);
	assert_kind("user.dirtyfs.stats", CTL_RESERVED);
}

static void limit_names_carry_kind_and_cgpath(void **state)
{
	(void)state;
	assert_cgpath_name(LIMIT_NAME "/", CTL_LIMIT, CTL_LIMIT_HARD,
			   strlen(LIMIT_NAME));
	assert_cgpath_name(LIMIT_NAME "/tenant-a", CTL_LIMIT, CTL_LIMIT_HARD,
			   strlen(LIMIT_NAME));
	assert_cgpath_name(BG_NAME "/", CTL_LIMIT, CTL_LIMIT_BACKGROUND,
			   strlen(BG_NAME));
	assert_cgpath_name(BG_NAME "/system.slice/ssh.service", CTL_LIMIT,
			   CTL_LIMIT_BACKGROUND, strlen(BG_NAME));
}

static void stat_names_carry_cgpath(void **state)
{
	(void)state;
	assert_cgpath_name(STAT_NAME "/", CTL_STAT_CGROUP, CTL_LIMIT_HARD,
			   strlen(STAT_NAME));
	assert_cgpath_name(STAT_NAME "/tenant-a/job", CTL_STAT_CGROUP,
			   CTL_LIMIT_HARD, strlen(STAT_NAME));
}

/* What cg_path_valid() allows in a component stays allowed in a name. */
static void cgpath_oddities_that_are_valid(void **state)
{
	static const char *const paths[] = {
		"/a:b",	    "/a:",	"/a b",
		"/.hidden", "/..x",	"/x..",
		"/...",	    "/a/b/c/d", "/trusted.dirtyfs.stat",
		"/\x7f",
	};
	char name[512];

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++) {
		snprintf(name, sizeof(name), LIMIT_NAME "%s", paths[i]);
		assert_cgpath_name(name, CTL_LIMIT, CTL_LIMIT_HARD,
				   strlen(LIMIT_NAME));
		snprintf(name, sizeof(name), STAT_NAME "%s", paths[i]);
		assert_cgpath_name(name, CTL_STAT_CGROUP, CTL_LIMIT_HARD,
				   strlen(STAT_NAME));
	}
}

/* The newlines are a regression: one in a limit's CGPATH split the
 * one-a-line limit store, and the root's listxattr then crashed the daemon. */
static const char *const bad_paths[] = {
	"",	 "relative", "a/b",   "/a/../b", "/..", "/.",  "/a/.",
	"/a/..", "/./a",     "/a//b", "//",	 "//a", "/a/", "/a/b/",
	" /a",	 ":/a",	     "/x\ny", "/x\n",	 "/\n",
};

static void malformed_cgpath_is_einval(void **state)
{
	char name[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad_paths) / sizeof(*bad_paths); i++) {
		snprintf(name, sizeof(name), LIMIT_NAME "%s", bad_paths[i]);
		assert_bad_cgpath(name, CTL_LIMIT, strlen(LIMIT_NAME));
		snprintf(name, sizeof(name), BG_NAME "%s", bad_paths[i]);
		assert_bad_cgpath(name, CTL_LIMIT, strlen(BG_NAME));
		snprintf(name, sizeof(name), STAT_NAME "%s", bad_paths[i]);
		assert_bad_cgpath(name, CTL_STAT_CGROUP, strlen(STAT_NAME));
	}
}

/* prefix, then "/" and 'x's up to len bytes in all. Caller frees. */
static char *long_name(const char *prefix, size_t len)
{
	size_t n = strlen(prefix);
	char *s = malloc(len + 1);

	assert_non_null(s);
	assert_true(len > n + 1);
	memcpy(s, prefix, n);
	s[n] = '/';
	memset(s + n + 1, 'x', len - n - 1);
	s[len] = '\0';
	return s;
}

static void names_of_255_bytes(void **state)
{
	char *s;

	(void)state;
	s = long_name(LIMIT_NAME, XATTR_NAME_MAX);
	assert_cgpath_name(s, CTL_LIMIT, CTL_LIMIT_HARD, strlen(LIMIT_NAME));
	free(s);
	s = long_name(STAT_NAME, XATTR_NAME_MAX);
	assert_cgpath_name(s, CTL_STAT_CGROUP, CTL_LIMIT_HARD,
			   strlen(STAT_NAME));
	free(s);
	s = long_name(CTL_PREFIX "x", XATTR_NAME_MAX);
	assert_kind(s, CTL_RESERVED);
	free(s);
	s = long_name("user.x", XATTR_NAME_MAX);
	assert_kind(s, CTL_FOREIGN);
	free(s);
}

/* Longer than the VFS passes: a CGPATH of CGPATH_MAX bytes is refused. */
static void overlong_cgpath_is_einval(void **state)
{
	size_t n = strlen(LIMIT_NAME);
	char *s;

	(void)state;
	s = long_name(LIMIT_NAME, n + CGPATH_MAX - 1);
	assert_cgpath_name(s, CTL_LIMIT, CTL_LIMIT_HARD, n);
	free(s);
	s = long_name(LIMIT_NAME, n + CGPATH_MAX);
	assert_bad_cgpath(s, CTL_LIMIT, n);
	free(s);
}

/* size bytes of value in a buffer of exactly that size (ASan sees any
 * read past it), parsed into a buffer of buflen. */
static int parse_value(const char *value, size_t size, char *buf, size_t buflen)
{
	char *copy = malloc(size ? size : 1);
	int ret;

	assert_non_null(copy);
	memcpy(copy, value, size);
	ret = ctl_parse_value(copy, size, buf, buflen);
	free(copy);
	return ret;
}

static void value_with_or_without_nul(void **state)
{
	char buf[8];

	(void)state;
	assert_int_equal(parse_value("100M", 4, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "100M");
	assert_int_equal(parse_value("100M", 5, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "100M");
	assert_int_equal(parse_value("/", 1, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/");
	/* Anything else but NUL passes: the callers parse further. */
	assert_int_equal(parse_value(" 1\n", 3, buf, sizeof(buf)), 0);
	assert_string_equal(buf, " 1\n");
}

static void value_must_fit(void **state)
{
	char buf[8];

	(void)state;
	assert_int_equal(parse_value("1234567", 7, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1234567");
	assert_int_equal(parse_value("1234567", 8, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1234567");
	memcpy(buf, "old", 4);
	assert_int_equal(parse_value("12345678", 8, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(parse_value("12345678", 9, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(parse_value("1", 1, buf, 1), -EINVAL);
	assert_int_equal(parse_value("1", 1, buf, 0), -EINVAL);
	assert_string_equal(buf, "old");
}

static void value_empty_or_with_inner_nul_is_einval(void **state)
{
	char buf[16] = "old";

	(void)state;
	assert_int_equal(parse_value("", 0, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(parse_value("", 1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(parse_value("\0\0", 2, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(parse_value("1\0\0", 3, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(parse_value("1\0M", 3, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(parse_value("\0M", 2, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(parse_value("1\0M", 4, buf, sizeof(buf)), -EINVAL);
	assert_string_equal(buf, "old");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(foreign_names_are_not_ours),
		cmocka_unit_test(prefix_only_is_reserved),
		cmocka_unit_test(exact_names_have_their_kinds),
		cmocka_unit_test(other_names_under_the_prefixes_are_reserved),
		cmocka_unit_test(limit_names_carry_kind_and_cgpath),
		cmocka_unit_test(stat_names_carry_cgpath),
		cmocka_unit_test(cgpath_oddities_that_are_valid),
		cmocka_unit_test(malformed_cgpath_is_einval),
		cmocka_unit_test(names_of_255_bytes),
		cmocka_unit_test(overlong_cgpath_is_einval),
		cmocka_unit_test(value_with_or_without_nul),
		cmocka_unit_test(value_must_fit),
		cmocka_unit_test(value_empty_or_with_inner_nul_is_einval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
