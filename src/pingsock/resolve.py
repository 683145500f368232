"""Turning a target into an address, and addresses back into names, as iputils does.

``ping4_run``/``ping6_run``: a numeric target is used as typed and forces numeric output; a
name goes through getaddrinfo with AI_CANONNAME and its canonical name heads the output.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from pingsock.errors import ResolveError

__all__ = ["Target", "reverse_name", "resolve"]


@dataclass(frozen=True, slots=True)
class Target:
    """A resolved target: what was typed, the address, and how to show it."""

    given: str
    family: int
    address: str  # numeric text (IPv6 with %scope if one was given)
    scope_id: int
    canonical: str  # the name the header shows (the literal itself for numeric targets)
    numeric: bool  # the target was an address literal

    @property
    def sockaddr(self) -> tuple[str, int] | tuple[str, int, int, int]:
        if self.family == socket.AF_INET6:
            return (self.address.split("%", 1)[0], 0, 0, self.scope_id)
        return (self.address, 0)


def _literal(host: str, family: int) -> Target | None:
    for candidate in (socket.AF_INET, socket.AF_INET6):
        if family not in (socket.AF_UNSPEC, candidate):
            continue
        bare, _, scope = host.partition("%")
        try:
            socket.inet_pton(candidate, bare)
        except OSError:
            continue
        if candidate == socket.AF_INET and not _is_dotted_quad(bare):
            continue
        scope_id = 0
        if scope:
            scope_id = int(scope) if scope.isdigit() else socket.if_nametoindex(scope)
        return Target(host, candidate, host, scope_id, host, True)
    return None


def _is_dotted_quad(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() for p in parts)


def resolve(host: str, family: int = socket.AF_UNSPEC) -> Target:
    """Resolve ``host`` for ``family`` (AF_UNSPEC: the first address getaddrinfo gives).

    Raises ``ResolveError`` carrying getaddrinfo's message (``Name or service not known``).
    """
    try:
        literal = _literal(host, family)
    except OSError as exc:  # an unknown interface name after %
        raise ResolveError(f"{host}: {exc.strerror or exc}") from None
    if literal is not None:
        return literal
    if family == socket.AF_UNSPEC:
        other = None
    else:
        other = socket.AF_INET6 if family == socket.AF_INET else socket.AF_INET
        if other is not None and _literal(host, other) is not None:
            raise ResolveError(f"{host}: Address family for hostname not supported")
    try:
        # main(): always a dual-stack lookup (a scope id is lost otherwise, iputils #252);
        # an answer only in the other family is EAI_ADDRFAMILY.
        infos = socket.getaddrinfo(
            host, None, socket.AF_UNSPEC, socket.SOCK_DGRAM, 0, socket.AI_CANONNAME
        )
    except socket.gaierror as exc:
        raise ResolveError(f"{host}: {exc.strerror}") from None
    except UnicodeError:
        # Python's IDNA codec refuses what glibc would look up and not find ("a..b").
        raise ResolveError(f"{host}: Name or service not known") from None
    for info_family, _type, _proto, canonical, sockaddr in infos:
        if family not in (socket.AF_UNSPEC, info_family):
            continue
        if info_family in (socket.AF_INET, socket.AF_INET6):
            # Only the first answer carries the canonical name: Debian's `ping -4 localhost`
            # (::1 first) prints an empty one, and so does this.
            scope = int(sockaddr[3]) if len(sockaddr) == 4 else 0
            return Target(host, info_family, str(sockaddr[0]), scope, canonical or "", False)
    raise ResolveError(f"{host}: Address family for hostname not supported")


def reverse_name(address: str) -> str | None:
    """The PTR name of ``address``, or None when there is none."""
    try:
        host, _ = socket.getnameinfo((address.split("%", 1)[0], 0), socket.NI_NAMEREQD)
    except OSError:
        return None
    return host
