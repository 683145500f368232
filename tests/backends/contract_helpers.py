"""Shared steps of the option contract (``test_contract_*.py``): labs, runs as other users, and
the normalisation that lets a kernel run and an emulation run compare equal; the conformance
bookkeeping (``section``, ``per_family``, ``deviates``); and packet forging for the cases that
need an ICMP message no router sends on demand.

The differential style of ``test_contract``: each scenario runs on the kernel's ping socket and on
the raw-socket emulation, each time in fresh namespaces (with ``ping_group_range`` open only for
the kernel run), and the observations must be equal as well as right. Scenarios whose outcome
cannot depend on the caller's capabilities run in this process (root); those that do (a source
route, SO_MARK, SO_DEBUG, device re-binding, ...) run as real users through ``lab.users``: the
kernel socket as ``nobody`` with the range open, and like for like as ``nobody`` with
CAP_NET_RAW on both backends (the raw backend cannot exist without it). Values that differ for
reasons outside the socket (the ident inside a checksum, the clock, a random MAC) are checked
for plausibility and then normalised.

Every differential case carries ``pytest.mark.section("X")``, X being the section (A-N) of
``shared/spec/kernel-ping-socket.md`` it checks; a case that pins a documented deviation of
the emulation (``docs/emulation-deviations.md``) also carries ``pytest.mark.deviation(ID)`` and
asserts both sides' actual behaviour with :func:`deviates`. ``scripts/conformance_report.py``
counts them.
"""

from __future__ import annotations

import contextlib
import errno
import json
import select
import socket
import struct
import textwrap
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _pytest.mark import ParameterSet
from test_contract import open_in

from lab.netns import Netns, create_netns
from lab.sniffer import Packet, Sniffer
from lab.topology import SERVER_V4, SERVER_V6, RoutedLab, build_routed_lab
from lab.users import User, python_as
from pingsock import linux
from pingsock.cmsg import parse_extended_error
from pingsock.wire.checksum import icmp6_checksum, internet_checksum

V4, V6 = socket.AF_INET, socket.AF_INET6
SOL, IP, IP6 = linux.SOL_SOCKET, linux.SOL_IP, linux.SOL_IPV6
NOBODY_RAW = User(65534, 65534, ambient_caps=("net_raw",))
SO_TIMESTAMP_NEW, SO_TIMESTAMPNS_NEW = 63, 64
IPV6_FLOWINFO_SEND = 33
FAMILY = {"v4": (V4, SERVER_V4, linux.SOL_IP), "v6": (V6, SERVER_V6, linux.SOL_IPV6)}


# -- Conformance bookkeeping ----------------------------------------------------------------


def section(letter: str) -> pytest.MarkDecorator:
    """The spec section (A-N) a differential case checks."""
    assert len(letter) == 1 and "A" <= letter <= "N", letter
    return pytest.mark.section(letter)


def per_family(v4: str, v6: str) -> list[ParameterSet]:
    """The ``fam`` parameters "v4" and "v6", tagged with their sections."""
    return [pytest.param("v4", marks=section(v4)), pytest.param("v6", marks=section(v6))]


def deviates(run: Callable[[str], object], *, kernel: object, raw: object) -> None:
    """A documented deviation: each backend does exactly what is pinned, and they differ.
    When the emulation is changed to match the kernel this fails: update the document."""
    seen_kernel, seen_raw = run("kernel"), run("raw")
    assert seen_kernel == kernel, f"the kernel now does {seen_kernel!r}"
    assert seen_raw == raw, f"the emulation now does {seen_raw!r} (the kernel: {seen_kernel!r})"
    assert kernel != raw


def attempt(call: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """("ok", result) or ("error", errno name); a timeout is ("error", "timeout")."""
    try:
        return ("ok", call(*args))
    except OSError as exc:
        return ("error", errno.errorcode.get(exc.errno or 0, "timeout"))


def nonblocking(s: Any, call: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    s.setblocking(False)
    try:
        return attempt(call, *args)
    finally:
        s.settimeout(1.0)


def wait_for_news(s: Any, timeout: float = 1.0) -> None:
    """Wait (bounded) until a reply or an ICMP error is there, then let stragglers in."""
    select.select([s], [], [], timeout)
    time.sleep(0.05)


def settle(s: Any) -> None:
    """After forging packets to a local address (delivered before the send returns): a short
    bounded wait for ``s`` to notice, which also costs little when nothing is expected."""
    select.select([s], [], [], 0.05)
    time.sleep(0.01)


@contextlib.contextmanager
def routed(backend: str) -> Iterator[RoutedLab]:
    """A fresh client -- router -- server lab for one run (range open only for the kernel)."""
    lab = build_routed_lab()
    try:
        if backend == "kernel":
            lab.client.set_ping_group_range(0, 0)
        yield lab
    finally:
        lab.delete()


@contextlib.contextmanager
def on_client(backend: str, family: int = V4) -> Iterator[tuple[RoutedLab, Any]]:
    """A ``backend`` socket on the client of a fresh routed lab, this thread inside it."""
    with routed(backend) as lab, lab.client.entered(), open_in(lab.client, backend, family) as s:
        yield lab, s


@contextlib.contextmanager
def on_loopback(backend: str, family: int = V4) -> Iterator[tuple[Netns, Any]]:
    """A ``backend`` socket in a fresh namespace with only ``lo``, this thread inside it."""
    ns = create_netns("lo")
    try:
        with ns.entered(), open_in(ns, backend, family) as s:
            yield ns, s
    finally:
        ns.delete()


def drain(s: Any, bufsize: int = 4096) -> list[tuple[bytes, Any]]:
    """Every (datagram, source) queued on ``s`` now, read without waiting (bounded)."""
    got = []
    for _ in range(64):
        status, value = nonblocking(s, s.recvfrom, bufsize)
        if status != "ok":
            break
        got.append(value)
    return got


def v4(text: str) -> bytes:
    return socket.inet_aton(text)


def sniffed_requests(sniffer: Sniffer, count: int = 1) -> list[Packet]:
    return sniffer.collect(
        timeout=1.0,
        count=count,
        match=lambda p: p.outgoing and p.is_icmp and p.l4[0] in (8, 128),
    )


# -- Forged packets (sent with an IPPROTO_RAW socket, as root, inside a lab namespace) ------


def icmp4(icmp_type: int, code: int, rest: bytes, body: bytes = b"", *, bad: bool = False) -> bytes:
    """An ICMP message with a correct checksum (``bad``: a wrong one)."""
    message = bytes([icmp_type, code, 0, 0]) + rest + body
    checksum = internet_checksum(message) ^ (0x5555 if bad else 0)
    return message[:2] + struct.pack("!H", checksum) + message[4:]


def ip4(src: str, dst: str, payload: bytes, protocol: int = 1) -> bytes:
    """An IPv4 datagram (no options, TTL 64) around ``payload``."""
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, protocol, 0, v4(src), v4(dst)
    )
    return header[:10] + struct.pack("!H", internet_checksum(header)) + header[12:] + payload


def inject4(packet: bytes) -> None:
    """Send a whole IPv4 datagram from this thread's namespace (it loops back if local)."""
    destination = socket.inet_ntoa(packet[16:20])
    with socket.socket(V4, socket.SOCK_RAW, socket.IPPROTO_RAW) as raw:
        raw.setsockopt(linux.SOL_SOCKET, linux.SO_BROADCAST, 1)
        raw.sendto(packet, (destination, 0))


def ip6(src: str, dst: str, payload: bytes, next_header: int = 58) -> bytes:
    """An IPv6 header (hop limit 64) and ``payload``."""
    addresses = socket.inet_pton(V6, src) + socket.inet_pton(V6, dst)
    return struct.pack("!IHBB", 6 << 28, len(payload), next_header, 64) + addresses + payload


def inject6(src: str, dst: str, message: bytes, *, bad: bool = False) -> None:
    """Send an ICMPv6 ``message`` from ``src`` to ``dst``, its checksum computed over the
    pseudo-header (``bad``: a wrong one)."""
    pseudo = socket.inet_pton(V6, src), socket.inet_pton(V6, dst)
    checksum = icmp6_checksum(*pseudo, message[:2] + b"\0\0" + message[4:])
    message = message[:2] + struct.pack("!H", checksum ^ (0x5555 if bad else 0)) + message[4:]
    with socket.socket(V6, socket.SOCK_RAW, socket.IPPROTO_RAW) as raw:
        raw.sendto(ip6(src, dst, message), (dst, 0))


# -- Normalisation: what two runs can compare -----------------------------------------------


def ms_since_midnight() -> int:
    return int(time.time() * 1000) % 86_400_000


def stamps_plausible(option: bytes) -> bytes:
    """The Timestamp option (RFC 791) with every recorded stamp checked (within 10 s of now,
    standard format) and zeroed, so two runs compare equal."""
    assert option[0] == 68
    length, pointer, flag = option[1], option[2], option[3] & 0x0F
    step = 4 if flag == 0 else 8
    out = bytearray(option)
    for offset in range(4, min(pointer - 1, length), step):
        at = offset if flag == 0 else offset + 4
        stamp = struct.unpack_from("!I", option, at)[0]
        if flag == 3 and stamp == 0:
            continue  # a prespecified hop that did not stamp
        assert stamp < 0x80000000, f"non-standard stamp {stamp:#x}"
        drift = (stamp - ms_since_midnight()) % 86_400_000
        assert min(drift, 86_400_000 - drift) < 10_000, f"implausible stamp {stamp}"
        out[at : at + 4] = bytes(4)
    return bytes(out)


def normalised_options(options: bytes) -> bytes:
    """An options area with the stamps of a Timestamp option checked and zeroed."""
    out, at = bytearray(options), 0
    while at < len(options) and options[at] != 0:
        if options[at] == 1:
            at += 1
            continue
        length = options[at + 1]
        if options[at] == 68:
            out[at : at + length] = stamps_plausible(options[at : at + length])
        at += max(length, 2)
    return bytes(out)


def comparable(anc: list[tuple[int, int, bytes]]) -> list[tuple[int, int, Any]]:
    """cmsgs with hex payloads; a timestamp is shown as its length (its value is checked by
    test_reply_timestamps), a Timestamp option with its stamps checked and zeroed."""
    shown: list[tuple[int, int, Any]] = []
    for level, kind, data in anc:
        if level == linux.SOL_SOCKET and kind in (29, 35, SO_TIMESTAMP_NEW, SO_TIMESTAMPNS_NEW):
            shown.append((level, kind, len(data)))
        elif level == linux.SOL_IP and kind in (linux.IP_RECVOPTS, linux.IP_RETOPTS):
            shown.append((level, kind, normalised_options(data).hex()))
        else:
            shown.append((level, kind, data.hex()))
    return shown


def read_error_queue(s: Any) -> tuple[str, Any]:
    """One non-blocking error-queue read, decoded: (data length, cmsgs before IP_RECVERR,
    (errno, origin, type, code, info, offender), flags, msg_name)."""
    s.setblocking(False)
    try:
        data, anc, flags, address = s.recvmsg(2048, 1024, linux.MSG_ERRQUEUE)
    except OSError as exc:
        return ("error", errno.errorcode.get(exc.errno or 0))
    finally:
        s.settimeout(1.0)
    *before, (_level, _kind, payload) = anc
    error = parse_extended_error(payload)
    assert error is not None
    fields = (error.errno, error.origin, error.icmp_type, error.icmp_code, error.info)
    return ("ok", (len(data), comparable(before), (*fields, error.offender), flags, address))


# -- Runs as another user -------------------------------------------------------------------

# Code run as another user (lab.users): the backend comes from the environment, results are
# printed as one JSON line.
_PRELUDE = """
import ctypes, errno, json, os, socket, struct
import pingsock

BACKEND = os.environ["PSK_SCENARIO_BACKEND"]

def attempt(call, *args):
    try:
        value = call(*args)
    except OSError as exc:
        return ["error", errno.errorcode.get(exc.errno or 0, "timeout")]
    return ["ok", value.hex() if isinstance(value, bytes) else value]

def drop_effective_capabilities():
    # What iputils does after socket(): capset(2) with an empty effective set.
    libc = ctypes.CDLL(None, use_errno=True)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = (ctypes.c_uint32 * 6)()  # {effective, permitted, inheritable} x 2
    if libc.capget(header, data) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    data[0] = data[3] = 0
    if libc.capset(header, data) != 0:
        raise OSError(ctypes.get_errno(), "capset")
"""


def run_as(ns: Netns, user: User, backend: str, body: str) -> Any:
    """Run ``body`` (after the prelude) as ``user`` in ``ns``; its last output line is JSON."""
    code = _PRELUDE + textwrap.dedent(body)
    proc = python_as(ns, user, code, timeout=30, env={"PSK_SCENARIO_BACKEND": backend})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def as_user(
    user: User,
    body: str,
    *,
    backends: tuple[str, ...] = ("kernel", "raw"),
    group_range: tuple[int, int] | None = None,
) -> Any:
    """``body`` on each backend as ``user``, each in a fresh namespace; the kernel run has
    ``group_range`` (default: just the user's gid) as its range, the raw run the default
    closed range. Results must agree."""
    results = []
    for backend in backends:
        lab = build_routed_lab()
        try:
            if backend == "kernel":
                lab.client.set_ping_group_range(*(group_range or (user.gid, user.gid)))
            results.append(run_as(lab.client, user, backend, body))
        finally:
            lab.delete()
    assert all(r == results[0] for r in results), f"kernel vs raw: {results}"
    return results[0]
