// SPDX-License-Identifier: GPL-2.0
/*
 * Description: cgroup/memlimit.c against this machine's real cgroups. Makes
 * dirtyfs-test-PID with a 100M memory limit and children under it (v1's
 * memory hierarchy, or v2 where it has the memory controller), checks what
 * each resolves to, and removes them all at the end, failure or crash.
 * Needs root and a memory controller: otherwise it skips (exit 77), except
 * under CI=true, where a missing feature is a failure.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../cgroup/cgroup_lib.h"

#define SYSFS "/sys/fs/cgroup"
#define MiB (1ULL << 20)

/* The hierarchy under test, and the cgroups made in it. */
static struct {
	enum cg_hierarchy h;
	char mnt[256]; /* where h is mounted */
	const char *limit_file;
	char top[64]; /* CGPATH of the test cgroup */
	bool made[4]; /* which of dirs[] exist, for cleanup */
} t;

/* Children of t.top: no limit, above the parent's, below it; grandchild. */
static const char *const dirs[] = { "", "/free", "/high", "/low" };
static const char *const grandchild = "/free/deeper";

static void path_of(char *out, size_t len, const char *rel, const char *file)
{
	snprintf(out, len, "%s%s%s%s%s", t.mnt, t.top, rel, file ? "/" : "",
		 file ? file : "");
}

static int write_file(const char *rel, const char *file, const char *text)
{
	char path[512];
	FILE *f;

	path_of(path, sizeof(path), rel, file);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

static void remove_cgroups(void)
{
	char path[512];

	path_of(path, sizeof(path), grandchild, NULL);
	rmdir(path);
	for (int i = 3; i >= 0; i--) {
		if (!t.made[i])
			continue;
		path_of(path, sizeof(path), dirs[i], NULL);
		if (rmdir(path) == 0 || errno == ENOENT)
			t.made[i] = false;
		else
			fprintf(stderr, "cannot remove %s: %m\n", path);
	}
}

static int make_cgroups(void)
{
	char path[512];
	int ret;

	for (int i = 0; i < 4; i++) {
		path_of(path, sizeof(path), dirs[i], NULL);
		if (mkdir(path, 0755))
			return -errno;
		t.made[i] = true;
		/* v2: children get memory.max only if the parent enables it. */
		if (i == 0 && t.h == CG_UNIFIED) {
			ret = write_file("", "cgroup.subtree_control",
					 "+memory");
			if (ret)
				return ret;
		}
	}
	path_of(path, sizeof(path), grandchild, NULL);
	if (mkdir(path, 0755))
		return -errno;
	ret = write_file("", t.limit_file, "104857600"); /* 100M */
	if (!ret)
		ret = write_file("/high", t.limit_file, "209715200");
	if (!ret)
		ret = write_file("/low", t.limit_file, "52428800");
	return ret;
}

static uint64_t physical(void)
{
	return (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)getpagesize();
}

static void assert_limit(const char *rel, uint64_t want)
{
	char cgpath[128];
	uint64_t got = 0;

	snprintf(cgpath, sizeof(cgpath), "%s%s", t.top, rel);
	assert_int_equal(cg_memory_limit(t.h, cgpath, &got), 0);
	assert_true(got == want);
}

static void own_limit(void **state)
{
	(void)state;
	assert_limit("", 100 * MiB);
}

static void child_resolves_to_parent_limit(void **state)
{
	(void)state;
	assert_limit("/free", 100 * MiB);
	assert_limit(grandchild, 100 * MiB);
}

/* A child set above its parent still cannot use more than the parent. */
static void tighter_of_own_and_ancestors(void **state)
{
	(void)state;
	assert_limit("/high", 100 * MiB);
	assert_limit("/low", 50 * MiB);
}

/* Given its parent's, a cgroup's is the smaller of that and its own. */
static void under_a_parent_takes_the_smaller(void **state)
{
	char cgpath[128];
	uint64_t got = 0;

	(void)state;
	snprintf(cgpath, sizeof(cgpath), "%s/low", t.top);
	assert_int_equal(cg_memory_limit_under(t.h, cgpath, 100 * MiB, &got),
			 0);
	assert_true(got == 50 * MiB);
	assert_int_equal(cg_memory_limit_under(t.h, cgpath, 10 * MiB, &got), 0);
	assert_true(got == 10 * MiB);
	snprintf(cgpath, sizeof(cgpath), "%s/free", t.top);
	assert_int_equal(cg_memory_limit_under(t.h, cgpath, 100 * MiB, &got),
			 0);
	assert_true(got == 100 * MiB);
	snprintf(cgpath, sizeof(cgpath), "%s/absent", t.top);
	assert_int_equal(cg_memory_limit_under(t.h, cgpath, 100 * MiB, &got),
			 -ENOENT);
}

static void unlimited_root_is_physical_memory(void **state)
{
	uint64_t got = 0;

	(void)state;
	assert_int_equal(cg_memory_limit(t.h, "/", &got), 0);
	assert_true(got == physical());
}

static void missing_cgroup_is_enoent(void **state)
{
	char cgpath[128];
	uint64_t got = 7;

	(void)state;
	snprintf(cgpath, sizeof(cgpath), "%s/absent", t.top);
	assert_int_equal(cg_memory_limit(t.h, cgpath, &got), -ENOENT);
	assert_true(got == 7);
}

static void invalid_cgpath_is_einval(void **state)
{
	uint64_t got = 7;

	(void)state;
	assert_int_equal(cg_memory_limit(t.h, "relative", &got), -EINVAL);
	assert_int_equal(cg_memory_limit(t.h, "/a/../b", &got), -EINVAL);
	assert_int_equal(cg_memory_limit(t.h, "", &got), -EINVAL);
	assert_true(got == 7);
}

/*
 * Where v2 lacks the memory controller (hybrid hosts), its cgroups are
 * bound by physical memory only, but must still exist.
 */
static void unified_without_memory_is_physical(void **state)
{
	char mnt[256];
	bool has_memory;
	uint64_t got = 0;

	(void)state;
	if (cg_unified_root(SYSFS, mnt, sizeof(mnt), &has_memory) || has_memory)
		skip();
	assert_int_equal(cg_memory_limit(CG_UNIFIED, "/", &got), 0);
	assert_true(got == physical());
	assert_int_equal(
		cg_memory_limit(CG_UNIFIED, "/dirtyfs-no-such-cgroup", &got),
		-ENOENT);
}

/* Pick the hierarchy with the memory controller, as cgroup=auto does. */
static const char *find_memory_hierarchy(void)
{
	bool has_memory = false;
	struct stat st;

	if (geteuid() != 0)
		return "not root";
	if (cg_choose_hierarchy(CGROUP_MODE_AUTO, SYSFS, &t.h))
		return "no cgroup hierarchy under " SYSFS;
	if (t.h == CG_MEMORY_V1) {
		snprintf(t.mnt, sizeof(t.mnt), "%s/memory", SYSFS);
		t.limit_file = "memory.limit_in_bytes";
		return stat(t.mnt, &st) ? "no v1 memory hierarchy" : NULL;
	}
	if (cg_unified_root(SYSFS, t.mnt, sizeof(t.mnt), &has_memory) ||
	    !has_memory)
		return "no memory controller in v1 or v2";
	t.limit_file = "memory.max";
	return NULL;
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(own_limit),
	cmocka_unit_test(child_resolves_to_parent_limit),
	cmocka_unit_test(tighter_of_own_and_ancestors),
	cmocka_unit_test(under_a_parent_takes_the_smaller),
	cmocka_unit_test(unlimited_root_is_physical_memory),
	cmocka_unit_test(missing_cgroup_is_enoent),
	cmocka_unit_test(invalid_cgpath_is_einval),
	cmocka_unit_test(unified_without_memory_is_physical),
};

/*
 * The tests run in a child so that the cgroups go even if it crashes: the
 * parent makes them, waits, and removes them whatever happened.
 */
static int run_in_child(void)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return 1;
	if (pid == 0)
		_exit(cmocka_run_group_tests(tests, NULL, NULL) ? 1 : 0);
	if (waitpid(pid, &status, 0) != pid)
		return 1;
	if (WIFSIGNALED(status))
		fprintf(stderr, "test_memlimit: killed by signal %d\n",
			WTERMSIG(status));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int main(void)
{
	const char *missing = find_memory_hierarchy();
	const char *ci = getenv("CI");
	int ret;

	if (missing) {
		bool fail = ci && !strcmp(ci, "true");

		fprintf(stderr, "test_memlimit: %s: %s\n", missing,
			fail ? "FAIL (CI=true)" : "SKIP");
		return fail ? 1 : 77;
	}
	snprintf(t.top, sizeof(t.top), "/dirtyfs-test-%d", (int)getpid());
	ret = make_cgroups();
	if (ret)
		fprintf(stderr, "test_memlimit: cannot set up cgroups: %s\n",
			strerror(-ret));
	else
		ret = run_in_child();
	remove_cgroups();
	return ret || t.made[0] ? 1 : 0;
}
