#!/usr/bin/python3
"""Where the isolation victim's slow writes spend their time.

    perf script -F comm,tid,cpu,time,event,trace -i DATA | \\
        schedtrace.py THRESHOLD_US > SUMMARY

DATA is a system-wide `perf record` of sched:sched_switch,
sched:sched_waking and raw_syscalls:sys_enter/sys_exit for read(2),
pwrite64(2), writev(2) and io_uring_enter(2) (bench/run.sh with
BENCH_SCHED=1 records it during a noisy round). Each of the victim's
pwrite64 calls that took at least THRESHOLD_US is cut into:

  queued   from the call until a dirtyfs thread's read of /dev/fuse returns
           its request (the last read of the thread that answers it);
  served   from there until that thread's reply wakes the victim;
  wakeup   from the reply until the victim runs again;
  return   from then until the call returns.

For each decomposed write, what was running on the CPU that the reply
woke the victim onto (woken_behind_NAME, a count; the victim waits for it
unless the scheduler moves it). And what ran on each CPU while those
writes were in flight is summed by task name, with "_in_read",
"_in_pwrite64" and so on where the task was inside one of the traced
calls (swapper is an idle CPU). Output: KEY=VALUE lines, times in
microseconds.
"""
import bisect
import collections
import re
import sys

LINE = re.compile(r"^\s*(\S.*?)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)$")
NR_READ, NR_PWRITE64 = "0", "18"
SYSCALL_NAMES = {"0": "read", "18": "pwrite64", "20": "writev",
                 "426": "io_uring_enter"}


def parse(lines):
    events = []
    for line in lines:
        m = LINE.match(line)
        if m:
            comm, tid, cpu, t, name, rest = m.groups()
            events.append((float(t), comm, int(tid), int(cpu), name, rest))
    events.sort(key=lambda e: e[0])
    return events


def syscall_nr(event):
    m = re.match(r"NR (\d+)", event[5])
    return m.group(1) if m else None


def victim_writes(events, victim):
    writes, start = [], None
    for e in events:
        if e[2] != victim or syscall_nr(e) != NR_PWRITE64:
            continue
        if e[4] == "raw_syscalls:sys_enter":
            start = e[0]
        elif e[4] == "raw_syscalls:sys_exit" and start is not None:
            writes.append((start, e[0]))
            start = None
    return writes


class Timeline:
    """What ran on each CPU, from the sched_switch events, and whether it
    was inside one of the traced system calls (a copy the kernel does not
    interrupt on a kernel built without preemption)."""

    def __init__(self, events):
        self.runs = collections.defaultdict(list)
        inside, running = {}, {}
        for e in events:
            if e[4] == "sched:sched_switch":
                m = re.search(r"next_comm=(.+?) next_pid=(\d+)", e[5])
                running[e[3]] = (m.group(1), int(m.group(2)))
            elif e[4] == "raw_syscalls:sys_enter":
                inside[e[2]] = SYSCALL_NAMES.get(syscall_nr(e), "?")
            elif e[4] == "raw_syscalls:sys_exit":
                inside.pop(e[2], None)
            else:
                continue
            if e[3] in running:
                comm, tid = running[e[3]]
                call = inside.get(tid)
                self.runs[e[3]].append(
                    (e[0], comm + ("_in_" + call if call else "")))
        self.starts = {c: [t for t, _ in r] for c, r in self.runs.items()}

    def add(self, cpu, a, b, acc):
        runs, starts = self.runs[cpu], self.starts[cpu]
        i = bisect.bisect_right(starts, a) - 1
        t = a
        while t < b:
            name = runs[i][1] if i >= 0 else "unknown"
            end = min(starts[i + 1] if i + 1 < len(runs) else b, b)
            acc[name] += end - t
            t, i = end, i + 1

    def at(self, cpu, t):
        """What ran on cpu at time t."""
        i = bisect.bisect_right(self.starts.get(cpu, []), t) - 1
        return self.runs[cpu][i][1] if i >= 0 else "unknown"


def phases(events, times, by_tid, victim, a, b):
    """The four phases of one write, or None where the trace lacks one."""
    window = events[bisect.bisect_left(times, a):bisect.bisect_right(times, b)]
    wakes = [e for e in window if e[4] == "sched:sched_waking"
             and " pid=%d " % victim in e[5] + " "]
    if not wakes:
        return None
    reply = wakes[-1]
    reads = [e for e in by_tid[reply[2]] if a <= e[0] <= reply[0]
             and e[4] == "raw_syscalls:sys_exit" and syscall_nr(e) == NR_READ]
    runs = [e[0] for e in window if e[0] >= reply[0]
            and e[4] == "sched:sched_switch"
            and "next_pid=%d " % victim in e[5] + " "]
    if not reads or not runs:
        return None
    picked, resumed = reads[-1][0], runs[0]
    target = re.search(r"target_cpu=(\d+)", reply[5])
    return {"queued": picked - a, "served": reply[0] - picked,
            "wakeup": resumed - reply[0], "return": b - resumed}, (
        reply[0], int(target.group(1)) if target else None)


def main():
    threshold = float(sys.argv[1]) * 1e-6
    events = parse(sys.stdin)
    victims = {e[2] for e in events if e[1] == "victim"}
    if len(victims) != 1:
        sys.exit("schedtrace: want one victim thread in the trace, found %d"
                 % len(victims))
    victim = victims.pop()
    times = [e[0] for e in events]
    by_tid = collections.defaultdict(list)
    for e in events:
        by_tid[e[2]].append(e)
    writes = victim_writes(events, victim)
    slow = [(a, b) for a, b in writes if b - a >= threshold]
    timeline, ran = Timeline(events), collections.Counter()
    sums, behind, n = collections.Counter(), collections.Counter(), 0
    for a, b in slow:
        for cpu in timeline.runs:
            timeline.add(cpu, a, b, ran)
        p = phases(events, times, by_tid, victim, a, b)
        if p:
            sums.update(p[0])
            n += 1
            t, cpu = p[1]
            if cpu is not None:
                behind[timeline.at(cpu, t)] += 1
    print("writes=%d slow=%d threshold_us=%g decomposed=%d"
          % (len(writes), len(slow), threshold * 1e6, n))
    for key in ("queued", "served", "wakeup", "return"):
        print("mean_%s_us=%.1f" % (key, sums[key] / n * 1e6 if n else 0))
    for name, count in behind.most_common(5):
        print("woken_behind_%s=%d" % (re.sub(r"\W", "_", name), count))
    total = sum(ran.values()) or 1
    for name, t in ran.most_common(10):
        print("ran_%s_pct=%.1f" % (re.sub(r"\W", "_", name), 100 * t / total))


if __name__ == "__main__":
    main()
