#!/usr/bin/python3
"""One process of the soak (tests/integration/test_soak.py).

A writer owns the directory DIR: until the deadline it writes, overwrites,
truncates, renames, unlinks and re-creates its files, fsyncs some, and reads
every file back after changing it, comparing with its own model of the
contents. At the end it prints one JSON object: {name: sha256} of every file
it left, so the driver can check them through the mount and in BACKING.

A reader reads random files of all writers' directories until the deadline;
writers change them under it, so it checks only that reads do not fail
(ENOENT from a file renamed or unlinked meanwhile is expected).

Usage: soak_worker.py writer DIR SEED SECONDS
       soak_worker.py reader ROOT SEED SECONDS
"""
import errno
import hashlib
import json
import os
import random
import sys
import time

FILES = 4
MAX_SIZE = 2 << 20


def pattern(rng, size):
    return rng.randbytes(size)


class Writer:
    def __init__(self, top, seed):
        self.top = top
        self.rng = random.Random(seed)
        self.files = {}  # name -> bytearray, the model
        self.serial = 0

    def path(self, name):
        return os.path.join(self.top, name)

    def new_name(self):
        self.serial += 1
        return "f%d" % self.serial

    def check(self, name):
        with open(self.path(name), "rb") as f:
            got = f.read()
        if got != bytes(self.files[name]):
            raise AssertionError("%s: read back differs from what was "
                                 "written (%d vs %d bytes)" %
                                 (self.path(name), len(got),
                                  len(self.files[name])))

    def write(self, name):
        model = self.files.setdefault(name, bytearray())
        off = self.rng.randrange(0, MAX_SIZE)
        buf = pattern(self.rng, self.rng.choice((512, 4096, 65536, 1 << 20)))
        fd = os.open(self.path(name), os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.pwrite(fd, buf, off)
            if self.rng.random() < 0.1:
                os.fsync(fd)
        finally:
            os.close(fd)
        if len(model) < off:
            model.extend(bytes(off - len(model)))
        model[off:off + len(buf)] = buf

    def truncate(self, name):
        size = self.rng.randrange(0, MAX_SIZE)
        os.truncate(self.path(name), size)
        model = self.files[name]
        if size < len(model):
            del model[size:]
        else:
            model.extend(bytes(size - len(model)))

    def rename(self, name):
        new = self.new_name()
        os.rename(self.path(name), self.path(new))
        self.files[new] = self.files.pop(name)
        return new

    def unlink(self, name):
        os.unlink(self.path(name))
        del self.files[name]

    def step(self):
        if len(self.files) < FILES:
            name = self.new_name()
            self.write(name)
            self.check(name)
            return
        name = self.rng.choice(sorted(self.files))
        op = self.rng.random()
        if op < 0.6:
            self.write(name)
        elif op < 0.75:
            self.truncate(name)
        elif op < 0.9:
            name = self.rename(name)
        else:
            self.unlink(name)
            return
        self.check(name)

    def run(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.step()
        return {name: hashlib.sha256(bytes(data)).hexdigest()
                for name, data in self.files.items()}


def reader(root, seed, seconds):
    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    reads = 0
    while time.monotonic() < deadline:
        dirs = [d for d in os.listdir(root) if d.startswith("w")]
        if not dirs:
            time.sleep(0.01)
            continue
        top = os.path.join(root, rng.choice(dirs))
        try:
            name = rng.choice(os.listdir(top) or ["none"])
            with open(os.path.join(top, name), "rb") as f:
                f.seek(rng.randrange(0, MAX_SIZE))
                f.read(rng.choice((4096, 1 << 20)))
            reads += 1
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise
    return {"reads": reads}


def main():
    role, where, seed, seconds = sys.argv[1:5]
    if role == "writer":
        os.makedirs(where, exist_ok=True)
        result = Writer(where, int(seed)).run(float(seconds))
    else:
        result = reader(where, int(seed), float(seconds))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
