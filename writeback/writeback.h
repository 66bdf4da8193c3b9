/* SPDX-License-Identifier: GPL-2.0 */
/*
 * writeback/: the flusher, which stores dirty pages in BACKING.
 *
 * One thread owns an io_uring and is the only submitter of writeback I/O.
 * Other threads talk to it through the functions below; they never touch the
 * ring. See flusher.c for the design (triggers, ordering, completion).
 */
#ifndef DIRTYFS_WRITEBACK_H
#define DIRTYFS_WRITEBACK_H

#include <stdbool.h>
#include <stdint.h>

#include "../cache/cache.h"

/* Writes in flight for one mapping at most: 16 MiB. */
#define WB_PASS_MAX_IOS 16U

struct writeback_config {
	uint64_t dirty_expire_ns; /* write data older than this (0: never) */
	uint64_t interval_ns; /* how often to look for expired data */
	uint64_t bw_bytes_per_s; /* cap on writeback rate; 0: unlimited */
};

/*
 * THE DESCRIPTOR RESERVE
 * Every inode the kernel has looked up holds a descriptor (and keeps it as
 * long as the kernel's dentry cache keeps the name), while writeback opens
 * a closed dirty file's data descriptors for each pass: lookups must not
 * take them all, or sync and writeback of data already accepted would fail
 * for want of one. The kernel gives the lowest free number, so the last
 * descriptors below the limit on open files (an eighth of it, at most 128)
 * are kept for writeback by their numbers: a descriptor that a lookup, a
 * create or an open would keep for the kernel (an inode's O_PATH one, an
 * open file's data ones, an open directory's) and that got a reserved
 * number is closed at once, and the call fails with EMFILE. Descriptors
 * used for the length of one call may take reserved numbers for that long:
 * writeback waits for descriptors while its own writes are in flight
 * (pass.c).
 */
/* Size the reserve from the limit on open files (RLIMIT_NOFILE), before
 * any other thread runs. Returns how many descriptors it keeps. */
unsigned int writeback_reserve_fds(void);
/* How many descriptors it keeps. */
unsigned int writeback_reserve_size(void);
/* Whether descriptor fd lies in the reserve. */
bool writeback_fd_reserved(int fd);

/* Start the flusher thread. 0 or -errno. */
int writeback_start(const struct writeback_config *cfg);
/* Write back everything, wait for it, stop the thread. Returns 0 or the
 * first writeback error (positive errno is negated). */
int writeback_stop(void);

/*
 * THE DIRTY LIST'S REFERENCE
 * Invariants, whenever mapping->lock is free:
 * - a mapping with dirty or writeback pages is on the dirty list
 *   (on_wb_list), and so is every mapping a cgroup owns or a sync round
 *   waits for: the flusher never meets one that is not listed;
 * - the dirty list holds exactly one inode reference while on_wb_list.
 * So a writer takes the reference (a_ops->ihold, which cannot be called
 * under mapping->lock) before it dirties a page of an unlisted mapping, and
 * dirties the pages and lists the mapping in one hold of mapping->lock; and
 * the reference is dropped by the one who takes the mapping off the list,
 * the flusher, once the mapping is clean.
 */

/*
 * Put a mapping just dirtied on the flusher's dirty list, if it is not there
 * yet, in the same hold of mapping->lock that dirtied it. Returns true if it
 * was added: the list then owns the inode reference the caller took before
 * taking the lock.
 */
bool writeback_mark_inode_dirty(struct address_space *mapping);

/*
 * A mapping lost its dirty pages without writeback (truncate, punch, or
 * discard; its lock held): have the flusher take it off its lists and drop
 * their inode reference, which would otherwise stay until unmount.
 */
void writeback_inode_cleaned(struct address_space *mapping);

/* Wake the flusher: background threshold crossed or cache pressure. */
void writeback_kick(void);

/*
 * Write back every page of mapping that is dirty now and wait for it (no
 * mapping lock held; sleeps). Returns 0 or -errno of a failed write. It does
 * not report errors seen before the call: callers check err_seq themselves.
 */
int writeback_sync_inode(struct address_space *mapping);
/* Write back all dirty data of the filesystem and wait. 0 or -errno. */
int writeback_sync_all(void);
/* Sync the nr mappings of v (malloc'd, each with an inode reference held;
 * both are given up) in parallel and wait. 0 or the first -errno. */
int writeback_sync_mappings(struct address_space **v, size_t nr);

#endif
