"""Does batching pay from Python? On one ping socket sweeping a live loopback block (run inside
a network namespace whose ping_group_range admits root), three ways to move the probes:

* ``sendto``/``recvfrom`` per probe;
* ``sendmmsg``/``recvmmsg`` through ctypes, each message's fields set through ctypes
  structures (the first attempt: slower than the plain calls);
* ``sendmmsg``/``recvmmsg`` over fixed slots (what ``pingsock.sweep`` ships: the message
  headers written once, each probe one ``struct.pack_into``, each reply one
  ``struct.unpack_from``, at several batch sizes).

    ip netns exec NS python benchmarks/batching.py [--hosts N] [--repeat R]

Prints the median wall time of each variant and the replies each one counted.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import socket
import statistics
import struct
import time

MSG_DONTWAIT = 0x40
SO_RCVBUFFORCE = 33
BATCH = 64
_HEAD = struct.Struct("!BBHHH")


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _MsgHdr(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_void_p),
        ("namelen", ctypes.c_uint32),
        ("iov", ctypes.POINTER(_IoVec)),
        ("iovlen", ctypes.c_size_t),
        ("control", ctypes.c_void_p),
        ("controllen", ctypes.c_size_t),
        ("flags", ctypes.c_int),
    ]


class _MMsgHdr(ctypes.Structure):
    _fields_ = [("hdr", _MsgHdr), ("len", ctypes.c_uint)]


class _SockaddrIn(ctypes.Structure):
    _fields_ = [
        ("family", ctypes.c_ushort),
        ("port", ctypes.c_ushort),
        ("addr", ctypes.c_ubyte * 4),
        ("zero", ctypes.c_ubyte * 8),
    ]


_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def addresses(hosts: int) -> list[str]:
    return [f"127.1.{(i + 1) >> 8}.{(i + 1) & 255}" for i in range(hosts)]


def packet(seq: int) -> bytes:
    return _HEAD.pack(8, 0, 0, 0, seq & 0xFFFF) + bytes(56)


def open_socket(rcvbuf: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf)
    return sock


def drain_plain(sock: socket.socket) -> int:
    got = 0
    while True:
        try:
            sock.recvfrom(2048, MSG_DONTWAIT)
        except BlockingIOError:
            return got
        got += 1


def plain(targets: list[str], rcvbuf: int, every: int) -> int:
    """sendto per probe, recvfrom per reply, the queue read every ``every`` sends."""
    sock = open_socket(rcvbuf)
    got = 0
    for i, host in enumerate(targets):
        sock.sendto(packet(i), (host, 0))
        if i % every == every - 1:
            got += drain_plain(sock)
    got += drain_plain(sock)
    sock.close()
    return got


class _Batch:
    """Preallocated ctypes arrays for BATCH messages."""

    def __init__(self) -> None:
        self.buffers = [ctypes.create_string_buffer(2048) for _ in range(BATCH)]
        self.iovs = (_IoVec * BATCH)()
        self.names = (_SockaddrIn * BATCH)()
        self.msgs = (_MMsgHdr * BATCH)()
        for i in range(BATCH):
            self.iovs[i].base = ctypes.addressof(self.buffers[i])
            self.iovs[i].len = 2048
            hdr = self.msgs[i].hdr
            hdr.name = ctypes.addressof(self.names[i])
            hdr.namelen = ctypes.sizeof(_SockaddrIn)
            hdr.iov = ctypes.pointer(self.iovs[i])
            hdr.iovlen = 1


def recv_batch(fd: int, batch: _Batch) -> int:
    got = 0
    while True:
        for i in range(BATCH):
            batch.msgs[i].hdr.namelen = ctypes.sizeof(_SockaddrIn)
        n = _libc.recvmmsg(fd, batch.msgs, BATCH, MSG_DONTWAIT, None)
        if n <= 0:
            return got
        for i in range(n):  # what a sweep must do with each reply: read its bytes and source
            length = batch.msgs[i].len
            _data = batch.buffers[i].raw[:length]
            _source = bytes(batch.names[i].addr)
        got += n
        if n < BATCH:
            return got


def batched(targets: list[str], rcvbuf: int) -> int:
    """sendmmsg BATCH probes at a time, recvmmsg BATCH replies at a time."""
    sock = open_socket(rcvbuf)
    fd = sock.fileno()
    send = _Batch()
    recv = _Batch()
    got = 0
    for start in range(0, len(targets), BATCH):
        chunk = targets[start : start + BATCH]
        for i, host in enumerate(chunk):
            data = packet(start + i)
            ctypes.memmove(send.buffers[i], data, len(data))
            send.iovs[i].len = len(data)
            send.names[i].family = socket.AF_INET
            send.names[i].addr[:] = socket.inet_aton(host)
        sent = _libc.sendmmsg(fd, send.msgs, len(chunk), 0)
        if sent != len(chunk):
            raise OSError(ctypes.get_errno(), "sendmmsg")
        got += recv_batch(fd, recv)
    got += recv_batch(fd, recv)
    sock.close()
    return got


def slotted(targets: list[str], rcvbuf: int, batch: int) -> int:
    """sendmmsg ``batch`` probes at a time over fixed slots, recvmmsg up to 256 replies."""
    from pingsock.sweep.mmsg import MessageBatches
    from pingsock.sweep.slots import ADDRESS_ROOM, LENGTH_WORD, ReceiveBatch, SendBatch

    sock = open_socket(rcvbuf)
    outgoing = SendBatch(socket.AF_INET, 64, capacity=batch)
    incoming = ReceiveBatch(64)
    io = MessageBatches(sock.fileno(), socket.AF_INET, outgoing, incoming)
    pack = struct.Struct(f"=HH4s{ADDRESS_ROOM - 8}xBBHHBB").pack_into
    unpack = struct.Struct(f"=4x4s{ADDRESS_ROOM + 64 - 8}xBBxxxxBB").unpack_from
    packed = [socket.inet_aton(host) for host in targets]
    got = 0

    def drain() -> int:
        read = 0
        while n := io.receive():
            for i in range(n):  # what a sweep must do with each reply: its source and seq
                if incoming.lengths[i * 16 + LENGTH_WORD] == 64:
                    _source, _kind, _code, _high, _low = unpack(
                        incoming.buffer, i * incoming.stride
                    )
            read += n
            if n < incoming.capacity:
                break
        return read

    for start in range(0, len(targets), batch):
        chunk = packed[start : start + batch]
        outgoing.clear()
        for i, address in enumerate(chunk):
            seq = (start + i) & 0xFFFF
            pack(outgoing.buffer, i * outgoing.stride, socket.AF_INET, 0, address, 8, 0, 0, 0,
                 seq >> 8, seq & 0xFF)  # fmt: skip
            outgoing.seqs.append(seq)
        first = 0
        while first < len(chunk):
            first += io.send(first, len(chunk) - first)
        got += drain()
    got += drain()
    sock.close()
    return got


def measure(name: str, run: object, repeat: int, hosts: int) -> None:
    times, counts = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        counts.append(run())  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    rate = hosts / median
    print(f"{name:42} {median * 1000:8.1f} ms  {rate:10.0f} probes/s  replies {min(counts)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=65534)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    targets = addresses(args.hosts)
    print(f"{args.hosts} live loopback targets, median of {args.repeat} runs")
    for rcvbuf in (212992, 4 << 20):
        for every in (32, 256):
            measure(
                f"sendto+recvfrom, read every {every}, rcvbuf {rcvbuf >> 10}K",
                lambda r=rcvbuf, e=every: plain(targets, r, e),
                args.repeat,
                args.hosts,
            )
    measure("sendmmsg+recvmmsg (ctypes), batches of 64", lambda: batched(targets, 4 << 20),
            args.repeat, args.hosts)  # fmt: skip
    for size in (16, 64, 256):
        measure(
            f"sendmmsg+recvmmsg over fixed slots, {size} a call",
            lambda s=size: slotted(targets, 4 << 20, s),
            args.repeat,
            args.hosts,
        )


if __name__ == "__main__":
    main()
