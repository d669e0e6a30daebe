from __future__ import annotations

import os
import subprocess
import sys

from app import processes


def test_this_process_is_running_and_an_ended_one_is_gone() -> None:
    this = processes.identity()
    assert this is not None and not processes.is_gone(this)
    ended = subprocess.run([sys.executable, "-c", "from app import processes; print(processes.identity())"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert ended != this and processes.is_gone(ended)


def test_a_reused_pid_is_not_the_holder() -> None:
    this = processes.identity()
    assert this is not None
    machine, pid, _ = this.rsplit("/", 2)
    assert pid == str(os.getpid())
    assert processes.is_gone(f"{machine}/{pid}/1")  # this PID, but a process that started at another tick


def test_nothing_is_known_of_another_machine_or_an_unnamed_holder() -> None:
    assert not processes.is_gone("0b0e1d2c-another-boot/pid:[4026531836]/1/1")
    assert not processes.is_gone(None)
    assert not processes.is_gone("")
