"""What happens during a ping run, as values.

The drivers (sync, and later asyncio) turn socket activity into these events; the tracker
counts them; the CLI renders them; ``pingsock.ping()`` collects them into a result. Times are
integers in microseconds, like iputils' arithmetic (shared/spec/iputils-ping.md section 5).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Event", "IcmpError", "LocalError", "NoAnswerYet", "Reply", "Sent", "StatusRequest"]


@dataclass(frozen=True, slots=True)
class Sent:
    """A probe left: ``seq`` is the 16-bit icmp_seq put on the wire."""

    seq: int
    at_ns: int  # CLOCK_REALTIME nanoseconds just before sendmsg()


@dataclass(frozen=True, slots=True)
class Reply:
    """An echo reply that belongs to this run (the socket's ident)."""

    seq: int
    source: str  # the replying address, as text (IPv6 with %scope when link-local)
    size: int  # ICMP bytes received, header included (iputils' "cc")
    ttl: int | None  # IP TTL / IPv6 hop limit, from the IP_TTL / IPV6_HOPLIMIT cmsg
    rtt_us: int | None  # None when the run does not time replies (payload < 16 bytes)
    duplicate: bool  # this seq was already answered
    truncated: bool  # fewer bytes than sent came back (iputils "(truncated)")
    received_at_ns: int  # kernel receive stamp (SO_TIMESTAMPNS), CLOCK_REALTIME
    ident: int | None = None  # the echo id; shown by the CLI with -v only
    tos: int | None = None  # IP TOS / IPv6 traffic class when asked for
    payload: bytes = b""  # the echoed data after the 8-byte header (iputils checks it)
    ip_options: bytes = b""  # IPv4 options of the reply (IP_RETOPTS cmsg): -R / -T blocks


@dataclass(frozen=True, slots=True)
class IcmpError:
    """An ICMP error that quotes one of our probes (from the socket's error queue)."""

    seq: int
    offender: str  # the address that sent the error (router, target, or ourselves)
    family: int  # 4 or 6
    icmp_type: int
    icmp_code: int
    info: int  # ee_info: next-hop MTU, parameter-problem pointer, redirect gateway (u32)
    errno: int  # what the kernel mapped it to (ee_errno)
    received_at_ns: int


@dataclass(frozen=True, slots=True)
class LocalError:
    """An error raised on this host, not by an ICMP message (ee_origin LOCAL or a send error).

    ``mtu`` is set for EMSGSIZE from path-MTU discovery (iputils prints "message too long,
    mtu=N"); ``seq`` is the probe it concerns, when known. ``send_only`` marks a send that
    failed with nothing on the error queue: iputils counts that probe as sent and says nothing
    (``pinger()``: the error-queue read returned no entry), so it is neither counted as an
    error nor printed; the event still tells API users why no reply can come.
    """

    errno: int
    seq: int | None
    mtu: int | None
    received_at_ns: int
    send_only: bool = False


@dataclass(frozen=True, slots=True)
class NoAnswerYet:
    """iputils -O: the previous probe is still unanswered when the next one is sent."""

    seq: int
    at_ns: int


@dataclass(frozen=True, slots=True)
class StatusRequest:
    """iputils SIGQUIT: the caller asked for the running status line (``status()``)."""

    at_ns: int


Event = Sent | Reply | IcmpError | LocalError | NoAnswerYet | StatusRequest
