"""The worker's process tree from /proc: Chromium's processes are grandchildren of the browser worker."""

from __future__ import annotations

import os


def children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def descendants(children: dict[int, list[int]], root: int) -> list[int]:
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def naming(path: str) -> list[int]:
    """Processes whose command line mentions `path`."""
    needle = path.encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if needle in fh.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


def tree_rss_mb() -> float:
    """Resident memory of this worker and everything under it (Playwright's driver, Chromium), in MiB."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in descendants(children_map(), os.getpid()):
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
    return total / 2**20
