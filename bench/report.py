#!/usr/bin/python3
"""Write bench/results/results.md from the raw measurements of bench/run.sh.

    report.py RESULTS_DIR

Reads RESULTS_DIR/raw/measurements.csv (workload,variant,round,key,value),
raw/status.txt, raw/notes.txt and machine.txt; the sizes come from the
environment run.sh passes. Every quoted figure is the median of the
measured rounds (maxima where the target is about a worst case); ratios
are of the medians. Targets are reported as met or missed, never asserted:
this script fails only on missing or malformed input.
"""
import csv
import os
import statistics
import sys
from collections import defaultdict

RESULTS = sys.argv[1]
RAW = os.path.join(RESULTS, "raw")
env = os.environ.get

data = defaultdict(list)  # (workload, variant, key) -> [values by round]
with open(os.path.join(RAW, "measurements.csv")) as f:
    for row in csv.DictReader(f):
        data[(row["workload"], row["variant"], row["key"])].append(
            float(row["value"]))

status = {}
with open(os.path.join(RAW, "status.txt")) as f:
    for line in f:
        parts = line.split()
        status[parts[0]] = parts[1:]


def med(w, v, k):
    vals = data.get((w, v, k))
    return statistics.median(vals) if vals else None


def vmax(w, v, k):
    vals = data.get((w, v, k))
    return max(vals) if vals else None


def fmt(x, unit=""):
    if x is None:
        return "—"
    if abs(x) >= 100:
        s = "%.0f" % x
    elif abs(x) >= 10:
        s = "%.1f" % x
    else:
        s = "%.3g" % x
    return s + (" " + unit if unit else "")


rows = []


def state_of(workload):
    st = status.get(workload)
    if not st:
        return "not run"
    if st[0] == "BROKEN":
        return "BROKEN"
    if st[0] == "not-run":
        return "not run"
    return None


def add(label, workload, ours, base, unit, target, higher_is_better=True,
        ratio=None, met=None):
    """One table row; the ratio is ours/base unless given."""
    broken = state_of(workload)
    if ratio is None and ours is not None and base:
        ratio = ours / base
    if broken and ours is None:
        met_s = broken
    elif met is not None:
        met_s = met
    elif target is None or ratio is None:
        met_s = "—"
    else:
        ok = ratio >= target if higher_is_better else ratio <= target
        met_s = "yes" if ok else "**no**"
    if target is None:
        target_s = "— (for comparison)"
    elif isinstance(target, str):
        target_s = target
    else:
        target_s = ("≥ %gx" if higher_is_better else "≤ %gx") % target
    rows.append("| %s | %s | %s | %s | %s | %s |" % (
        label, fmt(ours, unit), fmt(base, unit),
        "—" if ratio is None else "%.2fx" % ratio, target_s, met_s))


# 1. sequential writes
add("1. seq 1 MiB writes vs BACKING direct", "seq",
    med("seq", "dirtyfs", "MBps"), med("seq", "direct", "MBps"), "MB/s", 0.8)
add("1. seq 1 MiB writes vs write-through", "seq",
    med("seq", "dirtyfs", "MBps"), med("seq", "wt", "MBps"), "MB/s", 1.5)
add("1. seq 1 MiB writes, max_write=%s vs 1M (default)" % env("MW_MAX_WRITE"),
    "seq", med("seq", "dirtyfs_mw", "MBps"), med("seq", "dirtyfs", "MBps"),
    "MB/s", None)
# 2. random writes
add("2. rand 4 KiB writes vs write-through", "rand",
    med("rand", "dirtyfs", "iops"), med("rand", "wt", "iops"), "IOPS", 1.5)
add("2. rand 4 KiB writes vs BACKING direct", "rand",
    med("rand", "dirtyfs", "iops"), med("rand", "direct", "iops"), "IOPS",
    None)
# 3. reads
add("3. read 1 MiB, dirtyfs cache vs BACKING page cache", "read",
    med("read1m", "dirtyfs", "MBps"), med("read1m", "direct", "MBps"),
    "MB/s", 0.8)
add("3. read 4 KiB random, dirtyfs cache vs BACKING page cache", "read",
    med("read4k", "dirtyfs", "iops"), med("read4k", "direct", "iops"),
    "IOPS", 0.5)
add("3. read 1 MiB, kernel's FUSE page cache warm vs BACKING", "read",
    med("read1m", "dirtyfs_kcache", "MBps"), med("read1m", "direct", "MBps"),
    "MB/s", None)
add("3. read 4 KiB random, kernel's FUSE page cache warm vs BACKING", "read",
    med("read4k", "dirtyfs_kcache", "iops"), med("read4k", "direct", "iops"),
    "IOPS", None)
# 4. metadata
for phase in ("create", "stat", "unlink"):
    add("4. %s of %s empty files vs BACKING direct" % (phase, env("META_N")),
        "meta", med("meta", "dirtyfs", phase + "_ops"),
        med("meta", "direct", phase + "_ops"), "ops/s", 0.5)
# 5. draining
add("5. sync of %s dirty vs fio --direct=1 iodepth=16" % env("DRAIN_SIZE"),
    "drain", med("drain", "dirtyfs", "MBps"), med("drain", "fio_direct", "MBps"),
    "MB/s", 0.9)
# 6. isolation: noisy vs solo
for system, label in (
        ("dirtyfs", "dirtyfs, writeback_bw unlimited"),
        ("dirtyfs_bw", "dirtyfs, writeback_bw=%s" % env("ISO_BW")),
        *[("dirtyfs_bw" + bw, "dirtyfs, writeback_bw=%s" % bw)
          for bw in env("ISO_BW_LOW", "").split()],
        ("dirtyfs_nbfuse", "dirtyfs, the neighbour at %s/s through the "
         "mount and never held (its dirty_limit=max, fio --rate)"
         % env("ISO_BW")),
        ("kernel", "kernel, vm.dirty_bytes=256M")):
    w = "iso_" + system
    target = system not in ("kernel", "dirtyfs_nbfuse")
    add("6. victim p50, noisy vs solo (%s)" % label, "iso",
        med(w, "noisy", "p50_us"), med(w, "solo", "p50_us"), "us", None)
    add("6. victim p99, noisy vs solo (%s)" % label, "iso",
        med(w, "noisy", "p99_us"), med(w, "solo", "p99_us"), "us",
        1.5 if target else None, higher_is_better=False)
    add("6. victim p99.99, noisy vs solo (%s)" % label, "iso",
        med(w, "noisy", "p9999_us"), med(w, "solo", "p9999_us"), "us",
        3.0 if target else None, higher_is_better=False)
    worst = vmax(w, "noisy", "max_us")
    met = None
    if target and worst is not None:
        met = "yes" if worst <= 20000 else "**no**"
    add("6. victim max write, noisy (any round) vs solo (%s)" % label, "iso",
        worst, vmax(w, "solo", "max_us"), "us",
        "≤ 20 ms" if target else None, met=met)
    add("6. victim rate achieved, noisy vs solo (%s)" % label, "iso",
        med(w, "noisy", "rate_MiBps"), med(w, "solo", "rate_MiBps"),
        "MiB/s", None)
    add("6. neighbour's write rate, noisy (%s)" % label, "iso",
        med(w, "noisy", "nb_MBps"), None, "MB/s", None)
    if system != "kernel":
        add("6. daemon CPU seconds during the run, noisy vs solo (%s)" % label,
            "iso", med(w, "noisy", "daemon_cpu_s"), med(w, "solo", "daemon_cpu_s"),
            "s", None)
    add("6. victim's time waiting for a CPU, noisy vs solo (%s)" % label,
        "iso", med(w, "noisy", "runq_wait_ms"), med(w, "solo", "runq_wait_ms"),
        "ms", None)
# 7. throttle precision
limit = int(env("THR_LIMIT", "16M")[:-1]) << 20
for writers in (1, 4, 16):
    for bs, bs_bytes in (("1M", 1 << 20), ("4k", 4096)):
        v = "w%d-%s" % (writers, bs)
        peak = vmax("thr", v, "peak_dirty")
        allowed = writers * bs_bytes
        over = None if peak is None else max(peak - limit, 0) / limit
        met = None
        if peak is not None:
            met = "yes" if peak <= limit + allowed else "**no**"
        rows.append("| 7. peak dirty over a %s limit, %d writer%s x %s "
                    "(worst of rounds) | %s | limit %s | %s of limit | "
                    "≤ %s (one request a writer) | %s |" % (
                        env("THR_LIMIT"), writers, "s" if writers > 1 else "",
                        bs, "—" if peak is None else "%.3f MiB" % (peak / 1048576),
                        env("THR_LIMIT"),
                        "—" if over is None else "%.4f" % over,
                        "%.4f" % (allowed / limit),
                        met or state_of("thr") or "—"))
# 8. cost
add("8. daemon CPU s per GiB written (with writeback) vs write-through",
    "seq", med("cost", "dirtyfs", "cpu_s_per_GiB"),
    med("cost", "wt", "cpu_s_per_GiB"), "s/GiB", None)
rss, cached = med("mem", "dirtyfs", "rss_bytes"), med("mem", "dirtyfs", "cache_bytes")
if rss and cached:
    over = (rss - cached) / cached
    rows.append("| 8. daemon RSS beyond cached data, %s cached | %s MiB RSS | "
                "%s MiB cached | %.2f%% | ≤ 2%% | %s |" % (
                    env("SEQ_SIZE"), fmt(rss / 1048576), fmt(cached / 1048576),
                    100 * over, "yes" if over <= 0.02 else "**no**"))
# 9. scale
nfiles = int(env("SCALE_CGROUPS", "0")) * int(env("SCALE_FILES", "0"))
add("9. %s cgroups with limits vs one cgroup, %s dirty files" % (
        env("SCALE_CGROUPS"), format(nfiles, ",")), "scale",
    med("scale", "many", "MBps"), med("scale", "one", "MBps"), "MB/s", 0.9)
for nc in (1, 1000):
    for ni in (1000, 10000, 100000):
        v = "c%d-i%d" % (nc, ni)
        add("9. next-inode choice, %d cgroup%s over limit, %s dirty inodes: "
            "instructions (ns) per pick vs 1 cgroup, 1,000 inodes" % (
                nc, "s" if nc > 1 else "", format(ni, ",")), "scale",
            med("pick", v, "ir"), med("pick", "c1-i1000", "ir"), "",
            "≤ 1x (constant)", higher_is_better=False,
            met=None if med("pick", v, "ir") is None else
            ("yes" if med("pick", v, "ir") <= med("pick", "c1-i1000", "ir")
             else "**no**"))
        rows[-1] = rows[-1].replace(
            "| %s |" % fmt(med("pick", v, "ir")),
            "| %s (%s ns) |" % (fmt(med("pick", v, "ir")),
                                fmt(med("pick", v, "ns"))), 1)


def per_round_lines():
    out = []
    for (w, v, k), vals in sorted(data.items()):
        out.append("| %s | %s | %s | %s |" % (
            w, v, k, ", ".join(fmt(x) for x in vals)))
    return out


def read(name):
    try:
        with open(os.path.join(RESULTS, name)) as f:
            return f.read().strip()
    except OSError:
        return ""


notes = read("raw/notes.txt")
broken = [w for w, st in status.items() if st and st[0] == "BROKEN"]
runtime = int(env("RUNTIME_S", "0"))

md = []
md.append("# dirtyfs benchmark results\n")
md.append("`make bench` (bench/run.sh), %d measured rounds per workload after "
          "a warm-up, variants alternating within each round; medians quoted, "
          "ratios of medians. Total runtime %d min %d s. Machine: "
          "[machine.txt](machine.txt). Raw data: [raw/](raw/).\n" % (
              int(env("BENCH_ROUNDS", "3")), runtime // 60, runtime % 60))
if broken:
    md.append("**BROKEN workloads (a run failed, see raw/status.txt): %s**\n"
              % ", ".join(broken))
md.append("| workload | dirtyfs | baseline | ratio | target | met? |")
md.append("|---|---|---|---|---|---|")
md += rows
md.append("")
md.append("![per-cgroup dirty bytes, isolation run](dirty.png)\n")
md.append("## How each figure was measured\n")
md.append("""\
- Baselines: *BACKING direct* is the same ext4 filesystem written without
  FUSE (a sibling directory of BACKING); *write-through* is dirtyfs mounted
  with `dirty_limit=0` (every write written back before its reply).
- The cached dirtyfs mount of workloads 1-5 and 8: `%s`.
- 1. fio psync, `--rw=write --bs=1M --size=%s --end_fsync=0` on all three
  (no fsync at the end on either side: dirtyfs and the kernel both return
  with data dirty in memory). Overwrites the file laid out in the warm-up.
  The max_write row: the cached mount's options plus max_write=%s, on a
  mount of its own, in the same rounds.
  Between runs (untimed) the data is written back (`sync FILE` /
  `trusted.dirtyfs.sync`), so every run starts clean.
- 2. fio psync randwrite 4 KiB over a %s file laid out first, one pass or
  %s s, whichever ends first; written back between runs.
- 3. dirtyfs cache: fio's default `invalidate=1` drops the kernel's pages of
  the FUSE file (POSIX_FADV_DONTNEED) before each run, so every read goes
  to the daemon and is served from dirtyfs's cache (the file was written
  through the mount and is still cached). BACKING: read from the kernel's
  page cache (`invalidate=0`). The "kernel's FUSE page cache warm" rows read
  the mount with `invalidate=0`: what a reader sees right after writing; the
  daemon is not involved. 1 MiB: sequential read of the %s file; 4 KiB:
  random reads of the %s file, one pass or %s s.
- 4. bench/meta.c: create (open O_CREAT|O_EXCL + close), stat, unlink of
  %s empty files in a new directory, each phase timed.
- 5. %s written through the mount (untimed), then `setfattr -n
  trusted.dirtyfs.sync -v / MNT` timed: bytes dirty before / time. Against
  fio `--direct=1 --ioengine=io_uring --iodepth=16 --bs=1M` sequential
  writes of the same size on the same filesystem.
- 6. bench/victim.c in cgroup A writes 4 KiB with pwrite every 488 us
  (8 MiB/s) over a 64 MiB file for %s s, recording each write's latency.
  Noisy: fio with 16 jobs of 1 MiB sequential writes in cgroup B, started
  1.5 s earlier, B limited to dirty_limit=%s, dirty_background_limit=%s
  (writeback_bw unlimited, cache_size=1G, other options default). Solo and
  noisy runs alternate. The same again on a mount with
  writeback_bw=%s (the neighbour held most of the time rather than
  writing at the disk's speed), and on mounts with writeback_bw=%s (how
  the victim's tail follows the neighbour's rate). One comparison holds
  the neighbour to %s/s with fio's --rate instead, writing through a
  mount like the first (writeback_bw unlimited) but with no hard limit for
  B, so never held (written back from its background limit on): what that
  much traffic through the daemon costs the victim with no throttle at
  all. The kernel rows: the same on the filesystem
  directly with vm.dirty_bytes=256M (restored afterwards). Percentiles are
  nearest-rank per run; the medians of the runs are quoted; the max is the
  worst of all runs. The plot is the first noisy round.
- 7. fio with 1, 4 or 16 jobs writing sequentially in one cgroup with
  dirty_limit=%s, dirty_background_limit=%s, on a mount with
  writeback_bw=%s/s; the cgroup's `dirty` sampled every 5 ms for %s s; the
  worst peak of the rounds. Allowed: the limit plus one request per writer
  (writers x write size).
- 8. The cached daemon's utime+stime (/proc/PID/stat) across each
  workload-1 run and the writeback after it, per GiB written; the same for
  the write-through daemon. RSS from /proc/PID/status after the first
  measured run of workload 1, against the statistic cache_bytes.
- 9. bench/scale.c: %s processes, one per cgroup, each writing %s files
  of %s bytes (one write each, %s processes at a time); each cgroup has
  dirty_limit=%s, dirty_background_limit=%s, so each goes over its
  background limit. Baseline: the same processes all in one cgroup with
  %s times those limits. Alternating, written back and removed between
  runs (untimed). The choice of the next inode: bench/pick.c links the
  daemon's cgroup/memcg.c, puts N dirty inodes in C cgroups all over their
  background limits and calls memcg_next_writeback() (the flusher's
  choice): instructions per call from callgrind (10,000 calls; exact, not
  subject to machine noise), nanoseconds per call natively (%s calls).
""" % (env("M_OPTS"), env("SEQ_SIZE"), env("MW_MAX_WRITE"), env("RAND_FILE"),
       env("RAND_RUNTIME"),
       env("SEQ_SIZE"), env("RAND_FILE"), env("RAND_RUNTIME"), env("META_N"),
       env("DRAIN_SIZE"), env("ISO_SECONDS"), env("ISO_NB_LIMIT"),
       env("ISO_NB_BG"), env("ISO_BW"),
       " and ".join(env("ISO_BW_LOW", "").split()),
       env("ISO_BW"),
       env("THR_LIMIT"), env("THR_BG"), env("THR_BW"),
       env("THR_SECONDS"), env("SCALE_CGROUPS"), env("SCALE_FILES"),
       env("SCALE_BYTES"), env("SCALE_JOBS"), env("SCALE_LIMIT"),
       env("SCALE_BG"), env("SCALE_CGROUPS"), env("PICK_CALLS")))
md.append("## Scaled down or not run\n")
md.append(read("raw/scaled.txt") or "(nothing)")
md.append("")
if notes:
    md.append("## Notes from the run\n")
    md += ["- " + line for line in notes.splitlines()]
    md.append("")
md.append("## Every round\n")
md.append("| workload | variant | key | rounds |")
md.append("|---|---|---|---|")
md += per_round_lines()
md.append("")

with open(os.path.join(RESULTS, "results.md"), "w") as f:
    f.write("\n".join(md))
