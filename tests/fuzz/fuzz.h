/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tests/fuzz/: what the libFuzzer harnesses share. A harness checks the
 * invariants of the parser it drives with CHECK(), which aborts, so that
 * libFuzzer saves the input as a crash; ASan and UBSan catch the rest.
 */
#ifndef DIRTYFS_FUZZ_H
#define DIRTYFS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", \
				__FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* data as a malloc'ed C string (it ends at its first NUL, if any). */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
