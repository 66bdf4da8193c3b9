// SPDX-License-Identifier: GPL-2.0
/*
 * Description: what the flusher's choice of the next inode costs as cgroups
 * and dirty inodes grow (issue 5, workload 9). Links the daemon's own
 * cgroup/memcg.c: CGROUPS cgroups, each with a background limit of one page
 * and INODES dirty inodes spread over them (two dirty pages each), all over
 * their limits; then times CALLS calls of memcg_next_writeback(), the
 * function the flusher calls for every inode it writes for a cgroup.
 *
 *   pick CGROUPS INODES CALLS
 *
 * Standard output: one line, cgroups=N inodes=N ns_per_pick=X. Exit
 * status: 0, or 1 if the registry refused a cgroup or a pick came back
 * empty.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../cgroup/memcg.h"

/* The flusher is woken by the real daemon; here nobody waits. */
void writeback_kick(void)
{
}

static void nop(struct address_space *mapping)
{
	(void)mapping;
}

static const struct address_space_operations ops = { .ihold = nop,
						     .iput = nop };

/* As cache/page.c's, which this program does not link. */
uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* nc cgroups over a one-page background limit; their ids into ids. */
static int make_cgroups(long nc, cgroup_id_t *ids)
{
	const struct limit page = { .kind = LIMIT_BYTES, .value = PAGE_SIZE };
	const struct limit max = { .kind = LIMIT_MAX };
	char path[64];

	for (long i = 0; i < nc; i++) {
		snprintf(path, sizeof(path), "/pick/c%ld", i);
		if (memcg_set_limit(path, MEMCG_HARD, &max) ||
		    memcg_set_limit(path, MEMCG_BACKGROUND, &page) ||
		    memcg_id(path, &ids[i]))
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct memcg_config cfg = {
		.hier = CG_MEMORY_V1,
		.dirty_limit = { .kind = LIMIT_MAX },
		.dirty_background_limit = { .kind = LIMIT_MAX },
		.cache_dirty_bytes = UINT64_MAX,
		.cache_background_bytes = UINT64_MAX,
	};
	long nc, ni, calls;
	struct address_space *maps;
	struct page *pages;
	cgroup_id_t *ids;
	uint64_t t0, t1;

	if (argc != 4) {
		fprintf(stderr, "usage: pick CGROUPS INODES CALLS\n");
		return 2;
	}
	nc = atol(argv[1]);
	ni = atol(argv[2]);
	calls = atol(argv[3]);
	maps = calloc((size_t)ni, sizeof(*maps));
	pages = calloc((size_t)ni, sizeof(*pages));
	ids = calloc((size_t)nc, sizeof(*ids));
	if (nc < 1 || ni < nc || calls < 1 || !maps || !pages || !ids ||
	    memcg_init(&cfg) || make_cgroups(nc, ids))
		return 1;
	for (long i = 0; i < ni; i++) {
		cgroup_id_t id = ids[i % nc];
		struct memcg_verdict v;

		maps[i].a_ops = &ops;
		maps[i].owner = CGROUP_NONE;
		INIT_LIST_HEAD(&maps[i].owner_list);
		pages[i].mapping = &maps[i];
		memcg_dirty_page(&pages[i], id, false);
		memcg_charge_dirty(id, 2); /* over a one-page limit */
		/* Enters the cgroup into the over-background set. */
		memcg_balance(id, 0, 1 << 20, &v);
	}
	t0 = now_ns();
	for (long i = 0; i < calls; i++)
		if (!memcg_next_writeback())
			return 1;
	t1 = now_ns();
	printf("cgroups=%ld inodes=%ld ns_per_pick=%.1f\n", nc, ni,
	       (double)(t1 - t0) / (double)calls);
	return 0;
}
