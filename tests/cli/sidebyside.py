"""Run Debian's iputils ``ping`` and ``pingsock ping`` side by side and compare what they print.

Both run as the same user, in the same namespace, one after the other (iputils first), with the
same minimal environment (that of ``lab.users.run_as``). iputils is invoked as ``ping`` through
``PATH``, so its diagnostics carry the same ``ping:`` prefix as pingsock's. It runs from a
world-readable copy of ``/usr/bin/ping`` *without* the file capability (``cp`` drops the xattr):
the capability would otherwise make iputils raw-socket capable for any user, and a bounding set
without ``cap_net_raw`` would refuse to exec it.

A run may be interrupted (:class:`Interrupt`): a signal is sent once the program has sent a given
number of probes (counted on the wire) or printed a given line, so that SIGQUIT and SIGINT land at
the same point of both runs whatever each program's start-up time.

**Masks** (:func:`mask`). Only what depends on the clock, or on the process itself, is replaced;
everything else must match byte for byte:

* ``time=<T> ms`` -- the RTT of each reply line (clock);
* ``time <T>ms`` in the statistics -- time from the first to the last probe (clock);
* ``rtt min/avg/max/mdev = <min>/<avg>/<max>/<mdev> ms`` -- the four RTT numbers (clock);
* ``ipg/ewma <ipg>/<ewma> ms`` -- the inter-packet gap and the RTT moving average printed with
  ``-f``/``-A``/``-i 0`` (clock);
* ``min/avg/ewma/max = <min>/<avg>/<ewma>/<max> ms`` -- the RTT numbers of the SIGQUIT status
  line on stderr (clock); its ``N/M packets, L% loss`` stays exact;
* ``[<TS>] `` -- the ``-D`` prefix ``[sec.usec] `` at the start of a line (gettimeofday);
* ``<ms>`` -- the values of an IPv4 timestamp block (``-T``): milliseconds since midnight UTC
  and the deltas between hops (clock); the addresses of ``tsandaddr``/``tsprespec``, the
  ``absolute``/``not-standard`` words and ``Unrecorded hops`` stay exact;
* ``ident=<PID>`` -- with ``-v`` on a raw socket both programs use their own process id as the
  ICMP identifier (Debian's iputils: the PID since 20221126-1+deb12u1). Each program's number is
  replaced only when it equals *that program's* PID (mod 2**16), so an identifier chosen any
  other way still shows up as a difference. An ``ident=`` that was chosen with ``-e`` is exact.

Nothing else is masked: not the socket fd numbers of ``-v`` (pingsock can and must print the
same), not ``pipe N``, not the flood characters of ``-f``.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import select
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from parsers import assert_parsers_agree

from lab.netns import Netns, lab_tempdir
from lab.sniffer import Packet, Sniffer
from lab.users import BASE_ENV, NOBODY, User, pingsock_argv, pingsock_copy, setpriv_argv

__all__ = [
    "IPUTILS",
    "ROOT",
    "UNPRIVILEGED",
    "USERS",
    "Case",
    "Interrupt",
    "Outcome",
    "Run",
    "case",
    "check",
    "compare",
    "iputils_available",
    "mask",
    "prepare",
    "raw_twins",
    "run_iputils",
    "run_pingsock",
    "run_program",
    "side_by_side",
]

IPUTILS = Path("/usr/bin/ping")
ROOT = User(0, 0, ambient_caps=("net_raw",))  # iputils as root: range "1 0" -> raw socket
UNPRIVILEGED = NOBODY  # needs ping_group_range including 65534 -> datagram socket
TIMEOUT = 30.0
_READ = 65536

_TIME_REPLY = re.compile(r" time=\d+(?:\.\d+)? ms")
_TIME_TOTAL = re.compile(r"(packet loss, time )\d+ms$", re.MULTILINE)
_MS3 = r"\d+\.\d{3}"
_RTT = re.compile(rf"^rtt min/avg/max/mdev = {_MS3}/{_MS3}/{_MS3}/{_MS3} ms", re.MULTILINE)
_IPG = re.compile(rf"ipg/ewma {_MS3}/{_MS3} ms")
_STATUS = re.compile(rf"min/avg/ewma/max = {_MS3}/{_MS3}/{_MS3}/{_MS3} ms")
_TIMESTAMP = re.compile(r"^\[\d+\.\d{6}\] ", re.MULTILINE)
_IDENT = re.compile(r" ident=(\d+) ")
_TS_VALUE = re.compile(r"\t\d+((?: absolute)?(?: not-standard)?)$")

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


def _mask_ts_blocks(text: str) -> str:
    """Replace the numbers of ``TS:`` blocks (a ``TS: `` line and the tab lines after it)."""
    out: list[str] = []
    inside = False
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\n")
        if body.startswith("TS: "):
            inside = True
        elif not body.startswith("\t"):
            inside = False
        out.append(_TS_VALUE.sub(r"\t<ms>\1", body) + line[len(body) :] if inside else line)
    return "".join(out)


def mask(text: str, pid: int | None = None) -> str:
    """Replace what depends on time (or on the process id ``pid``), and only that."""
    text = _TIME_REPLY.sub(" time=<T> ms", text)
    text = _TIME_TOTAL.sub(r"\1<T>ms", text)
    text = _RTT.sub("rtt min/avg/max/mdev = <min>/<avg>/<max>/<mdev> ms", text)
    text = _IPG.sub("ipg/ewma <ipg>/<ewma> ms", text)
    text = _STATUS.sub("min/avg/ewma/max = <min>/<avg>/<ewma>/<max> ms", text)
    text = _TIMESTAMP.sub("[<TS>] ", text)
    if "TS: " in text:
        text = _mask_ts_blocks(text)
    if pid is not None:
        ident = str(pid & 0xFFFF)
        text = _IDENT.sub(lambda m: " ident=<PID> " if m.group(1) == ident else m.group(0), text)
    return text


@dataclass(frozen=True, slots=True)
class Interrupt:
    """Send ``signum`` to the program at the same point of both runs.

    The point is reached once ``probes`` echo requests have left through ``iface`` (seen by an
    AF_PACKET capture in the namespace) or, with ``line``, once stdout matches that regex (both
    programs flush stdout after each reply or error line; the header alone is not flushed).
    The signal follows ``delay`` seconds later. If the point is not reached within ``patience``
    seconds the signal is sent anyway (the output then shows it).
    """

    signum: int
    probes: int = 0
    line: str = ""
    iface: str = "c0"
    delay: float = 0.0
    patience: float = 10.0


def _is_probe(packet: Packet) -> bool:
    return (
        packet.outgoing
        and packet.is_icmp
        and len(packet.l4) >= 8
        and packet.l4[0] == (8 if packet.family == 4 else 128)
    )


class _Trigger:
    """Decides when an :class:`Interrupt` fires (bounded: never blocks for long)."""

    def __init__(self, ns: Netns, interrupt: Interrupt) -> None:
        self.interrupt = interrupt
        self.sniffer = Sniffer(ns, interrupt.iface) if interrupt.probes else None
        self.probes = 0
        self.started = time.monotonic()
        self.fire_at: float | None = None
        self.fired = False

    def close(self) -> None:
        if self.sniffer is not None:
            self.sniffer.close()

    def due(self, stdout: bytes) -> bool:
        if self.fired:
            return False
        now = time.monotonic()
        if self.fire_at is None:
            if self.sniffer is not None:
                self.probes += len(self.sniffer.collect(timeout=0.001, match=_is_probe))
            reached = (self.sniffer is None or self.probes >= self.interrupt.probes) and (
                not self.interrupt.line
                or re.search(self.interrupt.line, _decode(stdout), re.MULTILINE) is not None
            )
            if reached or now - self.started > self.interrupt.patience:
                self.fire_at = now + self.interrupt.delay
        if self.fire_at is not None and now >= self.fire_at:
            self.fired = True
            return True
        return False


@dataclass(frozen=True, slots=True)
class Run:
    """What a program printed (verbatim), its exit status and its process id."""

    stdout: str
    stderr: str
    status: int
    pid: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a run printed (masked) and its exit status; ``raw`` is the unmasked run."""

    stdout: str
    stderr: str
    status: int
    raw: Run

    @classmethod
    def of(cls, run: Run) -> Outcome:
        return cls(mask(run.stdout, run.pid), mask(run.stderr, run.pid), run.status, run)


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="backslashreplace")


def run_program(
    ns: Netns,
    user: User,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    interrupt: Interrupt | None = None,
    timeout: float = TIMEOUT,
) -> Run:
    """Run ``argv`` as ``user`` inside ``ns`` (as ``lab.users.run_as`` does), bounded by
    ``timeout``; ``interrupt`` sends a signal along the way.

    ``ip netns exec`` and ``setpriv`` both exec, so the child's pid is the program's.
    """
    full_env = {**BASE_ENV, "PYTHONPATH": str(pingsock_copy()), **(env or {})}
    cmd = ns.exec_argv(*setpriv_argv(user), *argv)
    trigger = _Trigger(ns, interrupt) if interrupt is not None else None
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd="/",
        )
        assert proc.stdout is not None and proc.stderr is not None
        out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
        streams = {out_fd: bytearray(), err_fd: bytearray()}
        deadline = time.monotonic() + timeout
        try:
            open_fds = set(streams)
            while open_fds:
                now = time.monotonic()
                if now > deadline:
                    raise subprocess.TimeoutExpired(cmd, timeout)
                if trigger is not None and trigger.due(bytes(streams[out_fd])):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(proc.pid, trigger.interrupt.signum)
                waiting = trigger is not None and not trigger.fired
                ready, _, _ = select.select(
                    list(open_fds), [], [], max(min(deadline - now, 0.01 if waiting else 1.0), 0)
                )
                for fd in ready:
                    chunk = os.read(fd, _READ)
                    if chunk:
                        streams[fd] += chunk
                    else:
                        open_fds.discard(fd)
            status = proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
            proc.stdout.close()
            proc.stderr.close()
    finally:
        if trigger is not None:
            trigger.close()
    return Run(_decode(bytes(streams[out_fd])), _decode(bytes(streams[err_fd])), status, proc.pid)


def _run(
    ns: Netns,
    user: User,
    argv: Sequence[str],
    env: Mapping[str, str] | None,
    interrupt: Interrupt | None,
) -> Outcome:
    return Outcome.of(run_program(ns, user, argv, env=env, interrupt=interrupt))


def run_iputils(
    ns: Netns, user: User, args: Sequence[str], *, interrupt: Interrupt | None = None
) -> Outcome:
    env = {"PATH": f"{_iputils_dir()}:{BASE_ENV['PATH']}"}
    return _run(ns, user, ["ping", *args], env, interrupt)


def run_pingsock(
    ns: Netns, user: User, args: Sequence[str], *, interrupt: Interrupt | None = None
) -> Outcome:
    return _run(ns, user, [*pingsock_argv(), "ping", *args], None, interrupt)


def side_by_side(
    ns: Netns, user: User, args: Sequence[str], *, interrupt: Interrupt | None = None
) -> tuple[Outcome, Outcome]:
    """(iputils, pingsock), run one after the other as ``user`` in ``ns``."""
    return (
        run_iputils(ns, user, args, interrupt=interrupt),
        run_pingsock(ns, user, args, interrupt=interrupt),
    )


# -- the matrix: cases, users, comparison ---------------------------------------------------------

USERS: Mapping[str, User] = {"root": ROOT, "nobody": UNPRIVILEGED}


def prepare(ns: Netns, who: str) -> User:
    """The user called ``who``; for ``nobody`` the namespace's ping_group_range admits 65534."""
    if who == "nobody":
        ns.set_ping_group_range(65534, 65534)
    return USERS[who]


@dataclass(frozen=True, slots=True)
class Case:
    """One row of the matrix: who runs, the arguments, and what the lab does meanwhile."""

    who: str
    args: tuple[str, ...]
    behaviour: Mapping[str, Any] = field(default_factory=dict)  # the responder's, if any
    interrupt: Interrupt | None = None
    fresh: bool = False  # run pingsock in a second, fresh namespace (state the kernel keeps)
    raw: bool = False  # the raw twin of a ``nobody`` case: pingsock on the emulation


def case(
    who: str,
    args: str | Sequence[str],
    id: str,
    *,
    behaviour: Mapping[str, Any] | None = None,
    interrupt: Interrupt | None = None,
    fresh: bool = False,
    deviation: str | None = None,
) -> Any:
    """A ``pytest.param`` holding a :class:`Case`; ``args`` may be one whitespace-split string.

    ``deviation`` names a deliberate difference (README, "Where pingsock ping differs"): the
    case is a strict xfail, so it fails the run the day the outputs agree.
    """
    if who not in USERS:
        raise ValueError(f"unknown user {who!r}")
    argv = tuple(args.split()) if isinstance(args, str) else tuple(args)
    marks = [pytest.mark.xfail(strict=True, reason=f"deviation: {deviation}")] if deviation else []
    return pytest.param(
        Case(who, argv, dict(behaviour or {}), interrupt, fresh), id=f"{id}-{who}", marks=marks
    )


# The raw twin. Every ``nobody`` case also runs with pingsock on the raw backend (the emulated
# ping socket) and is compared with the same iputils run on the kernel's ping socket: a user of
# ``pingsock ping`` must not be able to tell the backends apart. pingsock then runs as nobody
# with CAP_NET_RAW (as the daemon's clients will never need, but the emulation does) and
# PINGSOCK_BACKEND=raw. Two lines are inherently about the socket and are rewritten before the
# comparison: ``-v``'s socket-type lines (SOCK_RAW is the truth there) and the `` ident=<PID>``
# of ``-v`` replies (iputils shows an identifier on a datagram socket only when ``-e`` chose it;
# on a raw socket Debian's build uses and shows its PID, and so does pingsock on the emulation).
RAW_TWIN = User(65534, 65534, ambient_caps=("net_raw",))
_RAW_SOCKTYPE = re.compile(r"socktype: SOCK_RAW")
_RAW_IDENT = re.compile(r" ident=<PID>")
# Cases whose raw twin differs on purpose: id of the ``nobody`` case -> the reason.
RAW_DEVIATIONS: Mapping[str, str] = {
    "link-local-without-scope-nobody": "iputils' warning names the ICMP datagram socket; "
    "pingsock prints it only on the kernel's (as root on raw, iputils does not print it)",
    "N-forces-raw-nobody": "iputils as nobody cannot open the raw socket -N needs; the twin "
    "holds CAP_NET_RAW and reaches pingsock's own -N refusal",
    "e0-forces-raw-nobody": "iputils as nobody cannot open the raw socket -e 0 needs; the twin "
    "holds CAP_NET_RAW and pings",
}


def raw_twins(params: Sequence[Any]) -> list[Any]:
    """``params`` followed by a raw twin (id ``<id>-raw``) of every ``nobody`` case in it."""
    out = list(params)
    for param in params:
        (item,) = param.values
        if item.who != "nobody":
            continue
        reason = RAW_DEVIATIONS.get(param.id)
        marks = list(param.marks)
        if reason is not None:
            marks = [pytest.mark.xfail(strict=True, reason=f"raw deviation: {reason}")]
        twin = Case(item.who, item.args, item.behaviour, item.interrupt, item.fresh, raw=True)
        out.append(pytest.param(twin, id=f"{param.id}-raw", marks=marks))
    return out


def _as_kernel_socket(outcome: Outcome) -> Outcome:
    def fix(text: str) -> str:
        return _RAW_IDENT.sub("", _RAW_SOCKTYPE.sub("socktype: SOCK_DGRAM", text))

    return Outcome(fix(outcome.stdout), fix(outcome.stderr), outcome.status, outcome.raw)


def compare(iputils: Outcome, pingsock: Outcome) -> None:
    """Masked stdout and stderr identical, the same exit status, and jc and pingparsing read the
    two stdouts alike (``parsers.assert_parsers_agree``; it reads the masked texts, so it can
    only fail where stdout differs, and then says whether the difference reaches a parser).
    Every failed check is reported, stdout first."""
    problems: list[str] = []
    for name in ("stdout", "stderr"):
        want, got = getattr(iputils, name), getattr(pingsock, name)
        if got != want:
            diff = "".join(
                difflib.unified_diff(
                    want.splitlines(keepends=True),
                    got.splitlines(keepends=True),
                    f"iputils {name}",
                    f"pingsock {name}",
                )
            )
            problems.append(f"{name} differs:\n{diff}")
    if pingsock.status != iputils.status:
        problems.append(f"exit status {pingsock.status} != {iputils.status}")
    try:
        assert_parsers_agree(iputils.stdout, pingsock.stdout)
    except AssertionError as exc:
        problems.append(str(exc))
    assert not problems, "\n".join(problems)


def check(ns: Netns, item: Case, *, fresh_ns: Netns | None = None) -> None:
    """Run ``item`` with both programs in ``ns`` (pingsock in ``fresh_ns`` if given) and
    :func:`compare`."""
    user = prepare(ns, item.who)
    iputils = run_iputils(ns, user, item.args, interrupt=item.interrupt)
    other = ns
    if fresh_ns is not None:
        prepare(fresh_ns, item.who)
        other = fresh_ns
    if item.raw:
        pingsock = _as_kernel_socket(
            _run(
                other,
                RAW_TWIN,
                [*pingsock_argv(), "ping", *item.args],
                {"PINGSOCK_BACKEND": "raw"},
                item.interrupt,
            )
        )
    else:
        pingsock = run_pingsock(other, user, item.args, interrupt=item.interrupt)
    compare(iputils, pingsock)
