// SPDX-License-Identifier: GPL-2.0
/*
 * Description: not a test. What the pid cache saves a write: nanoseconds per
 * cached cg_pid_cache_lookup() (with the clock read a caller needs for
 * now_ns) against a /proc/PID/cgroup read and parse.
 *
 *   bench_pid_cache [ITERATIONS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../cgroup/cgroup_lib.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static double ns_per_proc_read(enum cg_hierarchy h, long n)
{
	char out[CGPATH_MAX];
	pid_t pid = getpid();
	uint64_t start = now_ns();

	for (long i = 0; i < n; i++)
		if (cg_read_pid_cgroup(pid, h, out, sizeof(out)))
			return -1;
	return (double)(now_ns() - start) / (double)n;
}

static double ns_per_cached_lookup(struct cg_pid_cache *c, long n)
{
	char out[CGPATH_MAX];
	pid_t pid = getpid();
	uint64_t start = now_ns();

	for (long i = 0; i < n; i++)
		if (cg_pid_cache_lookup(c, pid, now_ns(), out, sizeof(out)))
			return -1;
	return (double)(now_ns() - start) / (double)n;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	struct cg_pid_cache c;
	enum cg_hierarchy h;
	double proc_ns, hit_ns;
	int ret;

	ret = cg_choose_hierarchy(CGROUP_MODE_AUTO, "/sys/fs/cgroup", &h);
	if (!ret)
		ret = cg_pid_cache_init(&c, h, 1000000000ULL, 1024);
	if (ret || n <= 0) {
		fprintf(stderr, "bench_pid_cache: %s\n",
			ret ? strerror(-ret) : "bad iteration count");
		return 1;
	}
	proc_ns = ns_per_proc_read(h, n / 20 ? n / 20 : 1);
	hit_ns = ns_per_cached_lookup(&c, n);
	cg_pid_cache_destroy(&c);
	if (proc_ns < 0 || hit_ns < 0) {
		fprintf(stderr, "bench_pid_cache: lookup failed\n");
		return 1;
	}
	printf("hierarchy %s\n", h == CG_UNIFIED ? "unified" : "memory (v1)");
	printf("/proc/PID/cgroup read+parse  %8.0f ns\n", proc_ns);
	printf("cached lookup (+clock read)  %8.1f ns\n", hit_ns);
	printf("ratio                        %8.0fx\n", proc_ns / hit_ns);
	return 0;
}
