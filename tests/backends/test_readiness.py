"""Readiness of ``fileno()`` on the REAL kernel, both backends: what select, poll and asyncio see
before a send, when a reply is queued, after ``MSG_PEEK`` and ``recv``, with replies the raw
backend has read ahead, with an ICMP error queued or pending (spec G4, G5, G7, J3-J8), and
the stdlib's timeout rules for ``MSG_DONTWAIT`` and ``MSG_ERRQUEUE`` reads.

Each scenario runs on the kernel's ping socket and on the emulation (differential style, see
``contract_helpers``). ``select()`` readability and every other observation must be equal.
The poll masks are compared exactly: the kernel's against the values the spec gives, the
emulation's against :func:`raw_mask` of the kernel's, the deviation documented in
``pingsock.backends.raw`` (an epoll descriptor reports ``POLLIN`` only).
"""

from __future__ import annotations

import asyncio
import errno
import os
import select
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from contract_helpers import FAMILY, V4, on_client, read_error_queue
from test_contract import echo, open_in

import pingsock
from lab.netns import Netns
from lab.topology import (
    CLIENT_V4,
    V4_BLACKHOLE,
    V4_PROHIBIT,
    V4_UNREACHABLE,
    V6_BLACKHOLE,
    V6_PROHIBIT,
    V6_UNREACHABLE,
)
from pingsock import linux
from pingsock.wire.checksum import internet_checksum

pytestmark = pytest.mark.netns

IN, OUT, ERR, PRI, HUP = (
    select.POLLIN,
    select.POLLOUT,
    select.POLLERR,
    select.POLLPRI,
    select.POLLHUP,
)
UNREACHABLE = {"v4": V4_UNREACHABLE, "v6": V6_UNREACHABLE}  # soft errors: 3/1, 1/0
PROHIBIT = {"v4": V4_PROHIBIT, "v6": V6_PROHIBIT}  # hard errors: 3/13, 1/1
SO_SELECT_ERR_QUEUE = 45
QUIET = 0.3  # long enough for a router's error to arrive on the veth lab (~1 ms)


def raw_mask(kernel: int) -> int:
    """The emulation's poll mask where the kernel's is ``kernel``: its descriptor is an epoll
    descriptor, readable (``POLLIN`` only) when the kernel's socket has ``POLLIN`` or
    ``POLLERR``, and never writable (the deviation listed in ``pingsock.backends.raw``)."""
    return IN if kernel & (IN | ERR) else 0


def shown(mask: int) -> str:
    names = [name for bit, name in ((IN, "IN"), (PRI, "PRI"), (OUT, "OUT"), (ERR, "ERR"),
                                    (HUP, "HUP")) if mask & bit]  # fmt: skip
    return "|".join(names) or "-"


@dataclass(frozen=True)
class Seen:
    """One step: the poll mask, whether select() calls it readable, and the step's result."""

    step: str
    mask: int
    readable: bool
    value: object = None


def look(s: Any, step: str, value: object = None) -> Seen:
    poller = select.poll()
    poller.register(s.fileno(), IN | PRI | OUT | ERR)
    ready = poller.poll(0)
    readable = bool(select.select([s], [], [], 0)[0])
    return Seen(step, ready[0][1] if ready else 0, readable, value)


def outcome(call: Callable[..., Any], *args: Any) -> object:
    """The result of a read, comparable across backends: the data after the id and checksum
    (which differ between runs), or an errno name."""
    try:
        result = call(*args)
    except TimeoutError:
        return "timeout"
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, str(exc))
    data = result[0] if isinstance(result, tuple) else result
    return data[6:] if isinstance(data, bytes) else data


def nonblocking(s: Any, call: Callable[..., Any], *args: Any) -> object:
    s.setblocking(False)
    try:
        return outcome(call, *args)
    finally:
        s.settimeout(1.0)


def arrive(s: Any) -> None:
    """Wait (bounded) until the kernel's socket would be readable, then let stragglers in."""
    select.select([s], [], [], 1.0)
    time.sleep(0.05)


def recverr(s: Any, family: int) -> None:
    if family == socket.AF_INET6:
        s.setsockopt(linux.SOL_IPV6, linux.IPV6_RECVERR, 1)
    else:
        s.setsockopt(linux.SOL_IP, linux.IP_RECVERR, 1)


def differential(scenario: Callable[[str], list[Seen]], kernel_masks: list[int]) -> None:
    """Run on both backends: the kernel shows ``kernel_masks``, the emulation their
    :func:`raw_mask`, and everything else is equal."""
    kernel, raw = scenario("kernel"), scenario("raw")
    steps = [seen.step for seen in kernel]
    assert [shown(seen.mask) for seen in kernel] == [shown(m) for m in kernel_masks], steps
    assert [shown(seen.mask) for seen in raw] == [shown(raw_mask(m)) for m in kernel_masks], steps
    # select() counts POLLERR as readable (POLLIN_SET), so both backends agree on it.
    assert [(s.step, s.readable, s.value) for s in raw] == [
        (s.step, s.readable, s.value) for s in kernel
    ]


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_a_reply_queued_peeked_and_read(fam: str) -> None:
    family, server, _level = FAMILY[fam]

    def scenario(backend: str) -> list[Seen]:
        with on_client(backend, family) as (_lab, s):
            seen = [look(s, "fresh")]
            s.sendto(echo(family, 1), (server, 0))
            arrive(s)
            seen.append(look(s, "reply queued"))
            seen.append(look(s, "after MSG_PEEK", s.recv(1500, socket.MSG_PEEK)[6:]))
            seen.append(look(s, "after recv", s.recv(1500)[6:]))
            seen.append(look(s, "then", nonblocking(s, s.recv, 1500)))
            return seen

    differential(scenario, [OUT, IN | OUT, IN | OUT, OUT, OUT])


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_replies_read_ahead_keep_the_descriptor_readable(fam: str) -> None:
    """SO_ERROR, a send and an error-queue read make the emulation read everything that
    arrived (to find errors behind replies); the replies it read ahead still count."""
    family, server, _level = FAMILY[fam]
    blackhole = V4_BLACKHOLE if family == V4 else V6_BLACKHOLE

    def scenario(backend: str) -> list[Seen]:
        with on_client(backend, family) as (_lab, s):
            recverr(s, family)
            s.sendto(echo(family, 1), (server, 0))
            s.sendto(echo(family, 2), (server, 0))
            arrive(s)
            seen = [look(s, "SO_ERROR", s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))]
            seen.append(look(s, "error queue", read_error_queue(s)))
            s.sendto(echo(family, 3), (blackhole, 0))  # never answered
            seen.append(look(s, "after a send"))
            seen.append(look(s, "first", s.recv(1500)[6:]))
            seen.append(look(s, "second", s.recv(1500)[6:]))
            return seen

    differential(scenario, [IN | OUT, IN | OUT, IN | OUT, IN | OUT, OUT])


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_an_error_queued_with_recverr(fam: str) -> None:
    """G7: POLLERR while the error queue holds an entry or sk_err is set, SO_ERROR or not."""
    family, _server, _level = FAMILY[fam]

    def scenario(backend: str) -> list[Seen]:
        with on_client(backend, family) as (_lab, s):
            recverr(s, family)
            s.sendto(echo(family, 1), (UNREACHABLE[fam], 0))
            arrive(s)
            seen = [look(s, "error arrived")]
            seen.append(look(s, "after SO_ERROR", s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)))
            seen.append(look(s, "after MSG_ERRQUEUE", read_error_queue(s)[0]))
            seen.append(look(s, "recv", nonblocking(s, s.recv, 1500)))
            s.sendto(echo(family, 2), (UNREACHABLE[fam], 0))
            arrive(s)
            seen.append(look(s, "second error"))
            seen.append(look(s, "after MSG_ERRQUEUE, sk_err was set", read_error_queue(s)[0]))
            seen.append(look(s, "SO_ERROR", s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)))
            return seen

    differential(scenario, [OUT | ERR, OUT | ERR, OUT, OUT, OUT | ERR, OUT, OUT])


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_an_error_and_a_reply_queued(fam: str) -> None:
    """G5: the pending error comes first, although the reply arrived before it."""
    family, server, _level = FAMILY[fam]

    def scenario(backend: str) -> list[Seen]:
        with on_client(backend, family) as (_lab, s):
            recverr(s, family)
            s.sendto(echo(family, 1), (server, 0))
            arrive(s)
            seen = [look(s, "after MSG_PEEK", s.recv(1500, socket.MSG_PEEK)[6:])]
            s.sendto(echo(family, 2), (UNREACHABLE[fam], 0))
            arrive(s)
            seen.append(look(s, "both queued"))
            seen.append(look(s, "recv", nonblocking(s, s.recv, 1500)))
            seen.append(look(s, "recv again", nonblocking(s, s.recv, 1500)))
            seen.append(look(s, "error queue", read_error_queue(s)[0]))
            return seen

    differential(scenario, [IN | OUT, IN | OUT | ERR, IN | OUT | ERR, OUT | ERR, OUT])


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_errors_the_socket_ignores_do_not_wake_it(fam: str) -> None:
    """J4/J8: no IP_RECVERR and unconnected, nothing happens; enabling IP_RECVERR afterwards
    queues nothing; the next error is queued."""
    family, _server, _level = FAMILY[fam]

    def scenario(backend: str) -> list[Seen]:
        with on_client(backend, family) as (_lab, s):
            s.sendto(echo(family, 1), (UNREACHABLE[fam], 0))
            s.sendto(echo(family, 2), (PROHIBIT[fam], 0))
            time.sleep(QUIET)
            seen = [look(s, "errors arrived")]
            recverr(s, family)
            seen.append(look(s, "IP_RECVERR on", read_error_queue(s)))
            s.sendto(echo(family, 3), (UNREACHABLE[fam], 0))
            arrive(s)
            seen.append(look(s, "third error", read_error_queue(s)[0]))
            return seen

    differential(scenario, [OUT, OUT, OUT])


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_a_connected_socket_without_recverr(fam: str) -> None:
    """J4: a hard error sets sk_err (POLLERR until read), a soft one does nothing."""
    family, _server, _level = FAMILY[fam]

    def scenario(backend: str) -> list[Seen]:
        with on_client(backend, family) as (_lab, s):
            s.connect((UNREACHABLE[fam], 0))
            s.send(echo(family, 1))
            time.sleep(QUIET)
            seen = [look(s, "soft error")]
            s.connect((PROHIBIT[fam], 0))
            s.send(echo(family, 2))
            arrive(s)
            seen.append(look(s, "hard error"))
            seen.append(look(s, "recv", nonblocking(s, s.recv, 1500)))
            seen.append(look(s, "recv again", nonblocking(s, s.recv, 1500)))
            return seen

    differential(scenario, [OUT, OUT | ERR, OUT, OUT])


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_asyncio_add_reader_wakes_once_per_reply(fam: str) -> None:
    family, server, _level = FAMILY[fam]

    async def run(s: Any) -> tuple[list[object], int]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        wakes = 0

        def readable() -> None:
            nonlocal wakes
            wakes += 1
            queue.put_nowait(outcome(s.recv, 1500))

        loop.add_reader(s.fileno(), readable)
        try:
            got: list[object] = []
            s.sendto(echo(family, 1), (UNREACHABLE[fam], 0))  # an error it ignores
            await asyncio.sleep(QUIET)
            for seq in (2, 3, 4):
                s.sendto(echo(family, seq), (server, 0))
                data = await asyncio.wait_for(queue.get(), 2.0)
                got.append(data)
                await asyncio.sleep(0.05)  # a second wake-up would come now
        finally:
            loop.remove_reader(s.fileno())
        s.sendto(echo(family, 5), (server, 0))
        reply = await asyncio.wait_for(loop.sock_recv(s, 1500), 2.0)  # type: ignore[arg-type]
        got.append(reply[6:])
        return got, wakes

    def scenario(backend: str) -> object:
        with on_client(backend, family) as (_lab, s):
            s.setblocking(False)
            return asyncio.run(run(s))

    kernel, raw = scenario("kernel"), scenario("raw")
    assert kernel == raw
    assert kernel == ([b"\x00\x02pingsock", b"\x00\x03pingsock", b"\x00\x04pingsock",
                       b"\x00\x05pingsock"], 3)  # fmt: skip


def test_timeouts_as_the_stdlib_socket(netns_factory: Callable[[str], Netns]) -> None:
    """With a timeout, the stdlib socket waits for readiness before each read whatever the
    flags, and gives "timed out", never EAGAIN (``sock_call_ex()``); without one, MSG_DONTWAIT
    and an empty error queue (G4) are EAGAIN at once; a blocking read waits for data."""

    def timed(s: Any, timeout: float | None, flags: int) -> tuple[object, str]:
        s.settimeout(timeout)
        started = time.monotonic()
        if flags & linux.MSG_ERRQUEUE:
            result = outcome(s.recvmsg, 1500, 512, flags)
        else:
            result = outcome(s.recv, 1500, flags)
        took = time.monotonic() - started
        return result, "at once" if took < 0.1 else "after 0.2 s" if took < 1.0 else "late"

    def scenario(backend: str) -> object:
        ns = netns_factory("timeout")
        with ns.entered(), open_in(ns, backend, V4) as s:
            s.sendto(echo(V4, 1), ("127.0.0.1", 0))
            s.recv(1500)
            results = [
                timed(s, timeout, flags)
                for timeout in (0.2, 0.0, None)
                for flags in (socket.MSG_DONTWAIT, linux.MSG_ERRQUEUE)
            ]
            s.sendto(echo(V4, 2), ("127.0.0.1", 0))
            time.sleep(0.05)
            results.append(timed(s, 0.2, linux.MSG_ERRQUEUE))  # a reply is queued, no error
            results.append(timed(s, 0.2, 0))
            return results

    kernel, raw = scenario("kernel"), scenario("raw")
    assert kernel == raw
    assert kernel == [
        ("timeout", "after 0.2 s"),
        ("timeout", "after 0.2 s"),
        ("EAGAIN", "at once"),
        ("EAGAIN", "at once"),
        ("EAGAIN", "at once"),
        ("EAGAIN", "at once"),
        ("timeout", "after 0.2 s"),
        (b"\x00\x02pingsock", "at once"),
    ]


@pytest.mark.parametrize("fam", ["v4", "v6"])
def test_fileno_is_the_lowest_free_descriptor(fam: str, netns_factory: Any) -> None:
    """As for socket(): ``ping -v`` prints it (``sock4.fd: 3``), the internal descriptors of the
    emulation are kept out of the way."""
    family = FAMILY[fam][0]

    def scenario(backend: str) -> bool:
        ns = netns_factory("fd")
        if backend == "kernel":
            ns.set_ping_group_range(0, 0)
        with ns.entered():
            free = os.dup(0)
            os.close(free)
            with pingsock.socket(family, backend=backend) as s:  # type: ignore[arg-type]
                return s.fileno() == free

    assert scenario("kernel") is True
    assert scenario("raw") is True


def test_so_select_err_queue_adds_pollpri_on_the_kernel_only() -> None:
    """The kernel adds POLLPRI to POLLERR with SO_SELECT_ERR_QUEUE; the emulation's descriptor
    can only say POLLIN (the deviation listed in ``pingsock.backends.raw``)."""

    def scenario(backend: str) -> list[Seen]:
        with on_client(backend, V4) as (_lab, s):
            recverr(s, V4)
            s.setsockopt(socket.SOL_SOCKET, SO_SELECT_ERR_QUEUE, 1)
            s.sendto(echo(V4, 1), (V4_UNREACHABLE, 0))
            arrive(s)
            seen = [look(s, "error arrived")]
            seen.append(look(s, "after MSG_ERRQUEUE", read_error_queue(s)[0]))
            return seen

    differential(scenario, [OUT | ERR | PRI, OUT])


def test_a_packet_the_emulation_drops_wakes_it_until_the_next_call() -> None:
    """The deviation listed in ``pingsock.backends.raw``: a reply with a bad checksum passes the
    BPF filter (it cannot add up the packet), so the emulation's descriptor is readable until
    a call reads and drops it; the kernel's ``icmp_rcv()`` drops it on arrival (H2)."""

    def scenario(backend: str) -> list[Seen]:
        with on_client(backend, V4) as (lab, s):
            s.bind(("0.0.0.0", 0x4242))
            with lab.router.entered():
                forger = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            with forger:
                reply = struct.pack("!BBHHH", 0, 0, 0xDEAD, 0x4242, 1) + b"pingsock"
                forger.sendto(reply, (CLIENT_V4, 0))
                time.sleep(QUIET)
                seen = [look(s, "bad checksum arrived")]
                seen.append(look(s, "recv", nonblocking(s, s.recv, 1500)))
                good = reply[:2] + struct.pack(
                    "!H", internet_checksum(reply[:2] + bytes(2) + reply[4:])
                )
                forger.sendto(good + reply[4:], (CLIENT_V4, 0))
                arrive(s)
                seen.append(look(s, "good checksum arrived"))
                seen.append(look(s, "recv", nonblocking(s, s.recv, 1500)))
            return seen

    kernel, raw = scenario("kernel"), scenario("raw")
    assert [shown(seen.mask) for seen in kernel] == ["OUT", "OUT", "IN|OUT", "OUT"]
    assert [shown(seen.mask) for seen in raw] == ["IN", "-", "IN", "-"]
    assert [(s.readable, s.value) for s in kernel] == [
        (False, None), (False, "EAGAIN"), (True, None), (False, b"\x00\x01pingsock")
    ]  # fmt: skip
    assert [(s.readable, s.value) for s in raw] == [
        (True, None), (False, "EAGAIN"), (True, None), (False, b"\x00\x01pingsock")
    ]  # fmt: skip
