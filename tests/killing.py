"""Kill a real child process at a random moment: the shared harness of the kill -9 tests.

`kill_at_random` starts a command, sends SIGKILL after a random delay (or lets it finish if it ends first) and
says which happened. The tests around it then check that the next command sees nothing half-written, loses
nothing and sends nothing twice. `PARITY_FUZZ=full` (`make fuzz`) runs every kill point; `make test` a sample.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

FULL = os.environ.get("PARITY_FUZZ") == "full"


def kill_points(full: int, sample: int) -> int:
    """How many kill points to run: all of them under `make fuzz`, a bounded sample under `make test`."""
    return full if FULL else sample


@dataclass(frozen=True, slots=True)
class Outcome:
    killed: bool  # True when SIGKILL landed before the command ended on its own
    returncode: int
    delay_s: float
    stderr: str


def kill_at_random(
    argv: Sequence[str],
    *,
    low_s: float,
    high_s: float,
    rng: random.Random,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float = 300.0,
) -> Outcome:
    """Run `argv`, SIGKILL its whole process group after a uniform random delay in [low_s, high_s)."""
    delay = rng.uniform(low_s, high_s)
    child = subprocess.Popen(
        list(argv), cwd=cwd, env=env if env is not None else os.environ.copy(),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        _, err = child.communicate(timeout=delay)
        return Outcome(False, child.returncode, delay, err)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        _, err = child.communicate(timeout=timeout_s)
        return Outcome(child.returncode == -signal.SIGKILL, child.returncode, delay, err)
