// SPDX-License-Identifier: GPL-2.0
/*
 * Description: parse_size(), parse_limit(), parse_seconds() and
 * limit_format() (fusefs/options.c) on arbitrary strings. Each parser is
 * held to a separately written reference of its grammar (SIZE: digits and
 * at most one final K/M/G/T suffix; SECONDS: digits, at most SECONDS_MAX),
 * and every LIMIT accepted must come back through limit_format() and
 * parse_limit() as the same limit.
 */
#include <errno.h>

#include "../../fusefs/options.h"
#include "fuzz.h"

/* Reference decimal: the n digits at s into *out. 0 or -ERANGE. */
static int ref_digits(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v))
			return -ERANGE;
	*out = v;
	return 0;
}

/* Reference SIZE: 0, -EINVAL or -ERANGE, value in *out. */
static int ref_size(const char *s, uint64_t *out)
{
	static const char suffixes[] = "kKmMgGtT";
	size_t n = strspn(s, "0123456789"), len = strlen(s);
	unsigned int shift = 0;
	uint64_t v;

	if (n == 0 || len > n + 1)
		return -EINVAL;
	if (len == n + 1) {
		const char *p = strchr(suffixes, s[n]);

		if (!p)
			return -EINVAL;
		shift = 10 * (unsigned int)((p - suffixes) / 2 + 1);
	}
	if (ref_digits(s, n, &v) || v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

/* Reference SECONDS: digits only, at most SECONDS_MAX. */
static int ref_seconds(const char *s, uint64_t *out)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || s[n])
		return -EINVAL;
	if (ref_digits(s, n, out) || *out > SECONDS_MAX)
		return -ERANGE;
	return 0;
}

static void check_size(const char *s)
{
	uint64_t v = 0, want = 0;
	int ret = parse_size(s, &v);

	CHECK(ret == 0 || ret == -EINVAL || ret == -ERANGE);
	CHECK(ret == ref_size(s, &want));
	if (!ret) {
		CHECK(v == want);
		/* Never a non-digit but one final suffix. */
		for (size_t i = 0; s[i + 1]; i++)
			CHECK(s[i] >= '0' && s[i] <= '9');
	}
}

static void check_seconds(const char *s)
{
	uint64_t v = 0, want = 0;
	int ret = parse_seconds(s, &v);

	CHECK(ret == 0 || ret == -EINVAL || ret == -ERANGE);
	CHECK(ret == ref_seconds(s, &want));
	CHECK(ret || v == want);
}

static void check_limit(const char *s)
{
	struct limit l = { LIMIT_BYTES, 0 }, back = { LIMIT_MAX, 1 };
	uint64_t bytes;
	char buf[32];
	int ret = parse_limit(s, &l), n;

	CHECK(ret == 0 || ret == -EINVAL || ret == -ERANGE);
	if (ret) {
		CHECK(strcmp(s, "max"));
		return;
	}
	if (l.kind == LIMIT_BYTES)
		CHECK(parse_size(s, &bytes) == 0 && bytes == l.value);
	if (l.kind == LIMIT_PERCENT)
		CHECK(l.value >= 1 && l.value <= 100 && strchr(s, '%'));
	if (l.kind == LIMIT_MAX)
		CHECK(!strcmp(s, "max") && l.value == UINT64_MAX);
	n = limit_format(&l, buf, sizeof(buf));
	CHECK(n > 0 && (size_t)n == strlen(buf));
	CHECK(parse_limit(buf, &back) == 0);
	CHECK(back.kind == l.kind && back.value == l.value);
	/* A buffer one byte short is refused, never overrun. */
	CHECK(limit_format(&l, buf, (size_t)n) == -ERANGE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstring(data, size);

	check_size(s);
	check_seconds(s);
	check_limit(s);
	free(s);
	return 0;
}
