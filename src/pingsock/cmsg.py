"""Ancillary-data structures of the Linux socket ABI, packed and unpacked without I/O.

A ping socket's receive cmsgs (kernel-ping-socket.md sections I, J3, M10, M12) are the same
bytes whichever backend produced them: the kernel, or the raw-socket emulation that builds
them with these functions.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from pingsock import linux

__all__ = [
    "ExtendedError",
    "pack_sockaddr",
    "parse_extended_error",
    "parse_int_cmsg",
    "parse_timestamp_ns",
]

# struct sock_extended_err { u32 ee_errno; u8 ee_origin, ee_type, ee_code, ee_pad;
#                            u32 ee_info; u32 ee_data; }  (uapi/linux/errqueue.h)
_SOCK_EE = struct.Struct("=IBBBBII")
_SOCKADDR_IN = struct.Struct("=H")  # sa_family in host order; the rest is network order
_RECVERR = ((linux.SOL_IP, linux.IP_RECVERR), (linux.SOL_IPV6, linux.IPV6_RECVERR))
_TIMESPEC = struct.Struct("=qq")  # struct timespec on 64-bit Linux: tv_sec, tv_nsec
_TIMEVAL = struct.Struct("=qq")  # struct timeval: tv_sec, tv_usec
_INT = struct.Struct("=i")


@dataclass(frozen=True, slots=True)
class ExtendedError:
    """One ``IP_RECVERR`` / ``IPV6_RECVERR`` cmsg: ``sock_extended_err`` plus the offender."""

    errno: int
    origin: int  # linux.SO_EE_ORIGIN_*
    icmp_type: int
    icmp_code: int
    info: int  # MTU, parameter-problem pointer, or redirect gateway
    data: int
    offender: str | None  # SO_EE_OFFENDER: the address that sent the ICMP error

    def pack(self, family: int) -> bytes:
        """The cmsg payload the kernel writes: the struct then the offender sockaddr."""
        head = _SOCK_EE.pack(
            self.errno, self.origin, self.icmp_type, self.icmp_code, 0, self.info, self.data
        )
        if self.offender is None:
            # ip_local_error(): a local error carries an AF_UNSPEC offender (spec F2).
            size = 16 if family == linux.AF_INET else 28
            return head + bytes(size)
        return head + pack_sockaddr(family, self.offender)


def pack_sockaddr(family: int, address: str, port: int = 0, scope_id: int = 0) -> bytes:
    """``sockaddr_in`` (16 bytes) or ``sockaddr_in6`` (28 bytes), padding zeroed (CVE-2013-7263)."""
    if family == linux.AF_INET:
        raw = ipaddress.IPv4Address(address).packed
        return _SOCKADDR_IN.pack(family) + struct.pack("!H", port) + raw + bytes(8)
    raw = ipaddress.IPv6Address(address.split("%", 1)[0]).packed
    return (
        _SOCKADDR_IN.pack(family) + struct.pack("!HI", port, 0) + raw + struct.pack("=I", scope_id)
    )


def _unpack_sockaddr(data: bytes) -> str | None:
    if len(data) < 2:
        return None
    (family,) = _SOCKADDR_IN.unpack_from(data)
    if family == linux.AF_INET and len(data) >= 8:
        return str(ipaddress.IPv4Address(data[4:8]))
    if family == linux.AF_INET6 and len(data) >= 24:
        return str(ipaddress.IPv6Address(data[8:24]))
    return None


def parse_extended_error(data: bytes) -> ExtendedError | None:
    """Decode an ``IP_RECVERR``/``IPV6_RECVERR`` cmsg payload; None if it is too short."""
    if len(data) < _SOCK_EE.size:
        return None
    err, origin, icmp_type, icmp_code, _pad, info, extra = _SOCK_EE.unpack_from(data)
    offender = _unpack_sockaddr(data[_SOCK_EE.size :])
    return ExtendedError(err, origin, icmp_type, icmp_code, info, extra, offender)


def parse_timestamp_ns(level: int, kind: int, data: bytes) -> int | None:
    """Nanoseconds since the epoch from an ``SCM_TIMESTAMPNS`` or ``SCM_TIMESTAMP`` cmsg."""
    if level != linux.SOL_SOCKET or len(data) < 16:
        return None
    if kind == linux.SCM_TIMESTAMPNS:
        sec, nsec = _TIMESPEC.unpack_from(data)
        return int(sec) * 1_000_000_000 + int(nsec)
    if kind == linux.SCM_TIMESTAMP:
        sec, usec = _TIMEVAL.unpack_from(data)
        return int(sec) * 1_000_000_000 + int(usec) * 1_000
    return None


def parse_int_cmsg(data: bytes) -> int | None:
    """An ``int`` cmsg (IP_TTL, IPV6_HOPLIMIT, IPV6_TCLASS); IP_TOS is a single byte."""
    if len(data) >= 4:
        value: int = _INT.unpack_from(data)[0]
        return value
    if len(data) == 1:
        return data[0]
    return None


def pack_int_cmsg(value: int) -> bytes:
    """The 4-byte ``int`` payload of an IP_TTL / IPV6_HOPLIMIT cmsg."""
    return _INT.pack(value)


def parse_tx_timestamp(
    data: bytes, anc: list[tuple[int, int, bytes]], sent_length: int
) -> tuple[int, int] | None:
    """(sequence, ns) of a transmit time stamp read from the error queue, or None when the
    entry is something else (an ICMP or local error).

    With ``SOF_TIMESTAMPING_TX_SOFTWARE`` the kernel queues, for each datagram sent, a copy of
    the packet as it left (link header, IP header, then our ICMP message of ``sent_length``
    bytes), an ``SO_EE_ORIGIN_TIMESTAMPING`` extended error and an ``SCM_TIMESTAMPING`` cmsg
    whose first timespec is the software stamp (Documentation/networking/timestamping.rst).
    The ICMP message is the last ``sent_length`` bytes: its sequence number says which probe.
    """
    stamp = None
    origin = None
    for level, kind, payload in anc:
        if level == linux.SOL_SOCKET and kind == linux.SCM_TIMESTAMPING and len(payload) >= 16:
            sec, nsec = _TIMESPEC.unpack_from(payload)
            stamp = int(sec) * 1_000_000_000 + int(nsec)
        elif (level, kind) in _RECVERR:
            error = parse_extended_error(payload)
            origin = None if error is None else error.origin
    if origin != linux.SO_EE_ORIGIN_TIMESTAMPING or not stamp:
        return None
    if sent_length < 8 or len(data) < sent_length:
        return None
    start = len(data) - sent_length
    return struct.unpack_from("!H", data, start + 6)[0], stamp
