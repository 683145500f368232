"""Path MTU discovery on the REAL kernel, both backends: the local EMSGSIZE of a send too big for
the link and its error-queue entry (spec F1-F3, K1, K2), the MTU learned from the router (J2,
M11), and the cmsgs an error-queue read carries. The differential style is described in
``contract_helpers``."""

from __future__ import annotations

import errno

import pytest
from contract_helpers import (
    FAMILY,
    V4,
    V6,
    attempt,
    nonblocking,
    on_client,
    per_family,
    read_error_queue,
    section,
    wait_for_news,
)
from test_contract import both, echo

from lab.topology import V4_UNREACHABLE, V6_UNREACHABLE
from pingsock import linux

pytestmark = pytest.mark.netns


# -- PMTU discovery: local EMSGSIZE and its error-queue entry -------------------------------


def recverr_option(family: int) -> int:
    return linux.IPV6_RECVERR if family == V6 else linux.IP_RECVERR


def mtu_option(family: int) -> int:
    return linux.IPV6_MTU_DISCOVER if family == V6 else linux.IP_MTU_DISCOVER


LOCAL_VARIANTS = ("plain", "connected", "timestamped", "no-recverr", "probe")


@pytest.mark.parametrize("variant", LOCAL_VARIANTS)
@pytest.mark.parametrize("fam", per_family("F", "M"))
def test_too_big_for_the_link_with_pmtudisc_do(fam: str, variant: str) -> None:
    family, server, level = FAMILY[fam]

    def scenario(backend: str) -> object:
        with on_client(backend, family) as (_lab, s):
            if variant != "no-recverr":
                s.setsockopt(level, recverr_option(family), 1)
            if variant == "timestamped":
                s.setsockopt(linux.SOL_SOCKET, linux.SO_TIMESTAMP, 1)
            mode = linux.IP_PMTUDISC_PROBE if variant == "probe" else linux.IP_PMTUDISC_DO
            s.setsockopt(level, mtu_option(family), mode)
            if variant == "connected":
                s.connect((server, 1234))
            sent = attempt(s.sendto, echo(family, 1, payload=bytes(1600)), (server, 0))
            queued = read_error_queue(s)
            return (
                sent,
                queued,
                s.getsockopt(linux.SOL_SOCKET, linux.SO_ERROR),
                nonblocking(s, s.recv, 2048),
            )

    sent, queued, so_error, after = both(scenario)  # type: ignore[misc]
    assert sent == ("error", "EMSGSIZE") and so_error == 0 and after == ("error", "EAGAIN")
    if variant == "no-recverr":
        assert queued == ("error", "EAGAIN")
        return
    length, before, error, flags, address = queued[1]
    # F2 / M12: LOCAL, EMSGSIZE, ee_info = the MTU (iputils: "local error: message too long,
    # mtu=1500"), no data, no offender; sk_err untouched.
    assert (length, error) == (0, (errno.EMSGSIZE, linux.SO_EE_ORIGIN_LOCAL, 0, 0, 1500, None))
    assert flags == linux.MSG_ERRQUEUE and address[0] == server
    assert before == (
        [(linux.SOL_SOCKET, linux.SCM_TIMESTAMP, 16)] if variant == "timestamped" else []
    )
    port = 1234 if variant == "connected" else 0
    assert address[1] == (0x8000 if family == V6 else port)  # v6: (type << 8) | code


@section("F")
@pytest.mark.parametrize(
    ("fam", "mode"),
    [("v4", linux.IP_PMTUDISC_DONT), ("v4", linux.IP_PMTUDISC_WANT),
     ("v6", linux.IP_PMTUDISC_DONT), ("v6", linux.IP_PMTUDISC_WANT)],
    ids=["v4-dont", "v4-want", "v6-dont", "v6-want"],
)  # fmt: skip
def test_too_big_for_the_link_is_fragmented_without_do(fam: str, mode: int) -> None:
    family, server, level = FAMILY[fam]

    def scenario(backend: str) -> object:
        with on_client(backend, family) as (_lab, s):
            s.setsockopt(level, recverr_option(family), 1)
            s.setsockopt(level, mtu_option(family), mode)
            sent = attempt(s.sendto, echo(family, 1, payload=bytes(1600)), (server, 0))
            return sent, len(s.recv(4096)), read_error_queue(s)

    assert both(scenario) == (("ok", 1608), 1608, ("error", "EAGAIN"))  # F3


@section("K")
@pytest.mark.parametrize(
    ("fam", "mode"),
    [("v4", linux.IP_PMTUDISC_DO), ("v4", linux.IP_PMTUDISC_WANT),
     ("v4", linux.IP_PMTUDISC_PROBE), ("v6", linux.IP_PMTUDISC_DO),
     ("v6", linux.IP_PMTUDISC_WANT)],
    ids=["v4-do", "v4-want", "v4-probe", "v6-do", "v6-want"],
)  # fmt: skip
def test_path_mtu_learned_from_the_router(fam: str, mode: int) -> None:
    family, server, level = FAMILY[fam]

    def scenario(backend: str) -> object:
        rounds = []
        with on_client(backend, family) as (lab, s):
            lab.set_server_link_mtu(1280)
            s.setsockopt(level, recverr_option(family), 1)
            s.setsockopt(level, mtu_option(family), mode)
            for seq in range(1, 4):
                sent = attempt(s.sendto, echo(family, seq, payload=bytes(1400)), (server, 0))
                if sent[0] == "ok":
                    wait_for_news(s)
                queued = read_error_queue(s)
                reply = nonblocking(s, lambda: len(s.recv(4096)))
                rounds.append((sent, queued, reply))
        return rounds

    rounds = both(scenario)
    first_error = rounds[0][1][1][2]  # type: ignore[index]
    assert first_error[:5] == (
        (errno.EMSGSIZE, linux.SO_EE_ORIGIN_ICMP, 3, 4, 1280)  # J2: frag needed, the MTU
        if family == V4
        else (errno.EMSGSIZE, linux.SO_EE_ORIGIN_ICMP6, 2, 0, 1280)  # M11: packet too big
    )
    later = rounds[1]  # type: ignore[index]
    if mode == linux.IP_PMTUDISC_DO:  # K2: the learned PMTU refuses the send locally
        assert later[0] == ("error", "EMSGSIZE") and later[1][1][2][:5] == (
            errno.EMSGSIZE, linux.SO_EE_ORIGIN_LOCAL, 0, 0, 1280)  # fmt: skip
    elif mode == linux.IP_PMTUDISC_WANT:  # fragmented, answered
        assert later == (("ok", 1408), ("error", "EAGAIN"), ("ok", 1408))
    else:  # PROBE ignores the PMTU: the router objects every time
        assert later[0] == ("ok", 1408) and later[1][1][2][:4] == (
            errno.EMSGSIZE, linux.SO_EE_ORIGIN_ICMP, 3, 4)  # fmt: skip


# -- What an error-queue read carries -------------------------------------------------------


@pytest.mark.parametrize("fam", per_family("J", "M"))
def test_error_queue_carries_the_error_packets_cmsgs(fam: str) -> None:
    family, _server, level = FAMILY[fam]
    if family == V4:
        target, wanted = V4_UNREACHABLE, (linux.IP_PKTINFO, linux.IP_RECVTTL, linux.IP_RECVTOS)
    else:
        target = V6_UNREACHABLE
        wanted = (linux.IPV6_RECVPKTINFO, linux.IPV6_RECVHOPLIMIT, linux.IPV6_RECVTCLASS)

    def scenario(backend: str) -> object:
        with on_client(backend, family) as (_lab, s):
            s.setsockopt(level, recverr_option(family), 1)
            s.setsockopt(linux.SOL_SOCKET, linux.SO_TIMESTAMPNS, 1)
            for option in wanted:
                s.setsockopt(level, option, 1)
            s.sendto(echo(family, 1), (target, 0))
            wait_for_news(s)
            return read_error_queue(s)

    status, (length, before, _error, _flags, _address) = both(scenario)  # type: ignore[misc]
    # ip_recv_error() / ipv6_recv_error(): timestamp, the error packet's cmsgs, IP_RECVERR.
    assert status == "ok" and length == 16 and len(before) == 4
    assert before[0] == (linux.SOL_SOCKET, linux.SCM_TIMESTAMPNS, 16)
