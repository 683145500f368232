"""Network namespaces for tests: create, run inside, enter in-process, and always delete.

Deletion is guaranteed four ways, from the most to the least graceful:

1. fixtures call :meth:`Netns.delete` in a finalizer (runs when the test fails, too);
2. every live namespace is in a registry that :func:`delete_all` empties, called at session end
   and by ``atexit`` (``conftest`` also turns SIGTERM into KeyboardInterrupt so both run);
3. :func:`sweep_stale` runs at session start and deletes ``psk-<pid>-*`` namespaces and temp
   dirs whose ``<pid>`` is no longer alive (a run that was SIGKILLed);
4. deleting a namespace first SIGKILLs every process whose network namespace it is (processes
   we started there with :meth:`Netns.popen` or :meth:`Netns.run`), never our own process.

Nothing here touches the host namespace's sysctls, routes or firewall: sysctls are written by a
thread that is inside the namespace (``/proc/sys/net`` follows the calling thread's namespace),
and ``ip -n NAME`` / ``ip netns exec NAME`` do everything else.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import errno
import functools
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "Address",
    "LabCommandError",
    "Netns",
    "create_netns",
    "delete_all",
    "lab_tempdir",
    "netns_available",
    "run_command",
    "sweep_stale",
]

NETNS_DIR = Path("/run/netns")
PREFIX = "psk"
CLONE_NEWNET = 0x40000000
_ROLE_RE = re.compile(r"^[a-z0-9]{1,12}$")
_STALE_RE = re.compile(rf"^{PREFIX}-(\d+)-")
_DELETE_ATTEMPTS = 5
_REJECT_TABLE = "psk_reject"

_libc = ctypes.CDLL(None, use_errno=True)
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.setns.restype = ctypes.c_int

_counter = itertools.count(1)
_lock = threading.Lock()
_live: dict[str, Netns] = {}
_tempdirs: list[Path] = []


class LabCommandError(subprocess.CalledProcessError):
    """A lab command failed; unlike the base class, ``str()`` shows its stdout and stderr."""

    def __str__(self) -> str:
        return f"{super().__str__()}\nstdout: {self.stdout!r}\nstderr: {self.stderr!r}"


@dataclass(frozen=True, slots=True)
class Address:
    """One address configured in a namespace (from ``ip -j addr``)."""

    ifname: str
    ip: str
    prefixlen: int
    scope: str

    @property
    def version(self) -> int:
        return 6 if ":" in self.ip else 4


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns(CLONE_NEWNET): {os.strerror(err)}")


def run_command(
    argv: Sequence[str],
    *,
    check: bool = True,
    timeout: float = 10,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command (stdin from /dev/null unless ``input``), capturing text output.

    With ``check`` a non-zero exit raises :class:`LabCommandError`, which shows the output.
    """
    proc = subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
        env=None if env is None else dict(env),
        cwd=cwd,
        check=False,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        raise LabCommandError(proc.returncode, proc.args, proc.stdout, proc.stderr)
    return proc


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Netns:
    """A named network namespace created by this process (see :func:`create_netns`)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.path = NETNS_DIR / name
        self._children: list[subprocess.Popen[Any]] = []
        self._rejects: dict[int, str] = {}
        self._deleted = False

    def __repr__(self) -> str:
        return f"Netns({self.name!r})"

    # -- running commands --------------------------------------------------------------------

    def exec_argv(self, *argv: str) -> list[str]:
        """The argv that runs ``argv`` inside this namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def run(
        self,
        *argv: str,
        check: bool = True,
        timeout: float = 10,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the namespace (``ip netns exec``), capturing text output."""
        return run_command(
            self.exec_argv(*argv), check=check, timeout=timeout, input=input, env=env
        )

    def popen(self, *argv: str, **kw: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` inside the namespace; it is killed when the namespace is deleted."""
        kw.setdefault("stdin", subprocess.DEVNULL)
        proc: subprocess.Popen[Any] = subprocess.Popen(self.exec_argv(*argv), **kw)
        self._children.append(proc)
        return proc

    def ip(self, *args: str, check: bool = True, timeout: float = 10) -> str:
        """Run ``ip -n NAME args`` (no exec into the namespace; cheaper) and return stdout."""
        return run_command(["ip", "-n", self.name, *args], check=check, timeout=timeout).stdout

    def ip_batch(self, commands: Sequence[str], *, timeout: float = 10) -> None:
        """Run several ``ip`` commands (one per line, without the leading ``ip``) in one process."""
        run_command(
            ["ip", "-n", self.name, "-batch", "-"],
            input="\n".join(commands) + "\n",
            timeout=timeout,
        )

    # -- in-process ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """Move the current thread into the namespace, and always back.

        Sockets created inside keep this namespace after we switch back; so do files opened
        under ``/proc/sys/net``. Other threads are unaffected (``setns`` is per thread).
        """
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            target = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                _setns(target)
            finally:
                os.close(target)
            try:
                yield
            finally:
                # If this fails the thread is stranded in a test namespace: fail loudly.
                _setns(home)
        finally:
            os.close(home)

    def socket(self, family: int, type: int, proto: int = 0) -> socket.socket:
        """A socket created inside the namespace (it stays there)."""
        with self.entered():
            return socket.socket(family, type, proto)

    def ifindex(self, ifname: str) -> int:
        with self.entered():
            return socket.if_nametoindex(ifname)

    # -- sysctls -------------------------------------------------------------------------------

    @staticmethod
    def _sysctl_path(key: str) -> str:
        rel = key if "/" in key else key.replace(".", "/")
        return "/proc/sys/" + rel.lstrip("/")

    def sysctl(self, key: str, value: str) -> None:
        """Write ``value`` (one ``write()``, no newline added) to a sysctl of this namespace.

        ``key`` is dotted (``net.ipv4.ping_group_range``) or a path under /proc/sys.
        """
        data = value.encode()
        with self.entered():
            fd = os.open(self._sysctl_path(key), os.O_WRONLY | os.O_CLOEXEC)
        try:
            written = os.write(fd, data)
        finally:
            os.close(fd)
        if written != len(data):
            raise OSError(errno.EIO, f"partial sysctl write to {key}: {written}/{len(data)}")

    def read_sysctl(self, key: str) -> str:
        with self.entered():
            fd = os.open(self._sysctl_path(key), os.O_RDONLY | os.O_CLOEXEC)
        try:
            return os.read(fd, 65536).decode().strip()
        finally:
            os.close(fd)

    def set_ping_group_range(self, low: int, high: int) -> None:
        self.sysctl("net.ipv4.ping_group_range", f"{low} {high}")

    # -- introspection ---------------------------------------------------------------------------

    @property
    def addresses(self) -> tuple[Address, ...]:
        """Every address currently configured in the namespace (lo and link-local included)."""
        out = json.loads(self.ip("-j", "addr", "show") or "[]")
        return tuple(
            Address(link["ifname"], info["local"], int(info["prefixlen"]), info.get("scope", ""))
            for link in out
            for info in link.get("addr_info", ())
            if "local" in info
        )

    def pids(self) -> list[int]:
        """Processes whose network namespace this is (by nsfs inode)."""
        return _pids_in(self.path)

    # -- firewall ----------------------------------------------------------------------------------

    def nft(self, script: str, *, timeout: float = 10) -> None:
        """Load an nft script inside the namespace (needs the ``nft`` binary: apt nftables)."""
        if shutil.which("nft") is None:
            raise RuntimeError("nft not found: install nftables (apt-get install -y nftables)")
        self.run("nft", "-f", "-", input=script, timeout=timeout)

    def reject_echo(self, kind: str | int, *, family: int = 0) -> None:
        """Answer echo requests to this namespace with an ICMP error instead of a reply.

        ``kind`` is an nft reject name (v4: ``net-unreachable``, ``host-unreachable``,
        ``prot-unreachable``, ``port-unreachable``, ``net-prohibited``, ``host-prohibited``,
        ``admin-prohibited``; v6: ``no-route``, ``admin-prohibited``, ``addr-unreachable``,
        ``port-unreachable``, ``policy-fail``, ``reject-route``) or a numeric code (the type is
        always 3 for v4 and 1 for v6). ``family`` 4 or 6 sets one family; 0 sets both with the
        same kind. A later call replaces the rule of that family; :meth:`clear_rejects` removes
        all. The rule sits in table ``inet psk_reject``.
        """
        if family not in (0, 4, 6):
            raise ValueError(f"family must be 0, 4 or 6: {family}")
        for fam in (4, 6) if family == 0 else (family,):
            self._rejects[fam] = str(kind)
        rules = []
        if 4 in self._rejects:
            rules.append(
                f"meta nfproto ipv4 icmp type echo-request reject with icmp type {self._rejects[4]}"
            )
        if 6 in self._rejects:
            rules.append(
                "meta nfproto ipv6 icmpv6 type echo-request "
                f"reject with icmpv6 type {self._rejects[6]}"
            )
        body = "\n".join(rules)
        self.nft(
            f"table inet {_REJECT_TABLE}\ndelete table inet {_REJECT_TABLE}\n"
            f"table inet {_REJECT_TABLE} {{\n chain input {{\n"
            f"  type filter hook input priority 0; policy accept;\n{body}\n }}\n}}\n"
        )

    def clear_rejects(self) -> None:
        """Remove the rules installed by :meth:`reject_echo` (no-op when there are none)."""
        if self._rejects:
            self._rejects.clear()
            self.nft(f"table inet {_REJECT_TABLE}\ndelete table inet {_REJECT_TABLE}\n")

    def set_mtu(self, ifname: str, mtu: int) -> None:
        self.ip("link", "set", "dev", ifname, "mtu", str(mtu))

    # -- teardown ----------------------------------------------------------------------------------

    def delete(self) -> None:
        """Kill our processes inside, then delete the namespace. Idempotent."""
        if self._deleted:
            return
        for proc in self._children:
            if proc.poll() is None:
                proc.kill()
        for proc in self._children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        _kill_and_delete(self.name)
        self._deleted = True
        with _lock:
            _live.pop(self.name, None)

    @property
    def deleted(self) -> bool:
        return self._deleted


def _pids_in(path: Path) -> list[int]:
    try:
        target = os.stat(path)
    except FileNotFoundError:
        return []
    me = os.getpid()
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            st = os.stat(f"/proc/{entry}/ns/net")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
            found.append(int(entry))
    return found


def _kill_and_delete(name: str) -> None:
    path = NETNS_DIR / name
    for pid in _pids_in(path):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for _ in range(_DELETE_ATTEMPTS):
        if not path.exists():
            return
        proc = run_command(["ip", "netns", "delete", name], check=False)
        if proc.returncode == 0:
            return
    if path.exists():
        raise RuntimeError(f"could not delete netns {name}")


def create_netns(role: str) -> Netns:
    """Create ``psk-<pid>-<counter>-<role>`` with ``lo`` up; registered for guaranteed deletion.

    Callers should still delete it (fixtures do) so that namespaces do not pile up in a session.
    """
    if not _ROLE_RE.match(role):
        raise ValueError(f"role must match {_ROLE_RE.pattern}: {role!r}")
    name = f"{PREFIX}-{os.getpid()}-{next(_counter)}-{role}"
    ns = Netns(name)
    with _lock:
        _live[name] = ns
    try:
        run_command(["ip", "netns", "add", name])
        ns.ip("link", "set", "lo", "up")
    except BaseException:
        ns.delete()
        raise
    return ns


def delete_all() -> None:
    """Delete every namespace this process created and still holds; remove our temp dirs."""
    with _lock:
        live = list(_live.values())
    errors: list[BaseException] = []
    for ns in live:
        try:
            ns.delete()
        except Exception as exc:  # keep going: delete the others
            errors.append(exc)
    while _tempdirs:
        shutil.rmtree(_tempdirs.pop(), ignore_errors=True)
    if errors:
        raise errors[0]


def lab_tempdir(kind: str) -> Path:
    """A fresh temp dir ``psk-<pid>-<kind>-*`` (mode 0755), removed by :func:`delete_all`."""
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-{os.getpid()}-{kind}-"))
    path.chmod(0o755)
    _tempdirs.append(path)
    return path


def sweep_stale() -> list[str]:
    """Delete namespaces and temp dirs named ``psk-<pid>-...`` whose process is gone."""
    removed: list[str] = []
    if NETNS_DIR.is_dir():
        for entry in sorted(os.listdir(NETNS_DIR)):
            m = _STALE_RE.match(entry)
            if m and not _pid_alive(int(m.group(1))):
                _kill_and_delete(entry)
                removed.append(entry)
    tmp = Path(tempfile.gettempdir())
    for path in sorted(tmp.glob(f"{PREFIX}-*")):
        m = _STALE_RE.match(path.name)
        if m and path.is_dir() and not _pid_alive(int(m.group(1))):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(str(path))
    return removed


@functools.cache
def netns_available() -> tuple[bool, str]:
    """(usable, reason): root, ``ip`` present and ``ip netns`` working. Cached."""
    if os.geteuid() != 0:
        return (False, "network-namespace tests need root")
    if shutil.which("ip") is None:
        return (False, "iproute2 'ip' not found")
    proc = run_command(["ip", "netns", "list"], check=False)
    if proc.returncode != 0:
        return (False, f"'ip netns' unavailable: {proc.stderr.strip()}")
    return (True, "")


atexit.register(delete_all)
