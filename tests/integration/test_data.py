"""File data through dirtyfs's page cache: what a reader sees at once, and
what BACKING holds once the data is written back."""
import errno
import mmap
import os
import threading
import time

import pytest

from helpers import (FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, MiB, data,
                     expect_errno, fallocate, pread_all, pwrite_all,
                     read_file, run_in_child, write_file)

# Data stays dirty in the cache until the test forces it out.
HOLD = ["cache_size=64M", "dirty_expire=3600"]


@pytest.fixture
def held(dirtyfs):
    return dirtyfs(HOLD)


def test_write_read_back(held):
    content = data(10, 5 * MiB + 333)
    write_file(held.path("f"), content)
    assert read_file(held.path("f")) == content
    held.unmount()
    assert read_file(held.backing_path("f")) == content


def test_overwrite_in_the_middle(held):
    content = bytearray(data(11, 3 * MiB))
    write_file(held.path("f"), content)
    fd = os.open(held.path("f"), os.O_WRONLY)
    try:
        for off in (0, 4095, 4096 * 7 + 100, MiB - 1, 3 * MiB - 10):
            patch = data(off, 5000)[: 3 * MiB - off]
            pwrite_all(fd, patch, off)
            content[off:off + len(patch)] = patch
    finally:
        os.close(fd)
    assert read_file(held.path("f")) == content
    held.unmount()
    assert read_file(held.backing_path("f")) == content


def test_read_your_writes_across_two_fds(held):
    wfd = os.open(held.path("f"), os.O_CREAT | os.O_RDWR, 0o644)
    rfd = os.open(held.path("f"), os.O_RDONLY)
    try:
        for i in range(8):
            chunk = data(i, 100_000)
            pwrite_all(wfd, chunk, i * 70_000)
            assert pread_all(rfd, len(chunk), i * 70_000) == chunk
    finally:
        os.close(wfd)
        os.close(rfd)


def test_read_your_writes_across_two_processes(held):
    content = data(12, 2 * MiB)

    def writer():
        write_file(held.path("f"), content)

    def reader():
        if read_file(held.path("f")) != content:
            raise OSError(errno.EIO, "reader saw other data")

    assert run_in_child(writer) == 0
    assert run_in_child(reader) == 0


def test_o_append_writes_at_the_end(held):
    write_file(held.path("f"), b"start:")
    a = os.open(held.path("f"), os.O_WRONLY | os.O_APPEND)
    b = os.open(held.path("f"), os.O_WRONLY | os.O_APPEND)
    try:
        for i in range(50):
            os.write(a if i % 2 else b, b"%03d," % i)
    finally:
        os.close(a)
        os.close(b)
    want = b"start:" + b"".join(b"%03d," % i for i in range(50))
    assert read_file(held.path("f")) == want
    held.unmount()
    assert read_file(held.backing_path("f")) == want


def test_sparse_file_hole_reads_zeros(held):
    off = 10 * MiB
    fd = os.open(held.path("f"), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        pwrite_all(fd, b"tail", off)
        assert os.fstat(fd).st_size == off + 4
        assert pread_all(fd, 8192, 0) == bytes(8192)
        assert pread_all(fd, 8192, off - 8188) == bytes(8188) + b"tail"
    finally:
        os.close(fd)
    held.unmount()
    st = os.stat(held.backing_path("f"))
    assert st.st_size == off + 4
    assert st.st_blocks * 512 < MiB, "the hole was written out"
    assert read_file(held.backing_path("f"))[off:] == b"tail"


def test_truncate_down_then_up_over_dirty_data(held):
    write_file(held.path("f"), b"a" * 65536)
    os.truncate(held.path("f"), 10000)
    os.truncate(held.path("f"), 65536)
    want = b"a" * 10000 + bytes(65536 - 10000)
    assert read_file(held.path("f")) == want
    held.unmount()
    assert read_file(held.backing_path("f")) == want


def test_ftruncate_inside_a_page_zeros_its_tail(held):
    fd = os.open(held.path("f"), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        pwrite_all(fd, b"b" * 8192, 0)
        os.ftruncate(fd, 100)
        pwrite_all(fd, b"c", 8191)
        assert pread_all(fd, 8192, 0) == b"b" * 100 + bytes(8091) + b"c"
    finally:
        os.close(fd)
    held.unmount()
    assert read_file(held.backing_path("f")) == \
        b"b" * 100 + bytes(8091) + b"c"


def test_truncate_to_zero_drops_cached_data(held):
    write_file(held.path("f"), data(13, MiB))
    os.truncate(held.path("f"), 0)
    assert os.stat(held.path("f")).st_size == 0
    held.unmount()
    assert os.stat(held.backing_path("f")).st_size == 0


@pytest.mark.parametrize("size", [0, 5000])
def test_open_o_trunc_sets_mtime_and_ctime(held, size):
    """As on ext4, also when the file is empty already (`: > f`)."""
    write_file(held.path("f"), data(14, size))
    os.utime(held.path("f"), ns=(10**18, 10**18))
    before = os.stat(held.path("f"))
    time.sleep(0.02)  # past a coarse clock's tick: ctime must move
    os.close(os.open(held.path("f"), os.O_WRONLY | os.O_TRUNC))
    for st in (os.stat(held.path("f")), os.stat(held.backing_path("f"))):
        assert st.st_size == 0
        assert st.st_mtime_ns > before.st_mtime_ns
        assert st.st_ctime_ns > before.st_ctime_ns


def _layout(fd):
    """4 KiB of data at 0, a hole, 4 KiB of data at 1 MiB, a hole to 2 MiB."""
    pwrite_all(fd, b"d" * 4096, 0)
    pwrite_all(fd, b"e" * 4096, MiB)
    os.ftruncate(fd, 2 * MiB)


def _check_seek(fd):
    assert os.lseek(fd, 0, os.SEEK_DATA) == 0
    assert os.lseek(fd, 0, os.SEEK_HOLE) == 4096
    assert os.lseek(fd, 4096, os.SEEK_DATA) == MiB
    assert os.lseek(fd, MiB + 10, os.SEEK_HOLE) == MiB + 4096
    expect_errno(errno.ENXIO, os.lseek, fd, MiB + 4096, os.SEEK_DATA)
    assert os.lseek(fd, MiB + 4096, os.SEEK_HOLE) == MiB + 4096
    expect_errno(errno.ENXIO, os.lseek, fd, 2 * MiB, os.SEEK_HOLE)


def test_seek_data_and_hole_over_dirty_pages(held):
    fd = os.open(held.path("f"), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        _layout(fd)
        _check_seek(fd)
    finally:
        os.close(fd)


def test_seek_data_and_hole_after_writeback(held):
    fd = os.open(held.path("f"), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        _layout(fd)
        os.fsync(fd)
        _check_seek(fd)
    finally:
        os.close(fd)


def test_posix_fallocate_extends_with_zeros(held):
    fd = os.open(held.path("f"), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        pwrite_all(fd, b"x" * 100, 0)
        os.posix_fallocate(fd, 0, 3 * MiB)
        assert os.fstat(fd).st_size == 3 * MiB
        assert pread_all(fd, 3 * MiB, 0) == b"x" * 100 + bytes(3 * MiB - 100)
    finally:
        os.close(fd)
    held.unmount()
    st = os.stat(held.backing_path("f"))
    assert st.st_size == 3 * MiB
    assert st.st_blocks * 512 >= 3 * MiB, "fallocate did not reach BACKING"


def test_fallocate_keep_size_leaves_size(held):
    fd = os.open(held.path("f"), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        pwrite_all(fd, b"y" * 5000, 0)
        fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, MiB)
        assert os.fstat(fd).st_size == 5000
        assert pread_all(fd, MiB, 0) == b"y" * 5000
    finally:
        os.close(fd)


def test_punch_hole_over_dirty_data_reads_zeros(held):
    content = bytearray(data(14, MiB))
    fd = os.open(held.path("f"), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        pwrite_all(fd, content, 0)
        fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  4096, 65536)
        content[4096:4096 + 65536] = bytes(65536)
        assert pread_all(fd, MiB, 0) == content
    finally:
        os.close(fd)
    held.unmount()
    assert read_file(held.backing_path("f")) == content


@pytest.mark.parametrize("hole", [(4096, 8192), (8192, 12288)],
                         ids=["middle", "last page"])
def test_punch_hole_in_dirty_data_leaves_a_hole(held, hole):
    """As on ext4: the punched pages are not written back as zeros, the
    hole stays one in BACKING, and the size stays (even when the hole ends
    the file, which no later write back extends)."""
    start, end = hole
    content = bytearray(b"a" * 12288)
    fd = os.open(held.path("f"), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        pwrite_all(fd, content, 0)
        fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  start, end - start)
        content[start:end] = bytes(end - start)
        os.fsync(fd)
        assert os.lseek(fd, 0, os.SEEK_HOLE) == start
        assert pread_all(fd, 12288, 0) == content
    finally:
        os.close(fd)
    held.unmount()
    assert read_file(held.backing_path("f")) == content
    bfd = os.open(held.backing_path("f"), os.O_RDONLY)
    try:
        assert os.lseek(bfd, 0, os.SEEK_HOLE) == start
    finally:
        os.close(bfd)


def test_shared_mmap_write_reaches_reader_and_backing(held):
    size = 3 * MiB
    fd = os.open(held.path("f"), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        os.ftruncate(fd, size)
        with mmap.mmap(fd, size, mmap.MAP_SHARED) as m:
            for off in range(0, size, 100_000):
                m[off:off + 6] = b"mapped"
            m.flush()
    finally:
        os.close(fd)
    want = bytearray(size)
    for off in range(0, size, 100_000):
        want[off:off + 6] = b"mapped"[: size - off]
    assert read_file(held.path("f")) == want
    held.unmount()
    assert read_file(held.backing_path("f")) == want


def test_mmap_reads_data_written_with_write(held):
    content = data(15, 2 * MiB)
    write_file(held.path("f"), content)
    fd = os.open(held.path("f"), os.O_RDONLY)
    try:
        with mmap.mmap(fd, len(content), mmap.MAP_SHARED,
                       mmap.PROT_READ) as m:
            assert m[:] == content
    finally:
        os.close(fd)


def test_unlinked_open_file_keeps_its_dirty_data(held):
    content = data(16, 2 * MiB)
    fd = os.open(held.path("f"), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        pwrite_all(fd, content, 0)
        os.unlink(held.path("f"))
        assert not os.path.lexists(held.backing_path("f"))
        assert os.fstat(fd).st_nlink == 0
        assert pread_all(fd, len(content), 0) == content
        pwrite_all(fd, b"more", len(content))
        assert pread_all(fd, 4, len(content)) == b"more"
    finally:
        os.close(fd)
    assert os.listdir(held.mnt) == []


def test_unlinked_file_still_known_to_the_kernel_keeps_its_data(held):
    """After the last close of an unlinked file, an O_PATH descriptor
    still opens it through /proc/self/fd: its dirty data must still be
    there (it went at the last close)."""
    content = data(17, 2 * MiB + 100)
    fd = os.open(held.path("f"), os.O_CREAT | os.O_RDWR, 0o644)
    op = os.open(held.path("f"), os.O_PATH)
    try:
        pwrite_all(fd, content, 0)
        os.unlink(held.path("f"))
        os.close(fd)
        fd = os.open("/proc/self/fd/%d" % op, os.O_RDONLY)
        # Past the kernel's pages, to the daemon's.
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        assert os.fstat(fd).st_size == len(content)
        assert pread_all(fd, len(content), 0) == content
    finally:
        os.close(fd)
        os.close(op)
    assert os.listdir(held.mnt) == []


def test_rename_keeps_dirty_data(held):
    content = data(17, MiB + 1)
    write_file(held.path("old"), content)
    os.mkdir(held.path("d"))
    os.rename(held.path("old"), held.path("d", "new"))
    assert read_file(held.path("d", "new")) == content
    held.unmount()
    assert read_file(held.backing_path("d", "new")) == content
    assert not os.path.lexists(held.backing_path("old"))


def test_rename_over_file_with_dirty_data(held):
    write_file(held.path("victim"), data(18, MiB))
    write_file(held.path("winner"), b"winner")
    os.rename(held.path("winner"), held.path("victim"))
    assert read_file(held.path("victim")) == b"winner"
    held.unmount()
    assert read_file(held.backing_path("victim")) == b"winner"


def test_hard_links_share_one_cache(held):
    write_file(held.path("a"), b"")
    os.link(held.path("a"), held.path("b"))
    content = data(19, MiB)
    write_file(held.path("a"), content)
    assert read_file(held.path("b")) == content
    fd = os.open(held.path("b"), os.O_WRONLY)
    try:
        pwrite_all(fd, b"via b", 100)
    finally:
        os.close(fd)
    want = content[:100] + b"via b" + content[105:]
    assert read_file(held.path("a")) == want
    held.unmount()
    assert read_file(held.backing_path("a")) == want


def test_concurrent_writers_of_disjoint_regions(held):
    writers, region, chunk = 4, 4 * MiB, 64 * 1024

    def piece(i, off):
        return data(i * region + off, chunk)
    write_file(held.path("f"), b"")
    os.truncate(held.path("f"), writers * region)

    def writer(i):
        fd = os.open(held.path("f"), os.O_WRONLY)
        try:
            for off in range(0, region, chunk):
                pwrite_all(fd, piece(i, off), i * region + off)
        finally:
            os.close(fd)

    pids = []
    for i in range(writers):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                writer(i)
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    for pid in pids:
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    want = b"".join(piece(i, off) for i in range(writers)
                    for off in range(0, region, chunk))
    assert read_file(held.path("f")) == want
    held.unmount()
    assert read_file(held.backing_path("f")) == want


def test_size_includes_dirty_data_at_once(held):
    size = 5 * MiB + 123
    fd = os.open(held.path("f"), os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        pwrite_all(fd, data(20, size), 0)
        assert os.fstat(fd).st_size == size
        assert os.stat(held.path("f")).st_size == size

        def stat_in_child():
            if os.stat(held.path("f")).st_size != size:
                raise OSError(errno.EIO, "wrong size")

        assert run_in_child(stat_in_child) == 0
    finally:
        os.close(fd)
    assert os.stat(held.path("f")).st_size == size


def test_size_survives_lookup_of_a_fresh_name(held):
    """A second name looked up later must see the cached size too."""
    write_file(held.path("a"), data(21, 3 * MiB))
    os.link(held.path("a"), held.path("b"))
    assert os.stat(held.path("b")).st_size == 3 * MiB
    assert sorted(e.stat().st_size for e in os.scandir(held.mnt)) == \
        [3 * MiB, 3 * MiB]


def test_read_at_backings_end_while_writeback_extends_it(dirtyfs, tmp_path):
    """An aligned read is served from BACKING through O_DIRECT; one that
    comes back short at BACKING's unaligned end of file was finished with
    an unaligned O_DIRECT read, which the kernel refuses (EINVAL) once our
    own writeback has moved that end past it: 9% of these reads failed."""
    size = MiB - 100
    write_file(str(tmp_path / "f"), b"x" * size)  # not in the cache
    m = dirtyfs(backing=str(tmp_path))
    fd = os.open(m.path("f"), os.O_RDWR)
    rfd = os.open(m.path("f"), os.O_RDONLY | os.O_DIRECT)
    buf = mmap.mmap(-1, 128 * 1024)
    try:
        for _ in range(500):
            os.ftruncate(fd, size)
            os.pwrite(fd, b"z" * 4096, 64 * MiB)
            t = threading.Thread(target=os.fsync, args=(fd,))
            t.start()  # its writeback extends BACKING's file
            try:
                n = os.preadv(rfd, [buf], MiB - len(buf))
            finally:
                t.join()
            assert n == len(buf)  # zeros from BACKING's old end on
            assert buf[:n - 100] == b"x" * (n - 100)
            assert buf[n - 100:n] == bytes(100)
    finally:
        os.close(rfd)
        os.close(fd)
