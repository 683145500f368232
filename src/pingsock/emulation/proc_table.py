"""The kernel's ``/proc/net/icmp`` and ``/proc/net/icmp6`` text, as a pure formatter and parser
(spec N1-N5), and the names under which emulated sockets publish their rows.

Formats (net/ipv4/ping.c ``ping_v4_seq_show()``/``ping_v4_format_sock()``, net/ipv6/ping.c
``ping_v6_seq_show()`` with ``__ip6_dgram_sock_seq_show()``)::

    v4: "%5d: %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08lX %08X %5u %8d %lu %d %pK %u"
        padded with spaces to 127 characters (seq_setwidth/seq_pad), then "\\n"; the header too
    v6: "%5d: %08X%08X%08X%08X:%04X %08X%08X%08X%08X:%04X %02X %08X:%08X %02X:%08lX %08X %5u %8d
        %lu %d %pK %u\\n", not padded

An address is its ``__be32`` words printed with ``%08X`` on the host, so on a little-endian
machine 127.0.0.1 is ``0100007F`` and ::1 is ``00000000000000000000000001000000``. The ports
are the ident (local) and the ``connect()`` port (remote); ``st`` is 07 (TCP_CLOSE) or 01
(TCP_ESTABLISHED, connected). ``/proc/net/raw`` and ``/proc/net/raw6`` have the same columns
(``%4d`` for the v4 ``sl``), so :func:`parse_row` reads them too.

Published names (abstract Unix sockets, listed in ``/proc/net/unix`` with a leading ``@``):

* ``pingsock/ident/<N>``: the ident claim of ``backends.reserve`` (one per claimed ident);
* ``pingsock/sock/<inode>/<st>/<local>:<ident>/<remote>:<port>``: one emulated socket's row
  (``backends.listing``), ``inode`` the raw socket's inode (decimal), the rest as the columns
  of the row above (hex, kernel byte order). The longest (IPv6) is 103 bytes: it fits in the
  107 a ``sun_path`` leaves after the leading NUL.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

__all__ = [
    "BEACON_PREFIX",
    "CLAIM_PREFIX",
    "HEADER_V4",
    "HEADER_V6",
    "MAX_ABSTRACT_NAME",
    "OVERFLOW_UID",
    "POINTER_HIDDEN",
    "Beacon",
    "ByteOrder",
    "IPAddress",
    "ProcRow",
    "ST_CLOSE",
    "ST_ESTABLISHED",
    "beacon_name",
    "format_row",
    "parse_beacon",
    "parse_claim",
    "parse_row",
    "parse_table",
    "render",
    "unix_names",
]

ByteOrder = Literal["little", "big"]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_V4_WIDTH = 127  # ping_v4_seq_show(): seq_setwidth(seq, 127)
HEADER_V4 = (
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
    "timeout inode ref pointer drops"
).ljust(_V4_WIDTH) + "\n"
HEADER_V6 = (  # IPV6_SEQ_DGRAM_HEADER
    "  sl  local_address                         remote_address                        "
    "st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
)
ST_ESTABLISHED = 0x01  # TCP_ESTABLISHED: connected (D1)
ST_CLOSE = 0x07  # TCP_CLOSE: bound or autobound only

CLAIM_PREFIX = "pingsock/ident/"  # backends.reserve's claim names, without the leading NUL
BEACON_PREFIX = "pingsock/sock/"
MAX_ABSTRACT_NAME = 107  # sizeof(sun_path) minus the leading NUL
POINTER_HIDDEN = "0" * 16  # what %pK prints for a hidden 64-bit pointer
OVERFLOW_UID = 65534  # from_kuid_munged() for a uid the reader cannot see

_TOKENS = 13  # sl: local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops


@dataclass(frozen=True, slots=True)
class ProcRow:
    """One row of ``/proc/net/icmp{,6}`` (or ``/proc/net/raw{,6}``), every column a field.

    ``sl`` is not a field: it is given when the row is formatted. ``pointer`` is kept as the
    text ``%pK`` printed (hashed, or zeros when hidden).
    """

    local: IPAddress
    local_port: int
    remote: IPAddress
    remote_port: int
    state: int = ST_CLOSE
    tx_queue: int = 0
    rx_queue: int = 0
    uid: int = 0
    inode: int = 0
    ref: int = 2  # N2: a hashed ping socket (the file and the hash table)
    pointer: str = POINTER_HIDDEN
    drops: int = 0
    timer_active: int = 0  # tr, tm->when, retrnsmt, timeout: always 0 for ping sockets (N2)
    timer_expires: int = 0
    retransmits: int = 0
    timeout: int = 0

    @property
    def version(self) -> int:
        return self.local.version


def _hex_address(address: IPAddress, byteorder: ByteOrder) -> str:
    packed = address.packed
    return "".join(
        f"{int.from_bytes(packed[i : i + 4], byteorder):08X}" for i in range(0, len(packed), 4)
    )


def _parse_address(text: str, byteorder: ByteOrder) -> IPAddress:
    if len(text) not in (8, 32):
        raise ValueError(f"an address is 8 or 32 hex digits: {text!r}")
    packed = b"".join(
        int(text[i : i + 8], 16).to_bytes(4, byteorder) for i in range(0, len(text), 8)
    )
    return ipaddress.IPv4Address(packed) if len(packed) == 4 else ipaddress.IPv6Address(packed)


def _endpoint(address: IPAddress, port: int, byteorder: ByteOrder) -> str:
    return f"{_hex_address(address, byteorder)}:{port & 0xFFFF:04X}"


def _parse_endpoint(text: str, byteorder: ByteOrder) -> tuple[IPAddress, int]:
    address, sep, port = text.partition(":")
    if not sep or len(port) != 4:
        raise ValueError(f"not ADDRESS:PORT: {text!r}")
    return _parse_address(address, byteorder), int(port, 16)


def format_row(row: ProcRow, sl: int, byteorder: ByteOrder = sys.byteorder) -> str:
    """The line the kernel prints for ``row`` in bucket ``sl`` (with its newline)."""
    line = (
        f"{sl:5d}: {_endpoint(row.local, row.local_port, byteorder)} "
        f"{_endpoint(row.remote, row.remote_port, byteorder)} {row.state:02X} "
        f"{row.tx_queue:08X}:{row.rx_queue:08X} {row.timer_active:02X}:{row.timer_expires:08X} "
        f"{row.retransmits:08X} {row.uid:5d} {row.timeout:8d} {row.inode} {row.ref} "
        f"{row.pointer} {row.drops}"
    )
    if row.version == 4:
        line = line.ljust(_V4_WIDTH)
    return line + "\n"


def parse_row(line: str, byteorder: ByteOrder = sys.byteorder) -> tuple[int, ProcRow]:
    """``(sl, row)`` from one line of ``/proc/net/icmp{,6}`` or ``/proc/net/raw{,6}``.

    Raises ``ValueError`` for anything else (a header, a truncated line).
    """
    tokens = line.split()
    if len(tokens) != _TOKENS or not tokens[0].endswith(":"):
        raise ValueError(f"not a socket row: {line!r}")
    local, local_port = _parse_endpoint(tokens[1], byteorder)
    remote, remote_port = _parse_endpoint(tokens[2], byteorder)
    if local.version != remote.version:
        raise ValueError(f"mixed address families: {line!r}")
    tx_queue, _, rx_queue = tokens[4].partition(":")
    timer_active, _, timer_expires = tokens[5].partition(":")
    row = ProcRow(
        local=local,
        local_port=local_port,
        remote=remote,
        remote_port=remote_port,
        state=int(tokens[3], 16),
        tx_queue=int(tx_queue, 16),
        rx_queue=int(rx_queue, 16),
        timer_active=int(timer_active, 16),
        timer_expires=int(timer_expires, 16),
        retransmits=int(tokens[6], 16),
        uid=int(tokens[7]),
        timeout=int(tokens[8]),
        inode=int(tokens[9]),
        ref=int(tokens[10]),
        pointer=tokens[11],
        drops=int(tokens[12]),
    )
    return int(tokens[0][:-1]), row


def parse_table(text: str, byteorder: ByteOrder = sys.byteorder) -> list[ProcRow]:
    """Every row of a whole ``/proc/net/icmp{,6}`` / ``raw{,6}`` file (the header skipped)."""
    rows: list[ProcRow] = []
    for line in text.splitlines()[1:]:
        if line.strip():
            rows.append(parse_row(line, byteorder)[1])
    return rows


def render(rows: Iterable[ProcRow], version: int, byteorder: ByteOrder = sys.byteorder) -> str:
    """A whole table: the kernel's header for ``version`` (4 or 6), then ``rows`` ordered by
    ident and inode, ``sl`` numbering them from 0.

    ``sl`` is a row number here, not the kernel's hash bucket ``(ident + net_hash_mix) & 63``:
    the mix is a per-namespace secret, and merged kernel and emulated rows need one order.
    """
    if version not in (4, 6):
        raise ValueError(f"version must be 4 or 6: {version}")
    chosen = sorted(rows, key=lambda row: (row.local_port, row.inode))
    for row in chosen:
        if row.version != version:
            raise ValueError(f"an IPv{row.version} row in the IPv{version} table: {row}")
    header = HEADER_V4 if version == 4 else HEADER_V6
    return header + "".join(format_row(row, sl, byteorder) for sl, row in enumerate(chosen))


# -- published names -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Beacon:
    """What an emulated socket publishes: its row's address columns and its raw socket's
    inode (the other columns are read from that raw socket's ``/proc/net/raw{,6}`` row)."""

    inode: int
    state: int
    local: IPAddress
    ident: int
    remote: IPAddress
    remote_port: int

    def row(self, raw: ProcRow | None = None) -> ProcRow:
        """The socket's row; queues, uid, ref, pointer and drops from its raw socket's row."""
        base = ProcRow(
            local=self.local,
            local_port=self.ident,
            remote=self.remote,
            remote_port=self.remote_port,
            state=self.state,
            inode=self.inode,
        )
        if raw is None:
            return base
        return replace(
            base,
            tx_queue=raw.tx_queue,
            rx_queue=raw.rx_queue,
            uid=raw.uid,
            ref=raw.ref,
            pointer=raw.pointer,
            drops=raw.drops,
        )


def _address(text: str | None, version: int) -> IPAddress:
    if not text:
        return ipaddress.IPv4Address(0) if version == 4 else ipaddress.IPv6Address(0)
    address = ipaddress.ip_address(text.split("%", 1)[0])  # a scope is not a column
    if address.version != version:
        raise ValueError(f"an IPv{address.version} address on an IPv{version} socket: {text}")
    return address


def beacon_name(
    inode: int,
    version: int,
    ident: int,
    local: str | None,
    peer: tuple[str, int] | None,
    *,
    byteorder: ByteOrder = sys.byteorder,
) -> str:
    """The name (without the leading NUL) publishing a bound socket's row.

    ``local`` is its bound or connected local address (None: the wildcard), ``peer`` its
    ``connect()`` address and port (None: not connected).
    """
    if not 1 <= ident <= 0xFFFF:
        raise ValueError(f"only a bound socket (ident 1..65535) is listed: {ident}")
    remote, port = (None, 0) if peer is None else peer
    state = ST_CLOSE if peer is None else ST_ESTABLISHED
    name = (
        f"{BEACON_PREFIX}{inode}/{state:02X}/"
        f"{_endpoint(_address(local, version), ident, byteorder)}/"
        f"{_endpoint(_address(remote, version), port, byteorder)}"
    )
    if len(name) > MAX_ABSTRACT_NAME:  # cannot happen: inodes are 32-bit (get_next_ino())
        raise ValueError(f"name too long for an abstract socket: {name}")
    return name


def parse_beacon(name: str, byteorder: ByteOrder = sys.byteorder) -> Beacon:
    """The :class:`Beacon` a name from :func:`beacon_name` carries (``ValueError`` if not)."""
    parts = name.removeprefix("@").split("/")
    if len(parts) != 6 or f"{parts[0]}/{parts[1]}/" != BEACON_PREFIX:
        raise ValueError(f"not a pingsock socket name: {name!r}")
    inode, state = int(parts[2]), int(parts[3], 16)
    local, ident = _parse_endpoint(parts[4], byteorder)
    remote, remote_port = _parse_endpoint(parts[5], byteorder)
    if local.version != remote.version or not 1 <= ident <= 0xFFFF or inode <= 0:
        raise ValueError(f"not a pingsock socket name: {name!r}")
    if state not in (ST_CLOSE, ST_ESTABLISHED):
        raise ValueError(f"not a pingsock socket name: {name!r}")
    return Beacon(inode, state, local, ident, remote, remote_port)


def parse_claim(name: str) -> int:
    """The ident of a claim name ``pingsock/ident/<N>`` (``ValueError`` if not one)."""
    text = name.removeprefix("@")
    if not text.startswith(CLAIM_PREFIX):
        raise ValueError(f"not a pingsock claim: {name!r}")
    digits = text[len(CLAIM_PREFIX) :]
    if not digits.isdigit() or not 1 <= int(digits) <= 0xFFFF:
        raise ValueError(f"not a pingsock claim: {name!r}")
    return int(digits)


def unix_names(text: str, prefix: str = "pingsock/") -> list[tuple[int, str]]:
    """``(inode, name)`` of the abstract Unix sockets in a ``/proc/net/unix`` text whose name
    starts with ``prefix`` (name without the ``@``).

    Columns: ``Num RefCount Protocol Flags Type St Inode Path``; an abstract name is shown with
    ``@`` for its leading NUL.
    """
    found: list[tuple[int, str]] = []
    for line in text.splitlines()[1:]:
        fields = line.split(None, 7)
        if len(fields) == 8 and fields[7].startswith("@" + prefix) and fields[6].isdigit():
            found.append((int(fields[6]), fields[7][1:].rstrip()))
    return found
