"""Capture real ICMP and ICMPv6 packets for tests/wire/vectors.py (run by hand, as root).

    python tests/wire/capture.py > /tmp/captured.txt

Builds three throwaway network namespaces, client -- router -- server, with a 1280-byte
MTU on the router's server-side link, and routes on the router that reject or redirect. The
client sends echoes through kernel ping sockets, plus a few hand-made packets through raw
sockets, and records every ICMP/ICMPv6 frame on its link with an AF_PACKET socket. Output
lines are ``name<TAB>spaced hex of the IP datagram``. Nothing leaves these namespaces; only
sysctls inside them are changed; they are always deleted at the end.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import time

PREFIX = f"wtest{os.getpid()}"
CLIENT, ROUTER, SERVER = f"{PREFIX}c", f"{PREFIX}r", f"{PREFIX}s"

SETUP = [
    f"ip netns add {CLIENT}",
    f"ip netns add {ROUTER}",
    f"ip netns add {SERVER}",
    f"ip link add cr0 netns {CLIENT} type veth peer name rc0 netns {ROUTER}",
    f"ip link add rs0 netns {ROUTER} type veth peer name sr0 netns {SERVER}",
    f"ip -n {ROUTER} link set rs0 mtu 1280",
    f"ip -n {SERVER} link set sr0 mtu 1280",
    f"ip -n {CLIENT} link set cr0 address 02:00:00:00:00:01",
    f"ip -n {ROUTER} link set rc0 address 02:00:00:00:00:02",
    f"ip -n {CLIENT} addr add 10.1.0.1/24 dev cr0",
    f"ip -n {ROUTER} addr add 10.1.0.2/24 dev rc0",
    f"ip -n {ROUTER} addr add 10.2.0.1/24 dev rs0",
    f"ip -n {SERVER} addr add 10.2.0.2/24 dev sr0",
    f"ip -n {CLIENT} addr add fd00:1::1/64 dev cr0 nodad",
    f"ip -n {ROUTER} addr add fd00:1::2/64 dev rc0 nodad",
    f"ip -n {ROUTER} addr add fd00:2::1/64 dev rs0 nodad",
    f"ip -n {SERVER} addr add fd00:2::2/64 dev sr0 nodad",
    *(f"ip -n {ns} link set lo up" for ns in (CLIENT, ROUTER, SERVER)),
    f"ip -n {CLIENT} link set cr0 up",
    f"ip -n {ROUTER} link set rc0 up",
    f"ip -n {ROUTER} link set rs0 up",
    f"ip -n {SERVER} link set sr0 up",
    f"ip -n {CLIENT} route add default via 10.1.0.2",
    f"ip -n {CLIENT} -6 route add default via fd00:1::2",
    f"ip -n {SERVER} route add default via 10.2.0.1",
    f"ip -n {SERVER} -6 route add default via fd00:2::1",
    f"ip -n {ROUTER} route add unreachable 10.9.0.0/24",
    f"ip -n {ROUTER} route add prohibit 10.8.0.0/24",
    f"ip -n {ROUTER} route add 10.7.0.0/24 via 10.1.0.9 dev rc0",
    f"ip -n {ROUTER} -6 route add unreachable fd00:9::/64",
    f"ip -n {ROUTER} -6 route add prohibit fd00:8::/64",
    f"ip netns exec {CLIENT} sysctl -qw net.ipv4.ping_group_range='0 0'",
    f"ip netns exec {ROUTER} sysctl -qw net.ipv4.ip_forward=1",
    f"ip netns exec {ROUTER} sysctl -qw net.ipv6.conf.all.forwarding=1",
    f"ip netns exec {ROUTER} sysctl -qw net.ipv4.icmp_ratelimit=0",
    f"ip netns exec {ROUTER} sysctl -qw net.ipv6.icmp.ratelimit=0",
    f"ip netns exec {ROUTER} sysctl -qw net.ipv4.icmp_echo_enable_probe=1",
]


def main() -> None:
    try:
        for command in SETUP:
            subprocess.run(command, shell=True, check=True)
        time.sleep(0.5)
        subprocess.run(
            ["ip", "netns", "exec", CLIENT, sys.executable, __file__, "--inside"], check=True
        )
    finally:
        for ns in (CLIENT, ROUTER, SERVER):
            subprocess.run(["ip", "netns", "del", ns], check=False, stderr=subprocess.DEVNULL)


def ping4(payload: bytes, dst: str, *, ttl: int = 64, df: bool = False, opts: bytes = b"",
          kind: int = 8) -> None:  # fmt: skip
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP) as sock:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
        if df:
            sock.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO
        if opts:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, opts)
        header = struct.pack("!BBHHH", kind, 0, 0, 0, 0x77)
        try:
            sock.sendto(header + payload, (dst, 0))
        except OSError as exc:
            print(f"# send to {dst}: {exc}", file=sys.stderr)
        time.sleep(0.3)


def ping6(payload: bytes, dst: str, *, hops: int = 64, kind: int = 128) -> None:
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6) as sock:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, hops)
        header = struct.pack("!BBHHH", kind, 0, 0, 0, 0x66)
        sock.sendto(header + payload, (dst, 0))
        time.sleep(0.3)


def probe_object(class_num: int, c_type: int, payload: bytes) -> bytes:
    obj = struct.pack("!HBB", 4 + len(payload), class_num, c_type) + payload
    return struct.pack("!HH", 0x2000, 0) + obj  # checksum left 0: "not computed"


def ext_echo4(payload: bytes, dst: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP) as sock:
        sock.sendto(struct.pack("!BBHHBB", 42, 0, 0, 0, 9, 1) + payload, (dst, 0))
        time.sleep(0.3)


def ext_echo6(payload: bytes, dst: str) -> None:
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6) as sock:
        sock.sendto(struct.pack("!BBHHBB", 160, 0, 0, 0, 10, 1) + payload, (dst, 0))
        time.sleep(0.3)


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def raw4(ip_options: bytes, icmp: bytes, dst: str) -> None:
    """An IPv4 datagram built by hand (IP_HDRINCL), for cases no socket option produces."""
    ihl = 5 + len(ip_options) // 4
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(icmp), 0x4242, 0, 64, 1, 0,
        socket.inet_aton("10.1.0.1"), socket.inet_aton(dst),
    ) + ip_options  # fmt: skip
    header = header[:10] + struct.pack("!H", csum(header)) + header[12:]
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as sock:
        sock.sendto(header + icmp, (dst, 0))
        time.sleep(0.3)


def icmp4(kind: int, rest: bytes) -> bytes:
    body = struct.pack("!BBH", kind, 0, 0) + rest
    return body[:2] + struct.pack("!H", csum(body)) + body[4:]


def raw6_hop_by_hop(dst: str) -> None:
    """IPv6 with a Hop-by-Hop option of unknown type 0x80 ("discard, send Parameter
    Problem code 2", RFC 8200 4.2), carrying an echo request."""
    src_b, dst_b = (
        socket.inet_pton(socket.AF_INET6, "fd00:1::1"),
        socket.inet_pton(socket.AF_INET6, dst),
    )
    echo = struct.pack("!BBHHH", 128, 0, 0, 0x55, 1) + b"hbh"
    pseudo = src_b + dst_b + struct.pack("!I3xB", len(echo), 58)
    echo = echo[:2] + struct.pack("!H", csum(pseudo + echo)) + echo[4:]
    hop = struct.pack("!BB", 58, 0) + bytes([0x80, 4, 0, 0, 0, 0])
    first = struct.pack("!IHBB", 6 << 28, len(hop) + len(echo), 0, 64)
    with socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW) as sock:
        sock.sendto(first + src_b + dst_b + hop + echo, (dst, 0))
        time.sleep(0.3)


def inside() -> None:
    capture = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    capture.bind(("cr0", 0))
    capture.setblocking(False)
    frames: list[tuple[str, bytes]] = []

    def drain(label: str) -> None:
        time.sleep(0.2)
        while True:
            try:
                frame, address = capture.recvfrom(65535)
            except BlockingIOError:
                return
            ethertype = struct.unpack("!H", frame[12:14])[0]
            ip = frame[14:]
            if (ethertype == 0x0800 and ip[9] == 1) or (ethertype == 0x86DD and ip[6] == 58):
                direction = "out" if address[2] == socket.PACKET_OUTGOING else "in"
                frames.append((f"{label}/{direction}", ip))

    ping4(b"pingsock-wire!!!", "10.1.0.2")
    drain("echo4")
    ping4(b"ttl", "10.2.0.2", ttl=1)
    drain("time-exceeded4")
    ping4(b"x" * 1400, "10.2.0.2", df=True)
    drain("frag-needed4")
    ping4(b"unreach", "10.9.0.1")
    drain("host-unreachable4")
    time.sleep(1.1)
    ping4(b"prohibit", "10.8.0.1")
    drain("admin-prohibited4")
    ping4(b"redirect", "10.7.0.1")
    drain("redirect4")
    ping4(b"rr", "10.1.0.2", opts=bytes([7, 39, 4]) + bytes(37))
    drain("record-route4")
    ping4(b"ts", "10.1.0.2", opts=bytes([68, 40, 5, 0]) + bytes(36))
    drain("timestamp-only4")
    ping4(b"tsa", "10.1.0.2", opts=bytes([68, 36, 5, 1]) + bytes(32))
    drain("timestamp-addr4")
    raw4(b"", icmp4(13, struct.pack("!HHIII", 0x1313, 1, 12345678, 0, 0)), "10.1.0.2")
    drain("timestamp-msg4")
    raw4(bytes([7, 7, 2, 0, 0, 0, 0, 0]), icmp4(8, struct.pack("!HH", 0x12, 1)), "10.1.0.2")
    drain("param-problem4")
    ext_echo4(probe_object(3, 1, b"lo\0\0"), "10.1.0.2")
    drain("probe-name4")
    ext_echo4(probe_object(3, 2, struct.pack("!I", 1)), "10.1.0.2")
    drain("probe-index4")
    ext_echo4(probe_object(3, 3, struct.pack("!HBB4s", 1, 4, 0, socket.inet_aton("10.2.0.1"))),
              "10.1.0.2")  # fmt: skip
    drain("probe-address4")
    ext_echo4(probe_object(3, 1, b"nosuchif"), "10.1.0.2")
    drain("probe-missing4")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(b"udp", ("10.1.0.2", 9))
        time.sleep(0.3)
    drain("port-unreachable4")

    ping6(b"pingsock-wire6!!", "fd00:1::2")
    drain("echo6")
    ping6(b"hops", "fd00:2::2", hops=1)
    drain("time-exceeded6")
    ping6(b"y" * 1400, "fd00:2::2")
    drain("packet-too-big6")
    ping6(b"noroute", "fd00:9::1")
    drain("no-route6")
    ping6(b"prohibit", "fd00:8::1")
    drain("admin-prohibited6")
    raw6_hop_by_hop("fd00:1::2")
    drain("param-problem6")
    ext_echo6(probe_object(3, 1, b"rc0\0"), "fd00:1::2")
    drain("probe-name6")
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as udp:
        udp.sendto(b"udp6", ("fd00:1::2", 9))
        time.sleep(0.3)
    drain("port-unreachable6")
    for label, ip in frames:
        print(f"{label}\t{ip.hex(' ')}")


if __name__ == "__main__":
    if os.geteuid() != 0:
        raise SystemExit("needs root (network namespaces)")
    inside() if sys.argv[1:] == ["--inside"] else main()
