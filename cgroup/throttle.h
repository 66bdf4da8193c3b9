/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cgroup/throttle.c: balance_dirty_pages for FUSE writes, by held replies.
 *
 * A write is in the cache before it is throttled; what is throttled is its
 * reply, which the writer waits for. A held reply is parked on a list and
 * answered later by the throttle thread, so a FUSE worker never sleeps for a
 * cgroup: however many writers of one cgroup are held, the worker threads
 * serve everyone else at once.
 *
 * Between the background and the hard limit a reply is delayed by the pause
 * of the pacing law (pacing.c); at or over the hard limit of the writer's
 * cgroup or any ancestor it is held until all of them are under. A held
 * writer that gets a signal is answered EINTR (its data stays in the cache
 * and will be written).
 *
 * Locking: the throttle lock guards the held list; order: throttle lock ->
 * memcg_lock. libfuse's interrupt callback takes only the throttle lock.
 */
#ifndef DIRTYFS_THROTTLE_H
#define DIRTYFS_THROTTLE_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <stddef.h>

#include "cgroup.h"

int throttle_start(void);
/* Stop the thread and answer every write still held. */
void throttle_stop(void);
/*
 * Answer the write req that put bytes of cgroup id in the cache: now, after
 * a pause, or once under the hard limit. Replies exactly once. Any thread.
 */
void balance_dirty_pages(fuse_req_t req, cgroup_id_t id, size_t bytes);
/* Dirty data went down or a limit went up: look at the held writes again. */
void throttle_kick(void);

#endif
