"""BACKING changed behind the daemon's back: a clear error or BACKING's new
state, never a crash; the daemon keeps serving and exits 0."""
import errno
import os
import shutil
import time

from helpers import MiB, data, read_file

# The kernel caches names and attributes for 1 s (DFS_TIMEOUT_S).
ENTRY_TIMEOUT_S = 1.2


def test_file_removed_from_backing_while_open_with_dirty_data(dirtyfs):
    m = dirtyfs(["dirty_expire=3600"])
    fd = os.open(m.path("f"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, data(1, MiB))
        os.unlink(m.backing_path("f"))
        # The open file is the (now nameless) backing file: it still works.
        os.pwrite(fd, b"more", MiB)
        os.fsync(fd)
        assert os.pread(fd, 4, MiB) == b"more"
    finally:
        os.close(fd)
    time.sleep(ENTRY_TIMEOUT_S)
    assert not os.path.exists(m.path("f"))
    assert os.listdir(m.mnt) == []
    with open(m.path("g"), "wb") as f:
        f.write(b"still serving")
    assert read_file(m.path("g")) == b"still serving"


def test_directory_removed_from_backing_gives_enoent(dirtyfs):
    m = dirtyfs()
    os.makedirs(m.path("d", "e"))
    with open(m.path("d", "e", "f"), "wb") as f:
        f.write(b"x")
    shutil.rmtree(m.backing_path("d"))
    time.sleep(ENTRY_TIMEOUT_S)
    for call in (lambda: os.listdir(m.path("d", "e")),
                 lambda: open(m.path("d", "e", "new"), "wb"),
                 lambda: os.stat(m.path("d", "e", "f"))):
        try:
            call()
        except OSError as e:
            assert e.errno == errno.ENOENT, e
        else:
            raise AssertionError("a removed directory is still there")
    assert os.listdir(m.mnt) == []


def test_file_truncated_in_backing_reads_what_backing_has(dirtyfs):
    """Uncached data comes from BACKING, so a truncation there shows as
    zeros or the end of the file, not as an error or a crash."""
    m = dirtyfs()
    with open(m.path("f"), "wb") as f:
        f.write(data(2, 4 * MiB))
    m.unmount()
    m2 = dirtyfs(backing=m.backing)
    fd = os.open(m2.path("f"), os.O_RDONLY)
    try:
        os.truncate(m2.backing_path("f"), MiB)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        head = os.pread(fd, MiB, 0)
        assert head == data(2, 4 * MiB)[:MiB]
        tail = os.pread(fd, MiB, 2 * MiB)
        assert tail in (b"", bytes(len(tail)))
    finally:
        os.close(fd)
