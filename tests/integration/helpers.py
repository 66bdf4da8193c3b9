"""Helpers for the integration tests: syscalls Python lacks, running code as
another user, deterministic data, and dirtyfs's statistics format."""
import ctypes
import errno
import mmap
import os
import random

_libc = ctypes.CDLL(None, use_errno=True)
_libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                            ctypes.c_char_p, ctypes.c_uint]
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64,
                            ctypes.c_int64]

AT_FDCWD = -100
RENAME_NOREPLACE = 1 << 0
RENAME_EXCHANGE = 1 << 1
FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02

NOBODY = 65534  # uid and gid of nobody / nogroup on Debian

MiB = 1 << 20


def _check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, "%s: %s" % (what, os.strerror(err)))


def renameat2(old, new, flags):
    _check(_libc.renameat2(AT_FDCWD, os.fsencode(old), AT_FDCWD,
                           os.fsencode(new), flags), "renameat2")


def fallocate(fd, mode, offset, length):
    _check(_libc.fallocate(fd, mode, offset, length), "fallocate")


def run_as(uid, gid, fn, *args):
    """Run fn(*args) in a child process with uid and gid (no supplementary
    groups). Returns 0 if it returned, the errno of an OSError it raised,
    or 255 for any other exception."""
    pid = os.fork()
    if pid == 0:
        code = 255
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            fn(*args)
            code = 0
        except OSError as e:
            code = e.errno or 255
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def run_in_child(fn, *args):
    """Run fn(*args) in a child process with our credentials; as run_as."""
    return run_as(os.getuid(), os.getgid(), fn, *args)


def data(seed, size):
    """size pseudo-random bytes, the same for the same seed."""
    return random.Random(seed).randbytes(size)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def read_direct(path, size):
    """Up to size bytes from the start of path, read with O_DIRECT into a
    page-aligned buffer (an anonymous mapping)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    try:
        buf = mmap.mmap(-1, size)
        view, done = memoryview(buf), 0
        while done < size:
            n = os.preadv(fd, [view[done:]], done)
            if n == 0:
                break
            done += n
        return bytes(view[:done])
    finally:
        os.close(fd)


def write_file(path, content, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def pread_all(fd, size, offset):
    """Read exactly size bytes at offset (short only at end of file)."""
    chunks = []
    while size > 0:
        chunk = os.pread(fd, size, offset)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def pwrite_all(fd, content, offset):
    view = memoryview(content)
    while view:
        n = os.pwrite(fd, view, offset)
        view = view[n:]
        offset += n


def parse_stats(raw):
    """dirtyfs statistics: 'KEY VALUE' lines, numbers in decimal."""
    stats = {}
    for line in raw.decode().splitlines():
        if not line.strip():
            continue
        key, value = line.split()
        assert key not in stats, "duplicate key " + key
        stats[key] = int(value)
    return stats


def proc_status_bytes(pid, key, default=None):
    """A size from /proc/PID/status (key "VmRSS", "VmHWM", ...), in bytes;
    default where the key is missing (a zombie has none), else fail."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    if default is None:
        raise AssertionError("no %s for %d" % (key, pid))
    return default


def expect_errno(err, fn, *args):
    """fn(*args) must raise OSError with errno err."""
    try:
        fn(*args)
    except OSError as e:
        assert e.errno == err, "%s: want %s, got %s" % (
            getattr(fn, "__name__", fn), errno.errorcode[err],
            errno.errorcode.get(e.errno, e.errno))
        return
    raise AssertionError("%s succeeded, want %s" % (
        getattr(fn, "__name__", fn), errno.errorcode[err]))
