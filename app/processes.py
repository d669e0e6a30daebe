"""Which process holds something, and whether that process is certainly gone.

A claim a request takes in its own committed transaction (an Idempotency-Key) outlives
the process that took it when that process is killed mid-request (a gunicorn timeout, an
OOM kill). Waiting out a lease makes every retry answer 409 until it ends; instead the
claim names its holder, and a retry that finds the holder gone takes the claim over at
once.

A holder is named by the machine's boot (``/proc/sys/kernel/random/boot_id``), its PID
namespace (``/proc/self/ns/pid``: containers on one machine share the boot but not the
PIDs), its PID and the tick it started at (``/proc/<pid>/stat`` field 22: a PID reused by
a later process starts later). A holder is known to be gone only when it ran on this
boot in this PID namespace and no process with its PID and start tick exists. Anywhere
else, another machine or a system without ``/proc``, nothing is known, and the caller
falls back to its lease.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

_PROC = Path("/proc")


@cache
def _machine() -> str | None:
    """This boot and PID namespace, or None where the system does not say (no /proc)."""
    try:
        boot = (_PROC / "sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink(_PROC / "self/ns/pid")
    except OSError:
        return None
    return f"{boot}/{namespace}"


def _start_tick(pid: int) -> str | None:
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces and ")": split after its last ")".
    fields = stat.rsplit(")", 1)[1].split()
    # A zombie (state Z) has ended; only its parent has not yet collected its exit status.
    return None if fields[0] == "Z" else fields[19]


def identity() -> str | None:
    """This process, as ``is_gone`` can check it later; None where the system cannot say.
    Read per call, so a forked worker names itself, not its parent."""
    machine = _machine()
    pid = os.getpid()
    tick = _start_tick(pid) if machine else None
    return f"{machine}/{pid}/{tick}" if machine and tick else None


def is_gone(holder: str | None) -> bool:
    """Whether the process ``holder`` names (from ``identity``) has certainly ended: it
    ran on this machine's boot and PID namespace, and no process with its PID and start
    tick is running. False whenever that cannot be known."""
    machine = _machine()
    if holder is None or machine is None or not holder.startswith(machine + "/"):
        return False
    pid, _, tick = holder[len(machine) + 1:].partition("/")
    return pid.isdigit() and _start_tick(int(pid)) != tick
