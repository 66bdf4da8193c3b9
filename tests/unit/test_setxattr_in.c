// SPDX-License-Identifier: GPL-2.0
/*
 * Description: fusefs/setxattr_in.c, the short and extended SETXATTR
 * requests: each form told apart for names of 1 to 24 bytes of any
 * non-NUL byte and values of 0 to 20 bytes, zeros among them; bodies too
 * short to hold either; a name without its NUL; the kill-sgid flag; and
 * an extended request shortened into exactly the short one.
 */
#include <linux/fuse.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../fusefs/setxattr_in.h"
#include "../setxattr_req.h"

#define HDR SETXATTR_REQ_HDR
#define REQ_MAX (HDR + sizeof(struct fuse_setxattr_in) + 300 + 64)

static size_t make_req(char *buf, bool ext, const char *name, const char *value,
		       uint32_t size, uint32_t xflags)
{
	return setxattr_req_build(buf, ext, name, strlen(name), value, size,
				  xflags);
}

static void assert_form(bool ext, const char *name, const char *value,
			uint32_t size)
{
	char buf[REQ_MAX];
	size_t n = make_req(buf, ext, name, value, size, 0);

	assert_int_equal(setxattr_in_is_ext(buf + HDR, n - HDR), ext);
}

static void common_names_in_both_forms(void **state)
{
	static const char *const names[] = { "a", "user.x", "user.dirtyfs.stat",
					     "trusted.dirtyfs.dirty_limit:/A",
					     "system.posix_acl_access" };
	static const char value[64] = "1M";

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (uint32_t size = 0; size <= sizeof(value); size += 2) {
			assert_form(true, names[i], value, size);
			assert_form(false, names[i], value, size);
		}
	}
}

static void longest_name_in_both_forms(void **state)
{
	char name[256];

	(void)state;
	memset(name, 'n', 255);
	name[255] = '\0';
	assert_form(true, name, "v", 1);
	assert_form(false, name, "v", 1);
}

/* Every name of 1 to 24 bytes drawn from bytes that look like flags (1),
 * text, or neither (0xff), beside values of zeros or not: the short form
 * read as extended puts name bytes in the padding or overruns the body. */
static void odd_names_and_zero_values_never_confuse(void **state)
{
	static const char pool[] = { 1, 'a', (char)0xff };
	char name[25], value[20];

	(void)state;
	for (size_t len = 1; len < sizeof(name); len++) {
		for (size_t p = 0; p < sizeof(pool); p++) {
			memset(name, pool[p], len);
			name[len] = '\0';
			for (uint32_t size = 0; size <= sizeof(value); size++) {
				memset(value, 0, sizeof(value));
				assert_form(true, name, value, size);
				assert_form(false, name, value, size);
				memset(value, 'v', sizeof(value));
				assert_form(true, name, value, size);
				assert_form(false, name, value, size);
			}
		}
	}
}

static void short_bodies_are_not_extended(void **state)
{
	char body[sizeof(struct fuse_setxattr_in) + 1] = { 0 };

	(void)state;
	for (size_t len = 0; len <= sizeof(struct fuse_setxattr_in); len++)
		assert_false(setxattr_in_is_ext(body, len));
	/* 16 zero bytes and one more: a name with no NUL in the body. */
	body[sizeof(body) - 1] = 'x';
	assert_false(setxattr_in_is_ext(body, sizeof(body)));
}

static void kill_sgid_flag_is_read(void **state)
{
	char buf[REQ_MAX];
	size_t n;

	(void)state;
	n = make_req(buf, true, "system.posix_acl_access", "acl", 3,
		     FUSE_SETXATTR_ACL_KILL_SGID);
	assert_true(setxattr_in_is_ext(buf + HDR, n - HDR));
	assert_true(setxattr_in_kills_sgid(buf + HDR, n - HDR));
	n = make_req(buf, true, "system.posix_acl_access", "acl", 3, 0);
	assert_false(setxattr_in_kills_sgid(buf + HDR, n - HDR));
}

static void shortened_request_is_the_short_one(void **state)
{
	char ext[REQ_MAX], compat[REQ_MAX];
	const char value[] = "x\0y";
	size_t n_ext, n_compat;
	ssize_t n;

	(void)state;
	n_ext = make_req(ext, true, "user.key", value, sizeof(value),
			 FUSE_SETXATTR_ACL_KILL_SGID);
	n_compat = make_req(compat, false, "user.key", value, sizeof(value), 0);
	n = setxattr_in_shorten(ext, (ssize_t)n_ext);
	assert_int_equal(n, n_compat);
	assert_memory_equal(ext, compat, n_compat);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(common_names_in_both_forms),
		cmocka_unit_test(longest_name_in_both_forms),
		cmocka_unit_test(odd_names_and_zero_values_never_confuse),
		cmocka_unit_test(short_bodies_are_not_extended),
		cmocka_unit_test(kill_sgid_flag_is_read),
		cmocka_unit_test(shortened_request_is_the_short_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
