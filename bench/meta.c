// SPDX-License-Identifier: GPL-2.0
/*
 * Description: the metadata benchmark. In a new directory DIR, creates N
 * empty files (open O_CREAT|O_EXCL, close), then stats each, then unlinks
 * each, timing each phase, and removes DIR.
 *
 *   meta DIR N
 *
 * Standard output: one line, create_ops=... stat_ops=... unlink_ops=...
 * (operations per second). Exit status 0, or 1 if any call failed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void name_of(char *buf, size_t size, const char *dir, long i)
{
	snprintf(buf, size, "%s/f%07ld", dir, i);
}

int main(int argc, char **argv)
{
	char path[4096];
	struct stat st;

	if (argc != 3) {
		fprintf(stderr, "usage: meta DIR N\n");
		return 2;
	}
	const char *dir = argv[1];
	long n = atol(argv[2]);

	if (n < 1 || mkdir(dir, 0755) != 0) {
		perror(dir);
		return 1;
	}

	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		name_of(path, sizeof(path), dir, i);
		int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0 || close(fd) != 0) {
			perror(path);
			return 1;
		}
	}
	double t1 = now_s();
	for (long i = 0; i < n; i++) {
		name_of(path, sizeof(path), dir, i);
		if (stat(path, &st) != 0) {
			perror(path);
			return 1;
		}
	}
	double t2 = now_s();
	for (long i = 0; i < n; i++) {
		name_of(path, sizeof(path), dir, i);
		if (unlink(path) != 0) {
			perror(path);
			return 1;
		}
	}
	double t3 = now_s();
	if (rmdir(dir) != 0) {
		perror(dir);
		return 1;
	}
	printf("create_ops=%.0f stat_ops=%.0f unlink_ops=%.0f\n",
	       (double)n / (t1 - t0), (double)n / (t2 - t1),
	       (double)n / (t3 - t2));
	return 0;
}
