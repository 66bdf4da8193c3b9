#!/usr/bin/python3
"""Sample per-cgroup dirty and writeback bytes of a dirtyfs mount.

    sampler.py MNT INTERVAL_S OUT.csv CGPATH [CGPATH...]
    sampler.py memcg INTERVAL_S OUT.csv CGPATH [CGPATH...]

Reads trusted.dirtyfs.stat:CGPATH of the mount root MNT (or, given
"memcg", the kernel's own per-cgroup figures: the dirty and writeback
lines of cgroup v1 memory.stat) every INTERVAL_S seconds until SIGTERM or
SIGINT, and writes one CSV row per sample: t_s (since start), then dirty
and writeback bytes of each cgroup in turn.
A failed read is written as an empty field (and counted on stderr at the
end), never a crash: the sampler must not end a benchmark run.
"""
import os
import signal
import sys
import time

stop = False


def on_signal(signum, frame):
    global stop
    stop = True


def read_stat(mnt, cg):
    raw = os.getxattr(mnt, "trusted.dirtyfs.stat:" + cg)
    out = {}
    for line in raw.decode().splitlines():
        parts = line.split()
        if len(parts) == 2:
            out[parts[0]] = int(parts[1])
    return out


def read_memcg(cg):
    out = {}
    with open("/sys/fs/cgroup/memory" + cg + "/memory.stat") as f:
        for line in f:
            key, value = line.split()
            if key in ("dirty", "writeback"):
                out[key] = int(value)
    return out


def main():
    mnt, interval, path, cgs = (sys.argv[1], float(sys.argv[2]),
                                sys.argv[3], sys.argv[4:])
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    failures = 0
    header = ["t_s"]
    for cg in cgs:
        header += [cg + ":dirty", cg + ":writeback"]
    with open(path, "w") as out:
        out.write(",".join(header) + "\n")
        t0 = time.monotonic()
        next_t = t0
        while not stop:
            row = ["%.4f" % (time.monotonic() - t0)]
            for cg in cgs:
                try:
                    st = (read_memcg(cg) if mnt == "memcg"
                          else read_stat(mnt, cg))
                    row += [str(st.get("dirty", "")),
                            str(st.get("writeback", ""))]
                except OSError:
                    failures += 1
                    row += ["", ""]
            out.write(",".join(row) + "\n")
            next_t += interval
            delay = next_t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_t = time.monotonic()
    if failures:
        print("sampler: %d failed reads" % failures, file=sys.stderr)


if __name__ == "__main__":
    main()
