// SPDX-License-Identifier: GPL-2.0
/*
 * Description: fusefs/setxattr_in.c on arbitrary bytes. As a body, any
 * input is read within its bounds. As a request: the first byte picks
 * the name's length, the next bytes are the name (a NUL made 'x': names
 * have none) and the rest the value; the extended request the kernel would
 * send is told extended, the short one is not, and shortening the extended
 * one gives the short one byte for byte.
 */
#include <linux/fuse.h>

#include "../../fusefs/setxattr_in.h"
#include "../setxattr_req.h"
#include "fuzz.h"

#define HDR SETXATTR_REQ_HDR

/* The request for name (len bytes, its NULs made 'x') and value (size
 * bytes), extended or short, malloc'ed; *n its length. */
static char *make_req(bool ext, const uint8_t *name, size_t len,
		      const uint8_t *value, size_t size, size_t *n)
{
	char text[256];
	char *req;
	size_t i;

	for (i = 0; i < len; i++)
		text[i] = name[i] ? (char)name[i] : 'x';
	req = malloc(setxattr_req_len(ext, len, size));
	if (!req)
		abort();
	*n = setxattr_req_build(req, ext, text, len, value, (uint32_t)size, 0);
	return req;
}

static void check_forms(const uint8_t *data, size_t size)
{
	size_t len = data[0], n_ext, n_short;
	char *ext, *brief;

	if (len == 0 || len > size - 1)
		return;
	ext = make_req(true, data + 1, len, data + 1 + len, size - 1 - len,
		       &n_ext);
	brief = make_req(false, data + 1, len, data + 1 + len, size - 1 - len,
			 &n_short);
	CHECK(setxattr_in_is_ext(ext + HDR, n_ext - HDR));
	CHECK(!setxattr_in_kills_sgid(ext + HDR, n_ext - HDR));
	CHECK(!setxattr_in_is_ext(brief + HDR, n_short - HDR));
	CHECK(setxattr_in_shorten(ext, (ssize_t)n_ext) == (ssize_t)n_short);
	CHECK(!memcmp(ext, brief, n_short));
	free(ext);
	free(brief);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = malloc(size ? size : 1);

	if (!body)
		abort();
	if (size)
		memcpy(body, data, size);
	(void)setxattr_in_is_ext(body, size);
	(void)setxattr_in_kills_sgid(body, size);
	free(body);
	if (size)
		check_forms(data, size);
	return 0;
}
