"""Run commands as another uid/gid with exactly the capabilities asked for (``setpriv``).

``run_as`` wraps the command in ``setpriv --reuid --regid --groups|--clear-groups --inh-caps
--ambient-caps --bounding-set``. The bounding set is cut down to ``ambient_caps``, so with no caps
the process has none (CapEff, CapPrm, CapBnd all 0, even for uid 0), and with
``ambient_caps=("net_raw",)`` it has CAP_NET_RAW effective and nothing else.

The interpreter under /root (pyenv) is not readable by other uids, so Python code runs with
``/usr/bin/python3`` and a world-readable copy of ``src/pingsock`` (made once per process, removed
at session end by :func:`lab.netns.delete_all`) on ``PYTHONPATH``.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .netns import Netns, lab_tempdir, run_command

__all__ = [
    "NOBODY",
    "WORLD_PYTHON",
    "User",
    "pingsock_argv",
    "pingsock_copy",
    "python_as",
    "run_as",
    "setpriv_argv",
]

WORLD_PYTHON = "/usr/bin/python3"
SRC_PINGSOCK = Path(__file__).resolve().parents[2] / "src" / "pingsock"
BASE_ENV: Mapping[str, str] = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LC_ALL": "C.UTF-8",
    "HOME": "/",
    "PYTHONDONTWRITEBYTECODE": "1",
}

_copy_lock = threading.Lock()
_copy: dict[str, Path] = {}  # "root" -> the copy, made once per process


@dataclass(frozen=True, slots=True)
class User:
    """Credentials for :func:`run_as`.

    ``uid``/``gid`` set real, effective and saved ids; ``euid``/``egid`` (optional) make the
    effective id differ from the real one (spec A2). ``groups`` are the supplementary groups
    (empty: cleared). ``ambient_caps`` are capability names without ``cap_`` (``"net_raw"``).
    """

    uid: int
    gid: int
    groups: tuple[int, ...] = ()
    ambient_caps: tuple[str, ...] = ()
    euid: int | None = None
    egid: int | None = None


NOBODY = User(65534, 65534)


def setpriv_argv(user: User) -> list[str]:
    """The ``setpriv`` prefix that becomes ``user`` with exactly ``user.ambient_caps``."""
    argv = ["setpriv"]
    if user.euid is None:
        argv.append(f"--reuid={user.uid}")
    else:
        argv += [f"--ruid={user.uid}", f"--euid={user.euid}"]
    if user.egid is None:
        argv.append(f"--regid={user.gid}")
    else:
        argv += [f"--rgid={user.gid}", f"--egid={user.egid}"]
    if user.groups:
        argv.append("--groups=" + ",".join(str(g) for g in user.groups))
    else:
        argv.append("--clear-groups")
    caps = "".join(f",+{c.removeprefix('cap_')}" for c in user.ambient_caps)
    argv += [f"--inh-caps=-all{caps}", f"--ambient-caps=-all{caps}", f"--bounding-set=-all{caps}"]
    return [*argv, "--"]


def pingsock_copy() -> Path:
    """A world-readable directory holding a copy of ``src/pingsock`` (for ``PYTHONPATH``)."""
    with _copy_lock:
        root = _copy.get("root")
        if root is None or not root.is_dir():
            root = lab_tempdir("py")
            shutil.copytree(
                SRC_PINGSOCK,
                root / "pingsock",
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )
            for path in root.rglob("*"):
                path.chmod(0o755 if path.is_dir() else 0o644)
            _copy["root"] = root
        return root


def pingsock_argv() -> list[str]:
    """``[world-readable python, "-m", "pingsock"]``; :func:`run_as` sets ``PYTHONPATH``."""
    return [WORLD_PYTHON, "-m", "pingsock"]


def run_as(
    netns: Netns | None,
    user: User,
    argv: Sequence[str],
    *,
    timeout: float,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` as ``user`` inside ``netns`` (or the host namespace when None).

    The environment is minimal (``BASE_ENV`` plus ``PYTHONPATH`` = the pingsock copy) updated with
    ``env``; the working directory is ``/``. Not checked by default: tests look at the result.
    """
    full_env = {**BASE_ENV, "PYTHONPATH": str(pingsock_copy()), **(env or {})}
    cmd = [*setpriv_argv(user), *argv]
    if netns is not None:
        cmd = netns.exec_argv(*cmd)
    return run_command(cmd, check=check, timeout=timeout, input=input, env=full_env, cwd="/")


def python_as(
    netns: Netns | None,
    user: User,
    code: str,
    *,
    timeout: float,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with the world-readable interpreter as ``user`` (pingsock importable)."""
    return run_as(
        netns,
        user,
        [WORLD_PYTHON, "-c", code],
        timeout=timeout,
        input=input,
        env=env,
        check=check,
    )
