"""Hypothesis strategies that build valid pingsock.wire values of every kind."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from hypothesis import strategies as st

from pingsock.wire import (
    AnyExtensionObject,
    EndOfOptions,
    ExtensionObject,
    ExtensionStructure,
    Icmp4AddressMaskReply,
    Icmp4AddressMaskRequest,
    Icmp4DestUnreachable,
    Icmp4EchoReply,
    Icmp4EchoRequest,
    Icmp4ExtendedEchoReply,
    Icmp4ExtendedEchoRequest,
    Icmp4InfoReply,
    Icmp4InfoRequest,
    Icmp4Message,
    Icmp4ParameterProblem,
    Icmp4Redirect,
    Icmp4SourceQuench,
    Icmp4TimeExceeded,
    Icmp4TimestampReply,
    Icmp4TimestampRequest,
    Icmp4Type,
    Icmp6DestUnreachable,
    Icmp6EchoReply,
    Icmp6EchoRequest,
    Icmp6ExtendedEchoReply,
    Icmp6ExtendedEchoRequest,
    Icmp6Message,
    Icmp6PacketTooBig,
    Icmp6ParameterProblem,
    Icmp6TimeExceeded,
    Icmp6Type,
    InterfaceAddress,
    InterfaceIndex,
    InterfaceName,
    IPOption,
    IPv4Header,
    IPv6Header,
    LooseSourceRoute,
    NoOperation,
    RawOption,
    RecordRoute,
    StrictSourceRoute,
    Timestamp,
    TimestampEntry,
    UnknownIcmp4,
    UnknownIcmp6,
    decode_options,
    encode_options,
)

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
body = st.binary(max_size=64)
ipv4 = st.builds(IPv4Address, u32)
ipv6 = st.builds(IPv6Address, st.integers(0, (1 << 128) - 1))

# -- RFC 4884 / RFC 8335 extension objects ----------------------------------------------

interface_name = st.builds(
    InterfaceName, st.text(max_size=20).filter(lambda name: not name.endswith("\x00"))
)
interface_id = st.one_of(
    interface_name,
    st.builds(InterfaceIndex, u32),
    st.builds(InterfaceAddress, st.one_of(ipv4, ipv6)),
)
# Raw objects that would not decode to a typed interface object.
raw_object = st.builds(ExtensionObject, u8, u8, st.binary(max_size=24)).filter(
    lambda obj: obj.class_num != 3 or obj.c_type not in (1, 2, 3)
)
extension_object: st.SearchStrategy[AnyExtensionObject] = st.one_of(interface_id, raw_object)
extension_structure = st.builds(
    ExtensionStructure,
    st.lists(extension_object, max_size=3).map(tuple),
    st.integers(0, 0x0FFF),
)
extension_data = st.one_of(st.just(b""), extension_structure.map(lambda s: s.encode()), body)

# -- IPv4 options -------------------------------------------------------------------------

route = st.lists(ipv4, max_size=4).map(tuple)
timestamp_option = st.one_of(
    st.builds(
        Timestamp,
        st.lists(st.builds(TimestampEntry, u32), max_size=4).map(tuple),
        st.just(0),
        u8,
        st.integers(0, 15),
    ),
    st.builds(
        Timestamp,
        st.lists(st.builds(TimestampEntry, u32, ipv4), max_size=3).map(tuple),
        st.sampled_from([1, 3]),
        u8,
        st.integers(0, 15),
    ),
)


def _stays_raw(option: RawOption) -> bool:
    return decode_options(encode_options([option])) == (option,)


raw_option = st.builds(RawOption, u8.filter(lambda kind: kind > 1), st.binary(max_size=10)).filter(
    _stays_raw
)
ip_option: st.SearchStrategy[IPOption] = st.one_of(
    st.just(NoOperation()),
    st.builds(RecordRoute, route, u8),
    st.builds(LooseSourceRoute, route, u8),
    st.builds(StrictSourceRoute, route, u8),
    timestamp_option,
    raw_option,
)


def _fits(options: list[IPOption]) -> bool:
    return sum(len(option.encode()) for option in options) <= 40


# Option lists without a trailing End of Option List decode back to themselves exactly.
ip_options = st.lists(ip_option, max_size=4).filter(_fits).map(tuple)
# With End of Option List (and odd padding after it) they still round-trip as bytes.
ip_options_with_end = st.tuples(
    ip_options, st.builds(EndOfOptions, st.binary(max_size=2).map(lambda pad: pad + b"\xff"))
).map(lambda pair: (*pair[0], pair[1]))

# -- IP headers ---------------------------------------------------------------------------

ipv4_header = st.builds(
    IPv4Header,
    src=ipv4,
    dst=ipv4,
    total_length=u16,
    protocol=u8,
    ttl=u8,
    tos=u8,
    identification=u16,
    flags=st.integers(0, 7),
    fragment_offset=st.integers(0, 0x1FFF),
    options=ip_options,
)
ipv6_header = st.builds(
    IPv6Header,
    src=ipv6,
    dst=ipv6,
    payload_length=u16,
    next_header=u8,
    hop_limit=u8,
    traffic_class=u8,
    flow_label=st.integers(0, 0xFFFFF),
)

# -- ICMPv4 -------------------------------------------------------------------------------

_KNOWN4 = {int(kind) for kind in Icmp4Type}
icmp4_message: st.SearchStrategy[Icmp4Message] = st.one_of(
    st.builds(Icmp4EchoRequest, u16, u16, body, u8),
    st.builds(Icmp4EchoReply, u16, u16, body, u8),
    st.builds(Icmp4DestUnreachable, u8, body, u16, u8, u8.map(lambda b: b << 24)),
    st.builds(Icmp4SourceQuench, body, u8, u32),
    st.builds(Icmp4Redirect, u8, ipv4, body),
    st.builds(Icmp4TimeExceeded, u8, body, u8, st.tuples(u8, u16).map(lambda t: t[0] << 24 | t[1])),
    st.builds(Icmp4ParameterProblem, u8, body, u8, u8, u16),
    st.builds(Icmp4TimestampRequest, u16, u16, u32, u32, u32, u8, body),
    st.builds(Icmp4TimestampReply, u16, u16, u32, u32, u32, u8, body),
    st.builds(Icmp4InfoRequest, u16, u16, u8, body),
    st.builds(Icmp4InfoReply, u16, u16, u8, body),
    st.builds(Icmp4AddressMaskRequest, u16, u16, ipv4, u8, body),
    st.builds(Icmp4AddressMaskReply, u16, u16, ipv4, u8, body),
    st.builds(
        Icmp4ExtendedEchoRequest, u16, u8, st.booleans(), extension_data, u8, st.integers(0, 127)
    ),
    st.builds(
        Icmp4ExtendedEchoReply,
        u16,
        u8,
        u8,
        st.integers(0, 7),
        st.booleans(),
        st.booleans(),
        st.booleans(),
        st.integers(0, 3),
        extension_data,
    ),
    st.builds(
        UnknownIcmp4, u8.filter(lambda t: t not in _KNOWN4), u8, st.binary(min_size=4, max_size=40)
    ),
)

# -- ICMPv6 -------------------------------------------------------------------------------

_KNOWN6 = {int(kind) for kind in Icmp6Type}
icmp6_message: st.SearchStrategy[Icmp6Message] = st.one_of(
    st.builds(Icmp6EchoRequest, u16, u16, body, u8),
    st.builds(Icmp6EchoReply, u16, u16, body, u8),
    st.builds(Icmp6DestUnreachable, u8, body, u8, st.integers(0, 0xFFFFFF)),
    st.builds(Icmp6PacketTooBig, u32, body, u8),
    st.builds(Icmp6TimeExceeded, u8, body, u8, st.integers(0, 0xFFFFFF)),
    st.builds(Icmp6ParameterProblem, u32, body, u8),
    st.builds(
        Icmp6ExtendedEchoRequest, u16, u8, st.booleans(), extension_data, u8, st.integers(0, 127)
    ),
    st.builds(
        Icmp6ExtendedEchoReply,
        u16,
        u8,
        u8,
        st.integers(0, 7),
        st.booleans(),
        st.booleans(),
        st.booleans(),
        st.integers(0, 3),
        extension_data,
    ),
    st.builds(
        UnknownIcmp6, u8.filter(lambda t: t not in _KNOWN6), u8, st.binary(min_size=4, max_size=40)
    ),
)
