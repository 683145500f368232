"""The user-space ICMP echo responder program (stdlib only; started by ``lab.responder``).

Run as root inside a namespace whose kernel echo is off. It reads echo requests from raw
ICMP/ICMPv6 sockets (the kernel reassembles fragments), and answers according to the JSON
behaviour in ``--control``. That file is re-read whenever it is replaced (``os.replace``), checked
before every request, so a test's reconfiguration is in effect for every request it sends after.
Each request is logged as one JSON line to ``--log``. The program prints ``READY`` once its
sockets are open, and exits after ``--lifetime`` seconds or when its parent dies.

Behaviour keys (all optional): ``delay_ms``, ``drop_every`` (drop the Nth, 2Nth, ... request
of each family, counted since the last reconfiguration), ``drop_seqs`` (list), ``drop_all``,
``duplicates`` (extra copies), ``corrupt`` (``"checksum"``: wrong checksum; ``"payload"``: last
payload byte flipped, checksum correct), ``truncate`` (reply shorter by N bytes, checksum over
what is sent),
``from_alt`` (answer from the alternate address), ``error`` ([type, code]: send that ICMP error
quoting the request, as a router would; ``error_v6`` overrides it for IPv6) with ``error_info``
(the 32-bit field after the checksum: the MTU for 3/4 or Packet Too Big, the pointer for
parameter problems).
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import ipaddress
import json
import os
import select
import socket
import struct
import sys
import time
from typing import Any

SOL_RAW = 255
ICMP_FILTER = 1  # linux/icmp.h: bit set = type blocked
ICMP6_FILTER = 1  # linux/icmpv6.h: bit set = type blocked
IPV6_CHECKSUM = 7
IPV6_RECVPKTINFO = 49
IPV6_PKTINFO = 50
IPV6_RECVHOPLIMIT = 51
IPV6_HOPLIMIT = 52
IPV6_RECVTCLASS = 66
IPV6_TCLASS = 67
IP_PKTINFO = 8

ECHO4, REPLY4 = 8, 0
ECHO6, REPLY6 = 128, 129
QUOTE4_MAX = 576 - 20 - 8  # RFC 1812 4.3.2.3: the whole error fits in 576 bytes
QUOTE6_MAX = 1280 - 40 - 8  # RFC 4443 2.4(c): the whole error fits in the minimum MTU
POLL = 0.25


def checksum(data: bytes) -> int:
    """RFC 1071 internet checksum."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def pseudo6(src: str, dst: str, length: int) -> bytes:
    return (
        socket.inet_pton(socket.AF_INET6, src)
        + socket.inet_pton(socket.AF_INET6, dst)
        + struct.pack("!I3xB", length, socket.IPPROTO_ICMPV6)
    )


class Responder:
    def __init__(self, control: str, log: str, alt4: str, alt6: str) -> None:
        self.control = control
        self.log = open(log, "a", buffering=1)  # noqa: SIM115 -- lives as long as the process
        self.alt = {4: alt4, 6: alt6}
        self.stamp: tuple[int, int, int] | None = None
        self.conf: dict[str, Any] = {}
        self.count = {4: 0, 6: 0}
        self.queue: list[tuple[float, int, int, str, str, bytes]] = []
        self.order = 0
        self.s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.s4.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("=I", ~(1 << ECHO4) & 0xFFFFFFFF))
        self.s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        blocked = bytearray(b"\xff" * 32)
        blocked[ECHO6 >> 3] &= ~(1 << (ECHO6 & 7)) & 0xFF  # ICMP6_FILTER_SETPASS
        self.s6.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, bytes(blocked))
        # Linux extension (level IPPROTO_RAW): the kernel neither verifies nor fills ICMPv6
        # checksums on this socket, so bad checksums can be sent and are computed here.
        self.s6.setsockopt(SOL_RAW, IPV6_CHECKSUM, -1)
        for opt in (IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS):
            self.s6.setsockopt(socket.IPPROTO_IPV6, opt, 1)
        self.s4.setblocking(False)
        self.s6.setblocking(False)

    def reload(self) -> None:
        try:
            st = os.stat(self.control)
        except FileNotFoundError:
            return
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp != self.stamp:
            with open(self.control) as f:
                self.conf = json.load(f)
            self.stamp = stamp
            self.count = {4: 0, 6: 0}

    # -- receive ----------------------------------------------------------------------------

    def recv4(self) -> None:
        pkt, (src, _) = self.s4.recvfrom(65535)
        ihl = (pkt[0] & 0x0F) * 4
        dst = socket.inet_ntop(socket.AF_INET, pkt[16:20])
        icmp = pkt[ihl:]
        if len(icmp) < 8 or icmp[0] != ECHO4:
            return
        self.handle(4, src, dst, icmp, pkt, checksum(icmp) == 0)

    def recv6(self) -> None:
        icmp, anc, _flags, addr = self.s6.recvmsg(65535, 256)
        src = addr[0]
        dst, hlim, tclass = "::", 64, 0
        for level, kind, data in anc:
            if level != socket.IPPROTO_IPV6:
                continue
            if kind == IPV6_PKTINFO:
                dst = socket.inet_ntop(socket.AF_INET6, data[:16])
            elif kind == IPV6_HOPLIMIT:
                hlim = struct.unpack("=i", data[:4])[0]
            elif kind == IPV6_TCLASS:
                tclass = struct.unpack("=i", data[:4])[0]
        if len(icmp) < 8 or icmp[0] != ECHO6:
            return
        ok = checksum(pseudo6(src, dst, len(icmp)) + icmp) == 0
        # The IPv6 header is not delivered on raw sockets: rebuild it for quoting in errors
        # (the flow label is unknown and quoted as 0).
        header = struct.pack("!IHBB", (6 << 28) | (tclass << 20), len(icmp), 58, hlim)
        header += socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
        self.handle(6, src.split("%")[0], dst, icmp, header + icmp, ok)

    # -- decide ------------------------------------------------------------------------------

    def handle(  # noqa: PLR0917 -- one call site, all parts of one request
        self, fam: int, src: str, dst: str, icmp: bytes, packet: bytes, ok: bool
    ) -> None:
        self.reload()
        c = self.conf
        ident, seq = struct.unpack("!HH", icmp[4:8])
        entry: dict[str, Any] = {
            "t": time.monotonic(),
            "family": fam,
            "src": src,
            "dst": dst,
            "ident": ident,
            "seq": seq,
            "size": len(icmp),
        }
        if not ok:
            self.write_log(entry, "bad-checksum")
            return
        self.count[fam] += 1
        every = int(c.get("drop_every") or 0)
        if (
            c.get("drop_all")
            or seq in set(c.get("drop_seqs") or ())
            or (every > 0 and self.count[fam] % every == 0)
        ):
            self.write_log(entry, "drop")
            return
        source = self.alt[fam] if c.get("from_alt") else dst
        error = (c.get("error_v6") or c.get("error")) if fam == 6 else c.get("error")
        if error:
            etype, ecode = error
            quote = packet[: QUOTE4_MAX if fam == 4 else QUOTE6_MAX]
            msg = struct.pack("!BBHI", etype, ecode, 0, int(c.get("error_info") or 0)) + quote
            action = "error"
        else:
            msg = bytes([REPLY4 if fam == 4 else REPLY6]) + icmp[1:2] + b"\0\0" + icmp[4:]
            if c.get("corrupt") == "payload" and len(msg) > 8:
                msg = msg[:-1] + bytes([msg[-1] ^ 0xFF])
            cut = int(c.get("truncate") or 0)
            if cut:
                msg = msg[: max(len(msg) - cut, 4)]
            action = "reply"
        msg = self.with_checksum(fam, source, src, msg)
        if c.get("corrupt") == "checksum":
            msg = msg[:2] + bytes([msg[2], msg[3] ^ 0xFF]) + msg[4:]
        copies = 1 + int(c.get("duplicates") or 0)
        due = time.monotonic() + float(c.get("delay_ms") or 0) / 1000
        for _ in range(copies):
            self.order += 1
            heapq.heappush(self.queue, (due, self.order, fam, source, src, msg))
        entry["copies"] = copies
        self.write_log(entry, action)

    @staticmethod
    def with_checksum(fam: int, source: str, dst: str, msg: bytes) -> bytes:
        base = msg[:2] + b"\0\0" + msg[4:]
        data = base if fam == 4 else pseudo6(source, dst, len(base)) + base
        return msg[:2] + struct.pack("!H", checksum(data)) + msg[4:]

    def write_log(self, entry: dict[str, Any], action: str) -> None:
        entry["action"] = action
        self.log.write(json.dumps(entry) + "\n")

    # -- send --------------------------------------------------------------------------------

    def send_due(self) -> None:
        now = time.monotonic()
        while self.queue and self.queue[0][0] <= now:
            _, _, fam, source, dst, msg = heapq.heappop(self.queue)
            try:
                if fam == 4:
                    info = struct.pack(
                        "=i4s4s", 0, socket.inet_pton(socket.AF_INET, source), b"\0" * 4
                    )
                    self.s4.sendmsg([msg], [(socket.IPPROTO_IP, IP_PKTINFO, info)], 0, (dst, 0))
                else:
                    info = socket.inet_pton(socket.AF_INET6, source) + struct.pack("=i", 0)
                    anc = [(socket.IPPROTO_IPV6, IPV6_PKTINFO, info)]
                    self.s6.sendmsg([msg], anc, 0, (dst, 0, 0, 0))
            except OSError as exc:  # keep serving; the log shows it
                self.write_log({"t": now, "family": fam, "dst": dst, "error": str(exc)}, "fail")

    def serve(self, lifetime: float) -> None:
        deadline = time.monotonic() + lifetime
        parent = os.getppid()
        while True:
            now = time.monotonic()
            if now >= deadline or os.getppid() != parent:
                return
            wake = min(deadline, now + POLL, self.queue[0][0] if self.queue else deadline)
            ready, _, _ = select.select([self.s4, self.s6], [], [], max(wake - now, 0))
            for sock in ready:
                with contextlib.suppress(BlockingIOError, InterruptedError):
                    (self.recv4 if sock is self.s4 else self.recv6)()
            self.send_due()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--control", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--alt4", required=True, type=lambda s: str(ipaddress.IPv4Address(s)))
    p.add_argument("--alt6", required=True, type=lambda s: str(ipaddress.IPv6Address(s)))
    p.add_argument("--lifetime", type=float, default=120.0)
    args = p.parse_args(argv)
    responder = Responder(args.control, args.log, args.alt4, args.alt6)
    responder.reload()
    print("READY", flush=True)
    responder.serve(args.lifetime)
    return 0


if __name__ == "__main__":
    sys.exit(main())
