"""Writeback faults injected into the test build (writeback/fault.h): each
error reaches fsync and close of every file description open when it
happened, once; other files are unaffected; the daemon keeps serving; and
once the fault clears, the retried data arrives intact."""
import errno
import os
import time

import pytest

from helpers import MiB, data, expect_errno, parse_stats, read_file

pytestmark = pytest.mark.fault_injection

# Nothing is written back unless asked: the fault hits the sync of the test.
QUIET = ["dirty_expire=3600", "cache_size=64M"]
FAULT = "trusted.dirtyfs.fault"


def inject(m, value):
    os.setxattr(m.mnt, FAULT, value.encode())


def global_stat(m):
    return parse_stats(os.getxattr(m.mnt, "trusted.dirtyfs.stat"))


def write_new(path, content):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, content)
    return fd


@pytest.mark.parametrize("name,err", [("EIO", errno.EIO),
                                      ("ENOSPC", errno.ENOSPC),
                                      ("EDQUOT", errno.EDQUOT)])
def test_failed_writeback_reaches_fsync_and_close_once(dirtyfs, name, err):
    m = dirtyfs(QUIET, errors_expected=True)
    content = data(1, 3 * MiB + 100)
    writer = write_new(m.path("f"), content)
    reader = os.open(m.path("f"), os.O_RDONLY)
    inject(m, name + " -1")
    expect_errno(err, os.fsync, writer)
    # The error is reported once per description: the next fsync is clean
    # of it, though the data is still dirty and failing.
    inject(m, "off")
    os.fsync(writer)
    expect_errno(err, os.close, reader)
    os.close(writer)
    # A description opened after the failure never sees it.
    late = os.open(m.path("f"), os.O_RDONLY)
    os.close(late)
    assert read_file(m.path("f")) == content
    m.unmount()
    assert read_file(m.backing_path("f")) == content


def test_failed_data_stays_dirty_and_is_retried(dirtyfs):
    """Nothing accepted is lost: after the fault clears, the background
    retry writes the data without anyone asking."""
    m = dirtyfs(QUIET + ["writeback_interval=1", "dirty_expire=1"],
                errors_expected=True)
    content = data(2, 2 * MiB)
    inject(m, "EIO -1")
    fd = write_new(m.path("f"), content)
    expect_errno(errno.EIO, os.fsync, fd)
    os.close(fd)
    assert global_stat(m)["dirty"] >= 2 * MiB
    inject(m, "off")
    deadline = time.monotonic() + 30
    while global_stat(m)["dirty"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert global_stat(m)["dirty"] == 0, "the flusher never retried"
    assert read_file(m.backing_path("f")) == content


def test_fault_in_one_file_leaves_another_alone(dirtyfs):
    m = dirtyfs(QUIET, errors_expected=True)
    bad = write_new(m.path("bad"), data(3, MiB))
    inject(m, "ENOSPC 1")
    expect_errno(errno.ENOSPC, os.fsync, bad)
    good = write_new(m.path("good"), data(4, MiB))
    os.fsync(good)
    os.close(good)
    os.fsync(bad)  # the retry succeeds: the fault was for one write
    os.close(bad)  # the error was reported already, to this description
    m.unmount()
    assert read_file(m.backing_path("good")) == data(4, MiB)
    assert read_file(m.backing_path("bad")) == data(3, MiB)


def test_short_writes_are_completed(dirtyfs):
    """A write that stores only part of its bytes is finished, not failed."""
    m = dirtyfs(QUIET)
    content = data(5, 4 * MiB + 7)
    inject(m, "short -1")
    fd = write_new(m.path("f"), content)
    os.fsync(fd)
    os.close(fd)
    inject(m, "off")
    assert read_file(m.backing_path("f")) == content


@pytest.mark.parametrize("value", ["", "EIO x", "EBADF 1", "EIO -2",
                                   "EIO 1 2", "off 1", "hold 1"])
def test_malformed_fault_is_refused(dirtyfs, value):
    m = dirtyfs(QUIET)
    expect_errno(errno.EINVAL, inject, m, value)
