// SPDX-License-Identifier: GPL-2.0
/*
 * Description: the isolation benchmark's victim. Writes 4 KiB with pwrite(2)
 * at a steady rate (one write every INTERVAL_US microseconds: 488 us is
 * 8 MiB/s) into the first REGION bytes of FILE, wrapping around, for SECONDS
 * seconds, and records how long each pwrite took.
 *
 *   victim FILE SECONDS INTERVAL_US REGION_BYTES LATENCY_OUT
 *
 * The schedule is open-loop: write i is due at start + i * INTERVAL_US; a
 * write that is due while an earlier one is still in flight starts as soon
 * as that one returns (no write is skipped), so a stall shows up in the
 * latency of the write that stalled and in the count of late starts.
 *
 * LATENCY_OUT gets one latency a line, in nanoseconds, in issue order.
 * Standard output gets one line of KEY=VALUE pairs: n, rate_MiBps, p50_us,
 * p99_us, p9999_us, max_us, late (starts more than 1 ms behind schedule),
 * runq_wait_ms (time this thread waited for a CPU while runnable, from
 * /proc/thread-self/schedstat, -1 where unknown: on a busy machine, part of
 * the latency is the scheduler's, not the filesystem's).
 * Percentiles are nearest-rank. Exit status: 0, or 1 if a write failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WRITE_BYTES 4096
#define LATE_NS 1000000ULL

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_until_ns(uint64_t t_ns)
{
	struct timespec ts = { .tv_sec = (time_t)(t_ns / 1000000000ULL),
			       .tv_nsec = (long)(t_ns % 1000000000ULL) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

/* Time spent runnable but waiting for a CPU, in ns; -1 where unknown. */
static long long runq_wait_ns(void)
{
	unsigned long long run_ns, wait_ns;
	FILE *f = fopen("/proc/thread-self/schedstat", "r");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "%llu %llu", &run_ns, &wait_ns);
	fclose(f);
	return n == 2 ? (long long)wait_ns : -1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest rank: the smallest value with at least p of the samples <= it. */
static uint64_t percentile(const uint64_t *sorted, size_t n, double p)
{
	size_t rank = (size_t)(p * (double)n + 0.999999);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: victim FILE SECONDS INTERVAL_US "
				"REGION_BYTES LATENCY_OUT\n");
		return 2;
	}
	double seconds = atof(argv[2]);
	uint64_t interval_ns = strtoull(argv[3], NULL, 10) * 1000ULL;
	uint64_t region_bytes = strtoull(argv[4], NULL, 10);
	uint64_t duration_ns = (uint64_t)(seconds * 1e9);
	size_t max_writes = duration_ns / interval_ns + 2;
	uint64_t *lat_ns = calloc(max_writes, sizeof(*lat_ns));
	static char buf[WRITE_BYTES] __attribute__((aligned(4096)));
	int fd = open(argv[1], O_WRONLY);

	if (fd < 0 || !lat_ns || region_bytes < WRITE_BYTES) {
		perror(argv[1]);
		return 1;
	}
	memset(buf, 'v', sizeof(buf));

	long long wait0_ns = runq_wait_ns();
	uint64_t start_ns = now_ns(), end_ns = start_ns + duration_ns;
	uint64_t off = 0, late = 0;
	size_t n = 0;

	for (; n < max_writes; n++) {
		uint64_t due_ns = start_ns + n * interval_ns;

		if (due_ns >= end_ns)
			break;
		sleep_until_ns(due_ns);
		uint64_t t0 = now_ns();
		if (t0 - due_ns > LATE_NS)
			late++;
		ssize_t r = pwrite(fd, buf, WRITE_BYTES, (off_t)off);
		uint64_t t1 = now_ns();
		if (r != WRITE_BYTES) {
			fprintf(stderr, "victim: pwrite: %s\n",
				r < 0 ? strerror(errno) : "short write");
			return 1;
		}
		lat_ns[n] = t1 - t0;
		off += WRITE_BYTES;
		if (off + WRITE_BYTES > region_bytes)
			off = 0;
	}
	uint64_t elapsed_ns = now_ns() - start_ns;
	long long wait1_ns = runq_wait_ns();
	double wait_ms = wait0_ns < 0 || wait1_ns < 0 ?
				 -1 :
				 (double)(wait1_ns - wait0_ns) / 1e6;
	close(fd);

	FILE *out = fopen(argv[5], "w");
	if (!out) {
		perror(argv[5]);
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%llu\n", (unsigned long long)lat_ns[i]);
	fclose(out);

	qsort(lat_ns, n, sizeof(*lat_ns), cmp_u64);
	printf("n=%zu rate_MiBps=%.3f p50_us=%.1f p99_us=%.1f p9999_us=%.1f "
	       "max_us=%.1f late=%llu runq_wait_ms=%.1f\n",
	       n, (double)n * WRITE_BYTES / (1 << 20) / (elapsed_ns / 1e9),
	       percentile(lat_ns, n, 0.50) / 1e3,
	       percentile(lat_ns, n, 0.99) / 1e3,
	       percentile(lat_ns, n, 0.9999) / 1e3, lat_ns[n - 1] / 1e3,
	       (unsigned long long)late, wait_ms);
	free(lat_ns);
	return 0;
}
