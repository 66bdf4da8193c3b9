"""1 GiB streamed through a 64 MiB cache: every byte must come back, through
the mount and in BACKING. Too slow under ASan: optimised build only."""
import hashlib
import os
import random

import pytest

from helpers import MiB

TOTAL = 1024 * MiB
CHUNK = MiB


def _stream_digest_and_write(fd):
    """Write a deterministic pseudo-random stream; return its sha256."""
    rng = random.Random(1234)
    digest = hashlib.sha256()
    for _ in range(TOTAL // CHUNK):
        chunk = rng.randbytes(CHUNK)
        digest.update(chunk)
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view):]
    return digest.hexdigest()


def _file_digest(path, drop_kernel_cache=False):
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY)
    try:
        if drop_kernel_cache:
            # Reads must reach the daemon, not the kernel's copy.
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        while True:
            chunk = os.read(fd, CHUNK)
            if not chunk:
                break
            digest.update(chunk)
    finally:
        os.close(fd)
    return digest.hexdigest()


@pytest.mark.optimised
def test_one_gib_through_a_small_cache_reads_back_identical(dirtyfs):
    m = dirtyfs(["cache_size=64M"])
    fd = os.open(m.path("stream"), os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        want = _stream_digest_and_write(fd)
    finally:
        os.close(fd)
    assert os.stat(m.path("stream")).st_size == TOTAL
    assert _file_digest(m.path("stream"), drop_kernel_cache=True) == want
    m.unmount()
    assert _file_digest(m.backing_path("stream")) == want
