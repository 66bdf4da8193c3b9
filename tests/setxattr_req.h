/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The SETXATTR request the kernel sends for setxattr(name, value, size),
 * extended or short, as the unit test and the fuzzer of
 * fusefs/setxattr_in.c build it.
 */
#ifndef DIRTYFS_TESTS_SETXATTR_REQ_H
#define DIRTYFS_TESTS_SETXATTR_REQ_H

#include <linux/fuse.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SETXATTR_REQ_HDR sizeof(struct fuse_in_header)

/* The body's fixed part in either form. */
static inline size_t setxattr_req_arg_len(bool ext)
{
	return ext ? sizeof(struct fuse_setxattr_in) :
		     FUSE_COMPAT_SETXATTR_IN_SIZE;
}

/* The request's length for a name of name_len bytes, its NUL not counted,
 * and a value of size bytes. */
static inline size_t setxattr_req_len(bool ext, size_t name_len, size_t size)
{
	return SETXATTR_REQ_HDR + setxattr_req_arg_len(ext) + name_len + 1 +
	       size;
}

/* Writes the request into buf, which holds setxattr_req_len bytes: name
 * has name_len bytes and no NUL, setxattr_flags is xflags. Returns its
 * length. */
static inline size_t setxattr_req_build(char *buf, bool ext, const char *name,
					size_t name_len, const void *value,
					uint32_t size, uint32_t xflags)
{
	struct fuse_setxattr_in arg = { .size = size,
					.setxattr_flags = xflags };
	size_t arg_len = setxattr_req_arg_len(ext);
	size_t n = setxattr_req_len(ext, name_len, size);
	struct fuse_in_header h = { .len = (uint32_t)n,
				    .opcode = FUSE_SETXATTR };
	char *at = buf;

	memcpy(at, &h, sizeof(h));
	at += sizeof(h);
	memcpy(at, &arg, arg_len);
	at += arg_len;
	memcpy(at, name, name_len);
	at += name_len;
	*at++ = '\0';
	if (size)
		memcpy(at, value, size);
	return n;
}

#endif
