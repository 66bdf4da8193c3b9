// SPDX-License-Identifier: GPL-2.0
/*
 * The tracked cgroups: accounting, limits, ownership and the over-background
 * set. See memcg.h for the contract and the lock order.
 *
 * Counters are in pages and hierarchical: charging a cgroup walks up to the
 * root, so a cgroup's figures include its descendants' and a limit checks
 * one number. Trees are shallow (the path depth), so the walk is short.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "../writeback/writeback.h"
#include "memcg.h"
#include "trace.h"

struct memcg {
	UT_hash_handle hh; /* in registry.by_path */
	char *path;
	cgroup_id_t id;
	struct memcg *parent; /* NULL for "/" */
	unsigned int nr_children;
	/* Pages and bytes, this cgroup and its descendants. */
	uint64_t nr_dirty, nr_writeback;
	uint64_t nr_own_dirty; /* dirty pages charged to this cgroup itself */
	uint64_t written_bytes, throttled_usec, throttle_events;
	/* Limits: its own where set, else the mount's defaults. */
	bool own_set[2];
	struct limit own[2];
	uint64_t mem_limit_bytes; /* for percentages; refreshed */
	/* Refreshes in a row that found it removed from cgroupfs. */
	unsigned int gone;
	/* Mappings this cgroup owns that have dirty or writeback pages. */
	struct list_head inodes;
	struct list_head over; /* in the over-background set */
	bool over_bg;
	/* Requests using the entry now: writes on their way into the cache
	 * (memcg_id_get, memcg_tryget) and held write replies. */
	unsigned int nr_refs;
	int wb_err; /* last writeback of its pages failed: errno */
};

/* The registry's state: this one owner, this one lock. */
static struct {
	pthread_mutex_t lock;
	struct memcg_config cfg;
	struct memcg *by_path; /* uthash on path */
	struct memcg **by_id; /* id -> memcg, NULL for a free id */
	size_t nr_ids;
	struct list_head over_set; /* over their background limit */
	size_t nr_over; /* on over_set: a choice never counts the list */
	struct list_head shared; /* mappings owned by CGROUP_SHARED */
	uint64_t nr_shared;
	unsigned int nr_dirtying; /* cgroups with dirty pages charged to them */
} reg = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The entry of id, or NULL. Lock held: memcg_alloc_id may move by_id. */
static struct memcg *memcg_of(cgroup_id_t id)
{
	return id < reg.nr_ids ? reg.by_id[id] : NULL;
}

/* A free id, growing the table. Lock held. */
static int memcg_alloc_id(cgroup_id_t *id)
{
	struct memcg **v;
	size_t i;

	for (i = 0; i < reg.nr_ids; i++)
		if (!reg.by_id[i]) {
			*id = (cgroup_id_t)i;
			return 0;
		}
	if (reg.nr_ids >= CGROUP_NONE)
		return -ENOSPC;
	v = realloc(reg.by_id, (reg.nr_ids * 2 + 16) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memset(v + reg.nr_ids, 0, (reg.nr_ids + 16) * sizeof(*v));
	reg.by_id = v;
	*id = (cgroup_id_t)reg.nr_ids;
	reg.nr_ids = reg.nr_ids * 2 + 16;
	return 0;
}

/* Track path, whose parent is already tracked (NULL for "/"). Lock held. */
static struct memcg *memcg_create(const char *path, struct memcg *parent,
				  uint64_t mem_limit)
{
	struct memcg *m = calloc(1, sizeof(*m));

	if (!m || !(m->path = strdup(path)) || memcg_alloc_id(&m->id)) {
		if (m)
			free(m->path);
		free(m);
		return NULL;
	}
	m->parent = parent;
	if (parent)
		parent->nr_children++;
	m->mem_limit_bytes = mem_limit;
	INIT_LIST_HEAD(&m->inodes);
	INIT_LIST_HEAD(&m->over);
	reg.by_id[m->id] = m;
	HASH_ADD_KEYPTR(hh, reg.by_path, m->path, strlen(m->path), m);
	return m;
}

static struct memcg *memcg_find(const char *path)
{
	struct memcg *m;

	HASH_FIND_STR(reg.by_path, path, m);
	return m;
}

int memcg_init(const struct memcg_config *cfg)
{
	uint64_t mem = 0;

	reg.cfg = *cfg;
	INIT_LIST_HEAD(&reg.over_set);
	INIT_LIST_HEAD(&reg.shared);
	/* No hierarchy to read (no cgroupfs mounted here): physical memory,
	 * as where none is limited, not 0, which would make every percentage
	 * limit 0 bytes and hold every write until written back. */
	if (cg_memory_limit(cfg->hier, "/", &mem))
		cg_physical_memory(&mem);
	return memcg_create("/", NULL, mem) ? 0 : -ENOMEM;
}

void memcg_exit(void)
{
	struct memcg *m, *tmp;

	HASH_ITER(hh, reg.by_path, m, tmp) {
		HASH_DEL(reg.by_path, m);
		free(m->path);
		free(m);
	}
	free(reg.by_id);
	reg.by_id = NULL;
	reg.nr_ids = 0;
}

/* Track path, whose parent is tracked. Lock not held: it reads cgroupfs for
 * path's memory limit. */
static int memcg_track_one(const char *path, const char *parent_path)
{
	struct memcg *m, *parent;
	uint64_t parent_mem = 0, mem;
	int ret = 0;

	pthread_mutex_lock(&reg.lock);
	parent = memcg_find(parent_path);
	if (parent)
		parent_mem = parent->mem_limit_bytes;
	pthread_mutex_unlock(&reg.lock);
	/*
	 * Not made yet (a limit may name it first) or removed already: its
	 * writers, once it has some, are bound by the parent's memory limit,
	 * the nearest limited ancestor's. The refresh reads its own once it
	 * is made.
	 */
	if (cg_memory_limit_under(reg.cfg.hier, path, parent_mem, &mem))
		mem = parent_mem;
	pthread_mutex_lock(&reg.lock);
	m = memcg_find(path);
	parent = memcg_find(parent_path);
	if (!m && parent && !memcg_create(path, parent, mem))
		ret = -ENOMEM;
	pthread_mutex_unlock(&reg.lock);
	return ret;
}

/* The length of path's deepest tracked ancestor (or of path itself), a
 * prefix of it: "/" (1) always is. */
static size_t tracked_prefix(const char *path, char *buf)
{
	size_t len = strlen(path);

	memcpy(buf, path, len + 1);
	pthread_mutex_lock(&reg.lock);
	while (len > 1 && !memcg_find(buf)) {
		char *slash = memrchr(buf, '/', len);

		len = slash == buf ? 1 : (size_t)(slash - buf);
		buf[len] = '\0';
	}
	pthread_mutex_unlock(&reg.lock);
	return len;
}

/*
 * Track path, a valid CGPATH (memcg_lookup checked it), and, first, its
 * ancestors: the ones missing below the deepest tracked one, from the top
 * down. A loop over prefixes of path, not a recursion: a tenant may nest
 * cgroups some 2000 deep within CGPATH_MAX, and a frame of CGPATH_MAX a
 * level overflowed a worker's stack.
 */
static int memcg_track(const char *path)
{
	char parent[CGPATH_MAX], child[CGPATH_MAX];
	size_t len = strlen(path), end;
	int ret = 0;

	end = tracked_prefix(path, parent);
	while (!ret && end < len) {
		const char *next = strchr(path + end + 1, '/');
		size_t child_len = next ? (size_t)(next - path) : len;

		memcpy(child, path, child_len);
		child[child_len] = '\0';
		ret = memcg_track_one(child, parent);
		memcpy(parent, child, child_len + 1);
		end = child_len;
	}
	return ret;
}

/* memcg_id, with a reference on the entry taken under the lock that finds it
 * when get is set. */
static int memcg_lookup(const char *cgpath, cgroup_id_t *id, bool get)
{
	struct memcg *m;
	int ret;

	if (!cg_path_valid(cgpath, strlen(cgpath)))
		return -EINVAL;
	for (int tries = 0; tries < 2; tries++) {
		pthread_mutex_lock(&reg.lock);
		m = memcg_find(cgpath);
		if (m) {
			*id = m->id;
			m->nr_refs += get;
		}
		pthread_mutex_unlock(&reg.lock);
		if (m)
			return 0;
		ret = memcg_track(cgpath);
		if (ret)
			return ret;
	}
	return -ENOMEM;
}

int memcg_id(const char *cgpath, cgroup_id_t *id)
{
	return memcg_lookup(cgpath, id, false);
}

int memcg_id_get(const char *cgpath, cgroup_id_t *id)
{
	return memcg_lookup(cgpath, id, true);
}

int memcg_path(cgroup_id_t id, char *buf, size_t size)
{
	struct memcg *m;
	int ret = -ENOENT;

	pthread_mutex_lock(&reg.lock);
	m = memcg_of(id);
	if (m)
		ret = snprintf(buf, size, "%s", m->path) < (int)size ? 0 :
								       -ERANGE;
	pthread_mutex_unlock(&reg.lock);
	return ret;
}

/* --- accounting ---------------------------------------------------------- */

static bool memcg_check_background(struct memcg *m);

static void charge(struct memcg *m, int64_t dirty, int64_t writeback)
{
	if (m && dirty) {
		bool was_dirty = m->nr_own_dirty;

		m->nr_own_dirty += (uint64_t)dirty;
		if (was_dirty && !m->nr_own_dirty)
			reg.nr_dirtying--;
		else if (!was_dirty && m->nr_own_dirty)
			reg.nr_dirtying++;
	}
	for (; m; m = m->parent) {
		m->nr_dirty += (uint64_t)dirty;
		m->nr_writeback += (uint64_t)writeback;
	}
}

/* The CGPATH of id for the trace. Lock held. */
static const char *memcg_name(cgroup_id_t id)
{
	struct memcg *m = memcg_of(id);

	return m ? m->path : "?";
}

/* Move mapping onto the list of owner (lock held). */
static void memcg_set_owner(struct address_space *mapping, cgroup_id_t owner)
{
	struct memcg *m = memcg_of(owner);

	list_del_init(&mapping->owner_list);
	if (mapping->owner == CGROUP_SHARED)
		reg.nr_shared--;
	mapping->owner = owner;
	if (owner == CGROUP_SHARED) {
		list_add_tail(&mapping->owner_list, &reg.shared);
		reg.nr_shared++;
	} else if (m) {
		list_add_tail(&mapping->owner_list, &m->inodes);
	}
}

void memcg_dirty_page(struct page *page, cgroup_id_t id, bool was_dirty)
{
	struct address_space *mapping = page->mapping;
	cgroup_id_t old = page->cgroup;

	page->cgroup = id;
	if (mapping->owner == id && (!was_dirty || old == id))
		return;
	pthread_mutex_lock(&reg.lock);
	if (was_dirty && old != id) {
		charge(memcg_of(old), -1, 0);
		charge(memcg_of(id), 1, 0);
	}
	if (mapping->owner == CGROUP_NONE) {
		memcg_set_owner(mapping, id);
		trace_event("inode_dirtied mapping=%p cgroup=%s", mapping,
			    memcg_name(id));
	} else if (mapping->owner != id && mapping->owner != CGROUP_SHARED) {
		trace_event("inode_shared mapping=%p owner=%s by=%s", mapping,
			    memcg_name(mapping->owner), memcg_name(id));
		memcg_set_owner(mapping, CGROUP_SHARED);
	}
	pthread_mutex_unlock(&reg.lock);
}

/*
 * More dirty data may take id or an ancestor over its background limit,
 * whichever path dirtied it: a write going into the cache, one held before
 * it and put in by the throttle thread, the kernel's writeback of an mmap.
 * The flusher is woken here, so none of them waits for the next refresh.
 */
void memcg_charge_dirty(cgroup_id_t id, int64_t nr)
{
	bool kick = false;
	struct memcg *m;

	if (!nr)
		return;
	pthread_mutex_lock(&reg.lock);
	charge(memcg_of(id), nr, 0);
	for (m = memcg_of(id); m && nr > 0; m = m->parent)
		kick |= memcg_check_background(m);
	pthread_mutex_unlock(&reg.lock);
	if (kick)
		writeback_kick();
}

void memcg_start_writeback(cgroup_id_t id, int64_t nr)
{
	pthread_mutex_lock(&reg.lock);
	charge(memcg_of(id), -nr, nr);
	pthread_mutex_unlock(&reg.lock);
}

void memcg_end_writeback(cgroup_id_t id, uint64_t nr, uint64_t bytes, int err)
{
	struct memcg *m;

	pthread_mutex_lock(&reg.lock);
	m = memcg_of(id);
	charge(m, 0, -(int64_t)nr);
	if (m)
		m->wb_err = err;
	for (; m && !err; m = m->parent)
		m->written_bytes += bytes;
	pthread_mutex_unlock(&reg.lock);
}

int memcg_write_error(cgroup_id_t id)
{
	struct memcg *m;
	int err = 0;

	pthread_mutex_lock(&reg.lock);
	for (m = memcg_of(id); m && !err; m = m->parent)
		err = m->wb_err;
	pthread_mutex_unlock(&reg.lock);
	return err;
}

void memcg_uncharge_dirty(cgroup_id_t id, uint64_t nr)
{
	memcg_charge_dirty(id, -(int64_t)nr);
}

void memcg_mapping_clean(struct address_space *mapping)
{
	pthread_mutex_lock(&reg.lock);
	memcg_set_owner(mapping, CGROUP_NONE);
	pthread_mutex_unlock(&reg.lock);
}

/* --- limits -------------------------------------------------------------- */

static uint64_t resolve(const struct limit *l, uint64_t mem_limit)
{
	switch (l->kind) {
	case LIMIT_BYTES:
		return l->value;
	case LIMIT_PERCENT:
		return mem_limit / 100 * l->value +
		       mem_limit % 100 * l->value / 100;
	case LIMIT_MAX:
	default:
		return UINT64_MAX;
	}
}

static uint64_t limit_resolved(const struct memcg *m, enum memcg_limit_kind k)
{
	const struct limit *dflt = k == MEMCG_HARD ?
					   &reg.cfg.dirty_limit :
					   &reg.cfg.dirty_background_limit;

	return resolve(m->own_set[k] ? &m->own[k] : dflt, m->mem_limit_bytes);
}

/* The root's limit of kind k, capped by the cache's: a cache full of dirty
 * data would make writers wait for room inside the FUSE worker threads,
 * every cgroup's requests with them; holding replies at the root first
 * keeps that wait off the workers. */
static uint64_t root_capped(uint64_t bytes, enum memcg_limit_kind k)
{
	uint64_t cap = k == MEMCG_HARD ? reg.cfg.cache_dirty_bytes :
					 reg.cfg.cache_background_bytes;

	return bytes < cap ? bytes : cap;
}

/* The effective limit. A background threshold at or over the hard limit
 * would never start writeback before writers are held: as the kernel does,
 * it becomes half the hard limit then. */
static uint64_t limit_bytes(const struct memcg *m, enum memcg_limit_kind k)
{
	uint64_t hard = limit_resolved(m, MEMCG_HARD);
	uint64_t bg;

	if (!m->parent)
		hard = root_capped(hard, MEMCG_HARD);
	if (k == MEMCG_HARD)
		return hard;
	bg = limit_resolved(m, MEMCG_BACKGROUND);
	if (!m->parent)
		bg = root_capped(bg, MEMCG_BACKGROUND);
	return bg >= hard && hard != UINT64_MAX ? hard / 2 : bg;
}

/* Enter m into the over-background set if it is over (lock held). Returns
 * true if it just entered, so the flusher must be woken. */
static bool memcg_check_background(struct memcg *m)
{
	uint64_t dirty = m->nr_dirty * PAGE_SIZE;

	if (m->over_bg || dirty <= limit_bytes(m, MEMCG_BACKGROUND))
		return false;
	m->over_bg = true;
	list_add_tail(&m->over, &reg.over_set);
	reg.nr_over++;
	trace_event("cgroup_over_background cgroup=%s dirty=%llu", m->path,
		    (unsigned long long)dirty);
	return true;
}

int memcg_set_limit(const char *cgpath, enum memcg_limit_kind kind,
		    const struct limit *limit)
{
	cgroup_id_t id;
	struct memcg *m;
	bool kick = false;
	int ret = 0;

	if (limit && (ret = memcg_id(cgpath, &id)))
		return ret;
	pthread_mutex_lock(&reg.lock);
	m = memcg_find(cgpath);
	if (!limit && (!m || !m->own_set[kind])) {
		ret = -ENODATA;
	} else if (m) {
		m->own_set[kind] = limit != NULL;
		if (limit)
			m->own[kind] = *limit;
		/* A limit lowered under the dirty data starts writeback now. */
		kick = memcg_check_background(m);
	}
	pthread_mutex_unlock(&reg.lock);
	if (kick)
		writeback_kick();
	return ret;
}

int memcg_get_limit(const char *cgpath, enum memcg_limit_kind kind,
		    struct limit *limit)
{
	struct memcg *m;
	int ret = -ENODATA;

	pthread_mutex_lock(&reg.lock);
	m = memcg_find(cgpath);
	if (m && m->own_set[kind]) {
		*limit = m->own[kind];
		ret = 0;
	}
	pthread_mutex_unlock(&reg.lock);
	return ret;
}

/* Paths of every tracked cgroup, copied so cgroupfs is read unlocked. */
static char **memcg_paths(size_t *nr)
{
	struct memcg *m, *tmp;
	char **v;
	size_t n = 0;

	pthread_mutex_lock(&reg.lock);
	v = calloc(HASH_COUNT(reg.by_path) + 1, sizeof(*v));
	HASH_ITER(hh, reg.by_path, m, tmp) {
		if (v && (v[n] = strdup(m->path)))
			n++;
	}
	pthread_mutex_unlock(&reg.lock);
	*nr = n;
	return v;
}

/* Parents first: a parent's path is a prefix of its child's, so shorter. */
static int shorter_first(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);

	return la < lb ? -1 : la > lb;
}

/* The memory limit that binds path's parent (physical memory for "/"),
 * refreshed already: memcg_refresh_limits goes from the top down. */
static uint64_t parent_mem_limit(const char *path)
{
	struct memcg *m;
	uint64_t mem = 0;
	bool top;

	pthread_mutex_lock(&reg.lock);
	m = memcg_find(path);
	top = !m || !m->parent;
	if (!top)
		mem = m->parent->mem_limit_bytes;
	pthread_mutex_unlock(&reg.lock);
	if (top)
		cg_physical_memory(&mem);
	return mem;
}

/*
 * Read every tracked cgroup's memory limit again, from the top down, each
 * bound by its parent's: one cgroupfs read a cgroup, where reading each
 * one's ancestors again cost one a level, quadratic in the nesting depth.
 */
void memcg_refresh_limits(void)
{
	size_t nr, i;
	char **paths = memcg_paths(&nr);
	bool kick = false;

	if (paths)
		qsort(paths, nr, sizeof(*paths), shorter_first);
	for (i = 0; i < nr; i++) {
		uint64_t mem = 0;
		int ret =
			cg_memory_limit_under(reg.cfg.hier, paths[i],
					      parent_mem_limit(paths[i]), &mem);
		struct memcg *m;

		pthread_mutex_lock(&reg.lock);
		m = memcg_find(paths[i]);
		if (m && !ret)
			m->mem_limit_bytes = mem;
		/* Removed from cgroupfs, or made again since. */
		if (m && m->parent)
			m->gone = ret == -ENOENT ? m->gone + (m->gone < 2) : 0;
		if (m)
			kick |= memcg_check_background(m);
		pthread_mutex_unlock(&reg.lock);
		free(paths[i]);
	}
	free(paths);
	if (kick)
		writeback_kick();
}

/* --- throttling ---------------------------------------------------------- */

/*
 * Does the root's limit of kind k bind writer w? While several cgroups have
 * dirty data, each is bound only past its share of the root's limit, as the
 * kernel gives each wb a share of the global one: a cgroup with little
 * dirty data is not held for another's, which may be data that cannot be
 * written at all. Lock held.
 */
static bool root_binds(const struct memcg *w, const struct memcg *root,
		       enum memcg_limit_kind k)
{
	/* w's is about to have some, if it has none yet. */
	unsigned int n = reg.nr_dirtying + !w->nr_own_dirty;

	return w == root || n < 2 ||
	       w->nr_dirty * PAGE_SIZE > limit_bytes(root, k) / n;
}

void memcg_balance(cgroup_id_t id, uint64_t bytes, uint64_t ratelimit_bps,
		   struct memcg_verdict *v)
{
	struct memcg *w, *m;

	v->pause_usec = 0;
	v->over = id;
	pthread_mutex_lock(&reg.lock);
	w = memcg_of(id);
	for (m = w; m; m = m->parent) {
		uint64_t pause;

		if (!m->parent && !root_binds(w, m, MEMCG_BACKGROUND))
			break;
		pause = pacing_pause_usec(bytes, m->nr_dirty * PAGE_SIZE,
					  limit_bytes(m, MEMCG_BACKGROUND),
					  limit_bytes(m, MEMCG_HARD),
					  ratelimit_bps);
		if (pause > v->pause_usec) {
			v->pause_usec = pause;
			v->over = m->id;
		}
	}
	pthread_mutex_unlock(&reg.lock);
}

bool memcg_over_hard(cgroup_id_t id)
{
	struct memcg *w, *m;
	bool over = false;

	pthread_mutex_lock(&reg.lock);
	w = memcg_of(id);
	for (m = w; m && !over; m = m->parent)
		over = m->nr_dirty * PAGE_SIZE > limit_bytes(m, MEMCG_HARD) &&
		       (m->parent || root_binds(w, m, MEMCG_HARD));
	pthread_mutex_unlock(&reg.lock);
	return over;
}

/* Take (delta 1) or drop (-1) a reference on id's entry; the entry, or
 * NULL if it is gone. Lock held. */
static struct memcg *memcg_ref(cgroup_id_t id, int delta)
{
	struct memcg *m = memcg_of(id);

	if (m)
		m->nr_refs += (unsigned int)delta;
	return m;
}

bool memcg_tryget(cgroup_id_t id)
{
	bool found;

	pthread_mutex_lock(&reg.lock);
	found = memcg_ref(id, 1);
	pthread_mutex_unlock(&reg.lock);
	return found;
}

cgroup_id_t memcg_tryget_owner(const struct address_space *mapping)
{
	cgroup_id_t id;

	pthread_mutex_lock(&reg.lock);
	id = mapping->owner;
	if (id == CGROUP_SHARED || !memcg_ref(id, 1))
		id = CGROUP_NONE;
	pthread_mutex_unlock(&reg.lock);
	return id;
}

void memcg_put(cgroup_id_t id)
{
	pthread_mutex_lock(&reg.lock);
	memcg_ref(id, -1);
	pthread_mutex_unlock(&reg.lock);
}

void memcg_hold(cgroup_id_t id)
{
	struct memcg *m;

	pthread_mutex_lock(&reg.lock);
	for (m = memcg_ref(id, 1); m; m = m->parent)
		m->throttle_events++;
	pthread_mutex_unlock(&reg.lock);
}

void memcg_account_throttle(cgroup_id_t id, uint64_t usec)
{
	struct memcg *m;

	pthread_mutex_lock(&reg.lock);
	for (m = memcg_ref(id, -1); m; m = m->parent)
		m->throttled_usec += usec;
	pthread_mutex_unlock(&reg.lock);
}

/* --- writeback ----------------------------------------------------------- */

static size_t count_list(const struct list_head *list)
{
	const struct list_head *pos;
	size_t n = 0;

	for (pos = list->next; pos != list; pos = pos->next)
		n++;
	return n;
}

/* A mapping of list that is not in a writeback pass, moved to the list's
 * tail so the next call takes another (round-robin). Lock held. */
static struct address_space *pick_from(struct list_head *list)
{
	struct list_head *pos;

	for (pos = list->next; pos != list; pos = pos->next) {
		struct address_space *mapping =
			list_entry(pos, struct address_space, owner_list);

		/* pass_ios changes only in the flusher, our caller; dirty
		 * counts need the mapping's lock: try_pass looks at them. */
		if (mapping->pass_ios >= WB_PASS_MAX_IOS)
			continue;
		list_move_tail(pos, list);
		return mapping;
	}
	return NULL;
}

static bool in_subtree(const struct memcg *m, const struct memcg *top)
{
	for (; m; m = m->parent)
		if (m == top)
			return true;
	return false;
}

/* Has list a mapping pick_from would take? Lock held. */
static bool has_pickable(const struct list_head *list)
{
	const struct list_head *pos;

	for (pos = list->next; pos != list; pos = pos->next)
		if (list_entry(pos, struct address_space, owner_list)
			    ->pass_ios < WB_PASS_MAX_IOS)
			return true;
	return false;
}

/*
 * An inode owned by m or, failing that, by the descendant with the most
 * dirty data: the root, over the cache's limit, writes the heaviest
 * tenant's data first, as the kernel's writeback does the wb over its
 * share. Lock held.
 */
static struct address_space *pick_owned(struct memcg *m)
{
	struct address_space *mapping = pick_from(&m->inodes);
	struct memcg *d, *tmp, *best = NULL;

	if (mapping || !m->nr_children)
		return mapping;
	HASH_ITER(hh, reg.by_path, d, tmp) {
		if (d != m && (!best || d->nr_dirty > best->nr_dirty) &&
		    in_subtree(d, m) && has_pickable(&d->inodes))
			best = d;
	}
	return best ? pick_from(&best->inodes) : NULL;
}

/* Leave the set if under the background limit again. Lock held. */
static bool memcg_still_over(struct memcg *m)
{
	if (m->nr_dirty * PAGE_SIZE > limit_bytes(m, MEMCG_BACKGROUND))
		return true;
	list_del_init(&m->over);
	reg.nr_over--;
	m->over_bg = false;
	trace_event("cgroup_under_background cgroup=%s", m->path);
	return false;
}

struct address_space *memcg_next_writeback(void)
{
	struct address_space *mapping = NULL;
	size_t n;

	pthread_mutex_lock(&reg.lock);
	/* Each cgroup in the set is looked at once, in turn. */
	for (n = reg.nr_over; n && !mapping; n--) {
		struct memcg *m =
			list_first_entry(&reg.over_set, struct memcg, over);

		if (!memcg_still_over(m))
			continue;
		list_move_tail(&m->over, &reg.over_set);
		mapping = pick_owned(m);
		if (mapping) {
			trace_event("writeback_cgroup cgroup=%s mapping=%p",
				    m->path, mapping);
		} else if ((mapping = pick_from(&reg.shared))) {
			trace_event("writeback_shared_downshift cgroup=%s "
				    "mapping=%p",
				    m->path, mapping);
		}
	}
	if (mapping)
		mapping->a_ops->ihold(mapping);
	pthread_mutex_unlock(&reg.lock);
	return mapping;
}

static void collect(struct list_head *list, struct address_space **v, size_t *n)
{
	struct list_head *pos;

	for (pos = list->next; pos != list; pos = pos->next) {
		v[*n] = list_entry(pos, struct address_space, owner_list);
		v[*n]->a_ops->ihold(v[*n]);
		(*n)++;
	}
}

ssize_t memcg_mappings_of(const char *cgpath, struct address_space ***out)
{
	struct address_space **v = NULL;
	struct memcg *top, *m, *tmp;
	ssize_t ret = 0;
	size_t n = 0, cap;

	pthread_mutex_lock(&reg.lock);
	top = memcg_find(cgpath);
	if (!top) {
		ret = -ENOENT;
		goto out;
	}
	cap = count_list(&reg.shared);
	HASH_ITER(hh, reg.by_path, m, tmp)
		if (in_subtree(m, top))
			cap += count_list(&m->inodes);
	v = cap ? calloc(cap, sizeof(*v)) : NULL;
	if (cap && !v) {
		ret = -ENOMEM;
		goto out;
	}
	HASH_ITER(hh, reg.by_path, m, tmp)
		if (in_subtree(m, top))
			collect(&m->inodes, v, &n);
	collect(&reg.shared, v, &n);
	ret = (ssize_t)n;
out:
	pthread_mutex_unlock(&reg.lock);
	*out = v;
	return ret;
}

bool memcg_exists(const char *cgpath)
{
	uint64_t mem;

	return cg_memory_limit_under(reg.cfg.hier, cgpath, UINT64_MAX, &mem) !=
	       -ENOENT;
}

/* --- statistics ---------------------------------------------------------- */

int memcg_format_stat(const char *cgpath, char *buf, size_t size)
{
	struct memcg *m;
	int len = -ENODATA;

	pthread_mutex_lock(&reg.lock);
	m = memcg_find(cgpath);
	if (m)
		len = snprintf(
			buf, size,
			"dirty %llu\nwriteback %llu\ndirty_limit %llu\n"
			"dirty_background_limit %llu\nwritten %llu\n"
			"throttled_usec %llu\nthrottle_events %llu\n",
			(unsigned long long)(m->nr_dirty * PAGE_SIZE),
			(unsigned long long)(m->nr_writeback * PAGE_SIZE),
			(unsigned long long)limit_bytes(m, MEMCG_HARD),
			(unsigned long long)limit_bytes(m, MEMCG_BACKGROUND),
			(unsigned long long)m->written_bytes,
			(unsigned long long)m->throttled_usec,
			(unsigned long long)m->throttle_events);
	pthread_mutex_unlock(&reg.lock);
	return len >= 0 && (size_t)len >= size ? -ERANGE : len;
}

/* Append to buf at *len what fmt makes; false once buf is full. */
static bool append(char *buf, size_t size, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static bool append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size > *len ? size - *len : 0, fmt, ap);
	va_end(ap);
	*len += (size_t)n;
	return *len < size;
}

int memcg_format_list(char *buf, size_t size)
{
	struct memcg *m, *tmp;
	size_t len = 0;

	pthread_mutex_lock(&reg.lock);
	HASH_ITER(hh, reg.by_path, m, tmp)
		append(buf, size, &len, "%s\n", m->path);
	pthread_mutex_unlock(&reg.lock);
	return len < size ? (int)len : -ERANGE;
}

static const char *const limit_names[2] = {
	[MEMCG_HARD] = "dirty_limit",
	[MEMCG_BACKGROUND] = "dirty_background_limit",
};

int memcg_format_limits(char *buf, size_t size)
{
	struct memcg *m, *tmp;
	size_t len = 0;
	char value[32];

	pthread_mutex_lock(&reg.lock);
	HASH_ITER(hh, reg.by_path, m, tmp) {
		for (int k = MEMCG_HARD; k <= MEMCG_BACKGROUND; k++) {
			if (!m->own_set[k])
				continue;
			limit_format(&m->own[k], value, sizeof(value));
			append(buf, size, &len, "%s:%s %s\n", limit_names[k],
			       m->path, value);
		}
	}
	pthread_mutex_unlock(&reg.lock);
	return len < size ? (int)len : -ERANGE;
}

uint64_t memcg_shared_inodes(void)
{
	uint64_t n;

	pthread_mutex_lock(&reg.lock);
	n = reg.nr_shared;
	pthread_mutex_unlock(&reg.lock);
	return n;
}

/*
 * Can m go? Removed from cgroupfs, nothing charged or owned, no request
 * using it, no limit of its own (kept for when the cgroup comes back). Lock
 * held.
 * Removed means found gone by two refreshes in a row, not one: an id handed
 * out without a reference just before the first (memcg_id, an owner read
 * without the lock) must not name a freed entry, or a new cgroup that
 * reuses the id.
 */
static bool memcg_reapable(const struct memcg *m)
{
	return m->gone >= 2 && !m->nr_dirty && !m->nr_writeback &&
	       list_empty(&m->inodes) && !m->nr_refs && !m->nr_children &&
	       !m->own_set[MEMCG_HARD] && !m->own_set[MEMCG_BACKGROUND];
}

void memcg_reap(void)
{
	struct memcg *m, *tmp;

	pthread_mutex_lock(&reg.lock);
	HASH_ITER(hh, reg.by_path, m, tmp) {
		if (!memcg_reapable(m))
			continue;
		if (m->over_bg) {
			list_del_init(&m->over);
			reg.nr_over--;
		}
		m->parent->nr_children--;
		reg.by_id[m->id] = NULL;
		HASH_DEL(reg.by_path, m);
		trace_event("cgroup_freed cgroup=%s", m->path);
		free(m->path);
		free(m);
	}
	pthread_mutex_unlock(&reg.lock);
}
