"""The receive side of the raw backend (``backends.raw``): packets and cmsgs as the ping socket
would deliver them.

:func:`translate` turns one packet read from the raw socket into a reply for ``recvmsg()`` or
an ICMP error for the core (``pingsock.emulation``), with the ping socket's cmsgs and address;
:func:`error_queue_read` shapes a ``MSG_ERRQUEUE`` read; :func:`truncate` applies the buffer
sizes of a ``recvmsg()`` call.
"""

from __future__ import annotations

import errno
import functools
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pingsock import linux
from pingsock.backends.base import Address, AncData
from pingsock.backends.raw_options import RawOptions
from pingsock.cmsg import parse_extended_error
from pingsock.emulation.ancillary import (
    Cmsg,
    flowinfo_of,
    needs_scope_id,
    ping_ancillary,
)
from pingsock.emulation.demux import (
    Delivery,
    ErrorArrival,
    classify_icmp6,
    classify_ipv4,
    ipv4_text,
)
from pingsock.emulation.icmp_errors import (
    ICMP4_DEST_UNREACH,
    ICMP4_ERROR_TYPES,
    ICMP4_FRAG_NEEDED,
    ICMP6_ERROR_TYPES,
    icmp4_error_verdict,
    icmp6_error_verdict,
)
from pingsock.emulation.state import ErrorEntry

__all__ = [
    "IcmpError",
    "Reply",
    "acted_on_errors",
    "error_queue_read",
    "packed",
    "strip_scope",
    "tx_stamp_entry",
    "translate",
    "truncate",
]

_FLOWINFO_MASK = 0x0FFFFFFF


@dataclass(frozen=True, slots=True)
class Reply:
    """An echo reply as ``recvmsg()`` returns it: message, cmsgs, source address."""

    message: bytes
    ancillary: AncData
    source: Address


@dataclass(frozen=True, slots=True)
class IcmpError:
    """An ICMP error about one of our echoes, with what its error-queue entry will carry."""

    arrival: ErrorArrival
    ancillary: tuple[Cmsg, ...]
    flowinfo: int
    scope_id: int


_BROADCAST_CACHE_SECONDS = 1.0
_BROADCAST_CACHE_SIZE = 256


def _broadcast_destination(options: RawOptions, destination: bytes) -> bool:
    """Whether an echo reply's destination is a (subnet) broadcast address: ``icmp_rcv()``
    drops those (H2, RTCF_BROADCAST of the input route). Only the routing table knows a
    subnet broadcast; a UDP connect() to one without SO_BROADCAST is EACCES. Cached briefly
    per socket (the answer depends on the namespace's addresses)."""
    now = time.monotonic()
    cache = options.broadcast_cache
    known = cache.get(destination)
    if known is not None and known[1] > now:
        return known[0]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((ipv4_text(destination), 1025))
            broadcast = False
        except OSError as exc:
            broadcast = exc.errno == errno.EACCES
    if len(cache) >= _BROADCAST_CACHE_SIZE:
        cache.clear()
    cache[destination] = (broadcast, now + _BROADCAST_CACHE_SECONDS)
    return broadcast


def translate(
    packet: bytes,
    anc: AncData,
    source: Address,
    *,
    ident: int,
    local: str | None,
    options: RawOptions,
) -> Reply | IcmpError | None:
    """What the ping socket makes of a packet the raw socket returned (None: nothing).

    ``local`` is the bound or connected local address (H1).
    """
    family = options.family
    info = pktinfo(anc) if options.v6 else None
    if options.v6:
        destination = None if info is None else info[0]
        verdict = classify_icmp6(
            packet, strip_scope(source[0]), ident, destination, packed(family, local)
        )
    else:
        verdict = classify_ipv4(packet, ident, packed(family, local))
        if isinstance(verdict, Delivery) and _broadcast_destination(options, packet[16:20]):
            return None
    if verdict is None:
        return None
    shown = ping_ancillary(family, anc, options.hidden_cmsgs)
    if isinstance(verdict, Delivery):
        if not options.v6:
            return Reply(verdict.message, shown, (verdict.source, 0))
        # G2: (src, 0, flowinfo, scope_id); flowinfo only with IPV6_FLOWINFO_SEND, the scope
        # is kept for link-local sources.
        flowinfo = flowinfo_of(anc) if options.sndflow else 0
        return Reply(verdict.message, shown, (verdict.source, 0, flowinfo, int(source[3])))
    flowinfo = scope_id = 0
    if options.v6:
        # ipv6_recv_error(): msg_name's flowinfo is the quoted header's with
        # IPV6_FLOWINFO_SEND, and its scope the ingress interface for a scoped destination.
        if options.sndflow:
            flowinfo = int.from_bytes(packet[8:12], "big") & _FLOWINFO_MASK
        original = socket.inet_pton(socket.AF_INET6, verdict.original_destination)
        if info is not None and needs_scope_id(original):
            scope_id = info[1]
    return IcmpError(verdict, tuple(shown), flowinfo, scope_id)


@functools.cache
def acted_on_errors(
    family: int, recverr: bool, connected: bool, pmtudisc_dont: bool
) -> Mapping[int, frozenset[int]]:
    """The ICMP errors (type -> codes) that change a ping socket's state, so the ones that may
    wake it (``PingSocketState.on_icmp_error()``): with IP_RECVERR every error ``ping_err()``
    accepts (J3); without it the hard ones on a connected socket (J4), else none. An IPv4
    3/4 on an ``IP_PMTUDISC_DONT`` socket only updates the path MTU (J2)."""
    v6 = family == socket.AF_INET6
    verdict = icmp6_error_verdict if v6 else icmp4_error_verdict
    silent = (ICMP4_DEST_UNREACH, ICMP4_FRAG_NEEDED) if pmtudisc_dont and not v6 else None
    accepted: dict[int, frozenset[int]] = {}
    for icmp_type in sorted(ICMP6_ERROR_TYPES if v6 else ICMP4_ERROR_TYPES):
        codes = set()
        for code in range(256):
            found = verdict(icmp_type, code)
            if found is None or (icmp_type, code) == silent:
                continue
            if recverr or (connected and found.hard):
                codes.add(code)
        accepted[icmp_type] = frozenset(codes)
    return accepted


def error_queue_read(
    entry: ErrorEntry, options: RawOptions, bufsize: int, ancbufsize: int
) -> tuple[bytes, AncData, int, Address]:
    """What ``recvmsg(bufsize, ancbufsize, MSG_ERRQUEUE)`` returns for ``entry``.

    ``ip_recv_error()`` / ``ipv6_recv_error()`` write the timestamp, then (ICMP errors only)
    the error packet's IP-level cmsgs, then IP_RECVERR (spec J3, M12). A local error has no
    stamp of its own and is stamped when read.
    """
    if entry.is_tx_stamp:
        # Read as the raw socket read it: no msg_name, the stamp's own cmsgs.
        read = truncate(entry.quoted, bufsize, list(entry.ancillary), ancbufsize, None)
        return read[0], read[1], read[2] | linux.MSG_ERRQUEUE, None
    anc: AncData = list(entry.ancillary)
    if not entry.is_icmp:
        stamp = options.timestamp()
        if stamp is not None:
            anc.append(stamp)
    anc.append((options.level, options.recverr_option, entry.error.pack(options.family)))
    address: Address = (entry.destination, entry.port)
    if options.v6:
        address = (entry.destination, entry.port, entry.flowinfo, entry.scope_id)
    data, anc, flags, _ = truncate(entry.quoted, bufsize, anc, ancbufsize, None)
    return data, anc, flags | linux.MSG_ERRQUEUE, address


def tx_stamp_entry(data: bytes, anc: Iterable[Cmsg], options: RawOptions) -> ErrorEntry | None:
    """A transmit stamp from the raw socket's own error queue as the ping socket's entry, or
    None for anything else found there.

    With a TX flag of SO_TIMESTAMPING (forwarded to the raw socket like every option it
    validates) the kernel stamps the raw socket's datagrams as it would the ping socket's:
    ``__skb_tstamp_tx()`` queues a copy of the frame, and ``ip_recv_error()`` /
    ``ipv6_recv_error()`` read it back the same way for either socket (the timestamp cmsgs,
    then IP_RECVERR with origin SO_EE_ORIGIN_TIMESTAMPING, no msg_name). So the entry is
    passed on as read, less the cmsgs of the backend's internal IPv6 options.
    """
    kept = ping_ancillary(options.family, anc, options.hidden_cmsgs)
    for level, kind, payload in kept:
        if (level, kind) == (options.level, options.recverr_option):
            error = parse_extended_error(payload)
            if error is not None and error.origin == linux.SO_EE_ORIGIN_TIMESTAMPING:
                return ErrorEntry(error, data, "", ancillary=tuple(kept))
    return None


def truncate(
    message: bytes, bufsize: int, anc: AncData, ancbufsize: int, source: Address
) -> tuple[bytes, AncData, int, Address]:
    """What ``recvmsg(bufsize, ancbufsize)`` returns for ``message`` with ``anc`` (G3)."""
    flags = 0
    if len(message) > bufsize:
        # G3: copy bufsize bytes, set MSG_TRUNC, return the truncated length.
        message = message[:bufsize]
        flags |= linux.MSG_TRUNC
    kept: AncData = []
    used = 0
    for level, kind, data in anc:
        space = socket.CMSG_SPACE(len(data))
        if used + socket.CMSG_LEN(len(data)) > ancbufsize:
            # put_cmsg(): with room for the header, the cmsg is written cut to the room left.
            room = ancbufsize - used - socket.CMSG_LEN(0)
            if room >= 0:
                kept.append((level, kind, data[:room]))
            flags |= linux.MSG_CTRUNC
            break
        kept.append((level, kind, data))
        used += space
    return message, kept, flags, source


def pktinfo(anc: Iterable[Cmsg]) -> tuple[bytes, int] | None:
    """(destination address, ingress ifindex) from an IPV6_PKTINFO cmsg."""
    for level, kind, data in anc:
        if level == linux.SOL_IPV6 and kind == linux.IPV6_PKTINFO and len(data) >= 20:
            return data[:16], int.from_bytes(data[16:20], "little")
    return None


def strip_scope(host: str) -> str:
    return host.split("%", 1)[0]


def packed(family: int, host: str | None) -> bytes | None:
    if not host:
        return None
    return socket.inet_pton(family, strip_scope(host))
