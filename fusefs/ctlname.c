// SPDX-License-Identifier: GPL-2.0
/*
 * Control xattr names and values: which kind a name is, and a set value as
 * a C string. Pure functions; the rules are in ctlname.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "../cgroup/cgroup_lib.h"
#include "ctlname.h"

static const struct ctl_entry {
	const char *name;
	enum ctl_kind kind;
	enum ctl_limit limit;
	bool has_cgpath; /* name is a prefix: the CGPATH follows */
} ctl_table[] = {
	{ CTL_PREFIX "dirty_limit:", CTL_LIMIT, CTL_LIMIT_HARD, true },
	{ CTL_PREFIX "dirty_background_limit:", CTL_LIMIT, CTL_LIMIT_BACKGROUND,
	  true },
	{ CTL_PREFIX "stat:", CTL_STAT_CGROUP, CTL_LIMIT_HARD, true },
	{ CTL_PREFIX "stat", CTL_STAT, CTL_LIMIT_HARD, false },
	{ CTL_PREFIX "cgroups", CTL_CGROUPS, CTL_LIMIT_HARD, false },
	{ CTL_PREFIX "sync", CTL_SYNC, CTL_LIMIT_HARD, false },
	{ CTL_PREFIX "fault", CTL_FAULT, CTL_LIMIT_HARD, false },
	{ CTL_USER_PREFIX "stat", CTL_USER_STAT, CTL_LIMIT_HARD, false },
};

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* The entry name matches, or NULL. */
static const struct ctl_entry *find_entry(const char *name)
{
	for (size_t i = 0; i < sizeof(ctl_table) / sizeof(*ctl_table); i++) {
		const struct ctl_entry *e = &ctl_table[i];

		if (e->has_cgpath ? has_prefix(name, e->name) :
				    !strcmp(name, e->name))
			return e;
	}
	return NULL;
}

int ctl_parse_name(const char *name, struct ctl_name *out)
{
	const struct ctl_entry *e = find_entry(name);

	*out = (struct ctl_name){ .kind = CTL_FOREIGN };
	if (!e) {
		if (has_prefix(name, CTL_PREFIX) ||
		    has_prefix(name, CTL_USER_PREFIX))
			out->kind = CTL_RESERVED;
		return 0;
	}
	out->kind = e->kind;
	out->limit = e->limit;
	if (!e->has_cgpath)
		return 0;
	out->cgpath = name + strlen(e->name);
	return cg_path_valid(out->cgpath, strlen(out->cgpath)) ? 0 : -EINVAL;
}

int ctl_parse_value(const char *value, size_t size, char *buf, size_t buflen)
{
	if (size && !value[size - 1])
		size--;
	if (!size || size >= buflen || memchr(value, '\0', size))
		return -EINVAL;
	memcpy(buf, value, size);
	buf[size] = '\0';
	return 0;
}
