"""Which backend serves whom (spec section A): as users meet it, via setpriv."""

from __future__ import annotations

import json

import pytest

from lab.netns import Netns
from lab.users import NOBODY, User, python_as

pytestmark = pytest.mark.netns

OPEN_BOTH = """
import errno, json, socket, pingsock
out = {}
for name, family in (("v4", socket.AF_INET), ("v6", socket.AF_INET6)):
    try:
        with pingsock.socket(family) as s:
            out[name] = s.backend
    except pingsock.PingPermissionError as exc:
        out[name] = ["denied", exc.errno, isinstance(exc, PermissionError), str(exc)]
print(json.dumps(out))
"""


def backends_for(ns: Netns, user: User) -> dict[str, object]:
    result = python_as(ns, user, OPEN_BOTH, timeout=20)
    assert result.returncode == 0, result.stderr
    decoded: dict[str, object] = json.loads(result.stdout)
    return decoded


def test_unprivileged_user_inside_the_range_gets_the_kernel_socket(netns: Netns) -> None:
    netns.set_ping_group_range(65534, 65534)
    assert backends_for(netns, NOBODY) == {"v4": "kernel", "v6": "kernel"}


def test_a_supplementary_group_is_enough(netns: Netns) -> None:
    netns.set_ping_group_range(150, 150)
    assert backends_for(netns, User(65534, 65534, groups=(150,))) == {
        "v4": "kernel",
        "v6": "kernel",
    }


def test_root_outside_the_range_falls_back_to_raw(netns: Netns) -> None:
    assert netns.read_sysctl("net.ipv4.ping_group_range").split() == ["1", "0"]
    assert backends_for(netns, User(0, 0, ambient_caps=("net_raw",))) == {"v4": "raw", "v6": "raw"}


def test_cap_net_raw_alone_gives_the_raw_backend(netns: Netns) -> None:
    user = User(65534, 65534, ambient_caps=("net_raw",))
    assert backends_for(netns, user) == {"v4": "raw", "v6": "raw"}


def test_nobody_outside_the_range_is_told_why_and_how(netns: Netns) -> None:
    netns.set_ping_group_range(100, 200)
    got = backends_for(netns, NOBODY)
    for family in ("v4", "v6"):
        denied, code, is_permission_error, message = got[family]  # type: ignore[misc]
        assert (denied, code, is_permission_error) == ("denied", 13, True)
        assert "effective gid 65534" in message
        assert '"100 200"' in message
        assert 'sysctl -w net.ipv4.ping_group_range="100 65534"' in message
        assert "CAP_NET_RAW" in message


def test_an_empty_range_suggests_the_callers_own_gid(netns: Netns) -> None:
    got = backends_for(netns, NOBODY)
    message = got["v4"][3]  # type: ignore[index]
    assert '"1 0"' in message and "allows no group at all" in message
    assert 'sysctl -w net.ipv4.ping_group_range="65534 65534"' in message
