"""The pure parts of the socket set-up: the IP options ping4_run builds, the -v socket line."""

from __future__ import annotations

from pingsock.cli.args import parse_ping_args
from pingsock.cli.ping4_setup import ip_options as _ip_options
from pingsock.cli.session import socket_line


def options(*argv: str) -> bytes:
    args = parse_ping_args([*argv, "203.0.113.1"], privileged=True)
    return _ip_options(args, list(args.hops))


def test_record_route_is_a_nop_then_39_bytes_with_room_for_9_hops() -> None:
    area = options("-R")
    assert area[:4] == bytes([1, 7, 39, 4])
    assert len(area) == 40
    assert area[4:] == bytes(36)


def test_timestamp_kinds() -> None:
    assert options("-T", "tsonly")[:4] == bytes([68, 40, 5, 0])
    assert len(options("-T", "tsonly")) == 40
    assert options("-T", "tsandaddr")[:4] == bytes([68, 36, 5, 1])
    assert len(options("-T", "tsandaddr")) == 36
    prespec = options("-T", "tsprespec", "198.51.100.254")
    # One prespecified hop: its address, then room for its stamp.
    assert prespec == bytes([68, 12, 5, 3, 198, 51, 100, 254, 0, 0, 0, 0])


def test_hops_make_a_loose_source_route_or_a_strict_one_with_r() -> None:
    assert options("198.51.100.254") == bytes([1, 131, 7, 4, 198, 51, 100, 254])
    assert options("-r", "198.51.100.254")[1] == 137


def test_no_options_without_r_t_or_hops() -> None:
    assert options() == b""


class _Fake:
    def __init__(self, fd: int, backend: str) -> None:
        self._fd = fd
        self.backend = backend

    def fileno(self) -> int:
        return self._fd


def test_socket_line_names_both_sockets_and_the_hint() -> None:
    line = socket_line(_Fake(3, "kernel"), _Fake(4, "kernel"), 0)  # type: ignore[arg-type]
    assert line == (
        "sock4.fd: 3 (socktype: SOCK_DGRAM), sock6.fd: 4 (socktype: SOCK_DGRAM), "
        "hints.ai_family: AF_UNSPEC"
    )
    line = socket_line(_Fake(3, "raw"), None, 4)  # type: ignore[arg-type]
    assert line == (
        "sock4.fd: 3 (socktype: SOCK_RAW), sock6.fd: -1 (socktype: 0), hints.ai_family: AF_INET"
    )
