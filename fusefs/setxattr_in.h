/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fusefs/setxattr_in.c: the two forms of a FUSE_SETXATTR request, as
 * transport.c meets them. The short form's body is the 8 bytes of size and
 * flags, the name (NUL-ended) and the value; the extended form (once INIT
 * agreed FUSE_SETXATTR_EXT) puts setxattr_flags and a zero padding before
 * the name. The kernel picks the form as setxattr(2) begins, so a request
 * begun before INIT's reply comes short even after it: each request is told
 * by its shape. Pure functions over the bytes read from /dev/fuse, any
 * thread; unit-tested (tests/unit/test_setxattr_in.c).
 */
#ifndef DIRTYFS_SETXATTR_IN_H
#define DIRTYFS_SETXATTR_IN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Whether the SETXATTR body in[0..len) is in the extended form. Exact for
 * any request the kernel sends, whatever the name and the value hold. */
bool setxattr_in_is_ext(const char *in, size_t len);

/* Whether the extended body in[0..len) asks to clear the setgid bit
 * (FUSE_SETXATTR_ACL_KILL_SGID). */
bool setxattr_in_kills_sgid(const char *in, size_t len);

/* The extended request of n bytes at buf (header and body) rewritten in
 * place in the short form: the header's len and the return value are 8
 * bytes less. */
ssize_t setxattr_in_shorten(char *buf, ssize_t n);

#endif
