"""Per-cgroup dirty accounting and limits, with real cgroups and real writer
processes (interface.md, "Cgroups" and "Control and statistics").

The machines are hybrid hosts: cgroup=auto names writers by their v1 memory
cgroup, so most tests need v1's memory controller; cgroups.py makes the
cgroups (under a private parent, e.g. /dfs-test-1234-1/A) and starts the
writers in them. Statistics are sampled through getxattr while the writers
run: peaks are bounded from above by what the contract allows, never timed.

Fixture order matters for cleanup: the cgroups' directories are made before
the mounts and removed after them, while the writers are killed before the
unmount (a writer held by a daemon that hangs is released by its unmount).
Tests therefore name `cg` before `dirtyfs`.
"""
import errno
import os
import re
import signal
import subprocess
import time

import pytest

from cgroups import (CgroupSet, as_nobody_in, percent_of, physical_memory,
                     unified_root, v1_memory_root)
from conftest import REPO, require
from helpers import (MiB, data, expect_errno, parse_stats, proc_status_bytes,
                     read_file, write_file)

PYTHON = "/usr/bin/python3"
WRITER = os.path.join(REPO, "tests", "cgroup_writer.py")
MAX = (1 << 64) - 1
CGROUP_KEYS = {"dirty", "writeback", "dirty_limit", "dirty_background_limit",
               "written", "throttled_usec", "throttle_events"}
# Nothing expires and the cache never fills: dirty data stays dirty unless a
# limit makes it go.
HOLD = ["cache_size=512M", "dirty_expire=3600"]
WRITERS_TIMEOUT_S = 60  # liveness bound for a group of writers
SAMPLE_S = 0.01


# --- fixtures ----------------------------------------------------------------

def _cgroup_set(root, why):
    require(root is not None, why)
    require(os.geteuid() == 0, "making cgroups needs root")
    cgs = CgroupSet(root)
    yield cgs
    cgs.close()


@pytest.fixture
def _v1_cgroups():
    """Set up before the mounts, torn down after them: removes the cgroups
    (after reaping any writer an unmount had to release)."""
    yield from _cgroup_set(v1_memory_root(),
                           "no cgroup v1 memory controller mounted")


@pytest.fixture
def _v2_cgroups():
    yield from _cgroup_set(unified_root(), "no cgroup v2 hierarchy mounted")


def _kill_writers(cgs):
    stuck = cgs.stop_processes(timeout=30)
    assert not stuck, "writers not reaped within 30 s: %s" % stuck


@pytest.fixture
def cg(_v1_cgroups, dirtyfs):
    """A CgroupSet in v1's memory hierarchy. Its writers are killed and
    reaped before the mounts go."""
    yield _v1_cgroups
    _kill_writers(_v1_cgroups)


@pytest.fixture
def cg2(_v2_cgroups, dirtyfs):
    """The same in the cgroup v2 hierarchy."""
    yield _v2_cgroups
    _kill_writers(_v2_cgroups)


# --- helpers -----------------------------------------------------------------

def _cpu_ticks(pid):
    """CPU time of process pid so far, user and system, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def stat(m, cgroup=None):
    """A cgroup's statistics (trusted.dirtyfs.stat:CGPATH), or the
    filesystem's with cgroup None."""
    name = "trusted.dirtyfs.stat"
    if cgroup is not None:
        name += ":" + str(cgroup)
    return parse_stats(os.getxattr(m.mnt, name))


def stat_in_child(cgs, m, cgroup, timeout=10):
    """stat(), read by getfattr(1) in a child: a daemon that does not
    answer fails the caller after timeout instead of hanging it. The child
    (stuck in its request then) is left to cgs to reap after the unmount."""
    proc = subprocess.Popen(
        ["getfattr", "--absolute-names", "--only-values", "-n",
         "trusted.dirtyfs.stat:%s" % cgroup, m.mnt],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    cgs.procs.append(proc)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the daemon did not answer getxattr in %d s"
                             % timeout) from None
    assert proc.returncode == 0, err
    return parse_stats(out)


def set_limit(m, kind, cgroup, value):
    os.setxattr(m.mnt, "trusted.dirtyfs.%s:%s" % (kind, cgroup),
                value.encode())


def get_limit(m, kind, cgroup):
    return os.getxattr(m.mnt, "trusted.dirtyfs.%s:%s" % (kind, cgroup))


def sync_cgroup(m, cgroup):
    """trusted.dirtyfs.sync through setfattr(1), as the interface shows."""
    subprocess.run(["setfattr", "-n", "trusted.dirtyfs.sync", "-v",
                    str(cgroup), m.mnt], check=True)


def tracked(m):
    return os.getxattr(m.mnt, "trusted.dirtyfs.cgroups").decode().splitlines()


def writer(path, size, bs=MiB, seed=None, offset=0, no_trunc=False,
           do_fsync=False):
    argv = [PYTHON, WRITER, path, "--size", str(size), "--bs", str(bs)]
    if seed is not None:
        argv += ["--seed", str(seed)]
    if offset:
        argv += ["--offset", str(offset)]
    if no_trunc:
        argv.append("--no-trunc")
    if do_fsync:
        argv.append("--fsync")
    return argv


def dd(path, bs, count):
    return ["dd", "if=/dev/zero", "of=" + path, "bs=" + bs,
            "count=" + str(count), "status=none"]


def spawn(cgs, cgroup, argv):
    return cgs.spawn(cgroup, argv, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)


def check_done(procs):
    """Every writer exited 0 (reaping them), within WRITERS_TIMEOUT_S."""
    deadline = time.monotonic() + WRITERS_TIMEOUT_S
    for p in procs:
        out, err = p.communicate(
            timeout=max(0.1, deadline - time.monotonic()))
        assert p.returncode == 0, (p.args, p.returncode, err)


def watch(m, cgroup, procs, timeout=WRITERS_TIMEOUT_S, sample=None):
    """Sample cgroup's statistics until every process of procs has exited;
    returns the peak of each key. sample(stats) is called on each sample
    as well. Fails if the writers are not done within timeout."""
    peak = {}
    deadline = time.monotonic() + timeout
    while True:
        st = stat(m, cgroup)
        for key, value in st.items():
            peak[key] = max(peak.get(key, 0), value)
        if sample:
            sample(st)
        if all(p.poll() is not None for p in procs):
            return peak
        if time.monotonic() > deadline:
            raise AssertionError("writers still running after %d s; last %s"
                                 % (timeout, st))
        time.sleep(SAMPLE_S)


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("not within %s s: %s" % (timeout, what))
        time.sleep(0.05)


def trace_lines(path, event):
    try:
        with open(path) as f:
            return [line for line in f if line.split()[1:2] == [event]]
    except FileNotFoundError:
        return []


def wchan(pid):
    try:
        with open("/proc/%d/wchan" % pid) as f:
            return f.read()
    except OSError:
        return ""


def in_fuse_request(pid):
    """Is pid waiting for a FUSE reply? (wchan names the kernel function.)"""
    return wchan(pid) in ("request_wait_answer", "fuse_simple_request")


# --- attribution and hierarchy -----------------------------------------------

def test_write_is_charged_to_the_writers_v1_memory_cgroup(cg, dirtyfs):
    m = dirtyfs(HOLD)
    a, b = cg.make("A"), cg.make("B")
    cg.run(a, writer(m.path("f"), 3 * MiB, seed=1))

    st = stat(m, a)
    assert st["dirty"] == 3 * MiB and st["written"] == 0
    assert CGROUP_KEYS <= set(st)
    assert stat(m, b)["dirty"] == 0, "charged to a sibling"
    assert stat(m, cg.make(""))["dirty"] == 3 * MiB, "not in the parent"
    assert stat(m, "/")["dirty"] == 3 * MiB
    assert a.cgpath in tracked(m)

    sync_cgroup(m, a)
    st = stat(m, a)
    assert st["dirty"] == 0 and st["writeback"] == 0
    assert st["written"] >= 3 * MiB
    assert read_file(m.backing_path("f")) == data(1, 3 * MiB)


def test_write_is_charged_to_the_writers_cgroup_with_cgroup_unified(
        cg2, dirtyfs):
    m = dirtyfs(HOLD + ["cgroup=unified"])
    a = cg2.make("A")
    cg2.run(a, writer(m.path("f"), 2 * MiB))
    st = stat(m, a)
    assert st["dirty"] == 2 * MiB
    # No memory controller in v2 on a hybrid host: % of physical memory.
    assert st["dirty_limit"] == percent_of(physical_memory(), 20)
    assert a.cgpath in tracked(m)


def test_a_writer_thousands_of_cgroups_deep_is_charged(cg2, dirtyfs):
    """A tenant with a delegated subtree can nest cgroups as deep as a
    CGPATH's 4095 bytes allow, about 2000 levels. Its writes are charged to
    its ancestor 32 levels down (the CGPATH an xattr name could hold
    anyway), which it reads as its own statistics, and the daemon stays
    idle. (Its first write took a stack frame of a CGPATH's size a level on
    a FUSE worker, and the daemon died of SIGSEGV; with that fixed, the
    once-a-second refresh of 2000 tracked levels, each read through a path
    as deep, took 190 ticks of CPU in 3 s.)"""
    m = dirtyfs(HOLD + ["cgroup=unified"])
    # Made by absolute path: cgroupfs's mount point counts too.
    depth = (4095 - len(cg2.root + cg2.base + "/cgroup.procs")) // 2
    assert depth > 2000
    deep = cg2.make("/".join(["x"] * depth))
    top = cg2.make("/".join(["x"] * 31))
    cg2.run(deep, writer(m.path("f"), MiB))
    own = cg2.run(deep, ["getfattr", "--only-values", "-n",
                         "user.dirtyfs.stat", m.mnt]).stdout
    assert parse_stats(own)["dirty"] == MiB
    assert stat(m, top)["dirty"] == MiB
    assert top.cgpath + "/x" not in tracked(m)
    ticks0 = _cpu_ticks(m.proc.pid)
    time.sleep(3)
    ticks = _cpu_ticks(m.proc.pid) - ticks0
    print("daemon: %d ticks in 3 s" % ticks)
    assert ticks < 20, ticks


_REUSE_PID = r"""
import os, sys
x, path = int(sys.argv[1]), sys.argv[2]
for _ in range(50):
    with open("/proc/sys/kernel/ns_last_pid", "w") as f:
        f.write(str(x - 1))
    pid = os.fork()
    if pid == 0:
        if os.getpid() != x:
            os._exit(3)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        os.pwrite(fd, b"b" * (1 << 20), 0)
        own = os.getxattr(os.path.dirname(path), "user.dirtyfs.stat")
        print(own.decode().split("dirty ")[1].split()[0])
        os._exit(0)
    if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0:
        sys.exit(0)
sys.exit("pid %d not had again" % x)
"""


def test_a_reused_pid_is_charged_to_its_new_task_s_cgroup(cg, dirtyfs):
    """A writer in A exits and its pid is handed, well within the pid
    cache's second, to a process in B (ns_last_pid, as CRIU does; a thread
    storm wrapping pid_max 32768 does it in under a second here). B's
    write is B's, and so are the statistics it reads as its own. (Both were
    A's: the cache knew the pid, not the task.)"""
    m = dirtyfs(HOLD)
    a, b = cg.make("A"), cg.make("B")
    done = cg.run(a, ["python3", "-c", "import os; fd = os.open(%r, "
                      "os.O_WRONLY | os.O_CREAT, 0o644); os.pwrite(fd, "
                      "b'a' * (1 << 20), 0); print(os.getpid())"
                      % m.path("fa")])
    reused = cg.run(b, ["python3", "-c", _REUSE_PID,
                        done.stdout.decode().strip(), m.path("fb")])
    assert int(reused.stdout) == MiB  # its own figures: B's
    assert stat(m, a)["dirty"] == MiB
    assert stat(m, b)["dirty"] == MiB


def test_mmap_writes_are_charged_to_the_cgroup_that_opened_the_file(
        cg, dirtyfs):
    """Shared-mapping writes reach dirtyfs from the kernel's writeback, pid
    0: the opener's cgroup is the one to charge."""
    m = dirtyfs(HOLD)
    w = cg.make("W")
    cg.run(w, writer(m.path("f"), MiB, seed=4) + ["--mmap"])
    # msync(MS_SYNC) sends the pages and an fsync: they are written back.
    st = stat(m, w)
    assert st["written"] == MiB and st["dirty"] == 0
    assert stat(m, "/")["written"] == MiB, "charged elsewhere too"
    assert read_file(m.backing_path("f")) == data(4, MiB)


def test_parent_sums_its_children_and_its_limit_holds_them_together(
        cg, dirtyfs):
    m = dirtyfs(HOLD + ["writeback_bw=4M"])
    p, c1, c2 = cg.make("P"), cg.make("P/c1"), cg.make("P/c2")
    cg.run(c1, writer(m.path("a"), 2 * MiB))
    cg.run(c2, writer(m.path("b"), 3 * MiB))
    assert stat(m, c1)["dirty"] == 2 * MiB
    assert stat(m, c2)["dirty"] == 3 * MiB
    assert stat(m, p)["dirty"] == 5 * MiB
    sync_cgroup(m, p)
    assert stat(m, p)["dirty"] == 0

    limit, bs = 4 * MiB, MiB
    set_limit(m, "dirty_limit", p, "4M")
    procs = [spawn(cg, c, writer(m.path("w%d" % i), 8 * MiB, bs))
             for i, c in enumerate((c1, c2))]
    peak = watch(m, p, procs)
    check_done(procs)
    assert peak["dirty"] <= limit + len(procs) * bs
    st1, st2, stp = stat(m, c1), stat(m, c2), stat(m, p)
    # The children have no limit of their own: only /P's holds them.
    assert st1["dirty_limit"] > 100 * limit
    assert st1["throttle_events"] > 0 and st2["throttle_events"] > 0
    assert stp["throttle_events"] == (st1["throttle_events"] +
                                      st2["throttle_events"])
    assert stp["throttled_usec"] >= st1["throttled_usec"]


# --- limits ------------------------------------------------------------------

@pytest.mark.parametrize("nr_writers", [1, 4])
def test_dirty_limit_holds_and_data_arrives_intact(cg, dirtyfs, nr_writers):
    m = dirtyfs(HOLD + ["writeback_bw=4M"])
    a = cg.make("A")
    limit, bs, total = 8 * MiB, MiB, 24 * MiB
    size = total // nr_writers
    set_limit(m, "dirty_limit", a, "8M")
    procs = [spawn(cg, a, writer(m.path("f%d" % i), size, bs, seed=10 + i))
             for i in range(nr_writers)]
    peak = watch(m, a, procs)
    check_done(procs)
    assert peak["dirty"] <= limit + nr_writers * bs
    # It was exercised: 24 MiB at 4 MiB/s cannot be written back meanwhile.
    assert peak["dirty"] >= limit // 2
    st = stat(m, a)
    assert st["throttle_events"] > 0 and st["throttled_usec"] > 0
    assert st["dirty_limit"] == limit
    assert m.unmount() == 0
    for i in range(nr_writers):
        assert read_file(m.backing_path("f%d" % i)) == data(10 + i, size)


def test_held_writers_go_back_one_at_a_time(cg, dirtyfs):
    """16 dd writers of one cgroup at its limit: each 1 MiB write that
    comes while it is over is held before the cache, and once writeback
    makes room those go in one at a time, each only if the last left room,
    so dirty stays near the limit (writes that came while it was under went
    in together: a few MiB over). Letting every held write in the moment
    the cgroup dips under put it a request per held writer over (19 MiB
    against the 4 MiB limit) and held them all again until that was
    written back."""
    m = dirtyfs(HOLD + ["writeback_bw=16M"])
    a = cg.make("A")
    limit, bs, nr = 4 * MiB, MiB, 16
    set_limit(m, "dirty_limit", a, "4M")
    seen = {"at_limit": False, "peak": 0}

    def sample(st):
        seen["at_limit"] |= st["dirty"] >= limit - bs
        if seen["at_limit"]:
            seen["peak"] = max(seen["peak"], st["dirty"])

    procs = [spawn(cg, a, dd(m.path("f%d" % i), "1M", 3))
             for i in range(nr)]
    watch(m, a, procs, sample=sample)
    check_done(procs)
    assert stat(m, a)["throttle_events"] >= nr
    assert seen["peak"] <= limit + 4 * bs


def test_write_put_in_by_the_throttle_starts_writeback(cg, dirtyfs):
    """Four dd writers of a cgroup with dirty_limit=0: all but one write at
    a time wait before the cache, and the throttle thread puts each in once
    the cgroup is clean. That write must wake the flusher as one going in
    from a worker does; it used to wait for the once-a-second refresh of
    the limits, so each write took a second (64 s for these 64 writes).
    A write put in is answered at once, so a writer's last one may still
    be dirty when it exits."""
    m = dirtyfs(HOLD)
    z = cg.make("Z")
    set_limit(m, "dirty_limit", z, "0")
    procs = [spawn(cg, z, dd(m.path("f%d" % i), "1M", 16)) for i in range(4)]
    watch(m, z, procs, timeout=20)
    check_done(procs)
    assert stat(m, z)["throttle_events"] > 0
    wait_until(lambda: stat(m, z)["written"] == 64 * MiB, 5,
               "the writers' last writes written back")


def test_zero_dirty_limit_writes_through(cg, dirtyfs):
    """dirty_limit 0: each write is held until its data is written back;
    at its limit (0 dirty) the cgroup is not over it, so the writer goes
    on."""
    m = dirtyfs(HOLD)
    z = cg.make("Z")
    set_limit(m, "dirty_limit", z, "0")
    cg.run(z, writer(m.path("f"), MiB, 64 * 1024, seed=5), timeout=30)
    st = stat(m, z)
    assert st["dirty"] == 0 and st["written"] == MiB
    assert st["throttle_events"] == MiB // (64 * 1024)
    assert read_file(m.backing_path("f")) == data(5, MiB)


@pytest.mark.parametrize("lower", ["limit", "memory_limit"])
def test_lowering_the_background_threshold_starts_writeback(cg, dirtyfs,
                                                            lower):
    """No write needed: the cgroup passes its threshold when the threshold
    comes down to it (a regression: only a write checked)."""
    m = dirtyfs(HOLD + ["writeback_interval=1"])
    x = cg.make("X")
    x.write("memory.limit_in_bytes", 1024 * MiB)  # background 10%: 102.4M
    cg.run(x, writer(m.path("x"), 8 * MiB))
    if lower == "limit":
        set_limit(m, "dirty_background_limit", x, "1M")
    else:
        x.write("memory.limit_in_bytes", 10 * MiB)  # background 1M
    wait_until(lambda: stat(m, x)["dirty_background_limit"] <= MiB, 5,
               "the new threshold in force")
    wait_until(lambda: stat(m, x)["dirty"] <= MiB, 5,
               "/X written back under its lowered background threshold")


def test_cgroup_without_a_limit_is_never_throttled(cg, dirtyfs):
    m = dirtyfs(HOLD + ["dirty_limit=max", "dirty_background_limit=max",
                        "writeback_bw=8M"])
    b, lim = cg.make("B"), cg.make("L")
    set_limit(m, "dirty_limit", lim, "1M")
    procs = [spawn(cg, b, writer(m.path("b"), 16 * MiB)),
             spawn(cg, lim, writer(m.path("l"), 8 * MiB))]
    check_done(procs)
    st = stat(m, b)
    assert st["dirty_limit"] == MAX and st["dirty_background_limit"] == MAX
    assert st["throttle_events"] == 0 and st["throttled_usec"] == 0
    assert st["dirty"] == 16 * MiB and st["written"] == 0
    # The same writes in a limited sibling are held: the check can fail.
    assert stat(m, lim)["throttle_events"] > 0


def test_percentages_follow_the_memory_limit(cg, dirtyfs):
    m = dirtyfs(HOLD + ["dirty_limit=20%"])
    a, b = cg.make("A"), cg.make("B")
    child = cg.make("A/child")  # no memory limit: A's binds it
    for c in (a, b):
        c.write("memory.limit_in_bytes", 100 * MiB)
    set_limit(m, "dirty_limit", a, "20%")
    set_limit(m, "dirty_background_limit", a, "5%")
    assert get_limit(m, "dirty_limit", a) == b"20%"

    st = stat(m, a)
    assert st["dirty_limit"] == 20971520  # 20% of 104857600
    assert st["dirty_background_limit"] == 5242880
    st = stat(m, b)  # the mount's defaults: 20% and 10%
    assert st["dirty_limit"] == 20971520
    assert st["dirty_background_limit"] == 10485760
    assert stat(m, child)["dirty_limit"] == 20971520

    a.write("memory.limit_in_bytes", 200 * MiB)
    wait_until(lambda: stat(m, a)["dirty_limit"] == 41943040, 10,
               "dirty_limit of A follows memory.limit_in_bytes=200M")
    assert stat(m, a)["dirty_background_limit"] == 10485760
    wait_until(lambda: stat(m, child)["dirty_limit"] == 41943040, 10,
               "the child follows its parent's memory limit")
    assert stat(m, b)["dirty_limit"] == 20971520


def test_percentages_of_a_cgroup_not_made_yet(cg, dirtyfs):
    """A limit may name a cgroup before it is made. Until then its
    percentages are of the nearest limited ancestor (physical memory where
    none is), as the writers it will have are bound; not of nothing, which
    held its first writers at 0 bytes until the next look at cgroupfs."""
    m = dirtyfs(HOLD)
    p = cg.make("P")
    p.write("memory.limit_in_bytes", 100 * MiB)
    later = p.cgpath + "/later"
    set_limit(m, "dirty_limit", later, "20%")
    st = stat(m, later)
    assert st["dirty_limit"] == 20971520  # 20% of P's 100M
    assert st["dirty_background_limit"] == 10485760  # the default 10%
    set_limit(m, "dirty_limit", "/dfs-never-made", "20%")
    assert stat(m, "/dfs-never-made")["dirty_limit"] == \
        percent_of(physical_memory(), 20)
    os.removexattr(m.mnt, "trusted.dirtyfs.dirty_limit:/dfs-never-made")


@pytest.mark.optimised
# The sizes: 2 GiB each time; the 1 KiB writes are two million
# FUSE requests, about 30 s here.
@pytest.mark.parametrize("bs,count", [("1M", 1024), ("1k", 1024 * 1024)])
def test_two_dd_in_a_100M_memory_cgroup_finish_within_its_dirty_limit(
        cg, dirtyfs, bs, count):
    """The issue's "Done when": two concurrent dd in a cgroup with a 100M
    memory limit both finish, nobody is OOM-killed, and the default limit
    (20% of 100M) holds the cgroup's dirty data."""
    m = dirtyfs()
    d = cg.make("D")
    d.write("memory.limit_in_bytes", 100 * MiB)
    st = stat(m, d)
    assert st["dirty_limit"] == 20 * MiB
    procs = [spawn(cg, d, dd(m.path("f%d" % i), bs, count))
             for i in range(2)]
    peak = watch(m, d, procs, timeout=180)
    check_done(procs)
    assert peak["dirty"] <= 22 * MiB
    oom = dict(line.split() for line in
               d.read("memory.oom_control").splitlines())
    assert oom["under_oom"] == "0"
    assert oom.get("oom_kill", "0") == "0"
    size = count * (MiB if bs == "1M" else 1024)
    for i in range(2):
        assert os.stat(m.path("f%d" % i)).st_size == size


# --- liveness ----------------------------------------------------------------

def test_held_writers_do_not_stall_other_cgroups(cg, dirtyfs):
    """32 held writers, more than libfuse's 10 worker threads: a writer of
    another cgroup still writes and fsyncs."""
    m = dirtyfs(HOLD + ["writeback_bw=1M"])
    h, v = cg.make("H"), cg.make("V")
    set_limit(m, "dirty_limit", h, "1M")
    held = [spawn(cg, h, writer(m.path("h%d" % i), 64 * MiB, 64 * 1024))
            for i in range(32)]
    wait_until(lambda: sum(in_fuse_request(p.pid) for p in held) > 10, 20,
               "more than 10 writers of /H waiting for their replies")

    start = time.monotonic()
    other = cg.run(v, writer(m.path("v"), 4 * MiB, seed=7, do_fsync=True),
                   timeout=20)
    assert other.stdout == b"done\n"
    assert time.monotonic() - start < 20
    assert all(p.poll() is None for p in held), "the /H writers finished?"
    assert read_file(m.backing_path("v")) == data(7, 4 * MiB)
    assert stat(m, h)["throttle_events"] > 0
    assert stat(m, v)["throttle_events"] == 0

    for p in held:
        p.kill()
    for p in held:
        p.communicate(timeout=20)


@pytest.mark.optimised  # ASan's quarantine and shadow memory grow too
def test_writes_held_before_the_cache_keep_a_bounded_copy(cg, dirtyfs):
    """48 writers of a cgroup over its limit on a 16M cache: the data of
    writes held before the cache is kept aside up to a quarter of
    cache_size, and the rest go into the cache and are held there, so the
    daemon's memory stays within what cache_size sets. Each held write used
    to keep its own 1 MiB copy: a request per held writer beyond any
    bound."""
    require(not os.environ.get("DIRTYFS_SANITIZED"),
            "a sanitised daemon's memory is mostly the sanitiser's")
    m = dirtyfs(["cache_size=16M", "dirty_expire=3600"])
    h = cg.make("H")
    set_limit(m, "dirty_limit", h, "1M")
    cg.run(h, dd(m.path("warm"), "1M", 16))  # the cache's pages, once
    base = proc_status_bytes(m.proc.pid, "VmHWM")
    procs = [spawn(cg, h, dd(m.path("h%d" % i), "1M", 8)) for i in range(48)]
    watch(m, h, procs)
    check_done(procs)
    grown = proc_status_bytes(m.proc.pid, "VmHWM") - base
    assert stat(m, h)["throttle_events"] >= 48
    # The budget (4 MiB) and the request buffers of workers started on the
    # way (about 1 MiB each): 12 MiB here, 54 MiB with a copy per write.
    assert grown <= 24 * MiB, grown


def _in_cache(m, cgroup):
    """Bytes cgroup has put in the cache so far (written back or not)."""
    st = stat(m, cgroup)
    return st["dirty"] + st["writeback"] + st["written"]


def test_cache_full_of_one_cgroups_data_holds_its_writers_not_others(
        cg, dirtyfs):
    """The default limits (20% of memory here) exceed the cache: a cgroup
    writing without end filled it, and writers then waited for room inside
    the FUSE worker threads, so another cgroup's stat and create waited
    behind them. The root's limits are capped at 3/4 and 1/2 of the cache
    instead, so its writers are held as replies; and while two cgroups have
    dirty data each is held by the root's limit only past half of it, so
    /B's write is neither held nor paced."""
    m = dirtyfs(["cache_size=64M", "dirty_expire=3600", "writeback_bw=256K"])
    a, b = cg.make("A"), cg.make("B")
    held = [spawn(cg, a, dd(m.path("a%d" % i), "1M", 64)) for i in range(8)]
    wait_until(lambda: all(in_fuse_request(p.pid) for p in held) and
               stat(m, "/")["dirty"] >= 40 * MiB, 30,
               "/A's writers held with the cache 3/4 dirty")
    assert stat(m, "/")["dirty_limit"] == 48 * MiB

    script = ("import os, sys\n"
              "for i in range(50):\n"
              "    os.stat(sys.argv[1])\n"
              "    os.close(os.open(os.path.join(sys.argv[1], 'b%d' % i),"
              " os.O_CREAT | os.O_WRONLY, 0o644))\n")
    cg.run(b, [PYTHON, "-c", script, m.mnt], timeout=30)

    before = _in_cache(m, a)
    cg.run(b, writer(m.path("bw"), 4096, bs=4096), timeout=60)
    assert stat(m, b)["throttle_events"] == 0
    assert _in_cache(m, a) - before <= 3 * MiB  # 8 MiB first, oldest first
    assert all(p.poll() is None for p in held), "the /A writers finished?"
    for p in held:
        p.kill()
    for i, p in enumerate(held):
        p.communicate(timeout=20)
        os.unlink(m.path("a%d" % i))  # not 48 MiB to write at unmount


def _fill(directory):
    """Fill the filesystem of directory (a file in it, written until
    ENOSPC)."""
    fd = os.open(os.path.join(directory, "filler"),
                 os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        while True:
            os.write(fd, bytes(MiB))
    except OSError as e:
        assert e.errno == errno.ENOSPC, e
    finally:
        os.close(fd)


def test_held_writers_of_a_cgroup_that_cannot_write_back_are_answered(
        cg, dirtyfs, tmpfs):
    """BACKING full: a cgroup at its hard limit never gets under it. Its
    held writes are answered instead of held for ever: the one that
    crossed the limit (in the cache) with its bytes, the next one (held
    before the cache) with ENOSPC, which ends the writer."""
    m = dirtyfs(HOLD, backing=tmpfs("4M"), allowed_exit=(0, 1),
                errors_expected=True)
    t = cg.make("T")
    set_limit(m, "dirty_limit", t, "1M")
    set_limit(m, "dirty_background_limit", t, "512K")
    _fill(m.backing)
    p = spawn(cg, t, writer(m.path("f"), 8 * MiB))
    try:
        _, err = p.communicate(timeout=WRITERS_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail("a writer of a cgroup that cannot write back is held "
                    "(wchan %s)" % wchan(p.pid))
    assert p.returncode == 1
    assert os.strerror(errno.ENOSPC).encode() in err, err
    assert stat(m, t)["dirty"] >= MiB  # the first write is in the cache
    assert stat(m, t)["throttle_events"] >= 2


def test_held_writer_killed_by_a_signal_is_reaped(cg, dirtyfs, tmp_path):
    trace = str(tmp_path / "trace")
    m = dirtyfs(HOLD + ["writeback_bw=128K", "trace=" + trace])
    k = cg.make("K")
    cg.run(k, writer(m.path("pre"), 2 * MiB))
    set_limit(m, "dirty_limit", k, "1M")
    # Held at once: /K must write back 1 MiB at 128 KiB/s (8 s) before
    # its dirty data is under the limit again.
    victim = spawn(cg, k, writer(m.path("victim"), MiB, 64 * 1024))
    wait_until(lambda: trace_lines(trace, "write_held")
               and in_fuse_request(victim.pid), 10, "the writer is held")
    os.kill(victim.pid, signal.SIGKILL)
    start = time.monotonic()
    try:
        victim.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pytest.fail("a held writer killed is not reaped within 5 s "
                    "(wchan %s)" % wchan(victim.pid))
    elapsed = time.monotonic() - start
    # Still over the limit: the reply was the kill's doing, not writeback's.
    assert stat(m, k)["dirty"] >= MiB, elapsed
    assert any("interrupted" in line
               for line in trace_lines(trace, "write_released"))

    # The daemon still serves, and drops the dirty data of a truncate, so
    # that the unmount does not wait for 128 KiB/s.
    os.truncate(m.path("pre"), 0)
    write_file(m.path("after"), b"still alive")
    assert read_file(m.path("after")) == b"still alive"
    assert m.unmount() == 0


def _wait_quietly(predicate, timeout):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.parametrize("held", ["before_its_data_is_taken",
                                  "after_its_data_is_taken"])
def test_held_write_interrupted_by_a_caught_signal_is_eintr_only_if_unwritten(
        cg, dirtyfs, tmp_path, held):
    """A signal the writer catches (with SA_RESTART) interrupts its held
    write. write(2) may fail with EINTR only when nothing was written: a
    write held before dirtyfs took its data may fail so, one whose data is
    in the cache already must return its byte count (a regression: it was
    answered EINTR, data taken). Holding on is also correct."""
    trace = str(tmp_path / "trace")
    m = dirtyfs(HOLD + ["writeback_bw=16K", "trace=" + trace])
    k = cg.make("K")
    # /K over its 1M limit when the write comes; or under it until the
    # write's 512K are in, and then over by about 128K, 8 s of writeback
    # at 16 KiB/s.
    pre = 2 * MiB if held == "before_its_data_is_taken" else 640 * 1024
    cg.run(k, writer(m.path("pre"), pre, 64 * 1024))
    set_limit(m, "dirty_limit", k, "1M")
    size = 512 * 1024
    w = spawn(cg, k, writer(m.path("f"), size, size, seed=3) +
              ["--raw", "--catch-usr1"])
    wait_until(lambda: trace_lines(trace, "write_held")
               and in_fuse_request(w.pid), 10, "the writer is held")
    os.kill(w.pid, signal.SIGUSR1)
    # A daemon may answer the interrupt, or keep the write held.
    _wait_quietly(lambda: trace_lines(trace, "write_released"), 3)
    os.removexattr(m.mnt, "trusted.dirtyfs.dirty_limit:" + k.cgpath)
    out, err = w.communicate(timeout=30)
    got = read_file(m.path("f"))
    # Nothing left to write back at 16 KiB/s when the test unmounts.
    os.truncate(m.path("pre"), 0)
    os.truncate(m.path("f"), 0)
    if w.returncode == 3:
        assert out == b"eintr at 0\n"
        assert got == b"", "write failed EINTR, but its data was written"
    else:
        assert (w.returncode, out) == (0, b"done\n"), err
        assert got == data(3, size)


# Fill PATH with SIZE bytes through a shared mapping and leave it to the
# kernel's writeback (no msync, whose fsync would wait for ours).
MMAP_NO_SYNC = """import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, int(sys.argv[2]))
with mmap.mmap(fd, int(sys.argv[2])) as m:
    m[:] = b"z" * len(m)
os.close(fd)
"""


@pytest.mark.fault_injection
def test_a_write_going_into_a_full_cache_holds_up_no_other_reply(
        cg, dirtyfs, tmp_path):
    """Two writes of /A are held before the cache; /Z fills the cache, whose
    writeback is held (writeback/fault.h); /A's limit goes, and the older
    write must wait for room to go in. The younger, interrupted meanwhile,
    is answered EINTR at once (it waited with the older: one thread put
    held writes in the cache and answered every held reply). /Z writes
    through a shared mapping: the kernel's writeback of it is never held,
    where writes would be held at the root's limit (3/4 of the cache)."""
    trace = str(tmp_path / "trace")
    m = dirtyfs(["cache_size=8M", "dirty_expire=3600", "trace=" + trace])
    a, z = cg.make("A"), cg.make("Z")
    set_limit(m, "dirty_limit", a, "512K")
    os.setxattr(m.mnt, "trusted.dirtyfs.fault", b"hold")
    try:
        early = [spawn(cg, a, writer(m.path("a1"), MiB))]  # over: held
        wait_until(lambda: trace_lines(trace, "write_held"), 10,
                   "a1 held in the cache")
        for name in ("a2", "a3"):
            early.append(spawn(cg, a, writer(m.path(name), MiB) +
                               ["--raw", "--catch-usr1"]))
            wait_until(lambda: sum("before_cache" in line for line in
                                   trace_lines(trace, "write_held"))
                       == len(early) - 1, 10, name + " held before the cache")
        cg.run(z, [PYTHON, "-c", MMAP_NO_SYNC, m.path("z"),
                   str(6 * MiB + MiB // 2)])
        wait_until(lambda: stat(m, z)["dirty"] == 6 * MiB + MiB // 2, 30,
                   "/Z's mapped pages in the cache, leaving no room for 1M")
        os.removexattr(m.mnt, "trusted.dirtyfs.dirty_limit:" + a.cgpath)
        time.sleep(0.5)  # a2 on its way in, waiting for room
        os.kill(early[2].pid, signal.SIGUSR1)
        out, err = early[2].communicate(timeout=10)
        assert (early[2].returncode, out) == (3, b"eintr at 0\n"), err
        assert early[1].poll() is None, "a2 went in with no room"
    finally:
        os.setxattr(m.mnt, "trusted.dirtyfs.fault", b"off")
    check_done(early[:2])
    assert read_file(m.path("a2")) == bytes(MiB)


# --- which data is written first ---------------------------------------------

def test_cgroup_over_its_background_limit_is_written_first(
        cg, dirtyfs, tmp_path):
    trace = str(tmp_path / "trace")
    m = dirtyfs(HOLD + ["trace=" + trace])
    x, y = cg.make("X"), cg.make("Y")
    set_limit(m, "dirty_background_limit", x, "1M")
    cg.run(y, writer(m.path("y"), 8 * MiB))
    cg.run(x, writer(m.path("x"), 8 * MiB))
    wait_until(lambda: stat(m, x)["dirty"] <= MiB
               and stat(m, x)["writeback"] == 0, 10,
               "/X written back down to its background limit")
    sx, sy = stat(m, x), stat(m, y)
    assert sx["written"] >= 7 * MiB
    assert sy["written"] == 0 and sy["dirty"] == 8 * MiB
    assert not any("cgroup=%s " % y.cgpath in line
                   for line in trace_lines(trace, "writeback_cgroup"))


def test_parent_and_child_over_background_together_are_written_back(
        cg, dirtyfs):
    """One write puts /P/X1 and /P into the over-background set together;
    the flusher starts a pass on X1's inode for X1 and on X2's for /P, and
    must then find nothing more to pick and stop looking (a regression: it
    walked the set forever, holding the cgroups' lock, and the whole mount
    hung). Statistics are read by a child with a timeout, so that a hung
    daemon fails the test instead of hanging it."""
    m = dirtyfs(HOLD)
    p, x1, x2 = cg.make("P"), cg.make("P/X1"), cg.make("P/X2")
    cg.run(x1, writer(m.path("a"), 24 * MiB))
    cg.run(x2, writer(m.path("b"), 24 * MiB))
    for g in (p, x1):
        set_limit(m, "dirty_background_limit", g, "1M")
    cg.run(x1, writer(m.path("c"), 4096), timeout=20)
    wait_until(lambda: stat_in_child(cg, m, p)["dirty"] <= MiB, 20,
               "/P written back under its background limit")
    assert stat_in_child(cg, m, x1)["dirty"] <= MiB


def test_shared_inode_is_written_for_an_over_limit_cgroup(
        cg, dirtyfs, tmp_path):
    """/S2 dirties a file, /S1 dirties more of it: the file is shared, owned
    by neither, and /S1's limits make the flusher write it (downshift)."""
    trace = str(tmp_path / "trace")
    m = dirtyfs(HOLD + ["writeback_bw=2M", "trace=" + trace])
    s1, s2 = cg.make("S1"), cg.make("S2")
    path = m.path("shared")
    cg.run(s2, writer(path, 4 * MiB, 64 * 1024, seed=2))
    assert stat(m)["shared_inodes"] == 0
    set_limit(m, "dirty_limit", s1, "1M")
    set_limit(m, "dirty_background_limit", s1, "256K")

    shared = []
    w = spawn(cg, s1, writer(path, 2 * MiB, 64 * 1024, seed=1,
                             offset=4 * MiB, no_trunc=True))
    watch(m, s1, [w], sample=lambda st: shared.append(
        stat(m)["shared_inodes"]))
    check_done([w])
    assert max(shared) == 1
    assert any("cgroup=%s " % s1.cgpath in line for line in
               trace_lines(trace, "writeback_shared_downshift"))
    # Neither owns the file; /S2 never passed a threshold of its own, yet
    # its pages were written: through the shared inode, for /S1.
    assert stat(m, s1)["written"] > 0
    assert stat(m, s2)["written"] > 0
    written = stat(m)["written"]
    assert written >= MiB
    # While mounted, BACKING holds that much of the file: each page is the
    # data written or, where not written back yet, a hole.
    want = data(2, 4 * MiB) + data(1, 2 * MiB)
    backing = read_file(m.backing_path("shared"))
    page = 4096
    good = 0
    for off in range(0, len(backing), page):
        got = backing[off:off + page]
        if got == want[off:off + page]:
            good += len(got)
        else:
            assert got == bytes(len(got)), "wrong data at %d" % off
    assert good >= written
    sync_cgroup(m, "/")
    assert stat(m)["shared_inodes"] == 0
    assert read_file(m.backing_path("shared")) == want


def test_fsyncs_of_one_cgroup_leave_bandwidth_to_another_over_its_limit(
        cg, dirtyfs):
    """/A writes with an fsync after every MiB (dd oflag=sync), /B writes
    as fast as it can with a 4M dirty limit, at writeback_bw=8M. Sync
    rounds were served before the cgroups over their limits and took all
    the bandwidth: /B got 0.3 MB/s of 8, held all along. They share it
    now: in one window, each writes back at least a quarter of what the
    other does (about as much; before, /B a twentieth of /A)."""
    m = dirtyfs(HOLD + ["writeback_bw=8M"])
    a, b = cg.make("A"), cg.make("B")
    set_limit(m, "dirty_limit", b, "4M")
    procs = [spawn(cg, a, dd(m.path("a"), "1M", 100000) + ["oflag=sync"]),
             spawn(cg, b, dd(m.path("b"), "1M", 100000))]
    wait_until(lambda: stat(m, a)["written"]
               and stat(m, b)["throttle_events"], 20,
               "/A written back and /B held at its limit")
    a0, b0 = stat(m, a)["written"], stat(m, b)["written"]
    time.sleep(5)
    a1, b1 = stat(m, a)["written"], stat(m, b)["written"]
    for p in procs:
        p.kill()
    for p in procs:
        p.communicate(timeout=20)
    got_a, got_b = a1 - a0, b1 - b0
    assert 4 * got_b >= got_a and 4 * got_a >= got_b, (got_a, got_b)
    assert got_a + got_b >= 4 * MiB, (got_a, got_b)


# --- pages dirtied again while under writeback -------------------------------

def hold_writeback(m, cgroup, nbytes):
    """Start writeback of cgroup's nbytes of dirty data and hold the writes
    in flight with the "hold" fault (test builds) until the test sets the
    fault again. A background limit starts it: a sync would hold the lock
    of the mount's root, and with it the setxattr that ends the hold."""
    os.setxattr(m.mnt, "trusted.dirtyfs.fault", b"hold")
    set_limit(m, "dirty_background_limit", cgroup, "4K")
    wait_until(lambda: stat(m, cgroup)["writeback"] == nbytes, 10,
               "%s's dirty data in flight" % cgroup)
    # Nothing more is written for cgroup once the hold ends.
    os.removexattr(m.mnt, "trusted.dirtyfs.dirty_background_limit:"
                   + cgroup.cgpath)


@pytest.mark.fault_injection
@pytest.mark.parametrize("who,result", [("A", "off"), ("B", "off"),
                                        ("A", "EIO 1"), ("B", "EIO 1")])
def test_pages_dirtied_during_writeback_are_accounted_once(cg, dirtyfs, who,
                                                            result):
    """/A's 1 MiB is in flight when /W (/A itself or /B) writes its first
    half again; then the write to BACKING succeeds (off) or fails (EIO).
    Writeback ends for /A, which it was charged to, and only the half /W
    did not write is dirty again, for /A: /W's half is dirty for /W once."""
    m = dirtyfs(HOLD, errors_expected=result != "off")
    a, b = cg.make("A"), cg.make("B")
    w = a if who == "A" else b
    path = m.path("f")
    cg.run(a, dd(path, "64k", 16))
    try:
        hold_writeback(m, a, MiB)
        cg.run(w, dd(path, "64k", 8) + ["conv=notrunc"])
    finally:
        os.setxattr(m.mnt, "trusted.dirtyfs.fault", result.encode())
    wait_until(lambda: stat(m)["writeback"] == 0, 10, "the write finished")
    want = {a.cgpath: 0, b.cgpath: 0}
    want[w.cgpath] += MiB // 2
    if result != "off":
        want[a.cgpath] += MiB // 2
    for g in (a, b):
        st = stat(m, g)
        assert (st["dirty"], st["writeback"]) == (want[g.cgpath], 0), str(g)
    assert stat(m, cg.base)["writeback"] == 0
    assert stat(m)["dirty"] == sum(want.values())
    sync_cgroup(m, "/")
    for g in (a, b, cg.base, "/"):
        st = stat(m, g)
        assert (st["dirty"], st["writeback"]) == (0, 0), str(g)


def _chmod(m):
    os.chmod(m.path("f"), 0o600)
    return "f"


def _link(m):
    os.link(m.path("f"), m.path("g"))
    return "f"


def _rename(m):
    os.rename(m.path("f"), m.path("g"))
    return "g"


def _setxattr(m):
    os.setxattr(m.path("f"), "user.tag", b"1")
    return "f"


def _utime(m):
    os.utime(m.path("f"), ns=(5_000_000_000, 6_000_000_000))
    return "f"


def _unlink(m):
    os.unlink(m.path("f"))
    return "keep"  # f's other name, made in BACKING before the hold


@pytest.mark.fault_injection
@pytest.mark.parametrize("change", [_chmod, _link, _rename, _setxattr, _utime,
                                    _unlink], ids=lambda f: f.__name__[1:])
def test_a_change_while_writeback_is_in_flight_moves_ctime(cg, dirtyfs,
                                                           change):
    """As on ext4, a chmod (link, rename, ...) moves ctime. Writeback moves
    BACKING's too, and a stat shows the ctime from before it while BACKING
    has the one writeback left: a change made while a pass is in flight
    must not end up behind that shadow. An open descriptor keeps the
    daemon's inode, and with it the shadow, once the file is clean."""
    m = dirtyfs(HOLD)
    a = cg.make("A")
    cg.run(a, dd(m.path("f"), "64k", 16))
    os.link(m.backing_path("f"), m.backing_path("keep"))
    before = os.stat(m.backing_path("f")).st_ctime_ns
    fd = os.open(m.path("f"), os.O_RDONLY)
    try:
        try:
            hold_writeback(m, a, MiB)
            time.sleep(0.05)  # past a coarse clock's tick
            changed = os.stat(m.backing_path(change(m))).st_ctime_ns
        finally:
            os.setxattr(m.mnt, "trusted.dirtyfs.fault", b"off")
        assert changed > before
        wait_until(lambda: stat(m)["writeback"] == 0, 10, "the write finished")
        time.sleep(1.1)  # past the kernel's attribute timeout
        assert os.fstat(fd).st_ctime_ns >= changed
    finally:
        os.close(fd)


# --- the control plane -------------------------------------------------------

def test_limits_survive_a_remount(cg, dirtyfs):
    m = dirtyfs()
    a = cg.make("A")
    subprocess.run(["setfattr", "-n", "trusted.dirtyfs.dirty_limit:" +
                    a.cgpath, "-v", "64M", m.mnt], check=True)
    set_limit(m, "dirty_background_limit", a, "5%")
    assert m.unmount() == 0

    m2 = dirtyfs(backing=m.backing)
    assert get_limit(m2, "dirty_limit", a) == b"67108864"
    assert get_limit(m2, "dirty_background_limit", a) == b"5%"
    assert stat(m2, a)["dirty_limit"] == 64 * MiB
    subprocess.run(["setfattr", "-x", "trusted.dirtyfs.dirty_limit:" +
                    a.cgpath, m2.mnt], check=True)
    expect_errno(errno.ENODATA, get_limit, m2, "dirty_limit", a)
    assert stat(m2, a)["dirty_limit"] == percent_of(physical_memory(), 20)
    expect_errno(errno.ENODATA, os.removexattr, m2.mnt,
                 "trusted.dirtyfs.dirty_limit:" + a.cgpath)
    assert m2.unmount() == 0

    m3 = dirtyfs(backing=m.backing)
    expect_errno(errno.ENODATA, get_limit, m3, "dirty_limit", a)
    assert get_limit(m3, "dirty_background_limit", a) == b"5%"


def test_a_thousand_limits_survive_a_remount(dirtyfs):
    """Limits are kept in a file in BACKING's root, not in an xattr (ext4
    keeps about a block of xattrs an inode: a hundred limits). A limit may
    name a cgroup not made yet."""
    m = dirtyfs()
    paths = ["/dfs-many/c%d" % i for i in range(1000)]
    for i, path in enumerate(paths):
        os.setxattr(m.mnt, "trusted.dirtyfs.dirty_limit:" + path,
                    b"%dK" % (i + 1))
    assert m.unmount() == 0

    m2 = dirtyfs(backing=m.backing)
    for i, path in enumerate(paths):
        assert os.getxattr(m2.mnt, "trusted.dirtyfs.dirty_limit:" + path) \
            == str((i + 1) * 1024).encode()


def test_a_limit_that_cannot_be_kept_is_refused(dirtyfs, tmpfs):
    """A limit applies only once it is in BACKING's store: one that would
    be lost at the next remount fails with the store's error, and the old
    limit stays."""
    backing = tmpfs("1M")
    m = dirtyfs(backing=backing, errors_expected=True)
    name = "trusted.dirtyfs.dirty_limit:/dfs-full"
    os.setxattr(m.mnt, name, b"1M")
    _fill(backing)
    expect_errno(errno.ENOSPC, os.setxattr, m.mnt, name, b"2M")
    assert os.getxattr(m.mnt, name) == b"1048576"
    expect_errno(errno.ENOSPC, os.setxattr, m.mnt,
                 "trusted.dirtyfs.dirty_background_limit:/dfs-full", b"1M")
    expect_errno(errno.ENODATA, os.getxattr, m.mnt,
                 "trusted.dirtyfs.dirty_background_limit:/dfs-full")
    assert m.unmount() == 0

    m2 = dirtyfs(backing=backing)
    assert os.getxattr(m2.mnt, name) == b"1048576"
    os.unlink(os.path.join(backing, "filler"))
    os.setxattr(m2.mnt, name, b"2M")
    assert m2.unmount() == 0

    m3 = dirtyfs(backing=backing)
    assert os.getxattr(m3.mnt, name) == b"2097152"


def test_the_limits_file_is_hidden_from_the_mount(dirtyfs):
    m = dirtyfs()
    store = ".dirtyfs.limits"
    os.setxattr(m.mnt, "trusted.dirtyfs.dirty_limit:/dfs-hidden", b"1M")
    assert os.path.isfile(m.backing_path(store))
    assert store not in os.listdir(m.mnt)
    expect_errno(errno.ENOENT, os.stat, m.path(store))
    expect_errno(errno.EPERM, os.open, m.path(store),
                 os.O_WRONLY | os.O_CREAT, 0o644)
    expect_errno(errno.EPERM, os.mkdir, m.path(".dirtyfs.d"))
    write_file(m.path("f"), b"x")
    expect_errno(errno.EPERM, os.rename, m.path("f"), m.path(store))
    expect_errno(errno.EPERM, os.link, m.path("f"), m.path(".dirtyfs.l"))
    # Below the root the name is an ordinary one.
    os.mkdir(m.path("d"))
    write_file(m.path("d", store), b"ok")
    assert read_file(m.path("d", store)) == b"ok"
    os.removexattr(m.mnt, "trusted.dirtyfs.dirty_limit:/dfs-hidden")
    assert not os.path.exists(m.backing_path(store))


# Long enough for the throttle thread's once-a-second look at cgroupfs to
# have run: what it does is not visible until an entry goes.
REFRESH_WAIT_S = 2.5


def test_removed_cgroup_is_tracked_until_its_data_is_written(cg, dirtyfs):
    m = dirtyfs(HOLD)
    r = cg.make("R")
    cg.run(r, writer(m.path("f"), MiB))
    os.rmdir(r.dir)
    time.sleep(REFRESH_WAIT_S)
    assert r.cgpath in tracked(m)
    assert stat(m, r)["dirty"] == MiB
    sync_cgroup(m, r)
    wait_until(lambda: r.cgpath not in tracked(m), 5,
               "a removed cgroup forgotten once its data is written")
    expect_errno(errno.ENOENT, stat, m, r)
    assert read_file(m.backing_path("f")) == bytes(MiB)


def test_recreated_cgroup_keeps_its_entry_and_statistics(cg, dirtyfs):
    """memcg.h: an entry lives while it has statistics and its cgroup
    exists. A cgroup removed while it has dirty data and made again under
    the same path exists."""
    m = dirtyfs(HOLD)
    r = cg.make("R")
    cg.run(r, writer(m.path("f"), MiB))
    os.rmdir(r.dir)
    time.sleep(REFRESH_WAIT_S)
    os.mkdir(r.dir)
    sync_cgroup(m, r)
    assert stat(m, r)["written"] == MiB
    time.sleep(REFRESH_WAIT_S)
    assert r.cgpath in tracked(m)
    assert stat(m, r)["written"] == MiB


@pytest.mark.fault_injection
def test_a_write_waiting_for_room_keeps_its_cgroups_entry(cg, dirtyfs,
                                                          tmp_path):
    """/X's write waits for room in a cache full of /Z's dirty data, whose
    writeback is held (writeback/fault.h), while the writer moves to /Y and
    /X is removed. /X's entry must outlive the wait: it was freed after two
    refreshes, and the write charged the id of /X to whichever cgroup took
    it next (/N here), or to nobody; a cgroup that took it after the write
    had the pages uncharged from it when they were written, its dirty and
    the root's wrapped to about 2^64, and every writer of the mount was
    held for ever."""
    trace = str(tmp_path / "trace")
    m = dirtyfs(["cache_size=4M", "dirty_expire=3600", "trace=" + trace])
    z, x, y = cg.make("Z"), cg.make("X"), cg.make("Y")
    os.setxattr(m.mnt, "trusted.dirtyfs.fault", b"hold")
    try:
        cg.run(z, writer(m.path("z"), 4 * MiB))
        w = spawn(cg, x, writer(m.path("x"), MiB))
        wait_until(lambda: in_fuse_request(w.pid), 10,
                   "/X's writer in a request")
        # An open or create is answered at once; the write waits.
        time.sleep(0.5)
        assert in_fuse_request(w.pid), "/X's write did not wait for room"
        y.write("cgroup.procs", w.pid)
        os.rmdir(x.dir)
        time.sleep(2 * REFRESH_WAIT_S)
        n = cg.make("N")
        assert stat(m, n)["dirty"] == 0  # tracked now: the lowest free id
    finally:
        os.setxattr(m.mnt, "trusted.dirtyfs.fault", b"off")
    check_done([w])
    os.setxattr(m.mnt, "trusted.dirtyfs.sync", b"/")
    assert stat(m, "/")["dirty"] == 0
    assert stat(m, n)["dirty"] == 0
    dirtied = trace_lines(trace, "inode_dirtied")
    assert any("cgroup=%s\n" % x.cgpath in line for line in dirtied), dirtied
    assert not any("cgroup=?" in line for line in dirtied), dirtied


BAD_VALUES = [b"", b"-1", b"abc", b"1X", b"18446744073709551616", b"0%",
              b"101%", b"10%%", b"1M trailing", b" 1M", b"1M\0junk", b"\0",
              b"%", b"max1", b"1.5M", b"1MB"]


def test_malformed_limit_value_is_einval_and_keeps_the_old_one(cg, dirtyfs):
    m = dirtyfs()
    a = cg.make("A")
    set_limit(m, "dirty_limit", a, "64M")
    name = "trusted.dirtyfs.dirty_limit:" + a.cgpath
    for value in BAD_VALUES:
        try:
            os.setxattr(m.mnt, name, value)
        except OSError as e:
            assert e.errno == errno.EINVAL, (value, e)
        else:
            pytest.fail("%r accepted" % value)
        assert os.getxattr(m.mnt, name) == b"67108864", value
    assert stat(m, a)["dirty_limit"] == 64 * MiB
    # Good values in every form the interface names, NUL-ended too.
    for value, want in ((b"1g", b"1073741824"), (b"7", b"7"),
                        (b"100%", b"100%"), (b"max", b"max"),
                        (b"2K\0", b"2048")):
        os.setxattr(m.mnt, name, value)
        assert os.getxattr(m.mnt, name) == want


@pytest.mark.parametrize("cgpath", ["A", "", "/A/", "//A", "/A//B", "/A/..",
                                    "/..", "/A/./B", "/.", "/A/../B"])
def test_malformed_cgpath_is_einval(dirtyfs, cgpath):
    m = dirtyfs()
    for kind in ("dirty_limit", "dirty_background_limit"):
        name = "trusted.dirtyfs.%s:%s" % (kind, cgpath)
        expect_errno(errno.EINVAL, os.setxattr, m.mnt, name, b"1M")
        expect_errno(errno.EINVAL, os.removexattr, m.mnt, name)
    expect_errno(errno.EINVAL, os.getxattr, m.mnt,
                 "trusted.dirtyfs.stat:" + cgpath)
    expect_errno(errno.EINVAL, os.setxattr, m.mnt, "trusted.dirtyfs.sync",
                 cgpath.encode())


# How long strace holds each daemon thread's first reply (INIT's first).
INIT_HOLD_S = 2.5


@pytest.mark.optimised  # LeakSanitizer stops the threads with ptrace too
def test_limit_set_as_the_mount_starts(cg, dirtyfs, tmp_path):
    """setxattr(2) of a trusted.* name checks no permission, so one made
    right after mount(2) reaches FUSE before the kernel has INIT's reply:
    the kernel sizes the request then, in the short form, and sends it once
    the reply is in, when the daemon expects the extended form. strace holds
    INIT's reply here. The daemon used to read such a name 8 bytes in
    ("dirtyfs.dirty_limit:...", from BACKING: ENOTSUP)."""
    require(subprocess.run(["strace", "-o", "/dev/null", "true"],
                           capture_output=True).returncode == 0,
            "needs strace, and ptrace allowed")
    a = cg.make("A")
    trace = str(tmp_path / "strace.txt")
    m = dirtyfs(HOLD, argv_prefix=[
        "strace", "-f", "-qq", "-ttt", "-o", trace, "-e", "trace=writev",
        "-e", "inject=writev:delay_enter=%d:when=1" % (INIT_HOLD_S * 1e6)])
    began = time.time()
    set_limit(m, "dirty_limit", a, "1M")
    assert get_limit(m, "dirty_limit", a) == b"1048576"
    assert m.unmount() == 0
    with open(trace) as f:
        init_reply = float(f.readline().split()[1])  # entry: before the hold
    assert began < init_reply + INIT_HOLD_S, "setxattr(2) came after INIT"


def test_unprivileged_caller_reads_its_own_statistics_only(cg, dirtyfs):
    m = dirtyfs(HOLD)
    a, n = cg.make("A"), cg.make("N")
    set_limit(m, "dirty_limit", a, "64M")
    cg.run(n, writer(m.path("f"), MiB))
    os.chmod(m.mnt, 0o777)  # so that the VFS lets nobody try to set

    def limit_set():
        os.setxattr(m.mnt, "trusted.dirtyfs.dirty_limit:" + a.cgpath, b"1M")

    def limit_remove():
        os.removexattr(m.mnt, "trusted.dirtyfs.dirty_limit:" + a.cgpath)

    def own_stat():
        return os.getxattr(m.mnt, "user.dirtyfs.stat").decode()

    def stat_set():
        os.setxattr(m.mnt, "user.dirtyfs.stat", b"1")

    def names():
        return os.listxattr(m.mnt)

    assert as_nobody_in(n, limit_set) == ["errno", errno.EPERM]
    assert as_nobody_in(n, limit_remove) == ["errno", errno.EPERM]
    assert get_limit(m, "dirty_limit", a) == b"67108864"
    own = parse_stats(as_nobody_in(n, own_stat).encode())
    assert set(own) >= CGROUP_KEYS
    assert own["dirty"] == MiB == stat(m, n)["dirty"]
    assert as_nobody_in(n, stat_set) == ["errno", errno.EPERM]
    expect_errno(errno.EPERM, os.setxattr, m.mnt, "user.dirtyfs.stat", b"1")

    listed = "trusted.dirtyfs.dirty_limit:" + a.cgpath
    assert listed not in as_nobody_in(n, names)
    assert listed in os.listxattr(m.mnt)
    dump = subprocess.run(["getfattr", "--absolute-names", "-d", "-m",
                           "trusted.dirtyfs", m.mnt], check=True,
                          capture_output=True, text=True).stdout
    assert '%s="67108864"' % listed in dump


def test_user_stat_set_on_a_root_nobody_may_not_write(cg, dirtyfs):
    """Setting user.dirtyfs.stat as nobody, root directory mode 0755."""
    m = dirtyfs()
    n = cg.make("N")

    def stat_set():
        os.setxattr(m.mnt, "user.dirtyfs.stat", b"1")

    # The VFS checks write permission on the inode for user.* before the
    # daemon sees the call: EACCES here, EPERM from dirtyfs itself above.
    assert as_nobody_in(n, stat_set)[1] in (errno.EPERM, errno.EACCES)


def test_control_name_errors(cg, dirtyfs):
    m = dirtyfs()
    a = cg.make("A")
    write_file(m.path("f"), b"x")
    os.mkdir(m.path("d"))
    for name in ("trusted.dirtyfs.nosuch", "user.dirtyfs.nosuch"):
        expect_errno(errno.ENODATA, os.getxattr, m.mnt, name)
        expect_errno(errno.EINVAL, os.setxattr, m.mnt, name, b"1")
    for path in (m.path("f"), m.path("d")):
        for name in ("trusted.dirtyfs.dirty_limit:" + a.cgpath,
                     "trusted.dirtyfs.stat:" + a.cgpath):
            expect_errno(errno.ENOTSUP, os.getxattr, path, name)
            expect_errno(errno.ENOTSUP, os.setxattr, path, name, b"1M")
            expect_errno(errno.ENOTSUP, os.removexattr, path, name)
        expect_errno(errno.ENOTSUP, os.setxattr, path,
                     "trusted.dirtyfs.sync", a.cgpath.encode())
    for kind in ("dirty_limit", "dirty_background_limit"):
        name = "trusted.dirtyfs.%s:%s" % (kind, a.cgpath)
        expect_errno(errno.ENODATA, os.removexattr, m.mnt, name)
        expect_errno(errno.ENODATA, os.getxattr, m.mnt, name)
        expect_errno(errno.ENODATA, os.removexattr, m.mnt,
                     "trusted.dirtyfs.%s:/dfs-never-made" % kind)
    missing = cg.make("").cgpath + "/nonexistent"
    expect_errno(errno.ENOENT, os.getxattr, m.mnt,
                 "trusted.dirtyfs.stat:" + missing)
    expect_errno(errno.ENOENT, os.setxattr, m.mnt, "trusted.dirtyfs.sync",
                 missing.encode())
    # An existing cgroup with nothing to write syncs at once.
    os.setxattr(m.mnt, "trusted.dirtyfs.sync", a.cgpath.encode())


def test_limit_set_with_create_or_replace_flags(cg, dirtyfs):
    """setxattr(2)'s XATTR_CREATE and XATTR_REPLACE hold for limits (they
    were ignored): EEXIST and ENODATA, and the limit is left as it was."""
    m = dirtyfs()
    a = cg.make("A")
    name = "trusted.dirtyfs.dirty_limit:" + a.cgpath
    expect_errno(errno.ENODATA, os.setxattr, m.mnt, name, b"1M",
                 os.XATTR_REPLACE)
    expect_errno(errno.ENODATA, os.getxattr, m.mnt, name)
    os.setxattr(m.mnt, name, b"1M", os.XATTR_CREATE)
    expect_errno(errno.EEXIST, os.setxattr, m.mnt, name, b"2M",
                 os.XATTR_CREATE)
    assert os.getxattr(m.mnt, name) == str(MiB).encode()
    os.setxattr(m.mnt, name, b"3M", os.XATTR_REPLACE)
    assert os.getxattr(m.mnt, name) == str(3 * MiB).encode()


# --- the trace ---------------------------------------------------------------

def test_trace_records_a_throttled_run(cg, dirtyfs, tmp_path):
    trace = str(tmp_path / "trace")
    m = dirtyfs(HOLD + ["writeback_bw=4M", "trace=" + trace])
    t = cg.make("T")
    set_limit(m, "dirty_limit", t, "2M")
    cg.run(t, writer(m.path("f"), 8 * MiB))
    events = stat(m, t)["throttle_events"]
    assert events > 0
    assert any("cgroup=%s" % t.cgpath in line.split()
               for line in trace_lines(trace, "inode_dirtied"))
    assert any("cgroup=%s" % t.cgpath in line.split()
               for line in trace_lines(trace, "cgroup_over_background"))
    # Held and released writes name their cgroup as the others do.
    for event in ("write_held", "write_released"):
        lines = trace_lines(trace, event)
        assert len(lines) == events
        assert all("cgroup=%s" % t.cgpath in line.split() for line in lines)
    assert all(re.search(r" held_usec=\d+", line)
               for line in trace_lines(trace, "write_released"))
