"""The side environment: a venv with the peers and pingsock, plus the apt tools.

Idempotent: a stamp file records what was installed; a second run with the same list only
checks the stamp. The venv is made by the system Python (``/usr/bin/python3 -m venv``) in a
world-readable place, so any uid can run it.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("PINGSOCK_BENCH_VENV", "/tmp/pingsock-bench-venv"))
PYTHON = VENV / "bin" / "python"
PEERS = ["icmplib", "ping3", "pythonping", "aioping", "scapy"]
APT = {"fping": "fping", "ping": "iputils-ping", "nft": "nftables", "ip": "iproute2"}
_STAMP = VENV / ".pingsock-bench-stamp"


def _log(message: str) -> None:
    print(f"[env] {message}", flush=True)


def ensure_apt() -> None:
    missing = {pkg for tool, pkg in APT.items() if shutil.which(tool) is None}
    venv_ok = subprocess.run(
        ["/usr/bin/python3", "-c", "import ensurepip, venv"], check=False, capture_output=True
    )
    if venv_ok.returncode != 0:
        missing.add("python3-venv")
    if not missing:
        return
    _log(f"apt-get install -y {' '.join(sorted(missing))}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], check=False, timeout=300, env=env)
    subprocess.run(["apt-get", "install", "-y", *sorted(missing)], check=True, timeout=600, env=env)


def ensure_venv() -> Path:
    """Create the venv and install the peers and pingsock (editable) unless already done."""
    wanted = json.dumps({"peers": PEERS, "repo": str(REPO)})
    if PYTHON.exists() and _STAMP.exists() and _STAMP.read_text() == wanted:
        return PYTHON
    if not PYTHON.exists():
        _log(f"creating {VENV}")
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(VENV)], check=True, timeout=300)
    pip = [str(PYTHON), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    for peer in PEERS:  # one at a time: a peer that fails to install leaves the others
        result = subprocess.run(
            [*pip, peer], timeout=600, check=False, capture_output=True, text=True
        )
        if result.returncode != 0:
            _log(f"pip install {peer} failed: {result.stderr.strip()[-300:]}")
    result = subprocess.run(
        [*pip, "-e", str(REPO)], timeout=600, check=False, capture_output=True, text=True
    )
    if result.returncode != 0:
        _log(f"pip install -e {REPO} failed: {result.stderr.strip()[-300:]}")
    os.chmod(VENV, 0o755)
    _STAMP.write_text(wanted)
    return PYTHON


def compile_sources() -> None:
    """Byte-compile pingsock's sources (installed editable, so pip compiled none of them):
    the tools are timed from bytecode, not from a compile at each start."""
    subprocess.run(
        [str(PYTHON), "-m", "compileall", "-q", "-j", "0", str(REPO / "src")],
        check=False, timeout=300, capture_output=True,
    )  # fmt: skip


def _first_line(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "?"


def versions() -> dict[str, str]:
    script = (
        "import json, importlib.metadata as m\n"
        f"names = {[*PEERS, 'pingsock']!r}\n"
        "out = {}\n"
        "for n in names:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: out[n] = 'not installed'\n"
        "print(json.dumps(out))\n"
    )
    found: dict[str, str] = {}
    try:
        out = subprocess.run(
            [str(PYTHON), "-c", script], check=False, capture_output=True, text=True, timeout=30
        )
        found = json.loads(out.stdout)
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        found = {}
    found["fping"] = _first_line(["fping", "-v"])
    found["iputils ping"] = _first_line(["ping", "-V"])
    found["venv python"] = _first_line([str(PYTHON), "--version"])
    return found


def machine() -> dict[str, str]:
    return {
        "nproc": str(os.cpu_count()),
        "kernel": platform.release(),
        "python (runner)": platform.python_version(),
        "cpu": _cpu_model(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()
