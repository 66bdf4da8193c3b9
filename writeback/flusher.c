// SPDX-License-Identifier: GPL-2.0
/*
 * The flusher thread.
 *
 * DESIGN
 * Threads: one flusher owns the io_uring and every wb_io; FUSE threads only
 * put mappings on its lists, bump sync generations and kick it. A kick is an
 * eventfd write, and the flusher always has a read of that eventfd in the
 * ring, so it sleeps in one place: io_uring_wait_cqe_timeout(), woken by a
 * completed write, a kick, or the writeback_interval tick.
 *
 * Queues, under the writeback list lock (flusher.lock):
 *   dirty  every mapping with dirty or writeback pages, in the order they
 *          became dirty (the kernel's b_dirty); it holds an inode reference.
 *   sync   mappings with a sync round pending (fsync, trusted.dirtyfs.sync,
 *          expiry), served first with the cgroups over their limits.
 * Only the flusher takes mappings off these lists, so a pointer it read
 * under the lock stays valid after it drops the lock to take the mapping's.
 *
 * Each turn: reap completions; start passes for the sync list and for the
 * cgroups over their background limit, which share the bandwidth (see
 * writeback_urgent); then, while dirty data is over the background
 * threshold, a writer waits for room, or we are unmounting, start passes in
 * dirty-list order (oldest first); at each interval tick, mappings dirty for
 * longer than dirty_expire get a sync round with no one waiting.
 * writeback_bw is a token bucket on submitted bytes.
 *
 * Completion: pages become clean (or dirty again on error, see pass.c); the
 * mapping's pass ends when its last write completes; a clean mapping leaves
 * the lists and its inode reference is dropped.
 */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../cgroup/memcg.h"
#include "../fusefs/log.h"
#include "../cgroup/throttle.h"
#include "internal.h"
#include "writeback.h"

#define KICK_TAG 1ULL /* user_data of the eventfd read; ios are pointers */
#define BW_BURST_NS (100 * 1000 * 1000ULL) /* bucket depth: 100 ms */
#define SHORT_WAIT_NS (20 * 1000 * 1000ULL) /* deferred work retry */

struct flusher {
	pthread_mutex_t lock; /* the writeback list lock */
	struct list_head dirty, sync;
	bool stopping; /* set under lock; stopping() reads it without */
	struct writeback_config cfg;
	int kick_fd;
	bool running;
	pthread_t thread;
	/* Flusher thread only: */
	struct io_uring ring;
	uint64_t kick_buf;
	unsigned int inflight;
	struct wb_io ios[WB_QUEUE_DEPTH];
	struct list_head free_ios;
	uint64_t bw_tokens; /* bytes: a pass takes no more than there are */
	uint64_t bw_last_ns, next_tick_ns;
	uint64_t bw_wait_ns; /* until the bucket allows a write; 0: now */
	uint64_t submitted; /* bytes submitted so far */
	int64_t sync_lead; /* bytes sync rounds got beyond over-limit cgroups */
	bool deferred; /* work left for want of tokens, fds or a lock */
	uint64_t retry_ns; /* first backoff to end, of work left; 0: none */
	/* The next turn walks the dirty list: not after failed writes alone,
	 * whose files then wait out a backoff, for then a walk finds nothing
	 * to do and thousands failing would walk thousands of files each. */
	bool walk_wanted;
	/* When a wait with nothing else to do would have timed out, and the
	 * next walk is due: not moved later by early wake-ups, so that a
	 * stream of failed writes cannot put the walk off for ever. */
	uint64_t walk_due_ns;
	int last_err; /* last failure, cleared by a success */
	int stop_err; /* first error given up at unmount */
};

static struct flusher fl = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.kick_fd = -1,
};

void writeback_kick(void)
{
	if (fl.kick_fd >= 0)
		eventfd_write(fl.kick_fd, 1);
}

bool writeback_mark_inode_dirty(struct address_space *mapping)
{
	if (mapping->on_wb_list)
		return false;
	mapping->dirtied_when_ns = now_ns();
	pthread_mutex_lock(&fl.lock);
	list_add_tail(&mapping->wb_list, &fl.dirty);
	__atomic_store_n(&mapping->on_wb_list, true, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&fl.lock);
	return true;
}

/* Want one more sync round of mapping and queue it for the flusher
 * (mapping->lock and the list lock held); the generation to wait for. */
static uint64_t sync_round_want(struct address_space *mapping)
{
	if (!mapping->on_sync_list) {
		list_add_tail(&mapping->sync_list, &fl.sync);
		mapping->on_sync_list = true;
	}
	return ++mapping->sync_wanted;
}

/* Ask for a sync round of mapping (its lock held); the generation to wait
 * for, or 0 if there is nothing to write. */
static uint64_t sync_request(struct address_space *mapping)
{
	uint64_t gen;

	if (!mapping->nr_dirty && !mapping->in_pass)
		return 0;
	pthread_mutex_lock(&fl.lock);
	gen = sync_round_want(mapping);
	pthread_mutex_unlock(&fl.lock);
	return gen;
}

void writeback_inode_cleaned(struct address_space *mapping)
{
	if (!mapping->on_wb_list || mapping->nr_dirty || mapping->in_pass)
		return;
	/* Only the flusher takes it off its lists: an empty sync round gets
	 * it looked at (and released) on its next turn. */
	pthread_mutex_lock(&fl.lock);
	sync_round_want(mapping);
	pthread_mutex_unlock(&fl.lock);
	writeback_kick();
}

/* Wait for generation gen (mapping->lock held). */
static int sync_wait(struct address_space *mapping, uint64_t gen)
{
	while (mapping->sync_done < gen)
		pthread_cond_wait(&mapping->wb_cond, &mapping->lock);
	return -mapping->sync_result;
}

int writeback_sync_inode(struct address_space *mapping)
{
	uint64_t gen;
	int ret = 0;

	pthread_mutex_lock(&mapping->lock);
	gen = sync_request(mapping);
	if (gen) {
		writeback_kick();
		ret = sync_wait(mapping, gen);
	}
	pthread_mutex_unlock(&mapping->lock);
	return ret;
}

/* The dirty list now, each mapping with an inode reference held. */
static struct address_space **dirty_snapshot(size_t *nr)
{
	struct address_space **v = NULL;
	struct list_head *pos;
	size_t n = 0;

	pthread_mutex_lock(&fl.lock);
	for (pos = fl.dirty.next; pos != &fl.dirty; pos = pos->next)
		n++;
	v = n ? calloc(n, sizeof(*v)) : NULL;
	n = 0;
	for (pos = fl.dirty.next; v && pos != &fl.dirty; pos = pos->next) {
		v[n] = list_entry(pos, struct address_space, wb_list);
		v[n]->a_ops->ihold(v[n]);
		n++;
	}
	pthread_mutex_unlock(&fl.lock);
	*nr = n;
	return v;
}

int writeback_sync_mappings(struct address_space **v, size_t nr)
{
	uint64_t *gen = calloc(nr ? nr : 1, sizeof(*gen));
	int ret = 0;
	size_t i;

	if (!gen)
		ret = -ENOMEM;
	/* Ask for every round first, so they are written in parallel. */
	for (i = 0; gen && i < nr; i++) {
		pthread_mutex_lock(&v[i]->lock);
		gen[i] = sync_request(v[i]);
		pthread_mutex_unlock(&v[i]->lock);
	}
	writeback_kick();
	for (i = 0; gen && i < nr; i++) {
		int err = 0;

		pthread_mutex_lock(&v[i]->lock);
		if (gen[i])
			err = sync_wait(v[i], gen[i]);
		pthread_mutex_unlock(&v[i]->lock);
		if (err && !ret)
			ret = err;
	}
	for (i = 0; i < nr; i++)
		v[i]->a_ops->iput(v[i]);
	free(gen);
	free(v);
	return ret;
}

int writeback_sync_all(void)
{
	size_t nr;
	struct address_space **v = dirty_snapshot(&nr);

	return writeback_sync_mappings(v, nr);
}

static void arm_kick(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&fl.ring);

	io_uring_prep_read(sqe, fl.kick_fd, &fl.kick_buf, sizeof(fl.kick_buf),
			   0);
	io_uring_sqe_set_data64(sqe, KICK_TAG);
}

/*
 * After a pass ended or before one starts (flusher thread, mapping->lock
 * held): settle the mapping's sync rounds; leave the sync list when no round
 * is pending, and both lists when clean. Returns true if it took the mapping
 * off the dirty list, whose inode reference must then be dropped, after
 * mapping->lock is released: only a listed mapping has one. Done under
 * mapping->lock so a writer cannot dirty it between check and removal.
 */
static bool flusher_settle(struct address_space *mapping)
{
	bool clean = wb_mapping_settle(mapping);
	bool synced = mapping->sync_done == mapping->sync_wanted;
	bool unlisted = false;

	if (!clean && !(synced && mapping->on_sync_list))
		return false;
	pthread_mutex_lock(&fl.lock);
	if (mapping->on_sync_list) {
		list_del_init(&mapping->sync_list);
		mapping->on_sync_list = false;
	}
	if (clean && mapping->on_wb_list) {
		list_del_init(&mapping->wb_list);
		__atomic_store_n(&mapping->on_wb_list, false, __ATOMIC_RELAXED);
		unlisted = true;
	}
	pthread_mutex_unlock(&fl.lock);
	return unlisted;
}

static bool stopping(void)
{
	return __atomic_load_n(&fl.stopping, __ATOMIC_RELAXED);
}

/* Note that mapping waits out a backoff until retry, for flusher_wait. */
static void defer_until(uint64_t retry)
{
	if (!fl.retry_ns || retry < fl.retry_ns)
		fl.retry_ns = retry;
}

/* Every dirty file fails while BACKING is full: say so ten times in five
 * seconds, not thousands. */
static struct dfs_ratelimit failed_rs = DFS_RATELIMIT_DEFAULT;

static void reap_one(struct io_uring_cqe *cqe)
{
	struct wb_io *io;
	struct address_space *mapping;
	bool unlisted;
	int err;

	if (cqe->user_data == KICK_TAG) {
		arm_kick();
		fl.walk_wanted = true;
		return;
	}
	io = (struct wb_io *)(uintptr_t)cqe->user_data;
	mapping = io->mapping;
	err = wb_io_complete(io, cqe->res, stopping());
	if (err) {
		dfs_log_ratelimited(
			&failed_rs, LOG_ERR,
			"writeback of %llu bytes at %llu failed: %s",
			(unsigned long long)io->bytes,
			(unsigned long long)io->offset, strerror(err));
		fl.last_err = err;
		if (stopping() && !fl.stop_err)
			fl.stop_err = err;
		/* Tried again when its backoff ends; at stop, at once. */
		if (stopping())
			fl.walk_wanted = true;
		else
			defer_until(__atomic_load_n(&mapping->retry_after_ns,
						    __ATOMIC_RELAXED));
	} else {
		fl.last_err = 0;
		cache_set_stuck(0);
		fl.walk_wanted = true;
	}
	list_add_tail(&io->entry, &fl.free_ios);
	fl.inflight--;
	pthread_mutex_lock(&mapping->lock);
	unlisted = flusher_settle(mapping);
	pthread_mutex_unlock(&mapping->lock);
	if (unlisted)
		mapping->a_ops->iput(mapping);
	cache_wake_reservers();
	throttle_kick();
}

static void reap(void)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&fl.ring, &cqe) == 0) {
		struct io_uring_cqe copy = *cqe;

		io_uring_cqe_seen(&fl.ring, cqe);
		reap_one(&copy);
	}
}

static void submit_batch(struct list_head *batch)
{
	while (!list_empty(batch)) {
		struct wb_io *io = list_first_entry(batch, struct wb_io, entry);
		struct io_uring_sqe *sqe = io_uring_get_sqe(&fl.ring);

		list_del_init(&io->entry);
		io_uring_prep_writev(sqe, io->fd, io->iov, io->nr_pages,
				     io->offset);
		io_uring_sqe_set_data(sqe, io);
		fl.inflight++;
		fl.submitted += io->bytes;
		if (fl.cfg.bw_bytes_per_s)
			fl.bw_tokens -= io->bytes;
	}
	io_uring_submit(&fl.ring);
}

/* Bytes that rate bw (bytes a second) allows in ns nanoseconds. */
static uint64_t bw_bytes(uint64_t bw, uint64_t ns)
{
	return (uint64_t)((unsigned __int128)bw * ns / NSEC_PER_SEC);
}

/* The bucket's depth: 100 ms at writeback_bw, and at least a page, which
 * any rate can then write. */
static uint64_t bw_cap(void)
{
	uint64_t cap = bw_bytes(fl.cfg.bw_bytes_per_s, BW_BURST_NS);

	return cap > PAGE_SIZE ? cap : PAGE_SIZE;
}

/* The longest write: no more than the bucket holds. */
static unsigned int run_max_pages(void)
{
	uint64_t pages = bw_cap() / PAGE_SIZE;

	if (!fl.cfg.bw_bytes_per_s || pages >= WB_RUN_MAX_PAGES)
		return WB_RUN_MAX_PAGES;
	return (unsigned int)pages;
}

/* Nanoseconds that rate bw (bytes a second, not 0) takes for bytes. */
static uint64_t bw_time_ns(uint64_t bw, uint64_t bytes)
{
	return (uint64_t)((unsigned __int128)bytes * NSEC_PER_SEC / bw);
}

/*
 * Add to the bucket the whole bytes earned since bw_last_ns, which moves
 * on only by the time those bytes took: the fraction of a byte is kept for
 * the next refill. The flusher turns at every kick, and over the background
 * threshold every write kicks it, so at a low rate it may turn more often
 * than a byte takes (every 244 us at 4K/s): dropping the fraction each
 * time, the bucket would never fill and writeback would stop while anyone
 * writes. Time enough to fill the bucket fills it, so nothing overflows.
 */
static void bw_refill(uint64_t bw, uint64_t cap, uint64_t now)
{
	uint64_t elapsed = now - fl.bw_last_ns, add;

	if (fl.bw_tokens >= cap ||
	    elapsed >= bw_time_ns(bw, cap - fl.bw_tokens) + 1) {
		fl.bw_tokens = cap;
		fl.bw_last_ns = now;
		return;
	}
	add = bw_bytes(bw, elapsed);
	fl.bw_tokens += add;
	fl.bw_last_ns += bw_time_ns(bw, add);
}

/*
 * Refill the writeback_bw bucket and say how many writes of run_max_pages
 * it pays for now; 0 sets bw_wait_ns. A pass starts no more writes than
 * that, so what it takes never exceeds the bucket's depth: a burst lasts
 * 100 ms at most, not a whole pass of WB_PASS_MAX_IOS writes.
 */
static unsigned int bw_budget_ios(void)
{
	uint64_t now = now_ns(), bw = fl.cfg.bw_bytes_per_s, cap = bw_cap(),
		 run = (uint64_t)run_max_pages() * PAGE_SIZE, ios;

	if (!bw)
		return WB_PASS_MAX_IOS;
	bw_refill(bw, cap, now);
	if (fl.bw_tokens < run) {
		fl.bw_wait_ns = bw_time_ns(bw, run - fl.bw_tokens) + 1;
		return 0;
	}
	ios = fl.bw_tokens / run;
	return ios < WB_PASS_MAX_IOS ? (unsigned int)ios : WB_PASS_MAX_IOS;
}

/*
 * Out of writeback_bw tokens: no write can start before bw_wait_ns, so the
 * work left is deferred. Walks and picks ask before each mapping, so that a
 * turn with nothing to spend ends at once instead of looking at every
 * dirty mapping: turns come every few milliseconds at a low rate.
 */
static bool bw_spent(void)
{
	if (bw_budget_ios())
		return false;
	fl.deferred = true;
	return true;
}

/* BACKING's file could not be opened to write it back: a failed write, for
 * writers waiting for room (check_stuck) and for the exit status. */
static void note_open_error(int err, bool gave_up)
{
	fl.last_err = err;
	if (gave_up && !fl.stop_err)
		fl.stop_err = err;
}

/* Whether mapping waits out a backoff at now; if so, noted for
 * flusher_wait. Read with or without its lock: only the flusher writes it,
 * and a stale value costs one look too many, or a turn's delay. */
static bool in_backoff(const struct address_space *mapping, uint64_t now)
{
	uint64_t retry =
		__atomic_load_n(&mapping->retry_after_ns, __ATOMIC_RELAXED);

	if (retry <= now)
		return false;
	defer_until(retry);
	return true;
}

/* Work on mapping is left for later: for the end of its backoff after a
 * failure, which may be seconds away, else for a short wait. */
static void defer(const struct address_space *mapping, enum wb_reason reason,
		  const struct wb_pass_limits *lim)
{
	if (reason == WB_REASON_SYNC || lim->ignore_backoff ||
	    !in_backoff(mapping, now_ns()))
		fl.deferred = true;
}

/* Whether a background walk at now passes over mapping, waiting out a
 * backoff: at a load, without its lock, so that thousands of files failing
 * at a full BACKING cost a walk little. At stop none waits. */
static bool walk_skips(const struct address_space *mapping, uint64_t now)
{
	return !stopping() && in_backoff(mapping, now);
}

/* Start a pass on mapping if it has something to write and we may. Returns
 * the number of writes submitted. */
static unsigned int try_pass(struct address_space *mapping,
			     enum wb_reason reason)
{
	struct wb_pass_limits lim = {
		.max_ios = WB_PASS_MAX_IOS,
		.new_ios = bw_budget_ios(),
		.run_max_pages = run_max_pages(),
		.ignore_backoff = stopping(),
		.give_up = stopping() && !fl.inflight,
		.others_in_flight = fl.inflight > 0,
	};
	struct list_head batch;
	bool unlisted;
	unsigned int nr = 0;
	int ret = 0;

	INIT_LIST_HEAD(&batch);
	if (!lim.new_ios) {
		fl.deferred = true;
		return 0;
	}
	pthread_mutex_lock(&mapping->lock);
	unlisted = flusher_settle(mapping);
	if (!unlisted) {
		ret = wb_pass_build(mapping, reason, &lim, &fl.free_ios,
				    &batch);
		if (ret > 0)
			nr = (unsigned int)ret;
		else if (ret < 0 && ret != -EAGAIN)
			note_open_error(-ret,
					lim.give_up && !mapping->nr_dirty);
	}
	/* Data given up leaves a clean mapping to take off the list. */
	if (!unlisted && !nr && (mapping->nr_dirty || ret < 0) &&
	    !mapping->in_pass)
		defer(mapping, reason, &lim);
	pthread_mutex_unlock(&mapping->lock);
	if (nr)
		submit_batch(&batch);
	if (unlisted)
		mapping->a_ops->iput(mapping);
	return nr;
}

/* Walk list (sync or dirty) in order, trying a pass on each entry, until the
 * queue is full, writeback_bw allows no more, or want() says there is no
 * more need. A background walk passes over files waiting out a backoff. */
static void walk(struct list_head *list, enum wb_reason reason,
		 bool (*want)(void))
{
	struct list_head *pos, *next;
	uint64_t now = now_ns();

	pthread_mutex_lock(&fl.lock);
	for (pos = list->next; pos != list; pos = next) {
		struct address_space *mapping =
			reason == WB_REASON_SYNC ?
				list_entry(pos, struct address_space,
					   sync_list) :
				list_entry(pos, struct address_space, wb_list);

		next = pos->next;
		if (reason == WB_REASON_BACKGROUND && walk_skips(mapping, now))
			continue;
		if (!want())
			break;
		if (list_empty(&fl.free_ios) || bw_spent()) {
			fl.walk_wanted = true;
			break;
		}
		pthread_mutex_unlock(&fl.lock);
		try_pass(mapping, reason);
		pthread_mutex_lock(&fl.lock);
	}
	pthread_mutex_unlock(&fl.lock);
}

/* Serve cgroups over their background limit, round-robin (memcg.c picks),
 * until a pick cannot be written now (backoff), writeback_bw allows no
 * more, or the queue is full. A pick moves the round on, so none is made
 * without the tokens to write it. */
static void writeback_over_limit(void)
{
	for (unsigned int nr = 1;
	     nr && !list_empty(&fl.free_ios) && !bw_spent();) {
		struct address_space *mapping = memcg_next_writeback();

		if (!mapping)
			return;
		nr = try_pass(mapping, WB_REASON_BACKGROUND);
		mapping->a_ops->iput(mapping);
	}
}

static bool always(void)
{
	return true;
}

/*
 * Sync rounds and the cgroups over their background limit share what
 * writeback_bw and the queue allow: whichever has been given fewer bytes
 * goes first this turn and takes what it can, the other gets the rest. At
 * a low rate a turn affords one write, so they alternate; served always
 * first, a stream of fsyncs left the cgroups over their limits none, and
 * their writers held. The lead is kept within one longest write either
 * way, so that a side that had the flusher to itself keeps the other
 * waiting one turn at most when it comes back: an fsync then waits behind
 * one turn's writes of the over-limit cgroups.
 */
static void writeback_urgent(void)
{
	int64_t slack = (int64_t)run_max_pages() * PAGE_SIZE, lead;
	bool sync_first = fl.sync_lead <= 0;
	uint64_t start = fl.submitted, synced, over;

	if (!sync_first)
		writeback_over_limit();
	synced = fl.submitted;
	walk(&fl.sync, WB_REASON_SYNC, always);
	synced = fl.submitted - synced;
	if (sync_first)
		writeback_over_limit();
	over = fl.submitted - start - synced;
	lead = fl.sync_lead + (int64_t)synced - (int64_t)over;
	fl.sync_lead = lead > slack ? slack : lead < -slack ? -slack : lead;
}

static bool need_background(void)
{
	return stopping() || cache_over_background() || cache_under_pressure();
}

/* Give mappings dirty for longer than dirty_expire a sync round. */
static void expire_tick(void)
{
	uint64_t now = now_ns(), expire = fl.cfg.dirty_expire_ns;
	struct list_head *pos;

	fl.next_tick_ns = now + fl.cfg.interval_ns;
	if (!expire)
		return;
	pthread_mutex_lock(&fl.lock);
	for (pos = fl.dirty.next; pos != &fl.dirty; pos = pos->next) {
		struct address_space *m =
			list_entry(pos, struct address_space, wb_list);

		/* Trylock: the lock order is mapping, then list. */
		if (pthread_mutex_trylock(&m->lock))
			continue;
		if (m->dirtied_when_ns + expire <= now && m->nr_dirty &&
		    m->sync_wanted == m->sync_done)
			sync_round_want(m);
		pthread_mutex_unlock(&m->lock);
	}
	pthread_mutex_unlock(&fl.lock);
}

/* Nothing can be written and writers wait for room: let them fail. */
static void check_stuck(void)
{
	if (!fl.inflight && fl.last_err && cache_under_pressure())
		cache_set_stuck(fl.last_err);
}

static bool flusher_done(void)
{
	bool done;

	pthread_mutex_lock(&fl.lock);
	done = fl.stopping && list_empty(&fl.dirty) && !fl.inflight;
	pthread_mutex_unlock(&fl.lock);
	return done;
}

static void flusher_wait(void)
{
	uint64_t now = now_ns(),
		 wait = fl.next_tick_ns > now ? fl.next_tick_ns - now : 0;
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe;

	/* Files waiting out a backoff are looked at again when the first
	 * ends, a shortest backoff after the last look at the soonest: those
	 * due within it are retried together, so that thousands failing at a
	 * full BACKING cost a few looks at the list a backoff, not one each. */
	if (fl.retry_ns) {
		uint64_t until = fl.retry_ns > now ? fl.retry_ns - now : 0;

		if (until < WB_BACKOFF_MIN_NS)
			until = WB_BACKOFF_MIN_NS;
		if (wait > until)
			wait = until;
	}
	if (fl.deferred && wait > SHORT_WAIT_NS)
		wait = SHORT_WAIT_NS;
	if (fl.bw_wait_ns && wait > fl.bw_wait_ns)
		wait = fl.bw_wait_ns;
	if (!fl.walk_due_ns || now + wait < fl.walk_due_ns)
		fl.walk_due_ns = now + wait;
	ts.tv_sec = (long long)(wait / NSEC_PER_SEC);
	ts.tv_nsec = (long long)(wait % NSEC_PER_SEC);
	io_uring_submit(&fl.ring);
	io_uring_wait_cqe_timeout(&fl.ring, &cqe, &ts);
}

static void *flusher_main(void *arg)
{
	(void)arg;
	/* A name for ps -L, top and perf. */
	pthread_setname_np(pthread_self(), "dirtyfs-flush");
	arm_kick();
	io_uring_submit(&fl.ring);
	fl.next_tick_ns = now_ns() + fl.cfg.interval_ns;
	for (;;) {
		bool walk_now;

		reap();
		/* A timeout: deferred work, a backoff ended, or the tick. */
		walk_now = fl.walk_wanted || now_ns() >= fl.walk_due_ns;
		fl.walk_wanted = false;
		fl.bw_wait_ns = 0;
		if (walk_now) {
			fl.deferred = false;
			fl.retry_ns = 0;
			fl.walk_due_ns = 0;
		}
		if (now_ns() >= fl.next_tick_ns)
			expire_tick();
		writeback_urgent();
		if (walk_now)
			walk(&fl.dirty, WB_REASON_BACKGROUND, need_background);
		check_stuck();
		if (flusher_done())
			break;
		flusher_wait();
	}
	return NULL;
}

int writeback_start(const struct writeback_config *cfg)
{
	int ret;

	fl.cfg = *cfg;
	INIT_LIST_HEAD(&fl.dirty);
	INIT_LIST_HEAD(&fl.sync);
	INIT_LIST_HEAD(&fl.free_ios);
	for (unsigned int i = 0; i < WB_QUEUE_DEPTH; i++)
		list_add_tail(&fl.ios[i].entry, &fl.free_ios);
	fl.bw_last_ns = now_ns();
	fl.kick_fd = eventfd(0, EFD_CLOEXEC);
	if (fl.kick_fd < 0)
		return -errno;
	ret = io_uring_queue_init(WB_QUEUE_DEPTH * 2, &fl.ring, 0);
	if (ret)
		goto fail_fd;
	ret = -pthread_create(&fl.thread, NULL, flusher_main, NULL);
	if (ret)
		goto fail_ring;
	fl.running = true;
	return 0;
fail_ring:
	io_uring_queue_exit(&fl.ring);
fail_fd:
	close(fl.kick_fd);
	fl.kick_fd = -1;
	return ret;
}

int writeback_stop(void)
{
	if (!fl.running)
		return 0;
	pthread_mutex_lock(&fl.lock);
	__atomic_store_n(&fl.stopping, true, __ATOMIC_RELAXED); /* stopping() */
	pthread_mutex_unlock(&fl.lock);
	writeback_kick();
	pthread_join(fl.thread, NULL);
	fl.running = false;
	io_uring_queue_exit(&fl.ring);
	close(fl.kick_fd);
	fl.kick_fd = -1;
	return -fl.stop_err;
}
