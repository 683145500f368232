"""Classic BPF programs that wake a raw ICMP socket only for one ident's packets.

The raw backend must not see (let alone copy into Python) every ICMP packet the host receives:
the kernel runs these filters (SO_ATTACH_FILTER, Documentation/networking/filter.rst) and
queues only echo replies with our id and ICMP errors quoting an echo with our id. Python then
re-checks each packet with the pure demultiplexer (checksum, addresses, codes).

On a raw IPv4 socket the filter sees the IP header first; on a raw ICMPv6 socket it sees the
ICMPv6 header first (the IPv6 header is already pulled, ``ip6_protocol_deliver_rcu()``).
"""

from __future__ import annotations

import ctypes
import socket
import struct
from collections.abc import Mapping, Sequence

from pingsock import linux

__all__ = [
    "ErrorCodes",
    "attach_filter",
    "drop_all_program",
    "ident_program_v4",
    "ident_program_v6",
]

# Opcode pieces (uapi/linux/filter.h, bpf_common.h)
_LD, _LDX, _ALU, _JMP, _RET, _MISC = 0x00, 0x01, 0x04, 0x05, 0x06, 0x07
_W, _H, _B = 0x00, 0x08, 0x10
_ABS, _IND, _MSH = 0x20, 0x40, 0xA0
_ADD, _AND, _LSH = 0x00, 0x50, 0x60
_JEQ, _K, _X = 0x10, 0x00, 0x08
_TAX = 0x00

_INSN = struct.Struct("=HBBI")
_ACCEPT = 0x40000  # snap length: keep the whole packet
Insn = tuple[int, int, int, int]

# An assembly line: (opcode, k, true-label, false-label) or ("label", name).
_Line = tuple[object, ...]


def _assemble(lines: Sequence[_Line]) -> list[Insn]:
    labels: dict[str, int] = {}
    position = 0
    for line in lines:
        if line[0] == "label":
            labels[str(line[1])] = position
        else:
            position += 1
    program: list[Insn] = []
    for line in lines:
        if line[0] == "label":
            continue
        code, k = int(str(line[0])), int(str(line[1]))
        jt = jf = 0
        if len(line) > 2:
            here = len(program) + 1
            jt = labels[str(line[2])] - here if line[2] is not None else 0
            jf = labels[str(line[3])] - here if line[3] is not None else 0
        program.append((code, jt, jf, k))
    return program


def drop_all_program() -> list[Insn]:
    """The filter of a socket with no ident yet: nothing is queued."""
    return [(_RET | _K, 0, 0, 0)]


# ICMP type -> the codes of that type the socket accepts (an error filter, see below).
ErrorCodes = Mapping[int, frozenset[int]]
_ALL_CODES = frozenset(range(256))
_ERRORS_V4: ErrorCodes = dict.fromkeys((3, 4, 5, 11, 12), _ALL_CODES)
_ERRORS_V6: ErrorCodes = dict.fromkeys((1, 2, 3, 4), _ALL_CODES)


def _dispatch(values: Sequence[tuple[int, str]], otherwise: str) -> list[_Line]:
    """Jump on the accumulator: to the label of the first value it equals, else ``otherwise``."""
    jeq = _JMP | _JEQ | _K
    lines: list[_Line] = [(jeq, value, label, None) for value, label in values]
    lines.append((jeq, 0, otherwise, otherwise))  # both branches alike: an unconditional jump
    return lines


def _error_codes(errors: ErrorCodes, load_code: _Line) -> tuple[list[tuple[int, str]], list[_Line]]:
    """The type dispatch entries and per-type code checks of an error filter; each accepted
    (type, code) continues at "error", the rest go to "drop"."""
    entries: list[tuple[int, str]] = []
    blocks: list[_Line] = []
    for icmp_type, codes in sorted(errors.items()):
        if not codes:
            continue
        label = f"type{icmp_type}"
        entries.append((icmp_type, label))
        blocks.append(("label", label))
        if codes >= _ALL_CODES:
            blocks += _dispatch((), "error")
            continue
        blocks.append(load_code)
        refused = _ALL_CODES - codes
        if len(codes) <= len(refused):
            blocks += _dispatch([(code, "error") for code in sorted(codes)], "drop")
        else:
            blocks += _dispatch([(code, "drop") for code in sorted(refused)], "error")
    return entries, blocks


def ident_program_v4(ident: int, errors: ErrorCodes | None = None) -> list[Insn]:
    """Echo replies (0, 43) with id ``ident``, and errors (3, 4, 5, 11, 12) quoting an echo
    (8/0, 42/0) with id ``ident`` — what ``ping_rcv()`` and ``ping_err()`` accept (H1, J1).

    ``errors`` narrows the errors to those types and codes: the ones the socket would act on in
    its current state (IP_RECVERR, connected), so that an error it ignores does not wake it.
    """
    jeq = _JMP | _JEQ | _K
    entries, blocks = _error_codes(
        _ERRORS_V4 if errors is None else errors, (_LD | _B | _IND, 1)
    )  # fmt: skip
    return _assemble(
        [
            (_LDX | _B | _MSH, 0),  # X = outer IP header length
            (_LD | _B | _IND, 0),  # A = ICMP type
            *_dispatch([(0, "reply"), (43, "reply"), *entries], "drop"),
            ("label", "reply"),
            (_LD | _H | _IND, 4),  # A = echo id
            (jeq, ident, "accept", "drop"),
            *blocks,
            ("label", "error"),
            (_LD | _B | _IND, 8 + 9),  # A = quoted IP header's protocol
            (jeq, 1, None, "drop"),
            (_LD | _B | _IND, 8),  # A = quoted version/IHL byte
            (_ALU | _AND | _K, 0x0F),
            (_ALU | _LSH | _K, 2),
            (_ALU | _ADD | _X, 0),
            (_ALU | _ADD | _K, 8),
            (_MISC | _TAX, 0),  # X = offset of the quoted ICMP header
            (_LD | _B | _IND, 0),
            (jeq, 8, "quoted", None),
            (jeq, 42, "quoted", "drop"),
            ("label", "quoted"),
            (_LD | _B | _IND, 1),  # the quoted code must be 0
            (jeq, 0, None, "drop"),
            (_LD | _H | _IND, 4),
            (jeq, ident, "accept", "drop"),
            ("label", "accept"),
            (_RET | _K, _ACCEPT),
            ("label", "drop"),
            (_RET | _K, 0),
        ]
    )


def ident_program_v6(ident: int, errors: ErrorCodes | None = None) -> list[Insn]:
    """The ICMPv6 twin: replies 129/161, errors 1-4 quoting 128/0 or 160/0 (spec M4, M11)."""
    jeq = _JMP | _JEQ | _K
    entries, blocks = _error_codes(
        _ERRORS_V6 if errors is None else errors, (_LD | _B | _ABS, 1)
    )  # fmt: skip
    return _assemble(
        [
            (_LD | _B | _ABS, 0),
            *_dispatch([(129, "reply"), (161, "reply"), *entries], "drop"),
            ("label", "reply"),
            (_LD | _H | _ABS, 4),
            (jeq, ident, "accept", "drop"),
            *blocks,
            ("label", "error"),
            (_LD | _B | _ABS, 8 + 6),  # quoted IPv6 next header
            (jeq, 58, "plain", None),
            # A first fragment: icmpv6_notify() skips the Fragment header (spec M11).
            (jeq, 44, None, "drop"),
            (_LD | _B | _ABS, 8 + 40),  # the Fragment header's next header
            (jeq, 58, None, "drop"),
            (_LD | _H | _ABS, 8 + 42),  # fragment offset (13 bits) and flags
            (_ALU | _AND | _K, 0xFFF8),
            (jeq, 0, None, "drop"),
            (_LD | _B | _ABS, 8 + 48),  # quoted ICMPv6 type, after the Fragment header
            (jeq, 128, "fragment_quoted", None),
            (jeq, 160, "fragment_quoted", "drop"),
            ("label", "fragment_quoted"),
            (_LD | _B | _ABS, 8 + 48 + 1),
            (jeq, 0, None, "drop"),
            (_LD | _H | _ABS, 8 + 48 + 4),
            (jeq, ident, "accept", "drop"),
            ("label", "plain"),
            (_LD | _B | _ABS, 8 + 40),  # quoted ICMPv6 type
            (jeq, 128, "quoted", None),
            (jeq, 160, "quoted", "drop"),
            ("label", "quoted"),
            (_LD | _B | _ABS, 8 + 40 + 1),  # the quoted code must be 0
            (jeq, 0, None, "drop"),
            (_LD | _H | _ABS, 8 + 40 + 4),
            (jeq, ident, "accept", "drop"),
            ("label", "accept"),
            (_RET | _K, _ACCEPT),
            ("label", "drop"),
            (_RET | _K, 0),
        ]
    )


def attach_filter(sock: socket.socket, program: Sequence[Insn]) -> None:
    """``setsockopt(SO_ATTACH_FILTER)``; replaces any filter already attached."""
    code = b"".join(_INSN.pack(*insn) for insn in program)
    buffer = ctypes.create_string_buffer(code, len(code))
    # struct sock_fprog { unsigned short len; struct sock_filter *filter; } (native layout)
    fprog = struct.pack("@HP", len(program), ctypes.addressof(buffer))
    sock.setsockopt(linux.SOL_SOCKET, linux.SO_ATTACH_FILTER, fprog)
