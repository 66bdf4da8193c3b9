/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cgroup/throttle.c: balance_dirty_pages for FUSE writes, by held replies.
 *
 * Two kinds of held write, as balance_dirty_pages has two outcomes:
 *
 * - A write that arrives while its cgroup or an ancestor is over its hard
 *   limit is held before it enters the cache: its data is copied aside and
 *   put in the cache once every one of them is under again, one such write
 *   at a time, oldest first, each going in only if the last left room, so
 *   held writers go back as writeback makes room rather than all at once.
 *   A signal to the writer answers it EINTR, and that is true: nothing was
 *   written.
 * - A write that is in the cache gets its reply delayed by the pause of the
 *   pacing law (pacing.c) when dirty data is between the background and the
 *   hard limit, or held until under when it crossed the hard limit. A signal
 *   ends that pause early with the byte count: the data was written, as the
 *   kernel's killable pause in balance_dirty_pages does.
 *
 * Either way the reply is parked on a list and answered by the throttle
 * thread (a write held before the cache by its committer thread, which puts
 * it in), so a FUSE worker never sleeps for a cgroup: however many writers
 * of one cgroup are held, the worker threads serve everyone else at once.
 * So peak dirty stays within the limit plus one request per writer.
 *
 * Locking: the throttle lock guards the held list and the committer's
 * hand-over; order: throttle lock -> memcg_lock. libfuse's interrupt
 * callback takes only the throttle lock.
 */
#ifndef DIRTYFS_THROTTLE_H
#define DIRTYFS_THROTTLE_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cgroup.h"

/* A write held before the cache: the caller's part, handed over. */
struct throttle_write {
	fuse_req_t req;
	cgroup_id_t id;
	/* Put the data in the cache: bytes written or -errno. Called by the
	 * throttle's committer thread once id is under its hard limits; may
	 * wait for room in the cache. */
	ssize_t (*commit)(struct throttle_write *w);
	/* Free the caller's part; called once, after the reply. */
	void (*release)(struct throttle_write *w);
};

int throttle_start(void);
/* Stop the thread and answer every write still held: one held before the
 * cache gets EINTR (writeback may be past its last pass), one in the cache
 * its byte count. Before writeback stops. */
void throttle_stop(void);
/*
 * Answer the write req that put bytes of cgroup id in the cache: now, after
 * a pause, or once under the hard limit. Replies exactly once. Any thread.
 */
void balance_dirty_pages(fuse_req_t req, cgroup_id_t id, size_t bytes);
/* True if a write of id must be held before it enters the cache. */
bool throttle_must_hold(cgroup_id_t id);
/* Hold w until its cgroups are under their hard limits, then commit and
 * answer it (or answer EINTR if interrupted first). Any thread. */
void throttle_hold_write(struct throttle_write *w);
/* Dirty data went down or a limit went up: look at the held writes again. */
void throttle_kick(void);

#endif
