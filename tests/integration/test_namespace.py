"""Namespace operations through the mount, each checked in BACKING too."""
import errno
import os
import stat
import time

import pytest

from helpers import (RENAME_EXCHANGE, RENAME_NOREPLACE, expect_errno,
                     pwrite_all, read_file, renameat2, write_file)


@pytest.fixture(autouse=True)
def no_umask():
    """Modes in these tests are exact."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_create_stat_unlink(mnt):
    write_file(mnt.path("f"), b"hello", 0o640)
    st = os.stat(mnt.path("f"))
    assert stat.S_ISREG(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert st.st_size == 5
    assert stat.S_IMODE(os.stat(mnt.backing_path("f")).st_mode) == 0o640
    os.unlink(mnt.path("f"))
    assert not os.path.lexists(mnt.path("f"))
    assert not os.path.lexists(mnt.backing_path("f"))
    expect_errno(errno.ENOENT, os.stat, mnt.path("f"))


def test_create_exclusive_refuses_existing(mnt):
    write_file(mnt.path("f"), b"")
    expect_errno(errno.EEXIST, os.open, mnt.path("f"),
                 os.O_CREAT | os.O_EXCL | os.O_WRONLY)


def test_create_o_trunc_of_file_made_in_backing_sets_times(mnt):
    """For a name it holds absent the kernel sends create, not open: an
    empty file that BACKING got since is truncated all the same, which
    sets mtime and ctime, as an O_TRUNC open does on ext4."""
    assert not os.path.lexists(mnt.path("f"))  # the kernel keeps this 1 s
    write_file(mnt.backing_path("f"), b"")
    os.utime(mnt.backing_path("f"), ns=(10**9, 10**9))
    before = os.stat(mnt.backing_path("f"))
    time.sleep(0.02)  # past a coarse clock's tick: ctime must move
    os.close(os.open(mnt.path("f"), os.O_CREAT | os.O_TRUNC | os.O_WRONLY))
    for st in (os.stat(mnt.path("f")), os.stat(mnt.backing_path("f"))):
        assert st.st_mtime_ns > before.st_mtime_ns
        assert st.st_ctime_ns > before.st_ctime_ns


def test_mkdir_rmdir(mnt):
    os.mkdir(mnt.path("d"), 0o750)
    assert stat.S_ISDIR(os.stat(mnt.path("d")).st_mode)
    assert stat.S_IMODE(os.stat(mnt.backing_path("d")).st_mode) == 0o750
    write_file(mnt.path("d", "f"), b"x")
    expect_errno(errno.ENOTEMPTY, os.rmdir, mnt.path("d"))
    os.unlink(mnt.path("d", "f"))
    os.rmdir(mnt.path("d"))
    assert not os.path.lexists(mnt.backing_path("d"))


def test_nested_directories(mnt):
    os.makedirs(mnt.path("a", "b", "c"))
    write_file(mnt.path("a", "b", "c", "f"), b"deep")
    assert read_file(mnt.path("a", "b", "c", "f")) == b"deep"
    assert os.path.isfile(mnt.backing_path("a", "b", "c", "f"))
    assert os.stat(mnt.path("a", "b", "..")).st_ino == \
        os.stat(mnt.path("a")).st_ino


def test_symlink_readlink(mnt):
    os.symlink("some/where/else", mnt.path("l"))
    assert stat.S_ISLNK(os.lstat(mnt.path("l")).st_mode)
    assert os.readlink(mnt.path("l")) == "some/where/else"
    assert os.readlink(mnt.backing_path("l")) == "some/where/else"


def test_symlink_is_followed_inside_the_mount(mnt):
    write_file(mnt.path("target"), b"via link")
    os.symlink("target", mnt.path("l"))
    assert read_file(mnt.path("l")) == b"via link"


def test_hard_link_shares_inode(mnt):
    write_file(mnt.path("a"), b"data")
    os.link(mnt.path("a"), mnt.path("b"))
    a, b = os.stat(mnt.path("a")), os.stat(mnt.path("b"))
    assert a.st_ino == b.st_ino
    assert a.st_nlink == 2 and b.st_nlink == 2
    assert os.stat(mnt.backing_path("b")).st_ino == \
        os.stat(mnt.backing_path("a")).st_ino
    os.unlink(mnt.path("a"))
    assert os.stat(mnt.path("b")).st_nlink == 1


def test_rename_moves_entry(mnt):
    os.mkdir(mnt.path("d"))
    write_file(mnt.path("a"), b"moved")
    os.rename(mnt.path("a"), mnt.path("d", "b"))
    assert not os.path.lexists(mnt.path("a"))
    assert read_file(mnt.path("d", "b")) == b"moved"
    assert os.path.isfile(mnt.backing_path("d", "b"))
    assert not os.path.lexists(mnt.backing_path("a"))


def test_rename_replaces_existing_target(mnt):
    write_file(mnt.path("a"), b"new")
    write_file(mnt.path("b"), b"old")
    os.rename(mnt.path("a"), mnt.path("b"))
    assert read_file(mnt.path("b")) == b"new"
    assert sorted(os.listdir(mnt.backing)) == ["b"]


def test_rename_noreplace_refuses_existing_target(mnt):
    write_file(mnt.path("a"), b"a")
    write_file(mnt.path("b"), b"b")
    expect_errno(errno.EEXIST, renameat2, mnt.path("a"), mnt.path("b"),
                 RENAME_NOREPLACE)
    assert read_file(mnt.path("a")) == b"a"
    assert read_file(mnt.path("b")) == b"b"
    renameat2(mnt.path("a"), mnt.path("c"), RENAME_NOREPLACE)
    assert read_file(mnt.path("c")) == b"a"
    assert sorted(os.listdir(mnt.backing)) == ["b", "c"]


def test_rename_exchange_swaps_entries(mnt):
    write_file(mnt.path("a"), b"first")
    os.mkdir(mnt.path("b"))
    renameat2(mnt.path("a"), mnt.path("b"), RENAME_EXCHANGE)
    assert stat.S_ISDIR(os.stat(mnt.path("a")).st_mode)
    assert read_file(mnt.path("b")) == b"first"
    assert stat.S_ISDIR(os.stat(mnt.backing_path("a")).st_mode)
    assert stat.S_ISREG(os.stat(mnt.backing_path("b")).st_mode)


def test_mknod_fifo(mnt):
    os.mkfifo(mnt.path("p"), 0o600)
    assert stat.S_ISFIFO(os.stat(mnt.path("p")).st_mode)
    assert stat.S_ISFIFO(os.stat(mnt.backing_path("p")).st_mode)


def test_chmod(mnt):
    write_file(mnt.path("f"), b"")
    os.chmod(mnt.path("f"), 0o4711)
    assert stat.S_IMODE(os.stat(mnt.path("f")).st_mode) == 0o4711
    assert stat.S_IMODE(os.stat(mnt.backing_path("f")).st_mode) == 0o4711


def test_chown(mnt):
    write_file(mnt.path("f"), b"")
    os.chown(mnt.path("f"), 1234, 5678)
    st = os.stat(mnt.path("f"))
    assert (st.st_uid, st.st_gid) == (1234, 5678)
    st = os.stat(mnt.backing_path("f"))
    assert (st.st_uid, st.st_gid) == (1234, 5678)


def test_chown_symlink_itself(mnt):
    os.symlink("nowhere", mnt.path("l"))
    os.lchown(mnt.path("l"), 1234, 5678)
    assert os.lstat(mnt.backing_path("l")).st_uid == 1234


def test_utime(mnt):
    write_file(mnt.path("f"), b"x")
    os.utime(mnt.path("f"), ns=(1_000_000_001, 2_000_000_002))
    st = os.stat(mnt.path("f"))
    assert (st.st_atime_ns, st.st_mtime_ns) == (1_000_000_001, 2_000_000_002)
    assert os.stat(mnt.backing_path("f")).st_mtime_ns == 2_000_000_002


def test_utime_after_write_sticks(dirtyfs):
    """A later write-back must not overwrite an explicitly set mtime."""
    m = dirtyfs(["dirty_expire=3600"])
    write_file(m.path("f"), b"dirty")
    os.utime(m.path("f"), ns=(5_000_000_000, 6_000_000_000))
    m.unmount()
    assert os.stat(m.backing_path("f")).st_mtime_ns == 6_000_000_000


def test_writeback_leaves_ctime_and_mtime_alone(dirtyfs):
    """As on ext4, the times a file shows are those of its last change,
    not of its writeback, which moves BACKING's ctime (no call sets it
    back); a later chmod moves ctime again."""
    m = dirtyfs(["dirty_expire=3600"])
    fd = os.open(m.path("f"), os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        for i in range(3):  # the first pass, and passes after it
            pwrite_all(fd, b"x" * 10000, 10000 * i)
            before = os.fstat(fd)
            time.sleep(0.05)  # past a coarse clock's tick
            os.fsync(fd)
            assert os.stat(m.backing_path("f")).st_ctime_ns > \
                before.st_ctime_ns
            time.sleep(1.1)  # past the kernel's attribute timeout
            after = os.fstat(fd)
            assert after.st_ctime_ns == before.st_ctime_ns
            assert after.st_mtime_ns == before.st_mtime_ns
    finally:
        os.close(fd)
    os.chmod(m.path("f"), 0o600)
    assert os.stat(m.path("f")).st_ctime_ns > before.st_ctime_ns


def test_truncate_by_path(mnt):
    write_file(mnt.path("f"), b"0123456789")
    os.truncate(mnt.path("f"), 4)
    assert os.stat(mnt.path("f")).st_size == 4
    assert read_file(mnt.path("f")) == b"0123"
    assert os.stat(mnt.backing_path("f")).st_size == 4


def test_readdir_lists_entries(mnt):
    names = {"file", "dir", "link", "fifo", "with space", "ünïcødé"}
    write_file(mnt.path("file"), b"")
    write_file(mnt.path("with space"), b"")
    write_file(mnt.path("ünïcødé"), b"")
    os.mkdir(mnt.path("dir"))
    os.symlink("file", mnt.path("link"))
    os.mkfifo(mnt.path("fifo"))
    assert set(os.listdir(mnt.mnt)) == names
    kinds = {e.name: e.is_dir(follow_symlinks=False)
             for e in os.scandir(mnt.mnt)}
    assert kinds["dir"] and not kinds["file"] and not kinds["link"]
    assert os.path.islink(mnt.path("link"))


def test_readdir_lists_many_entries(mnt):
    """More entries than one readdir reply holds: offsets must resume."""
    names = {"entry-%04d-%s" % (i, "x" * (i % 50)) for i in range(1500)}
    for name in names:
        os.close(os.open(mnt.path(name), os.O_CREAT | os.O_WRONLY, 0o644))
    assert set(os.listdir(mnt.mnt)) == names
    assert set(os.listdir(mnt.backing)) == names


def test_readdir_sees_backing_changes_made_before_lookup(mnt):
    write_file(mnt.backing_path("made-in-backing"), b"x")
    assert "made-in-backing" in os.listdir(mnt.mnt)
    assert read_file(mnt.path("made-in-backing")) == b"x"


def test_statfs_reports_backing(mnt):
    vfs, backing = os.statvfs(mnt.mnt), os.statvfs(mnt.backing)
    assert vfs.f_blocks * vfs.f_frsize == backing.f_blocks * backing.f_frsize
    assert vfs.f_files == backing.f_files
    assert vfs.f_namemax == backing.f_namemax


def free_bytes(path):
    vfs = os.statvfs(path)
    return vfs.f_bfree * vfs.f_frsize, vfs.f_bavail * vfs.f_frsize


def test_statfs_counts_unwritten_data_as_used(dirtyfs, tmpfs):
    """df after a write shows the space the data will take, before BACKING
    has it; once written back, the mount and BACKING agree again."""
    size = 32 << 20
    m = dirtyfs(["dirty_limit=max", "dirty_background_limit=max",
                 "dirty_expire=3600"], backing=tmpfs("128M"))
    assert free_bytes(m.mnt) == free_bytes(m.backing)
    write_file(m.path("f"), b"x" * size)
    held = [b - a for a, b in zip(free_bytes(m.mnt), free_bytes(m.backing))]
    # BACKING's own free space has not moved: the data is only dirty.
    assert held == [size, size]
    os.setxattr(m.mnt, "trusted.dirtyfs.sync", b"/")
    assert free_bytes(m.mnt) == free_bytes(m.backing)
    assert free_bytes(m.backing)[0] <= 128 * (1 << 20) - size
