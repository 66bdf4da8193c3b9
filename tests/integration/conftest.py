"""Mount harness for the dirtyfs integration tests, after libfuse's.

Every mount runs the daemon in the foreground as a child of pytest (binary:
$DIRTYFS_BIN, default build/dirtyfs) over a fresh BACKING under /tmp. The
harness waits for the mount (polling /proc/self/mountinfo), fails at once if
the daemon dies, and at the end always unmounts (lazily if it must), reaps
the daemon it started, demands its exit status, fails if the daemon printed
an error or a sanitizer report, and fails if the mount is still listed.
"""
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.abspath(
    os.environ.get("DIRTYFS_BIN", os.path.join(REPO, "build", "dirtyfs")))
IN_CI = os.environ.get("CI") == "true"

POLL_S = 0.1
MOUNT_TIMEOUT_S = 10
# Unmount writes back every dirty byte first, and ASan slows that down.
EXIT_TIMEOUT_S = 120
# What fails a test when the daemon prints it: sanitizer reports always;
# unless the test provokes failures, any error, failure or warning too (as a
# word, any case: "ERROR:", "Input/output error", "failed", "warning").
SANITIZER_RE = re.compile(
    r"AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error")
ERROR_RE = re.compile(
    SANITIZER_RE.pattern + r"|\b(error|failed|warning)\b", re.IGNORECASE)


def require(condition, why):
    """Skip where the machine lacks a feature; under CI=true, fail instead."""
    if condition:
        return
    if IN_CI:
        pytest.fail("CI must be able to run this: " + why)
    pytest.skip(why)


def _unescape_mountinfo(field):
    """Mountinfo writes space, tab, newline and backslash as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"),
                       ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def mount_type(path):
    """The filesystem type mounted at path (topmost), or None."""
    found = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if _unescape_mountinfo(fields[4]) == path:
                found = fields[fields.index("-") + 1]
    return found


def is_fuse_mount(path):
    fstype = mount_type(path)
    return fstype is not None and fstype.split(".")[0] in ("fuse", "fuseblk")


class Workdir:
    """A private /tmp directory holding BACKING, MOUNTPOINT and the log.

    BACKING sits one level deeper than MOUNTPOINT, so their parents differ.
    The directories are world-searchable: tests act as other users too.
    """

    def __init__(self, backing=None):
        self.root = tempfile.mkdtemp(prefix="dirtyfs-", dir="/tmp")
        os.chmod(self.root, 0o755)
        self.own_backing = backing is None
        self.backing = backing or os.path.join(self.root, "store", "data")
        self.mnt = os.path.join(self.root, "mnt")
        self.log = os.path.join(self.root, "daemon.log")
        os.makedirs(self.backing, mode=0o755, exist_ok=True)
        os.mkdir(self.mnt, 0o755)

    def remove(self):
        """Remove everything. A mount left on mnt (a daemon that mounted
        where the test expected a refusal, and was killed at its timeout) is
        detached first, so that rmtree never walks into it, and then
        reported as a failure."""
        leftover = is_fuse_mount(self.mnt)
        if leftover:
            subprocess.run(["fusermount3", "-u", "-z", self.mnt],
                           stdin=subprocess.DEVNULL, check=False)
        shutil.rmtree(self.root)
        assert not leftover, "was still mounted: " + self.mnt


class Mount:
    """One dirtyfs daemon and its mount; see the module docstring."""

    def __init__(self, workdir, options, allowed_exit=(0,),
                 errors_expected=False, nofile=None, argv_prefix=()):
        self.work = workdir
        self.argv_prefix = list(argv_prefix)  # a wrapper: strace, say
        self.nofile = nofile  # RLIMIT_NOFILE (soft and hard) of the daemon
        self.backing = workdir.backing
        self.mnt = workdir.mnt
        self.options = ",".join(["allow_other"] + list(options))
        self.allowed_exit = allowed_exit
        # A test that provokes failures (ENOSPC) may see the daemon log
        # them; sanitizer reports still fail it.
        self.bad_output = SANITIZER_RE if errors_expected else ERROR_RE
        self.proc = None
        self.returncode = None

    def path(self, *parts):
        return os.path.join(self.mnt, *parts)

    def backing_path(self, *parts):
        return os.path.join(self.backing, *parts)

    def log_text(self):
        try:
            with open(self.work.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def start(self):
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        env.setdefault("LSAN_OPTIONS", "print_suppressions=0:suppressions="
                       + os.path.join(REPO, "tests", "lsan.supp"))
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        limit = None
        if self.nofile:
            def limit():
                resource.setrlimit(resource.RLIMIT_NOFILE,
                                   (self.nofile, self.nofile))
        with open(self.work.log, "wb") as log:
            self.proc = subprocess.Popen(
                self.argv_prefix +
                [BIN, "-f", "-o", self.options, self.backing, self.mnt],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                preexec_fn=limit)
        self._wait_mounted()

    def _wait_mounted(self):
        deadline = time.monotonic() + MOUNT_TIMEOUT_S
        while not is_fuse_mount(self.mnt):
            if self.proc.poll() is not None:
                self.returncode = self.proc.returncode
                pytest.fail("dirtyfs exited with %d before mounting:\n%s"
                            % (self.proc.returncode, self.log_text()))
            if time.monotonic() > deadline:
                pytest.fail("no mount after %d s:\n%s"
                            % (MOUNT_TIMEOUT_S, self.log_text()))
            time.sleep(POLL_S)

    @property
    def running(self):
        return self.proc is not None and self.returncode is None

    def unmount(self):
        """fusermount3 -u (lazily if busy), then reap and check the daemon."""
        if is_fuse_mount(self.mnt):
            done = subprocess.run(["fusermount3", "-u", self.mnt],
                                  capture_output=True)
            if done.returncode != 0:
                subprocess.run(["fusermount3", "-u", "-z", self.mnt],
                               capture_output=True)
        return self._reap()

    def terminate(self, sig=signal.SIGTERM):
        """Stop the daemon by signal; it must unmount and exit by itself."""
        self.proc.send_signal(sig)
        return self._reap()

    def _reap(self):
        try:
            self.returncode = self.proc.wait(timeout=EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.returncode = self.proc.wait()
            pytest.fail("dirtyfs did not exit within %d s of the unmount:\n%s"
                        % (EXIT_TIMEOUT_S, self.log_text()))
        self.check_exit()
        return self.returncode

    def check_exit(self):
        log = self.log_text()
        assert self.returncode in self.allowed_exit, (
            "dirtyfs exited with %d:\n%s" % (self.returncode, log))
        bad = self.bad_output.search(log)
        assert not bad, "dirtyfs printed %r:\n%s" % (bad and bad.group(), log)
        assert not is_fuse_mount(self.mnt), "mount left behind: " + self.mnt

    def close(self):
        """Teardown: whatever state the test left, end with nothing mounted,
        no daemon, no directories; then report what went wrong."""
        try:
            if self.running:
                self.unmount()
        finally:
            if self.running:
                self.proc.kill()
                self.returncode = self.proc.wait()
            if is_fuse_mount(self.mnt):
                subprocess.run(["fusermount3", "-u", "-z", self.mnt],
                               capture_output=True)
            self.work.remove()


@pytest.fixture
def dirtyfs(tmpfs):
    """Factory: dirtyfs(options, backing=None, ...) -> a started Mount.
    argv_prefix runs the daemon under a wrapper that exits with its status
    (strace): for tests that end with unmount(), as a wrapper need not pass
    terminate()'s signal on.

    Every mount is torn down and checked when the test ends. It depends on
    the tmpfs fixture so that a tmpfs BACKING is unmounted only after the
    dirtyfs mounts over it are gone.
    """
    mounts = []

    def start(options=(), backing=None, allowed_exit=(0,),
              errors_expected=False, nofile=None, argv_prefix=()):
        m = Mount(Workdir(backing), options, allowed_exit, errors_expected,
                  nofile, argv_prefix)
        mounts.append(m)
        m.start()
        return m

    yield start
    failures = []
    for m in reversed(mounts):
        try:
            m.close()
        except BaseException as e:  # every mount must be closed first
            failures.append(e)
    if failures:
        raise failures[0]


@pytest.fixture
def mnt(dirtyfs):
    """A mount with the default options."""
    return dirtyfs()


@pytest.fixture
def tmpfs():
    """Factory: tmpfs(size, fstype="tmpfs") -> the path of a fresh tmpfs
    (or a ramfs, which ignores size and has no xattrs, so no ACLs),
    unmounted and removed at the end of the test."""
    made = []

    def make(size, fstype="tmpfs"):
        require(os.geteuid() == 0, "mounting a tmpfs needs root")
        path = tempfile.mkdtemp(prefix="dirtyfs-tmpfs-", dir="/tmp")
        made.append((path, fstype))
        subprocess.run(["mount", "-t", fstype, "-o", "size=" + size,
                        fstype, path], check=True)
        os.chmod(path, 0o755)
        return path

    yield make
    for path, fstype in made:
        if mount_type(path) == fstype:
            subprocess.run(["umount", path], check=True)
        os.rmdir(path)
