// SPDX-License-Identifier: GPL-2.0
/*
 * Description: cg_parse_proc_cgroup() (cgroup/procfs.c) on arbitrary bytes,
 * as a hostile or unexpected /proc/PID/cgroup, for both hierarchies and for
 * an out-of-range one. The input is passed as is, without a NUL, so ASan
 * sees any read past it. On success the path is a valid CGPATH that fits
 * the buffer and is the text of a line of the input; on error the buffer
 * is untouched. The first byte picks a short output buffer, to try
 * -ENAMETOOLONG.
 */
#include <errno.h>

#include "../../cgroup/cgroup_lib.h"
#include "fuzz.h"

#define SENTINEL 0x5a

static void check_one(const uint8_t *data, size_t size, enum cg_hierarchy h,
		      size_t outlen)
{
	static char out[CGPATH_MAX + 1];
	size_t len;
	int ret;

	/* out has one byte more than outlen, to see a write past it. */
	memset(out, SENTINEL, outlen + 1);
	ret = cg_parse_proc_cgroup((const char *)data, size, h, out, outlen);
	CHECK(ret == 0 || ret == -ENOENT || ret == -EINVAL ||
	      ret == -ENAMETOOLONG);
	CHECK((unsigned char)out[outlen] == SENTINEL);
	if (ret) {
		for (size_t i = 0; i < outlen; i++)
			CHECK((unsigned char)out[i] == SENTINEL);
		return;
	}
	CHECK(h == CG_UNIFIED || h == CG_MEMORY_V1);
	len = strnlen(out, outlen);
	CHECK(len < outlen && len < CGPATH_MAX);
	CHECK(cg_path_valid(out, len));
	/* The path is the end of a line: followed by '\n' or the input end. */
	CHECK(len <= size);
	CHECK(memmem(data, size, out, len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t small = size ? (size_t)data[0] % 64 : 0;

	check_one(data, size, CG_UNIFIED, CGPATH_MAX);
	check_one(data, size, CG_MEMORY_V1, CGPATH_MAX);
	check_one(data, size, CG_UNIFIED, small);
	check_one(data, size, CG_MEMORY_V1, small);
	check_one(data, size, (enum cg_hierarchy)2, CGPATH_MAX);
	return 0;
}
