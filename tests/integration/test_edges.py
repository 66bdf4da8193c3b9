"""Inputs at the edges: names at NAME_MAX, paths near PATH_MAX, writes near
BACKING's largest file size, a 1 TiB sparse file with a few dirty pages, and
more dirty files than the daemon's descriptor limit would allow if each
kept its data descriptors open, and a BACKING file that refuses writes."""
import errno
import fcntl
import os
import re
import struct

from conftest import require
from helpers import (MiB, NOBODY, data, expect_errno, parse_stats,
                     pwrite_all, read_file, run_as, write_file)

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


def test_dirty_files_nobody_has_open_hold_one_descriptor_each(dirtyfs):
    """A closed dirty file keeps only its O_PATH descriptor; writeback opens
    the data descriptors for each pass. 300 dirty files fit a daemon limited
    to 400 descriptors (with data descriptors kept, three per file, creates
    failed with EMFILE after about 130), and all reach BACKING."""
    n = 300
    m = dirtyfs(["dirty_expire=3600"], nofile=400)
    for i in range(n):
        write_file(m.path("f%d" % i), data(i, PAGE + i))
    stats = parse_stats(os.getxattr(m.mnt, "trusted.dirtyfs.stat"))
    assert stats["dirty"] >= n * PAGE
    assert len(os.listdir("/proc/%d/fd" % m.proc.pid)) < 400
    os.setxattr(m.mnt, "trusted.dirtyfs.sync", b"/")
    for i in range(n):
        assert read_file(m.backing_path("f%d" % i)) == data(i, PAGE + i)


def test_descriptor_limit_reached_refuses_creates_and_loses_nothing(dirtyfs):
    """Once the daemon's descriptors are all in use, creates fail with
    EMFILE; stopping the daemon (SIGTERM: the kernel still holds every
    inode) still writes every file accepted before to BACKING and exits 0.
    (With data descriptors kept per dirty file, a daemon in this state
    aborted at exit, in glibc, for want of a descriptor to load libgcc_s
    with when libfuse cancelled its workers.)"""
    m = dirtyfs(["dirty_expire=3600"], nofile=200, errors_expected=True)
    written = []
    for i in range(400):
        try:
            write_file(m.path("f%d" % i), data(i, PAGE + 1))
        except OSError as e:
            assert e.errno == errno.EMFILE
            continue
        written.append(i)
    assert 0 < len(written) < 400
    assert m.terminate() == 0
    for i in written:
        assert read_file(m.backing_path("f%d" % i)) == data(i, PAGE + 1)



def _fill_descriptors_with_lookups(m, name="nobody"):
    """As nobody, make empty files, then directories, in a directory of its
    own (name) until the daemon refuses one with EMFILE: each holds one of
    the daemon's descriptors for as long as the kernel keeps it looked up
    (its dentry cache does), though no file is open and none is dirty."""
    os.mkdir(m.path(name))
    os.chmod(m.path(name), 0o777)

    def fill(d):
        n = 0
        try:
            while True:
                os.close(os.open(os.path.join(d, "f%d" % n),
                                 os.O_CREAT | os.O_WRONLY, 0o644))
                n += 1
        except OSError as e:
            if e.errno != errno.EMFILE:
                raise
        while True:
            os.mkdir(os.path.join(d, "d%d" % n))
            n += 1

    assert run_as(NOBODY, NOBODY, fill, m.path(name)) == errno.EMFILE
    # Nobody else may take a descriptor that would stay either.
    expect_errno(errno.EMFILE, os.open, m.path("more"),
                 os.O_CREAT | os.O_WRONLY, 0o644)


def test_lookups_at_the_descriptor_limit_leave_sync_working(dirtyfs):
    """One user's lookups take every descriptor a lookup may have: another
    user's closed dirty files, whose writeback must open their data
    descriptors again, are still written back by a sync, though there are
    more of them than writeback's reserve of descriptors holds at once (32
    of 256: they are written in turns). The daemon says why lookups fail.
    (The lookups took every descriptor, and the sync failed with EMFILE.)"""
    m = dirtyfs(["dirty_expire=3600"], nofile=256, errors_expected=True)
    n = 40
    for i in range(n):
        write_file(m.path("tenant%d" % i), data(i, MiB // 4 + i))
    _fill_descriptors_with_lookups(m)
    os.setxattr(m.mnt, "trusted.dirtyfs.sync", b"/")
    for i in range(n):
        assert read_file(m.backing_path("tenant%d" % i)) == \
            data(i, MiB // 4 + i)
    assert "out of descriptors for lookups and opens" in m.log_text()


def test_lookups_at_the_descriptor_limit_lose_nothing_at_unmount(dirtyfs):
    """As above, and then the unmount: the data of closed dirty files, one
    closed before the lookups and one written and closed between them (its
    close frees its data descriptors, which the second round of lookups
    takes), reaches BACKING and the daemon exits 0. (The final writeback
    gave both up for want of a descriptor, and the daemon exited 1: the
    kernel's lookups pinned every descriptor, though once unmounted nothing
    needs them.)"""
    m = dirtyfs(["dirty_expire=3600"], nofile=256, errors_expected=True)
    first, later = data(2, MiB), data(3, MiB)
    write_file(m.path("first"), first)
    fd = os.open(m.path("later"), os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        _fill_descriptors_with_lookups(m, "nobody")
        pwrite_all(fd, later, 0)
    finally:
        os.close(fd)
    _fill_descriptors_with_lookups(m, "nobody2")
    assert m.unmount() == 0
    assert read_file(m.backing_path("first")) == first
    assert read_file(m.backing_path("later")) == later
    assert not re.search(r"lost|giving up", m.log_text())


def test_short_lived_writers_leave_descriptors_for_creates(dirtyfs):
    """300 writer processes, each gone after one write, within a second:
    the daemon keeps a descriptor of each cached writer's task (so that a
    reused pid is not charged to the old task's cgroup), but only in the
    lower half of what a 256 limit leaves outside writeback's reserve, so
    100 creates after them all succeed. (The pidfds took every descriptor
    and each create failed EMFILE.)"""
    m = dirtyfs(["dirty_expire=3600"], nofile=256, errors_expected=True)
    write_file(m.path("shared"), b"")
    for _ in range(300):
        pid = os.fork()
        if pid == 0:
            try:
                fd = os.open(m.path("shared"), os.O_WRONLY | os.O_APPEND)
                os.write(fd, b"x")
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
    for i in range(100):
        write_file(m.path("new%d" % i), b"")
    assert m.unmount() == 0


def test_names_refused_at_the_descriptor_limit_are_not_made(dirtyfs):
    """At the limit a create, mkdir, mknod or symlink fails with EMFILE as
    on a local filesystem, where open(2) takes its descriptor first: the
    name is not made in BACKING either. (Each was made, then refused when
    its inode's descriptor fell in writeback's reserve.)"""
    m = dirtyfs(nofile=256, errors_expected=True)
    _fill_descriptors_with_lookups(m)
    made = [
        lambda p: os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)),
        os.mkdir,
        os.mkfifo,
        lambda p: os.symlink("target", p),
    ]
    for i, make in enumerate(made):
        expect_errno(errno.EMFILE, make, m.path("new%d" % i))
        assert not os.path.lexists(m.backing_path("new%d" % i))
    assert m.unmount() == 0

FS_IOC_GETFLAGS = 0x80086601
FS_IOC_SETFLAGS = 0x40086602
FS_IMMUTABLE_FL = 0x10


def _set_immutable(path, on):
    """chattr +i or -i: False where BACKING or we cannot."""
    fd = os.open(path, os.O_RDONLY)
    try:
        flags = struct.unpack("i", fcntl.ioctl(fd, FS_IOC_GETFLAGS,
                                               b"\0" * 4))[0]
        flags = flags | FS_IMMUTABLE_FL if on else flags & ~FS_IMMUTABLE_FL
        fcntl.ioctl(fd, FS_IOC_SETFLAGS, struct.pack("i", flags))
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _open_errno(path, flags):
    """The errno of opening path, or 0 (the file is closed again)."""
    try:
        os.close(os.open(path, flags))
    except OSError as e:
        return e.errno
    return 0


def test_immutable_backing_file_refuses_write_opens_as_backing_does(mnt):
    """The daemon opens BACKING O_RDONLY where O_RDWR is refused (an
    immutable file here, a running executable too). A write open or a
    truncate through the mount must fail as BACKING's would, not succeed
    and leave every write to fail with EBADF; and once BACKING allows
    writes again, a write open gets them, though a read open came first."""
    write_file(mnt.backing_path("f"), b"fixed")
    require(_set_immutable(mnt.backing_path("f"), True),
            "chattr +i of a BACKING file")
    reader = os.open(mnt.path("f"), os.O_RDONLY)
    try:
        assert _open_errno(mnt.backing_path("f"), os.O_WRONLY) == errno.EPERM
        for flags in (os.O_WRONLY, os.O_WRONLY | os.O_APPEND, os.O_RDWR,
                      os.O_RDONLY | os.O_TRUNC):
            assert _open_errno(mnt.path("f"), flags) == errno.EPERM
        expect_errno(errno.EPERM, os.truncate, mnt.path("f"), 0)
        assert read_file(mnt.path("f")) == b"fixed"
        _set_immutable(mnt.backing_path("f"), False)
        fd = os.open(mnt.path("f"), os.O_WRONLY)
        assert os.pwrite(fd, b"F", 0) == 1
        os.fsync(fd)
        os.close(fd)
        assert os.pread(reader, 5, 0) == b"Fixed"
    finally:
        os.close(reader)
        _set_immutable(mnt.backing_path("f"), False)
    assert read_file(mnt.backing_path("f")) == b"Fixed"


def _daemon_fds_of(m, path):
    """The daemon's descriptors of path: {fd: open flags}."""
    fds = {}
    for fd in os.listdir("/proc/%d/fd" % m.proc.pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (m.proc.pid, fd)) != path:
                continue
            with open("/proc/%d/fdinfo/%s" % (m.proc.pid, fd)) as f:
                info = f.read()
        except FileNotFoundError:  # closed meanwhile
            continue
        fds[fd] = int(re.search(r"flags:\s+([0-7]+)", info).group(1), 8)
    return fds


def test_refused_write_opens_keep_no_descriptor(mnt):
    """A write open that BACKING refuses (an immutable file) first opened
    the data descriptor read-only. It must be closed with the refusal, not
    kept, one per file tried, until the kernel forgets the inode. And the
    descriptor that a later write open upgrades stays close-on-exec."""
    names = ["f%d" % i for i in range(20)]
    for name in names:
        write_file(mnt.backing_path(name), b"fixed")
    try:
        for name in names:
            require(_set_immutable(mnt.backing_path(name), True),
                    "chattr +i of a BACKING file")
            os.stat(mnt.path(name))
        before = [_daemon_fds_of(mnt, mnt.backing_path(n)) for n in names]
        for name in names:
            assert _open_errno(mnt.path(name), os.O_WRONLY) == errno.EPERM
        assert [_daemon_fds_of(mnt, mnt.backing_path(n))
                for n in names] == before
        reader = os.open(mnt.path("f0"), os.O_RDONLY)
        try:
            _set_immutable(mnt.backing_path("f0"), False)
            os.close(os.open(mnt.path("f0"), os.O_WRONLY))
            fds = _daemon_fds_of(mnt, mnt.backing_path("f0"))
            assert len(fds) > len(before[0])
            for fd, flags in fds.items():
                assert flags & os.O_CLOEXEC, (fd, oct(flags))
        finally:
            os.close(reader)
    finally:
        for name in names:
            _set_immutable(mnt.backing_path(name), False)
