#!/usr/bin/python3
"""A writer for the cgroup tests: SIZE bytes into PATH in writes of BS.

The content is deterministic: zeros, or with --seed the bytes
random.Random(seed).randbytes(size) (helpers.data() makes the same), so a
test can compare BACKING with what was written. --offset writes at an
offset into the file, --no-trunc keeps what is there (two writers sharing a
file). --rate paces the writes to about that many bytes per second.
--latency prints each write's duration in microseconds, one a line.
--fsync calls fsync at the end. --mmap writes through a shared mapping
instead (the file is first extended to the end of what is written), then
msyncs it.

--raw writes through libc's pwrite, which does not retry after EINTR as
Python does: a write that fails with EINTR prints "eintr at OFFSET" and the
writer exits 3. --catch-usr1 catches SIGUSR1 (doing nothing, with
SA_RESTART), so that the signal interrupts a write without killing the
writer.

Prints "done" and exits 0 when all is written; another OSError is printed
and exits 1.
"""
import argparse
import ctypes
import errno
import mmap
import os
import random
import signal
import sys
import time

_libc = ctypes.CDLL(None, use_errno=True)
_libc.pwrite.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t,
                         ctypes.c_long]
_libc.pwrite.restype = ctypes.c_ssize_t

SUFFIX = {"k": 10, "m": 20, "g": 30}
EXIT_EINTR = 3


class Interrupted(Exception):
    pass


def size(text):
    shift = SUFFIX.get(text[-1:].lower(), 0)
    return int(text[:-1] if shift else text) << shift


def raw_pwrite(fd, chunk, offset):
    """pwrite(2) once through libc; Interrupted on EINTR."""
    n = _libc.pwrite(fd, bytes(chunk), len(chunk), offset)
    if n >= 0:
        return n
    err = ctypes.get_errno()
    if err == errno.EINTR:
        raise Interrupted()
    raise OSError(err, os.strerror(err))


def write_mapped(path, content, offset, no_trunc):
    flags = os.O_RDWR | os.O_CREAT | (0 if no_trunc else os.O_TRUNC)
    fd = os.open(path, flags, 0o644)
    try:
        end = offset + len(content)
        if os.fstat(fd).st_size < end:
            os.ftruncate(fd, end)
        with mmap.mmap(fd, end) as mapped:
            mapped[offset:end] = content
            mapped.flush()
    finally:
        os.close(fd)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("path")
    p.add_argument("--size", type=size, required=True)
    p.add_argument("--bs", type=size, default=1 << 20)
    p.add_argument("--seed", type=int)
    p.add_argument("--offset", type=size, default=0)
    p.add_argument("--no-trunc", action="store_true")
    p.add_argument("--rate", type=size, help="bytes per second")
    p.add_argument("--latency", action="store_true")
    p.add_argument("--fsync", action="store_true")
    p.add_argument("--raw", action="store_true")
    p.add_argument("--catch-usr1", action="store_true")
    p.add_argument("--mmap", action="store_true")
    args = p.parse_args()

    if args.catch_usr1:
        signal.signal(signal.SIGUSR1, lambda signum, frame: None)
        signal.siginterrupt(signal.SIGUSR1, False)  # SA_RESTART
    if args.seed is None:
        content = bytes(args.size)
    else:
        content = random.Random(args.seed).randbytes(args.size)
    flags = os.O_WRONLY | os.O_CREAT | (0 if args.no_trunc else os.O_TRUNC)
    done = 0
    try:
        if args.mmap:
            write_mapped(args.path, content, args.offset, args.no_trunc)
            print("done", flush=True)
            return 0
        fd = os.open(args.path, flags, 0o644)
        start = time.monotonic()
        view = memoryview(content)
        while done < args.size:
            if args.rate:
                due = start + done / args.rate
                if due > time.monotonic():
                    time.sleep(due - time.monotonic())
            t0 = time.monotonic()
            chunk = view[done:done + args.bs]
            if args.raw:
                n = raw_pwrite(fd, chunk, args.offset + done)
            else:
                n = os.pwrite(fd, chunk, args.offset + done)
            if args.latency:
                print(int((time.monotonic() - t0) * 1e6), flush=True)
            done += n
        if args.fsync:
            os.fsync(fd)
        os.close(fd)
    except Interrupted:
        print("eintr at %d" % (args.offset + done), flush=True)
        return EXIT_EINTR
    except OSError as e:
        print("cgroup_writer: %s" % e, file=sys.stderr)
        return 1
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
