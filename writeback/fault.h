/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fault injection into writeback, compiled only into test builds
 * (-DDIRTYFS_FAULT_INJECTION, the sanitised daemon of make test).
 *
 * The root's xattr trusted.dirtyfs.fault (test builds only; elsewhere a
 * reserved name) takes "ERRNO COUNT": the next COUNT writes to BACKING
 * (-1: all until cleared) complete with that error instead of their result.
 * ERRNO is EIO, ENOSPC, EDQUOT, or "short" for a write that stores only
 * half its bytes; "off" clears it. The flusher applies it at completion,
 * so everything after (retries, errseq, held writers) runs as for a real
 * failure. "hold" (no COUNT) keeps writes in flight: the flusher waits in
 * the first completion until the fault is set again, and then applies the
 * new setting to it, so a test can act on pages under writeback. The test
 * must set the fault again before unmounting, or the unmount never ends;
 * and must not start the held writes with trusted.dirtyfs.sync, whose
 * setxattr holds the root's inode lock, which setting the fault needs.
 */
#ifndef DIRTYFS_FAULT_H
#define DIRTYFS_FAULT_H

#include <stddef.h>
#include <stdint.h>

#ifdef DIRTYFS_FAULT_INJECTION
/* Set from the xattr value. 0 or -EINVAL. Any thread. */
int wb_fault_set(const char *value, size_t size);
/* The result a write of bytes that returned res is to report. Waits while
 * the fault is "hold": call with no lock held. */
int wb_fault_apply(int res, uint64_t bytes);
#else
static inline int wb_fault_apply(int res, uint64_t bytes)
{
	(void)bytes;
	return res;
}
#endif

#endif
