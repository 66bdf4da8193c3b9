"""Extended attributes: user.* passes through to BACKING; the control names
(interface.md) live on the mount root only."""
import errno
import os
import subprocess

import pytest

from conftest import require
from helpers import (MiB, data, expect_errno, parse_stats, read_file,
                     write_file)

HOLD = ["cache_size=64M", "dirty_expire=3600"]
FS_KEYS = {"cache_bytes", "cache_size", "dirty", "writeback", "written",
           "shared_inodes"}


def _backing_has_user_xattrs(path):
    try:
        os.setxattr(path, "user.probe", b"1")
        os.removexattr(path, "user.probe")
        return True
    except OSError:
        return False


@pytest.fixture
def xmnt(mnt):
    require(_backing_has_user_xattrs(mnt.backing),
            "BACKING's filesystem has no user xattrs")
    return mnt


def test_user_xattr_set_get_list_remove(xmnt):
    f = xmnt.path("f")
    write_file(f, b"")
    os.setxattr(f, "user.colour", b"blue")
    assert os.getxattr(f, "user.colour") == b"blue"
    assert os.getxattr(xmnt.backing_path("f"), "user.colour") == b"blue"
    assert "user.colour" in os.listxattr(f)
    os.removexattr(f, "user.colour")
    assert "user.colour" not in os.listxattr(xmnt.backing_path("f"))
    expect_errno(errno.ENODATA, os.getxattr, f, "user.colour")


def test_user_xattr_create_and_replace_flags(xmnt):
    f = xmnt.path("f")
    write_file(f, b"")
    os.setxattr(f, "user.k", b"1", os.XATTR_CREATE)
    expect_errno(errno.EEXIST, os.setxattr, f, "user.k", b"2",
                 os.XATTR_CREATE)
    expect_errno(errno.ENODATA, os.setxattr, f, "user.other", b"2",
                 os.XATTR_REPLACE)
    os.setxattr(f, "user.k", b"3", os.XATTR_REPLACE)
    assert os.getxattr(xmnt.backing_path("f"), "user.k") == b"3"


def test_user_xattr_on_directory_and_root(xmnt):
    os.mkdir(xmnt.path("d"))
    os.setxattr(xmnt.path("d"), "user.tag", b"dir")
    os.setxattr(xmnt.mnt, "user.tag", b"root")
    assert os.getxattr(xmnt.backing_path("d"), "user.tag") == b"dir"
    assert os.getxattr(xmnt.backing, "user.tag") == b"root"
    assert os.getxattr(xmnt.mnt, "user.tag") == b"root"


def test_user_xattr_large_value(xmnt):
    f = xmnt.path("f")
    write_file(f, b"")
    value = data(1, 3000)
    os.setxattr(f, "user.big", value)
    assert os.getxattr(f, "user.big") == value


def test_fs_stat_on_root_has_interface_keys(dirtyfs):
    m = dirtyfs(["cache_size=8M"])
    stats = parse_stats(os.getxattr(m.mnt, "trusted.dirtyfs.stat"))
    assert FS_KEYS <= set(stats)
    assert stats["cache_size"] == 8 * MiB
    assert stats["dirty"] == 0


def test_fs_stat_counts_dirty_data(dirtyfs):
    m = dirtyfs(HOLD)
    write_file(m.path("f"), data(2, 3 * MiB))
    stats = parse_stats(os.getxattr(m.mnt, "trusted.dirtyfs.stat"))
    assert stats["dirty"] == 3 * MiB
    assert 3 * MiB <= stats["cache_bytes"] <= stats["cache_size"]


def test_sync_xattr_writes_everything_back(dirtyfs):
    m = dirtyfs(HOLD)
    content = data(3, 2 * MiB + 17)
    write_file(m.path("f"), content)
    os.setxattr(m.mnt, "trusted.dirtyfs.sync", b"/")
    assert read_file(m.backing_path("f")) == content
    stats = parse_stats(os.getxattr(m.mnt, "trusted.dirtyfs.stat"))
    assert stats["dirty"] == 0
    assert stats["written"] >= len(content)


@pytest.mark.parametrize("name", ["trusted.dirtyfs.stat", "user.dirtyfs.stat",
                                  "trusted.dirtyfs.cgroups",
                                  "trusted.dirtyfs.dirty_limit:/"])
def test_control_names_refused_on_a_file(mnt, name):
    write_file(mnt.path("f"), b"")
    os.mkdir(mnt.path("d"))
    for path in (mnt.path("f"), mnt.path("d")):
        expect_errno(errno.ENOTSUP, os.getxattr, path, name)
        expect_errno(errno.ENOTSUP, os.setxattr, path, name, b"1")
        expect_errno(errno.ENOTSUP, os.removexattr, path, name)


def test_sync_name_refused_on_a_file(mnt):
    write_file(mnt.path("f"), b"")
    expect_errno(errno.ENOTSUP, os.setxattr, mnt.path("f"),
                 "trusted.dirtyfs.sync", b"/")


@pytest.mark.parametrize("name", ["trusted.dirtyfs.foo", "user.dirtyfs.foo",
                                  "trusted.dirtyfs.", "trusted.dirtyfs.stats"])
def test_unknown_reserved_name_on_root(mnt, name):
    expect_errno(errno.ENODATA, os.getxattr, mnt.mnt, name)
    expect_errno(errno.EINVAL, os.setxattr, mnt.mnt, name, b"1")


def test_newline_in_a_cgpath_is_refused(mnt):
    """Regression: a limit on a CGPATH with a newline split the one-a-line
    limit store, and the root's listxattr then crashed the daemon."""
    name = "trusted.dirtyfs.dirty_limit:/x\ny"
    expect_errno(errno.EINVAL, os.setxattr, mnt.mnt, name, b"1M")
    expect_errno(errno.ENODATA, os.getxattr, mnt.mnt, name)
    expect_errno(errno.EINVAL, os.getxattr, mnt.mnt,
                 "trusted.dirtyfs.stat:/x\ny")
    expect_errno(errno.EINVAL, os.setxattr, mnt.mnt, "trusted.dirtyfs.sync",
                 b"/x\ny")
    assert not [n for n in os.listxattr(mnt.mnt) if "\n" in n]


def test_control_names_never_reach_backing(mnt):
    for name in ("trusted.dirtyfs.foo", "user.dirtyfs.foo"):
        try:
            os.setxattr(mnt.mnt, name, b"1")
        except OSError:
            pass
        assert name not in os.listxattr(mnt.backing)


def test_attr_tools_read_stats_and_sync(dirtyfs):
    """The interface's own examples, with getfattr(1) and setfattr(1)."""
    m = dirtyfs(HOLD)
    write_file(m.path("f"), data(4, MiB))
    subprocess.run(["setfattr", "-n", "trusted.dirtyfs.sync", "-v", "/",
                    m.mnt], check=True)
    out = subprocess.run(["getfattr", "--absolute-names", "--only-values",
                          "-n", "trusted.dirtyfs.stat", m.mnt], check=True,
                         capture_output=True).stdout
    stats = parse_stats(out)
    assert stats["dirty"] == 0 and stats["written"] >= MiB
    assert read_file(m.backing_path("f")) == data(4, MiB)
