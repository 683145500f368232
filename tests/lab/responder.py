"""A host whose kernel echo is off, answered instead by a configurable user-space responder.

::

    client (c0) -------------------------------- (h0) responder host
    198.51.100.1/24                               198.51.100.2/24   (+ alt 198.51.100.3/24)
    2001:db8:1::1/64                              2001:db8:1::2/64  (+ alt 2001:db8:1::3/64)

The responder host sets ``net.ipv4.icmp_echo_ignore_all=1`` and
``net.ipv6.icmp.echo_ignore_all=1``; ``_responder_main.py`` (stdlib only) runs there as root on raw
sockets. A test changes its behaviour with :meth:`Responder.configure` (a JSON control file
replaced atomically; the program re-reads it before each request, so the change applies to every
request sent after the call returns). Each request the responder saw is available from
:meth:`Responder.requests` / :meth:`Responder.wait_requests`.

Example::

    responder_lab.responder.configure(delay_ms=200, duplicates=1)
    responder_lab.responder.configure(error=(3, 1))        # answer 3/1 quoting the request
    responder_lab.responder.configure()                    # plain replies again
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import select
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from .netns import Netns, create_netns, lab_tempdir
from .topology import wait_no_tentative

__all__ = [
    "CLIENT_V4",
    "CLIENT_V6",
    "RESPONDER_ALT_V4",
    "RESPONDER_ALT_V6",
    "RESPONDER_V4",
    "RESPONDER_V6",
    "Behaviour",
    "Responder",
    "ResponderLab",
    "Seen",
    "build_responder_lab",
]

CLIENT_V4 = "198.51.100.1"
CLIENT_V6 = "2001:db8:1::1"
RESPONDER_V4 = "198.51.100.2"
RESPONDER_V6 = "2001:db8:1::2"
RESPONDER_ALT_V4 = "198.51.100.3"
RESPONDER_ALT_V6 = "2001:db8:1::3"

PROGRAM = Path(__file__).with_name("_responder_main.py")
READY_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How the responder answers. The default answers every request once, at once, correctly."""

    delay_ms: float = 0.0
    drop_every: int = 0  # drop requests N, 2N, 3N... of each family since the last configure()
    drop_seqs: frozenset[int] = frozenset()
    drop_all: bool = False
    duplicates: int = 0  # extra copies of each reply
    corrupt: Literal["", "checksum", "payload"] = ""
    truncate: int = 0  # reply shorter by this many bytes (checksum over what is sent)
    from_alt: bool = False  # answer from RESPONDER_ALT_V4 / RESPONDER_ALT_V6
    error: tuple[int, int] | None = None  # send this ICMP (type, code) quoting the request
    error_v6: tuple[int, int] | None = None  # for IPv6 requests instead of ``error``
    error_info: int = 0  # 32-bit field after the checksum: MTU for 3/4 and PTB, pointer for 12

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["drop_seqs"] = sorted(self.drop_seqs)
        return json.dumps(data)


@dataclass(frozen=True, slots=True)
class Seen:
    """One request as the responder saw it, and what it did (``reply``, ``drop``, ``error``,
    ``bad-checksum``)."""

    family: int
    src: str
    dst: str
    ident: int
    seq: int
    size: int
    action: str
    copies: int
    t: float


class Responder:
    """Controls one responder process inside ``netns`` (see the module docstring)."""

    def __init__(
        self,
        netns: Netns,
        *,
        alt_v4: str = RESPONDER_ALT_V4,
        alt_v6: str = RESPONDER_ALT_V6,
        lifetime: float = 120.0,
    ) -> None:
        self.netns = netns
        self.alt_v4 = alt_v4
        self.alt_v6 = alt_v6
        self.lifetime = lifetime
        self.dir = lab_tempdir("resp")
        self.control = self.dir / "behaviour.json"
        self.log = self.dir / "requests.jsonl"
        self.behaviour = Behaviour()
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        """Start the program and wait (bounded) for it to print READY."""
        self.configure(self.behaviour)
        self.log.touch()
        self.proc = self.netns.popen(
            sys.executable,
            "-I",
            "-S",
            str(PROGRAM),
            "--control",
            str(self.control),
            "--log",
            str(self.log),
            "--alt4",
            self.alt_v4,
            "--alt6",
            self.alt_v6,
            "--lifetime",
            str(self.lifetime),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], READY_TIMEOUT)
        line = self.proc.stdout.readline() if ready else ""
        if line.strip() != "READY":
            self.proc.kill()
            _, err = self.proc.communicate(timeout=5)
            raise RuntimeError(f"responder did not start: {line!r} {err}")

    def configure(self, behaviour: Behaviour | None = None, **fields: Any) -> Behaviour:
        """Replace the behaviour: pass a :class:`Behaviour`, or its fields (the rest default)."""
        if behaviour is not None and fields:
            raise TypeError("pass a Behaviour or fields, not both")
        if behaviour is None:
            if "drop_seqs" in fields:
                fields["drop_seqs"] = frozenset(fields["drop_seqs"])
            behaviour = Behaviour(**fields)
        tmp = self.control.with_suffix(".tmp")
        tmp.write_text(behaviour.to_json())
        os.replace(tmp, self.control)  # atomic: the program sees old or new, never half
        self.behaviour = behaviour
        return behaviour

    def reset(self) -> None:
        self.configure(Behaviour())

    def requests(self) -> list[Seen]:
        """Every request seen so far, in order."""
        out: list[Seen] = []
        for line in self.log.read_text().splitlines():
            d = json.loads(line)
            if d.get("action") == "fail":
                raise RuntimeError(f"responder failed to send: {d}")
            out.append(
                Seen(
                    d["family"], d["src"], d["dst"], d["ident"], d["seq"], d["size"],
                    d["action"], d.get("copies", 0), d["t"],
                )
            )  # fmt: skip
        return out

    def wait_requests(self, count: int, *, timeout: float = 2.0) -> list[Seen]:
        """Wait (bounded) until at least ``count`` requests were seen; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            seen = self.requests()
            if len(seen) >= count or time.monotonic() > deadline:
                return seen
            time.sleep(0.01)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


@dataclass(slots=True)
class ResponderLab:
    client: Netns
    host: Netns  # the responder's namespace (kernel echo off)
    responder: Responder

    client_v4: ClassVar[str] = CLIENT_V4
    client_v6: ClassVar[str] = CLIENT_V6
    responder_v4: ClassVar[str] = RESPONDER_V4
    responder_v6: ClassVar[str] = RESPONDER_V6
    alt_v4: ClassVar[str] = RESPONDER_ALT_V4
    alt_v6: ClassVar[str] = RESPONDER_ALT_V6

    def delete(self) -> None:
        try:
            self.responder.stop()
        finally:
            try:
                self.client.delete()
            finally:
                self.host.delete()
                shutil.rmtree(self.responder.dir, ignore_errors=True)


def build_responder_lab(*, lifetime: float = 120.0) -> ResponderLab:
    """Create client + responder host, start the responder. Caller must ``delete()`` it."""
    created: list[Netns] = []
    try:
        for role in ("client", "resp"):
            created.append(create_netns(role))
        client, host = created
        for ns in created:
            ns.sysctl("net.ipv6.conf.all.accept_dad", "0")
            ns.sysctl("net.ipv6.conf.default.accept_dad", "0")
        host.sysctl("net.ipv4.icmp_echo_ignore_all", "1")
        host.sysctl("net.ipv6.icmp.echo_ignore_all", "1")
        client.ip("link", "add", "c0", "type", "veth", "peer", "name", "h0", "netns", host.name)
        client.ip_batch(
            [
                "link set c0 up",
                f"addr add {CLIENT_V4}/24 dev c0",
                f"addr add {CLIENT_V6}/64 dev c0 nodad",
            ]
        )
        host.ip_batch(
            [
                "link set h0 up",
                f"addr add {RESPONDER_V4}/24 dev h0",
                f"addr add {RESPONDER_ALT_V4}/24 dev h0",
                f"addr add {RESPONDER_V6}/64 dev h0 nodad",
                f"addr add {RESPONDER_ALT_V6}/64 dev h0 nodad",
            ]
        )
        wait_no_tentative(client, host)
        responder = Responder(host, lifetime=lifetime)
        responder.start()
        return ResponderLab(client, host, responder)
    except BaseException:
        for ns in created:
            ns.delete()
        raise
