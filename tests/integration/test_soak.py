"""The soak: 64 writers in 16 cgroups with different limits, plus readers,
on one mount with a small cache, for SOAK_SECONDS (make soak DURATION=...;
a short run in make test). Writers write, overwrite, truncate, rename,
unlink and fsync their own files and read each back (tests/soak_worker.py).

At the end: every process finished cleanly; every file's content, through
the mount and in BACKING after the unmount, is what its writer left; the
daemon's resident memory stayed within cache_size plus a measured overhead;
and its open descriptors are back to their starting count."""
import hashlib
import json
import os
import sys
import threading
import time

import pytest

from cgroups import CgroupSet, v1_memory_root
from conftest import REPO, require
from helpers import proc_status_bytes

WORKER = os.path.join(REPO, "tests", "soak_worker.py")
SECONDS = float(os.environ.get("SOAK_SECONDS", "15"))
# A sanitised daemon (make tsan) has its own, much larger, memory overhead.
CHECK_RSS = not os.environ.get("DIRTYFS_SANITIZED")
CGROUPS = 16
WRITERS_PER_CGROUP = 4
READERS = 4
CACHE_SIZE = 32 << 20
# The daemon's memory beyond cached data: libfuse's 1 MiB request buffer
# per worker thread (up to 10, plus idle ones), a read buffer per thread,
# held writes (one request per held writer), and the program itself.
OVERHEAD = 96 << 20


def daemon_pid(m):
    return m.proc.pid


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class RssSampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(0.2):
            self.peak = max(self.peak, proc_status_bytes(self.pid, "VmRSS", 0))


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture
def cgs():
    root = v1_memory_root()
    require(root is not None, "no cgroup v1 memory controller mounted")
    s = CgroupSet(root)
    yield s
    s.close()


@pytest.mark.optimised
def test_soak(dirtyfs, cgs):
    m = dirtyfs(["cache_size=%d" % CACHE_SIZE, "writeback_interval=1",
                 "dirty_expire=2"])
    pid = daemon_pid(m)
    fds_before = open_fds(pid)
    groups = [cgs.make("c%d" % i) for i in range(CGROUPS)]
    for i, g in enumerate(groups):
        # 512K .. 8M: the tight ones are held, the loose ones are not.
        os.setxattr(m.mnt, "trusted.dirtyfs.dirty_limit:" + g.cgpath,
                    b"%dK" % (512 << (i % 5)))
    sampler = RssSampler(pid)
    sampler.start()
    procs = []
    for i, g in enumerate(groups):
        for w in range(WRITERS_PER_CGROUP):
            top = m.path("w%d-%d" % (i, w))
            procs.append((top, cgs.spawn(
                g, [sys.executable, WORKER, "writer", top,
                    str(i * 100 + w), str(SECONDS)],
                stdout=-1, stderr=-1)))
    for r in range(READERS):
        procs.append((None, cgs.spawn(
            groups[r], [sys.executable, WORKER, "reader", m.mnt,
                        str(1000 + r), str(SECONDS)],
            stdout=-1, stderr=-1)))
    results = {}
    for top, proc in procs:
        out, err = proc.communicate(timeout=SECONDS + 300)
        assert proc.returncode == 0, (top, err.decode())
        if top:
            results[top] = json.loads(out)
    sampler.done.set()
    sampler.join()

    for top, files in results.items():
        assert sorted(os.listdir(top)) == sorted(files)
        for name, digest in files.items():
            assert sha256_file(os.path.join(top, name)) == digest, name
    # Once clean, and forgotten by the kernel, inodes go with their
    # descriptors.
    os.setxattr(m.mnt, "trusted.dirtyfs.sync", b"/")
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("2")
    deadline = time.monotonic() + 10
    while open_fds(pid) > fds_before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert open_fds(pid) == fds_before
    assert not CHECK_RSS or sampler.peak <= CACHE_SIZE + OVERHEAD, (
        "daemon RSS peaked at %d MiB" % (sampler.peak >> 20))
    m.unmount()
    for top, files in results.items():
        btop = m.backing_path(os.path.basename(top))
        for name, digest in files.items():
            assert sha256_file(os.path.join(btop, name)) == digest, name
