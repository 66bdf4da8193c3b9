// SPDX-License-Identifier: GPL-2.0
/*
 * Description: cg_path_valid() and cg_path_parent() (cgroup/procfs.c) on
 * arbitrary bytes. Validity is held to a separately written reference of
 * the CGPATH rule; the parent of a valid path is valid, a proper prefix of
 * it, and walking up in place always ends at "/" (-ENOENT above it). On any
 * other string cg_path_parent() must not crash, and a short buffer is
 * refused, never overrun.
 */
#include <errno.h>

#include "../../cgroup/cgroup_lib.h"
#include "fuzz.h"

/* Reference CGPATH rule: "/" or ("/" component)+, components non-empty,
 * not "." or "..", no NUL or newline; shorter than CGPATH_MAX. */
static int ref_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	if (len == 0 || len >= CGPATH_MAX || s[0] != '/')
		return 0;
	if (len == 1)
		return 1;
	while (i < len) {
		size_t j = i + 1, n;

		while (j < len && s[j] != '/') {
			if (!s[j] || s[j] == '\n')
				return 0;
			j++;
		}
		n = j - i - 1;
		if (n == 0 || (n == 1 && s[i + 1] == '.') ||
		    (n == 2 && s[i + 1] == '.' && s[i + 2] == '.'))
			return 0;
		i = j;
	}
	return 1;
}

static void walk_up(const char *path)
{
	size_t len = strlen(path), prev = len;
	char buf[CGPATH_MAX];
	int ret;

	memcpy(buf, path, len + 1);
	while ((ret = cg_path_parent(buf, buf, sizeof(buf))) == 0) {
		len = strlen(buf);
		CHECK(len < prev);
		CHECK(cg_path_valid(buf, len));
		CHECK(!memcmp(buf, path, len));
		CHECK(len == 1 || path[len] == '/');
		prev = len;
	}
	CHECK(ret == -ENOENT);
	CHECK(!strcmp(buf, "/"));
}

/* Any string: no crash; a too-short buffer is refused untouched. */
static void parent_of_anything(const char *s, size_t outlen)
{
	char out[64];
	int ret;

	memset(out, 'z', sizeof(out));
	ret = cg_path_parent(s, out, outlen);
	CHECK(ret == 0 || ret == -ENOENT || ret == -EINVAL ||
	      ret == -ENAMETOOLONG);
	if (ret)
		CHECK(out[0] == 'z');
	else
		CHECK(strlen(out) < outlen && out[0] == '/');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool valid = cg_path_valid((const char *)data, size);
	char *s = fuzz_cstring(data, size);

	CHECK(valid == ref_valid(data, size));
	if (valid)
		walk_up(s);
	parent_of_anything(s, size % 65);
	free(s);
	return 0;
}
