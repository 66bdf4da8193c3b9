/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Objects handed to the kernel and back: an inode's address is its nodeid,
 * a struct dfs_file's is fi->fh. A request naming one may be served by any
 * worker thread, ordered after the reply that handed it out only through
 * the kernel, where ThreadSanitizer cannot see. These annotations tell it
 * (release when the pointer goes out in a reply, acquire when it comes back
 * in a request); in other builds they are nothing.
 */
#ifndef DIRTYFS_HANDOFF_H
#define DIRTYFS_HANDOFF_H

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define handoff_out(p) __tsan_release((void *)(p))
#define handoff_in(p) __tsan_acquire((void *)(p))
#else
#define handoff_out(p) ((void)(p))
#define handoff_in(p) ((void)(p))
#endif

#endif
