"""Races between the kernel forgetting inodes and the page cache.

The kernel forgets an inode that is not unlinked only when it reclaims it,
so these tests drop the machine's dentry and inode caches
(/proc/sys/vm/drop_caches = 2) many times a second for a few seconds, as
root. Other filesystems, and other tests running meanwhile, lose their
cached dentries and inodes and look them up again: slower, never wrong.
Page cache contents (drop_caches = 1) are left alone.
"""
import os
import threading
import time

from conftest import require
from helpers import MiB, parse_stats

SECONDS = 5
CACHE_SIZE = 4 * MiB  # the minimum: eviction runs all the time
FILE_SIZE = MiB  # 256 pages a file for eviction to take
FILES_PER_WRITER = 8
WRITERS = 3
DROP_INTERVAL_S = 0.02
CLEAN_TIMEOUT_S = 30
JOIN_TIMEOUT_S = 60


def _drop_dentries_and_inodes():
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("2")


def _stats(m):
    return parse_stats(os.getxattr(m.mnt, "trusted.dirtyfs.stat"))


def test_forget_while_eviction_takes_the_pages(dirtyfs):
    """Inodes forgotten while their clean pages are on the LRU and writers
    evict pages to make room: freeing an inode drops its pages while
    eviction may be taking the same pages. They must take turns under the
    mapping's lock; else a page is freed twice and the pool is corrupt (the
    daemon crashes, hangs, or ASan reports it). At the end, with every file
    unlinked, the cache must hold nothing."""
    require(os.geteuid() == 0, "drop_caches needs root")
    m = dirtyfs(["cache_size=%d" % CACHE_SIZE])
    stop = threading.Event()
    errors = []

    def churn(writer):
        # Written, synced (clean, on the LRU) and closed: forgettable.
        buf = b"%d" % writer * FILE_SIZE
        i = 0
        try:
            while not stop.is_set():
                path = m.path("c%d-%d" % (writer, i % FILES_PER_WRITER))
                fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
                try:
                    os.pwrite(fd, buf, 0)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                i += 1
        except OSError as e:
            errors.append(e)

    def pressure():
        # 1 MiB writes over 64 MiB: every reservation has to evict.
        buf = b"p" * MiB
        off = 0
        try:
            fd = os.open(m.path("big"), os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                while not stop.is_set():
                    os.pwrite(fd, buf, off)
                    os.fsync(fd)
                    off = (off + MiB) % (64 * MiB)
            finally:
                os.close(fd)
        except OSError as e:
            errors.append(e)

    def forget():
        while not stop.wait(DROP_INTERVAL_S):
            _drop_dentries_and_inodes()

    threads = [threading.Thread(target=churn, args=(w,))
               for w in range(WRITERS)]
    threads += [threading.Thread(target=pressure),
                threading.Thread(target=forget)]
    for t in threads:
        t.daemon = True  # one stuck in a hung mount must not hang pytest
        t.start()
    try:
        stop.wait(SECONDS)
    finally:
        stop.set()
        deadline = time.monotonic() + JOIN_TIMEOUT_S
        for t in threads:
            t.join(max(0, deadline - time.monotonic()))
    assert m.proc.poll() is None, "dirtyfs died:\n" + m.log_text()
    assert not any(t.is_alive() for t in threads), "I/O hung"
    assert not errors, errors

    for name in os.listdir(m.mnt):
        os.unlink(m.path(name))
    _drop_dentries_and_inodes()
    # Unlinked inodes are forgotten, and their pages freed, asynchronously.
    deadline = time.monotonic() + CLEAN_TIMEOUT_S
    while _stats(m)["cache_bytes"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _stats(m)["cache_bytes"] == 0, _stats(m)
