// SPDX-License-Identifier: GPL-2.0
/*
 * dirtyfs [-f] [-d] [-o OPT[,OPT...]] BACKING MOUNTPOINT
 * dirtyfs stat|sync|limit MNT ...   (cli.c)
 *
 * Start-up order, and why:
 *  1. Parse and check the command line, in the calling process.
 *  2. In the background case fork at once, before any thread exists (threads
 *     do not survive a fork); the parent waits until the child reports the
 *     mount ready or dies, and exits 0 or 1, so that mount(8) sees every
 *     failure, the flusher's too.
 *  3. Cache, inode table, FUSE session, flusher, signal handlers, mount.
 *  4. Report success, let go of the terminal, serve requests.
 * The loop ends on unmount, SIGTERM, SIGINT or SIGHUP; then all dirty data is
 * written back before the daemon unmounts (if it still must) and exits.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "../cgroup/memcg.h"
#include "../cgroup/throttle.h"
#include "../cgroup/trace.h"
#include "../writeback/writeback.h"
#include "fusefs.h"

#ifndef DIRTYFS_VERSION
#define DIRTYFS_VERSION "unknown"
#endif

struct cmdline {
	bool foreground;
	bool debug;
	char *fuse_opts; /* what dirtyfs leaves of the -o lists, for libfuse */
};

/* A printf format: the default and least cache_size follow. */
#define USAGE_FORMAT \
	"usage: dirtyfs [-f] [-d] [-o OPT[,OPT...]] BACKING MOUNTPOINT\n" \
	"\n" \
	"Mount a write-back cache over the directory BACKING.\n" \
	"\n" \
	"  -f               foreground, messages to stderr\n" \
	"                   (default: background, messages to syslog)\n" \
	"  -d               print every FUSE request (implies -f)\n" \
	"  -o OPT[,OPT...]  options, below (-o may be repeated)\n" \
	"  -h, --help       print this help\n" \
	"  -V, --version    print the version\n" \
	"\n" \
	"SIZE: a number with an optional K, M, G or T suffix (1024s).\n" \
	"LIMIT: a SIZE, N%% (1..100) of the cgroup's memory limit, or max.\n" \
	"  cache_size=SIZE               memory for file data, clean\n" \
	"                                and dirty (default %lluM,\n" \
	"                                at least %luM)\n" \
	"  dirty_limit=LIMIT             hard dirty limit of a cgroup\n" \
	"                                without its own (default 20%%)\n" \
	"  dirty_background_limit=LIMIT  background threshold of a\n" \
	"                                cgroup without its own\n" \
	"                                (default 10%%)\n" \
	"  dirty_expire=SECONDS          write back data dirty for\n" \
	"                                longer (default 30)\n" \
	"  writeback_interval=SECONDS    how often to look for such\n" \
	"                                data (default 5)\n" \
	"  writeback_bw=SIZE             bytes per second written to\n" \
	"                                BACKING (default unlimited)\n" \
	"  max_write=SIZE                largest write request, 4K to\n" \
	"                                1M in 4K steps (default 1M)\n" \
	"  cgroup=auto|unified|memory    hierarchy naming a writer's\n" \
	"                                cgroup (default auto)\n" \
	"  trace=FILE                    trace file (default none)\n" \
	"\n" \
	"Other options go to FUSE and mount(8): allow_other, ro, ...\n" \
	"default_permissions is always on; fsname is BACKING,\n" \
	"subtype dirtyfs, unless given.\n"

/* Take dirtyfs's options out of one -o list and keep the rest for libfuse.
 * 0, or -1 after a message. */
static int add_opts(struct cmdline *cmd, struct dfs_options *opts,
		    const char *list)
{
	char *copy = strdup(list), err[256];
	int ret = -ENOMEM;

	if (copy)
		ret = options_parse(opts, copy, err, sizeof(err));
	if (!ret && *copy && fuse_opt_add_opt(&cmd->fuse_opts, copy))
		ret = -ENOMEM;
	free(copy);
	if (ret == -ENOMEM)
		dfs_log(LOG_ERR, "%s", strerror(ENOMEM));
	else if (ret)
		dfs_log(LOG_ERR, "%s", err);
	return ret ? -1 : 0;
}

/* 0 to go on, 1 to exit with 0 (help, version), -1 to exit with 1. */
static int parse_cmdline(int argc, char *argv[], struct cmdline *cmd,
			 struct dfs_options *opts)
{
	static const struct option long_opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "fdo:hV", long_opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			cmd->debug = true;
			/* fall through */
		case 'f':
			cmd->foreground = true;
			break;
		case 'o':
			if (add_opts(cmd, opts, optarg))
				return -1;
			break;
		case 'h':
			printf(USAGE_FORMAT, CACHE_SIZE_DEFAULT >> 20,
			       CACHE_SIZE_MIN >> 20);
			fputs(cli_usage, stdout);
			return 1;
		case 'V':
			printf("dirtyfs %s\n", DIRTYFS_VERSION);
			return 1;
		default:
			fprintf(stderr, "Try 'dirtyfs --help'.\n");
			return -1;
		}
	}
	if (argc - optind != 2) {
		dfs_log(LOG_ERR,
			"expected BACKING and MOUNTPOINT (see --help)");
		return -1;
	}
	opts->backing = strdup(argv[optind]);
	opts->mountpoint = strdup(argv[optind + 1]);
	return opts->backing && opts->mountpoint ? 0 : -1;
}

/* Replace *path by its absolute form. 0 or -errno. */
static int make_absolute(char **path)
{
	char *abs = realpath(*path, NULL);

	if (!abs)
		return -errno;
	free(*path);
	*path = abs;
	return 0;
}

/* The daemon changes to "/": both paths must be absolute. A mountpoint of
 * the form /dev/fd/N is a /dev/fuse descriptor a mount helper opened, which
 * libfuse takes as it is. 0, or -1 after a message. */
static int resolve_paths(struct dfs_options *opts)
{
	unsigned int fd;
	int end = 0, err = make_absolute(&opts->backing);
	struct stat st;

	if (!err && stat(opts->backing, &st))
		err = -errno;
	if (!err && !S_ISDIR(st.st_mode))
		err = -ENOTDIR;
	if (err) {
		dfs_log(LOG_ERR, "BACKING %s: %s", opts->backing,
			strerror(-err));
		return -1;
	}
	if (sscanf(opts->mountpoint, "/dev/fd/%u%n", &fd, &end) == 1 &&
	    !opts->mountpoint[end])
		return 0;
	err = make_absolute(&opts->mountpoint);
	if (err) {
		dfs_log(LOG_ERR, "MOUNTPOINT %s: %s", opts->mountpoint,
			strerror(-err));
		return -1;
	}
	return 0;
}

/*
 * Every inode the kernel knows holds a descriptor: raise the limit as far as
 * allowed, to fs.nr_open where the daemon may raise its hard limit (root
 * with CAP_SYS_RESOURCE), else to the hard limit. Should both fail, the old
 * limit still serves smaller trees.
 */
static void raise_nofile(void)
{
	struct rlimit rl;
	unsigned long nr_open = 0;
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");

	if (f) {
		if (fscanf(f, "%lu", &nr_open) != 1)
			nr_open = 0;
		fclose(f);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (nr_open > rl.rlim_max) {
		struct rlimit want = { .rlim_cur = nr_open,
				       .rlim_max = nr_open };

		if (!setrlimit(RLIMIT_NOFILE, &want))
			return;
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/*
 * glibc loads libgcc_s the first time a thread is cancelled (libfuse cancels
 * its workers when the session ends) and aborts if it cannot. With every
 * descriptor in use, that would kill the daemon before its final writeback
 * (seen when each dirty file kept its data descriptors open); loaded now,
 * while descriptors are free, it is found in memory then.
 */
static void *unwinder; /* never closed: RTLD_NODELETE, for the process */

static void preload_unwinder(void)
{
	unwinder = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NODELETE);
	if (!unwinder)
		dfs_log(LOG_WARNING, "cannot load libgcc_s.so.1: %s",
			dlerror());
}

/*
 * The daemon stands between writers and the disk: if it is reclaimed from
 * or killed under memory pressure, every tenant's unwritten data is lost or
 * stuck. PR_SET_IO_FLUSHER tells the kernel its allocations serve
 * writeback (no reclaim recursion into I/O, as for loop and nbd daemons);
 * a low OOM score keeps the OOM killer on the writers, not on us. Both need
 * privileges an unprivileged daemon lacks: then nothing changes.
 */
#define OOM_SCORE_ADJ "-900"

static void protect_daemon(void)
{
	int fd;

	prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0);
	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	/* Refused without CAP_SYS_RESOURCE: the score stays as it was. */
	if (write(fd, OOM_SCORE_ADJ, strlen(OOM_SCORE_ADJ)) < 0)
		errno = 0;
	close(fd);
}

/* --- background start-up ----------------------------------------------- */

static int ready_fd = -1; /* the waiting parent's pipe, in the child */

/* Fork; the parent exits 0 once the child calls detach(), else 1 when the
 * child exits without (it has printed why). 0 in the child, -1 on error. */
static int daemonize_begin(void)
{
	int pipefd[2];
	char status;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) || (pid = fork()) < 0) {
		dfs_log(LOG_ERR, "cannot go to the background: %s",
			strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(pipefd[1]);
		if (read(pipefd[0], &status, 1) != 1)
			_exit(1);
		_exit(0);
	}
	close(pipefd[0]);
	ready_fd = pipefd[1];
	/* Out of the terminal's session: its signals are not for us. */
	setsid();
	return 0;
}

/* The mount is up: release the waiting parent and the terminal. */
static void detach(void)
{
	char ok = 0;
	int null;

	if (chdir("/"))
		dfs_log(LOG_WARNING, "chdir /: %s", strerror(errno));
	if (ready_fd < 0)
		return;
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
	dfs_log_to_syslog();
	if (write(ready_fd, &ok, 1) != 1)
		dfs_log(LOG_WARNING, "lost the starting process: %s",
			strerror(errno));
	close(ready_fd);
	ready_fd = -1;
}

/* --- the session -------------------------------------------------------- */

/* The libfuse option list: ours first, so that the user's fsname or subtype
 * win. NULL on ENOMEM. */
static char *fuse_opt_list(const struct cmdline *cmd,
			   const struct dfs_options *opts)
{
	char *list = NULL, *fsname = NULL;
	bool ok = asprintf(&fsname, "fsname=%s", opts->backing) >= 0 &&
		  !fuse_opt_add_opt(&list, "default_permissions") &&
		  !fuse_opt_add_opt_escaped(&list, fsname) &&
		  !fuse_opt_add_opt(&list, "subtype=dirtyfs") &&
		  (!cmd->fuse_opts || !fuse_opt_add_opt(&list, cmd->fuse_opts));

	free(fsname);
	if (!ok) {
		free(list);
		return NULL;
	}
	return list;
}

static struct fuse_session *session_new(const struct cmdline *cmd,
					const struct dfs_options *opts)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	char *list = fuse_opt_list(cmd, opts);

	if (list && !fuse_opt_add_arg(&args, "dirtyfs") &&
	    !fuse_opt_add_arg(&args, "-o") && !fuse_opt_add_arg(&args, list) &&
	    (!cmd->debug || !fuse_opt_add_arg(&args, "-d")))
		/* libfuse has printed what it refused, if anything. */
		se = fuse_session_new(&args, &dfs_ops, sizeof(dfs_ops),
				      (void *)opts);
	if (!se)
		dfs_log(LOG_ERR, "cannot set up the FUSE session");
	fuse_opt_free_args(&args);
	free(list);
	return se;
}

static int start_writeback(const struct dfs_options *opts)
{
	struct writeback_config cfg = {
		.dirty_expire_ns = opts->dirty_expire_s * NSEC_PER_SEC,
		.interval_ns = opts->writeback_interval_s * NSEC_PER_SEC,
		.bw_bytes_per_s = opts->writeback_bw_bytes,
	};
	int err = writeback_start(&cfg);

	if (err)
		dfs_log(LOG_ERR, "cannot start the flusher: %s",
			strerror(-err));
	return err;
}

/* Serve until unmount or a signal. 0, or 1 if the loop failed. */
static int serve(struct fuse_session *se)
{
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	int ret;

	if (!cfg) {
		dfs_log(LOG_ERR, "%s", strerror(ENOMEM));
		return 1;
	}
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	/* 0, -errno, or the number of the signal that ended it. */
	ret = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	if (ret < 0) {
		dfs_log(LOG_ERR, "serving requests failed: %s", strerror(-ret));
		return 1;
	}
	return 0;
}

/* Write back everything and stop the flusher. 0, or 1 after a message. */
static int stop_writeback(const struct dfs_options *opts)
{
	int err = writeback_stop();

	if (!err)
		return 0;
	dfs_log(LOG_ERR, "writing back to %s failed, data may be lost: %s",
		opts->backing, strerror(-err));
	return 1;
}

/*
 * BACKING's largest file size: the largest length an unnamed temporary file
 * there can be truncated to (sparse, so nothing is allocated), found by
 * bisection. Where O_TMPFILE is refused, no limit is known: none is set.
 */
static void probe_max_file_bytes(const char *backing)
{
	uint64_t lo = 0, hi = INT64_MAX;
	int fd = open(backing, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0)
		return;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo + 1) / 2;

		if (ftruncate(fd, (off_t)mid))
			hi = mid - 1;
		else
			lo = mid;
	}
	close(fd);
	mapping_set_max_file_bytes(lo);
}

/* The cgroup layer: hierarchy, tracked cgroups, writers, trace, throttle.
 * 0, or 1 after a message. */
static int start_cgroups(const struct dfs_options *opts)
{
	struct memcg_config cfg = {
		.dirty_limit = opts->dirty_limit,
		.dirty_background_limit = opts->dirty_background_limit,
		.cache_dirty_bytes = opts->cache_size_bytes / 4 * 3,
		.cache_background_bytes = opts->cache_size_bytes / 2,
	};
	int err =
		cg_choose_hierarchy(opts->cgroup, "/sys/fs/cgroup", &cfg.hier);

	if (err) {
		dfs_log(LOG_ERR, "cgroup=: no such cgroup hierarchy here");
		return 1;
	}
	err = memcg_init(&cfg);
	if (!err)
		err = writer_init(cfg.hier);
	if (!err && opts->trace_file && (err = trace_open(opts->trace_file)))
		dfs_log(LOG_ERR, "trace=%s: %s", opts->trace_file,
			strerror(-err));
	else if (!err && (err = throttle_start()))
		dfs_log(LOG_ERR, "cannot start the throttle: %s",
			strerror(-err));
	return err ? 1 : 0;
}

static void stop_cgroups(void)
{
	throttle_stop();
	writer_exit();
	memcg_exit();
	trace_close();
}

/* Mount, serve, write back. 0 or 1, the exit status. */
static int mount_and_serve(struct fuse_session *se,
			   const struct dfs_options *opts)
{
	int status;

	if (fuse_set_signal_handlers(se)) {
		dfs_log(LOG_ERR, "cannot set signal handlers");
		return 1;
	}
	if (fuse_session_mount(se, opts->mountpoint)) {
		dfs_log(LOG_ERR, "cannot mount %s", opts->mountpoint);
		status = 1;
	} else if (transport_attach(se)) {
		dfs_log(LOG_ERR, "cannot set up the FUSE transport");
		status = 1;
	} else {
		detach();
		status = serve(se);
	}
	/* Held writes are answered first: one held before the cache gets
	 * EINTR rather than going into the cache after writeback's last
	 * pass, where its acknowledged data would be lost. Then writeback,
	 * before the unmount (which a signal leaves to us): until the data
	 * is in BACKING the mountpoint must not show what lies under it,
	 * BACKING itself when mounted over it. */
	throttle_stop();
	/* The kernel is gone: the descriptors that served it alone go too,
	 * so that the final writeback has those it opens, however many the
	 * kernel's lookups took. */
	dir_table_exit();
	inode_table_shed();
	status |= stop_writeback(opts);
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	return status;
}

static int run(const struct cmdline *cmd, const struct dfs_options *opts)
{
	struct fuse_session *se;
	int err, status = 1;

	err = creds_init();
	if (err) {
		dfs_log(LOG_ERR, "cannot set up: %s", strerror(-err));
		return 1;
	}
	/* The cache's address space is reserved up front: a cache_size
	 * larger than the address space allows fails here, not at mount. */
	err = cache_init(opts->cache_size_bytes);
	if (err) {
		dfs_log(LOG_ERR,
			"option cache_size=: %" PRIu64
			" bytes cannot be reserved: %s",
			opts->cache_size_bytes, strerror(-err));
		return 1;
	}
	/* The whole cache's own background threshold: cgroups have theirs. */
	cache_set_background_bytes(opts->cache_size_bytes / 2);
	file_set_early_budget(opts->cache_size_bytes / 4);
	if (start_cgroups(opts))
		goto out_cgroups;
	err = inode_table_init(opts->backing);
	if (err) {
		dfs_log(LOG_ERR, "cannot open %s: %s", opts->backing,
			strerror(-err));
		goto out_cgroups;
	}
	probe_max_file_bytes(opts->backing);
	err = control_init();
	if (err) {
		dfs_log(LOG_ERR, "cannot read the limits kept in %s: %s",
			opts->backing, strerror(-err));
		goto out_inodes;
	}
	se = session_new(cmd, opts);
	if (!se)
		goto out_inodes;
	if (!start_writeback(opts))
		status = mount_and_serve(se, opts);
	fuse_session_destroy(se);
out_inodes:
	file_table_exit();
	inode_table_exit();
out_cgroups:
	stop_cgroups();
	cache_exit();
	return status;
}

int main(int argc, char *argv[])
{
	struct cmdline cmd = { 0 };
	struct dfs_options opts;
	int ret, status = 1;

	/* A subcommand, named before any option (a BACKING of that name must
	 * be given as ./NAME). */
	ret = argc > 1 ? cli_main(argc - 1, argv + 1) : -1;
	if (ret >= 0)
		return ret;
	options_set_defaults(&opts);
	ret = parse_cmdline(argc, argv, &cmd, &opts);
	if (!ret)
		ret = resolve_paths(&opts);
	if (!ret && !cmd.foreground)
		ret = daemonize_begin();
	if (!ret) {
		/* The caller's umask, not ours, applies (namei.c). */
		umask(0);
		raise_nofile();
		writeback_reserve_fds();
		preload_unwinder();
		protect_daemon();
		status = run(&cmd, &opts);
	} else if (ret > 0) {
		status = 0; /* --help, --version */
	}
	options_free(&opts);
	free(cmd.fuse_opts);
	return status;
}
