"""Probes in flight for one ping run: sequence numbers, send stamps, matching, duplicates.

Pure: the driver passes in the packets it read and the clock readings it took; the tracker
returns events (``pingsock.events``) and keeps the statistics (``pingsock.stats``). The sync
driver and, later, the asyncio driver run this same logic.
"""

from __future__ import annotations

import struct

from pingsock import linux
from pingsock.cmsg import ExtendedError
from pingsock.events import IcmpError, LocalError, Reply, Sent
from pingsock.stats import PingStats, StatsAccumulator

__all__ = ["SEND_STAMP", "ProbeTracker", "build_payload"]

_SEQ = struct.Struct("!H")
# The send stamp at the payload's start: struct timeval on 64-bit Linux, as iputils writes it.
SEND_STAMP = struct.Struct("=qq")
TIMING_BYTES = SEND_STAMP.size  # iputils times replies only when the payload holds a timeval
_TIMED_SIZE = 8 + TIMING_BYTES
_SEQ_SPACE = 0x10000


def build_payload(size: int, pattern: bytes = b"") -> bytearray:
    """The echo payload iputils sends: byte i is ``i & 0xff`` (``setup()`` fills
    ``outpack[8+i] = i``), or the -p pattern repeated; the first 16 bytes are later
    overwritten by the send time when the payload is large enough to time replies."""
    if pattern:
        return bytearray((pattern * (size // len(pattern) + 1))[:size])
    return bytearray(i & 0xFF for i in range(size))


class ProbeTracker:
    """Sequence numbers, send stamps and the duplicate table of one run.

    ``payload_size`` is the -s value: replies shorter than ``payload_size + 8`` are
    ``(truncated)``, and replies are timed only when ``payload_size >= 16`` (iputils
    ``gather_statistics``).
    """

    def __init__(self, family: int, payload_size: int, *, quiet: bool = False) -> None:
        self.family = family
        self.payload_size = payload_size
        self.timing = payload_size >= TIMING_BYTES
        self.stats = StatsAccumulator(quiet=quiet)
        self._transmitted = 0
        self._sent_ns: list[int] = [0] * _SEQ_SPACE  # the clock read before each send
        # The kernel's transmit stamps (restamp()), 0 where none came; made at the first one.
        self._tx_ns: list[int] | None = None
        self._answered = bytearray(_SEQ_SPACE // 8)  # iputils' 65536-bit duplicate table
        self._reply_type = 0 if family == linux.AF_INET else 129

    @property
    def reply_type(self) -> int:
        """The ICMP type of an echo reply in this run's family."""
        return self._reply_type

    @property
    def transmitted(self) -> int:
        return self._transmitted

    def next_seq(self) -> int:
        """The icmp_seq of the next probe: ``htons(ntransmitted + 1)``, starting at 1."""
        return (self._transmitted + 1) & 0xFFFF

    def answered(self, seq: int) -> bool:
        """``rcvd_test()``: whether ``seq`` has been answered since it was last sent."""
        seq &= 0xFFFF
        return bool(self._answered[seq >> 3] & (1 << (seq & 7)))

    def stamp(self, payload: bytearray, now_ns: int) -> None:
        """Write the send time into the payload's first 16 bytes (iputils' layout)."""
        if self.timing:
            sec, nsec = divmod(now_ns, 1_000_000_000)
            SEND_STAMP.pack_into(payload, 0, sec, nsec // 1000)

    def sent(self, seq: int, at_ns: int) -> Sent:
        """Record a probe that left, and return its event."""
        self.mark_sent(seq, at_ns)
        return Sent(seq, at_ns)

    def mark_sent(self, seq: int, at_ns: int) -> None:
        """Record a probe that left; its slot in the duplicate table is cleared (iputils
        clears the bit at send time, so a wrapped sequence is not a false duplicate)."""
        self._transmitted += 1
        self._sent_ns[seq] = at_ns
        if self._tx_ns is not None:
            self._tx_ns[seq] = 0
        self._answered[seq >> 3] &= ~(1 << (seq & 7)) & 0xFF
        self.stats.sent()

    def restamp(self, seq: int, at_ns: int) -> None:
        """A better send time for ``seq`` (the kernel's transmit stamp), unless it has been
        answered already (its RTT is then told).

        The clock reading stays: a reply stamped before the transmit stamp (a multicast
        probe's own looped copy, delivered by ``ip_mc_output()`` before the device stamps the
        datagram) is timed from it, as iputils times every reply."""
        if self._sent_ns[seq] and not self.answered(seq):
            if self._tx_ns is None:
                self._tx_ns = [0] * _SEQ_SPACE
            self._tx_ns[seq] = at_ns

    def reply(
        self,
        message: bytes,
        source: str,
        ttl: int | None,
        received_ns: int,
        *,
        tos: int | None = None,
        ip_options: bytes = b"",
    ) -> Reply | None:
        """Match an echo reply read from our socket; None when it is not an echo reply."""
        if len(message) < 8 or message[0] != self._reply_type:
            return None
        seq = _SEQ.unpack_from(message, 6)[0]
        ident = _SEQ.unpack_from(message, 4)[0]
        duplicate, rtt_us = self.count_echo(seq, len(message), received_ns)
        truncated = len(message) < self.payload_size + 8
        return Reply(
            seq=seq,
            source=source,
            size=len(message),
            ttl=ttl,
            rtt_us=None if truncated else rtt_us,
            duplicate=duplicate,
            truncated=truncated,
            received_at_ns=received_ns,
            ident=ident,
            tos=tos,
            payload=message[8:],
            ip_options=ip_options,
        )

    def count_echo(self, seq: int, size: int, received_ns: int) -> tuple[bool, int | None]:
        """:meth:`reply` without the event, for a run that reports only its statistics
        (``PingOptions.reply_events``): the duplicate table and the statistics for one echo
        reply of ``size`` ICMP bytes; (duplicate, RTT µs). The reply's parts are the
        caller's to read (a flood reads them from the datagram, a batch reader from its
        slots), and so is the check that it is an echo reply."""
        # Written for speed: a flood calls this per reply.
        bit = 1 << (seq & 7)
        answered = self._answered
        byte = answered[seq >> 3]
        duplicate = (byte & bit) != 0
        answered[seq >> 3] = byte | bit
        rtt_us: int | None = None
        sent_ns = self._sent_ns[seq]
        tx_ns = self._tx_ns
        if tx_ns is not None and 0 < tx_ns[seq] <= received_ns:
            sent_ns = tx_ns[seq]
        if sent_ns and self.timing and size >= _TIMED_SIZE:
            # gather_statistics(): a negative time (the clock went back) is taken as 0.
            rtt_us = (received_ns - sent_ns) // 1000
            if rtt_us < 0:  # noqa: PLR1730 -- max() costs a call per reply
                rtt_us = 0
        self.stats.reply(seq, rtt_us, duplicate)
        return duplicate, rtt_us

    def error(
        self, error: ExtendedError, quoted: bytes, received_ns: int
    ) -> IcmpError | LocalError:
        """An error-queue entry (``ping4_receive_error_msg`` / ``ping6_receive_error_msg``)."""
        seq = _SEQ.unpack_from(quoted, 6)[0] if len(quoted) >= 8 else None
        if error.origin in (linux.SO_EE_ORIGIN_ICMP, linux.SO_EE_ORIGIN_ICMP6) and seq is not None:
            self.stats.icmp_error(seq)
            return IcmpError(
                seq=seq,
                offender=error.offender or "",
                family=4 if self.family == linux.AF_INET else 6,
                icmp_type=error.icmp_type,
                icmp_code=error.icmp_code,
                info=error.info,
                errno=error.errno,
                received_at_ns=received_ns,
            )
        self.stats.local_error()
        mtu = error.info if error.info else None
        return LocalError(errno=error.errno, seq=seq, mtu=mtu, received_at_ns=received_ns)

    def snapshot(self) -> PingStats:
        return self.stats.snapshot()
