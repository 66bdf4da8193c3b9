"""Mounting, unmounting and signals; when dirty data reaches BACKING; and
what happens when BACKING is full."""
import errno
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import (BIN, EXIT_TIMEOUT_S, MOUNT_TIMEOUT_S, POLL_S, Workdir,
                      is_fuse_mount, mount_type)
from helpers import (MiB, data, expect_errno, parse_stats, pwrite_all,
                     read_direct, read_file, write_file)

HOLD = ["cache_size=64M", "dirty_expire=3600"]


def test_data_reaches_backing_after_unmount(dirtyfs):
    m = dirtyfs(HOLD)
    content = data(30, 7 * MiB + 5)
    write_file(m.path("f"), content)
    assert m.unmount() == 0
    assert read_file(m.backing_path("f")) == content


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_data_reaches_backing_after_signal(dirtyfs, sig):
    m = dirtyfs(HOLD)
    content = data(31, 3 * MiB)
    write_file(m.path("f"), content)
    assert m.terminate(sig) == 0
    assert read_file(m.backing_path("f")) == content


@pytest.mark.parametrize("sync", [os.fsync, os.fdatasync])
def test_fsync_writes_to_backing_while_mounted(dirtyfs, sync):
    m = dirtyfs(HOLD)
    content = data(32, 3 * MiB + 1)
    fd = os.open(m.path("f"), os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        pwrite_all(fd, content, 0)
        sync(fd)
        assert read_file(m.backing_path("f")) == content
    finally:
        os.close(fd)


def test_fsync_of_a_directory_succeeds(mnt):
    os.mkdir(mnt.path("d"))
    write_file(mnt.path("d", "f"), b"x")
    fd = os.open(mnt.path("d"), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _wait_for(predicate, timeout_s):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)
    return True


def test_expired_data_is_written_back_without_sync(dirtyfs):
    m = dirtyfs(["dirty_expire=1", "writeback_interval=1"])
    content = data(33, MiB)
    write_file(m.path("f"), content)
    assert _wait_for(lambda: read_file(m.backing_path("f")) == content, 10)
    stats = parse_stats(os.getxattr(m.mnt, "trusted.dirtyfs.stat"))
    assert stats["dirty"] == 0


def test_unexpired_data_stays_in_the_cache(dirtyfs):
    m = dirtyfs(HOLD)
    write_file(m.path("f"), data(34, MiB))
    time.sleep(2)
    assert os.stat(m.backing_path("f")).st_blocks == 0
    stats = parse_stats(os.getxattr(m.mnt, "trusted.dirtyfs.stat"))
    assert stats["dirty"] == MiB


def test_writeback_bw_paces_the_flusher(dirtyfs):
    m = dirtyfs(HOLD + ["writeback_bw=1M"])
    write_file(m.path("f"), data(35, 4 * MiB))
    start = time.monotonic()
    os.setxattr(m.mnt, "trusted.dirtyfs.sync", b"/")
    assert time.monotonic() - start >= 2.0


def test_writeback_bw_bursts_stay_within_the_bucket(dirtyfs):
    """writeback_bw lets the flusher write at most 100 ms' worth at once
    (its bucket's depth) beyond the rate: a sync of 3 MiB at 1M/s must not
    start with a pass of WB_PASS_MAX_IOS writes (1.6 MiB at once). Every
    pair of samples of `written` is bounded by the rate over the time
    between them, plus the bucket, one write and room for completions
    that bunch up; a slower machine only writes less."""
    m = dirtyfs(HOLD + ["writeback_bw=1M"])
    write_file(m.path("f"), data(35, 3 * MiB))
    sync = subprocess.Popen(
        ["setfattr", "-n", "trusted.dirtyfs.sync", "-v", "/", m.mnt])
    samples = []
    try:
        while sync.poll() is None:
            before = time.monotonic()
            st = parse_stats(os.getxattr(m.mnt, "trusted.dirtyfs.stat"))
            samples.append((before, time.monotonic(), st["written"]))
            time.sleep(0.01)
    finally:
        sync.wait()
    assert sync.returncode == 0
    assert read_file(m.backing_path("f")) == data(35, 3 * MiB)
    for i, (start, _, first) in enumerate(samples):
        for _, end, last in samples[i:]:
            assert last - first <= MiB * (end - start) + 512 * 1024


def test_writeback_bw_goes_on_while_a_writer_kicks_the_flusher(dirtyfs):
    """Over the background threshold (half of cache_size) every write kicks
    the flusher, which then turns far more often than a byte takes to earn
    at 4K/s (244 us). The bucket must keep the fractions of a byte that the
    turns earn: dropping them, it never fills, and writeback stops for as
    long as anyone writes, an fsync's too. 4 s at 4K/s is 4 pages; a slow
    machine may turn less often, never write less."""
    m = dirtyfs(["cache_size=4M", "dirty_expire=3600", "writeback_bw=4K"])
    fd = os.open(m.path("f"), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        pwrite_all(fd, data(37, 3 * MiB), 0)
        before = parse_stats(os.getxattr(m.mnt, "trusted.dirtyfs.stat"))
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            os.pwrite(fd, b"k", 0)
        after = parse_stats(os.getxattr(m.mnt, "trusted.dirtyfs.stat"))
        assert after["written"] - before["written"] >= 2 * 4096
        # At 4K/s the rest would take minutes to write at unmount.
        os.ftruncate(fd, 0)
    finally:
        os.close(fd)
    assert m.unmount() == 0


def _flusher_ticks(pid):
    """CPU time (user and system, in clock ticks) of the daemon's
    dirtyfs-flush thread so far."""
    for tid in os.listdir("/proc/%d/task" % pid):
        task = "/proc/%d/task/%s/" % (pid, tid)
        with open(task + "comm") as f:
            if f.read().strip() != "dirtyfs-flush":
                continue
        with open(task + "stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    raise AssertionError("no dirtyfs-flush thread in %d" % pid)


def test_flusher_cpu_follows_writeback_bw_with_many_small_files(dirtyfs):
    """15000 dirty 4 KiB files, over the background threshold (half of
    cache_size), at writeback_bw=1M: the bucket pays for one 4 KiB write
    every 4 ms, and the flusher turns that often. A turn used to look at
    every dirty file although it could start one write: half a core to
    write 1 MB/s. Its CPU must follow what it writes: counted in the same
    window as the bytes written, under 10 ticks (100 ms at 100 Hz) per MiB,
    where it took about 45 and now takes about 2."""
    m = dirtyfs(["cache_size=64M", "dirty_expire=3600", "writeback_bw=1M"])
    os.mkdir(m.path("d"))
    for i in range(15000):
        write_file(m.path("d", str(i)), b"s" * 4096)

    def sample():
        st = parse_stats(os.getxattr(m.mnt, "trusted.dirtyfs.stat"))
        return _flusher_ticks(m.proc.pid), st["written"], st["dirty"]

    try:
        ticks0, written0, _ = sample()
        time.sleep(4)
        ticks1, written1, dirty = sample()
    finally:
        # Unlinked files' dirty data is dropped: no minute-long unmount.
        for i in range(15000):
            os.unlink(m.path("d", str(i)))
    # Still over the threshold all along: the flusher had the work.
    assert dirty > 32 * MiB
    written = written1 - written0
    assert written >= 256 * 1024
    print("flusher: %d ticks for %d bytes" % (ticks1 - ticks0, written))
    assert (ticks1 - ticks0) * MiB < 10 * written, (ticks1 - ticks0, written)
    assert m.unmount() == 0


def _fill(backing):
    """Fill the tmpfs at backing with a file of its own."""
    try:
        with open(os.path.join(backing, "filler"), "wb") as f:
            f.write(b"\0" * (64 * MiB))
    except OSError as e:
        assert e.errno == errno.ENOSPC


def test_dirty_files_that_cannot_be_written_hold_one_descriptor(dirtyfs,
                                                               tmpfs):
    """500 closed dirty files and BACKING full: each failed write leaves
    the file dirty, to be tried again after a backoff. Between tries it
    must hold no more descriptors than any closed dirty file (its inode's
    one): a sync tries them all, and the daemon's open descriptors grow by
    less than 50, not by two a file. (They kept their data descriptors until
    clean: at a full disk, dirty files took the descriptors of lookups and
    opens, which then failed EMFILE; and each failure was logged.)"""
    backing = tmpfs("8M")
    m = dirtyfs(["cache_size=64M", "dirty_expire=3600"], backing=backing,
                errors_expected=True, allowed_exit=(0, 1))
    fds = "/proc/%d/fd" % m.proc.pid
    for i in range(500):
        os.close(os.open(m.path(str(i)), os.O_CREAT | os.O_WRONLY))
    _fill(backing)
    before = len(os.listdir(fds))
    try:
        for i in range(500):
            write_file(m.path(str(i)), b"s" * 4096)
        expect_errno(errno.ENOSPC, os.setxattr, m.mnt,
                     "trusted.dirtyfs.sync", b"/")
        grown = len(os.listdir(fds)) - before
    finally:
        for i in range(500):
            os.unlink(m.path(str(i)))
    print("descriptors: %d more" % grown)
    assert grown < 50, grown
    # Logged ten in five seconds, not a line each.
    assert m.unmount() == 0
    assert m.log_text().count("writeback of") == 10


@pytest.mark.optimised  # a CPU figure of the optimised build
def test_flusher_sleeps_while_every_dirty_file_waits_to_retry(dirtyfs,
                                                              tmpfs):
    """10000 dirty 4 KiB files over the background threshold (half of
    cache_size, under the root's hard limit at three quarters), and BACKING
    full: every write fails, and each file waits out its backoff (100 ms,
    doubling to 5 s) before the next try. The flusher looked at every dirty
    file each 20 ms, and again after each batch of failed writes: 53 to 55
    ticks (10 ms) of CPU in 4 s here, with the descriptors fixed (before,
    the files' kept descriptors ran out first). Now it looks when the first
    backoff ends, passing over the files still waiting at a load each, and
    the tries themselves (about 2,000 a second) are most of what is left:
    22 to 27. It must use under 40. The failures are logged ten in five
    seconds, with a count of those left out (were: a line each, thousands
    a second)."""
    backing = tmpfs("8M")
    m = dirtyfs(["cache_size=64M", "dirty_expire=3600"], backing=backing,
                errors_expected=True, allowed_exit=(0, 1))
    os.mkdir(m.path("d"))
    for i in range(10000):
        os.close(os.open(m.path("d", str(i)), os.O_CREAT | os.O_WRONLY))
    _fill(backing)
    try:
        for i in range(10000):
            write_file(m.path("d", str(i)), b"s" * 4096)
        # Let the first tries fail and the backoffs grow.
        time.sleep(2)
        ticks0 = _flusher_ticks(m.proc.pid)
        time.sleep(4)
        ticks = _flusher_ticks(m.proc.pid) - ticks0
        st = parse_stats(os.getxattr(m.mnt, "trusted.dirtyfs.stat"))
    finally:
        # Unlinked files' dirty data is dropped: nothing left to fail but
        # ten files, given up at unmount.
        for i in range(10, 10000):
            os.unlink(m.path("d", str(i)))
    assert st["dirty"] > 32 * MiB and st["written"] < MiB
    print("flusher: %d ticks in 4 s" % ticks)
    assert ticks < 40, ticks
    assert m.unmount() == 1
    log = m.log_text()
    assert log.count("writeback of") <= 30
    assert re.search(r"\d{5,} similar messages left out", log)


def test_remount_reads_what_was_written(dirtyfs):
    first = dirtyfs(HOLD)
    content = data(36, 2 * MiB)
    write_file(first.path("f"), content)
    first.unmount()
    second = dirtyfs(HOLD, backing=first.backing)
    assert read_file(second.path("f")) == content


@pytest.mark.parametrize("max_write,want", [
    (None, 1 << 20), ("max_write=64K", 64 << 10), ("max_write=4K", 4096)])
def test_max_write_sizes_the_write_requests(dirtyfs, max_write, want):
    """One 2 MiB write(2) reaches the daemon as requests of max_write
    bytes (1 MiB by default), counted in libfuse's debug log, whose insize
    is the request: 80 bytes of headers, then the data. The data arrives
    whole whatever the size. Reads go in requests of that size too (the
    kernel sizes them by max_pages, which follows max_write): the replies'
    outsize is 16 bytes of header and the data."""
    m = dirtyfs(["debug"] + ([max_write] if max_write else []),
                errors_expected=True)
    content = os.urandom(2 << 20)
    write_file(m.path("f"), content)
    sizes = [int(x) - 80 for x in re.findall(
        r"opcode: WRITE \(16\), nodeid: \d+, insize: (\d+)", m.log_text())]
    assert sizes and max(sizes) == want
    assert sum(sizes) == len(content)
    assert read_direct(m.path("f"), len(content)) == content
    log = m.log_text()
    reads = set(re.findall(r"unique: (\d+), opcode: READ \(15\)", log))
    replies = [int(size) - 16 for unique, size in re.findall(
        r"unique: (\d+), success, outsize: (\d+)", log) if unique in reads]
    assert replies and max(replies) == want
    assert read_file(m.path("f")) == content


def test_small_max_write_still_takes_the_largest_xattr(dirtyfs, tmpfs):
    """libfuse sizes its request buffers by the max_write it tells the
    kernel, and the kernel fails (E2BIG) a request that does not fit: the
    daemon keeps 1 MiB buffers whatever max_write, so a 64 KiB value (the
    kernel's largest) still goes through at max_write=4K."""
    m = dirtyfs(["max_write=4K"], backing=tmpfs("16M"))
    write_file(m.path("f"), b"")
    value = os.urandom(64 << 10)
    os.setxattr(m.path("f"), "user.big", value)
    assert os.getxattr(m.path("f"), "user.big") == value
    assert os.getxattr(m.backing_path("f"), "user.big") == value


@pytest.mark.parametrize("option,named", [
    ("dirty_limit=x", "dirty_limit="),
    ("dirty_background_limit=101%", "dirty_background_limit="),
    ("cache_size=1M", "cache_size="),
    ("cache_size=12Q", "cache_size="),
    ("cache_size=16777215T", "cache_size="),  # well formed, cannot be had
    ("writeback_interval=0", "writeback_interval="),
    ("dirty_expire=-1", "dirty_expire="),
    ("writeback_bw=fast", "writeback_bw="),
    ("writeback_bw=5", "writeback_bw="),  # a page would take 13 minutes
    ("cgroup=v3", "cgroup="),
    ("max_write=5000", "max_write="),
    ("max_write=2M", "max_write="),
    ("no_such_option", "no_such_option"),
])
def test_malformed_option_refused_at_mount(option, named):
    work = Workdir()
    try:
        done = subprocess.run(
            [BIN, "-f", "-o", option, work.backing, work.mnt],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=MOUNT_TIMEOUT_S)
        assert done.returncode != 0
        assert named in done.stderr
        assert not is_fuse_mount(work.mnt)
    finally:
        work.remove()


def test_missing_backing_refused_at_mount():
    work = Workdir()
    try:
        done = subprocess.run(
            [BIN, "-f", os.path.join(work.root, "nonexistent"), work.mnt],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=MOUNT_TIMEOUT_S)
        assert done.returncode != 0
        assert "nonexistent" in done.stderr
        assert not is_fuse_mount(work.mnt)
    finally:
        work.remove()


def _daemons_serving(mnt):
    """Pids whose command line names mnt (our unique temporary path)."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if os.fsencode(mnt) in argv:
            pids.append(int(pid))
    return pids


def test_mount_fuse3_starts_the_daemon_from_path():
    """mount -t fuse.dirtyfs runs mount.fuse3 exactly so (mount(8) clears
    PATH first, so an installed daemon must be in /bin/sh's default PATH,
    which has /usr/local/sbin). The helper starts "dirtyfs" through /bin/sh
    and the daemon goes to the background once mounted."""
    work = Workdir()
    env = dict(os.environ,
               PATH=os.path.dirname(BIN) + os.pathsep + os.environ["PATH"])
    try:
        subprocess.run(["/sbin/mount.fuse3", work.backing, work.mnt, "-o",
                        "rw,allow_other,dirty_expire=3600", "-t",
                        "fuse.dirtyfs"],
                       env=env, check=True, timeout=MOUNT_TIMEOUT_S)
        assert mount_type(work.mnt) == "fuse.dirtyfs"
        write_file(os.path.join(work.mnt, "f"), b"via mount.fuse3")
        subprocess.run(["umount", work.mnt], check=True)
        # umount returns before the daemon has exited; it must exit.
        assert _wait_for(lambda: not _daemons_serving(work.mnt),
                         EXIT_TIMEOUT_S)
        assert read_file(os.path.join(work.backing, "f")) == \
            b"via mount.fuse3"
    finally:
        if is_fuse_mount(work.mnt):
            subprocess.run(["umount", "-l", work.mnt])
        work.remove()


# --- a full BACKING ---------------------------------------------------------

class closing_fd:
    """Closes fd at the end of the with block unless the test closed it
    through close(); a close error there is not the test's subject."""

    def __init__(self, fd):
        self.fd = fd

    def close(self):
        fd, self.fd = self.fd, None
        os.close(fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            try:
                self.close()
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
        return False


def _write_until_error(fd, total):
    """Write total bytes in 1 MiB pieces; the first OSError, or None."""
    piece = data(37, MiB)
    for off in range(0, total, MiB):
        try:
            pwrite_all(fd, piece, off)
        except OSError as e:
            return e
    return None


def test_enospc_when_cache_fills_with_unwritable_data(dirtyfs, tmpfs):
    """32 MiB into an 8 MiB BACKING through a 4 MiB cache. The daemon may
    exit 1 at unmount: dirty data could not be written back."""
    m = dirtyfs(["cache_size=4M"], backing=tmpfs("8M"), allowed_exit=(0, 1),
                errors_expected=True)
    fd = os.open(m.path("big"), os.O_CREAT | os.O_WRONLY, 0o644)
    with closing_fd(fd):
        err = _write_until_error(fd, 32 * MiB)
        assert err is None or err.errno == errno.ENOSPC, err
        expect_errno(errno.ENOSPC, os.fsync, fd)
    # Still serving requests.
    assert os.listdir(m.mnt) == ["big"]
    write_file(m.path("small"), b"")
    assert parse_stats(os.getxattr(m.mnt, "trusted.dirtyfs.stat"))["dirty"] > 0


def test_enospc_from_sync_and_then_close(dirtyfs, tmpfs):
    """16 MiB fit in the cache; writing them back to an 8 MiB BACKING fails,
    and a file description that has not seen the error gets it at close."""
    m = dirtyfs(HOLD, backing=tmpfs("8M"), allowed_exit=(0, 1),
                errors_expected=True)
    fd = os.open(m.path("big"), os.O_CREAT | os.O_WRONLY, 0o644)
    with closing_fd(fd) as closer:
        assert _write_until_error(fd, 16 * MiB) is None
        expect_errno(errno.ENOSPC, os.setxattr, m.mnt,
                     "trusted.dirtyfs.sync", b"/")
        expect_errno(errno.ENOSPC, closer.close)
    # Truncating frees BACKING's space and drops the unwritable pages.
    os.truncate(m.path("big"), 0)
    write_file(m.path("after"), b"space again")
    os.setxattr(m.mnt, "trusted.dirtyfs.sync", b"/")
    assert read_file(m.backing_path("after")) == b"space again"


# --- a BACKING that refuses writes ------------------------------------------

def _remount(path, mode):
    subprocess.run(["mount", "-o", "remount," + mode, path], check=True)


def test_writeback_resumes_once_backing_is_writable_again(dirtyfs, tmpfs):
    """A closed dirty file's data fds are closed; BACKING goes read-only:
    sync fails with EROFS (writeback had opened the file read-only and
    failed with EBADF, and kept failing so after BACKING was writable
    again, until the data was dropped at unmount). Writable again: sync
    writes it."""
    m = dirtyfs(HOLD, backing=tmpfs("16M"), errors_expected=True)
    content = data(40, MiB + 3)
    write_file(m.path("f"), content)
    _remount(m.backing, "ro")
    try:
        expect_errno(errno.EROFS, os.setxattr, m.mnt, "trusted.dirtyfs.sync",
                     b"/")
    finally:
        _remount(m.backing, "rw")
    os.setxattr(m.mnt, "trusted.dirtyfs.sync", b"/")
    assert read_file(m.backing_path("f")) == content
    assert m.unmount() == 0


def test_unmount_gives_up_data_backing_will_not_open(dirtyfs, tmpfs):
    """At unmount the backing file cannot be opened for writing: the data
    is given up with a message and the daemon exits 1, rather than trying
    for ever (the mount is gone, nothing would change)."""
    m = dirtyfs(HOLD, backing=tmpfs("16M"), allowed_exit=(1,),
                errors_expected=True)
    write_file(m.path("f"), data(41, MiB))
    _remount(m.backing, "ro")
    try:
        assert m.unmount() == 1
    finally:
        _remount(m.backing, "rw")
    assert "data may be lost: " + os.strerror(errno.EROFS) in m.log_text()
