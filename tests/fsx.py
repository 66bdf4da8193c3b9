#!/usr/bin/python3
"""fsx-style exerciser: random operations on one file, mirrored on a file in
a plain directory, compared all along.

Operations: write, read, truncate, mmap write (with or without msync), mmap
read, fsync, fallocate (allocate, punch hole), close and reopen, stat. Every
read through the file under test is compared with the mirror; so is the
whole file at the end. A run is reproducible from its seed; a mismatch prints
the seed and the last operations, and exits 1.

With --procs N, N processes share the file, each with its own region of
--max-len / N bytes (page aligned) and its own random stream; the file size
stays fixed, so truncation and extension are left out.
"""
import argparse
import ctypes
import mmap
import os
import random
import sys
from collections import deque

PAGE = mmap.PAGESIZE
FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
HISTORY = 40

_libc = ctypes.CDLL(None, use_errno=True)
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64,
                            ctypes.c_int64]


class Mismatch(Exception):
    pass


def punch_hole(fd, offset, length):
    if _libc.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                       offset, length) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def pread_all(fd, size, offset):
    out = bytearray()
    while size > 0:
        chunk = os.pread(fd, size, offset)
        if not chunk:
            break
        out += chunk
        size -= len(chunk)
        offset += len(chunk)
    return bytes(out)


def pwrite_all(fd, buf, offset):
    view = memoryview(buf)
    while view:
        n = os.pwrite(fd, view, offset)
        view = view[n:]
        offset += n


class Exerciser:
    """Random operations within [lo, hi) of the file under test."""

    def __init__(self, test_path, mirror_path, seed, lo, hi, fixed_size,
                 use_mmap):
        self.test_path = test_path
        self.rng = random.Random(seed)
        self.seed = seed
        self.lo, self.hi = lo, hi
        self.fixed_size = fixed_size
        self.use_mmap = use_mmap
        self.history = deque(maxlen=HISTORY)
        self.fd = os.open(test_path, os.O_RDWR)
        self.mirror = os.open(mirror_path, os.O_RDWR)

    def close(self):
        os.close(self.fd)
        os.close(self.mirror)

    # --- helpers ----------------------------------------------------------

    def size(self):
        return os.fstat(self.mirror).st_size

    def span(self, max_len):
        """A random (offset, length) inside the region, length >= 1."""
        off = self.rng.randrange(self.lo, self.hi)
        length = self.rng.randint(1, min(max_len, self.hi - off))
        return off, length

    def random_len(self):
        """Mostly small, sometimes large: large ones push the cache."""
        if self.rng.random() < 0.1:
            return 1 << 20
        return 64 << 10

    def compare(self, off, length, what):
        got = pread_all(self.fd, length, off)
        want = pread_all(self.mirror, length, off)
        if got != want:
            first = next((i for i, (a, b) in enumerate(zip(got, want))
                          if a != b), min(len(got), len(want)))
            raise Mismatch("%s: %d bytes at %d differ from offset %d "
                           "(got %d bytes, want %d)" % (
                               what, length, off, off + first, len(got),
                               len(want)))

    # --- operations -------------------------------------------------------

    def op_write(self):
        off, length = self.span(self.random_len())
        buf = self.rng.randbytes(length)
        self.history.append("write %d+%d" % (off, length))
        pwrite_all(self.fd, buf, off)
        pwrite_all(self.mirror, buf, off)

    def op_read(self):
        off, length = self.span(256 << 10)
        self.history.append("read %d+%d" % (off, length))
        self.compare(off, length, "read")

    def op_truncate(self):
        size = self.rng.randrange(self.lo, self.hi + 1)
        self.history.append("truncate %d" % size)
        os.ftruncate(self.fd, size)
        os.ftruncate(self.mirror, size)

    def op_allocate(self):
        off, length = self.span(256 << 10)
        self.history.append("allocate %d+%d" % (off, length))
        os.posix_fallocate(self.fd, off, length)
        os.posix_fallocate(self.mirror, off, length)

    def op_punch(self):
        off, length = self.span(256 << 10)
        self.history.append("punch %d+%d" % (off, length))
        punch_hole(self.fd, off, length)
        punch_hole(self.mirror, off, length)

    def op_mapwrite(self):
        off, length = self.span(self.random_len())
        if off + length > self.size():
            if self.fixed_size:
                return
            os.ftruncate(self.fd, off + length)
            os.ftruncate(self.mirror, off + length)
        buf = self.rng.randbytes(length)
        sync = self.rng.random() < 0.5
        self.history.append("mapwrite %d+%d%s" % (off, length,
                                                  " msync" if sync else ""))
        base = off - off % PAGE
        with mmap.mmap(self.fd, off + length - base, mmap.MAP_SHARED,
                       offset=base) as m:
            m[off - base:off - base + length] = buf
            if sync:
                m.flush()
        pwrite_all(self.mirror, buf, off)

    def op_mapread(self):
        off, length = self.span(256 << 10)
        length = min(length, self.size() - off)
        if length <= 0:
            return
        self.history.append("mapread %d+%d" % (off, length))
        base = off - off % PAGE
        with mmap.mmap(self.fd, off + length - base, mmap.MAP_SHARED,
                       mmap.PROT_READ, offset=base) as m:
            got = m[off - base:off - base + length]
        if got != pread_all(self.mirror, length, off):
            raise Mismatch("mapread %d+%d differs" % (off, length))

    def op_fsync(self):
        self.history.append("fsync")
        os.fsync(self.fd)

    def op_reopen(self):
        self.history.append("reopen")
        os.close(self.fd)
        self.fd = os.open(self.test_path, os.O_RDWR)

    def op_stat(self):
        self.history.append("stat")
        got, want = os.fstat(self.fd).st_size, self.size()
        if got != want:
            raise Mismatch("size %d, want %d" % (got, want))

    def operations(self):
        """(weight, operation) pairs for this run."""
        ops = [(30, self.op_write), (25, self.op_read), (4, self.op_fsync),
               (3, self.op_punch), (3, self.op_reopen), (5, self.op_stat)]
        if not self.fixed_size:
            ops += [(6, self.op_truncate), (3, self.op_allocate)]
        if self.use_mmap:
            ops += [(10, self.op_mapwrite), (6, self.op_mapread)]
        return ops

    def run(self, nr_ops):
        ops = self.operations()
        weights = [w for w, _ in ops]
        for i in range(nr_ops):
            op = self.rng.choices(ops, weights)[0][1]
            try:
                op()
            except (Mismatch, OSError) as e:
                self.report(i, e)
                return 1
        return 0

    def report(self, i, error):
        print("fsx: seed %d, operation %d: %s" % (self.seed, i, error),
              file=sys.stderr)
        print("fsx: last operations:\n  " + "\n  ".join(self.history),
              file=sys.stderr)


def compare_files(test_path, mirror_path):
    with open(test_path, "rb") as t, open(mirror_path, "rb") as m:
        got, want = t.read(), m.read()
    if got == want:
        return 0
    print("fsx: final contents differ (%d bytes, want %d)"
          % (len(got), len(want)), file=sys.stderr)
    return 1


def run_one(args, seed, lo, hi, fixed_size):
    ex = Exerciser(args.file, args.mirror, seed, lo, hi, fixed_size,
                   not args.no_mmap)
    try:
        return ex.run(args.ops)
    finally:
        ex.close()


def run_procs(args):
    """Fork one exerciser per region; 0 if all of them passed."""
    region = args.max_len // args.procs // PAGE * PAGE
    for path in (args.file, args.mirror):
        os.truncate(path, region * args.procs)
    pids = []
    for i in range(args.procs):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = run_one(args, args.seed + i, i * region,
                               (i + 1) * region, True)
            finally:
                os._exit(code)
        pids.append(pid)
    failed = 0
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        failed += os.waitstatus_to_exitcode(status) != 0
    return 1 if failed else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("file", help="file under test (created if missing)")
    p.add_argument("mirror", help="mirror file in a plain directory")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--ops", type=int, default=1000,
                   help="operations per process")
    p.add_argument("--max-len", type=int, default=8 << 20,
                   help="largest file offset used")
    p.add_argument("--procs", type=int, default=1)
    p.add_argument("--no-mmap", action="store_true")
    args = p.parse_args()
    for path in (args.file, args.mirror):
        os.close(os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o644))
    if args.procs > 1:
        ret = run_procs(args)
    else:
        ret = run_one(args, args.seed, 0, args.max_len, False)
    if ret == 0:
        ret = compare_files(args.file, args.mirror)
    print("fsx: %s: %d processes x %d operations, seed %d" % (
        "FAILED" if ret else "ok", args.procs, args.ops, args.seed))
    return ret


if __name__ == "__main__":
    sys.exit(main())
