// SPDX-License-Identifier: GPL-2.0
/*
 * Held write replies; see throttle.h.
 *
 * DESIGN
 * One thread owns the decision to release. It wakes when writeback made
 * progress or a limit changed (throttle_kick), when a writer is interrupted,
 * when the earliest pause ends, and at least every RECHECK_NS as a safety
 * net. Each wake-up it releases the writes whose pause is over and whose
 * cgroups are under their hard limits, and answers interrupted ones EINTR.
 * Once a second it re-resolves percentage limits against the memory limits
 * in force and forgets removed cgroups, outside every lock.
 *
 * A write held before the cache is put in by a second thread, the
 * committer, one at a time: its copy may wait for room in a full cache
 * (cache_reserve) for as long as writeback takes, and the throttle thread
 * must go on answering everyone else meanwhile, EINTR included. The
 * throttle thread hands it over and looks at the held writes again once
 * the committer has answered it, so that the next one sees the cache with
 * it in.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "../cache/cache.h"
#include "memcg.h"
#include "throttle.h"
#include "trace.h"

#define MIN_PAUSE_USEC 1000ULL /* shorter pauses are not worth parking */
#define RECHECK_NS (100 * 1000 * 1000ULL)
#define REFRESH_NS (1000 * 1000 * 1000ULL)

struct held_write {
	struct list_head entry;
	fuse_req_t req;
	size_t bytes; /* in the cache already, or 0 */
	struct throttle_write *early; /* held before the cache, or NULL */
	cgroup_id_t id;
	uint64_t since_ns, until_ns;
	bool hard; /* until under the hard limit, not only until_ns */
	bool interrupted;
	int err; /* answer a write held before the cache with this */
};

static struct {
	pthread_mutex_t lock; /* the throttle lock */
	pthread_cond_t cond;
	struct list_head held;
	unsigned int nr_held; /* atomic: read unlocked for the rate */
	bool stop, kicked, running;
	pthread_t thread;
	/* The committer's: a write handed to it, and whether it is putting
	 * one in now (throttle lock). */
	pthread_cond_t commit_cond;
	struct held_write *to_commit;
	bool committing;
	cgroup_id_t last_commit; /* the cgroup of the write that went in last */
	pthread_t committer;
	struct pacing_bw bw; /* throttle thread only; bps read racily */
	uint64_t next_refresh_ns;
} th = { .lock = PTHREAD_MUTEX_INITIALIZER };

void throttle_kick(void)
{
	pthread_mutex_lock(&th.lock);
	th.kicked = true;
	/* Writeback goes on after throttle_stop, which destroys cond. */
	if (!th.stop)
		pthread_cond_signal(&th.cond);
	pthread_mutex_unlock(&th.lock);
}

static void on_interrupt(fuse_req_t req, void *data)
{
	struct held_write *h = data;

	(void)req;
	pthread_mutex_lock(&th.lock);
	h->interrupted = true;
	th.kicked = true;
	pthread_cond_signal(&th.cond);
	pthread_mutex_unlock(&th.lock);
}

/* h's CGPATH for the trace, while h holds its entry (memcg_hold). */
static const char *held_path(const struct held_write *h, char *buf, size_t size)
{
	if (memcg_path(h->id, buf, size))
		snprintf(buf, size, "?");
	return buf;
}

/* Park h; the reply comes from the throttle thread. */
static void park(struct held_write *h)
{
	char path[CGPATH_MAX];

	memcg_hold(h->id);
	trace_event("write_held cgroup=%s bytes=%zu pause_usec=%lld%s",
		    held_path(h, path, sizeof(path)), h->bytes,
		    h->hard ? -1LL :
			      (long long)(h->until_ns - h->since_ns) / 1000,
		    h->early ? " before_cache" : "");
	/* Before it is published: the callback may run at once. */
	fuse_req_interrupt_func(h->req, on_interrupt, h);
	pthread_mutex_lock(&th.lock);
	list_add_tail(&h->entry, &th.held);
	__atomic_add_fetch(&th.nr_held, 1, __ATOMIC_RELAXED);
	th.kicked = true;
	pthread_cond_signal(&th.cond);
	pthread_mutex_unlock(&th.lock);
}

void balance_dirty_pages(fuse_req_t req, cgroup_id_t id, size_t bytes)
{
	unsigned int held = __atomic_load_n(&th.nr_held, __ATOMIC_RELAXED);
	uint64_t rate = pacing_dirty_ratelimit(&th.bw, held + 1);
	struct memcg_verdict v;
	struct held_write *h;

	memcg_balance(id, bytes, rate, &v);
	if (v.pause_usec < MIN_PAUSE_USEC || !(h = calloc(1, sizeof(*h)))) {
		fuse_reply_write(req, bytes);
		return;
	}
	h->req = req;
	h->bytes = bytes;
	h->id = id;
	h->since_ns = now_ns();
	h->hard = v.pause_usec == PACING_HOLD;
	h->until_ns = h->since_ns + (h->hard ? 0 : v.pause_usec * 1000);
	park(h);
}

bool throttle_must_hold(cgroup_id_t id)
{
	return memcg_over_hard(id);
}

void throttle_hold_write(struct throttle_write *w)
{
	struct held_write *h = calloc(1, sizeof(*h));

	if (!h) {
		fuse_reply_err(w->req, ENOMEM);
		w->release(w);
		return;
	}
	h->req = w->req;
	h->early = w;
	h->id = w->id;
	h->since_ns = now_ns();
	h->until_ns = h->since_ns;
	h->hard = true;
	park(h);
}

/* The reply to h: EINTR for a write held before the cache that was
 * interrupted, or is still held at unmount (writeback may be past its last
 * pass: it must not enter the cache now); the commit's result when it goes in
 * now; else the bytes already written. */
static void reply(struct held_write *h, bool stopping)
{
	ssize_t ret = (ssize_t)h->bytes;

	if (h->early && (h->interrupted || stopping))
		ret = -EINTR;
	else if (h->early && h->err)
		ret = -h->err;
	else if (h->early)
		ret = h->early->commit(h->early);
	if (ret < 0)
		fuse_reply_err(h->req, (int)-ret);
	else
		fuse_reply_write(h->req, (size_t)ret);
	if (h->early)
		h->early->release(h->early);
}

/* Answer h and free it; no lock held. */
static void release(struct held_write *h, bool stopping)
{
	uint64_t usec = (now_ns() - h->since_ns) / 1000;
	char path[CGPATH_MAX];

	/* Waits for a running interrupt callback, which still uses h. */
	fuse_req_interrupt_func(h->req, NULL, NULL);
	reply(h, stopping);
	/* Before the account drops the entry memcg_hold took. */
	trace_event("write_released cgroup=%s held_usec=%llu%s",
		    held_path(h, path, sizeof(path)), (unsigned long long)usec,
		    h->interrupted ? " interrupted" : "");
	memcg_account_throttle(h->id, usec);
	free(h);
}

/*
 * May h be answered now? A write held until its cgroup is under the hard
 * limit would wait for ever if the cgroup cannot write back (BACKING full,
 * say): it is answered now, one held before the cache with that error
 * (nothing of it was written), one in the cache with its byte count (the
 * error comes at fsync and close, and the writer's next write gets it).
 */
static bool ready(struct held_write *h, uint64_t now)
{
	int err;

	if (h->interrupted)
		return true;
	if (now < h->until_ns || !(h->hard && memcg_over_hard(h->id)))
		return now >= h->until_ns;
	err = memcg_write_error(h->id);
	if (h->early)
		h->err = err;
	return err != 0;
}

/* Whether answering ready h puts its data in the cache now. */
static bool commits(const struct held_write *h)
{
	return h->early && !h->interrupted && !h->err;
}

/* Round-robin among cgroups for the committer: does id a come before b,
 * counting from the one after the cgroup whose write went in last? */
static bool rr_before(cgroup_id_t a, cgroup_id_t b)
{
	return (cgroup_id_t)(a - th.last_commit - 1) <
	       (cgroup_id_t)(b - th.last_commit - 1);
}

/*
 * Move the writes that may be answered to out, and hand one that is to be
 * put in the cache to the committer; the next deadline. Lock held.
 *
 * Of the writes held before the cache, one goes in at a time: the pass
 * after the committer answers it sees the cache with that write in, so
 * another goes only if its cgroups are still under. Letting all go the
 * moment a cgroup dips under its limit would put it over by a request per
 * writer, and hold every writer again until all of that is written back:
 * stop and go, the held writers' copies all in one burst. The one that
 * goes is the oldest of the next cgroup in turn, so that where the root's
 * limit holds every cgroup, one with many writers does not take every
 * turn from one with few.
 */
static uint64_t collect_ready(struct list_head *out, uint64_t now)
{
	/* Stopping, the committer may be gone: the held list is answered
	 * (EINTR) by throttle_stop. */
	bool may_commit = !th.to_commit && !th.committing && !th.stop;
	uint64_t next = now + RECHECK_NS;
	struct held_write *commit = NULL;
	struct list_head *pos, *tmp;

	for (pos = th.held.next; pos != &th.held; pos = tmp) {
		struct held_write *h =
			list_entry(pos, struct held_write, entry);

		tmp = pos->next;
		if (!ready(h, now)) {
			if (h->until_ns > now && h->until_ns < next)
				next = h->until_ns;
		} else if (!commits(h)) {
			list_move_tail(pos, out);
			__atomic_sub_fetch(&th.nr_held, 1, __ATOMIC_RELAXED);
		} else if (may_commit &&
			   (!commit || rr_before(h->id, commit->id))) {
			commit = h;
		}
	}
	if (commit) {
		list_del_init(&commit->entry);
		__atomic_sub_fetch(&th.nr_held, 1, __ATOMIC_RELAXED);
		th.to_commit = commit;
		th.last_commit = commit->id;
		pthread_cond_signal(&th.commit_cond);
	}
	return next;
}

static void timed_wait(uint64_t deadline_ns)
{
	struct timespec ts = ns_to_timespec(deadline_ns);

	pthread_cond_timedwait(&th.cond, &th.lock, &ts);
}

static void refresh(uint64_t now)
{
	struct cache_stats st;

	cache_get_stats(&st);
	pacing_bw_update(&th.bw, now, st.written);
	if (now < th.next_refresh_ns)
		return;
	th.next_refresh_ns = now + REFRESH_NS;
	memcg_refresh_limits();
	memcg_reap();
	writer_expire();
}

static void *throttle_main(void *arg)
{
	(void)arg;
	/* A name for ps -L, top and perf. */
	pthread_setname_np(pthread_self(), "dirtyfs-thrtl");
	pthread_mutex_lock(&th.lock);
	while (!th.stop) {
		struct list_head out;
		uint64_t now = now_ns(), next;

		pthread_mutex_unlock(&th.lock);
		refresh(now);
		pthread_mutex_lock(&th.lock);
		INIT_LIST_HEAD(&out);
		next = collect_ready(&out, now);
		if (next > th.next_refresh_ns)
			next = th.next_refresh_ns;
		pthread_mutex_unlock(&th.lock);
		while (!list_empty(&out)) {
			struct held_write *h = list_first_entry(
				&out, struct held_write, entry);

			list_del_init(&h->entry);
			release(h, false);
		}
		pthread_mutex_lock(&th.lock);
		if (!th.kicked && !th.stop)
			timed_wait(next);
		th.kicked = false;
	}
	pthread_mutex_unlock(&th.lock);
	return NULL;
}

/* Put each write handed over in the cache and answer it (EINTR if handed
 * over as the mount stops); then have the throttle thread look again. */
static void *committer_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "dirtyfs-commit");
	pthread_mutex_lock(&th.lock);
	for (;;) {
		struct held_write *h;
		bool stopping;

		while (!th.to_commit && !th.stop)
			pthread_cond_wait(&th.commit_cond, &th.lock);
		h = th.to_commit;
		if (!h)
			break;
		th.to_commit = NULL;
		th.committing = true;
		stopping = th.stop;
		pthread_mutex_unlock(&th.lock);
		release(h, stopping);
		pthread_mutex_lock(&th.lock);
		th.committing = false;
		th.kicked = true;
		if (!th.stop)
			pthread_cond_signal(&th.cond);
	}
	pthread_mutex_unlock(&th.lock);
	return NULL;
}

int throttle_start(void)
{
	pthread_condattr_t attr;
	struct cache_stats st;
	int ret;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&th.cond, &attr);
	pthread_condattr_destroy(&attr);
	pthread_cond_init(&th.commit_cond, NULL);
	INIT_LIST_HEAD(&th.held);
	cache_get_stats(&st);
	pacing_bw_init(&th.bw, now_ns(), st.written);
	ret = -pthread_create(&th.committer, NULL, committer_main, NULL);
	if (ret)
		return ret;
	ret = -pthread_create(&th.thread, NULL, throttle_main, NULL);
	if (ret) {
		pthread_mutex_lock(&th.lock);
		th.stop = true;
		pthread_cond_signal(&th.commit_cond);
		pthread_mutex_unlock(&th.lock);
		pthread_join(th.committer, NULL);
		return ret;
	}
	th.running = true;
	return 0;
}

void throttle_stop(void)
{
	if (!th.running)
		return;
	pthread_mutex_lock(&th.lock);
	th.stop = true;
	pthread_cond_signal(&th.cond);
	pthread_cond_signal(&th.commit_cond);
	pthread_mutex_unlock(&th.lock);
	pthread_join(th.thread, NULL);
	pthread_join(th.committer, NULL);
	th.running = false;
	while (!list_empty(&th.held)) {
		struct held_write *h =
			list_first_entry(&th.held, struct held_write, entry);

		list_del_init(&h->entry);
		release(h, true);
	}
	pthread_cond_destroy(&th.cond);
	pthread_cond_destroy(&th.commit_cond);
}
