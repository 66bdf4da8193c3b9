/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fusefs/ctlname.c: the names and values of dirtyfs's control xattrs
 * (../shared/interface.md), classified without side effects: no I/O, no
 * allocation, no global state, so any thread may call these. control.c
 * decides what each kind does; this file only says which kind a name is.
 * Unit-tested (tests/unit/test_ctlname.c) and fuzzed (tests/fuzz/).
 */
#ifndef DIRTYFS_CTLNAME_H
#define DIRTYFS_CTLNAME_H

#include <stddef.h>

#define CTL_PREFIX "trusted.dirtyfs."
#define CTL_USER_PREFIX "user.dirtyfs."

enum ctl_kind {
	CTL_FOREIGN, /* under neither prefix: not ours */
	CTL_LIMIT, /* trusted.dirtyfs.dirty[_background]_limit:CGPATH */
	CTL_STAT, /* trusted.dirtyfs.stat: filesystem-wide */
	CTL_STAT_CGROUP, /* trusted.dirtyfs.stat:CGPATH */
	CTL_USER_STAT, /* user.dirtyfs.stat: the caller's own cgroup */
	CTL_CGROUPS, /* trusted.dirtyfs.cgroups */
	CTL_SYNC, /* trusted.dirtyfs.sync */
	CTL_FAULT, /* trusted.dirtyfs.fault: test builds only (fault.h) */
	CTL_RESERVED, /* any other name under either prefix */
};

enum ctl_limit { CTL_LIMIT_HARD, CTL_LIMIT_BACKGROUND };

struct ctl_name {
	enum ctl_kind kind;
	enum ctl_limit limit; /* CTL_LIMIT only, else CTL_LIMIT_HARD */
	/* CTL_LIMIT and CTL_STAT_CGROUP: the text after the ':', pointing into
	 * the name (which must outlive it); NULL for the other kinds. */
	const char *cgpath;
};

/*
 * Classify the NUL-terminated xattr name into *out. The names that carry a
 * CGPATH match by prefix, the others exactly; "user.dirtyfs." has only
 * "stat". Returns 0, or -EINVAL for a CTL_LIMIT or CTL_STAT_CGROUP name
 * whose CGPATH is not valid (cg_path_valid()): *out is filled in either
 * case, so that a caller can tell which kind was malformed.
 */
int ctl_parse_name(const char *name, struct ctl_name *out);

/*
 * A set value (size bytes, not NUL-terminated) as a C string in buf:
 * setfattr sends values without a NUL, some programs with one, so one final
 * NUL is dropped. Returns 0, or -EINVAL if the value is empty, holds another
 * NUL, or does not fit in buflen with its NUL; buf is untouched then.
 */
int ctl_parse_value(const char *value, size_t size, char *buf, size_t buflen);

#endif
