// SPDX-License-Identifier: GPL-2.0
/*
 * Description: cgroup/procfs.c: parsing /proc/PID/cgroup as v1, v2 and
 * hybrid hosts write it (and as nobody writes it: garbage, NULs, seeded
 * random bytes), the CGPATH rules, the cgroup= rule on fake sysfs trees in
 * a temporary directory, and the pid cache with an injected reader (ttl,
 * moves, vanished pids, the size bound, concurrent lookups).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
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

#define HYBRID \
	"12:hugetlb:/\n" \
	"9:name=systemd:/system.slice/ssh.service\n" \
	"8:pids:/system.slice/ssh.service\n" \
	"5:devices:/system.slice/ssh.service\n" \
	"4:memory:/process_api/e47844e9852fc39d77e12dd6298ef3e7\n" \
	"3:cpu,cpuacct:/system.slice\n" \
	"0::/system.slice/ssh.service\n"

#define PURE_V2 "0::/user.slice/user-1000.slice/session-2.scope\n"

#define PURE_V1 \
	"11:cpuset:/\n" \
	"7:memory:/tenant-a/job\n" \
	"1:name=systemd:/init.scope\n"

static int parse(const char *s, enum cg_hierarchy h, char *out, size_t len)
{
	return cg_parse_proc_cgroup(s, strlen(s), h, out, len);
}

static void assert_parses(const char *s, enum cg_hierarchy h, const char *want)
{
	char out[CGPATH_MAX];

	assert_int_equal(parse(s, h, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void assert_parse_err(const char *s, enum cg_hierarchy h, int err)
{
	char out[CGPATH_MAX] = "untouched";

	assert_int_equal(parse(s, h, out, sizeof(out)), err);
	assert_string_equal(out, "untouched");
}

static void parse_hybrid_host(void **state)
{
	(void)state;
	assert_parses(HYBRID, CG_MEMORY_V1,
		      "/process_api/e47844e9852fc39d77e12dd6298ef3e7");
	assert_parses(HYBRID, CG_UNIFIED, "/system.slice/ssh.service");
}

static void parse_pure_v2_host(void **state)
{
	(void)state;
	assert_parses(PURE_V2, CG_UNIFIED,
		      "/user.slice/user-1000.slice/session-2.scope");
	assert_parse_err(PURE_V2, CG_MEMORY_V1, -ENOENT);
}

static void parse_pure_v1_host(void **state)
{
	(void)state;
	assert_parses(PURE_V1, CG_MEMORY_V1, "/tenant-a/job");
	assert_parse_err(PURE_V1, CG_UNIFIED, -ENOENT);
}

/* Only a controller list holding the token "memory" is v1 memory. */
static void parse_matches_memory_token_exactly(void **state)
{
	(void)state;
	assert_parses("2:name=memory:/wrong\n3:cpu,memory,pids:/right\n",
		      CG_MEMORY_V1, "/right");
	assert_parse_err("2:name=memory:/x\n3:memory2:/y\n4:xmemory:/z\n",
			 CG_MEMORY_V1, -ENOENT);
	assert_parse_err("1:name=systemd:/\n", CG_MEMORY_V1, -ENOENT);
	/* v2 is ID 0 with no controllers; ID 0 never names v1 memory. */
	assert_parse_err("0:memory:/a\n", CG_MEMORY_V1, -ENOENT);
	assert_parse_err("1::/a\n", CG_UNIFIED, -ENOENT);
}

static void parse_keeps_colons_and_spaces_in_paths(void **state)
{
	(void)state;
	assert_parses("4:memory:/a:b c/d: e\n", CG_MEMORY_V1, "/a:b c/d: e");
	assert_parses("0::/x::y\n", CG_UNIFIED, "/x::y");
}

static void parse_without_trailing_newline(void **state)
{
	(void)state;
	assert_parses("0::/last", CG_UNIFIED, "/last");
	assert_parses("1:cpu:/\n4:memory:/m", CG_MEMORY_V1, "/m");
	/* len, not the NUL, ends the text. */
	assert_int_equal(cg_parse_proc_cgroup("0::/abcdef", 5, CG_UNIFIED,
					      (char[16]){ 0 }, 16),
			 0);
}

static void parse_empty_and_garbage(void **state)
{
	static const char *const garbage[] = {
		"\n",
		"hello\n",
		"x:memory:/a\n",
		":memory:/a\n",
		"4memory/a\n",
		"4:memory\n",
		"4:memory:\n",
		"4:memory:a\n",
		"-1:memory:/a\n",
		"4:memory:/a\n\n",
		"4:memory:/a//b\n",
		"4:memory:/a/../b\n",
		"4:memory:/..\n",
		"4:memory:/a/\n",
		"4:memory:/a\ngarbage\n",
	};

	(void)state;
	assert_int_equal(cg_parse_proc_cgroup(NULL, 0, CG_UNIFIED, NULL, 0),
			 -ENOENT);
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
		assert_parse_err(garbage[i], CG_MEMORY_V1, -EINVAL);
	assert_int_equal(cg_parse_proc_cgroup("0::/a\0b\n", 8, CG_UNIFIED,
					      (char[16]){ 0 }, 16),
			 -EINVAL);
	assert_parse_err("0::/a\n", (enum cg_hierarchy)7, -EINVAL);
}

static void parse_refuses_overlong_paths(void **state)
{
	char *text = malloc(CGPATH_MAX + 16), *big = malloc(CGPATH_MAX);
	char out[8] = "keep";

	(void)state;
	assert_non_null(text);
	assert_non_null(big);
	strcpy(text, "0::/");
	memset(text + 4, 'a', CGPATH_MAX);
	text[4 + CGPATH_MAX] = '\0';
	assert_parse_err(text, CG_UNIFIED, -ENAMETOOLONG);
	text[3 + CGPATH_MAX - 1] = '\0'; /* a path of CGPATH_MAX - 1 bytes */
	assert_int_equal(parse(text, CG_UNIFIED, NULL, 0), -ENAMETOOLONG);
	assert_int_equal(parse(text, CG_UNIFIED, big, CGPATH_MAX), 0);
	assert_int_equal(strlen(big), CGPATH_MAX - 1);
	assert_int_equal(parse("0::/abcdefgh\n", CG_UNIFIED, out, sizeof(out)),
			 -ENAMETOOLONG);
	assert_string_equal(out, "keep");
	assert_int_equal(parse("0::/abcdef\n", CG_UNIFIED, out, sizeof(out)),
			 0);
	free(text);
	free(big);
}

/* Whatever the bytes, the answer is one of the documented ones. */
static void check_any_bytes(const char *buf, size_t len)
{
	char out[64];
	int ret;

	for (int h = CG_UNIFIED; h <= CG_MEMORY_V1; h++) {
		ret = cg_parse_proc_cgroup(buf, len, h, out, sizeof(out));
		assert_true(ret == 0 || ret == -ENOENT || ret == -EINVAL ||
			    ret == -ENAMETOOLONG);
		if (ret == 0)
			assert_true(cg_path_valid(out, strlen(out)));
	}
}

static void parse_survives_random_bytes(void **state)
{
	static const char alphabet[] = "0123:,/\n.a memory\0";
	char buf[96];

	(void)state;
	srand(12345);
	for (int i = 0; i < 200000; i++) {
		size_t len = (size_t)rand() % sizeof(buf);

		for (size_t j = 0; j < len; j++)
			buf[j] = i & 1 ? (char)rand() :
					 alphabet[rand() % (sizeof(alphabet))];
		check_any_bytes(buf, len);
	}
	/* And every prefix of real text. */
	for (size_t len = 0; len <= strlen(HYBRID); len++)
		check_any_bytes(HYBRID, len);
}

static void read_own_pid(void **state)
{
	char want[CGPATH_MAX], got[CGPATH_MAX], text[65536];
	FILE *f = fopen("/proc/self/cgroup", "r");
	size_t len;

	(void)state;
	assert_non_null(f);
	len = fread(text, 1, sizeof(text), f);
	fclose(f);
	for (int h = CG_UNIFIED; h <= CG_MEMORY_V1; h++) {
		int want_ret =
			cg_parse_proc_cgroup(text, len, h, want, sizeof(want));

		assert_int_equal(
			cg_read_pid_cgroup(getpid(), h, got, sizeof(got)),
			want_ret);
		if (!want_ret)
			assert_string_equal(got, want);
	}
}

static void read_gone_pid_is_esrch(void **state)
{
	char out[CGPATH_MAX];
	pid_t child = fork();

	(void)state;
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	assert_int_equal(
		cg_read_pid_cgroup(child, CG_UNIFIED, out, sizeof(out)),
		-ESRCH);
	assert_int_equal(cg_read_pid_cgroup(0, CG_UNIFIED, out, sizeof(out)),
			 -ESRCH);
	assert_int_equal(cg_read_pid_cgroup(-1, CG_UNIFIED, out, sizeof(out)),
			 -ESRCH);
}

static bool valid(const char *s)
{
	return cg_path_valid(s, strlen(s));
}

static void path_valid_cases(void **state)
{
	static const char *const bad[] = {
		"",   "a",   "a/b", "/..",   "/.",  "/a/..", "/a/./b",
		"//", "//a", "/a/", "/a//b", "/a/", "./a",   "../a",
	};
	char *big = malloc(CGPATH_MAX + 1);

	(void)state;
	assert_true(valid("/"));
	assert_true(valid("/a/b"));
	assert_true(valid("/a b/c:d/...x/.hidden/..."));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(valid(bad[i]));
	assert_false(cg_path_valid("/a\0b", 4));
	/* Regression: a newline split the one-a-line limit store, and the
	 * root's listxattr then crashed the daemon. No cgroup has one. */
	assert_false(valid("/a\nb"));
	assert_false(valid("/a\n"));
	assert_false(valid("/\n"));
	assert_false(cg_path_valid("/", 0));
	assert_non_null(big);
	big[0] = '/';
	memset(big + 1, 'x', CGPATH_MAX);
	assert_false(cg_path_valid(big, CGPATH_MAX));
	assert_true(cg_path_valid(big, CGPATH_MAX - 1));
	free(big);
}

static void clamp_depth_cases(void **state)
{
	char a[16] = "/a/b/c", b[16] = "/a/b", c[16] = "/", d[16] = "/a/b";

	(void)state;
	assert_true(cg_path_clamp_depth(a, 2));
	assert_string_equal(a, "/a/b");
	assert_false(cg_path_clamp_depth(b, 2));
	assert_string_equal(b, "/a/b");
	assert_false(cg_path_clamp_depth(c, 0));
	assert_string_equal(c, "/");
	assert_true(cg_path_clamp_depth(d, 0));
	assert_string_equal(d, "/");
}

static void path_parent_cases(void **state)
{
	char out[16], walk[16] = "/a/bb/c";

	(void)state;
	assert_int_equal(cg_path_parent("/a/b", out, sizeof(out)), 0);
	assert_string_equal(out, "/a");
	assert_int_equal(cg_path_parent("/a", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	assert_int_equal(cg_path_parent("/", out, sizeof(out)), -ENOENT);
	assert_int_equal(cg_path_parent("a/b", out, sizeof(out)), -EINVAL);
	assert_int_equal(cg_path_parent("", out, sizeof(out)), -EINVAL);
	assert_int_equal(cg_path_parent("/abc/d", out, 4), -ENAMETOOLONG);
	assert_int_equal(cg_path_parent("/abc/d", out, 5), 0);
	/* In place, up to the root. */
	assert_int_equal(cg_path_parent(walk, walk, sizeof(walk)), 0);
	assert_string_equal(walk, "/a/bb");
	assert_int_equal(cg_path_parent(walk, walk, sizeof(walk)), 0);
	assert_int_equal(cg_path_parent(walk, walk, sizeof(walk)), 0);
	assert_string_equal(walk, "/");
	assert_int_equal(cg_path_parent(walk, walk, sizeof(walk)), -ENOENT);
}

/* --- cg_choose_hierarchy on fake trees ---------------------------------- */

struct tree {
	char root[64];
};

static void tree_file(struct tree *t, const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", t->root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void tree_dir(struct tree *t, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", t->root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static int tree_setup(void **state)
{
	struct tree *t = malloc(sizeof(*t));

	if (!t)
		return -1;
	strcpy(t->root, "/tmp/dirtyfs-cgtree-XXXXXX");
	if (!mkdtemp(t->root)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int tree_teardown(void **state)
{
	struct tree *t = *state;
	char cmd[128];
	int ret;

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->root);
	ret = system(cmd);
	free(t);
	return ret ? -1 : 0;
}

static void assert_choice(struct tree *t, enum cgroup_mode m, int ret,
			  enum cg_hierarchy want)
{
	enum cg_hierarchy h = (enum cg_hierarchy)99;

	assert_int_equal(cg_choose_hierarchy(m, t->root, &h), ret);
	assert_int_equal(h, ret ? 99 : want);
}

static void choose_on_hybrid_host(void **state)
{
	struct tree *t = *state;

	tree_dir(t, "memory");
	tree_file(t, "memory/memory.limit_in_bytes", "9223372036854771712\n");
	tree_dir(t, "unified");
	tree_file(t, "unified/cgroup.controllers", "hugetlb\n");
	assert_choice(t, CGROUP_MODE_AUTO, 0, CG_MEMORY_V1);
	assert_choice(t, CGROUP_MODE_UNIFIED, 0, CG_UNIFIED);
	assert_choice(t, CGROUP_MODE_MEMORY, 0, CG_MEMORY_V1);
}

static void choose_on_pure_v2_host(void **state)
{
	struct tree *t = *state;

	tree_file(t, "cgroup.controllers",
		  "cpuset cpu io memory hugetlb pids\n");
	tree_file(t, "memory.pressure", "");
	assert_choice(t, CGROUP_MODE_AUTO, 0, CG_UNIFIED);
	assert_choice(t, CGROUP_MODE_UNIFIED, 0, CG_UNIFIED);
	assert_choice(t, CGROUP_MODE_MEMORY, -ENOENT, 0);
}

/* A hybrid host whose memory controller is in v2 ("memory" last). */
static void choose_v2_when_hybrid_v2_has_memory(void **state)
{
	struct tree *t = *state;

	tree_dir(t, "unified");
	tree_file(t, "unified/cgroup.controllers", "pids memory");
	assert_choice(t, CGROUP_MODE_AUTO, 0, CG_UNIFIED);
}

static void choose_on_pure_v1_host(void **state)
{
	struct tree *t = *state;

	tree_dir(t, "memory");
	tree_file(t, "memory/memory.limit_in_bytes", "9223372036854771712\n");
	tree_dir(t, "cpu");
	assert_choice(t, CGROUP_MODE_AUTO, 0, CG_MEMORY_V1);
	assert_choice(t, CGROUP_MODE_UNIFIED, -ENOENT, 0);
	assert_choice(t, CGROUP_MODE_MEMORY, 0, CG_MEMORY_V1);
}

/*
 * A hybrid tree whose memory directory has no hierarchy mounted on it (a
 * container's /sys/fs/cgroup, or one unmounted): v1 has no limits to read
 * there, so it is not taken.
 */
static void choose_without_memory_mounted(void **state)
{
	struct tree *t = *state;

	tree_dir(t, "memory");
	tree_dir(t, "unified");
	tree_file(t, "unified/cgroup.controllers", "hugetlb\n");
	assert_choice(t, CGROUP_MODE_AUTO, 0, CG_UNIFIED);
	assert_choice(t, CGROUP_MODE_UNIFIED, 0, CG_UNIFIED);
	assert_choice(t, CGROUP_MODE_MEMORY, -ENOENT, 0);
}

/* No memory controller anywhere: v2 names cgroups; "memory2" is not it. */
static void choose_without_memory_controller(void **state)
{
	struct tree *t = *state;

	tree_file(t, "cgroup.controllers", "cpu memory2 io\n");
	tree_file(t, "memory", "a file, not a hierarchy\n");
	assert_choice(t, CGROUP_MODE_AUTO, 0, CG_UNIFIED);
	assert_choice(t, CGROUP_MODE_MEMORY, -ENOENT, 0);
}

static void choose_on_empty_tree(void **state)
{
	struct tree *t = *state;

	assert_choice(t, CGROUP_MODE_AUTO, 0, CG_UNIFIED);
	assert_choice(t, CGROUP_MODE_UNIFIED, -ENOENT, 0);
	assert_choice(t, CGROUP_MODE_MEMORY, -ENOENT, 0);
	assert_choice(t, (enum cgroup_mode)42, -EINVAL, 0);
}

/* --- the pid cache, with a fake reader ----------------------------------- */

#define NPIDS 8

/* What the fake /proc says: a path per pid, or NULL for a vanished pid. */
static const char *fake_paths[NPIDS];
static int fake_reads[NPIDS];

static int fake_reader(pid_t pid, enum cg_hierarchy h, char *out, size_t outlen)
{
	(void)h;
	assert_in_range(pid, 0, NPIDS - 1);
	fake_reads[pid]++;
	if (!fake_paths[pid])
		return -ESRCH;
	if (strlen(fake_paths[pid]) >= outlen)
		return -ENAMETOOLONG;
	strcpy(out, fake_paths[pid]);
	return 0;
}

/* What the fake tasks are: a pipe each, whose read end the cache keeps and
 * which reads ready once fake_exit() writes to the other end. */
static int fake_exit_fds[NPIDS];
static bool fake_exit_during_read[NPIDS];

static int fake_open_task(pid_t pid)
{
	int fds[2];

	assert_in_range(pid, 0, NPIDS - 1);
	if (pipe(fds))
		return -1;
	if (fake_exit_fds[pid] >= 0)
		close(fake_exit_fds[pid]);
	fake_exit_fds[pid] = fds[1];
	return fds[0];
}

/* Task pid exits: its pid may now be another's. */
static void fake_exit(pid_t pid)
{
	assert_int_equal(write(fake_exit_fds[pid], "x", 1), 1);
}

static int fake_reader_of_exiting(pid_t pid, enum cg_hierarchy h, char *out,
				  size_t outlen)
{
	if (fake_exit_during_read[pid])
		fake_exit(pid);
	return fake_reader(pid, h, out, outlen);
}

#define TTL 1000

static int cache_setup(void **state)
{
	struct cg_pid_cache *c = malloc(sizeof(*c));

	if (!c || cg_pid_cache_init(c, CG_UNIFIED, TTL, 4)) {
		free(c);
		return -1;
	}
	c->read = fake_reader;
	c->open_task = fake_open_task;
	memset(fake_reads, 0, sizeof(fake_reads));
	memset(fake_exit_fds, -1, sizeof(fake_exit_fds));
	for (int i = 0; i < NPIDS; i++)
		fake_paths[i] = "/start";
	*state = c;
	return 0;
}

static int cache_teardown(void **state)
{
	cg_pid_cache_destroy(*state);
	free(*state);
	for (int i = 0; i < NPIDS; i++)
		if (fake_exit_fds[i] >= 0)
			close(fake_exit_fds[i]);
	return 0;
}

static void assert_lookup(struct cg_pid_cache *c, pid_t pid, uint64_t now,
			  const char *want)
{
	char out[64];

	assert_int_equal(cg_pid_cache_lookup(c, pid, now, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void cache_serves_hits_until_ttl(void **state)
{
	struct cg_pid_cache *c = *state;

	assert_lookup(c, 1, 100, "/start");
	assert_lookup(c, 1, 100 + TTL - 1, "/start");
	assert_int_equal(fake_reads[1], 1);
	assert_lookup(c, 1, 100 + TTL, "/start");
	assert_int_equal(fake_reads[1], 2);
	/* The re-read restarted the clock. */
	assert_lookup(c, 1, 100 + 2 * TTL - 1, "/start");
	assert_int_equal(fake_reads[1], 2);
}

static void cache_sees_move_after_ttl(void **state)
{
	struct cg_pid_cache *c = *state;

	assert_lookup(c, 2, 0, "/start");
	fake_paths[2] = "/moved/here";
	assert_lookup(c, 2, TTL - 1, "/start");
	assert_lookup(c, 2, TTL, "/moved/here");
}

static void cache_drops_vanished_pid(void **state)
{
	struct cg_pid_cache *c = *state;
	char out[64] = "untouched";

	assert_lookup(c, 3, 0, "/start");
	assert_int_equal(c->nr_entries, 1);
	fake_paths[3] = NULL;
	assert_lookup(c, 3, TTL - 1, "/start"); /* within ttl: not noticed */
	assert_int_equal(cg_pid_cache_lookup(c, 3, TTL, out, sizeof(out)),
			 -ESRCH);
	assert_string_equal(out, "untouched");
	assert_int_equal(c->nr_entries, 0);
	assert_int_equal(cg_pid_cache_lookup(c, 3, TTL, out, sizeof(out)),
			 -ESRCH);
	assert_int_equal(fake_reads[3], 3); /* never served from a dead entry */
}

static bool refuse_fd(int fd)
{
	(void)fd;
	return false;
}

/* A pid whose task exited and came back as another's within the ttl is
 * read again: the new task is never charged to the old one's cgroup. */
static void cache_sees_pid_reuse_within_ttl(void **state)
{
	struct cg_pid_cache *c = *state;

	assert_lookup(c, 6, 0, "/start");
	assert_lookup(c, 6, 1, "/start");
	assert_int_equal(fake_reads[6], 1);
	fake_exit(6);
	fake_paths[6] = "/successor";
	assert_lookup(c, 6, 2, "/successor");
	assert_int_equal(fake_reads[6], 2);
	assert_lookup(c, 6, 3, "/successor"); /* its own entry now */
	assert_int_equal(fake_reads[6], 2);
}

/* A task that exits during its read may have been replaced before it: what
 * was read is not trusted. Nor is an entry kept without a descriptor
 * (keep_fd refused it) more than the ttl. */
static void cache_exit_during_read_and_refused_fd(void **state)
{
	struct cg_pid_cache *c = *state;
	char out[64];

	c->read = fake_reader_of_exiting;
	fake_exit_during_read[7] = true;
	assert_int_equal(cg_pid_cache_lookup(c, 7, 0, out, sizeof(out)),
			 -ESRCH);
	assert_int_equal(c->nr_entries, 0);
	fake_exit_during_read[7] = false;
	c->keep_fd = refuse_fd;
	assert_lookup(c, 7, 0, "/start");
	fake_paths[7] = "/successor"; /* unseen: no descriptor, only the ttl */
	assert_lookup(c, 7, 1, "/start");
	assert_int_equal(fake_reads[7], 2);
	assert_lookup(c, 7, TTL, "/successor");
	assert_int_equal(fake_reads[7], 3);
}

/* Entries past the ttl go, with their descriptors; fresh ones stay. */
static void cache_expire_drops_old_entries(void **state)
{
	struct cg_pid_cache *c = *state;

	assert_lookup(c, 0, 0, "/start");
	assert_lookup(c, 1, 0, "/start");
	assert_lookup(c, 2, TTL / 2, "/start");
	cg_pid_cache_expire(c, TTL);
	assert_int_equal(c->nr_entries, 1);
	/* 1's pipe lost its read end with the entry. */
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(write(fake_exit_fds[1], "x", 1), -1);
	assert_int_equal(errno, EPIPE);
	assert_lookup(c, 2, TTL, "/start");
	assert_int_equal(fake_reads[2], 1);
}

static void cache_is_bounded_and_evicts_oldest(void **state)
{
	struct cg_pid_cache *c = *state;

	for (pid_t p = 0; p < 4; p++)
		assert_lookup(c, p, 10 + (uint64_t)p, "/start");
	assert_lookup(c, 0, TTL + 10, "/start"); /* re-read: now the newest */
	assert_lookup(c, 4, TTL + 20, "/start");
	assert_int_equal(c->nr_entries, 4);
	/* 1 was the oldest read and went; 0, re-read, stayed. */
	memset(fake_reads, 0, sizeof(fake_reads));
	assert_lookup(c, 0, TTL + 30, "/start");
	assert_lookup(c, 4, TTL + 30, "/start");
	assert_int_equal(fake_reads[0] + fake_reads[4], 0);
	assert_lookup(c, 1, TTL + 30, "/start");
	assert_int_equal(fake_reads[1], 1);
	for (pid_t p = 0; p < NPIDS; p++)
		assert_lookup(c, p, TTL + 40, "/start");
	assert_int_equal(c->nr_entries, 4);
}

static void cache_short_buffer_and_backwards_clock(void **state)
{
	struct cg_pid_cache *c = *state;
	char out[4];

	fake_paths[5] = "/long";
	assert_int_equal(cg_pid_cache_lookup(c, 5, 500, out, sizeof(out)),
			 -ENAMETOOLONG); /* read fine, cached, too long */
	assert_int_equal(cg_pid_cache_lookup(c, 5, 500, out, sizeof(out)),
			 -ENAMETOOLONG); /* and as a hit */
	assert_int_equal(fake_reads[5], 1);
	assert_lookup(c, 5, 400, "/long"); /* clock went back: re-read */
	assert_int_equal(fake_reads[5], 2);
}

static void cache_init_refuses_zero_size(void **state)
{
	struct cg_pid_cache c;

	(void)state;
	assert_int_equal(cg_pid_cache_init(&c, CG_UNIFIED, TTL, 0), -EINVAL);
}

static void cache_with_real_reader(void **state)
{
	struct cg_pid_cache c;
	char want[CGPATH_MAX], got[CGPATH_MAX];
	int ret;

	(void)state;
	assert_int_equal(cg_pid_cache_init(&c, CG_UNIFIED, TTL, 4), 0);
	ret = cg_read_pid_cgroup(getpid(), CG_UNIFIED, want, sizeof(want));
	assert_int_equal(cg_pid_cache_lookup(&c, getpid(), 0, got, sizeof(got)),
			 ret);
	if (!ret)
		assert_string_equal(got, want);
	cg_pid_cache_destroy(&c);
}

/* Threads looking up overlapping pids through a small cache. */
static int path_reader(pid_t pid, enum cg_hierarchy h, char *out, size_t outlen)
{
	(void)h;
	snprintf(out, outlen, "/pid-%d", (int)pid);
	return 0;
}

static void *hammer(void *arg)
{
	struct cg_pid_cache *c = arg;
	char out[32], want[32];
	long bad = 0;

	for (int i = 0; i < 20000; i++) {
		pid_t pid = (pid_t)(i * 7 % 50) + 1;

		snprintf(want, sizeof(want), "/pid-%d", (int)pid);
		if (cg_pid_cache_lookup(c, pid, (uint64_t)i, out,
					sizeof(out)) ||
		    strcmp(out, want))
			bad++;
	}
	return (void *)bad;
}

static void cache_survives_concurrent_lookups(void **state)
{
	struct cg_pid_cache c;
	pthread_t th[4];
	void *bad;

	(void)state;
	assert_int_equal(cg_pid_cache_init(&c, CG_UNIFIED, 100, 16), 0);
	c.read = path_reader;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hammer, &c), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], &bad), 0);
		assert_null(bad);
	}
	assert_true(c.nr_entries <= 16);
	cg_pid_cache_destroy(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_hybrid_host),
		cmocka_unit_test(parse_pure_v2_host),
		cmocka_unit_test(parse_pure_v1_host),
		cmocka_unit_test(parse_matches_memory_token_exactly),
		cmocka_unit_test(parse_keeps_colons_and_spaces_in_paths),
		cmocka_unit_test(parse_without_trailing_newline),
		cmocka_unit_test(parse_empty_and_garbage),
		cmocka_unit_test(parse_refuses_overlong_paths),
		cmocka_unit_test(parse_survives_random_bytes),
		cmocka_unit_test(read_own_pid),
		cmocka_unit_test(read_gone_pid_is_esrch),
		cmocka_unit_test(path_valid_cases),
		cmocka_unit_test(path_parent_cases),
		cmocka_unit_test(clamp_depth_cases),
		cmocka_unit_test_setup_teardown(choose_on_hybrid_host,
						tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(choose_on_pure_v2_host,
						tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(
			choose_v2_when_hybrid_v2_has_memory, tree_setup,
			tree_teardown),
		cmocka_unit_test_setup_teardown(choose_on_pure_v1_host,
						tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(choose_without_memory_mounted,
						tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(
			choose_without_memory_controller, tree_setup,
			tree_teardown),
		cmocka_unit_test_setup_teardown(choose_on_empty_tree,
						tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(cache_serves_hits_until_ttl,
						cache_setup, cache_teardown),
		cmocka_unit_test_setup_teardown(cache_sees_pid_reuse_within_ttl,
						cache_setup, cache_teardown),
		cmocka_unit_test_setup_teardown(
			cache_exit_during_read_and_refused_fd, cache_setup,
			cache_teardown),
		cmocka_unit_test_setup_teardown(cache_expire_drops_old_entries,
						cache_setup, cache_teardown),
		cmocka_unit_test_setup_teardown(cache_sees_move_after_ttl,
						cache_setup, cache_teardown),
		cmocka_unit_test_setup_teardown(cache_drops_vanished_pid,
						cache_setup, cache_teardown),
		cmocka_unit_test_setup_teardown(
			cache_is_bounded_and_evicts_oldest, cache_setup,
			cache_teardown),
		cmocka_unit_test_setup_teardown(
			cache_short_buffer_and_backwards_clock, cache_setup,
			cache_teardown),
		cmocka_unit_test(cache_init_refuses_zero_size),
		cmocka_unit_test(cache_with_real_reader),
		cmocka_unit_test(cache_survives_concurrent_lookups),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
