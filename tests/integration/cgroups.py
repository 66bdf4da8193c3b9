"""Real cgroups for the integration tests: make them, run processes in them,
and always clean up.

A CgroupSet makes cgroups under one private parent in one hierarchy (v1's
memory controller, or the cgroup v2 tree), e.g. /dfs-test-1234-1/A. Child
processes are started by a shell that writes its own pid into the cgroup's
cgroup.procs and then execs the command, so the command runs inside the
cgroup from its first instruction. Cleanup kills only the processes this set
started (by their pids), waits for them, and removes the cgroups deepest
first, retrying briefly while exiting tasks leave.
"""
import errno
import itertools
import json
import os
import signal
import subprocess
import time

from helpers import NOBODY

SYSFS_CGROUP = "/sys/fs/cgroup"
V1_MEMORY = os.path.join(SYSFS_CGROUP, "memory")

RMDIR_RETRY_S = 10
POLL_S = 0.05

_serial = itertools.count(1)


def _mounts():
    """(mount point, fstype, super options) of every mount."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            yield fields[4], fields[sep + 1], fields[sep + 3]


def v1_memory_root():
    """Where cgroup v1's memory controller is mounted, or None."""
    for point, fstype, opts in _mounts():
        if fstype == "cgroup" and "memory" in opts.split(","):
            return point
    return None


def unified_root():
    """The cgroup2 mount (hybrid: /sys/fs/cgroup/unified), or None."""
    for point, fstype, _ in _mounts():
        if fstype == "cgroup2":
            return point
    return None


def physical_memory():
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def percent_of(value, percent):
    """dirtyfs's resolution of N% of value (memcg.c resolve())."""
    return value // 100 * percent + value % 100 * percent // 100


def as_nobody_in(cgroup, fn):
    """Run fn() in a forked child moved into cgroup, then uid and gid
    nobody with no supplementary groups. Returns what fn returned (through
    JSON), or ["errno", N] for an OSError it raised."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(rfd)
            cgroup.write("cgroup.procs", os.getpid())
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            try:
                result = fn()
            except OSError as e:
                result = ["errno", e.errno]
            os.write(wfd, json.dumps(result).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as f:
        out = f.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the nobody child failed"
    return json.loads(out)


class Cgroup:
    """One cgroup: its CGPATH (as dirtyfs names it) and its directory."""

    def __init__(self, root, cgpath):
        self.root = root
        self.cgpath = cgpath
        self.dir = root + cgpath

    def __str__(self):
        return self.cgpath

    def file(self, name):
        return os.path.join(self.dir, name)

    def read(self, name):
        with open(self.file(name)) as f:
            return f.read()

    def write(self, name, value):
        with open(self.file(name), "w") as f:
            f.write(str(value))

    def pids(self):
        try:
            return [int(p) for p in self.read("cgroup.procs").split()]
        except FileNotFoundError:
            return []


class CgroupSet:
    """Cgroups under a private parent in the hierarchy mounted at root, and
    the processes started in them."""

    def __init__(self, root):
        self.root = root
        self.base = "/dfs-test-%d-%d" % (os.getpid(), next(_serial))
        self.made = []  # Cgroups, parents before children
        self.procs = []  # Popen objects this set started

    def make(self, name):
        """Make cgroup base/name (name may be nested: "P/c1", parents first)
        and return it. "" is the private parent itself."""
        cgpath = self.base
        parts = [p for p in name.split("/") if p]
        for depth in range(len(parts) + 1):
            if depth:
                cgpath += "/" + parts[depth - 1]
            if any(c.cgpath == cgpath for c in self.made):
                continue
            os.mkdir(self.root + cgpath)
            self.made.append(Cgroup(self.root, cgpath))
        return next(c for c in self.made if c.cgpath == cgpath)

    def spawn(self, cgroup, argv, **popen_kwargs):
        """Start argv inside cgroup; returns the Popen."""
        shell = 'echo $$ > "$0" && exec "$@"'
        popen_kwargs.setdefault("stdin", subprocess.DEVNULL)
        proc = subprocess.Popen(
            ["sh", "-c", shell, cgroup.file("cgroup.procs")] + list(argv),
            **popen_kwargs)
        self.procs.append(proc)
        return proc

    def run(self, cgroup, argv, timeout=60, check=True):
        """Run argv inside cgroup to its end; returns CompletedProcess."""
        proc = self.spawn(cgroup, argv, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
        done = subprocess.CompletedProcess(proc.args, proc.returncode, out,
                                           err)
        if check:
            assert done.returncode == 0, (argv, done.returncode, err)
        return done

    def stop_processes(self, timeout=30):
        """SIGKILL every process this set started that still runs, and reap
        them. Returns the pids still not reaped after timeout."""
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout
        stuck = []
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                stuck.append(proc.pid)
            for stream in (proc.stdout, proc.stderr):
                if stream:
                    stream.close()
        return stuck

    def remove(self):
        """Remove every cgroup made, deepest first. Raises if one stays."""
        left = []
        for cg in sorted(self.made, key=lambda c: -c.cgpath.count("/")):
            deadline = time.monotonic() + RMDIR_RETRY_S
            while True:
                try:
                    os.rmdir(cg.dir)
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    if e.errno != errno.EBUSY or time.monotonic() > deadline:
                        left.append("%s: %s (tasks %s)"
                                    % (cg.dir, e.strerror, cg.pids()))
                        break
                    time.sleep(POLL_S)
        self.made = []
        if left:
            raise AssertionError("cgroups left behind: " + "; ".join(left))

    def close(self):
        """Stop the processes started here, then remove the cgroups."""
        stuck = self.stop_processes()
        self.remove()
        assert not stuck, "processes not reaped: %s" % stuck
