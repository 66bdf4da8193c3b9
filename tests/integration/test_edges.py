"""Inputs at the edges: names at NAME_MAX, paths near PATH_MAX, writes near
BACKING's largest file size, and a 1 TiB sparse file with a few dirty
pages."""
import errno
import os

from helpers import data, expect_errno, read_file

NAME_MAX = 255
PATH_MAX = 4096
TiB = 1 << 40
PAGE = 4096


def test_name_at_name_max_works_and_one_more_is_refused(mnt):
    name = "n" * NAME_MAX
    path = mnt.path(name)
    with open(path, "wb") as f:
        f.write(b"edge")
    assert os.listdir(mnt.mnt) == [name]
    assert read_file(path) == b"edge"
    expect_errno(errno.ENAMETOOLONG, os.open, mnt.path(name + "n"),
                 os.O_CREAT | os.O_WRONLY, 0o644)
    os.rename(path, mnt.path("short"))
    os.rename(mnt.path("short"), path)
    os.unlink(path)
    mnt.unmount()
    assert os.listdir(mnt.backing) == []


def test_path_near_path_max_resolves(mnt):
    """Directories nested until the path through the mount is just under
    PATH_MAX: every level is one lookup under its parent's descriptor, so
    the daemon's own paths never grow with the depth."""
    component = "d" * 200
    path = mnt.mnt
    while len(path) + len(component) + 1 + len("/file") < PATH_MAX - 1:
        path = os.path.join(path, component)
        os.mkdir(path)
    leaf = os.path.join(path, "file")
    with open(leaf, "wb") as f:
        f.write(b"deep")
    assert len(leaf) < PATH_MAX and len(leaf) > PATH_MAX - 300
    assert read_file(leaf) == b"deep"
    expect_errno(errno.ENAMETOOLONG, os.stat,
                 os.path.join(path, component, component, "file"))


def max_file_size(directory):
    """The largest size a file in directory can be truncated to."""
    lo, hi = 0, (1 << 63) - 1
    fd = os.open(directory, os.O_TMPFILE | os.O_RDWR, 0o600)
    try:
        while lo < hi:
            mid = lo + (hi - lo + 1) // 2
            try:
                os.ftruncate(fd, mid)
                lo = mid
            except OSError:
                hi = mid - 1
    finally:
        os.close(fd)
    return lo


def test_write_beyond_backing_max_file_size_is_refused(dirtyfs):
    """At the largest file BACKING can hold (16 TiB - 4 KiB on ext4 with
    4 KiB blocks), writes behave as BACKING's own: short up to it, EFBIG at
    it, never accepted beyond it to fail at writeback."""
    m = dirtyfs(["dirty_expire=3600"])
    limit = max_file_size(m.backing)
    fd = os.open(m.path("f"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        expect_errno(errno.EFBIG, os.pwrite, fd, b"x", limit)
        assert os.pwrite(fd, b"xy", limit - 1) == 1
        os.fsync(fd)
        assert os.fstat(fd).st_size == limit
        os.ftruncate(fd, 0)
    finally:
        os.close(fd)


def test_sparse_terabyte_file_with_a_few_dirty_pages(dirtyfs):
    m = dirtyfs(["dirty_expire=3600"])
    offsets = [0, 7 * PAGE, TiB // 2 + 123, TiB - PAGE]
    fd = os.open(m.path("big"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        for i, off in enumerate(offsets):
            os.pwrite(fd, data(i, PAGE), off)
        st = os.fstat(fd)
        assert st.st_size == TiB
        assert st.st_blocks * 512 < 64 * PAGE
        assert os.lseek(fd, PAGE, os.SEEK_DATA) == 7 * PAGE
        assert os.lseek(fd, 8 * PAGE, os.SEEK_DATA) == (TiB // 2 + 123) // \
            PAGE * PAGE
        assert os.lseek(fd, 8 * PAGE, os.SEEK_HOLE) == 8 * PAGE
        for i, off in enumerate(offsets):
            assert os.pread(fd, PAGE, off) == data(i, PAGE)
        assert os.pread(fd, PAGE, TiB // 4) == bytes(PAGE)
    finally:
        os.close(fd)
    m.unmount()
    with open(m.backing_path("big"), "rb") as f:
        assert os.fstat(f.fileno()).st_size == TiB
        for i, off in enumerate(offsets):
            f.seek(off)
            assert f.read(PAGE) == data(i, PAGE)
