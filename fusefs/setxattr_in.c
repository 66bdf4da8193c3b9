// SPDX-License-Identifier: GPL-2.0
/*
 * The short and extended SETXATTR bodies; the forms are in setxattr_in.h.
 */
#include <linux/fuse.h>
#include <stdint.h>
#include <string.h>

#include "setxattr_in.h"

/*
 * Extended: the padding is 0, and the name, NUL-ended, and the value's size
 * bytes fill the rest. A short body read so has the name's first 8 bytes in
 * setxattr_flags and padding, so a padding not 0 if the name is 8 bytes or
 * longer; a shorter name and its value would need more bytes than there are.
 */
bool setxattr_in_is_ext(const char *in, size_t len)
{
	struct fuse_setxattr_in arg;
	size_t name_len;

	if (len <= sizeof(arg))
		return false;
	memcpy(&arg, in, sizeof(arg));
	if (arg.padding)
		return false;
	name_len = strnlen(in + sizeof(arg), len - sizeof(arg));
	return sizeof(arg) + name_len + 1 + arg.size == len;
}

bool setxattr_in_kills_sgid(const char *in, size_t len)
{
	struct fuse_setxattr_in arg;

	if (len < sizeof(arg))
		return false;
	memcpy(&arg, in, sizeof(arg));
	return arg.setxattr_flags & FUSE_SETXATTR_ACL_KILL_SGID;
}

ssize_t setxattr_in_shorten(char *buf, ssize_t n)
{
	const size_t at =
		sizeof(struct fuse_in_header) + FUSE_COMPAT_SETXATTR_IN_SIZE;
	const size_t cut =
		sizeof(struct fuse_setxattr_in) - FUSE_COMPAT_SETXATTR_IN_SIZE;
	struct fuse_in_header h;

	if ((size_t)n < at + cut)
		return n;
	memmove(buf + at, buf + at + cut, (size_t)n - at - cut);
	memcpy(&h, buf, sizeof(h));
	h.len -= (uint32_t)cut;
	memcpy(buf, &h, sizeof(h));
	return n - (ssize_t)cut;
}
