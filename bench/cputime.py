"""CPU seconds of a process tree, for benches that compare models at equal CPU time:
the trainer and its DataLoader workers together, whatever else the machine runs."""

from __future__ import annotations

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of `pid` (default: this process), its live
    descendants, and the children they have reaped (Linux `/proc`)."""
    root = os.getpid() if pid is None else pid
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        # utime, stime (own) + cutime, cstime (reaped children)
        cpu[int(entry.name)] = sum(int(x) for x in fields[11:15]) / TICK
    total, todo = 0.0, [root]
    while todo:
        p = todo.pop()
        total += cpu.get(p, 0.0)
        todo.extend(children.get(p, []))
    return total
