"""The administrator's side: the stat, sync and limit subcommands, the
install layout, and mounting from an fstab line through mount(8)."""
import errno
import json
import os
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import (BIN, EXIT_TIMEOUT_S, MOUNT_TIMEOUT_S, POLL_S, REPO,
                      Workdir, is_fuse_mount, mount_type, require)
from helpers import MiB, NOBODY, data, expect_errno, read_file, write_file

HOLD = ["cache_size=64M", "dirty_expire=3600"]
FS_KEYS = {"cache_bytes", "cache_size", "dirty", "writeback", "written",
           "shared_inodes"}
CG_KEYS = {"dirty", "writeback", "dirty_limit", "dirty_background_limit",
           "written", "throttled_usec", "throttle_events"}
NO_LIMIT = 2**64 - 1
CLI_TIMEOUT_S = 30


def cli(*args, user=None):
    """Run `dirtyfs ARGS`; the CompletedProcess (text)."""
    kwargs = {}
    if user is not None:
        kwargs = {"user": user, "group": user, "extra_groups": []}
    return subprocess.run([BIN] + list(args), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True,
                          timeout=CLI_TIMEOUT_S, **kwargs)


def ok(*args):
    done = cli(*args)
    assert done.returncode == 0, (args, done.stderr)
    assert done.stderr == ""
    return done.stdout


def fails(expected, *args, user=None):
    """dirtyfs ARGS must exit 1 with expected in its message."""
    done = cli(*args, user=user)
    assert done.returncode == 1, (args, done.stdout, done.stderr)
    assert expected in done.stderr, done.stderr


def stat_json(m):
    return json.loads(ok("stat", m.mnt, "--json"))


def table_rows(text):
    """{CGPATH: [column, ...]} of a `dirtyfs stat` table."""
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines)
                  if line.startswith("CGROUP"))
    return {line.split()[0]: line.split()[1:] for line in lines[header + 1:]}


# --- a cgroup of our own -----------------------------------------------------

def memory_hierarchy():
    """(directory, cgroup= mode) of the hierarchy that cgroup=auto takes:
    v2 where its memory controller is enabled, else v1's memory controller."""
    try:
        with open("/sys/fs/cgroup/cgroup.controllers") as f:
            if "memory" in f.read().split():
                return "/sys/fs/cgroup", "unified"
    except FileNotFoundError:
        pass
    if os.path.exists("/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        return "/sys/fs/cgroup/memory", "memory"
    return None, None


@pytest.fixture
def cgroup():
    """A fresh cgroup: (its directory, its CGPATH, the cgroup= mode)."""
    root, mode = memory_hierarchy()
    require(os.geteuid() == 0 and root is not None,
            "needs root and a memory cgroup hierarchy")
    cgpath = "/dirtyfs-cli-%d" % os.getpid()
    os.mkdir(root + cgpath)
    try:
        yield root + cgpath, cgpath, mode
    finally:
        deadline = time.monotonic() + 10
        while True:
            try:
                os.rmdir(root + cgpath)
                break
            except OSError as e:
                if e.errno != errno.EBUSY or time.monotonic() > deadline:
                    raise
                time.sleep(POLL_S)


def write_from(cgroup_dir, path, content):
    """Write content to path from a child process inside cgroup_dir."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            with open(os.path.join(cgroup_dir, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
            write_file(path, content)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


# --- dirtyfs stat --------------------------------------------------------------

def test_stat_shows_a_cgroup_once_it_has_written(dirtyfs, cgroup):
    cg_dir, cgpath, mode = cgroup
    m = dirtyfs(HOLD + ["cgroup=" + mode])
    before = table_rows(ok("stat", m.mnt))
    assert "/" in before and cgpath not in before
    write_from(cg_dir, m.path("f"), data(60, MiB))
    rows = table_rows(ok("stat", m.mnt))
    # CGROUP DIRTY WRITEBACK LIMIT BG_LIMIT WRITTEN THROTTLED EVENTS
    assert rows[cgpath][:2] == ["1.0M", "0"], rows[cgpath]
    assert rows[cgpath][5:] == ["0.0s", "0"], rows[cgpath]
    cgroups = stat_json(m)["cgroups"]
    assert cgroups[cgpath]["dirty"] == MiB
    assert cgroups["/"]["dirty"] >= MiB
    ok("sync", m.mnt)


def test_stat_json_has_every_key_as_a_number(dirtyfs):
    m = dirtyfs(HOLD + ["dirty_limit=max"])
    write_file(m.path("f"), data(61, MiB))
    os.setxattr(m.mnt, "trusted.dirtyfs.dirty_limit:/unmade", b"max")
    st = stat_json(m)
    assert set(st) == {"filesystem", "cgroups"}
    assert FS_KEYS <= set(st["filesystem"])
    assert st["filesystem"]["dirty"] == MiB
    assert "/" in st["cgroups"]
    for cgpath, keys in st["cgroups"].items():
        assert CG_KEYS <= set(keys), cgpath
        assert all(type(v) is int for v in keys.values()), cgpath
    assert st["cgroups"]["/unmade"]["dirty_limit"] == NO_LIMIT
    assert table_rows(ok("stat", m.mnt))["/unmade"][2] == "max"
    # The root's limits are capped by the cache's (3/4 and 1/2 of it).
    assert st["cgroups"]["/"]["dirty_limit"] == 48 * MiB
    assert st["cgroups"]["/"]["dirty_background_limit"] == 32 * MiB


def test_stat_watch_repeats_until_sigint(mnt):
    for args, count in ((["--json"], lambda out: _json_objects(out)),
                        ([], lambda out: out.count("CGROUP"))):
        proc = subprocess.Popen(
            [BIN, "stat", mnt.mnt, "--watch", "0.2"] + args,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=CLI_TIMEOUT_S)
        assert proc.returncode == 0, err
        assert count(out) >= 3, out


def _json_objects(text):
    """How many JSON objects follow each other in text."""
    decoder = json.JSONDecoder()
    pos, n = 0, 0
    while text[pos:].strip():
        obj, pos = decoder.raw_decode(text, pos)
        assert "cgroups" in obj
        while pos < len(text) and text[pos].isspace():
            pos += 1
        n += 1
    return n


def test_stat_refuses_what_is_not_a_dirtyfs_root(mnt):
    write_file(mnt.path("f"), b"x")
    for path in (mnt.work.root, mnt.path("f"), mnt.backing):
        fails("not a dirtyfs mount", "stat", path)
    fails("No such file", "stat", mnt.path("missing"))
    fails("expected MNT", "stat")
    fails("--watch", "stat", mnt.mnt, "--watch", "0")


def test_unprivileged_caller_is_told_it_lacks_cap_sys_admin(mnt):
    require(os.geteuid() == 0, "running as another user needs root")
    fails("permission denied (needs CAP_SYS_ADMIN)", "stat", mnt.mnt,
          user=NOBODY)
    fails("permission denied (needs CAP_SYS_ADMIN)", "limit", mnt.mnt, "/",
          "1M", user=NOBODY)
    expect_errno(errno.ENODATA, os.getxattr, mnt.mnt,
                 "trusted.dirtyfs.dirty_limit:/")


def test_help_lists_the_subcommands():
    out = ok("--help")
    for usage in ("dirtyfs stat MNT [--json] [--watch SECONDS]",
                  "dirtyfs sync MNT [CGPATH]",
                  "dirtyfs limit MNT CGPATH [LIMIT [BACKGROUND]]"):
        assert usage in out


# --- dirtyfs sync ----------------------------------------------------------------

def test_sync_writes_everything_back(dirtyfs):
    m = dirtyfs(HOLD)
    content = data(62, 3 * MiB + 5)
    write_file(m.path("f"), content)
    assert os.stat(m.backing_path("f")).st_blocks == 0
    assert ok("sync", m.mnt) == ""
    assert read_file(m.backing_path("f")) == content
    assert stat_json(m)["filesystem"]["dirty"] == 0


def test_sync_of_one_cgroup(dirtyfs, cgroup):
    cg_dir, cgpath, mode = cgroup
    m = dirtyfs(HOLD + ["cgroup=" + mode])
    content = data(63, 2 * MiB)
    write_from(cg_dir, m.path("f"), content)
    ok("sync", m.mnt, cgpath)
    assert read_file(m.backing_path("f")) == content
    assert stat_json(m)["cgroups"][cgpath]["written"] == 2 * MiB


def test_sync_errors(mnt):
    fails("no such cgroup", "sync", mnt.mnt, "/no-such-cgroup-here")
    fails("not a cgroup path", "sync", mnt.mnt, "relative")
    fails("not a dirtyfs mount", "sync", mnt.work.root)


# --- dirtyfs limit -----------------------------------------------------------------

def limit_lines(m, cgpath):
    """{key: (effective, origin)} from `dirtyfs limit MNT CGPATH`."""
    lines = {}
    for line in ok("limit", m.mnt, cgpath).splitlines():
        key, effective, origin = line.split(None, 2)
        lines[key] = (effective, origin)
    return lines


def test_limit_set_show_and_back_to_default(dirtyfs, cgroup):
    """On a cgroup other than the root, whose limits the cache caps."""
    _, cgpath, mode = cgroup
    m = dirtyfs(HOLD + ["cgroup=" + mode, "dirty_limit=64M",
                        "dirty_background_limit=32M"])
    assert limit_lines(m, cgpath) == {
        "dirty_limit": ("64.0M", "default"),
        "dirty_background_limit": ("32.0M", "default")}
    assert ok("limit", m.mnt, cgpath, "16M", "50%") == ""
    assert os.getxattr(m.mnt, "trusted.dirtyfs.dirty_limit:" + cgpath) == \
        b"16777216"
    assert os.getxattr(
        m.mnt, "trusted.dirtyfs.dirty_background_limit:" + cgpath) == b"50%"
    lines = limit_lines(m, cgpath)
    assert lines["dirty_limit"] == ("16.0M", "own 16777216")
    assert lines["dirty_background_limit"][1] == "own 50%"
    ok("limit", m.mnt, cgpath, "default")
    expect_errno(errno.ENODATA, os.getxattr, m.mnt,
                 "trusted.dirtyfs.dirty_limit:" + cgpath)
    assert limit_lines(m, cgpath)["dirty_limit"] == ("64.0M", "default")
    ok("limit", m.mnt, cgpath, "max", "default")
    assert limit_lines(m, cgpath) == {
        "dirty_limit": ("max", "own max"),
        "dirty_background_limit": ("32.0M", "default")}


def test_limit_default_without_a_limit_of_its_own_succeeds(mnt):
    ok("limit", mnt.mnt, "/", "default", "default")


def test_invalid_limit_changes_nothing(dirtyfs):
    m = dirtyfs(HOLD)
    ok("limit", m.mnt, "/", "8M")
    for bad in ("bogus", "0%", "101%", "12Q", "-1"):
        fails("invalid limit", "limit", m.mnt, "/", bad)
        fails("invalid limit", "limit", m.mnt, "/", "4M", bad)
    assert os.getxattr(m.mnt, "trusted.dirtyfs.dirty_limit:/") == b"8388608"
    expect_errno(errno.ENODATA, os.getxattr, m.mnt,
                 "trusted.dirtyfs.dirty_background_limit:/")


def test_limit_errors(mnt):
    fails("no such cgroup", "limit", mnt.mnt, "/no-such-cgroup-here")
    fails("not a cgroup path", "limit", mnt.mnt, "a/b", "1M")
    fails("not a dirtyfs mount", "limit", mnt.work.root, "/")
    fails("expected MNT CGPATH", "limit", mnt.mnt)


# --- installing and mounting -------------------------------------------------------

def test_install_layout():
    dest = tempfile.mkdtemp(prefix="dirtyfs-install-", dir="/tmp")
    try:
        subprocess.run(["make", "-s", "-C", REPO, "install",
                        "DESTDIR=" + dest, "PREFIX=/usr/local"],
                       check=True, capture_output=True, timeout=600)
        installed = sorted(os.path.relpath(os.path.join(d, f), dest)
                           for d, _, files in os.walk(dest) for f in files)
        assert installed == ["usr/local/sbin/dirtyfs",
                             "usr/local/share/man/man8/dirtyfs.8"]
        sbin = os.path.join(dest, "usr/local/sbin/dirtyfs")
        man = os.path.join(dest, "usr/local/share/man/man8/dirtyfs.8")
        assert os.stat(sbin).st_mode & 0o777 == 0o755
        assert os.stat(man).st_mode & 0o777 == 0o644
        version = subprocess.run([sbin, "--version"], capture_output=True,
                                 text=True, check=True).stdout
        assert version.startswith("dirtyfs ")
    finally:
        subprocess.run(["rm", "-rf", dest], check=True)


def _daemon_pids(mnt):
    """Pids of the daemons whose command line names mnt (a unique path)."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if os.fsencode(mnt) in f.read().split(b"\0"):
                    pids.append(int(pid))
        except OSError:
            continue
    return pids


def _wait_gone(pids):
    deadline = time.monotonic() + EXIT_TIMEOUT_S
    while any(os.path.exists("/proc/%d" % p) for p in pids):
        assert time.monotonic() < deadline, "daemon still running: %s" % pids
        time.sleep(POLL_S)


def test_fstab_line_mounts_through_mount8():
    """An fstab line with the options mount(8) and mount.fuse3 keep for
    themselves (nofail, _netdev, noauto): mount -T FSTAB MNT. Type "fuse"
    with source DAEMON#BACKING names the daemon by path, as mount.fuse3
    allows, so the test needs nothing installed."""
    require(os.geteuid() == 0, "mount(8) needs root")
    work = Workdir()
    fstab = os.path.join(work.root, "fstab")
    with open(fstab, "w") as f:
        f.write("%s#%s %s fuse allow_other,nofail,_netdev,noauto,"
                "dirty_limit=32M,dirty_expire=3600 0 0\n"
                % (BIN, work.backing, work.mnt))
    pids = []
    try:
        subprocess.run(["mount", "-T", fstab, work.mnt], check=True,
                       capture_output=True, timeout=MOUNT_TIMEOUT_S)
        assert mount_type(work.mnt) == "fuse.dirtyfs"
        pids = _daemon_pids(work.mnt)
        root = json.loads(ok("stat", work.mnt, "--json"))["cgroups"]["/"]
        assert root["dirty_limit"] == 32 * MiB
        write_file(os.path.join(work.mnt, "f"), b"from fstab")
        assert os.stat(os.path.join(work.backing, "f")).st_blocks == 0
        subprocess.run(["umount", work.mnt], check=True, timeout=60)
        _wait_gone(pids)
        assert read_file(os.path.join(work.backing, "f")) == b"from fstab"
    finally:
        if is_fuse_mount(work.mnt):
            subprocess.run(["umount", "-l", work.mnt])
        for pid in pids:
            if os.path.exists("/proc/%d" % pid):
                os.kill(pid, signal.SIGKILL)
        _wait_gone(pids)
        work.remove()


def test_mount_fuse3_reports_the_daemons_message():
    """A malformed option: mount.fuse3 fails with the daemon's message and
    nothing is mounted."""
    work = Workdir()
    env = dict(os.environ,
               PATH=os.path.dirname(BIN) + os.pathsep + os.environ["PATH"])
    try:
        done = subprocess.run(
            ["/sbin/mount.fuse3", work.backing, work.mnt, "-o",
             "rw,nofail,allow_other,dirty_limit=lots", "-t",
             "fuse." + os.path.basename(BIN)],
            env=env, capture_output=True, text=True,
            timeout=MOUNT_TIMEOUT_S)
        assert done.returncode != 0
        assert "dirty_limit=" in done.stderr, done.stderr
        assert not is_fuse_mount(work.mnt)
    finally:
        if is_fuse_mount(work.mnt):
            subprocess.run(["umount", "-l", work.mnt])
        work.remove()
