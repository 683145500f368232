"""``OSError`` values shaped exactly like the kernel socket's, built without I/O.

The emulation raises the errno the kernel would, with glibc's ``strerror()`` text, so that
``str(exc)`` reads the same whichever backend raised it.
"""

from __future__ import annotations

import errno

__all__ = ["os_error"]

_STRERROR = {
    errno.EMSGSIZE: "Message too long",
    errno.EINVAL: "Invalid argument",
    errno.EOPNOTSUPP: "Operation not supported",
    errno.EAFNOSUPPORT: "Address family not supported by protocol",
    errno.EDESTADDRREQ: "Destination address required",
    errno.EAGAIN: "Resource temporarily unavailable",
    errno.EADDRINUSE: "Address already in use",
    errno.EADDRNOTAVAIL: "Cannot assign requested address",
    errno.ENOTCONN: "Transport endpoint is not connected",
    errno.ENETUNREACH: "Network is unreachable",
    errno.EHOSTUNREACH: "No route to host",
    errno.EACCES: "Permission denied",
    errno.ECONNREFUSED: "Connection refused",
    errno.ENOPROTOOPT: "Protocol not available",
    errno.EHOSTDOWN: "Host is down",
    errno.ENONET: "Machine is not on the network",
    errno.EPROTO: "Protocol error",
    errno.EREMOTEIO: "Remote I/O error",
    errno.EPERM: "Operation not permitted",
    errno.ENODEV: "No such device",
    errno.EPIPE: "Broken pipe",
    errno.EBADF: "Bad file descriptor",
    errno.ENOTTY: "Inappropriate ioctl for device",
    errno.EPROTONOSUPPORT: "Protocol not supported",
}


def os_error(code: int) -> OSError:
    """``OSError(code, strerror(code))``; ``OSError`` picks the matching subclass itself."""
    return OSError(code, _STRERROR.get(code, errno.errorcode.get(code, f"Unknown error {code}")))
