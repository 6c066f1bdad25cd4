"""The benchmarks' helper: run a command in a fresh process and measure its wall time, CPU time
and the peak memory of its whole process tree (Linux's /proc; elsewhere, time only)."""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

try:
    import resource  # POSIX: the CPU time of finished children
except ImportError:  # Windows
    resource = None


def tree_memory_mb(root_pid: int) -> tuple[float, float, float]:
    """(RSS summed, PSS summed, largest RSS) over a process and its descendants, in MB (Linux).

    PSS counts a page shared by several processes once in all, split between them.
    """
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text(encoding="utf-8").rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    rss = pss = largest = 0.0
    todo = [root_pid]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            lines = Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith("Rss:"):
                mb = int(line.split()[1]) / 1024
                rss, largest = rss + mb, max(largest, mb)
            elif line.startswith("Pss:"):
                pss += int(line.split()[1]) / 1024
    return rss, pss, largest


def measure(cmd: list[str], cwd: Path) -> dict:
    """Run a command, sampling its process tree's memory every 50 ms; wall, CPU and peaks."""
    before = cpu_of_children()
    start = time.perf_counter()
    # stderr to a file, not a pipe: a pipe nobody reads until the end blocks a chatty child
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        peak = {"rss": 0.0, "pss": 0.0, "largest": 0.0}
        while proc.poll() is None:
            for key, value in zip(peak, tree_memory_mb(proc.pid), strict=True):
                peak[key] = max(peak[key], value)
            time.sleep(0.05)
        wall = time.perf_counter() - start
        after = cpu_of_children()
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} failed:\n{stderr[-2000:]}")
    cpu = None if after is None else after - before
    return {
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "peak_rss_mb": peak["rss"],
        "peak_pss_mb": peak["pss"],
        "largest_process_mb": peak["largest"],
    }


def cpu_of_children() -> float | None:
    """User and system CPU seconds of the finished child processes (None without `resource`)."""
    if resource is None:
        return None
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
