"""The container recipe of dirtyfs(8), CONTAINERS, followed step by step
(issue 6, item 3).

The host mounts dirtyfs, makes the container's cgroup (v1 memory here:
cgroup=auto names writers by it on these hybrid hosts) and gives it limits
with `dirtyfs limit`. The container is the man page's command: a shell that
moves itself into the cgroup, then `unshare --mount --pid --fork --cgroup
--mount-proc`, which bind-mounts the mount inside its own mount namespace
and runs the payload under `setpriv` without CAP_SYS_ADMIN. The payload
(CONTAINER below, in place of the recipe's interactive bash) writes into
the bind mount, reads its statistics and tries to change its limit, and
reports what it saw as JSON.
"""
import errno
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from cgroups import Cgroup, v1_memory_root
from conftest import BIN, is_fuse_mount, require
from helpers import MiB, data, parse_stats, read_file

PYTHON = "/usr/bin/python3"
HOLD = ["cache_size=64M", "dirty_expire=3600"]
CONTAINER_TIMEOUT_S = 30
RMDIR_RETRY_S = 10
CAP_SYS_ADMIN = 21

# The recipe's two shells, with the host's paths as arguments rather than
# spliced into the text. Outer: $0 cgroup.procs, $1 the inner script,
# $2 the host's mount, $3 the bind target, $4 the payload, $5 the CGPATH.
OUTER = ('echo $$ > "$0" && exec unshare --mount --pid --fork --cgroup '
         '--mount-proc sh -c "$1" "$2" "$3" "$4" "$5"')
INNER = ('mount --bind "$0" "$1" && exec setpriv --bounding-set -sys_admin '
         '--inh-caps -sys_admin ' + PYTHON + ' -c "$2" "$1" "$3"')

# argv: DATA_DIR CGPATH. Writes 1 MiB (not synced: nothing expires), then
# reports its view as JSON.
CONTAINER = r"""
import json, os, random, sys
data_dir, cgpath = sys.argv[1], sys.argv[2]
out = {"pid": os.getpid()}
with open("/proc/self/cgroup") as f:
    out["cgroup"] = [l.strip() for l in f if ":memory:" in l]
with open("/proc/self/status") as f:
    out["capeff"] = [int(l.split()[1], 16) for l in f
                     if l.startswith("CapEff:")][0]
with open("/proc/self/mountinfo") as f:
    out["bind"] = [l.split()[4] for l in f if l.split()[4] == data_dir]
with open(os.path.join(data_dir, "from-the-container"), "wb") as f:
    f.write(random.Random(70).randbytes(1 << 20))
out["stat"] = os.getxattr(data_dir, "user.dirtyfs.stat").decode()
name = "trusted.dirtyfs.dirty_limit:" + cgpath
for what, call in (("set", lambda: os.setxattr(data_dir, name, b"max")),
                   ("remove", lambda: os.removexattr(data_dir, name)),
                   ("get", lambda: os.getxattr(data_dir, name))):
    try:
        call()
        out[what] = 0
    except OSError as e:
        out[what] = e.errno
out["listed"] = os.listxattr(data_dir)
print(json.dumps(out))
"""


class Container:
    """The container's cgroup, its bind target and its processes; cleanup
    kills only what this test started: the recipe's shell (by its pid) and
    whatever is left in the cgroup, which is private to this test."""

    def __init__(self, root, workdir):
        self.cgroup = Cgroup(root, "/ctr-%d" % os.getpid())
        os.mkdir(self.cgroup.dir)
        self.target = os.path.join(workdir, "tenant", "data")
        os.makedirs(self.target)
        self.proc = None

    def run(self, mnt):
        self.proc = subprocess.Popen(
            ["sh", "-c", OUTER, self.cgroup.file("cgroup.procs"), INNER,
             mnt, self.target, CONTAINER, self.cgroup.cgpath],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        try:
            out, err = self.proc.communicate(timeout=CONTAINER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise AssertionError("the container still runs after %d s"
                                 % CONTAINER_TIMEOUT_S) from None
        assert self.proc.returncode == 0, err.decode()
        return json.loads(out)

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        # The pid namespace's init (the child of unshare) outlives a killed
        # unshare: end whatever is left in the cgroup, all of it ours.
        deadline = time.monotonic() + RMDIR_RETRY_S
        while True:
            left = self.cgroup.pids()
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.rmdir(self.cgroup.dir)
                break
            except FileNotFoundError:
                break
            except OSError as e:
                if e.errno != errno.EBUSY or time.monotonic() > deadline:
                    raise AssertionError("cgroup %s left behind: %s (tasks "
                                         "%s)" % (self.cgroup.dir,
                                                  e.strerror, left))
                time.sleep(0.05)
        if self.proc:
            self.proc.wait(timeout=CONTAINER_TIMEOUT_S)
            for stream in (self.proc.stdout, self.proc.stderr):
                stream.close()
        # The bind mount lived in the container's mount namespace only.
        assert not is_fuse_mount(self.target), "bind mount left on the host"


@pytest.fixture
def container(dirtyfs, tmp_path):
    """Set up after the mount fixture, so torn down before it: a mount
    namespace still holding the mount would keep the daemon from exiting."""
    root = v1_memory_root()
    require(root is not None, "no cgroup v1 memory controller mounted")
    require(os.geteuid() == 0, "the recipe runs as root")
    for tool in ("unshare", "setpriv"):
        require(shutil.which(tool) is not None,
                tool + " (util-linux) is not installed")
    c = Container(root, str(tmp_path))
    yield c
    c.close()


def test_container_is_charged_sees_its_own_figures_and_cannot_change_its_limit(
        dirtyfs, container):
    m = dirtyfs(HOLD)
    cgpath = container.cgroup.cgpath
    done = subprocess.run([BIN, "limit", m.mnt, cgpath, "64M", "32M"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # A cgroup that writes nothing on the host shows the limits at once.
    host_before = parse_stats(
        os.getxattr(m.mnt, "trusted.dirtyfs.stat:" + cgpath))
    assert host_before["dirty"] == 0

    seen = container.run(m.mnt)

    # It ran as the recipe says: pid 1 of its own pid namespace, its
    # cgroup the root of its own cgroup namespace, CAP_SYS_ADMIN dropped,
    # the bind mount in place.
    assert seen["pid"] == 1
    assert seen["cgroup"] and all(line.endswith(":memory:/")
                                  for line in seen["cgroup"]), seen["cgroup"]
    assert not seen["capeff"] & (1 << CAP_SYS_ADMIN)
    assert seen["bind"] == [container.target]

    # Its write was charged to its cgroup, and user.dirtyfs.stat showed it
    # that cgroup's figures: its own data and the limits the host set.
    own = parse_stats(seen["stat"].encode())
    assert own["dirty"] == MiB
    assert own["dirty_limit"] == 64 * MiB
    assert own["dirty_background_limit"] == 32 * MiB
    host = parse_stats(os.getxattr(m.mnt, "trusted.dirtyfs.stat:" + cgpath))
    assert host["dirty"] == own["dirty"]
    assert host["dirty_limit"] == own["dirty_limit"]
    assert cgpath in os.getxattr(m.mnt, "trusted.dirtyfs.cgroups") \
        .decode().split("\n")

    # It could neither change its limit nor see the configuration: the VFS
    # refuses trusted.* changes without CAP_SYS_ADMIN (EPERM) and hides
    # their values (ENODATA); dirtyfs lists them to privileged callers only.
    assert seen["set"] == errno.EPERM
    assert seen["remove"] == errno.EPERM
    assert seen["get"] == errno.ENODATA
    assert not [n for n in seen["listed"] if "dirtyfs" in n], seen["listed"]
    assert os.getxattr(m.mnt, "trusted.dirtyfs.dirty_limit:" + cgpath) == \
        b"67108864"

    # The host's `dirtyfs stat` shows the container's cgroup with its limit.
    done = subprocess.run([BIN, "stat", m.mnt, "--json"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout)["cgroups"][cgpath]
    assert row["dirty"] == MiB and row["dirty_limit"] == 64 * MiB

    # The data is the container's, through the host's mount and in BACKING.
    want = data(70, MiB)
    assert read_file(m.path("from-the-container")) == want
    os.setxattr(m.mnt, "trusted.dirtyfs.sync", cgpath.encode())
    assert read_file(m.backing_path("from-the-container")) == want
    assert parse_stats(os.getxattr(
        m.mnt, "trusted.dirtyfs.stat:" + cgpath))["written"] >= MiB
