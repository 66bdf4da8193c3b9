// SPDX-License-Identifier: GPL-2.0
/*
 * Description: the scale benchmark's writer. PROCS processes, each in one
 * of the cgroups listed in CGROUPS_FILE (process i in line i modulo their
 * number), each creating FILES files of BYTES bytes in DIR (one write each),
 * JOBS processes at a time. The same processes write the same data whether
 * the list has one cgroup or a thousand: only where they are charged
 * differs.
 *
 *   scale DIR CGROUPS_FILE PROCS FILES BYTES JOBS
 *
 * CGROUPS_FILE holds one cgroup directory a line (an absolute path in
 * cgroupfs; the child writes its pid into its cgroup.procs before it
 * writes). Standard output gets one line of KEY=VALUE pairs: files, bytes,
 * seconds, MBps (bytes / seconds / 1e6, from the first fork to the last
 * exit). Exit status: 0, or 1 if anything failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char **read_lines(const char *path, size_t *n)
{
	char **v = NULL, *line = NULL;
	size_t cap = 0, len = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	*n = 0;
	while (getline(&line, &len, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				exit(1);
		}
		v[(*n)++] = strdup(line);
	}
	free(line);
	fclose(f);
	return v;
}

static int join_cgroup(const char *dir)
{
	char path[4096], pid[32];
	int fd, len, ok;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	len = snprintf(pid, sizeof(pid), "%d", (int)getpid());
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ok = write(fd, pid, (size_t)len) == len;
	close(fd);
	return ok ? 0 : -1;
}

/* One process's share: FILES files named p<proc>-<n>. */
static int child(const char *dir, const char *cgroup, long proc, long files,
		 const char *buf, size_t bytes)
{
	char path[4096];

	if (join_cgroup(cgroup)) {
		fprintf(stderr, "scale: joining %s: %s\n", cgroup,
			strerror(errno));
		return 1;
	}
	for (long i = 0; i < files; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/p%ld-%ld", dir, proc, i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, buf, bytes) != (ssize_t)bytes ||
		    close(fd)) {
			fprintf(stderr, "scale: %s: %s\n", path,
				strerror(errno));
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	long procs, files, jobs, running = 0, next = 0;
	size_t bytes, ncg;
	char **cgroups, *buf;
	double t0, t1;
	int status, rc = 0;

	if (argc != 7) {
		fprintf(stderr, "usage: scale DIR CGROUPS_FILE PROCS FILES "
				"BYTES JOBS\n");
		return 2;
	}
	procs = atol(argv[3]);
	files = atol(argv[4]);
	bytes = (size_t)atol(argv[5]);
	jobs = atol(argv[6]);
	cgroups = read_lines(argv[2], &ncg);
	buf = malloc(bytes);
	if (!cgroups || !ncg || !buf || procs < 1 || jobs < 1) {
		fprintf(stderr, "scale: bad arguments\n");
		return 2;
	}
	memset(buf, 'x', bytes);
	t0 = now_s();
	while (next < procs || running) {
		if (next < procs && running < jobs) {
			pid_t pid = fork();

			if (pid == 0)
				_exit(child(argv[1], cgroups[next % (long)ncg],
					    next, files, buf, bytes));
			if (pid < 0)
				return 1;
			next++;
			running++;
			continue;
		}
		if (wait(&status) < 0)
			return 1;
		running--;
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			rc = 1;
	}
	t1 = now_s();
	printf("files=%ld bytes=%llu seconds=%.3f MBps=%.1f\n", procs * files,
	       (unsigned long long)procs * files * bytes, t1 - t0,
	       (double)procs * (double)files * (double)bytes / (t1 - t0) / 1e6);
	return rc;
}
