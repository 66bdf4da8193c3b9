// SPDX-License-Identifier: GPL-2.0
/*
 * The administrator's subcommands, run by the same binary as the daemon:
 *
 *   dirtyfs stat MNT [--json] [--watch SECONDS]
 *   dirtyfs sync MNT [CGPATH]
 *   dirtyfs limit MNT CGPATH [LIMIT [BACKGROUND]]
 *
 * Each is a thin client of the control xattrs on the mount root
 * (../shared/interface.md); nothing here talks to the daemon otherwise, so
 * what they show and do is exactly what getfattr and setfattr would. They
 * run in the caller's process, with no thread but the main one. Exit status
 * 0, or 1 after a message on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "../cgroup/cgroup_lib.h"
#include "fusefs.h"

#define PREFIX "trusted.dirtyfs."
#define VALUE_MAX 65536 /* the VFS's largest xattr value */
#define STAT_KEYS_MAX 32 /* keys kept of one statistics value */
#define STAT_KEY_LEN 48
#define WATCH_MAX_S 86400.0
#define BAR_WIDTH 20
#define FMT_LEN 32 /* a formatted figure with its NUL */
#define USEC_PER_SEC 1000000ULL
#define NO_LIMIT UINT64_MAX /* "max" */

const char cli_usage[] =
	"\n"
	"Subcommands (through the xattrs of the mount root MNT; root only):\n"
	"  dirtyfs stat MNT [--json] [--watch SECONDS]\n"
	"      every tracked cgroup's dirty data, limits, written bytes and\n"
	"      throttled time; --watch redraws every SECONDS until ^C\n"
	"  dirtyfs sync MNT [CGPATH]\n"
	"      write back CGPATH's dirty data (default /: all of it)\n"
	"  dirtyfs limit MNT CGPATH [LIMIT [BACKGROUND]]\n"
	"      show CGPATH's limits, or set them; LIMIT or BACKGROUND\n"
	"      \"default\" removes the cgroup's own limit\n";

/* --- reading and writing control names ----------------------------------- */

/* Print why cmd failed on mnt, from err (positive). */
static void report(const char *cmd, const char *mnt, int err)
{
	const char *why = strerror(err);

	if (err == ENOTSUP || err == ENODATA)
		why = "not a dirtyfs mount (nor the root of one)";
	else if (err == EPERM || err == EACCES)
		why = "permission denied (needs CAP_SYS_ADMIN)";
	fprintf(stderr, "dirtyfs %s: %s: %s\n", cmd, mnt, why);
}

/* The value of name on mnt, NUL-terminated, into buf (VALUE_MAX + 1
 * bytes). Its length or -errno. */
static ssize_t get_value(const char *mnt, const char *name, char *buf)
{
	ssize_t len = getxattr(mnt, name, buf, VALUE_MAX);

	if (len < 0)
		return -errno;
	buf[len] = '\0';
	return len;
}

/*
 * Is mnt the root of a dirtyfs mount we may control? 0, else -errno for
 * report(). An unprivileged read of a trusted name gets ENODATA from the
 * VFS, as on any other filesystem: user.dirtyfs.stat, readable by anyone,
 * tells a dirtyfs root the caller may not control (-EPERM) from the rest.
 */
static int check_mount(const char *mnt)
{
	int err;

	if (getxattr(mnt, PREFIX "stat", NULL, 0) >= 0)
		return 0;
	err = errno;
	if (err == ENODATA && getxattr(mnt, "user.dirtyfs.stat", NULL, 0) >= 0)
		return -EPERM;
	return -err;
}

/* --- statistics ------------------------------------------------------------ */

struct stat_kv {
	char key[STAT_KEY_LEN];
	unsigned long long value;
};

/* One statistics value: its "KEY VALUE" lines in their order. */
struct stats {
	unsigned int nr;
	struct stat_kv kv[STAT_KEYS_MAX];
};

struct cg_row {
	char *path; /* CGPATH, malloc'd */
	struct stats st;
};

/* What one refresh of `dirtyfs stat` shows. */
struct snapshot {
	struct stats fs;
	struct cg_row *rows; /* sorted by path */
	size_t nr;
};

/* Parse text into st; keys past STAT_KEYS_MAX are left out. 0 or -EPROTO. */
static int parse_stats(char *text, struct stats *st)
{
	char *line, *save;

	st->nr = 0;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct stat_kv *kv;
		int end = 0;

		if (st->nr == STAT_KEYS_MAX)
			break;
		kv = &st->kv[st->nr];
		if (sscanf(line, "%47s %llu%n", kv->key, &kv->value, &end) !=
			    2 ||
		    line[end])
			return -EPROTO;
		st->nr++;
	}
	return 0;
}

static unsigned long long stat_value(const struct stats *st, const char *key)
{
	for (unsigned int i = 0; i < st->nr; i++)
		if (!strcmp(st->kv[i].key, key))
			return st->kv[i].value;
	return 0;
}

/* Read and parse the statistics value name on mnt. 0 or -errno. */
static int read_stats(const char *mnt, const char *name, char *buf,
		      struct stats *st)
{
	ssize_t len = get_value(mnt, name, buf);

	return len < 0 ? (int)len : parse_stats(buf, st);
}

static int read_cgroup_stats(const char *mnt, const char *cgpath, char *buf,
			     struct stats *st)
{
	char name[512];

	if ((size_t)snprintf(name, sizeof(name), PREFIX "stat:%s", cgpath) >=
	    sizeof(name))
		return -ENAMETOOLONG;
	return read_stats(mnt, name, buf, st);
}

static void snapshot_free(struct snapshot *s)
{
	for (size_t i = 0; i < s->nr; i++)
		free(s->rows[i].path);
	free(s->rows);
	s->rows = NULL;
	s->nr = 0;
}

/* Add the row of cgpath; a cgroup gone since it was listed is left out.
 * 0 or -errno. */
static int snapshot_add(const char *mnt, struct snapshot *s, const char *cgpath,
			char *buf)
{
	struct cg_row *row = &s->rows[s->nr];
	int err = read_cgroup_stats(mnt, cgpath, buf, &row->st);

	if (err == -ENOENT || err == -ENODATA)
		return 0;
	if (err)
		return err;
	row->path = strdup(cgpath);
	if (!row->path)
		return -ENOMEM;
	s->nr++;
	return 0;
}

static int row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cg_row *)a)->path,
		      ((const struct cg_row *)b)->path);
}

/* The rows of every cgroup listed in list (one a line, modified). */
static int snapshot_rows(const char *mnt, struct snapshot *s, char *list,
			 char *buf)
{
	size_t lines = 1;
	char *line, *save;
	int err = 0;

	for (const char *p = list; *p; p++)
		lines += *p == '\n';
	s->rows = calloc(lines, sizeof(*s->rows));
	if (!s->rows)
		return -ENOMEM;
	for (line = strtok_r(list, "\n", &save); line && !err;
	     line = strtok_r(NULL, "\n", &save))
		err = snapshot_add(mnt, s, line, buf);
	qsort(s->rows, s->nr, sizeof(*s->rows), row_cmp);
	return err;
}

/* Take s (empty) from mnt. 0, or -errno with s empty. */
static int snapshot_take(const char *mnt, struct snapshot *s)
{
	char *list = malloc(VALUE_MAX + 1), *buf = malloc(VALUE_MAX + 1);
	int err = list && buf ? 0 : -ENOMEM;

	if (!err)
		err = read_stats(mnt, PREFIX "stat", buf, &s->fs);
	if (!err) {
		ssize_t len = get_value(mnt, PREFIX "cgroups", list);

		err = len < 0 ? (int)len : snapshot_rows(mnt, s, list, buf);
	}
	if (err)
		snapshot_free(s);
	free(list);
	free(buf);
	return err;
}

/* --- the table ------------------------------------------------------------- */

/* Bytes in 1024s with one decimal: "0", "512B", "16.0M"; "max". */
static const char *fmt_bytes(unsigned long long v, char buf[FMT_LEN])
{
	static const char units[] = "KMGTPE";
	double d = (double)v;
	int u = -1;

	if (v == NO_LIMIT)
		return "max";
	if (!v)
		return "0";
	if (v < 1024) {
		snprintf(buf, FMT_LEN, "%lluB", v);
		return buf;
	}
	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	snprintf(buf, FMT_LEN, "%.1f%c", d, units[u]);
	return buf;
}

/* Microseconds as "12.3s", "4m05s" or "2h07m". */
static const char *fmt_usec(unsigned long long usec, char buf[FMT_LEN])
{
	unsigned long long s = usec / USEC_PER_SEC;

	if (s < 60)
		snprintf(buf, FMT_LEN, "%.1fs", (double)usec / USEC_PER_SEC);
	else if (s < 3600)
		snprintf(buf, FMT_LEN, "%llum%02llus", s / 60, s % 60);
	else
		snprintf(buf, FMT_LEN, "%lluh%02llum", s / 3600, s / 60 % 60);
	return buf;
}

/* A value as its key's unit says: time, a count, else bytes. */
static const char *fmt_value(const struct stat_kv *kv, char buf[FMT_LEN])
{
	size_t n = strlen(kv->key);

	if (n > 5 && !strcmp(kv->key + n - 5, "_usec"))
		return fmt_usec(kv->value, buf);
	if (strstr(kv->key, "inodes") || strstr(kv->key, "events")) {
		snprintf(buf, FMT_LEN, "%llu", kv->value);
		return buf;
	}
	return fmt_bytes(kv->value, buf);
}

/* "[#######.............]  35%" of dirty against limit. */
static void print_bar(FILE *out, unsigned long long dirty,
		      unsigned long long limit)
{
	double frac;
	int fill;

	if (limit == NO_LIMIT) {
		fprintf(out, "  no limit");
		return;
	}
	frac = limit ? (double)dirty / (double)limit : 1.0;
	fill = frac >= 1.0 ? BAR_WIDTH : (int)(frac * BAR_WIDTH + 0.5);
	fprintf(out, "  [%.*s%.*s] %3.0f%%", fill, "####################",
		BAR_WIDTH - fill, "....................", frac * 100);
}

static void print_fs_line(FILE *out, const char *mnt, const struct stats *fs)
{
	char buf[FMT_LEN];

	fprintf(out, "%s:", mnt);
	for (unsigned int i = 0; i < fs->nr; i++)
		fprintf(out, " %s %s", fs->kv[i].key,
			fmt_value(&fs->kv[i], buf));
	fputs("\n\n", out);
}

static void print_row(FILE *out, const struct cg_row *row, int width, bool bars)
{
	const struct stats *st = &row->st;
	char b[6][FMT_LEN];

	fprintf(out, "%-*s %9s %9s %9s %9s %9s %9s %7llu", width, row->path,
		fmt_bytes(stat_value(st, "dirty"), b[0]),
		fmt_bytes(stat_value(st, "writeback"), b[1]),
		fmt_bytes(stat_value(st, "dirty_limit"), b[2]),
		fmt_bytes(stat_value(st, "dirty_background_limit"), b[3]),
		fmt_bytes(stat_value(st, "written"), b[4]),
		fmt_usec(stat_value(st, "throttled_usec"), b[5]),
		stat_value(st, "throttle_events"));
	if (bars)
		print_bar(out, stat_value(st, "dirty"),
			  stat_value(st, "dirty_limit"));
	fputc('\n', out);
}

static void print_table(FILE *out, const char *mnt, const struct snapshot *s,
			bool bars)
{
	int width = 6;

	for (size_t i = 0; i < s->nr; i++) {
		int n = (int)strlen(s->rows[i].path);

		width = n > width ? n : width;
	}
	print_fs_line(out, mnt, &s->fs);
	fprintf(out, "%-*s %9s %9s %9s %9s %9s %9s %7s%s\n", width, "CGROUP",
		"DIRTY", "WRITEBACK", "LIMIT", "BG_LIMIT", "WRITTEN",
		"THROTTLED", "EVENTS", bars ? "  DIRTY/LIMIT" : "");
	for (size_t i = 0; i < s->nr; i++)
		print_row(out, &s->rows[i], width, bars);
}

/* --- JSON ------------------------------------------------------------------ */

static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void json_stats(FILE *out, const struct stats *st)
{
	fputc('{', out);
	for (unsigned int i = 0; i < st->nr; i++) {
		fputs(i ? ", " : "", out);
		json_string(out, st->kv[i].key);
		fprintf(out, ": %llu", st->kv[i].value);
	}
	fputc('}', out);
}

/* One object; a cgroup a line, so that line tools can pick one out. */
static void print_json(FILE *out, const struct snapshot *s)
{
	fputs("{\"filesystem\": ", out);
	json_stats(out, &s->fs);
	fputs(",\n \"cgroups\": {", out);
	for (size_t i = 0; i < s->nr; i++) {
		fputs(i ? ",\n  " : "\n  ", out);
		json_string(out, s->rows[i].path);
		fputs(": ", out);
		json_stats(out, &s->rows[i].st);
	}
	fputs("}}\n", out);
}

/* --- dirtyfs stat ---------------------------------------------------------- */

struct stat_opts {
	const char *mnt;
	bool json, bars;
	double watch_s; /* 0: print once */
};

static volatile sig_atomic_t watch_stop;

static void on_watch_signal(int sig)
{
	(void)sig;
	watch_stop = 1;
}

/* SIGINT and SIGTERM end the watch: no SA_RESTART, so the sleep returns. */
static void watch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_watch_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void sleep_s(double s)
{
	struct timespec ts = {
		.tv_sec = (time_t)s,
		.tv_nsec = (long)((s - (double)(time_t)s) * 1e9),
	};

	nanosleep(&ts, NULL);
}

/* Print lead, then one snapshot, whole, in a single write (so a redraw
 * never shows half a table). 0 or -errno. */
static int stat_once(const struct stat_opts *o, const char *lead)
{
	struct snapshot s = { 0 };
	char *text = NULL;
	size_t len = 0;
	FILE *out;
	int err = snapshot_take(o->mnt, &s);

	if (err)
		return err;
	out = open_memstream(&text, &len);
	if (!out) {
		snapshot_free(&s);
		return -ENOMEM;
	}
	fputs(lead, out);
	if (o->json)
		print_json(out, &s);
	else
		print_table(out, o->mnt, &s, o->bars);
	fclose(out);
	fwrite(text, 1, len, stdout);
	fflush(stdout);
	free(text);
	snapshot_free(&s);
	return 0;
}

/*
 * Print every watch_s until SIGINT or SIGTERM: on a terminal the table is
 * redrawn in place (home, clear); otherwise tables follow each other with a
 * blank line between, and JSON objects one after another. 0 or -errno.
 */
static int stat_watch(const struct stat_opts *o)
{
	const char *first = "", *lead = "";
	int err;

	if (!o->json && isatty(STDOUT_FILENO))
		first = lead = "\033[H\033[2J"; /* home, clear */
	else if (!o->json)
		lead = "\n";
	watch_signals();
	err = stat_once(o, first);
	while (!watch_stop && !err) {
		sleep_s(o->watch_s);
		if (!watch_stop)
			err = stat_once(o, lead);
	}
	return err;
}

/* SECONDS of --watch: a positive decimal number. 0 or -EINVAL. */
static int parse_watch(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end || !(*out > 0) || *out > WATCH_MAX_S)
		return -EINVAL;
	return 0;
}

static int usage_error(const char *cmd, const char *msg)
{
	fprintf(stderr, "dirtyfs %s: %s (see dirtyfs --help)\n", cmd, msg);
	return 1;
}

static int parse_stat_args(int argc, char *argv[], struct stat_opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "watch", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "jw:", longopts, NULL)) != -1) {
		if (c == 'j')
			o->json = true;
		else if (c != 'w')
			return usage_error("stat",
					   "unknown option or no value");
		else if (parse_watch(optarg, &o->watch_s))
			return usage_error("stat", "--watch wants SECONDS > 0");
	}
	if (argc - optind != 1)
		return usage_error("stat", "expected MNT");
	o->mnt = argv[optind];
	o->bars = !o->json && isatty(STDOUT_FILENO);
	return 0;
}

static int cmd_stat(int argc, char *argv[])
{
	struct stat_opts o = { 0 };
	int err;

	if (parse_stat_args(argc, argv, &o))
		return 1;
	err = check_mount(o.mnt);
	if (!err)
		err = o.watch_s > 0 ? stat_watch(&o) : stat_once(&o, "");
	if (err)
		report("stat", o.mnt, -err);
	return err ? 1 : 0;
}

/* --- dirtyfs sync ---------------------------------------------------------- */

static int bad_cgpath(const char *cmd, const char *cgpath)
{
	fprintf(stderr,
		"dirtyfs %s: %s: not a cgroup path (\"/\" or /NAME[/NAME...])\n",
		cmd, cgpath);
	return 1;
}

static int cmd_sync(int argc, char *argv[])
{
	const char *mnt, *cgpath;
	int err;

	if (argc < 2 || argc > 3)
		return usage_error("sync", "expected MNT [CGPATH]");
	mnt = argv[1];
	cgpath = argc == 3 ? argv[2] : "/";
	if (!cg_path_valid(cgpath, strlen(cgpath)))
		return bad_cgpath("sync", cgpath);
	err = check_mount(mnt);
	if (err) {
		report("sync", mnt, -err);
		return 1;
	}
	if (!setxattr(mnt, PREFIX "sync", cgpath, strlen(cgpath), 0))
		return 0;
	err = errno;
	if (err == ENOENT)
		fprintf(stderr, "dirtyfs sync: %s: no such cgroup\n", cgpath);
	else if (err == EPERM)
		report("sync", mnt, err);
	else
		fprintf(stderr, "dirtyfs sync: %s: writeback failed: %s\n", mnt,
			strerror(err));
	return 1;
}

/* --- dirtyfs limit --------------------------------------------------------- */

static const char *const limit_keys[2] = { "dirty_limit",
					   "dirty_background_limit" };

/* The control name of limit key for cgpath into name (256 bytes, the
 * VFS's limit on names with their NUL). 0 or -ENAMETOOLONG. */
static int limit_xattr(const char *key, const char *cgpath, char name[256])
{
	int n = snprintf(name, 256, PREFIX "%s:%s", key, cgpath);

	return n < 256 ? 0 : -ENAMETOOLONG;
}

/* Print one limit: effective bytes, and its own value or "default". */
static int show_limit(const char *mnt, const char *cgpath, const char *key,
		      const struct stats *st, char *buf)
{
	char name[256], b[FMT_LEN];
	ssize_t len;
	int err = limit_xattr(key, cgpath, name);

	if (err)
		return err;
	len = get_value(mnt, name, buf);
	if (len < 0 && len != -ENODATA)
		return (int)len;
	printf("%-23s %9s  %s%s\n", key, fmt_bytes(stat_value(st, key), b),
	       len < 0 ? "default" : "own ", len < 0 ? "" : buf);
	return 0;
}

static int limit_show(const char *mnt, const char *cgpath)
{
	char *buf = malloc(VALUE_MAX + 1);
	struct stats st;
	int err = buf ? read_cgroup_stats(mnt, cgpath, buf, &st) : -ENOMEM;

	for (int k = 0; k < 2 && !err; k++)
		err = show_limit(mnt, cgpath, limit_keys[k], &st, buf);
	free(buf);
	return err;
}

/* Set, or with "default" remove, one of cgpath's own limits. */
static int set_limit(const char *mnt, const char *cgpath, const char *key,
		     const char *value)
{
	char name[256];
	int err = limit_xattr(key, cgpath, name);

	if (err)
		return err;
	if (!strcmp(value, "default"))
		/* Removing a limit never set: it is the default already. */
		return removexattr(mnt, name) && errno != ENODATA ? -errno : 0;
	return setxattr(mnt, name, value, strlen(value), 0) ? -errno : 0;
}

/* Check LIMIT and BACKGROUND before either is set. */
static bool limit_valid(const char *value)
{
	struct limit l;

	return !strcmp(value, "default") || !parse_limit(value, &l);
}

static int limit_report(const char *mnt, const char *cgpath, int err)
{
	if (err == EINVAL)
		fprintf(stderr, "dirtyfs limit: %s: invalid limit\n", cgpath);
	else if (err == ENOENT)
		fprintf(stderr, "dirtyfs limit: %s: no such cgroup\n", cgpath);
	else if (err == ENAMETOOLONG)
		fprintf(stderr, "dirtyfs limit: %s: cgroup path too long\n",
			cgpath);
	else
		report("limit", mnt, err);
	return 1;
}

static int cmd_limit(int argc, char *argv[])
{
	const char *mnt, *cgpath;
	int err;

	if (argc < 3 || argc > 5)
		return usage_error("limit",
				   "expected MNT CGPATH [LIMIT [BACKGROUND]]");
	mnt = argv[1];
	cgpath = argv[2];
	if (!cg_path_valid(cgpath, strlen(cgpath)))
		return bad_cgpath("limit", cgpath);
	for (int i = 3; i < argc; i++)
		if (!limit_valid(argv[i]))
			return limit_report(mnt, cgpath, EINVAL);
	err = check_mount(mnt);
	if (!err && argc == 3)
		err = limit_show(mnt, cgpath);
	for (int i = 3; i < argc && !err; i++)
		err = set_limit(mnt, cgpath, limit_keys[i - 3], argv[i]);
	return err ? limit_report(mnt, cgpath, -err) : 0;
}

/* --- dispatch -------------------------------------------------------------- */

static const struct {
	const char *name;
	int (*run)(int argc, char *argv[]);
} commands[] = {
	{ "stat", cmd_stat },
	{ "sync", cmd_sync },
	{ "limit", cmd_limit },
};

static bool wants_help(int argc, char *argv[])
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	return false;
}

int cli_main(int argc, char *argv[])
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++) {
		if (strcmp(argv[0], commands[i].name))
			continue;
		if (wants_help(argc, argv)) {
			fputs(cli_usage + 1, stdout);
			return 0;
		}
		return commands[i].run(argc, argv);
	}
	return -1;
}
