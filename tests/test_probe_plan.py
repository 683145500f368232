"""The socket options the ping drivers ask for, in iputils' setup() order (spec L11)."""

from __future__ import annotations

import socket

from pingsock import linux
from pingsock.probe_plan import socket_options


def test_iputils_order_and_what_a_count_only_run_leaves_out() -> None:
    assert socket_options(socket.AF_INET, ttl=5, tos=0x10, timestamps=True) == [
        (linux.SOL_IP, linux.IP_RECVERR, 1),
        (linux.SOL_IP, linux.IP_RECVTTL, 1),
        (linux.SOL_SOCKET, linux.SO_TIMESTAMPNS, 1),
        (linux.SOL_IP, linux.IP_TTL, 5),
        (linux.SOL_IP, linux.IP_TOS, 0x10),
    ]
    # -U reads the clock after recvmsg: no kernel stamp. A run that shows no reply (-q)
    # needs no TTL cmsg either.
    assert socket_options(
        socket.AF_INET6, ttl=None, tos=None, timestamps=False, reply_ttl=False
    ) == [(linux.SOL_IPV6, linux.IPV6_RECVERR, 1)]
