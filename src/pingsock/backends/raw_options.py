"""The socket options of the raw backend (``backends.raw``).

:class:`RawOptions` is the option half of a raw-backed ping socket: what the emulation answers
itself instead of the raw socket, what it keeps on internally, and which options the routing
probes of ``backends.raw_kernel`` must copy.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import time
from collections.abc import Mapping

from pingsock import linux
from pingsock.backends.base import Address
from pingsock.emulation.ancillary import (
    IPV6_FLOWINFO,
    SO_TIMESTAMP_NEW,
    SO_TIMESTAMPING_NEW,
    SO_TIMESTAMPNS_NEW,
    Cmsg,
    timestamp_cmsg,
)
from pingsock.emulation.oserror import os_error
from pingsock.emulation.state import PingSocketState

__all__ = [
    "BIND_OPTIONS",
    "PROBE_PORT",
    "ROUTE_OPTIONS",
    "RawOptions",
    "apply_options",
    "as_int",
]

IPV6_RECVFLOWINFO = 11
IPV6_FLOWINFO_SEND = 33
_IP_MULTICAST_IF = 32
_IP_UNICAST_IF = 50
_IPV6_MULTICAST_IF = 17
_IPV6_UNICAST_IF = 76
_IPV6_FREEBIND = 78
_IP_ROUTER_ALERT = 5
_IP_NODEFRAG = 22
_IP_PROTOCOL = 52
_IPV6_HDRINCL = 36
_SO_LOCK_FILTER = 44
_SO_TIMESTAMPING_NEW_KEY = (linux.SOL_SOCKET, SO_TIMESTAMPING_NEW)
PROBE_PORT = 1025  # the port a UDP routing probe connects to (iputils' probe uses it too)

# Options the emulation answers itself rather than passing to the raw socket.
REFUSED_SET = {
    (linux.SOL_IP, linux.IP_HDRINCL): errno.ENOPROTOOPT,  # L9
    (linux.SOL_IP, _IP_ROUTER_ALERT): errno.EINVAL,  # L9: ip_ra_control() wants SOCK_RAW
    (linux.SOL_IP, _IP_NODEFRAG): errno.ENOPROTOOPT,  # L9: a raw socket's option
    (linux.SOL_IPV6, _IPV6_HDRINCL): errno.ENOPROTOOPT,  # M8
    (linux.SOL_RAW, linux.ICMP_FILTER): errno.ENOPROTOOPT,  # L9
    (linux.SOL_IPV6, linux.IPV6_CHECKSUM): errno.ENOPROTOOPT,  # M8
    (linux.SOL_ICMPV6, linux.ICMPV6_FILTER): errno.ENOPROTOOPT,  # M8
    (linux.SOL_SOCKET, linux.SO_ATTACH_FILTER): errno.EINVAL,  # our filter must stay
    (linux.SOL_SOCKET, linux.SO_DETACH_FILTER): errno.EINVAL,
}
REFUSED_GET = {
    (linux.SOL_RAW, linux.ICMP_FILTER): errno.EOPNOTSUPP,  # L9
    (linux.SOL_IPV6, linux.IPV6_CHECKSUM): errno.ENOPROTOOPT,
    (linux.SOL_IPV6, _IPV6_HDRINCL): errno.ENOPROTOOPT,  # M8
    (linux.SOL_ICMPV6, linux.ICMPV6_FILTER): errno.ENOPROTOOPT,
}
# Options that shape the route lookup of connect() (ip4_datagram_connect() and the v6 one):
# the UDP probe that answers connect() carries them too. IP_OPTIONS matters for a source
# route (the lookup goes to its first hop), IP_TOS and SO_MARK for policy routing.
ROUTE_OPTIONS = frozenset(
    {
        (linux.SOL_SOCKET, linux.SO_BROADCAST),
        (linux.SOL_SOCKET, linux.SO_BINDTODEVICE),
        (linux.SOL_SOCKET, linux.SO_DONTROUTE),
        (linux.SOL_SOCKET, linux.SO_MARK),
        (linux.SOL_IP, linux.IP_FREEBIND),
        (linux.SOL_IP, linux.IP_TRANSPARENT),
        (linux.SOL_IP, linux.IP_OPTIONS),
        (linux.SOL_IP, linux.IP_TOS),
        (linux.SOL_IP, _IP_MULTICAST_IF),
        (linux.SOL_IP, _IP_UNICAST_IF),
        (linux.SOL_IPV6, _IPV6_MULTICAST_IF),
        (linux.SOL_IPV6, _IPV6_UNICAST_IF),
        (linux.SOL_IPV6, _IPV6_FREEBIND),
    }
)
# The subset that decides whether bind() may use an address (C6, M6).
BIND_OPTIONS = frozenset(
    {
        (linux.SOL_SOCKET, linux.SO_BINDTODEVICE),
        (linux.SOL_IP, linux.IP_FREEBIND),
        (linux.SOL_IP, linux.IP_TRANSPARENT),
        (linux.SOL_IPV6, _IPV6_FREEBIND),
    }
)


# IPv6 receive options the backend keeps on for itself; the user's own setting only decides
# whether their cmsg is shown: option -> the cmsg it produces.
_INTERNAL_V6 = {
    linux.IPV6_RECVPKTINFO: linux.IPV6_PKTINFO,  # the destination, to honour a bound address
    IPV6_RECVFLOWINFO: IPV6_FLOWINFO,  # the flow information of replies (IPV6_FLOWINFO_SEND)
}
_FLOWINFO_MASK = 0x0FFFFFFF


class RawOptions:
    """The socket options of one raw-backed ping socket.

    Options go to the raw socket (which validates them with the kernel's own code and applies
    them to what it sends and receives) except: the refused ones, IP_RECVERR/IPV6_RECVERR (the
    emulation's error queue, in ``state``), the internal IPv6 receive options (their value is
    the user's, the raw socket keeps them on), and SOL_IP options of an IPv6 socket (M8).
    """

    def __init__(self, raw: socket.socket, family: int, state: PingSocketState) -> None:
        self._raw = raw
        self._state = state
        self.v6 = family == linux.AF_INET6
        self.family = family
        self.level = linux.SOL_IPV6 if self.v6 else linux.SOL_IP
        self.recverr_option = linux.IPV6_RECVERR if self.v6 else linux.IP_RECVERR
        # The options that decide what an arriving ICMP error does (J2-J4): the backend
        # processes what arrived before one of them changes, and re-filters after.
        self.state_options = frozenset(
            {(self.level, self.recverr_option)}
            | (set() if self.v6 else {(linux.SOL_IP, linux.IP_MTU_DISCOVER)})
        )
        self.route: dict[tuple[int, int], int | bytes] = {}  # what probes copy
        self.sndflow = False  # IPV6_FLOWINFO_SEND: addresses carry flow information (G2)
        self.lock_filter = False  # SO_LOCK_FILTER: the user's; the raw socket's filter stays free
        # SO_TIMESTAMPING asks for transmit stamps: the raw socket's error queue holds them.
        self.tx_stamps = False
        self.v6only = self.v6  # ping_init_sock() sets IPV6_V6ONLY (M1); the raw socket's is 0
        self._user_v6: dict[int, bool] = {}
        # raw_recv: reply destinations known to be (or not to be) broadcast -> (yes, until).
        self.broadcast_cache: dict[bytes, tuple[bool, float]] = {}
        self._shadow_socket: socket.socket | None = None
        if self.v6:
            for option in _INTERNAL_V6:
                raw.setsockopt(linux.SOL_IPV6, option, 1)
                self._user_v6[option] = False
        self.hidden_cmsgs = self._hidden()

    def close(self) -> None:
        if self._shadow_socket is not None:
            self._shadow_socket.close()

    def _hidden(self) -> frozenset[tuple[int, int]]:
        # The cmsgs of internal options the user did not enable: removed from what they see.
        return frozenset(
            (linux.SOL_IPV6, _INTERNAL_V6[option])
            for option, shown in self._user_v6.items()
            if not shown
        )

    def _shadow(self) -> socket.socket:
        # M8: a v6 ping socket hands SOL_IP to udp_prot.setsockopt(), a raw v6 socket refuses
        # it; a v6 UDP socket keeps those options exactly as the ping socket does.
        if self._shadow_socket is None:
            self._shadow_socket = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        return self._shadow_socket

    def set(self, level: int, option: int, value: int | bytes) -> None:
        key = (level, option)
        if key in REFUSED_SET:
            raise os_error(REFUSED_SET[key])
        if key == (self.level, self.recverr_option):
            self._state.set_recverr(as_int(value) != 0)
            return
        if self.v6 and level == linux.SOL_IP:
            self._shadow().setsockopt(level, option, value)
            return
        if key == (linux.SOL_SOCKET, _SO_LOCK_FILTER):
            # sock_setsockopt(): a locked filter cannot be unlocked (EPERM). Kept here: on the
            # raw socket it would lock the emulation's own filter (L9).
            if isinstance(value, bytes) and len(value) < 4:
                raise os_error(errno.EINVAL)
            locked = as_int(value) != 0
            if self.lock_filter and not locked:
                raise os_error(errno.EPERM)
            self.lock_filter = locked
            return
        if self.v6 and key == (linux.SOL_IPV6, linux.IPV6_V6ONLY):
            # do_ipv6_setsockopt(): EINVAL once bound (inet_num: the ident), or too short.
            if (isinstance(value, bytes) and len(value) < 4) or self._state.ident:
                raise os_error(errno.EINVAL)
            self.v6only = as_int(value) != 0
            return
        if level == linux.SOL_IPV6 and option in self._user_v6:
            self._raw.setsockopt(level, option, value)  # validates like the kernel
            self._raw.setsockopt(level, option, 1)  # ... and stays on internally
            self._user_v6[option] = as_int(value) != 0
            self.hidden_cmsgs = self._hidden()
            return
        self._raw.setsockopt(level, option, value)
        if key == (linux.SOL_SOCKET, linux.SO_REUSEADDR):
            self._state.reuseaddr = as_int(value) != 0
        elif key == (linux.SOL_IP, linux.IP_MTU_DISCOVER):
            self._state.pmtudisc = as_int(value)
        elif self.v6 and key == (linux.SOL_IPV6, IPV6_FLOWINFO_SEND):
            self.sndflow = as_int(value) != 0
        elif key in ((linux.SOL_SOCKET, linux.SO_TIMESTAMPING), _SO_TIMESTAMPING_NEW_KEY):
            self.tx_stamps = bool(as_int(value) & linux.SOF_TIMESTAMPING_TX_RECORD_MASK)
        if key in ROUTE_OPTIONS:
            self.route[key] = value

    def get(self, level: int, option: int, buflen: int) -> int | bytes:
        key = (level, option)
        if key in REFUSED_GET:
            raise os_error(REFUSED_GET[key])
        value: int | None = None
        target = self._raw
        if key == (linux.SOL_SOCKET, linux.SO_TYPE):
            value = socket.SOCK_DGRAM
        elif key == (linux.SOL_SOCKET, linux.SO_REUSEADDR):
            value = int(self._state.reuseaddr)
        elif self.v6 and key == (linux.SOL_IPV6, linux.IPV6_V6ONLY):
            value = int(self.v6only)
        elif key == (linux.SOL_SOCKET, _SO_LOCK_FILTER):
            value = int(self.lock_filter)
        elif key == (linux.SOL_IP, _IP_PROTOCOL):
            value = self._state.ident  # inet_num: the ident on a ping socket (L9)
        elif key == (self.level, self.recverr_option):
            value = int(self._state.recverr)
        elif level == linux.SOL_IPV6 and option in self._user_v6:
            value = int(self._user_v6[option])
        elif key in ((linux.SOL_IP, linux.IP_MTU), (linux.SOL_IPV6, linux.IPV6_MTU)):
            return self._path_mtu(buflen)
        elif self.v6 and level == linux.SOL_IP:
            target = self._shadow()
        if value is not None:
            return value.to_bytes(4, "little", signed=True)[:buflen] if buflen else value
        if buflen:
            return target.getsockopt(level, option, buflen)
        return target.getsockopt(level, option)

    def _path_mtu(self, buflen: int) -> int | bytes:
        if self._state.peer is None:
            raise os_error(errno.ENOTCONN)  # C1, K1
        with socket.socket(self.family, socket.SOCK_DGRAM) as probe:
            apply_options(probe, self.route, ROUTE_OPTIONS)
            host, port = self._state.peer
            probe.connect((host, port, 0, 0) if self.v6 else (host, port))
            option = linux.IPV6_MTU if self.v6 else linux.IP_MTU
            if buflen:
                return probe.getsockopt(self.level, option, buflen)
            return probe.getsockopt(self.level, option)

    def peer_flowinfo(self, address: Address) -> int:
        """The flow information a connect() to ``address`` stores (ip6_datagram_connect())."""
        if not self.v6 or not self.sndflow or len(address) < 3:
            return 0
        return int(address[2]) & _FLOWINFO_MASK

    def timestamp(self) -> Cmsg | None:
        """The timestamp cmsg of an entry stamped now, as ``__sock_recv_timestamp()`` writes it
        for an skb without a stamp (a locally generated error is stamped when first read)."""
        kind = timestamp_kind(self._raw)
        return None if kind is None else timestamp_cmsg(kind, time.time_ns())


def apply_options(
    probe: socket.socket,
    options: Mapping[tuple[int, int], int | bytes],
    wanted: frozenset[tuple[int, int]],
) -> None:
    """Copy the ``wanted`` options onto a probe socket.

    Best effort: an option the caller may no longer set (a source route or SO_MARK after it
    dropped CAP_NET_RAW) only changes the probe's route in corner cases, and the failure is
    the caller's to see on its own socket, not here.
    """
    for key, value in options.items():
        if key in wanted:
            with contextlib.suppress(OSError):
                probe.setsockopt(key[0], key[1], value)


def timestamp_kind(raw: socket.socket) -> int | None:
    """The timestamp cmsg type the socket's flags select in ``__sock_recv_timestamp()``, or None.

    SO_TIMESTAMPNS implies SO_TIMESTAMP, so the nanosecond kinds are asked first.
    """
    for kind in (linux.SO_TIMESTAMPNS, SO_TIMESTAMPNS_NEW, linux.SO_TIMESTAMP, SO_TIMESTAMP_NEW):
        if raw.getsockopt(linux.SOL_SOCKET, kind):
            return kind
    return None


def as_int(value: int | bytes) -> int:
    if isinstance(value, int):
        return value
    return int.from_bytes(value[:4].ljust(4, b"\0"), "little", signed=True) if value else 0
