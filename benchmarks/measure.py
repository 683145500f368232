"""One tool run as a whole process: wall time, peak RSS, output; bounded by a timeout."""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

RUNNING: set[int] = set()  # process groups of the tools running now


def kill_running() -> None:
    """Kill every tool still running (on a signal: the namespace is going away)."""
    for pgid in list(RUNNING):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


@dataclass
class Run:
    argv: list[str]
    wall_s: float
    rss_kb: int  # peak resident set of the process (and the children it waited for)
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False


def run(argv: list[str], *, timeout: float, env: dict[str, str] | None = None) -> Run:
    """Run ``argv``; its wall time is taken around the whole process, start to exit.

    ``os.wait4`` gives the peak RSS of that process itself (``ip netns exec`` execs in
    place, so the pid is the tool's). Output goes to temporary files, never a full pipe.
    """
    if env is None:
        # Every tool runs from compiled bytecode, as installed tools do (the peers' wheels
        # are compiled at install; pingsock's editable sources by env.compile_sources()).
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, start_new_session=True
        )
        RUNNING.add(proc.pid)
        deadline = start + timeout
        timed_out = False
        status = 0
        rusage = None
        try:
            while True:
                pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    timed_out = True
                    os.killpg(proc.pid, signal.SIGKILL)
                    _, status, rusage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.002)
        finally:
            RUNNING.discard(proc.pid)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
        out.seek(0)
        err.seek(0)
        return Run(
            argv=argv,
            wall_s=wall,
            rss_kb=rusage.ru_maxrss if rusage else 0,
            returncode=proc.returncode,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
            timed_out=timed_out,
        )


def alternate(
    argv_a: list[str], argv_b: list[str], *, times: int, timeout: float
) -> tuple[Repeated, Repeated]:
    """Run two commands in turn, A B A B ..., ``times`` each: a drift in the machine's speed
    then falls on both alike, and :func:`pair_ratios` compares run with run."""
    a, b = Repeated(), Repeated()
    for _ in range(times):
        for argv, into in ((argv_a, a), (argv_b, b)):
            into.runs.append(run(argv, timeout=timeout))
            if into.runs[-1].timed_out:
                return a, b
    return a, b


def pair_ratios(a: Repeated, b: Repeated) -> list[float]:
    """Wall time of A over B, run pair by run pair."""
    return [x.wall_s / y.wall_s for x, y in zip(a.runs, b.runs, strict=False) if y.wall_s]


@dataclass
class Repeated:
    runs: list[Run] = field(default_factory=list)

    @property
    def wall_s(self) -> float:
        return statistics.median(r.wall_s for r in self.runs)

    @property
    def rss_kb(self) -> int:
        return max(r.rss_kb for r in self.runs)

    @property
    def last(self) -> Run:
        return self.runs[-1]

    @property
    def ok(self) -> bool:
        return all(r.returncode in (0, 1) and not r.timed_out for r in self.runs)


def repeat(argv: list[str], *, times: int, timeout: float) -> Repeated:
    result = Repeated()
    for _ in range(times):
        result.runs.append(run(argv, timeout=timeout))
        if result.runs[-1].timed_out:
            break
    return result
