// SPDX-License-Identifier: GPL-2.0
/*
 * Description: ctl_parse_name() and ctl_parse_value() (fusefs/ctlname.c)
 * on arbitrary bytes. A name is classified consistently with its prefix;
 * a CGPATH is a suffix of the name, and -EINVAL comes exactly when it is
 * not valid. A value is accepted exactly when, less one final NUL, it is
 * non-empty, NUL-free and fits; the copy is then exact, and on error the
 * buffer is untouched. The first byte picks the value buffer's size.
 */
#include <errno.h>

#include "../../cgroup/cgroup_lib.h"
#include "../../fusefs/ctlname.h"
#include "fuzz.h"

static const struct {
	const char *prefix;
	enum ctl_kind kind;
} cgpath_kinds[] = {
	{ CTL_PREFIX "dirty_limit:", CTL_LIMIT },
	{ CTL_PREFIX "dirty_background_limit:", CTL_LIMIT },
	{ CTL_PREFIX "stat:", CTL_STAT_CGROUP },
};

static int starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static void check_cgpath(const char *name, const struct ctl_name *cn, int ret)
{
	size_t i;

	for (i = 0; i < sizeof(cgpath_kinds) / sizeof(*cgpath_kinds); i++)
		if (starts(name, cgpath_kinds[i].prefix))
			break;
	CHECK(i < sizeof(cgpath_kinds) / sizeof(*cgpath_kinds));
	CHECK(cn->kind == cgpath_kinds[i].kind);
	CHECK(cn->cgpath == name + strlen(cgpath_kinds[i].prefix));
	CHECK(cn->limit == (i == 1 ? CTL_LIMIT_BACKGROUND : CTL_LIMIT_HARD));
	CHECK((ret == 0) == cg_path_valid(cn->cgpath, strlen(cn->cgpath)));
}

static void check_name(const char *name)
{
	struct ctl_name cn;
	int ret = ctl_parse_name(name, &cn);
	int ours = starts(name, CTL_PREFIX) || starts(name, CTL_USER_PREFIX);

	CHECK(ret == 0 || ret == -EINVAL);
	CHECK((cn.kind == CTL_FOREIGN) == !ours);
	if (cn.kind == CTL_LIMIT || cn.kind == CTL_STAT_CGROUP) {
		check_cgpath(name, &cn, ret);
		return;
	}
	CHECK(ret == 0 && !cn.cgpath);
	CHECK(cn.kind != CTL_USER_STAT || !strcmp(name, "user.dirtyfs.stat"));
	CHECK(cn.kind != CTL_STAT || !strcmp(name, CTL_PREFIX "stat"));
	CHECK(cn.kind != CTL_SYNC || !strcmp(name, CTL_PREFIX "sync"));
}

static void check_value(const uint8_t *v, size_t size, size_t buflen)
{
	static char buf[300];
	size_t n = size && !v[size - 1] ? size - 1 : size;
	int want = n && n < buflen && !memchr(v, '\0', n);
	int ret;

	memset(buf, 'z', sizeof(buf));
	ret = ctl_parse_value((const char *)v, size, buf, buflen);
	CHECK(ret == 0 || ret == -EINVAL);
	CHECK((ret == 0) == want);
	if (ret) {
		CHECK(buf[0] == 'z');
		return;
	}
	CHECK(!memcmp(buf, v, n) && !buf[n] && buf[n + 1] == 'z');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = fuzz_cstring(data, size);

	check_name(name);
	free(name);
	if (size)
		check_value(data + 1, size - 1, data[0]);
	return 0;
}
