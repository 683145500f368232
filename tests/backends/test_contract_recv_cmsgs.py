"""Receive cmsgs on the REAL kernel, both backends: the four kinds of reply timestamp, and the
IP-level cmsgs of a reply, in the ping socket's order and with its quirks (spec I1, M10). The
differential style is described in ``contract_helpers``."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable

import pytest
from contract_helpers import (
    FAMILY,
    IP,
    IP6,
    SO_TIMESTAMP_NEW,
    SO_TIMESTAMPNS_NEW,
    SOL,
    V4,
    V6,
    comparable,
    on_client,
    per_family,
    v4,
)
from test_contract import both, echo, open_in

from lab.netns import Netns
from lab.topology import CLIENT_V4
from pingsock import linux

pytestmark = pytest.mark.netns

SO_RCVMARK, IP_RECVORIGDSTADDR, IPV6_RECVORIGDSTADDR = 75, 20, 74

TIMESTAMPS = {
    "so_timestamp": (linux.SO_TIMESTAMP, 1000),  # SCM_TIMESTAMP: a timeval (iputils)
    "so_timestampns": (linux.SO_TIMESTAMPNS, 1),
    "so_timestamp_new": (SO_TIMESTAMP_NEW, 1000),
    "so_timestampns_new": (SO_TIMESTAMPNS_NEW, 1),
}
LOOPBACK = {"v4": (V4, "127.0.0.1"), "v6": (V6, "::1")}


@pytest.mark.parametrize("kind", TIMESTAMPS)
@pytest.mark.parametrize("fam", per_family("I", "M"))
def test_reply_timestamps(fam: str, kind: str, netns_factory: Callable[[str], Netns]) -> None:
    family, target = LOOPBACK[fam]
    option, unit = TIMESTAMPS[kind]

    def scenario(backend: str) -> object:
        ns = netns_factory("stamp")
        with ns.entered(), open_in(ns, backend, family) as s:
            s.setsockopt(linux.SOL_SOCKET, option, 1)
            before = time.time_ns()
            s.sendto(echo(family, 1), (target, 0))
            _data, anc, _flags, _source = s.recvmsg(2048, 256)
            after = time.time_ns()
            ((level, cmsg, payload),) = anc
            seconds, fraction = struct.unpack("=qq", payload)
            stamp = seconds * 1_000_000_000 + fraction * unit
            assert before - unit <= stamp <= after, (before, stamp, after)
            return level, cmsg, len(payload)

    assert both(scenario) == (linux.SOL_SOCKET, option, 16)


@pytest.mark.parametrize("fam", per_family("I", "M"))
def test_reply_cmsgs_of_the_ping_socket(fam: str) -> None:
    family, server, level = FAMILY[fam]
    if family == V4:
        wanted = [(IP, linux.IP_PKTINFO), (IP, linux.IP_RECVTTL), (IP, linux.IP_RECVTOS),
                  (IP, IP_RECVORIGDSTADDR), (SOL, SO_RCVMARK), (SOL, 29)]  # fmt: skip
        origdst = IP_RECVORIGDSTADDR
    else:
        wanted = [(IP6, linux.IPV6_RECVHOPLIMIT), (IP6, linux.IPV6_RECVTCLASS),
                  (IP6, IPV6_RECVORIGDSTADDR), (SOL, SO_RCVMARK)]  # fmt: skip
        origdst = IPV6_RECVORIGDSTADDR

    def scenario(backend: str) -> object:
        with on_client(backend, family) as (_lab, s):
            for option in wanted:
                s.setsockopt(*option, 1)
            s.sendto(echo(family, 1), (server, 0))
            data, anc, _flags, _source = s.recvmsg(2048, 1024)
            shown = []
            for cmsg_level, kind, payload in anc:
                if (cmsg_level, kind) == (level, origdst):
                    # Quirk I1: the "port" is the first two bytes after the type and code of
                    # the reply: its checksum, which depends on the ident.
                    assert payload[2:4] == data[2:4]
                    payload = payload[:2] + payload[4:]  # noqa: PLW2901
                shown.append((cmsg_level, kind, payload))
            return comparable(shown)

    anc = both(scenario)
    kinds = [(cmsg_level, kind) for cmsg_level, kind, _ in anc]  # type: ignore[attr-defined]
    if family == V4:
        # I1: timestamp first; ipi_spec_dst is 0; no SO_MARK cmsg (ping_recvmsg() writes only
        # the timestamp at SOL_SOCKET).
        assert kinds == [(SOL, 29), (IP, 8), (IP, 2), (IP, 1), (IP, IP_RECVORIGDSTADDR)]
        assert anc[1][2] == (struct.pack("=i", 2) + bytes(4) + v4(CLIENT_V4)).hex()  # type: ignore[index]
    else:
        # M10: the v6 receive cmsgs; the backend's own IPV6_PKTINFO and IPV6_FLOWINFO stay hidden.
        assert kinds == [(IP6, linux.IPV6_HOPLIMIT), (IP6, linux.IPV6_TCLASS),
                         (IP6, IPV6_RECVORIGDSTADDR)]  # fmt: skip
