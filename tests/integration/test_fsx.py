"""tests/fsx.py through a mount with a 4 MiB cache over files of 8 MiB, so
pages are written back and evicted all along; BACKING is compared with the
mirror after the unmount."""
import os
import subprocess
import sys

import pytest

from conftest import REPO
from helpers import parse_stats, read_file

FSX = os.path.join(REPO, "tests", "fsx.py")


def _fsx(mount, mirror_dir, *args):
    mirror = os.path.join(mirror_dir, "mirror")
    done = subprocess.run(
        [sys.executable, FSX, mount.path("fsx"), mirror] + list(args),
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    # The file outgrew the cache: the run went through writeback.
    stats = parse_stats(os.getxattr(mount.mnt, "trusted.dirtyfs.stat"))
    assert stats["written"] > 0
    mount.unmount()
    assert read_file(mount.backing_path("fsx")) == read_file(mirror)


@pytest.mark.parametrize("seed", [1, 2])
def test_fsx_random_operations(dirtyfs, tmp_path, seed):
    m = dirtyfs(["cache_size=4M"])
    _fsx(m, tmp_path, "--ops", "3000", "--seed", str(seed))


def test_fsx_random_operations_with_quick_writeback(dirtyfs, tmp_path):
    """The flusher runs every second, racing the operations."""
    m = dirtyfs(["cache_size=4M", "dirty_expire=1", "writeback_interval=1"])
    _fsx(m, tmp_path, "--ops", "3000", "--seed", "3")


def test_fsx_processes_in_disjoint_regions(dirtyfs, tmp_path):
    m = dirtyfs(["cache_size=4M"])
    _fsx(m, tmp_path, "--procs", "4", "--ops", "1000", "--seed", "4")
