"""Run Debian's iputils ``ping`` and ``pingsock ping`` side by side and compare what they print.

Both run as the same user, in the same namespace, one after the other (iputils first), with the
same minimal environment (``lab.users.run_as``). iputils is invoked as ``ping`` through ``PATH``,
so its diagnostics carry the same ``ping:`` prefix as pingsock's. It runs from a world-readable
copy of ``/usr/bin/ping`` *without* the file capability (``cp`` drops the xattr): the capability
would otherwise make iputils raw-socket capable for any user, and a bounding set without
``cap_net_raw`` would refuse to exec it. Only what depends on the clock is masked: the
``time=`` of each reply, the ``time Nms`` of the statistics and the four rtt numbers.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from lab.netns import Netns, lab_tempdir
from lab.users import BASE_ENV, NOBODY, User, pingsock_argv, run_as

__all__ = [
    "IPUTILS",
    "ROOT",
    "Outcome",
    "UNPRIVILEGED",
    "iputils_available",
    "mask",
    "run_iputils",
    "run_pingsock",
    "side_by_side",
]

IPUTILS = Path("/usr/bin/ping")
ROOT = User(0, 0, ambient_caps=("net_raw",))  # iputils as root: range "1 0" -> raw socket
UNPRIVILEGED = NOBODY  # needs ping_group_range including 65534 -> datagram socket
TIMEOUT = 30.0

_TIME_REPLY = re.compile(r" time=\d+(?:\.\d+)? ms")
_TIME_TOTAL = re.compile(r"(packet loss, time )\d+ms$", re.MULTILINE)
_RTT = re.compile(
    r"^rtt min/avg/max/mdev = \d+\.\d{3}/\d+\.\d{3}/\d+\.\d{3}/\d+\.\d{3} ms", re.MULTILINE
)

_lock = threading.Lock()
_bin: dict[str, Path] = {}


def iputils_available() -> bool:
    return IPUTILS.is_file()


def _iputils_dir() -> Path:
    """A world-readable directory holding ``ping``: /usr/bin/ping without its file caps."""
    with _lock:
        path = _bin.get("dir")
        if path is None or not (path / "ping").is_file():
            path = lab_tempdir("iputils")
            shutil.copyfile(IPUTILS, path / "ping")
            (path / "ping").chmod(0o755)
            path.chmod(0o755)
            _bin["dir"] = path
        return path


def mask(text: str) -> str:
    """Replace what depends on time (and only that) by placeholders."""
    text = _TIME_REPLY.sub(" time=<T> ms", text)
    text = _TIME_TOTAL.sub(r"\1<T>ms", text)
    return _RTT.sub("rtt min/avg/max/mdev = <min>/<avg>/<max>/<mdev> ms", text)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a run printed (masked) and its exit status."""

    stdout: str
    stderr: str
    status: int

    @classmethod
    def of(cls, proc: subprocess.CompletedProcess[str]) -> Outcome:
        return cls(mask(proc.stdout), mask(proc.stderr), proc.returncode)


def run_iputils(ns: Netns, user: User, args: list[str]) -> Outcome:
    env = {"PATH": f"{_iputils_dir()}:{BASE_ENV['PATH']}"}
    return Outcome.of(run_as(ns, user, ["ping", *args], timeout=TIMEOUT, env=env))


def run_pingsock(ns: Netns, user: User, args: list[str]) -> Outcome:
    return Outcome.of(run_as(ns, user, [*pingsock_argv(), "ping", *args], timeout=TIMEOUT))


def side_by_side(ns: Netns, user: User, args: list[str]) -> tuple[Outcome, Outcome]:
    """(iputils, pingsock), run one after the other as ``user`` in ``ns``."""
    return run_iputils(ns, user, args), run_pingsock(ns, user, args)
