"""Capabilities held only while they are needed, as iputils ping holds them.

iputils (``ping_common.c``: ``limit_capabilities``, ``enable_capability_raw``,
``enable_capability_admin``, ``drop_capabilities``) keeps CAP_NET_RAW and CAP_NET_ADMIN in the
*permitted* set only, raises one into the *effective* set around the calls that need it
(``socket()`` and ``SO_BINDTODEVICE`` for NET_RAW, ``SO_MARK`` for NET_ADMIN) and drops
everything before the main loop. Doing the same gives the same results for the same user (a
source route or ``-m`` fails as in iputils) and keeps a privileged ``pingsock ping`` from
holding power it does not use. Only the command does this; the library never touches the
process's capabilities.

Through libc's ``capget``/``capset`` (``_LINUX_CAPABILITY_VERSION_3``) with ctypes: no
dependency. Where they are unavailable everything here is a no-op.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator

__all__ = ["CAP_NET_ADMIN", "CAP_NET_RAW", "PROCESS", "Capabilities"]

CAP_NET_ADMIN = 12
CAP_NET_RAW = 13
_VERSION_3 = 0x20080522
_KEPT = (1 << CAP_NET_ADMIN) | (1 << CAP_NET_RAW)


class _Header(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _Data(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def _libc() -> ctypes.CDLL | None:
    try:
        # The interpreter's own symbols, libc's among them: find_library() would run ldconfig
        # (about 14 ms of start-up).
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    return libc if hasattr(libc, "capget") and hasattr(libc, "capset") else None


class Capabilities:
    """The process's networking capabilities (only the low 32 bits matter here)."""

    def __init__(self) -> None:
        self._libc = _libc()
        self.active = False

    def _get(self) -> tuple[int, int, int] | None:
        if self._libc is None:
            return None
        header = _Header(_VERSION_3, 0)
        data = (_Data * 2)()
        if self._libc.capget(ctypes.byref(header), data) != 0:
            return None
        return data[0].effective, data[0].permitted, data[0].inheritable

    def _set(self, effective: int, permitted: int, inheritable: int) -> bool:
        if self._libc is None:
            return False
        header = _Header(_VERSION_3, 0)
        data = (_Data * 2)()
        data[0].effective, data[0].permitted, data[0].inheritable = (
            effective,
            permitted,
            inheritable,
        )
        return bool(self._libc.capset(ctypes.byref(header), data) == 0)

    def limit(self) -> None:
        """``limit_capabilities``: keep NET_RAW and NET_ADMIN permitted, none effective."""
        current = self._get()
        if current is None:
            return
        _effective, permitted, _inheritable = current
        self.active = self._set(0, permitted & _KEPT, 0)

    def held(self, capability: int) -> bool:
        """Whether ``capability`` is in the permitted set (could be raised)."""
        current = self._get()
        return current is not None and bool(current[1] & (1 << capability))

    @contextlib.contextmanager
    def raised(self, capability: int) -> Iterator[None]:
        """``enable_capability_*`` ... ``disable_capability_*`` around one call."""
        current = self._get() if self.active else None
        if current is None:
            yield
            return
        _effective, permitted, _inheritable = current
        self._set(permitted & (1 << capability), permitted, 0)
        try:
            yield
        finally:
            self._set(0, permitted, 0)

    def drop(self) -> None:
        """``drop_capabilities``: nothing effective or permitted from here on."""
        if self.active:
            self._set(0, 0, 0)


# The command's one instance: inactive (every method a no-op) until ``limit()`` is called,
# which only the console entry point does.
PROCESS = Capabilities()
