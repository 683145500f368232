"""Ident allocation as ping_get_port() does it (spec C3, C9)."""

from __future__ import annotations

import pytest

from pingsock.emulation.idents import IdentAllocator, IdentsExhausted


def test_sequential_from_the_rover() -> None:
    allocator = IdentAllocator(398)
    taken = [allocator.allocate(lambda _i: True) for _ in range(5)]
    assert taken == [399, 400, 401, 402, 403]


def test_skips_held_idents_and_zero_and_wraps() -> None:
    allocator = IdentAllocator(65534)
    held = {65535, 1}
    assert allocator.allocate(lambda i: i not in held) == 2


def test_exhaustion() -> None:
    allocator = IdentAllocator(7)
    with pytest.raises(IdentsExhausted):
        allocator.allocate(lambda _i: False)
