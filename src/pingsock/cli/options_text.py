"""IPv4 option blocks after an echo reply: iputils ``pr_options`` (spec section 3.4).

Pure formatting of the IP options area (record route, timestamps, loose and strict source
routes) as ``ping4_parse_reply`` prints it after a reply line. Addresses go through a
caller-supplied display function (the :func:`pingsock.cli.render.pr_addr` form), so this
module does no I/O. :mod:`pingsock.cli.render` re-exports :class:`OptionsPrinter`.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["OptionsPrinter"]


def _ipv4(raw: bytes) -> str:
    return ".".join(str(b) for b in raw)


def _identity(address: str) -> str:
    return address


_IPOPT_EOL, _IPOPT_NOP, _IPOPT_RR, _IPOPT_TS, _IPOPT_LSRR, _IPOPT_SSRR = 0, 1, 7, 68, 131, 137
_IPOPT_MINOFF = 4
_IPOPT_TS_TSONLY = 0


class OptionsPrinter:
    """``pr_options``: IPv4 option blocks after a reply line (spec section 3.4).

    Stateful like iputils (a static buffer): a record route equal to the previous one
    prints only ``\\t(same route)``. Use one instance per run. iputils skips option blocks
    in flood mode, so the caller does not call it then.
    """

    __slots__ = ("_old_rr",)

    def __init__(self) -> None:
        self._old_rr = b""

    def render(self, options: bytes, display: Callable[[str], str] | None = None) -> str:
        """The block for the IP options area ``options`` (from the header or IP_RETOPTS).

        ``display`` maps a dotted address to its :func:`pingsock.cli.render.pr_addr` form.
        """
        show = display or _identity
        # pr_options may read a few bytes past a short option; read zeros there.
        buf = bytes(options) + bytes(64)
        out: list[str] = []
        totlen = len(options)
        pos = 0
        while totlen > 0:
            kind = buf[pos]
            if kind == _IPOPT_EOL:
                break
            if kind == _IPOPT_NOP:
                totlen -= 1
                pos += 1
                out.append("\nNOP")
                continue
            olen = buf[pos + 1]
            if olen < 2 or olen > totlen:
                break
            if kind in (_IPOPT_LSRR, _IPOPT_SSRR):
                out.append(self._source_route(buf, pos, show))
            elif kind == _IPOPT_RR:
                out.append(self._record_route(buf, pos, show))
            elif kind == _IPOPT_TS:
                out.append(_timestamps(buf, pos, show))
            else:
                out.append(f"\nunknown option {kind:x}")
            totlen -= olen
            pos += olen
        return "".join(out)

    @staticmethod
    def _source_route(buf: bytes, pos: int, show: Callable[[str], str]) -> str:
        out = [f"\n{'S' if buf[pos] == _IPOPT_SSRR else 'L'}SRR: "]
        length = buf[pos + 1]
        cp = pos + 2  # iputils starts at the pointer byte here, one byte early; kept as is
        if length > _IPOPT_MINOFF:
            while True:
                out.append(_route_entry(buf[cp : cp + 4], show))
                cp += 4
                length -= 4
                out.append("\n")
                if length <= _IPOPT_MINOFF:
                    break
        return "".join(out)

    def _record_route(self, buf: bytes, pos: int, show: Callable[[str], str]) -> str:
        length, pointer = buf[pos + 1], buf[pos + 2]
        used = min(pointer, length) - _IPOPT_MINOFF
        if used <= 0:
            return ""
        # iputils compares `used` bytes starting at the pointer byte (so the last byte of the
        # route is not compared) and never reports "same route" in flood mode.
        current = buf[pos + 2 : pos + 2 + used]
        if current == self._old_rr:
            return "\t(same route)"
        self._old_rr = current
        out = ["\nRR: "]
        cp = pos + 3
        while True:
            out.append(_route_entry(buf[cp : cp + 4], show))
            cp += 4
            used -= 4
            out.append("\n")
            if used <= 0:
                break
        return "".join(out)


def _route_entry(raw: bytes, show: Callable[[str], str]) -> str:
    return "\t0.0.0.0" if not any(raw) else f"\t{show(_ipv4(raw))}"


def _timestamps(buf: bytes, pos: int, show: Callable[[str], str]) -> str:
    length, pointer = buf[pos + 1], buf[pos + 2]
    left = min(pointer, length) - 5
    if left <= 0:
        return ""
    flags = buf[pos + 3]
    out = ["\nTS: "]
    cp = pos + 4
    stdtime = nonstdtime = 0
    while True:
        if flags & 0xF != _IPOPT_TS_TSONLY:
            out.append(_route_entry(buf[cp : cp + 4], show))
            cp += 4
            left -= 4
            if left <= 0:
                break
        stamp = int.from_bytes(buf[cp : cp + 4], "big")
        cp += 4
        if stamp & 0x80000000:
            # High bit: not milliseconds since midnight UTC (RFC 791).
            value = stamp & 0x7FFFFFFF
            if nonstdtime == 0:
                out.append(f"\t{value} absolute not-standard")
            else:
                out.append(f"\t{value - nonstdtime} not-standard")
            nonstdtime = value
        else:
            # The first standard stamp is absolute, later ones are deltas to the previous.
            out.append(f"\t{stamp} absolute" if stdtime == 0 else f"\t{stamp - stdtime}")
            stdtime = stamp
        left -= 4
        out.append("\n")
        if left <= 0:
            break
    if flags >> 4:
        out.append(f"Unrecorded hops: {flags >> 4}\n")
    return "".join(out)
