"""The /proc/net/icmp{,6} text, formatted and parsed as the kernel prints it (spec N1-N5), and
the names emulated sockets publish (backends/listing.py)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingsock.emulation.proc_table import (
    HEADER_V4,
    HEADER_V6,
    MAX_ABSTRACT_NAME,
    ST_CLOSE,
    ST_ESTABLISHED,
    Beacon,
    ProcRow,
    beacon_name,
    format_row,
    parse_beacon,
    parse_claim,
    parse_row,
    parse_table,
    render,
    unix_names,
)

# Real rows (spec N2, N4; a 6.18 kernel on x86-64, little-endian).
KERNEL_V4_ROWS = [
    "   15: 00000000:0ACE 00000000:0000 07 00000000:00000000 00:00000000 00000000 65534        0 "
    "313956 2 00000000aa9741ba 0        \n",
    "   16: 0100007F:0ACF 0100007F:BEEF 01 00000000:00000000 00:00000000 00000000 65534        0 "
    "313957 2 00000000702c1143 0        \n",
    "   41: 0100007F:A9E8 0100007F:BEEF 01 00000000:00000340 00:00000000 00000000     0        0 "
    "2527712 2 0000000083c163d3 0       \n",
]
KERNEL_V6_ROWS = [
    "   15: 00000000000000000000000001000000:0ACE 00000000000000000000000001000000:BEEF 01 "
    "00000000:00000000 00:00000000 00000000 65534        0 313959 2 0000000041385537 0\n",
    "   42: 00000000000000000000000001000000:A9E9 00000000000000000000000001000000:BEEF 01 "
    "00000000:00000000 00:00000000 00000000     0        0 2527714 2 00000000fffac368 0\n",
]


def v4(text: str) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(text)


def v6(text: str) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(text)


def test_headers_are_the_kernels() -> None:
    assert HEADER_V4 == (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode ref pointer drops             \n"
    )
    assert len(HEADER_V4) == 128  # padded to 127 (N1), then the newline
    assert HEADER_V6 == (
        "  sl  local_address                         remote_address                        "
        "st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
    )


@pytest.mark.parametrize("line", KERNEL_V4_ROWS + KERNEL_V6_ROWS)
def test_kernel_rows_parse_and_format_back_byte_for_byte(line: str) -> None:
    sl, row = parse_row(line, "little")
    assert format_row(row, sl, "little") == line


def test_v4_row_fields() -> None:
    sl, row = parse_row(KERNEL_V4_ROWS[1], "little")
    assert sl == 16
    assert row == ProcRow(
        v4("127.0.0.1"),
        0x0ACF,
        v4("127.0.0.1"),
        0xBEEF,
        state=ST_ESTABLISHED,
        uid=65534,
        inode=313957,
        ref=2,
        pointer="00000000702c1143",
    )
    assert len(format_row(row, 0, "little")) == 128  # padded like the header


def test_v6_row_fields_and_no_padding() -> None:
    _sl, row = parse_row(KERNEL_V6_ROWS[0], "little")
    assert (row.local, row.remote, row.local_port, row.remote_port) == (
        v6("::1"),
        v6("::1"),
        0x0ACE,
        0xBEEF,
    )
    assert format_row(row, 3, "little").endswith(" 0\n")


def test_byte_order_is_the_hosts_word_order() -> None:
    row = ProcRow(v4("127.0.0.1"), 1, v4("198.51.100.7"), 2)
    assert format_row(row, 0, "little").split()[1:3] == ["0100007F:0001", "076433C6:0002"]
    assert format_row(row, 0, "big").split()[1:3] == ["7F000001:0001", "C6336407:0002"]
    row6 = ProcRow(v6("2001:db8::1"), 1, v6("::"), 0)
    assert format_row(row6, 0, "little").split()[1] == "B80D0120000000000000000001000000:0001"
    assert format_row(row6, 0, "big").split()[1] == "20010DB8000000000000000000000001:0001"


addresses4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
addresses6 = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)
u32 = st.integers(0, 2**32 - 1)


@st.composite
def rows(draw: st.DrawFn) -> ProcRow:
    addresses = draw(st.sampled_from([addresses4, addresses6]))
    return ProcRow(
        draw(addresses),
        draw(st.integers(0, 0xFFFF)),
        draw(addresses),
        draw(st.integers(0, 0xFFFF)),
        state=draw(st.sampled_from([ST_CLOSE, ST_ESTABLISHED])),
        tx_queue=draw(u32),
        rx_queue=draw(u32),
        uid=draw(u32),
        inode=draw(st.integers(1, 2**32 - 1)),
        ref=draw(st.integers(1, 100)),
        pointer=draw(st.text("0123456789abcdef", min_size=16, max_size=16)),
        drops=draw(u32),
    )


@given(rows(), st.integers(0, 99999), st.sampled_from(["little", "big"]))
def test_format_then_parse_is_the_identity(row: ProcRow, sl: int, order: str) -> None:
    line = format_row(row, sl, order)  # type: ignore[arg-type]
    assert parse_row(line, order) == (sl, row)  # type: ignore[arg-type]


def test_parse_rejects_what_is_not_a_row() -> None:
    for bad in (HEADER_V4, HEADER_V6, "", "   1: 0100007F:0001", KERNEL_V4_ROWS[0][:60]):
        with pytest.raises(ValueError):
            parse_row(bad)
    mixed = KERNEL_V4_ROWS[0].replace("00000000:0000 07", "0" * 32 + ":0000 07")
    with pytest.raises(ValueError):
        parse_row(mixed)


def test_parse_table_reads_raw_tables_too() -> None:
    # /proc/net/raw prints sl with %4d and no padding; the columns are the same.
    text = (
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
        "timeout inode ref pointer drops\n"
        " 193: 00000000:0001 00000000:0000 07 00000000:00000000 00:00000000 00000000     0"
        "        0 2527716 2 000000004ace527a 0\n"
    )
    (row,) = parse_table(text, "little")
    assert (row.local_port, row.inode, row.pointer) == (1, 2527716, "000000004ace527a")


def test_render_orders_by_ident_then_inode_and_numbers_the_rows() -> None:
    rows_ = [
        ProcRow(v4("0.0.0.0"), 900, v4("0.0.0.0"), 0, inode=5),
        ProcRow(v4("0.0.0.0"), 7, v4("0.0.0.0"), 0, inode=9),
        ProcRow(v4("0.0.0.0"), 900, v4("0.0.0.0"), 0, inode=3),
    ]
    text = render(rows_, 4, "little")
    lines = text.splitlines(keepends=True)
    assert lines[0] == HEADER_V4
    parsed = [parse_row(line, "little") for line in lines[1:]]
    assert [sl for sl, _ in parsed] == [0, 1, 2]
    assert [(r.local_port, r.inode) for _, r in parsed] == [(7, 9), (900, 3), (900, 5)]
    assert render([], 6) == HEADER_V6
    with pytest.raises(ValueError):
        render(rows_, 6)
    with pytest.raises(ValueError):
        render([], 5)


# -- published names -------------------------------------------------------------------------


def test_beacon_name_carries_the_row_columns() -> None:
    name = beacon_name(2565537, 4, 0x109C, "127.0.0.1", ("127.0.0.1", 0xBEEF), byteorder="little")
    assert name == "pingsock/sock/2565537/01/0100007F:109C/0100007F:BEEF"
    unconnected = beacon_name(12, 4, 0x109C, None, None, byteorder="little")
    assert unconnected == "pingsock/sock/12/07/00000000:109C/00000000:0000"
    beacon = parse_beacon("@" + name, "little")
    assert beacon == Beacon(
        2565537, ST_ESTABLISHED, v4("127.0.0.1"), 0x109C, v4("127.0.0.1"), 0xBEEF
    )
    row = beacon.row()
    assert (row.state, row.local_port, row.inode, row.remote_port) == (1, 0x109C, 2565537, 0xBEEF)


def test_beacon_row_takes_the_kernel_columns_from_the_raw_socket() -> None:
    _sl, raw = parse_row(KERNEL_V4_ROWS[2], "little")
    beacon = Beacon(raw.inode, ST_CLOSE, v4("0.0.0.0"), 4242, v4("0.0.0.0"), 0)
    row = beacon.row(raw)
    assert (row.rx_queue, row.uid, row.ref, row.pointer, row.drops) == (
        raw.rx_queue,
        raw.uid,
        raw.ref,
        raw.pointer,
        raw.drops,
    )
    assert (row.local_port, row.state, row.remote_port) == (4242, ST_CLOSE, 0)


def test_the_longest_name_fits_an_abstract_address() -> None:
    full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
    name = beacon_name(2**32 - 1, 6, 0xFFFF, full, (full, 0xFFFF))
    assert len(name) <= MAX_ABSTRACT_NAME


def test_a_scope_is_not_a_column_and_families_must_match() -> None:
    scoped = beacon_name(1, 6, 5, "fe80::1%c0", ("fe80::2%3", 0), byteorder="big")
    assert parse_beacon(scoped, "big").local == v6("fe80::1")
    with pytest.raises(ValueError):
        beacon_name(1, 4, 5, "::1", None)
    with pytest.raises(ValueError):
        beacon_name(1, 4, 0, None, None)  # an unbound socket is not listed (N3)


@given(
    st.integers(1, 2**32 - 1),
    st.integers(1, 0xFFFF),
    st.one_of(st.none(), addresses4.map(str)),
    st.one_of(st.none(), st.tuples(addresses4.map(str), st.integers(0, 0xFFFF))),
)
def test_beacon_names_round_trip(
    inode: int, ident: int, local: str | None, peer: tuple[str, int] | None
) -> None:
    beacon = parse_beacon(beacon_name(inode, 4, ident, local, peer))
    assert (beacon.inode, beacon.ident) == (inode, ident)
    assert beacon.local == v4(local or "0.0.0.0")
    assert beacon.state == (ST_CLOSE if peer is None else ST_ESTABLISHED)
    assert (beacon.remote, beacon.remote_port) == (
        (v4("0.0.0.0"), 0) if peer is None else (v4(peer[0]), peer[1])
    )


@pytest.mark.parametrize(
    "name",
    [
        "pingsock/sock/12/07/00000000:109C",
        "pingsock/sock/12/07/00000000:0000/00000000:0000",  # ident 0
        "pingsock/sock/0/07/00000000:0001/00000000:0000",  # inode 0
        "pingsock/sock/12/02/00000000:0001/00000000:0000",  # not 01 or 07
        "pingsock/sock/12/07/00000000:0001/" + "0" * 32 + ":0000",  # mixed families
        "pingsock/sock/x/07/00000000:0001/00000000:0000",
        "pingsock/ident/5",
        "other/sock/12/07/00000000:0001/00000000:0000",
    ],
)
def test_names_that_are_not_beacons(name: str) -> None:
    with pytest.raises(ValueError):
        parse_beacon(name)


def test_claim_names() -> None:
    assert parse_claim("@pingsock/ident/4321") == 4321
    assert parse_claim("pingsock/ident/65535") == 65535
    for bad in ("pingsock/ident/0", "pingsock/ident/65536", "pingsock/ident/", "pingsock/ident/-1"):
        with pytest.raises(ValueError):
            parse_claim(bad)
    with pytest.raises(ValueError):
        parse_claim("pingsock/sock/1")


def test_unix_names_reads_abstract_names_from_proc_net_unix() -> None:
    text = (
        "Num       RefCount Protocol Flags    Type St Inode Path\n"
        "00000000b3dfbb13: 00000002 00000000 00000000 0002 01 2565553 "
        "@pingsock/sock/2565547/07/0100007F:1388/00000000:0000\n"
        "000000001ea2aff7: 00000002 00000000 00000000 0002 01 2565549 @pingsock/ident/5000\n"
        "0000000012345678: 00000002 00000000 00000000 0002 01 2565550\n"  # unbound
        "0000000012345679: 00000002 00000000 00010000 0001 01 2565551 /run/pingsock/x\n"
        "000000001234567a: 00000002 00000000 00000000 0002 01 2565552 @other/name\n"
    )
    assert unix_names(text) == [
        (2565553, "pingsock/sock/2565547/07/0100007F:1388/00000000:0000"),
        (2565549, "pingsock/ident/5000"),
    ]
    assert unix_names(text, "pingsock/ident/") == [(2565549, "pingsock/ident/5000")]
