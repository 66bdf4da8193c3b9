// SPDX-License-Identifier: GPL-2.0
/*
 * The bytes between /dev/fuse and libfuse: read and writev of the session,
 * as libfuse's custom I/O, for what libfuse 3.14 cannot say.
 *
 * FUSE_HANDLE_KILLPRIV_V2. Without it the kernel asks for the
 * security.capability xattr before every write (a GETXATTR round trip, two
 * thirds of a 4 KiB write's latency here: p50 31 us -> 9 us). With it the
 * kernel marks the superblock SB_NOSEC, asks once per inode, and leaves
 * clearing setuid and setgid to the filesystem: it flags the write,
 * truncate or O_TRUNC open of a caller without CAP_FSETID, and any chown,
 * and the handler clears the bits (attr_kill_suidgid). libfuse 3.14 neither
 * offers the flag in INIT nor passes those request flags on, so the INIT
 * reply gets the flag here, and the flag of the request being served is
 * kept for its handler.
 *
 * FUSE_SETXATTR_EXT, for the same reason: an owner outside a setgid
 * file's group who sets its access ACL loses the setgid bit (the kernel's
 * posix_acl_update_mode; CVE-2016-7097). With POSIX ACLs handled by the
 * filesystem (FUSE_CAP_POSIX_ACL) the kernel leaves that to the daemon and
 * says so in the extended SETXATTR request (FUSE_SETXATTR_ACL_KILL_SGID),
 * which the daemon, setting the ACL in BACKING as root, must honour. libfuse
 * 3.14 parses the short request only: the flag is kept here and the request
 * handed on in the short form; a request begun before INIT's reply (a
 * trusted.* name right after mount(2), which checks no permission first)
 * comes short after it, so each is told by its shape (setxattr_in.h).
 *
 * max_write: libfuse sizes its request buffers by the max_write of its INIT
 * reply, and the kernel fails (E2BIG) any request that does not fit the
 * buffer: with max_write=4K, every setxattr of a value over about 4 KiB.
 * So libfuse answers with the largest, DFS_MAX_WRITE, and keeps buffers of
 * that size; the reply is given the option's max_write here, and the
 * max_pages libfuse would have derived from it.
 *
 * A worker thread reads a request and serves it before it reads the next:
 * the flag lives in the thread.
 */
#include <errno.h>
#include <linux/fuse.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fusefs.h"
#include "setxattr_in.h"

/* The INIT request's unique while its reply is due, else 0. The kernel
 * sends INIT first and alone; atomics, as other workers' replies come after
 * it only through the kernel. */
static uint64_t init_unique;
#define INIT_WANTED (FUSE_HANDLE_KILLPRIV_V2 | FUSE_SETXATTR_EXT)
/* The flags of INIT_WANTED that the kernel offers. */
static uint32_t init_offered;
/* The max_write the INIT reply gives the kernel; 0 leaves libfuse's. */
static uint32_t init_max_write;

static __thread bool request_kills_suidgid;

/* Whether the 32-bit field at offset of a request body in[0..len) has flag
 * set; false for a body shorter than min_len. */
static bool flag_at(const char *in, size_t len, size_t min_len, size_t offset,
		    uint32_t flag)
{
	uint32_t field;

	if (len < min_len)
		return false;
	memcpy(&field, in + offset, sizeof(field));
	return field & flag;
}

/* Whether the request just read, of opcode op with body in[0..len), asks to
 * clear setuid and setgid (SETXATTR's flag is read by transport_read). */
static bool kills_suidgid(uint32_t op, const char *in, size_t len)
{
	switch (op) {
	case FUSE_WRITE:
		return flag_at(in, len, sizeof(struct fuse_write_in),
			       offsetof(struct fuse_write_in, write_flags),
			       FUSE_WRITE_KILL_SUIDGID);
	case FUSE_SETATTR:
		return flag_at(in, len, sizeof(struct fuse_setattr_in),
			       offsetof(struct fuse_setattr_in, valid),
			       FATTR_KILL_SUIDGID);
	case FUSE_OPEN:
		return flag_at(in, len, sizeof(struct fuse_open_in),
			       offsetof(struct fuse_open_in, open_flags),
			       FUSE_OPEN_KILL_SUIDGID);
	case FUSE_CREATE:
		return flag_at(in, len, sizeof(struct fuse_create_in),
			       offsetof(struct fuse_create_in, open_flags),
			       FUSE_OPEN_KILL_SUIDGID);
	default:
		return false;
	}
}

/* INIT's body may be the short one of older kernels: flags is what counts. */
static void note_init(const struct fuse_in_header *h, const char *in,
		      size_t len)
{
	size_t flags = offsetof(struct fuse_init_in, flags);
	uint32_t offered;

	if (len < flags + sizeof(uint32_t))
		return;
	memcpy(&offered, in + flags, sizeof(offered));
	__atomic_store_n(&init_offered, offered & INIT_WANTED,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&init_unique, h->unique, __ATOMIC_RELEASE);
}

static ssize_t transport_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n = read(fd, buf, len);
	struct fuse_in_header h;
	const char *body = (const char *)buf + sizeof(h);
	size_t body_len;

	(void)userdata;
	request_kills_suidgid = false;
	if (n < (ssize_t)sizeof(h))
		return n;
	memcpy(&h, buf, sizeof(h));
	body_len = (size_t)n - sizeof(h);
	if (h.opcode == FUSE_INIT) {
		note_init(&h, body, body_len);
	} else if (h.opcode == FUSE_SETXATTR &&
		   setxattr_in_is_ext(body, body_len)) {
		request_kills_suidgid = setxattr_in_kills_sgid(body, body_len);
		n = setxattr_in_shorten(buf, n);
	} else {
		request_kills_suidgid = kills_suidgid(h.opcode, body, body_len);
	}
	return n;
}

/* The INIT reply's body out, len bytes, whose flags are flags: the option's
 * max_write, and pages of a request to match, as libfuse sets them from the
 * max_write it is given (reads are sized by max_pages). Only ever lowered. */
static void patch_max_write(char *out, size_t len, uint32_t flags)
{
	const size_t mw = offsetof(struct fuse_init_out, max_write),
		     mp = offsetof(struct fuse_init_out, max_pages);
	uint32_t max_write;
	uint16_t pages, want;

	memcpy(&max_write, out + mw, sizeof(max_write));
	if (!init_max_write || init_max_write >= max_write)
		return;
	memcpy(out + mw, &init_max_write, sizeof(init_max_write));
	if (!(flags & FUSE_MAX_PAGES) || len < mp + sizeof(pages))
		return;
	memcpy(&pages, out + mp, sizeof(pages));
	want = (uint16_t)((init_max_write - 1) / PAGE_SIZE + 1);
	if (want < pages)
		memcpy(out + mp, &want, sizeof(want));
}

/* The INIT reply: the header, then struct fuse_init_out in one piece. */
static void patch_init_reply(struct iovec *iov, int count)
{
	size_t at = offsetof(struct fuse_init_out, flags);
	size_t end =
		offsetof(struct fuse_init_out, max_write) + sizeof(uint32_t);
	struct fuse_out_header h;
	uint32_t flags;

	if (count < 2 || iov[0].iov_len < sizeof(h) || iov[1].iov_len < end)
		return;
	memcpy(&h, iov[0].iov_base, sizeof(h));
	if (h.unique != __atomic_load_n(&init_unique, __ATOMIC_ACQUIRE) ||
	    h.error)
		return;
	__atomic_store_n(&init_unique, 0, __ATOMIC_RELAXED);
	memcpy(&flags, (char *)iov[1].iov_base + at, sizeof(flags));
	flags |= __atomic_load_n(&init_offered, __ATOMIC_RELAXED);
	memcpy((char *)iov[1].iov_base + at, &flags, sizeof(flags));
	patch_max_write(iov[1].iov_base, iov[1].iov_len, flags);
}

static ssize_t transport_writev(int fd, struct iovec *iov, int count,
				void *userdata)
{
	(void)userdata;
	if (__atomic_load_n(&init_unique, __ATOMIC_ACQUIRE))
		patch_init_reply(iov, count);
	return writev(fd, iov, count);
}

int transport_attach(struct fuse_session *se)
{
	static const struct fuse_custom_io io = {
		.read = transport_read,
		.writev = transport_writev,
	};

	return fuse_session_custom_io(se, &io, fuse_session_fd(se)) ? -EIO : 0;
}

void transport_set_max_write(uint32_t bytes)
{
	init_max_write = bytes;
}

bool transport_kills_suidgid(void)
{
	return request_kills_suidgid;
}
